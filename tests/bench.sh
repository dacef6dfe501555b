#!/bin/sh
# make bench: benchmarks, not timed tests.  Prints Markdown tables that the
# README quotes with this command.  BENCH_N / BENCH_WAITING size the run.
cd "$(dirname "$0")/.." || exit 2
echo "# $(date -u +%Y-%m-%dT%H:%M:%SZ) $(uname -m), $(nproc) cores"
/usr/bin/python3 tests/bench/slack_bench.py "${BENCH_N:-50}" "${BENCH_WAITING:-1000}"
