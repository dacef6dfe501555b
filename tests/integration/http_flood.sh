# The HTTP server under idle and slow connections: `firebreak serve` keeps answering (TAP).
top=$(cd "$(dirname "$0")/../.." && pwd)
exec /usr/bin/python3 "$top/tests/integration/http_flood.py"
