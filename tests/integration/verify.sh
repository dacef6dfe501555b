# Verification: Kubernetes and Argo CD fakes after a fix, with `firebreak serve` (TAP).
top=$(cd "$(dirname "$0")/../.." && pwd)
exec /usr/bin/python3 "$top/tests/integration/verify_fix.py"
