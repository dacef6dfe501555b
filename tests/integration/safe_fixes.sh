#!/bin/sh
# Safe fixes (issue 9) through the CLI: a Java heap exhaustion raises -Xmx
# with the memory limit as one minimal diff; edits that would lower the
# limit, put a request above its limit, overflow the heap or pass the
# policy ceiling are refused with the reason and a non-zero exit; no heap
# setting and Metaspace are manual with the reason; the running limit seen
# in the log is noted when the values say another.
. "$(dirname "$0")/lib.sh"
HEAP=$top/tests/data/classify/cases/114-payments-spring-heap-space.log
META=$top/tests/data/classify/cases/029-tomcat-metaspace.log
OOM=$top/tests/data/demo/oom.log

# jvm_repo DIR: the demo repository plus a Spring Boot chart's values
jvm_repo() {
	new_repo "$1"
	mkdir -p "$1/helm-values/payments"
	cat >"$1/helm-values/payments/values.yaml" <<'YAML'
# payments: Spring Boot
image:
  repository: registry.example.com/pay/payments
  tag: "2.14.1"
env:
  - name: SPRING_PROFILES_ACTIVE
    value: prod
  - name: JAVA_OPTS
    value: "-Xms512m -Xmx1g"
resources:
  limits:
    memory: 1536Mi
  requests:
    memory: 1Gi
YAML
	commit_file "$1" helm-values/payments/values.yaml "Add payments"
}

# --- the heap, with the limit, in one diff
R=$work/r1; jvm_repo "$R"
fbj "$work/1.db" "$R" triage --log "$HEAP" --app payments --pause >"$work/t1.out" 2>&1
ID=$(sed -n 's/^Incident:    //p' "$work/t1.out" | head -n 1)
check "a Java heap space OOM proposes a heap raise" grep -q "^Proposed fix: Raise the Java heap of payments from -Xmx1g to -Xmx2g and the memory limit from 1536Mi to 2816Mi\$" "$work/t1.out"
check "the diff sets -Xmx inside JAVA_OPTS, quoting kept" sh -c "grep -q '^-    value: \"-Xms512m -Xmx1g\"\$' $work/t1.out && grep -q '^+    value: \"-Xms512m -Xmx2g\"\$' $work/t1.out && grep -q '^+    memory: 2816Mi\$' $work/t1.out"

fbj "$work/1.db" "$R" decide "$ID" edit --set "env[1].value=-Xms512m -Xmx2700m" --user erin >"$work/e1a.out" 2>&1
check "a heap that does not fit the limit is refused, with why" sh -c "test $? -ne 0 && grep -q 'decision refused: env\[1\].value: the heap (2700Mi) would leave less than a tenth of the memory limit (2816Mi)' $work/e1a.out"
fbj "$work/1.db" "$R" decide "$ID" edit --set "resources.limits.memory=1Gi" --user erin >"$work/e1b.out" 2>&1
check "a heap fix that lowers the limit is refused" sh -c "test $? -ne 0 && grep -q 'resources.limits.memory: 1Gi is below the current 1536Mi; a memory fix never lowers the limit' $work/e1b.out"
fbj "$work/1.db" "$R" decide "$ID" edit --set "env[1].value=-Xms512m -Xmx512m" --user erin >"$work/e1c.out" 2>&1
check "a heap fix that lowers the heap is refused" sh -c "test $? -ne 0 && grep -q 'a heap fix never lowers it' $work/e1c.out"
fbj "$work/1.db" "$R" decide "$ID" edit --set "resources.limits.memory=12Gi" --user erin >"$work/e1d.out" 2>&1
check "an edit above policy.max_memory is refused" sh -c "test $? -ne 0 && grep -q 'above the policy maximum 8Gi' $work/e1d.out"
fbj "$work/1.db" "$R" decide "$ID" edit --set "env[1].value=-Xms512m -Xmx1536m -Dhosts=a,b" --user erin >"$work/e1f.out" 2>&1
check "JVM options may hold commas and =" grep -q '^+    value: "-Xms512m -Xmx1536m -Dhosts=a,b"$' "$work/e1f.out"
fbj "$work/1.db" "$R" decide "$ID" edit --set "env[1].value=-Xms512m -Xmx1536m" --user erin >"$work/e1e.out" 2>&1
check "a good edit proposes again; the limit follows the heap" grep -q "^Proposed fix: Raise the Java heap of payments from -Xmx1g to -Xmx1536m and the memory limit from 1536Mi to 2048Mi\$" "$work/e1e.out"
fbj "$work/1.db" "$R" decide "$ID" approve --user erin >"$work/d1.out" 2>&1
check "approved: one commit, two lines, titled as the heap raise" sh -c "test \"\$(git -C $R diff --numstat HEAD~1 HEAD)\" = \"$(printf '2\t2\thelm-values/payments/values.yaml')\" && git -C $R log -1 --format=%s | grep -q '^firebreak: Raise the Java heap of payments from -Xmx1g to -Xmx1536m and the memory limit from 1536Mi to 2048Mi\$'"

