# Storm control: 120 alerts at 10/s into one channel, the simulator enforcing Slack's limits (TAP).
top=$(cd "$(dirname "$0")/../.." && pwd)
exec /usr/bin/python3 "$top/tests/integration/storm.py"
