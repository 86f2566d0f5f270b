#!/usr/bin/env bash
# Cost of the committed-message timestamp reads (time lag of consumers that
# stalled before the exporter started).  One KRaft broker on loopback with
# BENCH_TOPICS x BENCH_PARTS partitions and BENCH_GROUPS groups whose commits
# never move (kbench setup: every partition carries one stalled commit), then
# streamkpi from a cold start for BENCH_MT_CYCLES cycles.  Per cycle: the
# partitions read and the wall time of the reads (the exporter's own
# gauges), and the broker's Fetch requests from the reader's client id
# (request log).  The first cycles read up to message_time_reads partitions
# each until every stalled commit was read once; after that, none.
#
# The same exporter runs the config audit every BENCH_AUDIT_INTERVAL
# seconds; for BENCH_AUDITS audits: the wall time of each (the source's own
# gauge), its calls (streamkpi_config_audit_requests_total) and the broker's
# DescribeConfigs and Metadata requests from the audit's client id.
#
# With BENCH_MT_BROKER=HOST:PORT and BENCH_MT_REQLOG=FILE (the broker's
# request log) it measures that broker, already set up, instead of starting
# one: `make bench` runs it so on the large scenario's broker.
#
# Raw files go to BENCH_MT_RUN (build/bench/msgtime/); the tables are printed
# on stdout.  Needs build/streamkpi_exporter, build/bench/kbench and the
# Kafka jars.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"

# shellcheck source=bench/sizes.sh
. "$ROOT/bench/sizes.sh"
CYCLES=${BENCH_MT_CYCLES:-13}
READS=${BENCH_MT_READS:-1000}
AUDIT_INTERVAL=${BENCH_AUDIT_INTERVAL:-20}
AUDITS=${BENCH_AUDITS:-3}

RUN=${BENCH_MT_RUN:-$ROOT/build/bench/msgtime}
EXPORTER=$ROOT/build/streamkpi_exporter
KBENCH=$ROOT/build/bench/kbench
EXP_PID=
BROKER_DIR=$RUN/broker
REQLOG=${BENCH_MT_REQLOG:-$BROKER_DIR/requests.log}

