#!/bin/sh
# Runs every unit test binary (given as arguments, built with ASan+UBSan)
# and then every integration test (tests/integration/*.sh), all speaking
# TAP, and ends with one plain line: "N passed, N failed".
cd "$(dirname "$0")/.." || exit 2
out=$(mktemp)
# tests never write the real ~/.local/state (the default state directory)
XDG_STATE_HOME=$(mktemp -d)
export XDG_STATE_HOME
unset STATE_DIRECTORY
trap 'rm -f "$out"; rm -rf "$XDG_STATE_HOME"' EXIT
export CMOCKA_MESSAGE_OUTPUT=TAP
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
bad_runs=0

run() {
	name=$1; shift
	echo "# $name"
	"$@" >"$out.one" 2>&1
	rc=$?
	cat "$out.one"
	cat "$out.one" >>"$out"
	if [ $rc -ne 0 ] && ! grep -q '^not ok' "$out.one"; then
		echo "not ok - $name exited with status $rc"
		echo "not ok - $name exited with status $rc" >>"$out"
	fi
	rm -f "$out.one"
}

for t in "$@"; do
	run "$(basename "$t")" "$t"
done
for t in tests/integration/*.sh; do
	[ -f "$t" ] || continue
	run "$(basename "$t")" sh "$t"
done

# the Slack tests again under ThreadSanitizer (make check-tsan), when built
if [ -x build/firebreak-tsan ]; then
	run "check-tsan" sh tests/tsan.sh
fi

passed=$(grep -c '^ok' "$out")
failed=$(grep -c '^not ok' "$out")
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
