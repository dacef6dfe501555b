#!/bin/sh
# End to end through the CLI: triage, pause, decide, edit, reject, refusals,
# idempotence, the working-tree guards, push, and the other fix kinds.
. "$(dirname "$0")/lib.sh"
OOM=$top/tests/data/demo/oom.log

# --- OOM, approved up front: a minimal two-line diff with trailers
R=$work/r1; new_repo "$R"
fbj "$work/1.db" "$R" triage --log "$OOM" --yes --user alice >"$work/t1.out" 2>"$work/t1.err"
check "triage --yes exits 0" test $? -eq 0
check "classified as oom" grep -q "^Category:    oom (critical" "$work/t1.out"
check "diff changes exactly two lines" sh -c "test \"\$(git -C $R diff --numstat HEAD~1 HEAD)\" = \"$(printf '2\t2\thelm-values/grafana/values.yaml')\""
check "limit doubled in the file's unit, comment kept" grep -q "^    memory: 1024Mi   # raised from 384Mi in PLAT-377\$" "$R/helm-values/grafana/values.yaml"
check "request doubled" sh -c "git -C $R show HEAD | grep -q '^+    memory: 512Mi\$'"
check "the rest of the file is byte for byte the same" sh -c "git -C $R show HEAD~1:helm-values/grafana/values.yaml | sed 's/memory: 512Mi   #/memory: 1024Mi   #/; s/^    memory: 256Mi\$/    memory: 512Mi/' | cmp - $R/helm-values/grafana/values.yaml"
check "trailers Incident-Id, Category, Approved-By" sh -c "git -C $R log -1 --format=%B | grep -q '^Incident-Id: incident-' && git -C $R log -1 --format=%B | grep -q '^Category: oom\$' && git -C $R log -1 --format=%B | grep -q '^Approved-By: alice\$'"
check "found through the Argo CD Application" grep -q "found by Argo CD Application in apps/grafana.yaml" "$work/t1.out"
check "verify reports skipped" grep -q "^Verify:      skipped" "$work/t1.out"
ID1=$(git -C "$R" log -1 --format=%B | sed -n 's/^Incident-Id: //p')
fbj "$work/1.db" "$R" incidents show "$ID1" --json >"$work/show1.json"
check "incidents show --json has the timeline" sh -c "test \"\$(json_get() { /usr/bin/python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' \"\$1\" \"\$2\"; }; json_get $work/show1.json \"[e['event'] for e in j['timeline']][-1]\")\" = node.report"
check "status resolved" sh -c "test \"$(json_get "$work/show1.json" "j['status']")\" = resolved"
check "resume after the end changes nothing" sh -c "fbj() { FIREBREAK_DB=\$1 GITOPS_REPO=\$2 $FB resume; }; fbj $work/1.db $R >/dev/null && test \$(git -C $R rev-list --count HEAD) -eq 2"

# --- pause, then decide from another process
R=$work/r2; new_repo "$R"
fbj "$work/2.db" "$R" triage --log "$OOM" --pause --user bob >"$work/t2.out" 2>&1
ID=$(sed -n 's/^Incident:    //p' "$work/t2.out" | head -n 1)
check "--pause leaves the incident waiting" sh -c "FIREBREAK_DB=$work/2.db $FB incidents list | grep -q \"^$ID *waiting\""
check "nothing committed while waiting" test "$(git -C "$R" rev-list --count HEAD)" -eq 1
fbj "$work/2.db" "$R" decide "$ID" approve --user carol --note "looks right" >"$work/d2.out" 2>&1
check "decide approve resumes and commits" sh -c "grep -q '^Result:      resolved' $work/d2.out && git -C $R log -1 --format=%B | grep -q '^Approved-By: carol\$'"
fbj "$work/2.db" "$R" decide "$ID" approve --user carol >"$work/d2b.out" 2>&1
check "a second approve is refused" sh -c "test $? -ne 0 && grep -q 'not waiting for a decision' $work/d2b.out"
check "one commit only" test "$(incident_count_with_trailer "$R" "$ID")" -eq 1
fbj "$work/2.db" "$R" incidents show "$ID" >"$work/s2.out"
check "the refusal is in the timeline" grep -q "decision.refused" "$work/s2.out"

# --- reject
R=$work/r3; new_repo "$R"
fbj "$work/3.db" "$R" triage --log "$OOM" --pause >"$work/t3.out" 2>&1
ID=$(sed -n 's/^Incident:    //p' "$work/t3.out" | head -n 1)
fbj "$work/3.db" "$R" decide "$ID" reject --user dave --note "known leak, fixing in code" >"$work/d3.out" 2>&1
check "reject ends as rejected without a commit" sh -c "grep -q '^Result:      rejected' $work/d3.out && test \$(git -C $R rev-list --count HEAD) -eq 1"

