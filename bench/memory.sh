#!/usr/bin/env bash
# Peak memory of the exporter in one bench scenario, optionally under a heap
# profiler.  Sets up what the scenario needs, runs the optimised exporter
# with its state persisting, waits for CYCLES cycles, reads VmHWM, puts
# scrape load on it (wrk plain then gzip, like bench/run.sh), reads VmHWM
# again, and stops everything it started.
#
#   bench/memory.sh large [WRAPPER...]   KRaft broker, 2000 x 5 partitions,
#                                        500 groups (bench/sizes.sh)
#   bench/memory.sh mock [WRAPPER...]    mock cluster, 1000 x 100 partitions
#   bench/memory.sh mock-at [WRAPPER...] the mock cluster already running at
#                                        MEM_MOCK_BOOTSTRAP
#
# WRAPPER runs the exporter, e.g. `heaptrack -o build/bench/mem/ht`.  Output
# goes to build/bench/mem/ (MEM_OUT); sizes come from the BENCH_* variables
# as in bench/run.sh, and MEM_CYCLES (default 7) and MEM_WRK_SECONDS
# (default 10) set the run's length; MEM_EXPORTER runs another build (to
# compare two revisions) and MEM_PORT sets its port.  Nothing listens beyond
# 127.0.0.1.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
# shellcheck source=bench/sizes.sh
. "$ROOT/bench/sizes.sh"
# shellcheck source=scripts/lib.sh
. "$ROOT/scripts/lib.sh"

SCENARIO=${1:?usage: bench/memory.sh large|mock|mock-at [WRAPPER...]}
shift
OUT=${MEM_OUT:-$ROOT/build/bench/mem}
CYCLES=${MEM_CYCLES:-7}
WRK_SECONDS=${MEM_WRK_SECONDS:-10}
EXPORTER=${MEM_EXPORTER:-$ROOT/build/streamkpi_exporter}
PIDS=()
PID=
BROKER_DIR=

log() { printf '[memory %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "FAILED: $*"; exit 1; }

cleanup() {
  local p
  for p in "${PIDS[@]+"${PIDS[@]}"}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]+"${PIDS[@]}"}"; do wait "$p" 2>/dev/null || true; done
  # The exporter under a wrapper is not our child: wait for it (bounded).
  for _ in $(seq 1 300); do [ -n "${PID:-}" ] && kill -0 "$PID" 2>/dev/null || break; sleep 0.2; done
  if [ -n "$BROKER_DIR" ]; then
    "$ROOT/scripts/kafka-broker.sh" stop "$BROKER_DIR" >/dev/null 2>&1 || true
    rm -rf "$BROKER_DIR/data"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

kb() { awk -v k="$1:" '$1 == k { print $2 }' "/proc/$2/status"; }

[ -x "$EXPORTER" ] || die "no $EXPORTER: run make"
rm -rf "$OUT"
mkdir -p "$OUT"
make --no-print-directory -s -f bench/Makefile

case $SCENARIO in
large)
  [ -f "$ROOT/build/kafka/libs/.complete" ] || die "no Kafka jars: run scripts/deps.sh"
  BROKER_DIR=$OUT/broker
  mkdir -p "$BROKER_DIR"
  log "starting the KRaft broker (heap $HEAP), $TOPICS x $PARTS partitions, $GROUPS_N groups"
  BOOT=$(KAFKA_HEAP=$HEAP KAFKA_LOAD_MODE=1 \
    KAFKA_EXTRA_PROPS=$'offsets.topic.num.partitions=10\nlog.segment.bytes=16777216' \
    KAFKA_START_TIMEOUT=90 "$ROOT/scripts/kafka-broker.sh" start "$BROKER_DIR" "$(free_port)") ||
    die "broker did not start, see $BROKER_DIR/broker.log"
  build/bench/kbench setup -b "$BOOT" -t "$TOPICS" -p "$PARTS" -g "$GROUPS_N" -m "$MSGS" \
    2>"$OUT/setup.log" || die "setup failed, see $OUT/setup.log"
  build/bench/kbench traffic -b "$BOOT" -t "${BENCH_TRAFFIC_TOPICS:-100}" -p "$PARTS" -r 50 \
    -d 3600 2>"$OUT/traffic.log" &
  PIDS+=("$!")
  ;;
mock-at)
  # A mock cluster started beforehand (building a million partitions takes
  # minutes), so that several runs can share it.
  INTERVAL=$((INTERVAL < 10 ? 10 : INTERVAL))
  BOOT=${MEM_MOCK_BOOTSTRAP:?mock-at needs MEM_MOCK_BOOTSTRAP (what mockcluster printed)}
  SCENARIO=mock
  log "mock cluster at $BOOT"
  ;;
