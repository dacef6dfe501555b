#!/bin/sh
# make demo: the main job, offline, on the built-in defaults.
# Builds a scratch GitOps repository (App of Apps: Argo CD Applications in
# apps/, Helm values in helm-values/<app>/values.yaml), runs triage on a
# bundled OOM excerpt with --yes, and shows the commit it made.
set -eu
cd "$(dirname "$0")/.."
top=$(pwd)
bin=$top/build/firebreak
work=$(mktemp -d "${TMPDIR:-/tmp}/firebreak-demo.XXXXXX")
repo=$work/gitops

cp -R tests/data/demo/gitops "$repo"
git -C "$repo" init -q -b main
git -C "$repo" -c user.name=platform -c user.email=platform@example.com add -A
git -C "$repo" -c user.name=platform -c user.email=platform@example.com \
	commit -q -m "Initial platform layout"

echo "== GitOps repository: $repo"
echo "== Log excerpt: tests/data/demo/oom.log (kubectl describe pod)"
echo
FIREBREAK_DB=$work/firebreak.db "$bin" triage --log tests/data/demo/oom.log \
	--repo "$repo" --yes --user demo
echo
echo "== git log -1 --stat"
git -C "$repo" --no-pager log -1 --stat
echo
echo "(scratch files in $work)"
