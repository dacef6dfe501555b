# Hostile Slack input: stale-version clicks, a 1 MB slash command, lone surrogates (TAP).
top=$(cd "$(dirname "$0")/../.." && pwd)
exec /usr/bin/python3 "$top/tests/integration/slack_hostile.py"
