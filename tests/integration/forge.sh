#!/bin/sh
# Pull-request mode through the CLI, against tests/fakes/forge_fake.py for
# each forge (GitHub Enterprise layout, GitLab, Gitea): the fix is pushed
# on firebreak/<incident-id> built on the remote's tip, one pull request
# per incident with the labels and the trailers in its body, none more
# when apply runs twice (a crash after apply, then a rerun), a pull
# request already open for the branch is reused, links to it in the
# state, a rate limit waits and asks again, merge -> verify on the merge
# commit -> resolved, closed unmerged -> rejected with who (TAP).
. "$(dirname "$0")/lib.sh"
# full stacks, so that forge.lsan can name libgit2's own leak
export ASAN_OPTIONS=detect_leaks=1:fast_unwind_on_malloc=0
export LSAN_OPTIONS=suppressions=$top/tests/integration/forge.lsan
OOM=$top/tests/data/demo/oom.log
TOKEN=forge-token-$$
sed 's/grafana/api/g' "$OOM" >"$work/api.log"
sed 's/grafana/loki/g' "$OOM" >"$work/loki.log"

# ctl PORT PATH JSON: a control call to the fake; prints its answer
ctl() {
	/usr/bin/python3 - "$@" <<'EOF'
import json, sys, urllib.request
port, path = sys.argv[1], sys.argv[2]
data = sys.argv[3].encode() if len(sys.argv) > 3 else None
req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data,
                             headers={"Content-Type": "application/json"})
print(urllib.request.urlopen(req, timeout=10).read().decode())
EOF
}

# api PORT PATH [AUTHHEADER]: the status of a GET on the fake's API
api_status() {
	/usr/bin/python3 - "$@" <<'EOF'
import sys, urllib.request, urllib.error
port, path = sys.argv[1], sys.argv[2]
h = {"User-Agent": "t"}
if len(sys.argv) > 3:
    k, _, v = sys.argv[3].partition(": ")
    h[k] = v
try:
    print(urllib.request.urlopen(urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers=h), timeout=10).status)
except urllib.error.HTTPError as e:
    print(e.code)
EOF
}

show() { FIREBREAK_DB=$1 "$FB" incidents show "$2" --json >"$work/show.json" 2>/dev/null; }
st() { json_get "$work/show.json" "$1"; }
pulls() { ctl "$1" /_fake/pulls >"$work/pulls.json"; json_get "$work/pulls.json" "$2"; }

# wait_state DB ID EXPR: resume until EXPR (over the show JSON) is true
wait_state() {
	i=0
	while [ $i -lt 40 ]; do
		FIREBREAK_DB=$1 GITOPS_REPO=$C "$FB" -c "$CFG" resume >/dev/null 2>&1
		show "$1" "$2"
		[ "$(st "$3")" = True ] && return 0
		sleep 0.3
		i=$((i + 1))
	done
	return 1
}

