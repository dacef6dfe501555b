#!/bin/sh
# make bench: the alert storm of tests/integration/storm.py on the release
# build -- 120 Alertmanager alerts at 10/s into one channel, the simulator
# enforcing Slack's limits -- printed as a Markdown table (README "Storms").
# STORM_RUNS runs (default 3).
cd "$(dirname "$0")/../.." || exit 2
runs=${STORM_RUNS:-3}
tmp=$(mktemp -d) || exit 2
trap 'rm -rf "$tmp"' EXIT
echo "| run | visible p50 | visible p99 | last visible | top-level messages | Web API calls | 429s |"
echo "|---|---|---|---|---|---|---|"
rc=0
i=1
while [ "$i" -le "$runs" ]; do
	if ! FIREBREAK_BIN=build/firebreak STORM_REPORT="$tmp/r$i.json" \
		/usr/bin/python3 tests/integration/storm.py >"$tmp/tap$i" 2>&1; then
		rc=1
		grep -v '^ok' "$tmp/tap$i" | head -20
	fi
	[ -f "$tmp/r$i.json" ] && /usr/bin/python3 - "$tmp/r$i.json" "$i" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
print(f"| {sys.argv[2]} | {r['p50']:.1f} s | {r['p99']:.1f} s | {r['worst']:.1f} s "
      f"| {r.get('top', '-')} | {r.get('calls', '-')} | {r.get('n429', '-')} |")
PY
	i=$((i + 1))
done
exit $rc
