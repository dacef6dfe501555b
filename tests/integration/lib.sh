# Shared helpers for the integration tests (POSIX sh, TAP output).
# Tests run the ASan+UBSan build of the real binary unless FIREBREAK_BIN
# says otherwise.
top=$(cd "$(dirname "$0")/../.." && pwd)
FB=${FIREBREAK_BIN:-$top/build/firebreak-san}
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export FIREBREAK_CONFIG=
unset GITOPS_REMOTE GITOPS_TOKEN FIREBREAK_CRASH_AFTER
n=0
work=$(mktemp -d "${TMPDIR:-/tmp}/fb-it.XXXXXX")
trap 'rm -rf "$work"' EXIT
# never the real ~/.local/state: commands without FIREBREAK_DB keep state here
export XDG_STATE_HOME="$work/state"
unset STATE_DIRECTORY

ok() { n=$((n + 1)); echo "ok $n - $*"; }
notok() { n=$((n + 1)); echo "not ok $n - $*"; }
check() { # check "what" command...
	what=$1; shift
	if "$@" >"$work/check.out" 2>&1; then ok "$what"; else notok "$what"; sed 's/^/#   /' "$work/check.out" | head -n 40; fi
}

gitc() { git -C "$1" -c user.name=platform -c user.email=platform@example.com "$@"; }

# new_repo DIR: a fresh copy of the demo GitOps repository, one commit.
new_repo() {
	rm -rf "$1"
	cp -R "$top/tests/data/demo/gitops" "$1"
	git -C "$1" init -q -b main
	git -C "$1" add -A
	git -C "$1" -c user.name=platform -c user.email=platform@example.com commit -q -m "Initial layout"
}

# commit_file REPO PATH MESSAGE: commit the current content of PATH
commit_file() {
	git -C "$1" add "$2"
	git -C "$1" -c user.name=platform -c user.email=platform@example.com commit -q -m "$3"
}

fbj() { # fbj DB REPO args...: run firebreak with a database and repo
	db=$1; repo=$2; shift 2
	FIREBREAK_DB=$db GITOPS_REPO=$repo "$FB" "$@"
}

# json_get FILE EXPR: evaluate a Python expression over the JSON in FILE (as j)
json_get() {
	/usr/bin/python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"
}

incident_count_with_trailer() { # REPO ID
	git -C "$1" log --format=%B | grep -c "^Incident-Id: $2\$"
}
