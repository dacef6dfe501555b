# The Alertmanager webhook with 5,000 alerts in one notification: stored whole or refused (TAP).
top=$(cd "$(dirname "$0")/../.." && pwd)
exec /usr/bin/python3 "$top/tests/integration/alertmanager_bulk.py"
