#!/bin/sh
# GitOps beside people: a bare remote, firebreak's clone and a teammate's
# clone that pushes between propose and approve.  The fix is fetched,
# redone on the teammate's commit and pushed as exactly one commit; a
# change to the same value proposes again; a remote that refuses every
# push leaves the clone at the remote's tip and the incident failed with
# why; https-style token pushes (smart HTTP, the real git http-backend),
# file:// URLs, the gitops.url clone into the state directory, and
# `decide` from another directory with the repository the incident
# recorded.
. "$(dirname "$0")/lib.sh"
OOM=$top/tests/data/demo/oom.log
GV=helm-values/grafana/values.yaml

# setup DIR: DIR/remote.git (bare), DIR/fb (firebreak's clone), DIR/mate
setup() {
	rm -rf "$1"
	mkdir -p "$1"
	new_repo "$1/seed"
	git init -q --bare -b main "$1/remote.git"
	git -C "$1/seed" push -q "$1/remote.git" main
	git clone -q "$1/remote.git" "$1/fb"
	git clone -q "$1/remote.git" "$1/mate"
}

# mate_push DIR SED FILE MESSAGE: the teammate edits, commits and pushes
mate_push() {
	sed -i "$2" "$1/mate/$3"
	git -C "$1/mate" -c user.name=mate -c user.email=mate@example.com commit -q -am "$4"
	git -C "$1/mate" push -q origin main
}

# clean_not_ahead CLONE: nothing to commit, not ahead of or behind origin
clean_not_ahead() {
	test -z "$(git -C "$1" status --porcelain)" &&
		git -C "$1" status -sb | head -n 1 | grep -qv 'ahead\|behind' &&
		test "$(git -C "$1" rev-parse main)" = "$(git -C "$1" rev-parse origin/main)"
}

fbr() { # fbr DIR DB args...: firebreak on DIR/fb, pushing to origin
	d=$1; db=$2; shift 2
	FIREBREAK_DB=$db GITOPS_REPO=$d/fb GITOPS_REMOTE=${REMOTE:-origin} "$FB" "$@"
}

incident_of() { sed -n 's/^Incident:    //p' "$1" | head -n 1; }

# --- a teammate pushes another file between propose and approve
D=$work/a; setup "$D"
fbr "$D" "$D/db" triage --log "$OOM" --pause --user bob >"$D/t.out" 2>&1
ID=$(incident_of "$D/t.out")
mate_push "$D" 's/tag: v1.8.3/tag: v1.8.4/' helm-values/api/values.yaml "Bump api to v1.8.4"
MATE=$(git -C "$D/mate" rev-parse main)
fbr "$D" "$D/db" decide "$ID" approve --user carol >"$D/d.out" 2>&1
check "approve after a teammate's push resolves" grep -q '^Result:      resolved' "$D/d.out"
check "exactly one new commit on the remote" test "$(git -C "$D/remote.git" rev-list --count "$MATE..main")" -eq 1
check "its parent is the teammate's commit" test "$(git -C "$D/remote.git" rev-parse main^)" = "$MATE"
check "it carries the trailers" sh -c "git -C $D/remote.git log -1 --format=%B main | grep -q '^Incident-Id: $ID\$' && git -C $D/remote.git log -1 --format=%B main | grep -q '^Approved-By: carol\$'"
check "it changes only the fix's two lines" test "$(git -C "$D/remote.git" diff --numstat main^ main)" = "$(printf '2\t2\t%s' "$GV")"
check "firebreak's clone is clean and not ahead" clean_not_ahead "$D/fb"
check "the clone's files have both changes" sh -c "grep -q 'tag: v1.8.4' $D/fb/helm-values/api/values.yaml && grep -q 'memory: 1024Mi' $D/fb/$GV"
FIREBREAK_DB=$D/db "$FB" incidents show "$ID" --json >"$D/show.json"
check "the incident recorded its repository" grep -q "\"repo\":[[:space:]]*\"$D/fb/\"" "$D/show.json"

# --- a teammate changes the same value: no commit, the incident proposes again
D=$work/b; setup "$D"
fbr "$D" "$D/db" triage --log "$OOM" --pause --user bob >"$D/t.out" 2>&1
ID=$(incident_of "$D/t.out")
mate_push "$D" 's/memory: 512Mi   # raised/memory: 768Mi   # raised/' "$GV" "Grafana to 768Mi"
MATE=$(git -C "$D/mate" rev-parse main)
fbr "$D" "$D/db" decide "$ID" approve --user carol >"$D/d.out" 2>&1
check "same key changed upstream: proposed again, waiting" grep -q '^Result:      waiting' "$D/d.out"
check "nothing committed on the remote" test "$(git -C "$D/remote.git" rev-parse main)" = "$MATE"
check "the clone followed the remote and is clean" clean_not_ahead "$D/fb"
FIREBREAK_DB=$D/db "$FB" incidents show "$ID" >"$D/s.out" 2>&1
check "the timeline says the value changed upstream" grep -q 'resources.limits.memory in helm-values/grafana/values.yaml changed upstream since the fix was proposed (768Mi, proposed from 512Mi)' "$D/s.out"
check "the new proposal starts from the teammate's value" grep -q 'Raise the memory limit of grafana from 768Mi to 1536Mi' "$D/s.out"
fbr "$D" "$D/db" decide "$ID" approve --user carol >"$D/d2.out" 2>&1
check "approving the new proposal commits on the teammate's commit" sh -c "grep -q '^Result:      resolved' $D/d2.out && test \$(git -C $D/remote.git rev-parse main^) = $MATE && grep -q 'memory: 1536Mi' $D/fb/$GV"

