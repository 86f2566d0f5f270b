#!/usr/bin/env bash
# Runs the real-component scenarios (tests/it, pytest).  Each scenario starts
# what it needs (Kafka, Prometheus, Alertmanager, Chromium); none skips.
set -u
cd "$(dirname "$0")/.."
python3 -m pytest -q -p no:cacheprovider tests/it "$@"
