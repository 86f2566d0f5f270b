#!/usr/bin/env bash
# Starts or stops a single-node KRaft Kafka broker (combined broker and
# controller) from the official jars in build/kafka/libs, on loopback only.
#
#   scripts/kafka-broker.sh start DIR [PORT]   format DIR once, start, wait
#                                             until it answers metadata;
#                                             prints "127.0.0.1:PORT"
#   scripts/kafka-broker.sh stop DIR           SIGTERM, then SIGKILL after 20s
#   scripts/kafka-broker.sh status DIR         exit 0 when running
#
# PORT defaults to 9092, or a free port when 9092 is taken.  The controller
# port is chosen free on first start; both are kept in DIR/ports so a
# restart reuses the same data and addresses.  The broker's output goes to
# DIR/broker.log.  Used by `make demo` and the bench.
#
# Options from the environment (the bench's needs; defaults suit tests):
#   KAFKA_HEAP           maximum heap (512m)
#   KAFKA_LOAD_MODE=1    full JIT and G1 GC (for load); default: C1 only and
#                        serial GC, which start fast
#   KAFKA_EXTRA_PROPS    lines appended to server.properties (later wins)
#   KAFKA_REQUEST_LOG    a file that receives kafka.request.logger at DEBUG:
#                        one line per request with its kind and client id
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
KLIBS=$ROOT/build/kafka/libs
KAFKATOOL=$ROOT/build/tools/kafkatool
START_TIMEOUT=${KAFKA_START_TIMEOUT:-90}

die() { echo "kafka-broker: $*" >&2; exit 1; }

# shellcheck source=scripts/lib.sh
. "$ROOT/scripts/lib.sh"

running() {
  local pid
  [ -f "$1/broker.pid" ] || return 1
  pid=$(cat "$1/broker.pid")
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null
}

write_config() {
  local dir=$1 port=$2 cport=$3
  cat >"$dir/server.properties" <<EOF
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers=127.0.0.1:$cport
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$cport
advertised.listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$cport
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$dir/data
num.partitions=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=3
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=false
${KAFKA_EXTRA_PROPS:-}
EOF
  cat >"$dir/log4j2.properties" <<EOF
status = warn
appender.console.type = Console
appender.console.name = STDOUT
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = warn
rootLogger.appenderRef.stdout.ref = STDOUT
logger.server.name = kafka.server
logger.server.level = info
EOF
  if [ -n "${KAFKA_REQUEST_LOG:-}" ]; then
    cat >>"$dir/log4j2.properties" <<EOF
appender.req.type = File
appender.req.name = REQ
appender.req.fileName = $KAFKA_REQUEST_LOG
appender.req.layout.type = PatternLayout
appender.req.layout.pattern = %m%n
logger.req.name = kafka.request.logger
logger.req.level = debug
logger.req.additivity = false
logger.req.appenderRef.req.ref = REQ
EOF
  fi
}

# By default a small heap and C1-only JIT: a test broker should start fast
# and leave CPU to everything else on the machine.
java_opts() {
  JOPTS=(-Xmx"${KAFKA_HEAP:-512m}" -Xms128m -Djava.awt.headless=true
    "-Dlog4j2.configurationFile=$1/log4j2.properties" -cp "$KLIBS/*")
  if [ "${KAFKA_LOAD_MODE:-0}" = 1 ]; then
    JOPTS+=(-XX:+UseG1GC)
  else
    JOPTS+=(-XX:+UseSerialGC -XX:TieredStopAtLevel=1)
  fi
}

start() {
  local dir port cport cluster_id pid deadline
  [ $# -ge 1 ] || die "usage: start DIR [PORT]"
  mkdir -p "$1"; dir=$(cd "$1" && pwd)
  [ -f "$KLIBS/.complete" ] || die "no Kafka jars in $KLIBS: run scripts/deps.sh"
  [ -x "$KAFKATOOL" ] || die "no $KAFKATOOL: run make build/tools/kafkatool"
  command -v java >/dev/null || die "java not found: run scripts/deps.sh"
  if running "$dir"; then
    read -r port cport <"$dir/ports"
    echo "127.0.0.1:$port"
    return 0
  fi
  if [ -f "$dir/ports" ]; then
    read -r port cport <"$dir/ports"
    [ $# -lt 2 ] || [ "$2" = "$port" ] || die "$dir was formatted for port $port, not $2"
    ! port_taken "$port" || die "port $port (from $dir/ports) is in use by something else"
  else
    port=${2:-9092}
    if port_taken "$port"; then
      [ $# -lt 2 ] || die "port $port is in use"
      port=$(free_port)
    fi
    cport=$(free_port)
    echo "$port $cport" >"$dir/ports"
  fi
  write_config "$dir" "$port" "$cport"
  java_opts "$dir"
  if [ ! -f "$dir/data/meta.properties" ]; then
    cluster_id=$(python3 -c 'import base64,uuid; print(base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("="))')
    java "${JOPTS[@]}" kafka.tools.StorageTool format --standalone --cluster-id="$cluster_id" \
      -c "$dir/server.properties" >"$dir/format.log" 2>&1 \
      || die "storage format failed, see $dir/format.log"
  fi
  setsid java "${JOPTS[@]}" kafka.Kafka "$dir/server.properties" >>"$dir/broker.log" 2>&1 </dev/null &
  pid=$!
  echo "$pid" >"$dir/broker.pid"
  deadline=$((SECONDS + START_TIMEOUT))
  while [ $SECONDS -lt $deadline ]; do
    kill -0 "$pid" 2>/dev/null || die "broker exited during start, see $dir/broker.log"
    if "$KAFKATOOL" -b "127.0.0.1:$port" -t 2 brokers >/dev/null 2>&1; then
      echo "127.0.0.1:$port"
      return 0
    fi
    sleep 0.5
  done
  kill -KILL "$pid" 2>/dev/null || true
  die "broker not ready within ${START_TIMEOUT}s, see $dir/broker.log"
}

stop() {
  local dir pid i
  [ $# -eq 1 ] || die "usage: stop DIR"
  dir=$1
  running "$dir" || { rm -f "$dir/broker.pid"; return 0; }
  pid=$(cat "$dir/broker.pid")
  kill -TERM "$pid" 2>/dev/null || true
  for i in $(seq 1 40); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.5
  done
  if kill -0 "$pid" 2>/dev/null; then
    echo "kafka-broker: broker $pid ignored SIGTERM for 20s, killing" >&2
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$dir/broker.pid"
}

case "${1:-}" in
  start) shift; start "$@" ;;
  stop) shift; stop "$@" ;;
  status) shift; [ $# -eq 1 ] || die "usage: status DIR"; running "$1" ;;
  *) die "usage: $0 start DIR [PORT] | stop DIR | status DIR" ;;
esac
