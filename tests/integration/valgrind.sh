# valgrind: triage (the optimised build, with a commit) leaks nothing.
# PCRE2's JIT code makes valgrind report reads it cannot follow (frames
# shown as ???); those are not leaks, so only the leak summary is judged.
. "$(dirname "$0")/lib.sh"
command -v valgrind >/dev/null || { echo "ok 1 - # SKIP valgrind not installed"; exit 0; }
new_repo "$work/repo"
FIREBREAK_DB=$work/db valgrind --leak-check=full --show-leak-kinds=definite,indirect \
	"$top/build/firebreak" triage --log "$top/tests/data/demo/oom.log" --repo "$work/repo" --yes \
	>"$work/vg.out" 2>&1
git -C "$work/repo" log -1 --format=%B >"$work/msg"
check "triage under valgrind made its commit" grep -q "^Incident-Id: " "$work/msg"
check "valgrind: nothing definitely lost" grep -q "definitely lost: 0 bytes in 0 blocks" "$work/vg.out"
check "valgrind: nothing indirectly lost" grep -q "indirectly lost: 0 bytes in 0 blocks" "$work/vg.out"
echo "1..$n"
