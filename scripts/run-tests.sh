#!/usr/bin/env bash
# make test: unit tests (ASan+UBSan) and real-component scenarios, side by side.  Ends
# with one line "make test: N passed, N failed".
set -u
cd "$(dirname "$0")/.."
ulog=$(mktemp); ilog=$(mktemp)
trap 'rm -f "$ulog" "$ilog"' EXIT
# The scenarios start first, in the background (they mostly wait); the unit
# tests run meanwhile and print as they finish; the scenarios' output follows.
scripts/run-it.sh >"$ilog" 2>&1 &
ipid=$!
scripts/run-unit.sh "$@" 2>&1 | tee "$ulog"; urc=${PIPESTATUS[0]}
wait "$ipid"; irc=$?
cat "$ilog"
up=$(sed -n 's/^unit: \([0-9]*\) passed, \([0-9]*\) failed$/\1/p' "$ulog" | tail -1)
uf=$(sed -n 's/^unit: \([0-9]*\) passed, \([0-9]*\) failed$/\2/p' "$ulog" | tail -1)
ip=$(tail -5 "$ilog" | grep -o '[0-9]* passed' | tail -1 | grep -o '[0-9]*' || true)
if_=$(tail -5 "$ilog" | grep -o '[0-9]* failed' | tail -1 | grep -o '[0-9]*' || true)
ie=$(tail -5 "$ilog" | grep -o '[0-9]* error' | tail -1 | grep -o '[0-9]*' || true)
ip=${ip:-0}; if_=$(( ${if_:-0} + ${ie:-0} )); up=${up:-0}; uf=${uf:-0}
if [ "$irc" -ne 0 ] && [ "$if_" -eq 0 ]; then if_=1; fi
if [ "$urc" -ne 0 ] && [ "$uf" -eq 0 ]; then uf=1; fi
echo "make test: $((up + ip)) passed, $((uf + if_)) failed"
[ "$urc" -eq 0 ] && [ "$irc" -eq 0 ]
