"""The API while another process holds the database locked (TAP).

A second process (this script, with Python's sqlite3) holds BEGIN
EXCLUSIVE on the daemon's database; a trigger through the API must then
be answered 503 with a JSON error naming the cause and a Retry-After
header (a client or Alertmanager asks again), not 500 with an empty
error; the same call succeeds once the lock goes.  Run by
tests/integration/db_locked.sh.
"""
import json
import os
import shutil
import sqlite3
import sys
import time
import tempfile
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import slack_serve as t  # noqa: E402
from simclient import start_sim, stop_sim  # noqa: E402

KEY = "fbk-" + "5" * 32
AM_TOKEN = "am-" + "4" * 28
TRIGGER = json.dumps({"log": "java.lang.OutOfMemoryError: Java heap space", "app": "grafana"}).encode()


def call(port, path, body, token):
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=body, method="POST",
                                 headers={"Authorization": f"Bearer {token}",
                                          "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, r.read().decode(), r.headers
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(), e.headers


def main():
    work = tempfile.mkdtemp(prefix="fb-locked.")
    proc, sim = start_sim(work)
    d = t.Daemon(work, sim, "locked", extra_env={"FIREBREAK_API_KEY": KEY,
                                                 "ALERTMANAGER_TOKEN": AM_TOKEN})
    try:
        d.start()
        port = d.http_port
        con = sqlite3.connect(d.db, timeout=5, isolation_level=None)
        con.execute("BEGIN EXCLUSIVE")

        @t.test("a trigger while the database is locked: 503, the cause in a JSON error, Retry-After")
        def _():
            code, text, headers = call(port, "/api/v1/incidents", TRIGGER, KEY)
            t.check(code == 503, (code, text))
            err = json.loads(text).get("error", "")
            t.check("locked by another process" in err, err)
            t.check((headers.get("Retry-After") or "").isdigit(), dict(headers))

        @t.test("the Alertmanager hook too: 503 (Alertmanager retries a 5xx)")
        def _():
            body = json.dumps({"version": "4", "status": "firing", "alerts": [
                {"status": "firing", "fingerprint": "10c4ed0000000001",
                 "labels": {"alertname": "PodOOMKilled", "app": "grafana"},
                 "annotations": {"summary": "OOMKilled"}}]}).encode()
            code, text, headers = call(port, "/hooks/alertmanager", body, AM_TOKEN)
            t.check(code == 503 and "locked" in text and headers.get("Retry-After"), (code, text))

        con.execute("ROLLBACK")
        con.close()

        @t.test("the lock gone, the same trigger is stored (201) once the store's backoff has passed")
        def _():
            # a client that honours Retry-After: the store backs off after a
            # failure (README "Failure modes") and answers 503 until its next
            # test write works
            deadline = time.time() + 30
            while True:
                code, text, h = call(port, "/api/v1/incidents", TRIGGER, KEY)
                if code != 503 or time.time() > deadline:
                    break
                time.sleep(min(int(h.get("Retry-After") or 1), 2))
            t.check(code == 201 and json.loads(text).get("id", "").startswith("incident-"), (code, text))
    finally:
        d.stop()
        stop_sim(proc)
        if t.failed == 0:
            shutil.rmtree(work, ignore_errors=True)
        else:
            print(f"# kept {work}")
    print(f"1..{t.n}")
    return 1 if t.failed else 0


if __name__ == "__main__":
    sys.exit(main())