mock)
  INTERVAL=$((INTERVAL < 10 ? 10 : INTERVAL))
  log "mock cluster: ${BENCH_MOCK_TOPICS:-1000} x ${BENCH_MOCK_PARTS:-100} partitions"
  build/bench/mockcluster -b 3 -t "${BENCH_MOCK_TOPICS:-1000}" -p "${BENCH_MOCK_PARTS:-100}" \
    >"$OUT/mock.out" 2>"$OUT/mock.err" &
  PIDS+=("$!")
  # A million partitions take the mock several minutes.
  for _ in $(seq 1 1200); do [ -s "$OUT/mock.out" ] && break; sleep 0.5; done
  [ -s "$OUT/mock.out" ] || die "mock cluster did not start"
  BOOT=$(head -1 "$OUT/mock.out")
  ;;
*) die "unknown scenario $SCENARIO (large, mock or mock-at)" ;;
esac

PORT=${MEM_PORT:-$(free_port)}
URL=http://127.0.0.1:$PORT/metrics
cat >"$OUT/streamkpi.yml" <<EOF
global:
  sample_interval: ${INTERVAL}s
  listen_address: "127.0.0.1:$PORT"
  log_level: warn
clusters:
  - name: $SCENARIO
    bootstrap_servers: "$BOOT"
    properties:
      client.id: streamkpi
state:
  path: $OUT/state.json
  persist_interval: 10s
probe:
  enabled: false
EOF
log "exporter${1:+ under $*}"
"$@" "$EXPORTER" --config.file="$OUT/streamkpi.yml" >"$OUT/exporter.log" 2>&1 &
WPID=$!
PIDS+=("$WPID")
# The exporter's own pid: a wrapper may run it as a child, next to helper
# processes that carry the same arguments.
PID=
for _ in $(seq 1 100); do
  for p in $(pgrep -f -- "--config.file=$OUT/streamkpi.yml" || true); do
    [ "$(readlink -f "/proc/$p/exe" 2>/dev/null)" = "$(readlink -f "$EXPORTER")" ] && PID=$p
  done
  [ -n "$PID" ] && break
  sleep 0.2
done
[ -n "$PID" ] || die "exporter did not start, see $OUT/exporter.log"
# Stopped first at exit (a wrapper would not pass the signal on).
PIDS=("$PID" "${PIDS[@]}")
n=0
for _ in $(seq 1 $((CYCLES * INTERVAL * 4 + 120))); do
  n=$(curl -s "$URL" | awk '/^streamkpi_source_cycles_total\{.*source="kafka"/ { print $NF; exit }' || true)
  [ -n "$n" ] && [ "${n%.*}" -ge "$CYCLES" ] && break
  sleep 1
done
[ -n "$n" ] && [ "${n%.*}" -ge "$CYCLES" ] || die "fewer than $CYCLES cycles, see $OUT/exporter.log"
hwm_cycles=$(kb VmHWM "$PID")
# MEM_WRK_SECONDS=0 leaves the scrape load out (the collection side alone).
if [ "$WRK_SECONDS" -gt 0 ]; then
  for _ in $(seq 1 20); do curl -s -o /dev/null "$URL"; done
  wrk -t2 -c16 -d"${WRK_SECONDS}s" --latency --timeout 10s "$URL" >"$OUT/wrk-plain.txt" 2>&1
  wrk -t2 -c16 -d"${WRK_SECONDS}s" --latency --timeout 10s -H 'Accept-Encoding: gzip' "$URL" \
    >"$OUT/wrk-gzip.txt" 2>&1
fi
hwm_load=$(kb VmHWM "$PID")
body=$(curl -s -o /dev/null -w '%{size_download}' "$URL")
state=$(stat -c %s "$OUT/state.json" 2>/dev/null || echo none)
{
  echo "scenario=$SCENARIO cycles=$n body_bytes=$body state_bytes=$state"
  echo "vmhwm_after_cycles_kb=$hwm_cycles"
  echo "vmhwm_under_load_kb=$hwm_load"
  echo "rss_now_kb=$(kb VmRSS "$PID")"
} | tee "$OUT/result.txt"
