#!/bin/sh
# make check-tsan: the Slack integration tests (slack.sh, which drives
# serve through the Slack simulator, and verify.sh, whose verification
# steps run on the worker pool) against build/firebreak-tsan, a
# ThreadSanitizer build of the daemon.  Every report TSan writes is a
# failure, unless tests/tsan.supp names it (library-internal races only).
# Ends with one plain line: "N passed, N failed".
cd "$(dirname "$0")/.." || exit 2
top=$(pwd)
logs=$(mktemp -d "${TMPDIR:-/tmp}/fb-tsan.XXXXXX")
out=$logs/tap
export FIREBREAK_BIN="$top/build/firebreak-tsan"
export TSAN_OPTIONS="log_path=$logs/report suppressions=$top/tests/tsan.supp halt_on_error=0 exitcode=0 second_deadlock_stack=1 history_size=4"
export XDG_STATE_HOME="$logs/state"
unset STATE_DIRECTORY
for t in tests/integration/slack.sh tests/integration/verify.sh; do
	echo "# $t (ThreadSanitizer)"
	sh "$t" >"$logs/one" 2>&1
	rc=$?
	cat "$logs/one" | tee -a "$out"
	if [ $rc -ne 0 ] && ! grep -q '^not ok' "$logs/one"; then
		echo "not ok - $t exited with status $rc" | tee -a "$out"
	fi
done
reports=$(ls "$logs"/report.* 2>/dev/null | wc -l)
if [ "$reports" -eq 0 ]; then
	echo "ok - ThreadSanitizer reported nothing" | tee -a "$out"
else
	echo "not ok - ThreadSanitizer wrote $reports report file(s):" | tee -a "$out"
	for f in "$logs"/report.*; do
		grep -E '^(WARNING|SUMMARY): ThreadSanitizer' "$f" | sed 's/^/#   /' | sort | uniq -c | head -n 20
	done
	cp "$logs"/report.* "$top/build/" 2>/dev/null && echo "#   reports kept in build/report.*"
fi
passed=$(grep -c '^ok' "$out")
failed=$(grep -c '^not ok' "$out")
rm -rf "$logs"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
