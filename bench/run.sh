#!/usr/bin/env bash
# The streamkpi benchmark: sets up, runs and tears down everything, then
# writes bench/RESULTS.md (through bench/report.py).  Started by
# `make bench`, which first builds build/streamkpi_exporter.
#
# Scenarios (sizes can be lowered with the BENCH_* variables below):
#   large  one KRaft broker on loopback, BENCH_TOPICS x BENCH_PARTS partitions,
#          BENCH_GROUPS groups with committed offsets, light produce traffic;
#          streamkpi, kafka_exporter and kminion measured one after the other
#          against the same broker, plus wrk against streamkpi's /metrics.
#   mock   librdkafka's mock cluster, 3 brokers, BENCH_MOCK_TOPICS x
#          BENCH_MOCK_PARTS partitions (no group listing in the mock).
#   huge   the same mock at BENCH_HUGE_TOPICS x BENCH_HUGE_PARTS (a million
#          partitions: 10000 x 100); it takes several minutes and GBs of the
#          mock's own memory, so it runs only when BENCH_HUGE=1.
#
# Raw measurements go to build/bench/run/ (kept for inspection); the report
# is computed from them only.  Nothing listens beyond 127.0.0.1.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"

# shellcheck source=bench/sizes.sh
. "$ROOT/bench/sizes.sh"
MOCK_TOPICS=${BENCH_MOCK_TOPICS:-1000}
MOCK_PARTS=${BENCH_MOCK_PARTS:-100}
HUGE=${BENCH_HUGE:-0}
HUGE_TOPICS=${BENCH_HUGE_TOPICS:-10000}
HUGE_PARTS=${BENCH_HUGE_PARTS:-100}
HUGE_INTERVAL=${BENCH_HUGE_INTERVAL:-60}
CYCLES=${BENCH_CYCLES:-6}          # streamkpi cycles observed per scenario
SCRAPES=${BENCH_SCRAPES:-20}       # curl scrapes of streamkpi (median)
PEER_SCRAPES=${BENCH_PEER_SCRAPES:-5}
WRK_SECONDS=${BENCH_WRK_SECONDS:-10}
TRAFFIC_TOPICS=${BENCH_TRAFFIC_TOPICS:-100}  # traffic only on the first N topics

RUN=$ROOT/build/bench/run
EXPORTER=$ROOT/build/streamkpi_exporter
KBENCH=$ROOT/build/bench/kbench
MOCK=$ROOT/build/bench/mockcluster
KLIBS=$ROOT/build/kafka/libs
PIDS=()
BROKER_PID=

log() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "FAILED: $*"; exit 1; }