# --- edit: a new proposal, then approve
R=$work/r4; new_repo "$R"
fbj "$work/4.db" "$R" triage --log "$OOM" --pause >"$work/t4.out" 2>&1
ID=$(sed -n 's/^Incident:    //p' "$work/t4.out" | head -n 1)
fbj "$work/4.db" "$R" decide "$ID" edit --set resources.limits.memory=12Gi --user erin >"$work/e4a.out" 2>&1
check "an edit above policy.max_memory is refused" sh -c "test $? -ne 0 && grep -q 'above the policy maximum' $work/e4a.out"
fbj "$work/4.db" "$R" decide "$ID" edit --set resources.limits.memory=lots --user erin >"$work/e4b.out" 2>&1
check "a malformed quantity is refused" grep -q "not a Kubernetes quantity" "$work/e4b.out"
fbj "$work/4.db" "$R" decide "$ID" edit --set resources.limits.memory=1Gi --set resources.requests.memory=2Gi --user erin >"$work/e4e.out" 2>&1
check "an edit that puts the request above the limit is refused" sh -c "test $? -ne 0 && grep -q 'resources.requests.memory (2Gi) would be above resources.limits.memory (1Gi)' $work/e4e.out"
fbj "$work/4.db" "$R" decide "$ID" edit --set resources.limits.memory=384Mi --set resources.requests.memory=128Mi --user erin >"$work/e4f.out" 2>&1
check "an OOM fix that lowers the limit is refused" sh -c "test $? -ne 0 && grep -q 'never lowers the limit' $work/e4f.out"
fbj "$work/4.db" "$R" decide "$ID" edit --set resources.limits.memory=1536Mi --user erin >"$work/e4.out" 2>&1
check "edit proposes again with the new value" sh -c "grep -q '^+    memory: 1536Mi   # raised' $work/e4.out && grep -q '^Result:      waiting' $work/e4.out"
fbj "$work/4.db" "$R" decide "$ID" approve --user erin --version 1 >"$work/e4c.out" 2>&1
check "approving the stale version is refused" grep -q "proposal changed since it was shown" "$work/e4c.out"
fbj "$work/4.db" "$R" decide "$ID" approve --user erin --version 2 >"$work/e4d.out" 2>&1
check "approving the edited proposal commits 1536Mi" grep -q "^    memory: 1536Mi" "$R/helm-values/grafana/values.yaml"

# --- the working tree guards
R=$work/r5; new_repo "$R"
fbj "$work/5.db" "$R" triage --log "$OOM" --pause >"$work/t5.out" 2>&1
ID=$(sed -n 's/^Incident:    //p' "$work/t5.out" | head -n 1)
echo "# local experiment" >>"$R/helm-values/api/values.yaml"
git -C "$R" add helm-values/api/values.yaml
fbj "$work/5.db" "$R" decide "$ID" approve --user fay >"$work/d5.out" 2>&1
check "unrelated changes in the working tree refuse apply" sh -c "grep -q 'unrelated uncommitted changes (helm-values/api/values.yaml)' $work/d5.out && grep -q '^Result:      waiting' $work/d5.out"
git -C "$R" reset -q && git -C "$R" checkout -q -- helm-values/api/values.yaml
echo "# local edit" >>"$R/helm-values/grafana/values.yaml"
fbj "$work/5.db" "$R" decide "$ID" approve --user fay >"$work/d5a.out" 2>&1
check "an edit of the file the fix writes refuses apply" sh -c "grep -q 'unrelated uncommitted changes (helm-values/grafana/values.yaml)' $work/d5a.out && grep -q '^Result:      waiting' $work/d5a.out"
git -C "$R" checkout -q -- helm-values/grafana/values.yaml
sed -i 's/^replicas: 1$/replicas: 2/; s/memory: 512Mi   # raised/memory: 640Mi   # raised/' "$R/helm-values/grafana/values.yaml"
commit_file "$R" helm-values/grafana/values.yaml "Scale grafana to 2, 640Mi"
fbj "$work/5.db" "$R" decide "$ID" approve --user fay >"$work/d5b.out" 2>&1
check "a value changed since the proposal is proposed again" sh -c "FIREBREAK_DB=$work/5.db $FB incidents show $ID | grep -q 'resources.limits.memory in helm-values/grafana/values.yaml changed upstream'"
fbj "$work/5.db" "$R" decide "$ID" approve --user fay >"$work/d5c.out" 2>&1
check "approving the new proposal keeps the other change" sh -c "grep -q '^replicas: 2' $R/helm-values/grafana/values.yaml && grep -q 'memory: 1280Mi' $R/helm-values/grafana/values.yaml"

