#!/usr/bin/env bash
# Runs the libFuzzer binaries build/fuzz/bin/<target> for each target given,
# one after the other (one process each), FUZZ_SECONDS (default 60) apiece,
# on the committed corpus tests/fuzz/corpus/<target>/ plus a scratch corpus
# build/fuzz/corpus/<target>/ where new inputs go (the committed one is
# never written).  A crash, leak, timeout or out-of-memory leaves its input
# in build/fuzz/crashes/<target>/.  Prints one line per target and
# "fuzz: N passed, N failed"; exits non-zero when any target found something.
#
# FUZZ_SECONDS, FUZZ_RSS_MB (default 2048) and FUZZ_TIMEOUT (seconds per
# input, default 10) override the bounds; FUZZ_ARGS adds libFuzzer flags.
set -u
cd "$(dirname "$0")/.."
secs=${FUZZ_SECONDS:-60}
rss=${FUZZ_RSS_MB:-2048}
per_input=${FUZZ_TIMEOUT:-10}
pass=0; fail=0; failed=()
for t in "$@"; do
  bin=build/fuzz/bin/$t
  seeds=tests/fuzz/corpus/$t
  work=build/fuzz/corpus/$t
  crashes=build/fuzz/crashes/$t
  log=build/fuzz/log/$t.log
  mkdir -p "$work" "$crashes" "$(dirname "$log")"
  # The per-target limit is the run's length plus a margin for start-up
  # and the final merge; libFuzzer stops itself at -max_total_time.
  timeout -k 10 $((secs + 120)) "$bin" -max_total_time="$secs" -rss_limit_mb="$rss" \
    -timeout="$per_input" -print_final_stats=1 -artifact_prefix="$crashes/" \
    ${FUZZ_ARGS:-} "$work" "$seeds" >"$log" 2>&1
  rc=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *\([0-9]*\).*/\1/p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *\([0-9]*\).*/\1/p' "$log" | tail -1)
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1)
  if [ "$rc" -eq 0 ]; then
    pass=$((pass + 1))
    echo "fuzz: $t: ok, ${execs:-?} execs in ${secs}s (${rate:-?}/s), ${cov:-cov: ?}"
  else
    fail=$((fail + 1)); failed+=("$t")
    echo "fuzz: $t: FOUND something (exit $rc), ${execs:-?} execs; see $log and $crashes/"
    grep -m1 -E 'ERROR: (AddressSanitizer|libFuzzer|LeakSanitizer)|runtime error|property broken' "$log" || true
  fi
done
echo "fuzz: $pass passed, $fail failed"
[ "${#failed[@]}" -eq 0 ] || { echo "fuzz: failing targets: ${failed[*]}"; exit 1; }
