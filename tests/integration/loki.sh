# Loki: the poller against tests/fakes/loki_fake.py with `firebreak serve` (TAP).
top=$(cd "$(dirname "$0")/../.." && pwd)
exec /usr/bin/python3 "$top/tests/integration/loki_source.py"
