# Log file: the follower with `firebreak serve`: rotation, truncation, restart (TAP).
top=$(cd "$(dirname "$0")/../.." && pwd)
exec /usr/bin/python3 "$top/tests/integration/logfile_source.py"