# --- a revert is redone on the new tip
D=$work/c; setup "$D"
sed -i 's/DATABASE_URL_SECRET: api-db/DATABASE_URL_SECRET: api-db-v2/' "$D/mate/helm-values/api/values.yaml"
git -C "$D/mate" -c user.name=mate -c user.email=mate@example.com commit -q -am "Point api at the new database secret"
git -C "$D/mate" push -q origin main
git -C "$D/fb" pull -q
printf '%s\n' 'Events:' \
 '  Warning  Failed  8s (x3 over 30s)  kubelet  Error: secret "api-db-v2" not found' \
 '  Warning  Failed  8s                kubelet  Error: CreateContainerConfigError' >"$D/cfg.log"
fbr "$D" "$D/db" triage --log "$D/cfg.log" --app api --pause >"$D/t.out" 2>&1
ID=$(incident_of "$D/t.out")
mate_push "$D" 's/tag: v1.8.3/tag: v1.8.4/' helm-values/api/values.yaml "Bump api to v1.8.4"
MATE=$(git -C "$D/mate" rev-parse main)
fbr "$D" "$D/db" decide "$ID" approve --user carol >"$D/d.out" 2>&1
check "the revert is made again on the teammate's commit" sh -c "grep -q '^Result:      resolved' $D/d.out && test \$(git -C $D/remote.git rev-parse main^) = $MATE"
check "the revert keeps the teammate's change" sh -c "git -C $D/remote.git show main:helm-values/api/values.yaml | grep -q 'DATABASE_URL_SECRET: api-db\$' && git -C $D/remote.git show main:helm-values/api/values.yaml | grep -q 'tag: v1.8.4'"
check "clone clean after the revert" clean_not_ahead "$D/fb"

# --- a person's local commit the remote lacks: refused, left alone
D=$work/d; setup "$D"
fbr "$D" "$D/db" triage --log "$OOM" --pause --user bob >"$D/t.out" 2>&1
ID=$(incident_of "$D/t.out")
echo "# local note" >>"$D/fb/README.md"
git -C "$D/fb" add README.md
git -C "$D/fb" -c user.name=me -c user.email=me@example.com commit -q -m "A local note"
LOCAL=$(git -C "$D/fb" rev-parse main)
fbr "$D" "$D/db" decide "$ID" approve --user carol >"$D/d.out" 2>&1
check "a local commit the remote lacks refuses apply" sh -c "grep -q 'commit the remote lacks' $D/d.out && grep -q '^Result:      waiting' $D/d.out"
check "the person's commit is left alone" test "$(git -C "$D/fb" rev-parse main)" = "$LOCAL"

# --- the same over a file:// URL (gitops.remote a URL, not a name)
D=$work/e; setup "$D"
REMOTE="file://$D/remote.git" fbr "$D" "$D/db" triage --log "$OOM" --pause --user bob >"$D/t.out" 2>&1
ID=$(incident_of "$D/t.out")
mate_push "$D" 's/tag: v1.8.3/tag: v1.8.4/' helm-values/api/values.yaml "Bump api to v1.8.4"
MATE=$(git -C "$D/mate" rev-parse main)
REMOTE="file://$D/remote.git" fbr "$D" "$D/db" decide "$ID" approve --user carol >"$D/d.out" 2>&1
check "file:// URL remote: one commit on the teammate's" sh -c "grep -q '^Result:      resolved' $D/d.out && test \$(git -C $D/remote.git rev-list --count $MATE..main) -eq 1 && test \$(git -C $D/remote.git rev-parse main^) = $MATE"
check "file:// URL remote: the clone is the remote's tip, clean" sh -c "test -z \"\$(git -C $D/fb status --porcelain)\" && test \$(git -C $D/fb rev-parse main) = \$(git -C $D/remote.git rev-parse main)"
check "file:// URL of the clone's origin: origin/main follows, not ahead" clean_not_ahead "$D/fb"

