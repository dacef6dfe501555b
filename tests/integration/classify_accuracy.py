#!/usr/bin/python3
"""Runs `firebreak classify --json` on every labelled excerpt in
tests/data/classify and prints the accuracy per category (TAP).

Fails when the overall category accuracy is below 90%, or when the JSON
contract is broken.  App accuracy is reported for the cases whose label
names an app, as information."""
import json
import os
import subprocess
import sys
from collections import defaultdict

top = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
binary = os.environ.get("FIREBREAK_BIN", os.path.join(top, "build", "firebreak"))
data = os.path.join(top, "tests", "data", "classify")
KEYS = ["category", "severity", "apps", "namespace", "signature", "rule", "confidence", "evidence"]

rows = []
with open(os.path.join(data, "expected.tsv")) as f:
    header = f.readline().rstrip("\n").split("\t")
    for line in f:
        if line.strip():
            rows.append(dict(zip(header, line.rstrip("\n").split("\t"))))

total = defaultdict(int)
right = defaultdict(int)
apps_total = apps_right = 0
misses = []
contract_ok = True
env = dict(os.environ, FIREBREAK_CONFIG="")
for r in rows:
    with open(os.path.join(data, "cases", r["file"]), "rb") as f:
        text = f.read()
    p = subprocess.run([binary, "classify", "--json"], input=text, capture_output=True, env=env)
    try:
        out = json.loads(p.stdout)
    except ValueError:
        out = {}
    if p.returncode != 0 or list(out.keys()) != KEYS:
        contract_ok = False
        misses.append((r["file"], r["category"], "bad output rc=%d" % p.returncode))
        continue
    total[r["category"]] += 1
    if out["category"] == r["category"]:
        right[r["category"]] += 1
    else:
        misses.append((r["file"], r["category"], out["category"] + " via " + out["rule"]))
    if r.get("app", "-") not in ("-", ""):
        apps_total += 1
        apps_right += r["app"] in out["apps"][:1]

n = sum(total.values())
ok = sum(right.values())
print("# classification accuracy by category (firebreak classify on tests/data/classify)")
print("# %-20s %5s %5s %8s" % ("category", "cases", "right", "accuracy"))
for cat in sorted(total):
    print("# %-20s %5d %5d %7.1f%%" % (cat, total[cat], right[cat], 100.0 * right[cat] / total[cat]))
print("# %-20s %5d %5d %7.1f%%" % ("all", n, ok, 100.0 * ok / max(n, 1)))
if apps_total:
    print("# first app right: %d/%d (%.1f%%)" % (apps_right, apps_total, 100.0 * apps_right / apps_total))
for m in misses:
    print("# miss: %s expected %s got %s" % m)
print("%s 1 - classify --json prints the documented keys for every case" % ("ok" if contract_ok else "not ok"))
acc = ok / max(n, 1)
print("%s 2 - category accuracy %.1f%% over %d cases (>= 90%%)" % ("ok" if acc >= 0.90 and n >= 120 else "not ok", 100 * acc, n))
sys.exit(0)
