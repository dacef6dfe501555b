#!/bin/sh
# Crash safety: with FIREBREAK_CRASH_AFTER=<node> the process _exit(137)s
# right after that node's commit.  For every node in turn: crash, run
# `firebreak resume`, and check that the incident ends exactly as a run
# without a crash does, with exactly one commit in the GitOps repository.
. "$(dirname "$0")/lib.sh"
OOM=$top/tests/data/demo/oom.log

summary() { # DB ID -> the parts of the outcome that must not depend on a crash
	FIREBREAK_DB=$1 "$FB" incidents show "$2" --json >"$work/sum.json" &&
	/usr/bin/python3 -c '
import json,sys
j=json.load(open(sys.argv[1])); s=j["state"]
print(j["status"], s["classification"]["category"], s["app"], s["proposal"]["action"],
      s["result"], s["verify"]["result"], len(s["decisions"]))
print(s["proposal"]["diff"])' "$work/sum.json"
}

R=$work/base; new_repo "$R"
fbj "$work/base.db" "$R" triage --log "$OOM" --yes --user ops >/dev/null 2>&1
BID=$(git -C "$R" log -1 --format=%B | sed -n 's/^Incident-Id: //p')
summary "$work/base.db" "$BID" >"$work/expected"
git -C "$R" show --format= HEAD >"$work/expected.diff"
check "the reference run resolves with one commit" sh -c "test -n '$BID' && grep -q '^resolved oom grafana values_patch resolved skipped 1' $work/expected"

for node in collect classify analyze propose await_decision apply verify report; do
	R=$work/r-$node; new_repo "$R"
	FIREBREAK_CRASH_AFTER=$node fbj "$work/$node.db" "$R" triage --log "$OOM" --yes --user ops >"$work/$node.out" 2>&1
	rc=$?
	check "crash after $node: exit status 137" test $rc -eq 137
	fbj "$work/$node.db" "$R" resume >"$work/$node.resume" 2>&1
	ID=$(FIREBREAK_DB=$work/$node.db "$FB" incidents list --all --json | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])')
	summary "$work/$node.db" "$ID" >"$work/$node.got" 2>&1
	check "crash after $node: resume ends as without the crash" cmp "$work/expected" "$work/$node.got"
	check "crash after $node: exactly one commit for the incident" test "$(incident_count_with_trailer "$R" "$ID")" -eq 1
	git -C "$R" show --format= HEAD >"$work/$node.diff"
	check "crash after $node: the same diff" cmp "$work/expected.diff" "$work/$node.diff"
done

# A crash between the git commit and the database commit: apply runs
# again and must find its own commit instead of making a second one.
R=$work/twice; new_repo "$R"
FIREBREAK_CRASH_AFTER=await_decision fbj "$work/twice.db" "$R" triage --log "$OOM" --yes >/dev/null 2>&1
ID=$(FIREBREAK_DB=$work/twice.db "$FB" incidents list --all --json | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])')
FIREBREAK_CRASH_AFTER=apply fbj "$work/twice.db" "$R" resume >/dev/null 2>&1
# roll the database back to "apply is next" as if the commit had been lost
sqlite3 "$work/twice.db" "UPDATE incidents SET status='open', node='apply' WHERE id='$ID'; DELETE FROM jobs; INSERT INTO jobs (incident_id,node,run_at,attempts,created_at) VALUES ('$ID','apply',0,0,0);"
fbj "$work/twice.db" "$R" resume >/dev/null 2>&1
check "apply run twice makes one commit" test "$(incident_count_with_trailer "$R" "$ID")" -eq 1
check "and the incident still resolves" sh -c "FIREBREAK_DB=$work/twice.db $FB incidents list --all | grep -q '^$ID *resolved'"

echo "1..$n"
