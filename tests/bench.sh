#!/bin/sh
# make bench: benchmarks, not timed tests.  Prints Markdown tables that the
# README quotes with this command.  Sizes:
#   BENCH_N        incidents one at a time (default 50)
#   BENCH_LOAD     incidents of the load phase (default 200), at BENCH_RATE/s (10)
#   BENCH_WAITING  incidents left waiting at the end (default 1000)
#   BENCH_STRACE   incidents of a load run under strace -f -c (default 50; 0: none)
#   BENCH_APPS, BENCH_HISTORY  the git benchmark's repository (200 apps, 300 commits)
#   BENCH_CALLGRIND=0  skip the instruction count (valgrind) of the git benchmark
#   STORM_RUNS     runs of the alert storm (tests/bench/storm_bench.sh, default 3)
cd "$(dirname "$0")/.." || exit 2
echo "# $(date -u +%Y-%m-%dT%H:%M:%SZ) $(uname -m), $(nproc) cores"
BENCH_N=${BENCH_N:-50} BENCH_LOAD=${BENCH_LOAD:-200} BENCH_RATE=${BENCH_RATE:-10} \
	BENCH_WAITING=${BENCH_WAITING:-1000} BENCH_STRACE=${BENCH_STRACE:-50} \
	/usr/bin/python3 tests/bench/slack_bench.py || rc=1
echo
sh tests/bench/git_bench.sh || rc=1
echo
sh tests/bench/storm_bench.sh || rc=1
exit ${rc:-0}
