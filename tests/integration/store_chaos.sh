# Store and Slack chaos: `firebreak serve` with a full disk, a read-only,
# locked or damaged database, and Slack's API down (TAP).
top=$(cd "$(dirname "$0")/../.." && pwd)
exec /usr/bin/python3 "$top/tests/integration/store_chaos.py"
