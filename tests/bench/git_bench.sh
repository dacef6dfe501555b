#!/bin/sh
# The git side of one incident: `firebreak triage --yes` (find the values
# file, read it, propose, commit) against a scratch GitOps repository with
# BENCH_APPS Argo CD Applications (default 200) and BENCH_HISTORY earlier
# commits (default 300).  Prints a Markdown table of the syscalls (strace -c)
# and instructions (callgrind) of one incident, and of a run that records a
# healthy log without touching git (the fixed cost of a process start), so
# the difference is what git costs per incident.
#
#   sh tests/bench/git_bench.sh            (uses build/firebreak)
#   FIREBREAK_BIN=... BENCH_APPS=1000 sh tests/bench/git_bench.sh
cd "$(dirname "$0")/../.." || exit 2
top=$(pwd)
FB=${FIREBREAK_BIN:-$top/build/firebreak}
APPS=${BENCH_APPS:-200}
HISTORY=${BENCH_HISTORY:-300}
TRACE=openat,newfstatat,getdents64,pwrite64,fdatasync
work=$(mktemp -d "${TMPDIR:-/tmp}/fb-gitbench.XXXXXX")
[ -n "$BENCH_KEEP" ] && echo "git_bench: keeping $work" >&2 || trap 'rm -rf "$work"' EXIT
unset GITOPS_REMOTE GITOPS_TOKEN FIREBREAK_CRASH_AFTER
export FIREBREAK_CONFIG= GITOPS_REPO="$work/repo" FIREBREAK_DB="$work/db"
command -v strace >/dev/null || { echo "git_bench: strace is not installed" >&2; exit 2; }

# --- the repository: the demo layout plus APPS apps, each with an
# Application manifest and a values file, then HISTORY small commits
R=$work/repo
cp -R "$top/tests/data/demo/gitops" "$R"
i=0
while [ "$i" -lt "$APPS" ]; do
	mkdir -p "$R/helm-values/app$i"
	sed "s/grafana/app$i/g" "$top/tests/data/demo/gitops/helm-values/grafana/values.yaml" >"$R/helm-values/app$i/values.yaml"
	sed "s/grafana/app$i/g" "$top/tests/data/demo/gitops/apps/grafana.yaml" >"$R/apps/app$i.yaml"
	i=$((i + 1))
done
git -C "$R" init -q -b main
git -C "$R" add -A
g() { git -C "$R" -c user.name=platform -c user.email=platform@example.com "$@"; }
g commit -q -m "Initial layout"
# history through fast-import: one commit per line of noise in a values file
{
	i=0
	while [ "$i" -lt "$HISTORY" ]; do
		a=$((i % APPS))
		body="# change $i"
		printf 'commit refs/heads/main\ncommitter platform <platform@example.com> %d +0000\ndata 9\nchange %d\n' $((1700000000 + i)) $((i % 10))
		[ "$i" -eq 0 ] && printf 'from refs/heads/main^0\n'
		printf 'M 100644 inline helm-values/noise/n%d.yaml\ndata %d\n%s\n\n' "$a" $((${#body} + 1)) "$body"
		i=$((i + 1))
	done
} | git -C "$R" fast-import --quiet --force
git -C "$R" reset -q --hard main
git -C "$R" gc -q --auto 2>/dev/null

oom() { sed "s/grafana/$1/g" "$top/tests/data/demo/oom.log" >"$work/$1.log"; }
printf 'level=info ts=2026-11-21T10:00:00Z msg="health check ok" errors=0\n' >"$work/healthy.log"

# warm up: one incident end to end (creates the database), one recorded
oom app1
"$FB" triage --log "$work/app1.log" --yes --user bench >"$work/warm.out" 2>&1 ||
	{ echo "git_bench: triage failed:" >&2; cat "$work/warm.out" >&2; exit 1; }
grep -q '^Result:      resolved' "$work/warm.out" || { cat "$work/warm.out" >&2; exit 1; }

# strace -c prints: % time, seconds, usecs/call, calls, [errors,] syscall
calls() { # FILE SYSCALL
	awk -v s="$2" '$NF == s { print $4 }' "$1" | head -n 1
}
oom app7
strace -f -c -e trace=$TRACE -o "$work/inc.strace" "$FB" triage --log "$work/app7.log" --yes --user bench >"$work/inc.out" 2>&1
grep -q '^Result:      resolved' "$work/inc.out" || { cat "$work/inc.out" >&2; exit 1; }
strace -f -c -e trace=$TRACE -o "$work/base.strace" "$FB" triage --log "$work/healthy.log" --yes >"$work/base.out" 2>&1
grep -q '^Result:      recorded' "$work/base.out" || { cat "$work/base.out" >&2; exit 1; }

ir() { # callgrind's instruction count of one run: ir OUT args...
	out=$1; shift
	valgrind --tool=callgrind --callgrind-out-file="$out" "$FB" "$@" >"$out.log" 2>&1
	sed -n 's/^summary: //p' "$out" | head -n 1
}
ir_inc=n/a ir_base=n/a
if command -v valgrind >/dev/null && [ "${BENCH_CALLGRIND:-1}" = 1 ]; then
	oom app9
	ir_inc=$(ir "$work/inc.cg" triage --log "$work/app9.log" --yes --user bench)
	ir_base=$(ir "$work/base.cg" triage --log "$work/healthy.log" --yes)
fi

echo "| git per incident: \`triage --yes\`, $APPS apps, $HISTORY commits of history | one incident | healthy log (no git) | difference |"
echo "|---|---|---|---|"
for s in openat newfstatat getdents64 pwrite64 fdatasync; do
	a=$(calls "$work/inc.strace" $s); b=$(calls "$work/base.strace" $s)
	echo "| $s | ${a:-0} | ${b:-0} | $((${a:-0} - ${b:-0})) |"
done
if [ "$ir_inc" != n/a ] && [ -n "$ir_inc" ] && [ -n "$ir_base" ]; then
	echo "| instructions (callgrind Ir, millions) | $((ir_inc / 1000000)) | $((ir_base / 1000000)) | $(((ir_inc - ir_base) / 1000000)) |"
fi
