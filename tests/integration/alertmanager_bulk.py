"""The Alertmanager webhook never says yes and drops (TAP).

A notification with 5,000 firing alerts is stored whole, in one
transaction, before it is acknowledged: `200 stored; 5000 new incidents`
means 5,000 incidents in the database, still there after kill -9 right
after the answer; the same notification again folds into them (0 new).
A notification over the hook's limits is refused with 413 (and nothing
stored), never acknowledged with drops.  With Debian's
prometheus-alertmanager installed, 5,000 alerts fired at it in one group
reach the database the same way.  Run by tests/integration/alertmanager_bulk.sh.
"""
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import slack_serve as t  # noqa: E402
from simclient import start_sim, stop_sim  # noqa: E402

TOKEN = "am-" + "9" * 28
N = 5000


def post(port, body, token=TOKEN, timeout=120):
    req = urllib.request.Request(f"http://127.0.0.1:{port}/hooks/alertmanager", data=body,
                                 method="POST", headers={"Content-Type": "application/json",
                                                         "Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def notification(n, prefix="b"):
    alerts = [{"status": "firing", "fingerprint": f"{prefix}{i:015x}",
               "labels": {"alertname": "KubePodCrashLooping", "namespace": "shop",
                          "pod": f"api-{i}", "severity": "warning"},
               "annotations": {"summary": f"pod api-{i} is crash looping"}} for i in range(n)]
    return json.dumps({"version": "4", "status": "firing", "receiver": "firebreak",
                       "groupLabels": {"alertname": "KubePodCrashLooping"},
                       "alerts": alerts}).encode()


def incidents(db, like="am:%"):
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
    try:
        return con.execute("SELECT COUNT(*) FROM incidents WHERE fingerprint LIKE ?",
                           (like,)).fetchone()[0]
    finally:
        con.close()


def main():
    work = tempfile.mkdtemp(prefix="fb-ambulk.")
    proc, sim = start_sim(work)
    d = t.Daemon(work, sim, "bulk", extra_env={"ALERTMANAGER_TOKEN": TOKEN})
    am = None
    try:
        d.start()
        run(d)
        if shutil.which("prometheus-alertmanager"):
            d2 = t.Daemon(work, sim, "bulk2", extra_env={"ALERTMANAGER_TOKEN": TOKEN})
            d2.start()
            try:
                am = real_alertmanager(work, d2)
            finally:
                if am:
                    am.terminate()
                    am.wait(10)
                d2.stop(sig=signal.SIGKILL)
        else:
            print("ok - # SKIP prometheus-alertmanager is not installed")
    finally:
        d.stop(sig=signal.SIGKILL)
        stop_sim(proc)
        if t.failed == 0:
            shutil.rmtree(work, ignore_errors=True)
        else:
            print(f"# kept {work}")
    print(f"1..{t.n}")
    return 1 if t.failed else 0


def run(d):
    body = notification(N)

    @t.test(f"a notification of {N} firing alerts ({len(body) // 1024} KiB) is stored whole "
            "before its 200")
    def _():
        code, text = post(d.http_port, body)
        t.check(code == 200 and f"{N} new incidents" in text, (code, text))
        t.check(incidents(d.db, "am:b%") == N, incidents(d.db, "am:b%"))

    @t.test("the same notification again folds into the open incidents: 0 new")
    def _():
        code, text = post(d.http_port, body)
        t.check(code == 200 and "0 new" in text, (code, text))
        t.check(incidents(d.db, "am:b%") == N, incidents(d.db, "am:b%"))

    @t.test("over the limits: 413 and nothing stored (10,001 alerts; a body over the bound)")
    def _():
        big = notification(10001, prefix="c")
        code, text = post(d.http_port, big)
        t.check(code == 413 and "max_alerts" in text, (code, text[:200]))
        t.check(incidents(d.db, "am:c%") == 0, "alerts stored from a refused notification")
        huge = notification(9000, prefix="e") + b" " * (8 << 20)
        code, text = post(d.http_port, huge)
        t.check(code == 413, (len(huge), code, text[:200]))
        t.check(incidents(d.db, "am:e%") == 0, "alerts stored from a refused body")

    @t.test("kill -9 right after the answer: every acknowledged alert is still stored")
    def _():
        code, text = post(d.http_port, notification(300, prefix="d"))
        t.check(code == 200 and "300 new" in text, (code, text))
        d.stop(sig=signal.SIGKILL)
        t.check(incidents(d.db, "am:d%") == 300, incidents(d.db, "am:d%"))
        t.check(incidents(d.db, "am:b%") == N, incidents(d.db, "am:b%"))


def real_alertmanager(work, d):
    am_port = t.free_port()
    with open(os.path.join(work, "am-bulk.yml"), "w") as f:
        f.write(f"""route:
  receiver: firebreak
  group_by: ['alertname']
  group_wait: 1s
  group_interval: 1h
  repeat_interval: 1h
receivers:
- name: firebreak
  webhook_configs:
  - url: http://127.0.0.1:{d.http_port}/hooks/alertmanager
    max_alerts: 0
    http_config:
      authorization: {{type: Bearer, credentials: {TOKEN}}}
""")
    log = open(os.path.join(work, "am-bulk.log"), "w")
    am = subprocess.Popen(["prometheus-alertmanager", f"--config.file={work}/am-bulk.yml",
                           f"--storage.path={work}/am-bulk", f"--web.listen-address=127.0.0.1:{am_port}",
                           "--cluster.listen-address="], stdout=log, stderr=subprocess.STDOUT)
    log.close()

    @t.test(f"Debian's Alertmanager: {N} alerts in one group arrive in one notification, all stored")
    def _():
        alerts = [{"labels": {"alertname": "KubePodCrashLooping", "namespace": "shop",
                              "pod": f"web-{i}", "severity": "warning"},
                   "annotations": {"summary": f"pod web-{i} is crash looping"}} for i in range(N)]
        req = urllib.request.Request(f"http://127.0.0.1:{am_port}/api/v2/alerts",
                                     data=json.dumps(alerts).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
        deadline = time.monotonic() + 20
        while True:  # Alertmanager may still be starting
            try:
                with urllib.request.urlopen(req, timeout=30) as r:
                    t.check(r.status == 200, r.status)
                break
            except (urllib.error.URLError, ConnectionError):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.3)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and incidents(d.db) < N:
            time.sleep(1)
        t.check(incidents(d.db) == N, f"{incidents(d.db)} of {N} stored; see {d.log_path}")
        t.check("alertmanager.received" in d.log(), "no alertmanager.received line")
    return am


if __name__ == "__main__":
    sys.exit(main())
