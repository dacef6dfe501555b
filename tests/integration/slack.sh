# Slack: `firebreak serve` driven through the Slack simulator (TAP).
top=$(cd "$(dirname "$0")/../.." && pwd)
exec /usr/bin/python3 "$top/tests/integration/slack_serve.py"
