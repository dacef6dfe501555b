# Alertmanager: Debian's prometheus-alertmanager and amtool against `firebreak serve` (TAP).
top=$(cd "$(dirname "$0")/../.." && pwd)
exec /usr/bin/python3 "$top/tests/integration/alertmanager_hook.py"