run_kind() { # run_kind KIND REPO API_PREFIX PR_PATH COMMIT_PATH
	kind=$1 repo=$2 prefix=$3 prpath=$4 cpath=$5
	B=$work/$kind.git C=$work/$kind.clone
	new_repo "$work/$kind.seed"
	git clone -q --bare "$work/$kind.seed" "$B"
	git clone -q "$B" "$C"
	/usr/bin/python3 "$top/tests/fakes/forge_fake.py" --port-file "$work/$kind.port" --kind "$kind" \
		--token "$TOKEN" --repo "$repo" --bare "$B" >"$work/$kind.fake.log" 2>&1 &
	FAKE=$!
	i=0
	while [ ! -s "$work/$kind.port" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
	P=$(cat "$work/$kind.port")
	CFG=$work/$kind.yaml
	cat >"$CFG" <<EOF
gitops:
  remote: origin
  mode: pull_request
  forge:
    kind: $kind
    api_url: http://127.0.0.1:$P$prefix
    repo: $repo
    labels: [incident, firebreak]
    poll_interval: 1s
argocd:
  url: https://argocd.example.com/
links:
  grafana: https://grafana.example.com
engine:
  retry_delay: 1s
  cooldown: 1s
EOF
	export FIREBREAK_FORGE_TOKEN=$TOKEN
	DB=$work/$kind.db
	before=$(git -C "$C" rev-parse HEAD)

	check "$kind: the fake wants the token (401 without it)" test "$(api_status "$P" "$prefix/repos/$repo/pulls")" = 401

	# a crash right after apply's commit, then the rest by resume
	FIREBREAK_CRASH_AFTER=apply FIREBREAK_DB=$DB GITOPS_REPO=$C "$FB" -c "$CFG" triage --log "$OOM" --yes \
		--user alice >"$work/$kind.t.out" 2>&1
	ID=$(FIREBREAK_DB=$DB "$FB" incidents list --all --json | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])')
	check "$kind: the fix's branch is on the remote" git -C "$B" rev-parse -q --verify "refs/heads/firebreak/$ID"
	check "$kind: built on the remote's tip, with the trailers" sh -c "test \"\$(git -C $B rev-parse firebreak/$ID~1)\" = $before && git -C $B log -1 --format=%B firebreak/$ID | grep -q '^Incident-Id: $ID\$'"
	check "$kind: gitops.branch is not moved, the clone is clean" sh -c "test \"\$(git -C $B rev-parse main)\" = $before && test \"\$(git -C $C rev-parse HEAD)\" = $before && test -z \"\$(git -C $C status --porcelain)\""
	# apply again (its state as before the crash's commit): the same commit
	ctl "$P" /_fake/ratelimit '{"count": 1, "wait": 1}' >/dev/null
	wait_state "$DB" "$ID" "j['state'].get('pull_request',{}).get('number',0) > 0"
	check "$kind: one pull request for the incident, head firebreak/$ID" test "$(pulls "$P" "[(p['head'], p['base']) for p in j]")" = "[('firebreak/$ID', 'main')]"
	check "$kind: the labels are on it" test "$(pulls "$P" "sorted(j[0]['labels'])")" = "['firebreak', 'incident']"
	check "$kind: its body has the summary and the trailers" test "$(json_get $work/pulls.json "'Incident-Id: $ID' in j[0]['body'] and 'Approved-By: alice' in j[0]['body'] and 'Root cause' in j[0]['body']")" = True
	check "$kind: a rate limit was answered by waiting, not by failing" sh -c "FIREBREAK_DB=$DB $FB incidents show $ID | grep -q 'rate limited'"
	check "$kind: the state links the pull request" test "$(st "j['state']['pull_request']['url']")" = "http://127.0.0.1:$P/$repo/$prpath/1"
	check "$kind: the links: PR, Argo CD, Grafana" test "$(st "[l['kind'] for l in j['state']['links']]")" = "['pull_request', 'argocd', 'grafana']"
	check "$kind: Argo CD application link" test "$(st "j['state']['links'][1]['url']")" = "https://argocd.example.com/applications/argocd/grafana"
	# the apply node again, as when a crash loses its commit: the same
	# branch and commit, the forge's "already exists" answered by a lookup
	sqlite3 "$DB" "UPDATE incidents SET status='open', node='apply' WHERE id='$ID'; DELETE FROM jobs; INSERT INTO jobs (incident_id,node,run_at,attempts,created_at) VALUES ('$ID','apply',0,0,0);"
	tip=$(git -C "$B" rev-parse "firebreak/$ID")
	wait_state "$DB" "$ID" "j['state'].get('pull_request',{}).get('number',0) > 0"
	check "$kind: apply run twice: one commit, one pull request" sh -c "test \"\$(git -C $B rev-parse firebreak/$ID)\" = $tip && test $(st "j['state']['pull_request']['number']") = 1 && test \"\$(FIREBREAK_DB=$DB $FB incidents show $ID | grep -c 'reused pull request #1')\" -eq 1"
	check "$kind: still one pull request on the forge" test "$(pulls "$P" "len(j)")" = 1
	check "$kind: still waiting for the merge" test "$(st "j['state']['pull_request']['state']")" = open
	tip=$(git -C "$B" rev-parse "firebreak/$ID")
	merge=$(ctl "$P" /_fake/merge '{"number": 1, "user": "carol"}' | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["merge_commit"])')
	check "$kind: the fake wrote a real merge commit" test "$(git -C "$B" rev-parse main^2)" = "$tip"
	wait_state "$DB" "$ID" "j['status'] != 'open'"
	check "$kind: merged -> verified against the merge commit, resolved" test "$(st "(j['status'], j['state']['apply']['commit'], j['state']['pull_request']['closed_by'], j['state']['verify']['result'])")" = "('resolved', '$merge', 'carol', 'skipped')"
	check "$kind: the commit link is the merge commit's page" test "$(st "[l['url'] for l in j['state']['links'] if l['kind'] == 'commit']")" = "['http://127.0.0.1:$P/$repo/$cpath$merge']"

	check "$kind: after the merge the clone's main follows the remote, clean" sh -c "test \"\$(git -C $C rev-parse main)\" = $merge && test -z \"\$(git -C $C status --porcelain)\" && git -C $C diff --quiet $merge"

	# a second incident whose PR is closed unmerged: rejected, by whom
	FIREBREAK_DB=$DB GITOPS_REPO=$C "$FB" -c "$CFG" triage --log "$work/api.log" --yes --user alice >/dev/null 2>&1
	ID2=$(FIREBREAK_DB=$DB "$FB" incidents list --all --json | /usr/bin/python3 -c 'import json,sys; print([i["id"] for i in json.load(sys.stdin) if i["id"] != "'"$ID"'"][0])')
	wait_state "$DB" "$ID2" "j['state'].get('pull_request',{}).get('number',0) > 0"
	check "$kind: the second incident has its own pull request" test "$(pulls "$P" "len(j)")" -eq 2
	num=$(st "j['state']['pull_request']['number']")
	ctl "$P" /_fake/close "{\"number\": $num, \"user\": \"dave\"}" >/dev/null
	wait_state "$DB" "$ID2" "j['status'] != 'open'"
	check "$kind: closed unmerged -> rejected, by dave" test "$(st "(j['status'], j['state']['pull_request']['state'], j['state']['pull_request']['closed_by'])")" = "('rejected', 'closed', 'dave')"

	# reuse: a PR already open for the branch is not duplicated
	git -C "$C" fetch -q origin
	FIREBREAK_CRASH_AFTER=apply FIREBREAK_DB=$DB GITOPS_REPO=$C "$FB" -c "$CFG" triage --log "$work/loki.log" --yes --user alice >/dev/null 2>&1
	ID3=$(FIREBREAK_DB=$DB "$FB" incidents list --all --json | /usr/bin/python3 -c 'import json,sys; print([i["id"] for i in json.load(sys.stdin) if i["id"] not in ("'"$ID"'", "'"$ID2"'")][0])')
	seeded=$(ctl "$P" /_fake/seed "{\"head\": \"firebreak/$ID3\", \"base\": \"main\"}" | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["number"])')
	# and 60 newer ones of other branches: finding it takes the list's second page
	i=0
	while [ $i -lt 60 ]; do
		ctl "$P" /_fake/seed "{\"head\": \"someone/change-$i\", \"base\": \"main\"}" >/dev/null
		i=$((i + 1))
	done
	wait_state "$DB" "$ID3" "j['state'].get('pull_request',{}).get('number',0) > 0"
	check "$kind: an open PR for the branch (opened before a crash) is reused" sh -c "test $(st "j['state']['pull_request']['number']") = $seeded && FIREBREAK_DB=$DB $FB incidents show $ID3 | grep -q 'reused pull request #$seeded'"
	check "$kind: still exactly one PR for that branch" test "$(pulls "$P" "len([p for p in j if p['head'] == 'firebreak/$ID3'])")" = 1
	if [ "$kind" = gitea ]; then # the list has no head filter: it was paged through
		ctl "$P" /_fake/requests >"$work/req.json"
		check "gitea: the open pull requests were paged through (Link rel=next)" test "$(json_get "$work/req.json" "any('/pulls?' in r['path'] and 'page=2' in r['path'] for r in j)")" = True
	fi

	# a wrong token: the forge's 401 is an error that says which key to fix
	FIREBREAK_FORGE_TOKEN=wrong FIREBREAK_DB=$DB GITOPS_REPO=$C "$FB" -c "$CFG" triage --log "$OOM" --yes --user alice >"$work/$kind.bad.out" 2>&1
	ID4=$(FIREBREAK_DB=$DB "$FB" incidents list --all --json | /usr/bin/python3 -c 'import json,sys; print([i["id"] for i in json.load(sys.stdin) if i["id"] not in ("'"$ID"'", "'"$ID2"'", "'"$ID3"'")][0])')
	FIREBREAK_DB=$DB "$FB" incidents show "$ID4" >"$work/$kind.bad.show" 2>&1
	check "$kind: a wrong token is reported with HTTP 401, the token never shown" sh -c "grep -q '401' $work/$kind.bad.show && ! grep -q '$TOKEN' $work/$kind.bad.show $work/$kind.bad.out"

	kill "$FAKE" 2>/dev/null
	wait "$FAKE" 2>/dev/null
	unset FIREBREAK_FORGE_TOKEN
}

run_kind github acme/gitops /api/v3 pull commit/
run_kind gitlab platform/infra/gitops /api/v4 -/merge_requests -/commit/
run_kind gitea acme/gitops /api/v1 pulls commit/

# config: pull_request mode without a forge is refused with file:line
cat >"$work/bad.yaml" <<EOF
gitops:
  mode: pull_request
  forge:
    kind: bitbucket
    repo: nope
EOF
"$FB" check-config "$work/bad.yaml" >"$work/bad.out" 2>&1
check "check-config: an unknown forge kind, with file:line" grep -q "bad.yaml:4: gitops.forge.kind: expected github, gitlab, gitea or forgejo" "$work/bad.out"
check "check-config: a repo that is not owner/name, with file:line" grep -q "bad.yaml:5: gitops.forge.repo: expected owner/name" "$work/bad.out"
check "check-config: pull_request mode without a remote, with file:line" grep -q "bad.yaml:2: gitops.mode: pull_request needs" "$work/bad.out"

echo "1..$n"
