# Exactly-once posts and chaos: kill between Slack's answer and the ts
# commit, then CHAOS_ROUNDS (default 3) rounds of kill -9 during bursts (TAP).
# `make chaos` runs 20 rounds.
top=$(cd "$(dirname "$0")/../.." && pwd)
exec /usr/bin/python3 "$top/tests/integration/once_serve.py" "${CHAOS_ROUNDS:-3}"