# --- push to a remote
R=$work/r6; new_repo "$R"
git init -q --bare "$work/remote.git"
git -C "$R" push -q "$work/remote.git" main
# (leaks checked: the remote is made without libgit2's leaking insteadOf lookups)
export GITOPS_REMOTE="file://$work/remote.git"
fbj "$work/6.db" "$R" triage --log "$OOM" --yes >"$work/t6.out" 2>&1
unset GITOPS_REMOTE
sed "s/^/#   /" "$work/t6.out" | grep -iE "push|error|Result" | head -5
check "the commit is pushed to gitops.remote" sh -c "test \$(git -C $work/remote.git rev-parse main) = \$(git -C $R rev-parse main) && grep -q ', pushed' $work/t6.out"

# --- image pull error: roll image.tag back to the previous one in history
R=$work/r7; new_repo "$R"
sed -i 's/tag: "10.4.2"/tag: "10.4.3"/' "$R/helm-values/grafana/values.yaml"
commit_file "$R" helm-values/grafana/values.yaml "Bump grafana to 10.4.3"
printf '%s\n' 'Events:' \
 '  Warning  Failed     12s (x3 over 51s)  kubelet  Failed to pull image "docker.io/grafana/grafana:10.4.3": rpc error: code = NotFound desc = failed to pull and unpack image "docker.io/grafana/grafana:10.4.3": docker.io/grafana/grafana:10.4.3: not found' \
 '  Warning  Failed     12s (x3 over 51s)  kubelet  Error: ErrImagePull' \
 '  Normal   BackOff    1s (x4 over 50s)   kubelet  Back-off pulling image "docker.io/grafana/grafana:10.4.3"' >"$work/pull.log"
fbj "$work/7.db" "$R" triage --log "$work/pull.log" --app grafana --yes >"$work/t7.out" 2>&1
check "image pull error rolls the tag back, quoting kept" sh -c "grep -q '^  tag: \"10.4.2\"\$' $R/helm-values/grafana/values.yaml && test \"\$(git -C $R diff --numstat HEAD~1 HEAD | cut -f1,2)\" = \"$(printf '1\t1')\""

# --- config error: revert the latest change to the app's files
R=$work/r8; new_repo "$R"
sed -i 's/DATABASE_URL_SECRET: api-db/DATABASE_URL_SECRET: api-db-v2/' "$R/helm-values/api/values.yaml"
commit_file "$R" helm-values/api/values.yaml "Point api at the new database secret"
printf '%s\n' 'Events:' \
 '  Warning  Failed  8s (x3 over 30s)  kubelet  Error: secret "api-db-v2" not found' \
 '  Warning  Failed  8s                kubelet  Error: CreateContainerConfigError' >"$work/cfg.log"
fbj "$work/8.db" "$R" triage --log "$work/cfg.log" --app api --yes >"$work/t8.out" 2>&1
check "config error reverts the latest change" sh -c "grep -q 'DATABASE_URL_SECRET: api-db\$' $R/helm-values/api/values.yaml && grep -q 'action:     git_revert' $work/t8.out"

# --- no incident: recorded, nothing proposed
R=$work/r9; new_repo "$R"
printf 'level=info ts=2026-11-21T10:00:00Z msg="health check ok" errors=0\n' >"$work/none.log"
fbj "$work/9.db" "$R" triage --log "$work/none.log" --yes >"$work/t9.out" 2>&1
check "a healthy log is recorded, not proposed" sh -c "grep -q '^Result:      recorded' $work/t9.out && test \$(git -C $R rev-list --count HEAD) -eq 1"

# --- bad input
fbj "$work/10.db" "$R" triage --log /nonexistent >"$work/t10.out" 2>&1
check "a missing log file is a clear error" sh -c "test $? -eq 1 && grep -q 'cannot read the log: /nonexistent' $work/t10.out"
printf '' | fbj "$work/10.db" "$R" triage --log - >"$work/t11.out" 2>&1
check "an empty log is refused" grep -q "the log excerpt is empty" "$work/t11.out"
fbj "$work/1.db" "$R" decide nosuch approve --user x >"$work/t12.out" 2>&1
check "deciding an unknown incident is a clear error" grep -q "no incident nosuch" "$work/t12.out"

"$FB" --version >"$work/v.out" 2>&1
check "--version prints the version" grep -q "^firebreak [0-9]" "$work/v.out"
"$FB" check-config --help >"$work/cc.out" 2>&1
check "check-config --help is usage, not a file" sh -c "grep -q '^usage: firebreak' $work/cc.out && ! grep -q 'cannot\|No such' $work/cc.out"
printf 'policy:\n  max_memory: -4Gi\n' >"$work/neg.yaml"
"$FB" check-config "$work/neg.yaml" >"$work/neg.out" 2>&1
neg_rc=$?
check "a negative policy.max_memory is refused with file:line" sh -c "test $neg_rc -ne 0 && grep -q 'neg.yaml:2: policy.max_memory: must be a positive quantity' $work/neg.out"

echo "1..$n"
