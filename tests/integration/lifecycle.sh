#!/bin/sh
# The incident lifecycle through the CLI: resolve, snooze, reopen, assign,
# acknowledge and close a manual incident; refusals that change nothing;
# a repeat after resolution, outside engine.cooldown, opens a new incident
# linked to the old one (and inside it still folds).
. "$(dirname "$0")/lib.sh"

R=$work/repo; new_repo "$R"
DB=$work/life.db
LOG=$work/net.log
printf 'level=error msg="connection refused" app=api namespace=shop\ndial tcp 10.0.0.5:5432: connect: connection refused\n' >"$LOG"
CFG=$work/fb.yaml
printf 'engine:\n  cooldown: 1s\n' >"$CFG"
fb() { FIREBREAK_DB=$DB GITOPS_REPO=$R "$FB" -c "$CFG" "$@"; }
status_of() { fb incidents show "$1" --json | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["status"])'; }

fb triage --log "$LOG" --user alice >"$work/t1.out" 2>&1
ID=$(sed -n 's/^Incident:    //p' "$work/t1.out" | head -n 1)
check "a problem with no automatic fix ends manual" test "$(status_of "$ID")" = manual

fb incidents ack "$ID" --user bob >"$work/ack.out" 2>&1
check "ack answers with the incident and the step" grep -q "^$ID: ack\$" "$work/ack.out"
fb incidents assign "$ID" --to bob >"$work/as1.out" 2>&1
check "assign to a name that is no Slack user id is refused (exit 1)" sh -c "test $? -eq 1 && grep -q 'Slack user id' $work/as1.out"
fb incidents assign "$ID" --to U0BOB --user bob >/dev/null 2>&1
fb incidents snooze "$ID" --until 2020-01-01T00:00:00Z --user bob >"$work/sn1.out" 2>&1
check "a snooze in the past is refused" sh -c "test $? -ne 0 && grep -q 'past' $work/sn1.out"
fb incidents snooze "$ID" --until soonish --user bob >"$work/sn2.out" 2>&1
check "a snooze time that is no time is a usage error (exit 2)" sh -c "test $? -eq 2 && grep -q 'not a time' $work/sn2.out"
fb incidents snooze "$ID" --until 4h --note "after the deploy" --user bob >/dev/null 2>&1
check "ack, assign and snooze are in the state" sh -c "fb() { FIREBREAK_DB=$DB \"$FB\" -c $CFG \"\$@\"; }; fb incidents show $ID --json | /usr/bin/python3 -c 'import json,sys,time; l=json.load(sys.stdin)[\"state\"][\"lifecycle\"]; assert l[\"ack_by\"]==\"bob\" and l[\"assignee\"]==\"U0BOB\" and l[\"snoozed_until\"] > time.time()*1000+3*3600*1000, l'"
check "the snooze's timer is a durable job" sh -c "/usr/bin/python3 -c 'import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); assert c.execute(\"SELECT node FROM jobs WHERE incident_id=?\", (sys.argv[2],)).fetchone()[0]==\"snooze_end\"' $DB $ID"

fb incidents resolve "$ID" --note "restarted pgbouncer" --user carol >/dev/null 2>&1
check "resolve a manual incident" test "$(status_of "$ID")" = resolved
check "resolving drops the snooze's timer" sh -c "/usr/bin/python3 -c 'import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); assert c.execute(\"SELECT COUNT(*) FROM jobs WHERE incident_id=?\", (sys.argv[2],)).fetchone()[0]==0' $DB $ID"
fb incidents resolve "$ID" --user carol >"$work/r2.out" 2>&1
check "resolving it again is refused, with the reason" sh -c "test $? -eq 1 && grep -q 'already resolved' $work/r2.out"
fb incidents resolve incident-20000101000000-0000 --user carol >"$work/r3.out" 2>&1
check "an unknown id is refused" sh -c "test $? -eq 1 && grep -q 'no incident' $work/r3.out"
fb incidents show "$ID" >"$work/show.out" 2>&1
check "every step is in the timeline with who" sh -c "grep -q 'incident.ack  *bob' $work/show.out && grep -q 'incident.assign  *bob' $work/show.out && grep -q 'incident.snooze  *bob' $work/show.out && grep -q 'incident.resolve  *carol.*restarted pgbouncer' $work/show.out"
check "a refusal changes nothing" test "$(grep -c 'incident.resolve' "$work/show.out")" -eq 1
check "incidents show says who is on it, to whom it is assigned and who resolved it" sh -c "grep -q '^On it:       bob\$' $work/show.out && grep -q '^Assigned to: U0BOB (by bob)\$' $work/show.out && grep -q '^Resolved by: carol\$' $work/show.out && grep -q '^Note:        restarted pgbouncer\$' $work/show.out"

fb incidents reopen "$ID" --user dave --note "it is back" >/dev/null 2>&1
check "reopen brings it back to open" test "$(status_of "$ID")" = open
check "an open incident is listed again" sh -c "FIREBREAK_DB=$DB \"$FB\" incidents list | grep -q \"^$ID\""
fb incidents reopen "$ID" --user dave >"$work/ro2.out" 2>&1
check "reopening an open incident is refused" sh -c "test $? -eq 1 && grep -q 'nothing to reopen' $work/ro2.out"
fb incidents close "$ID" --duplicate-of "$ID" >"$work/c1.out" 2>&1
check "a duplicate of itself is refused" sh -c "test $? -eq 1 && grep -q 'itself' $work/c1.out"
fb incidents close "$ID" >"$work/c2.out" 2>&1
check "close needs --duplicate-of or --wontfix (usage)" test $? -eq 2
fb incidents close "$ID" --wontfix --user dave >/dev/null 2>&1
check "close as won't fix" test "$(status_of "$ID")" = closed
fb incidents reopen "$ID" --user dave >/dev/null 2>&1
fb incidents resolve "$ID" --user dave >/dev/null 2>&1

# the same problem again inside the cooldown (1 s): it folds
fb triage --log "$LOG" --user alice >"$work/t2.out" 2>&1
ID2=$(sed -n 's/^Incident:    //p' "$work/t2.out" | head -n 1)
check "inside the cooldown a repeat folds into the resolved incident" test "$(status_of "$ID2")" = grouped
sleep 2
fb triage --log "$LOG" --user alice >"$work/t3.out" 2>&1
ID3=$(sed -n 's/^Incident:    //p' "$work/t3.out" | head -n 1)
check "outside the cooldown a repeat after resolution opens a new incident" test "$(status_of "$ID3")" = manual
check "the new incident names the old one (previous)" sh -c "test \"\$(FIREBREAK_DB=$DB \"$FB\" incidents show $ID3 --json | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)[\"state\"][\"previous\"])')\" = $ID"
check "both timelines carry the link" sh -c "FIREBREAK_DB=$DB \"$FB\" incidents show $ID | grep -q 'incident.linked.*$ID3' && FIREBREAK_DB=$DB \"$FB\" incidents show $ID3 | grep -q 'incident.linked.*$ID'"
fb triage --log "$LOG" --user alice >"$work/t4.out" 2>&1
ID4=$(sed -n 's/^Incident:    //p' "$work/t4.out" | head -n 1)
check "the next repeat folds into the new open incident" sh -c "FIREBREAK_DB=$DB \"$FB\" incidents show $ID4 --json | /usr/bin/python3 -c 'import json,sys; j=json.load(sys.stdin); assert j[\"status\"]==\"grouped\" and j[\"state\"][\"grouped_into\"]==\"$ID3\", j[\"status\"]'"
echo "1..$n"