# --- smart HTTP with a token (what https to a forge does), and a remote
# --- whose pre-receive hook refuses every push
D=$work/f; setup "$D"
/usr/bin/python3 "$top/tests/fakes/git_http.py" --root "$D" --port-file "$D/port" --token "tok-s3cr3t-42" 2>"$D/fake.err" &
FAKE=$!
for _ in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do test -s "$D/port" && break; sleep 0.2; done
URL="http://127.0.0.1:$(cat "$D/port")/remote.git"
mate_push "$D" 's/tag: v1.8.3/tag: v1.8.4/' helm-values/api/values.yaml "Bump api to v1.8.4"
GITOPS_TOKEN=tok-s3cr3t-42 REMOTE=$URL fbr "$D" "$D/db" triage --log "$OOM" --yes --user bob >"$D/t.out" 2>&1
check "token over smart HTTP: fetched, redone and pushed" sh -c "grep -q '^Result:      resolved' $D/t.out && test \$(git -C $D/remote.git rev-parse main^) = \$(git -C $D/mate rev-parse main)"
check "the token was given as x-access-token" sh -c "curl -s ${URL%/remote.git}/_fake/auth | grep -q '^x-access-token\$'"
printf '#!/bin/sh\necho "policy: changes to main go through review" >&2\nexit 1\n' >"$D/remote.git/hooks/pre-receive"
chmod +x "$D/remote.git/hooks/pre-receive"
TIP=$(git -C "$D/remote.git" rev-parse main)
(cd "$D/fb" && git pull -q)
GITOPS_TOKEN=tok-s3cr3t-42 REMOTE=$URL fbr "$D" "$D/db2" triage --log "$OOM" --yes --user bob >"$D/h.out" 2>&1
ID=$(incident_of "$D/h.out")
FIREBREAK_DB=$D/db2 "$FB" incidents show "$ID" >"$D/hs.out" 2>&1
check "a refusing hook: the incident failed" grep -q '^Result:      failed' "$D/hs.out"
check "it says why (the hook, three tries, the reset)" sh -c "grep -q 'the remote refused the push 3 times' $D/hs.out && grep -q 'pre-receive hook declined' $D/hs.out && grep -q 'main was reset to the remote' $D/hs.out"
check "the remote is unchanged" test "$(git -C "$D/remote.git" rev-parse main)" = "$TIP"
check "the clone is back at the remote's tip, clean" sh -c "test \$(git -C $D/fb rev-parse main) = $TIP && test -z \"\$(git -C $D/fb status --porcelain)\""
check "the token is in no output and not in the database" sh -c "! grep -q 'tok-s3cr3t-42' $D/t.out $D/h.out $D/hs.out && ! grep -aq 'tok-s3cr3t-42' $D/db $D/db2"
kill "$FAKE" 2>/dev/null
wait "$FAKE" 2>/dev/null

# --- credentials in a URL are masked in errors
D=$work/g; setup "$D"
REMOTE="http://bob:hunter2-pw@127.0.0.1:1/remote.git" fbr "$D" "$D/db" triage --log "$OOM" --yes --user bob >"$D/t.out" 2>&1
ID=$(incident_of "$D/t.out")
FIREBREAK_DB=$D/db "$FB" incidents show "$ID" >"$D/s.out" 2>&1
check "an unreachable remote is an error naming the masked URL" grep -q 'fetching from http://bob:\*\*\*@127.0.0.1:1/remote.git' "$D/s.out"
check "the URL's password is nowhere" sh -c "! grep -q hunter2-pw $D/t.out $D/s.out && ! grep -aq hunter2-pw $D/db"

# --- gitops.url: firebreak clones into its state directory
D=$work/h; setup "$D"
mkdir -p "$D/state"
printf 'state_dir: %s/state\ngitops:\n  url: file://%s/remote.git\n' "$D" "$D" >"$D/fb.yaml"
(cd "$D" && env -u GITOPS_REPO "$FB" --config "$D/fb.yaml" triage --log "$OOM" --yes --user bob >"$D/t.out" 2>&1)
check "gitops.url is cloned into <state dir>/repo" test -d "$D/state/repo/.git"
check "the fix is committed there and pushed to the URL" sh -c "grep -q '^Result:      resolved' $D/t.out && git -C $D/remote.git log -1 --format=%B main | grep -q '^Incident-Id: '"
check "the state clone is clean and not ahead" clean_not_ahead "$D/state/repo"

# --- decide from another directory, no GITOPS_REPO: the recorded repository
D=$work/i; mkdir -p "$D/elsewhere"; new_repo "$D/r"
FIREBREAK_DB=$D/db GITOPS_REPO=$D/r "$FB" triage --log "$OOM" --pause --user bob >"$D/t.out" 2>&1
ID=$(incident_of "$D/t.out")
(cd "$D/elsewhere" && env -u GITOPS_REPO FIREBREAK_DB="$D/db" "$FB" decide "$ID" approve --user carol >"$D/d.out" 2>&1)
check "decide elsewhere uses the incident's repository" sh -c "grep -q '^Result:      resolved' $D/d.out && git -C $D/r log -1 --format=%B | grep -q '^Incident-Id: $ID\$'"

check "no run reported a leak or a sanitizer error" sh -c "! grep -rlE 'LeakSanitizer|AddressSanitizer|runtime error' $work --include='*.out'"

echo "1..$n"
