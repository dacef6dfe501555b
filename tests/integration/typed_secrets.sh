#!/bin/sh
# Issue 10: what a person types is masked before it is stored or shown,
# through the CLI faces of the engine's entry points (Slack and the API:
# tests/integration/slack_serve.py).  A decision note with a token ends
# masked in the commit; a Reject reason and a lifecycle note in the SQLite
# file and `incidents show`; an edit value that looks like a secret is
# refused without being echoed.
. "$(dirname "$0")/lib.sh"
OOM=$top/tests/data/demo/oom.log
# made-up secrets, glued here so that scanners leave this file alone
GH="gh""p_16C7e42F292c6912E7710c838347Ae178B4a"
PW="hunter2-""zz81q"
AK="AK""IAQ3EGRIPLEXAMPLE1"

# has_none FILE...: none of the secrets in any of the files (bytes)
has_none() {
	for f in "$@"; do
		[ -e "$f" ] || continue
		if grep -a -q -e "$GH" -e "$PW" -e "$AK" "$f"; then echo "a secret in $f"; return 1; fi
	done
}

R=$work/r1; new_repo "$R"
fbj "$work/1.db" "$R" triage --log "$OOM" --pause >"$work/t1.out" 2>&1
ID=$(sed -n 's/^Incident:    //p' "$work/t1.out" | head -n 1)
check "an incident waits for a decision" test -n "$ID"
fbj "$work/1.db" "$R" decide "$ID" edit --set "resources.limits.memory=$GH" --user erin >"$work/e1.out" 2>&1
rc=$?
check "an edit value that looks like a secret is refused, not echoed" sh -c "test $rc -ne 0 && grep -q 'looks like a secret' $work/e1.out && ! grep -q '$GH' $work/e1.out"
fbj "$work/1.db" "$R" decide "$ID" approve --note "ok, and rotate $GH" --user erin >"$work/d1.out" 2>&1
check "the approval's note is masked in the commit message" sh -c "git -C $R log -1 --format=%B | grep -q 'Note: ok, and rotate \[MASKED:github_token\]'"
check "the approval made one commit" sh -c "git -C $R log -p > $work/log1.txt && test \$(git -C $R rev-list --count HEAD) -eq 2"
check "no secret in the commit, the output or the database (bytes)" has_none "$work/log1.txt" "$work/d1.out" "$work/1.db" "$work/1.db-wal"

R=$work/r2; new_repo "$R"
fbj "$work/2.db" "$R" triage --log "$OOM" --pause >"$work/t2.out" 2>&1
ID=$(sed -n 's/^Incident:    //p' "$work/t2.out" | head -n 1)
fbj "$work/2.db" "$R" decide "$ID" reject --note "no: password=$PW" --user erin >"$work/d2.out" 2>&1
fbj "$work/2.db" "$R" incidents reopen "$ID" --note "key $AK leaked, again" --user erin >"$work/l2.out" 2>&1
fbj "$work/2.db" "$R" incidents show "$ID" --json >"$work/s2.json" 2>&1
check "the Reject reason and the lifecycle note are shown masked" sh -c "grep -q 'password=\[MASKED:password\]' $work/s2.json && grep -q '\[MASKED:aws_access_key\] leaked' $work/s2.json"
check "no secret in the database, the outputs or incidents show" has_none "$work/2.db" "$work/2.db-wal" "$work/d2.out" "$work/l2.out" "$work/s2.json"
echo "1..$n"
