# shellcheck shell=bash
# Sizes of the large scenario, shared by bench/run.sh and bench/msgtime.sh;
# each can be lowered with its BENCH_* variable.
TOPICS=${BENCH_TOPICS:-2000}
PARTS=${BENCH_PARTS:-5}
GROUPS_N=${BENCH_GROUPS:-500}
MSGS=${BENCH_MSGS:-18}
INTERVAL=${BENCH_INTERVAL:-5} # streamkpi sample_interval, seconds
HEAP=${BENCH_BROKER_HEAP:-2g}
