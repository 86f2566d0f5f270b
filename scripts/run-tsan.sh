#!/usr/bin/env bash
# make tsan: the unit-test binaries given, built with ThreadSanitizer, then
# one real-broker scenario (TSAN_IT, default test_kpis) against
# build/tsan/streamkpi_exporter.  Every ThreadSanitizer report goes to a file
# under build/tsan/reports/; any such file fails the run, so a race in a
# child process that exited 0 still counts.  Ends with
# "tsan: N passed, N failed" and exits non-zero on any failure or report.
set -u
cd "$(dirname "$0")/.."
reports=$PWD/build/tsan/reports
rm -rf "$reports"; mkdir -p "$reports"
# second_deadlock_stack gives both stacks of a lock-order report; the
# suppressions file says what librdkafka reports are ignored and why.
export TSAN_OPTIONS="log_path=$reports/tsan:second_deadlock_stack=1:history_size=4:suppressions=$PWD/tests/tsan/suppressions.txt"
ulog=$(mktemp); ilog=$(mktemp)
trap 'rm -f "$ulog" "$ilog"' EXIT
UNIT_JOBS=${UNIT_JOBS:-1} scripts/run-unit.sh "$@" 2>&1 | tee "$ulog"; urc=${PIPESTATUS[0]}
SKPI_EXPORTER=$PWD/build/tsan/streamkpi_exporter scripts/run-it.sh -k "${TSAN_IT:-test_kpis}" 2>&1 |
  tee "$ilog"
irc=${PIPESTATUS[0]}
up=$(sed -n 's/^unit: \([0-9]*\) passed, \([0-9]*\) failed$/\1/p' "$ulog" | tail -1)
uf=$(sed -n 's/^unit: \([0-9]*\) passed, \([0-9]*\) failed$/\2/p' "$ulog" | tail -1)
ip=$(tail -5 "$ilog" | grep -o '[0-9]* passed' | tail -1 | grep -o '[0-9]*' || true)
if_=$(tail -5 "$ilog" | grep -o '[0-9]* failed' | tail -1 | grep -o '[0-9]*' || true)
up=${up:-0}; uf=${uf:-0}; ip=${ip:-0}; if_=${if_:-0}
if [ "$irc" -ne 0 ] && [ "$if_" -eq 0 ]; then if_=1; fi
if [ "$urc" -ne 0 ] && [ "$uf" -eq 0 ]; then uf=1; fi
nrep=$(find "$reports" -type f | wc -l)
if [ "$nrep" -gt 0 ]; then
  echo "tsan: $nrep report file(s) in $reports:"
  for f in "$reports"/*; do
    echo "== $f"; grep -m3 -E 'WARNING: ThreadSanitizer|^    #[0-2] ' "$f"
  done
fi
echo "tsan: $((up + ip)) passed, $((uf + if_ + nrep)) failed"
[ "$urc" -eq 0 ] && [ "$irc" -eq 0 ] && [ "$nrep" -eq 0 ]
