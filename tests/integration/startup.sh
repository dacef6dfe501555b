#!/bin/sh
# Start-up: the state directory (never the current one), one serve per
# database, no source without a channel, help COMMAND and --version (TAP).
. "$(dirname "$0")/lib.sh"
OOM=$top/tests/data/demo/oom.log
R=$work/repo
new_repo "$R"
mkdir -p "$work/cwd" "$work/home"
unset FIREBREAK_DB STATE_DIRECTORY XDG_STATE_HOME SLACK_CHANNEL ALERTMANAGER_TOKEN LOKI_URL

# at: run firebreak from $work/cwd with HOME=$work/home and the given env
at() { (cd "$work/cwd" && env HOME="$work/home" GITOPS_REPO="$R" "$@"); }
mode() { stat -c %a "$1"; }

# ---- the state directory
at "$FB" triage --log "$OOM" --pause >"$work/t1.out" 2>&1
S=$work/home/.local/state/firebreak
check "by default the database is ~/.local/state/firebreak/firebreak.db" test -s "$S/firebreak.db"
check "and the state directory is created 0700" test "$(mode "$S")" = 700
check "nothing lands in the current directory" test -z "$(ls -A "$work/cwd")"
check "incidents list reads the same database" sh -c "cd $work/cwd && HOME=$work/home $FB incidents list | grep -q waiting"

at XDG_STATE_HOME="$work/xdg" "$FB" triage --log "$OOM" --pause >/dev/null 2>&1
check "XDG_STATE_HOME/firebreak when XDG_STATE_HOME is set" test -s "$work/xdg/firebreak/firebreak.db"
at XDG_STATE_HOME= HOME="$work/home2" "$FB" incidents list >/dev/null 2>&1
check "an empty XDG_STATE_HOME counts as unset (~/.local/state)" test -s "$work/home2/.local/state/firebreak/firebreak.db"

at STATE_DIRECTORY="$work/svc" XDG_STATE_HOME="$work/xdg" "$FB" triage --log "$OOM" --pause >/dev/null 2>&1
check "systemd's STATE_DIRECTORY wins over XDG_STATE_HOME" test -s "$work/svc/firebreak.db"

printf 'state_dir: %s/cfgstate\n' "$work" >"$work/sd.yaml"
at STATE_DIRECTORY="$work/svc" "$FB" -c "$work/sd.yaml" triage --log "$OOM" --pause >/dev/null 2>&1
check "the state_dir key wins over the environment" test -s "$work/cfgstate/firebreak.db"

at FIREBREAK_DB="$work/explicit.db" STATE_DIRECTORY="$work/svc2" "$FB" triage --log "$OOM" --pause >/dev/null 2>&1
check "FIREBREAK_DB wins, and no state directory is made for it" sh -c "test -s $work/explicit.db && test ! -e $work/svc2"

printf 'state_dir: relative/dir\n' >"$work/rel.yaml"
"$FB" check-config "$work/rel.yaml" >"$work/rel.out" 2>&1
check "a relative state_dir is refused with file:line" grep -q "rel.yaml:1: state_dir: must be an absolute path" "$work/rel.out"

