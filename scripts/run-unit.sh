#!/usr/bin/env bash
# Runs the cmocka unit-test binaries given, two at a time, each under a
# timeout; prints each binary's output whole (never interleaved), then the
# summary line "unit: N passed, N failed", and exits non-zero when any test
# failed.  A binary that outlives its timeout is killed and counted as one
# failed test, named in the output.
#
# UNIT_JOBS (default 2) and UNIT_TIMEOUT (seconds, default 300) override the
# parallelism and the per-binary limit.
set -u
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
jobs_max=${UNIT_JOBS:-2}
limit=${UNIT_TIMEOUT:-300}
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT

# Runs binary number $1 ($2) and leaves its output in $tmp/$1.out and its
# exit status in $tmp/$1.rc.  timeout sends TERM, then KILL 10 s later.
run_one() {
  timeout -k 10 "$limit" "$2" >"$tmp/$1.out" 2>&1
  echo $? >"$tmp/$1.part" && mv "$tmp/$1.part" "$tmp/$1.rc"
}

pass=0; fail=0; failed=()
# Reports binary number $1 ($2) once it has finished.
report() {
  local i=$1 bin=$2 out rc p f
  out=$(cat "$tmp/$i.out")
  rc=$(cat "$tmp/$i.rc")
  printf '%s\n' "$out"
  p=$(printf '%s\n' "$out" | sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' | awk '{s+=$1} END {print s+0}')
  f=$(printf '%s\n' "$out" | sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' | awk '{s+=$1} END {print s+0}')
  if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
    echo "unit: $(basename "$bin") timed out after ${limit}s"
  fi
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
  pass=$((pass + p)); fail=$((fail + f))
  [ "$rc" -eq 0 ] || failed+=("$(basename "$bin")")
}

bins=("$@")
n=${#bins[@]}
next=0    # next binary to start
shown=0   # binaries reported so far (in the order given)
running=0
while [ "$shown" -lt "$n" ]; do
  while [ "$running" -lt "$jobs_max" ] && [ "$next" -lt "$n" ]; do
    run_one "$next" "${bins[$next]}" &
    next=$((next + 1)); running=$((running + 1))
  done
  # Report, in order, every binary that has finished.
  while [ "$shown" -lt "$next" ] && [ -e "$tmp/$shown.rc" ]; do
    report "$shown" "${bins[$shown]}"
    shown=$((shown + 1))
  done
  [ "$shown" -lt "$n" ] || break
  # Wait for one job to end; its status is already in its .rc file.
  if [ "$running" -gt 0 ]; then
    wait -n
    running=$((running - 1))
  fi
done
wait
echo "unit: $pass passed, $fail failed"
[ "${#failed[@]}" -eq 0 ] || { echo "unit: failing binaries: ${failed[*]}"; exit 1; }
