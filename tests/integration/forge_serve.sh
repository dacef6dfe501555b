# Pull-request mode with `firebreak serve`: the card, the merge, verification of the merge commit (TAP).
top=$(cd "$(dirname "$0")/../.." && pwd)
exec /usr/bin/python3 "$top/tests/integration/forge_serve.py"