# ---- one serve per database
/usr/bin/python3 "$top/tests/fakes/slack_sim.py" --port-file "$work/sim.port" 2>"$work/sim.log" &
SIM=$!
i=0
while [ ! -s "$work/sim.port" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
API="http://127.0.0.1:$(cat "$work/sim.port")/api/"
serve() { # a serve on $work/serve.db; run it in a subshell: (serve)
	exec env SLACK_APP_TOKEN=xapp-1-SIM SLACK_BOT_TOKEN=xoxb-SIM SLACK_API_URL="$API" \
	    SLACK_CHANNEL=C1 FIREBREAK_HTTP_LISTEN= FIREBREAK_DB="$work/serve.db" GITOPS_REPO="$R" \
	    HOME="$work/home" "$FB" serve
}
(serve) >"$work/serve1.log" 2>&1 &
S1=$!
i=0
while ! grep -q serve.started "$work/serve1.log" && [ $i -lt 150 ]; do sleep 0.1; i=$((i + 1)); done
check "the first serve starts" grep -q serve.started "$work/serve1.log"
(serve) >"$work/serve2.log" 2>&1
rc=$?
check "a second serve on the same database exits non-zero" test $rc -ne 0
sed 's/^/# /' "$work/serve2.log"
check "with one line naming the first one's pid and the database" grep -qx "firebreak: another serve (pid $S1) holds $work/serve.db; stop it first" "$work/serve2.log"
check "the lock file holds the pid" test "$(cat "$work/serve.db.lock")" = "$S1"
check "CLI commands keep working while serve runs" sh -c "FIREBREAK_DB=$work/serve.db $FB incidents list --all --json >/dev/null"
kill -TERM $S1
wait $S1
check "the first serve drains and exits 0" test $? -eq 0
(serve) >"$work/serve3.log" 2>&1 &
S3=$!
i=0
while ! grep -q serve.started "$work/serve3.log" && [ $i -lt 150 ]; do sleep 0.1; i=$((i + 1)); done
check "once it is gone, a new serve starts" grep -q serve.started "$work/serve3.log"
kill -TERM $S3
wait $S3

# ---- a source without a channel
printf 'logfile:\n  paths: [%s/app.log]\n' "$work" >"$work/lf.yaml"
env SLACK_APP_TOKEN=xapp-1-SIM SLACK_BOT_TOKEN=xoxb-SIM SLACK_API_URL="$API" FIREBREAK_HTTP_LISTEN= \
    FIREBREAK_DB="$work/lf.db" "$FB" -c "$work/lf.yaml" serve >"$work/lf.out" 2>&1
rc=$?
check "serve refuses a log file source without a channel" test $rc -ne 0
check "with one line naming the source and the key to set" sh -c "test \$(wc -l <$work/lf.out) -eq 1 && grep -q 'the logfile source is on (logfile.paths).*slack.channel' $work/lf.out"
check "and before it touched the database" test ! -e "$work/lf.db"
"$FB" check-config "$work/lf.yaml" >"$work/lfc.out" 2>&1
rc=$?
check "check-config reports the same" sh -c "test $rc -eq 1 && grep -q 'lf.yaml: the logfile source is on' $work/lfc.out"
check "with SLACK_CHANNEL the same file is fine" sh -c "SLACK_CHANNEL=C1 $FB check-config $work/lf.yaml | grep -q ': ok'"
env ALERTMANAGER_TOKEN=t0k SLACK_APP_TOKEN=xapp-1-SIM SLACK_BOT_TOKEN=xoxb-SIM SLACK_API_URL="$API" \
    FIREBREAK_HTTP_LISTEN=127.0.0.1:1 FIREBREAK_DB="$work/am.db" "$FB" serve >"$work/am.out" 2>&1
check "the Alertmanager hook without a channel is refused too" grep -q 'the alertmanager source is on' "$work/am.out"
kill -TERM $SIM
wait $SIM 2>/dev/null

# ---- help and version
check "help COMMAND prints the command's usage" sh -c "$FB help triage | grep -q '^usage: firebreak \[-c FILE\] triage --log'"
check "COMMAND --help prints the same" sh -c "test \"\$($FB triage --help)\" = \"\$($FB help triage)\""
check "help for every command in the usage" sh -c "for c in triage decide classify incidents resume check-config serve version help; do $FB help \$c >/dev/null || exit 1; done"
"$FB" help nosuch >/dev/null 2>&1
check "help for an unknown command is a usage error" test $? -eq 2
check "--version, version and COMMAND --version" sh -c "$FB --version | grep -q '^firebreak ' && $FB version | grep -q '^firebreak ' && $FB incidents --version | grep -q '^firebreak ' && $FB serve --version | grep -q '^firebreak '"
echo "1..$n"
