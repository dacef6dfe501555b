#!/bin/sh
# make fuzz: tests/fuzz/run.sh SECONDS build/fuzz/fuzz_NAME...
# Runs each harness for SECONDS over its corpus (build/fuzz/corpus/NAME,
# seeded by seed.sh), then prints one line per harness: executions,
# coverage (cov: of libFuzzer's last status line), features, corpus size
# and crashes (inputs saved in build/fuzz/crashes/NAME/).  Exit status 1
# when any harness crashed.  FUZZ_JOBS=2 runs two harnesses at a time.
cd "$(dirname "$0")/../.." || exit 2
secs=${1:-60}
shift
jobs=${FUZZ_JOBS:-1}
log=build/fuzz/logs
mkdir -p "$log"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

one() { # one BIN: runs it, leaves build/fuzz/logs/NAME.log
	name=$(basename "$1" | sed 's/^fuzz_//')
	tests/fuzz/seed.sh "$name"
	mkdir -p "build/fuzz/crashes/$name"
	# -timeout: one input slower than 25 s is a hang, saved like a crash
	"$1" -max_total_time="$secs" -timeout=25 -rss_limit_mb=2560 -max_len=65536 \
		-print_final_stats=1 -artifact_prefix="build/fuzz/crashes/$name/" \
		"build/fuzz/corpus/$name" >"$log/$name.log" 2>&1
	echo $? >"$log/$name.rc"
}

n=0
for bin in "$@"; do
	one "$bin" &
	n=$((n + 1))
	if [ "$n" -ge "$jobs" ]; then
		wait
		n=0
	fi
done
wait

bad=0
printf '%-14s %12s %8s %8s %8s %8s\n' harness executions cov ft corpus crashes
for bin in "$@"; do
	name=$(basename "$bin" | sed 's/^fuzz_//')
	l=$log/$name.log
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$l" | tail -1)
	last=$(grep -E '^#[0-9]+' "$l" | grep 'cov:' | tail -1)
	cov=$(echo "$last" | sed -n 's/.* cov: \([0-9]*\).*/\1/p')
	ft=$(echo "$last" | sed -n 's/.* ft: \([0-9]*\).*/\1/p')
	corp=$(echo "$last" | sed -n 's/.* corp: \([0-9]*\).*/\1/p')
	crashes=$(find "build/fuzz/crashes/$name" -type f | wc -l)
	rc=$(cat "$log/$name.rc")
	if [ "$rc" -ne 0 ] || [ "$crashes" -ne 0 ]; then
		bad=1
		[ "$crashes" -eq 0 ] && crashes="rc=$rc"
	fi
	printf '%-14s %12s %8s %8s %8s %8s\n' "$name" "${execs:-?}" "${cov:-?}" "${ft:-?}" \
		"${corp:-?}" "$crashes"
done
echo "fuzz: $# harnesses, ${secs} s each, $(date -u +%Y-%m-%dT%H:%MZ)"
if [ $bad -ne 0 ]; then
	echo "fuzz: crashes above: see build/fuzz/logs/NAME.log and build/fuzz/crashes/NAME/"
	exit 1
fi
