#!/usr/bin/env bash
# make demo: a small live Kafka world and the exporter watching it.
#
# Without KAFKA_BROKERS a local KRaft broker is started in .demo/kafka
# (127.0.0.1:9092, or a free port when 9092 is taken).  Two teams' topics get
# synthetic traffic: sales.orders (3 partitions), sales.payments (3),
# sales.orders.dlq (1) and warehouse.inventory-updates (2); group
# sales-orders-processor keeps up, sales-payments-analytics lags (a
# per-message delay), sales-dlq-inspector and warehouse-inventory-sync read
# the others, and warehouse-orders-reserver reads the orders from the other
# domain.  The configuration adds what the maturity assessment reads: SLOs,
# a declared survey, the policy audit, and two data products (orders in the
# config, inventory-updates from examples/contracts/).  No Schema Registry runs, so the
# schema criteria stay unknown and the report says so.  The exporter listens
# on 127.0.0.1:10308 (DEMO_PORT overrides) with a 5s sample interval.  Ctrl-C
# stops everything this script started.
set -u
cd "$(dirname "$0")/.."
ROOT=$PWD
DEMO=$ROOT/.demo
PORT=${DEMO_PORT:-10308}
KT=$ROOT/build/tools/kafkatool
EXPORTER=${DEMO_EXPORTER:-$ROOT/build/streamkpi_exporter}

RC=0
PGIDS=()          # process groups started here (setsid: pid == pgid)
EXPORTER_PID=""
BROKER_STARTED=0

say() { echo "demo: $*"; }
die() { echo "demo: $*" >&2; RC=1; exit 1; }

cleanup() {
  local pid i alive
  trap - INT TERM EXIT
  [ "${#PGIDS[@]}" -eq 0 ] && [ "$BROKER_STARTED" -eq 0 ] && exit "$RC"
  say "stopping everything"
  for pid in "${PGIDS[@]+"${PGIDS[@]}"}"; do kill -TERM -- "-$pid" 2>/dev/null; done
  # Bounded wait, then SIGKILL whatever is left.
  for i in $(seq 1 30); do
    alive=0
    for pid in "${PGIDS[@]+"${PGIDS[@]}"}"; do kill -0 -- "-$pid" 2>/dev/null && alive=1; done
    [ "$alive" -eq 0 ] && break
    sleep 0.5
  done
  for pid in "${PGIDS[@]+"${PGIDS[@]}"}"; do kill -KILL -- "-$pid" 2>/dev/null; done
  wait 2>/dev/null
  if [ "$BROKER_STARTED" -eq 1 ]; then
    scripts/kafka-broker.sh stop "$DEMO/kafka" || RC=1
  fi
  say "stopped"
  exit "$RC"
}
trap cleanup EXIT
trap 'exit "$RC"' INT TERM

# Starts "$@" in a process group of its own, so stopping it also stops the
# kafkatool a loop is running at that moment.
spawn() {
  local log=$1; shift
  setsid "$@" >>"$log" 2>&1 </dev/null &
  PGIDS+=("$!")
}

# shellcheck source=scripts/lib.sh
. "$ROOT/scripts/lib.sh"

[ -x "$EXPORTER" ] || die "$EXPORTER is missing: run make"
[ -x "$KT" ] || die "$KT is missing: run make build/tools/kafkatool"
if port_taken "$PORT"; then
  die "port $PORT is already in use (another exporter or demo running?); stop it or set DEMO_PORT"
fi
mkdir -p "$DEMO"

if [ -z "${KAFKA_BROKERS:-}" ]; then
  say "starting a local Kafka broker in .demo/kafka (log: .demo/kafka/broker.log)"
  BROKER_STARTED=1
  BROKERS=$(scripts/kafka-broker.sh start "$DEMO/kafka") || die "could not start the Kafka broker"
else
  BROKERS=$KAFKA_BROKERS
  say "using Kafka at $BROKERS"
fi

for spec in sales.orders:3 sales.payments:3 sales.orders.dlq:1 warehouse.inventory-updates:2; do
  "$KT" -b "$BROKERS" create "${spec%%:*}" "${spec##*:}" 1 --if-not-exists >/dev/null \
    || die "cannot create topic ${spec%%:*} on $BROKERS"
done