# --- the edit of the issue: a request above a lowered limit
R=$work/r2; new_repo "$R"
fbj "$work/2.db" "$R" triage --log "$OOM" --pause >"$work/t2.out" 2>&1
ID=$(sed -n 's/^Incident:    //p' "$work/t2.out" | head -n 1)
fbj "$work/2.db" "$R" decide "$ID" edit --set resources.limits.memory=1Gi --set resources.requests.memory=2Gi --user erin >"$work/e2.out" 2>&1
check "limit 1Gi with request 2Gi is refused on one clear line" sh -c "test $? -ne 0 && test \$(grep -c 'decision refused' $work/e2.out) -eq 1 && grep -q 'resources.requests.memory (2Gi) would be above resources.limits.memory (1Gi)' $work/e2.out"
check "nothing was committed" test "$(git -C "$R" rev-list --count HEAD)" -eq 1
fbj "$work/2.db" "$R" decide "$ID" approve --user erin >"$work/d2.out" 2>&1
check "no commit is titled a raise that lowers" sh -c "! git -C $R log --format=%s | grep -q 'to 1Gi'"

# --- no heap setting: manual, with why
R=$work/r3; jvm_repo "$R"
sed -i 's/value: "-Xms512m -Xmx1g"/value: "-XX:+UseG1GC"/' "$R/helm-values/payments/values.yaml"
commit_file "$R" helm-values/payments/values.yaml "G1"
fbj "$work/3.db" "$R" triage --log "$HEAP" --app payments --pause >"$work/t3.out" 2>&1
check "no heap setting in the values is manual, with why" sh -c "grep -q '^Result:      manual' $work/t3.out && grep -q 'sets no -Xmx or -XX:MaxRAMPercentage: a bigger memory limit alone does not grow the heap' $work/t3.out"
ID=$(sed -n 's/^Incident:    //p' "$work/t3.out" | head -n 1)
fbj "$work/3.db" "$R" incidents show "$ID" --json >"$work/s3.json"
second=$(json_get "$work/s3.json" "j['state']['proposal']['suggestions'][1][:27]")
check "the manual proposal ranks heap advice first" test "$second" = "Look for a leak with a heap"

# --- Metaspace is not the heap
fbj "$work/4.db" "$R" triage --log "$META" --app payments --pause >"$work/t4.out" 2>&1
check "Metaspace is manual: a bigger heap does not help" sh -c "grep -q '^Result:      manual' $work/t4.out && grep -q 'ran out of Metaspace (class metadata), not heap' $work/t4.out"

# --- the policy ceiling caps the heap raise
printf 'policy:\n  max_memory: 2Gi\n' >"$work/cap.yaml"
R=$work/r5; jvm_repo "$R"
fbj "$work/5.db" "$R" -c "$work/cap.yaml" triage --log "$HEAP" --app payments --pause >"$work/t5.out" 2>&1
check "policy.max_memory caps the limit and the heap under it" grep -q "^Proposed fix: Raise the Java heap of payments from -Xmx1g to -Xmx1536m and the memory limit from 1536Mi to 2048Mi (capped by policy.max_memory)\$" "$work/t5.out"

# --- checked again before apply: a ceiling lowered since the proposal refuses it
R=$work/r8; jvm_repo "$R"
fbj "$work/8.db" "$R" triage --log "$HEAP" --app payments --pause >"$work/t8.out" 2>&1
ID=$(sed -n 's/^Incident:    //p' "$work/t8.out" | head -n 1)
fbj "$work/8.db" "$R" -c "$work/cap.yaml" decide "$ID" approve --user erin >"$work/d8.out" 2>&1
check "apply re-checks: above the new ceiling, refused and waiting, nothing committed" sh -c "grep -q 'above the policy maximum 2Gi' $work/d8.out && grep -q '^Result:      waiting' $work/d8.out && test \$(git -C $R rev-list --count HEAD) -eq 2"

# --- the running limit differs from the values
R=$work/r6; new_repo "$R"
sed '/Limits:/,/Requests:/s/memory:  512Mi/memory:  256Mi/' "$OOM" >"$work/oom-256.log"
fbj "$work/6.db" "$R" triage --log "$work/oom-256.log" --pause >"$work/t6.out" 2>&1
ID=$(sed -n 's/^Incident:    //p' "$work/t6.out" | head -n 1)
fbj "$work/6.db" "$R" incidents show "$ID" --json >"$work/s6.json"
lim=$(json_get "$work/s6.json" "j['state']['proposal']['limit']")
check "the limit the Pod ran with is noted beside the values'" test "$lim" = "{'values': '512Mi', 'running': '256Mi'}"
fbj "$work/7.db" "$R" triage --log "$OOM" --pause >"$work/t7.out" 2>&1
ID=$(sed -n 's/^Incident:    //p' "$work/t7.out" | head -n 1)
fbj "$work/7.db" "$R" incidents show "$ID" --json >"$work/s7.json"
lim=$(json_get "$work/s7.json" "j['state']['proposal']['limit']")
check "the same limit is not noted" test "$lim" = "{'values': '512Mi'}"

echo "1..$n"