log() { printf '[msgtime %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "FAILED: $*"; exit 1; }

cleanup() {
  if [ -n "$EXP_PID" ]; then
    kill "$EXP_PID" 2>/dev/null || true
    wait "$EXP_PID" 2>/dev/null || true
  fi
  if [ -z "${BENCH_MT_BROKER:-}" ]; then
    "$ROOT/scripts/kafka-broker.sh" stop "$BROKER_DIR" >/dev/null 2>&1 || true
    rm -rf "$BROKER_DIR/data"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# shellcheck source=scripts/lib.sh
. "$ROOT/scripts/lib.sh"

[ -x "$EXPORTER" ] || die "no $EXPORTER: run make"
[ -x "$KBENCH" ] || die "no $KBENCH: run make -f bench/Makefile"

# The value of the first sample of a metric (name and label regex) in FILE.
metric() { { grep -E "^$2[ {]" "$1" || true; } | { grep -E "$3" || true; } | head -1 | awk '{ print $NF }'; }
cycles() { metric "$1" streamkpi_source_cycles_total 'source="kafka"'; }

rm -rf "$RUN"
mkdir -p "$BROKER_DIR"
echo "reads=$READS audit_interval=$AUDIT_INTERVAL cycles=$CYCLES audits=$AUDITS" >"$RUN/env"
if [ -n "${BENCH_MT_BROKER:-}" ]; then
  BROKER=$BENCH_MT_BROKER
  log "measuring the broker at $BROKER (set up already)"
else
  log "starting the broker (heap $HEAP)"
  BROKER=$(KAFKA_HEAP=$HEAP KAFKA_LOAD_MODE=1 KAFKA_REQUEST_LOG=$REQLOG \
    KAFKA_EXTRA_PROPS=$'offsets.topic.num.partitions=10\nlog.segment.bytes=16777216' \
    KAFKA_START_TIMEOUT=90 "$ROOT/scripts/kafka-broker.sh" start "$BROKER_DIR" "$(free_port)") ||
    die "broker did not start, see $BROKER_DIR/broker.log"
  log "creating $TOPICS x $PARTS partitions, $GROUPS_N stalled groups"
  "$KBENCH" setup -b "$BROKER" -t "$TOPICS" -p "$PARTS" -g "$GROUPS_N" -m "$MSGS" \
    2>"$RUN/setup.log" || die "setup failed, see $RUN/setup.log"
fi

PORT=$(free_port)
URL=http://127.0.0.1:$PORT/metrics
cat >"$RUN/streamkpi.yml" <<EOF
global:
  sample_interval: ${INTERVAL}s
  listen_address: "127.0.0.1:$PORT"
  log_level: warn
clusters:
  - name: mt
    bootstrap_servers: "$BROKER"
    message_time_reads: $READS
policy:
  interval: ${AUDIT_INTERVAL}s
state:
  path: $RUN/state.json
probe:
  enabled: false
EOF
# Requests of one client id and API key in the broker's request log so far.
reqs() { # CLIENT_ID API_KEY
  grep -c "\"clientId\":\"$1\".*\"requestApiKey\":$2,\|\"requestApiKey\":$2,.*\"clientId\":\"$1\"" \
    "$REQLOG" 2>/dev/null || true
}
# Each time the cycle count moves: the reader's gauges and the Fetch
# requests its client sent since the previous cycle.
fetches() { reqs streamkpi-msgtime 1; }
audits() { metric "$1" streamkpi_source_cycles_total 'source="configs"'; }
printf 'cycle partitions_read read_seconds fetch_requests reads_total fallbacks_total\n' \
  >"$RUN/cycles.txt"
printf 'audit seconds calls describe_configs_requests metadata_requests failed_topics\n' \
  >"$RUN/audits.txt"
# The log may hold earlier runs' requests (make bench): count from here.
last=0 f0=$(fetches) alast=0 c0=0 d0=$(reqs streamkpi-configs 32) m0=$(reqs streamkpi-configs 3)
log "streamkpi from a cold start, $CYCLES cycles of ${INTERVAL}s"
"$EXPORTER" --config.file="$RUN/streamkpi.yml" >"$RUN/streamkpi.log" 2>&1 &
EXP_PID=$!

# A cycle plus its reads (bounded by the request timeout) fits in this.
deadline=$((SECONDS + (CYCLES + 2) * (INTERVAL + 30) + AUDITS * (AUDIT_INTERVAL + 60)))
while [ "$SECONDS" -lt "$deadline" ]; do
  kill -0 "$EXP_PID" 2>/dev/null || die "streamkpi exited, see $RUN/streamkpi.log"
  if curl -sf --max-time 10 -o "$RUN/m" "$URL"; then
    n=$(cycles "$RUN/m")
    n=${n%.*}
    if [ -n "$n" ] && [ "$n" != "$last" ] && [ "$n" -gt 0 ]; then
      last=$n
      f1=$(fetches)
      printf '%s %s %s %s %s %s\n' "$n" \
        "$(metric "$RUN/m" streamkpi_kafka_message_time_cycle_partitions .)" \
        "$(metric "$RUN/m" streamkpi_kafka_message_time_cycle_seconds .)" \
        "$((f1 - f0))" \
        "$(metric "$RUN/m" streamkpi_kafka_message_time_reads_total .)" \
        "$(metric "$RUN/m" streamkpi_kafka_message_time_fallbacks_total .)" >>"$RUN/cycles.txt"
      f0=$f1
    fi
    a=$(audits "$RUN/m")
    a=${a%.*}
    if [ -n "$a" ] && [ "$a" != "$alast" ] && [ "$a" -gt 0 ]; then
      alast=$a
      c1=$(metric "$RUN/m" streamkpi_config_audit_requests_total .)
      c1=${c1%.*}
      d1=$(reqs streamkpi-configs 32)
      m1=$(reqs streamkpi-configs 3)
      printf '%s %s %s %s %s %s\n' "$a" \
        "$(metric "$RUN/m" streamkpi_source_collect_duration_seconds 'source="configs"')" \
        "$((c1 - c0))" "$((d1 - d0))" "$((m1 - m0))" \
        "$(metric "$RUN/m" streamkpi_config_audit_failed_resources 'kind="topic"')" >>"$RUN/audits.txt"
      c0=$c1 d0=$d1 m0=$m1
    fi
    [ "$last" -ge "$CYCLES" ] && [ "$alast" -ge "$AUDITS" ] && break
  fi
  sleep 0.25
done
[ "$last" -ge "$CYCLES" ] || die "only $last cycles, see $RUN/streamkpi.log"
[ "$alast" -ge "$AUDITS" ] || die "only $alast config audits, see $RUN/streamkpi.log"
column -t "$RUN/cycles.txt"
echo
column -t "$RUN/audits.txt"