# Producers: bounded batches in a loop; a failed batch (broker hiccup) waits
# a second and goes on.
produce_loop() { # TOPIC RATE BATCH
  spawn "$DEMO/traffic.log" bash -c \
    'while :; do "$0" -b "$1" produce "$2" -1 "$4" --rate "$3/s" >/dev/null || sleep 1; done' \
    "$KT" "$BROKERS" "$1" "$2" "$3"
}
produce_loop sales.orders 20 100
produce_loop sales.payments 10 50
produce_loop sales.orders.dlq 1 5
produce_loop warehouse.inventory-updates 5 25

spawn "$DEMO/traffic.log" "$KT" -b "$BROKERS" follow sales-orders-processor sales.orders
spawn "$DEMO/traffic.log" "$KT" -b "$BROKERS" follow sales-payments-analytics sales.payments \
  --delay 200
spawn "$DEMO/traffic.log" "$KT" -b "$BROKERS" follow sales-dlq-inspector sales.orders.dlq
spawn "$DEMO/traffic.log" "$KT" -b "$BROKERS" follow warehouse-inventory-sync \
  warehouse.inventory-updates --delay 150
# The warehouse domain reserves stock from the sales domain's orders: a
# cross-domain consumer of the data product "orders".
spawn "$DEMO/traffic.log" "$KT" -b "$BROKERS" follow warehouse-orders-reserver sales.orders

SURVEY_DATE=$(date -u +%Y-%m-%d)
cat >"$DEMO/streamkpi.yml" <<EOF
global:
  sample_interval: 5s
  stale_ttl: 5m
state:
  path: $DEMO/streamkpi-state.json
policy:
  interval: 30s
slos:
  - name: platform-availability
    sli: probe_availability
    objective: 0.999
  - name: payments-analytics-fresh
    sli: group_lag
    group: sales-payments-analytics
    threshold: 5s
    objective: 0.99
  - name: orders-dead-letters
    sli: dlq_ratio
    topic: sales.orders
    threshold: 0.1
    objective: 0.99
catalog:
  contracts_dir: $ROOT/examples/contracts
  group_domains: { "^sales-": sales, "^warehouse-": logistics }
  products:
    - name: orders
      owner: sales
      domain: sales
      topics: [sales.orders]
      freshness: 1m
      dlq_ratio: 0.1
      description: Every order placed in the shop.
      value: { amount: 120000, currency: EUR, period: year, date: "$SURVEY_DATE" }
maturity:
  survey:
    - { item: training, score: 3, date: "$SURVEY_DATE" }
    - { item: community_of_practice, score: 2, date: "$SURVEY_DATE" }
    - { item: on_call, score: 3, date: "$SURVEY_DATE" }
    - { item: value_per_product, score: 2, date: "$SURVEY_DATE" }
    - { item: stakeholder_satisfaction, score: 3, date: "$SURVEY_DATE" }
clusters:
  - name: demo
    role: production
    bootstrap_servers: "$BROKERS"
    sample_interval: 5s
EOF
spawn "$DEMO/exporter.log" "$EXPORTER" --config.file="$DEMO/streamkpi.yml" \
  --web.listen-address="127.0.0.1:$PORT" --log.format=logfmt
EXPORTER_PID=${PGIDS[${#PGIDS[@]}-1]}

for i in $(seq 1 60); do
  kill -0 "$EXPORTER_PID" 2>/dev/null || { tail -20 "$DEMO/exporter.log" >&2; die "the exporter exited"; }
  curl -fsS -o /dev/null "http://127.0.0.1:$PORT/healthz" 2>/dev/null && break
  [ "$i" -eq 60 ] && die "the exporter did not answer /healthz within 30s (see .demo/exporter.log)"
  sleep 0.5
done

cat <<EOF

  streamkpi demo is running (Kafka at $BROKERS)
    maturity report: http://127.0.0.1:$PORT/report
    assessment:      http://127.0.0.1:$PORT/api/v1/assessment?format=text
    metrics:         http://127.0.0.1:$PORT/metrics
    landing page:    http://127.0.0.1:$PORT/
    readiness:       http://127.0.0.1:$PORT/ready
  logs: .demo/exporter.log, .demo/traffic.log
  Groups: sales-orders-processor keeps up, sales-payments-analytics lags behind.
  The report fills in as the first samples, probes and audits arrive (a minute).
  Ctrl-C stops everything.

EOF

while :; do
  if ! kill -0 "$EXPORTER_PID" 2>/dev/null; then
    tail -20 "$DEMO/exporter.log" >&2
    die "the exporter exited unexpectedly"
  fi
  sleep 1
done
