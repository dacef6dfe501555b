# The API while another process holds the database locked: 503 with the cause and Retry-After (TAP).
top=$(cd "$(dirname "$0")/../.." && pwd)
exec /usr/bin/python3 "$top/tests/integration/db_locked.py"
