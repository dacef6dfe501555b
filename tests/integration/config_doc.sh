#!/bin/sh
# Every config key (src/core/config.c's key table) is listed exactly once in
# README.md's configuration table and shown in deploy/firebreak.yaml (TAP).
cd "$(dirname "$0")/../.." || exit 1
exec /usr/bin/python3 - <<'PY'
import re
import sys

src = open("src/core/config.c").read()
keys = [(s if s != "NULL" else None, n) for s, n in
        re.findall(r'\{(NULL|"\w+"), "(\w+)", K_', src)]
keys = [((s.strip('"') if s else None), n) for s, n in keys]
qual = [f"{s}.{n}" if s else n for s, n in keys]

readme = open("README.md").read()
conf = readme.split("\n## Configuration\n", 1)[1].split("\n## ", 1)[0].split("\n### ", 1)[0]
listed = []
for row in conf.splitlines():
    if not row.startswith("| `"):
        continue
    section = None
    for tok in re.findall(r"`([\w.]+)`", row.split("|")[1]):
        if "." in tok:
            section, name = tok.split(".", 1)
            listed.append(tok)
        elif section:
            listed.append(f"{section}.{tok}")
        else:
            listed.append(tok)

yaml = open("deploy/firebreak.yaml").read()


def in_yaml(section, name):
    if section is None:
        return re.search(rf"^#?\s*{name}:", yaml, re.M) is not None
    m = re.search(rf"^{section}:\n((?:[ #].*\n|\n)*)", yaml, re.M)
    return m is not None and re.search(rf"^\s+#?\s*{name}:", m.group(1), re.M) is not None


n = 0
bad = 0


def tap(ok, what):
    global n, bad
    n += 1
    bad += not ok
    print(("ok" if ok else "not ok") + f" {n} - {what}")


missing = [q for q in qual if listed.count(q) == 0]
twice = sorted({q for q in listed if listed.count(q) > 1})
stale = [q for q in listed if q not in qual]
tap(len(qual) > 40, f"the key table has {len(qual)} keys")
tap(not missing, "every key is in README's configuration table" +
    (f" (missing: {', '.join(missing)})" if missing else ""))
tap(not twice, "no key is listed twice" + (f" ({', '.join(twice)})" if twice else ""))
tap(not stale, "every row names a real key" + (f" (unknown: {', '.join(stale)})" if stale else ""))
noyaml = [q for (s, k), q in zip(keys, qual) if not in_yaml(s, k)]
tap(not noyaml, "every key is shown in deploy/firebreak.yaml" +
    (f" (missing: {', '.join(noyaml)})" if noyaml else ""))
print(f"1..{n}")
sys.exit(1 if bad else 0)
PY
