#!/usr/bin/env bash
# Runs each cmocka unit-test binary given; prints a summary line
# "unit: N passed, N failed" and exits non-zero when any test failed.
set -u
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
pass=0; fail=0; failed=()
for bin in "$@"; do
  out=$("$bin" 2>&1); rc=$?
  printf '%s\n' "$out"
  p=$(printf '%s\n' "$out" | sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' | awk '{s+=$1} END {print s+0}')
  f=$(printf '%s\n' "$out" | sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' | awk '{s+=$1} END {print s+0}')
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
  pass=$((pass + p)); fail=$((fail + f))
  [ "$rc" -eq 0 ] || failed+=("$(basename "$bin")")
done
echo "unit: $pass passed, $fail failed"
[ "${#failed[@]}" -eq 0 ] || { echo "unit: failing binaries: ${failed[*]}"; exit 1; }