cleanup() {
  local p
  for p in "${PIDS[@]+"${PIDS[@]}"}"; do kill "$p" 2>/dev/null || true; done
  if [ -n "$BROKER_PID" ] && kill -0 "$BROKER_PID" 2>/dev/null; then
    kill -TERM "$BROKER_PID" 2>/dev/null || true
    for _ in $(seq 1 40); do kill -0 "$BROKER_PID" 2>/dev/null || break; sleep 0.5; done
    kill -KILL "$BROKER_PID" 2>/dev/null || true
  fi
  for p in "${PIDS[@]+"${PIDS[@]}"}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$RUN/broker/data"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# shellcheck source=scripts/lib.sh
. "$ROOT/scripts/lib.sh"

# Seconds of CPU (user+system) a process has used so far.
cpu_s() {
  awk -v hz="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); printf "%.3f\n", ($12 + $13) / hz }' "/proc/$1/stat"
}
hwm_kb() { awk '/^VmHWM:/ { print $2 }' "/proc/$1/status"; }

# Request-log position: lets report.py count the broker's requests by
# client and kind between two marks.
reqlog_pos() { stat -c %s "$RUN/broker/requests.log" 2>/dev/null || echo 0; }

# Polls URL until it answers or the deadline passes.
wait_http() {
  local url=$1 secs=$2 pid=$3 i
  for i in $(seq 1 $((secs * 2))); do
    kill -0 "$pid" 2>/dev/null || return 1
    curl -sf -o /dev/null --max-time 300 "$url" && return 0
    sleep 0.5
  done
  return 1
}

metric() { # metric FILE NAME-with-labels-regex -> first value
  awk -v re="$2" '$0 ~ "^" re { print $NF; exit }' "$1"
}

# await_metric FILE URL REGEX WANT TRIES PAUSE [CURL-OPTION...]: fetches URL
# into FILE until the first sample matching REGEX reads WANT, at most TRIES
# times PAUSE seconds apart; fails when it never does.
await_metric() {
  local file=$1 url=$2 re=$3 want=$4 tries=$5 pause=$6 k
  shift 6
  for k in $(seq 1 "$tries"); do
    curl -s "$@" -o "$file" "$url"
    [ "$(metric "$file" "$re")" = "$want" ] && return 0
    sleep "$pause"
  done
  return 1
}

start_broker() {
  local dir=$RUN/broker
  rm -rf "$dir"
  mkdir -p "$dir"
  # The request logger writes one line per request with its kind and client
  # id: how requests per cycle are counted for every exporter alike.
  BROKER=$(KAFKA_HEAP=$HEAP KAFKA_LOAD_MODE=1 KAFKA_REQUEST_LOG=$dir/requests.log \
    KAFKA_EXTRA_PROPS=$'offsets.topic.num.partitions=10\nlog.segment.bytes=16777216' \
    KAFKA_START_TIMEOUT=90 "$ROOT/scripts/kafka-broker.sh" start "$dir" "$(free_port)") \
    || die "broker did not start, see $dir/broker.log"
  BROKER_PID=$(cat "$dir/broker.pid")
}

# Wall time of `kcat -L` (all metadata), N times, one line each.
time_kcat_l() {
  python3 - "$1" "$2" <<'EOF'
import subprocess, sys, time
for _ in range(int(sys.argv[2])):
    t = time.monotonic()
    subprocess.run(["kcat", "-L", "-b", sys.argv[1], "-m", "30"], stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, check=False)
    print("%.4f" % (time.monotonic() - t))
EOF
}

streamkpi_config() { # FILE CLUSTER BOOTSTRAP PORT [CLUSTER-KEYS]
  cat >"$1" <<EOF
global:
  sample_interval: ${INTERVAL}s
  listen_address: "127.0.0.1:$4"
  log_level: warn
clusters:
  - name: $2
    bootstrap_servers: "$3"
    properties:
      client.id: streamkpi
${5:-}state:
  path: $RUN/$2-state.json
probe:
  enabled: false
EOF
}

# Runs streamkpi against a cluster and measures it.  Writes $RUN/skpi-$NAME.*
measure_streamkpi() { # NAME BOOTSTRAP [CLUSTER-KEYS]
  local name=$1 bootstrap=$2 port pid url c0 c1 n0 n1 i t r0 r1 t_start=$SECONDS
  port=$(free_port)
  url=http://127.0.0.1:$port/metrics
  streamkpi_config "$RUN/skpi-$name.yml" "$name" "$bootstrap" "$port" "${3:-}"
  "$EXPORTER" --config.file="$RUN/skpi-$name.yml" >"$RUN/skpi-$name.log" 2>&1 &
  pid=$!; PIDS+=("$pid")
  wait_http "$url" 60 "$pid" || die "streamkpi ($name) did not serve, see $RUN/skpi-$name.log"
  # At a million partitions the text is ~640 MB: poll through gzip there
  # (rendered once per snapshot), plain elsewhere (gzip would add its
  # compression to the CPU per cycle measured).
  local poll=()
  [ "$name" = huge ] && poll=(--compressed)
  # Wait for the first full cycle, then observe CYCLES more.
  for i in $(seq 1 $((INTERVAL * 12))); do
    curl -s "${poll[@]+"${poll[@]}"}" -o "$RUN/skpi-$name.m0" "$url"
    n0=$(metric "$RUN/skpi-$name.m0" 'streamkpi_source_cycles_total\{[^}]*source="kafka"')
    [ -n "$n0" ] && [ "${n0%.*}" -ge 1 ] && break
    sleep 1
  done
  [ -n "${n0:-}" ] && [ "${n0%.*}" -ge 1 ] || die "streamkpi ($name) completed no cycle"
  # Reading __consumer_offsets: the window starts once the reader caught up
  # (until then offsets are unknown); how long that took is recorded.
  if grep -q 'group_offsets: offsets_topic' "$RUN/skpi-$name.yml"; then
    await_metric "$RUN/skpi-$name.m0" "$url" 'streamkpi_kafka_offsets_topic_caught_up\{' 1 600 0.5 \
      "${poll[@]+"${poll[@]}"}" || die "streamkpi ($name) did not catch up on __consumer_offsets"
    echo "$((SECONDS - t_start))" >"$RUN/skpi-$name.catchup"
    n0=$(metric "$RUN/skpi-$name.m0" 'streamkpi_source_cycles_total\{[^}]*source="kafka"')
  fi
  # After a start every stalled commit's message is timed once, at most
  # message_time_reads a cycle (the msgtime section measures that burst);
  # the window is the steady state after it: a cycle that read nothing.
  await_metric "$RUN/skpi-$name.m0" "$url" 'streamkpi_kafka_message_time_cycle_partitions\{' 0 \
    $((INTERVAL * 60)) 1 "${poll[@]+"${poll[@]}"}" ||
    die "streamkpi ($name) was still reading message times"
  echo "$((SECONDS - t_start)) $(metric "$RUN/skpi-$name.m0" \
    'streamkpi_kafka_message_time_reads_total\{')" >"$RUN/skpi-$name.timesdone"
  n0=$(metric "$RUN/skpi-$name.m0" 'streamkpi_source_cycles_total\{[^}]*source="kafka"')
  c0=$(cpu_s "$pid"); r0=$(reqlog_pos)
  : >"$RUN/skpi-$name.cycles"
  : >"$RUN/skpi-$name.rendered"
  local last=$n0 target=$(( ${n0%.*} + CYCLES ))
  for i in $(seq 1 $((CYCLES * INTERVAL * 4 + 60))); do
    curl -s "${poll[@]+"${poll[@]}"}" -o "$RUN/skpi-$name.m1" "$url"
    n1=$(metric "$RUN/skpi-$name.m1" 'streamkpi_source_cycles_total\{[^}]*source="kafka"')
    if [ "$n1" != "$last" ]; then
      last=$n1
      { metric "$RUN/skpi-$name.m1" 'streamkpi_source_collect_duration_seconds\{[^}]*source="kafka"'
      } >>"$RUN/skpi-$name.cycles"
      grep '^streamkpi_kafka_requests{' "$RUN/skpi-$name.m1" >"$RUN/skpi-$name.requests"
      # Text rendered anew for the last snapshot, of the whole text.
      echo "$(metric "$RUN/skpi-$name.m1" 'streamkpi_exposition_rendered_bytes') $(metric \
        "$RUN/skpi-$name.m1" 'streamkpi_exposition_bytes')" >>"$RUN/skpi-$name.rendered"
    fi
    [ "${n1%.*}" -ge "$target" ] && break
    sleep 0.5
  done
  c1=$(cpu_s "$pid"); r1=$(reqlog_pos)
  echo "cycles_from=$n0 cycles_to=$n1 cpu_from=$c0 cpu_to=$c1 reqlog_from=$r0 reqlog_to=$r1" \
    >"$RUN/skpi-$name.window"
  hwm_kb "$pid" >"$RUN/skpi-$name.hwm-cycles"
  # Scrape time as Prometheus sees it: one full GET of /metrics, read into
  # memory and dropped (curl writing 11.5 MB to a file doubled the time).
  # The body the report reads is saved by one more, untimed GET.
  : >"$RUN/skpi-$name.scrapes"
  for i in $(seq 1 "$SCRAPES"); do
    curl -s -o /dev/null -w '%{time_total} %{size_download}\n' "$url" >>"$RUN/skpi-$name.scrapes"
  done
  curl -s -o "$RUN/skpi-$name.scrape" "$url"
  curl -s -o /dev/null -H 'Accept-Encoding: gzip' -w '%{size_download}\n' "$url" \
    >"$RUN/skpi-$name.gzsize"
  if [ "$name" = large ]; then
    log "wrk against streamkpi /metrics (plain, then gzip)"
    # A CPU profile of the exporter during the plain run says where the
    # time under load goes (perf from Debian; skipped when absent).
    local perfpid=
    if command -v perf >/dev/null 2>&1; then
      perf record -F 499 -g -p "$pid" -o "$RUN/perf-plain.data" -- sleep "$WRK_SECONDS" \
        >"$RUN/perf-record.log" 2>&1 &
      perfpid=$!
    fi
    wrk -t2 -c16 -d"${WRK_SECONDS}s" --latency --timeout 10s "$url" >"$RUN/wrk-skpi-plain.txt" 2>&1
    if [ -n "$perfpid" ]; then
      wait "$perfpid" || true
      perf report -i "$RUN/perf-plain.data" --no-children --sort comm,dso --stdio -g none \
        >"$RUN/perf-plain-dso.txt" 2>/dev/null || true
      perf report -i "$RUN/perf-plain.data" --no-children --sort dso,sym --stdio -g none \
        >"$RUN/perf-plain-sym.txt" 2>/dev/null || true
      rm -f "$RUN/perf-plain.data"
    fi
    wrk -t2 -c16 -d"${WRK_SECONDS}s" --latency --timeout 10s -H 'Accept-Encoding: gzip' "$url" \
      >"$RUN/wrk-skpi-gzip.txt" 2>&1
  fi
  echo "$(hwm_kb "$pid")" >"$RUN/skpi-$name.hwm"
  kill "$pid"; wait "$pid" 2>/dev/null || true
}

# Runs one peer (collects on scrape): start, warm-up scrape, PEER_SCRAPES
# timed scrapes with CPU and request-log marks, wrk, peak RSS.
measure_peer() {
  local name=$1 url=$2 pid=$3 i c0 c1 r0 r1
  PIDS+=("$pid")
  if ! wait_http "$url" 300 "$pid"; then
    log "$name did not serve; see $RUN/$name.log"
    echo "did not start" >"$RUN/$name.failed"
    kill "$pid" 2>/dev/null || true
    return 0
  fi
  # The warm-up scrape's body is the one the report reads; timed scrapes
  # are dropped as they arrive, as for streamkpi.
  curl -s -o "$RUN/$name.scrape" --max-time 300 "$url" || true
  c0=$(cpu_s "$pid"); r0=$(reqlog_pos)
  : >"$RUN/$name.scrapes"
  for i in $(seq 1 "$PEER_SCRAPES"); do
    curl -s -o /dev/null --max-time 300 -w '%{time_total} %{size_download}\n' "$url" \
      >>"$RUN/$name.scrapes" || true
  done
  c1=$(cpu_s "$pid"); r1=$(reqlog_pos)
  echo "scrapes=$PEER_SCRAPES cpu_from=$c0 cpu_to=$c1 reqlog_from=$r0 reqlog_to=$r1" >"$RUN/$name.window"
  log "wrk against $name"
  wrk -t2 -c16 -d"${WRK_SECONDS}s" --latency --timeout 60s "$url" >"$RUN/wrk-$name-plain.txt" 2>&1 || true
  echo "$(hwm_kb "$pid")" >"$RUN/$name.hwm"
  kill "$pid"; wait "$pid" 2>/dev/null || true
}

# The first line of a failed go install, without addresses (the report names
# the module, not the registry's host).
go_error() {
  local status answer
  status=$(grep -m1 -o '[0-9][0-9][0-9] [A-Z][A-Za-z ]*' "$1")
  answer=$(grep -m1 -o 'server response: .*' "$1" | sed 's/server response: //')
  echo "the Go module proxy answered ${status:-an error}${answer:+: $answer}" | cut -c1-"$2"
}

# A peer binary: go install at bench time (as a user would), else the env
# variable, else none (the report says why).
peer_bin() { # NAME MODULE ENVVAR
  local name=$1 module=$2 var=$3 gobin=$RUN/gobin
  mkdir -p "$gobin"
  if command -v go >/dev/null 2>&1 &&
    GOBIN=$gobin GOFLAGS=-mod=mod timeout 300 go install "$module@latest" >"$RUN/$name.goinstall" 2>&1; then
    echo "go install $module@latest" >"$RUN/$name.source"
    PEER=$(ls "$gobin"/* 2>/dev/null | grep -F "/$(basename "${module%/v2}")" | head -1)
    return 0
  fi
  if [ -n "${!var:-}" ] && [ -x "${!var}" ]; then
    echo "binary from \$$var, because go install failed: $(go_error "$RUN/$name.goinstall" 160)" \
      >"$RUN/$name.source"
    PEER=${!var}
    return 0
  fi
  echo "not run: go install $module failed: $(go_error "$RUN/$name.goinstall" 200)" >"$RUN/$name.failed"
  PEER=
}

main() {
  command -v kcat >/dev/null || die "kcat missing: run scripts/deps.sh"
  command -v wrk >/dev/null || die "wrk missing: run scripts/deps.sh"
  [ -x "$EXPORTER" ] || die "no $EXPORTER: run make"
  [ -f "$KLIBS/.complete" ] || die "no Kafka jars: run scripts/deps.sh"
  rm -rf "$RUN"; mkdir -p "$RUN"
  make --no-print-directory -s -f bench/Makefile
  local t_start=$SECONDS

  {
    echo "date=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "cpu=$(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)"
    echo "cores=$(nproc)"
    echo "mem_kb=$(awk '/MemTotal/ { print $2 }' /proc/meminfo)"
    echo "kernel=$(uname -r)"
    echo "streamkpi=$("$EXPORTER" --version 2>&1 | head -1)"
    echo "librdkafka=$(pkg-config --modversion rdkafka)"
    echo "kafka=$(ls "$KLIBS" | sed -n 's/^kafka_2.13-\(.*\)\.jar$/\1/p' | head -1)"
    echo "java=$(java -version 2>&1 | head -1)"
    echo "kcat=$(kcat -V 2>&1 | grep -m1 -i version)"
    echo "wrk=$(wrk -v 2>&1 | head -1)"
    echo "go=$(go version 2>/dev/null || echo none)"
    echo "topics=$TOPICS parts=$PARTS groups=$GROUPS_N msgs=$MSGS interval=$INTERVAL traffic_topics=$TRAFFIC_TOPICS heap=$HEAP"
    echo "huge_topics=$HUGE_TOPICS huge_parts=$HUGE_PARTS"
    echo "mock_topics=$MOCK_TOPICS mock_parts=$MOCK_PARTS scrapes=$SCRAPES peer_scrapes=$PEER_SCRAPES wrk_seconds=$WRK_SECONDS"
  } >"$RUN/env.txt"

  # Peers first: building them needs no broker.
  log "building peers with go install (falls back to KAFKA_EXPORTER_BIN / KMINION_BIN)"
  peer_bin kafka_exporter github.com/danielqsj/kafka_exporter KAFKA_EXPORTER_BIN; KE=$PEER
  peer_bin kminion github.com/redpanda-data/kminion/v2 KMINION_BIN; KM=$PEER

  log "starting the KRaft broker (heap $HEAP)"
  start_broker
  log "broker at $BROKER; creating $TOPICS topics x $PARTS partitions, $GROUPS_N groups"
  local t0=$SECONDS
  "$KBENCH" setup -b "$BROKER" -t "$TOPICS" -p "$PARTS" -g "$GROUPS_N" -m "$MSGS" 2>"$RUN/setup.log" ||
    die "setup failed, see $RUN/setup.log"
  echo "setup_s=$((SECONDS - t0))" >>"$RUN/env.txt"
  "$KBENCH" traffic -b "$BROKER" -t "$TRAFFIC_TOPICS" -p "$PARTS" -r 50 -d 3600 2>"$RUN/traffic.log" &
  PIDS+=("$!")

  log "floor: raw requests (kbench floor, kcat -L)"
  "$KBENCH" floor -b "$BROKER" -n 5 -c 2000 -i 10 >"$RUN/floor-large.json" 2>"$RUN/floor-large.err" ||
    die "floor failed"
  time_kcat_l "$BROKER" 5 >"$RUN/kcat-large.times"

  log "streamkpi on the large scenario"
  measure_streamkpi large "$BROKER"
  measure_msgtime_audit
  log "streamkpi on the large scenario, committed offsets from __consumer_offsets"
  # The window spans one whole describe interval (60 s), so that every
  # group's re-description falls in it exactly once.
  CYCLES=$(( 60 / INTERVAL > CYCLES ? 60 / INTERVAL : CYCLES )) \
    measure_streamkpi large_ot "$BROKER" $'    group_offsets: offsets_topic\n    describe_interval: 60s\n'

  local port
  if [ -n "$KE" ]; then
    log "kafka_exporter on the large scenario"
    port=$(free_port)
    "$KE" --kafka.server="$BROKER" --kafka.version=4.0.0 --web.listen-address="127.0.0.1:$port" \
      >"$RUN/kafka_exporter.log" 2>&1 &
    measure_peer kafka_exporter "http://127.0.0.1:$port/metrics" "$!"
  fi
  if [ -n "$KM" ]; then
    log "kminion on the large scenario"
    port=$(free_port)
    cat >"$RUN/kminion.yml" <<EOF
kafka:
  brokers: [ "$BROKER" ]
  clientId: kminion
minion:
  endToEnd:
    enabled: false
exporter:
  host: "127.0.0.1"
  port: $port
EOF
    CONFIG_FILEPATH=$RUN/kminion.yml "$KM" >"$RUN/kminion.log" 2>&1 &
    measure_peer kminion "http://127.0.0.1:$port/metrics" "$!"
  fi

  # Agreement: partitions and groups with no traffic (topics past the
  # first TRAFFIC_TOPICS), so every reader must see the same numbers.
  log "agreement sample: raw protocol and kcat"
  python3 - "$TOPICS" "$PARTS" "$GROUPS_N" "$TRAFFIC_TOPICS" >"$RUN/sample.txt" <<'EOF'
import sys
topics, parts, groups, quiet = map(int, sys.argv[1:5])
out = []
for g in range(groups):
    ts = [(4 * g + k) % topics for k in range(4)]
    if min(ts) < quiet:
        continue
    out.append(("bench-t%05d" % ts[g % 4], g % parts, "bench-g%04d" % g))
step = max(1, len(out) // 50)
for t, p, g in out[::step][:50]:
    print(t, p, g)
EOF
  "$KBENCH" offsets -b "$BROKER" -s "$RUN/sample.txt" >"$RUN/raw-offsets.txt" 2>"$RUN/raw-offsets.err"
  local qargs=()
  while read -r t p _; do qargs+=(-t "$t:$p:-1"); done <"$RUN/sample.txt"
  kcat -Q -b "$BROKER" "${qargs[@]}" >"$RUN/kcat-offsets.txt" 2>&1 || true

  echo "reqlog=$RUN/broker/requests.log" >>"$RUN/env.txt"
  log "stopping the broker"
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  cleanup_broker_only

  log "mock cluster: $MOCK_TOPICS x $MOCK_PARTS partitions over 3 brokers"
  "$MOCK" -b 3 -t "$MOCK_TOPICS" -p "$MOCK_PARTS" >"$RUN/mock.out" 2>"$RUN/mock.err" &
  local mpid=$!; PIDS+=("$mpid")
  for _ in $(seq 1 240); do [ -s "$RUN/mock.out" ] && break; sleep 0.5; done
  [ -s "$RUN/mock.out" ] || die "mock cluster did not start"
  local mboot; mboot=$(head -1 "$RUN/mock.out")
  "$KBENCH" floor -b "$mboot" -n 3 -c 2000 -i 10 >"$RUN/floor-mock.json" 2>"$RUN/floor-mock.err" ||
    die "floor (mock) failed"
  time_kcat_l "$mboot" 3 >"$RUN/kcat-mock.times"
  INTERVAL=$(( INTERVAL < 10 ? 10 : INTERVAL )) CYCLES=$(( CYCLES / 2 < 3 ? 3 : CYCLES / 2 )) \
    measure_streamkpi mock "$mboot"
  kill "$mpid" 2>/dev/null || true
  wait "$mpid" 2>/dev/null || true

  if [ "$HUGE" = 1 ]; then
    log "huge mock cluster: $HUGE_TOPICS x $HUGE_PARTS partitions over 3 brokers"
    "$MOCK" -b 3 -t "$HUGE_TOPICS" -p "$HUGE_PARTS" >"$RUN/huge.out" 2>"$RUN/huge.err" &
    mpid=$!; PIDS+=("$mpid")
    for _ in $(seq 1 1200); do [ -s "$RUN/huge.out" ] && break; sleep 0.5; done
    [ -s "$RUN/huge.out" ] || die "huge mock cluster did not start"
    mboot=$(head -1 "$RUN/huge.out")
    "$KBENCH" floor -b "$mboot" -n 1 -c 2000 -i 10 >"$RUN/floor-huge.json" 2>"$RUN/floor-huge.err" ||
      die "floor (huge) failed"
    time_kcat_l "$mboot" 1 >"$RUN/kcat-huge.times"
    SCRAPES=3 INTERVAL=$HUGE_INTERVAL CYCLES=2 measure_streamkpi huge "$mboot"
    kill "$mpid" 2>/dev/null || true
    wait "$mpid" 2>/dev/null || true
  else
    echo "not run: the million-partition mock runs with BENCH_HUGE=1 (several minutes)" \
      >"$RUN/skpi-huge.skipped"
  fi

  measure_audit_many_topics

  echo "bench_s=$((SECONDS - t_start))" >>"$RUN/env.txt"
  log "writing bench/RESULTS.md"
  python3 bench/report.py "$RUN" >bench/RESULTS.md
  log "done in $((SECONDS - t_start)) s"
}

# The message-time reads of the stalled commits and the config audit, by
# bench/msgtime.sh on this broker (set up already), from a cold start of an
# exporter of their own.  Raw files in $RUN/msgtime/.
measure_msgtime_audit() {
  log "message-time reads and config audit on the large scenario"
  BENCH_MT_BROKER=$BROKER BENCH_MT_REQLOG=$RUN/broker/requests.log BENCH_MT_RUN=$RUN/msgtime \
    "$ROOT/bench/msgtime.sh" >"$RUN/msgtime.out" 2>"$RUN/msgtime.err" ||
    log "msgtime.sh failed, see $RUN/msgtime.err"
}

# The config audit at BENCH_AUDIT_TOPICS (default 10000) one-partition
# topics: bench/msgtime.sh with a broker and setup of its own, after the
# other scenarios (nothing else runs meanwhile).  0 skips it.  Raw files in
# $RUN/audit/.
measure_audit_many_topics() {
  local n=${BENCH_AUDIT_TOPICS:-10000}
  if [ "$n" -le 0 ]; then
    echo "not run: BENCH_AUDIT_TOPICS=0" >"$RUN/audit.err"
    return
  fi
  log "config audit at $n topics (own broker and setup)"
  BENCH_TOPICS=$n BENCH_PARTS=1 BENCH_GROUPS=10 BENCH_MSGS=1 BENCH_MT_CYCLES=2 \
    BENCH_AUDITS=${BENCH_AUDITS:-3} BENCH_MT_RUN=$RUN/audit \
    "$ROOT/bench/msgtime.sh" >"$RUN/audit.out" 2>"$RUN/audit.err" ||
    log "msgtime.sh (audit) failed, see $RUN/audit.err"
}

cleanup_broker_only() {
  if [ -n "$BROKER_PID" ]; then
    kill -TERM "$BROKER_PID" 2>/dev/null || true
    for _ in $(seq 1 40); do kill -0 "$BROKER_PID" 2>/dev/null || break; sleep 0.5; done
    kill -KILL "$BROKER_PID" 2>/dev/null || true
    wait "$BROKER_PID" 2>/dev/null || true
    BROKER_PID=
  fi
}

main "$@"
