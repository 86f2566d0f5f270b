#!/usr/bin/env bash
# Runs the real-component scenarios (tests/it, pytest).  Each scenario starts
# what it needs (Kafka, Prometheus, Chromium); none skips.  Extra arguments go
# to pytest, e.g. scripts/run-it.sh -k outage, or name files:
# scripts/run-it.sh tests/it/test_scale.py.
set -u
cd "$(dirname "$0")/.."
if ! python3 -c 'import pytest' 2>/dev/null; then
  echo "run-it: FAILED: pytest is not installed for python3 (run scripts/deps.sh)" >&2
  echo "1 failed"
  exit 1
fi
# The scenarios mostly wait on brokers and clocks, so IT_WORKERS (default 3)
# pytest-xdist workers run them side by side; each worker starts its own
# shared broker.  IT_WORKERS=0 runs them one after the other.
workers=${IT_WORKERS:-3}
# The whole suite unless a test file or directory is named.
where=(tests/it)
for a in "$@"; do
  case $a in tests/*) where=() ;; esac
done
if [ "$workers" -gt 0 ]; then
  if ! python3 -c 'import xdist' 2>/dev/null; then
    echo "run-it: FAILED: pytest-xdist is not installed for python3 (run scripts/deps.sh)" >&2
    echo "1 failed"
    exit 1
  fi
  exec python3 -m pytest -q -p no:cacheprovider -n "$workers" --dist load "${where[@]}" "$@"
fi
exec python3 -m pytest -q -p no:cacheprovider "${where[@]}" "$@"
