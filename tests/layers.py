"""make lint: the families under src/ depend on each other without circles,
and transport and rendering code does not include the store.

A header include/firebreak/X.h belongs to the family of src/*/X.c; the few
headers with no .c of their own are named below.  An edge A -> B is a file
of family A (a .c, a private .h, or A's public headers) including a header
of family B.  Prints every circle with the includes that make it; exits 1
when there is one.
"""
import collections
import glob
import os
import re
import sys

OWNERS = {"domain": "store", "store_backend": "store",
          "loki": "sources"}  # checks/loki.c is the loki check: its face is check.h
# Files that move bytes or draw pixels: they get what they show from their
# caller, never from the store (domain.h's row types are fine).
NO_STORE = ["src/net/*.c", "src/slack/card.c", "src/slack/tmpl.c", "src/slack/sender.c",
            "src/slack/pace.c", "src/slack/slackapi.c", "src/slack/socket.c", "src/obs/*.c",
            "include/firebreak/card.h", "include/firebreak/sender.h", "include/firebreak/http.h",
            "include/firebreak/socket.h", "include/firebreak/metrics.h"]
INCLUDE = re.compile(r'#include "firebreak/([a-z_0-9]+)\.h"')


def family_of_header(name, owners):
    return owners.get(name)


def main():
    top = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
    os.chdir(top)
    owners = dict(OWNERS)
    for c in glob.glob("src/*/*.c"):
        owners.setdefault(os.path.basename(c)[:-2], c.split("/")[1])
    bad = 0
    for h in glob.glob("include/firebreak/*.h"):
        if os.path.basename(h)[:-2] not in owners:
            print(f"layers: {h} belongs to no family (name it in tests/layers.py)")
            bad = 1
    edges = collections.defaultdict(list)
    files = [(f, f.split("/")[1]) for f in glob.glob("src/*/*.[ch]")]
    files += [(h, owners.get(os.path.basename(h)[:-2])) for h in glob.glob("include/firebreak/*.h")]
    for f, fam in files:
        with open(f) as fh:
            for inc in INCLUDE.findall(fh.read()):
                to = owners.get(inc)
                if to and fam and to != fam:
                    edges[fam].append((to, f, inc))
    graph = {a: {e[0] for e in es} for a, es in edges.items()}

    def reaches(a, b, seen):
        for n in graph.get(a, ()):
            if n == b or (n not in seen and (seen.add(n) or reaches(n, b, seen))):
                return True
        return False

    for a in sorted(graph):
        for b in sorted(graph[a]):
            if reaches(b, a, set()):
                why = ", ".join(f"{f} includes {inc}.h" for to, f, inc in edges[a] if to == b)
                print(f"layers: circle through {a} -> {b} ({why})")
                bad = 1
    for pattern in NO_STORE:
        for f in glob.glob(pattern):
            with open(f) as fh:
                if '#include "firebreak/store.h"' in fh.read():
                    print(f"layers: {f} includes the store (transport and rendering do not)")
                    bad = 1
    return bad


if __name__ == "__main__":
    sys.exit(main())
