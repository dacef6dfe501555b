"""The Loki source against tests/fakes/loki_fake.py, with `firebreak serve` (TAP).

Lines matching the configured LogQL become an incident and a card; lines
that share a nanosecond across a page boundary are each taken once; the
cursor survives a restart with no duplicate and no gap; the tenant header
is sent; while Loki fails, /health says so, and it recovers.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import slack_serve as t  # noqa: E402
from simclient import card, start_sim, stop_sim  # noqa: E402

FAKE = os.path.join(t.TOP, "tests", "fakes", "loki_fake.py")
LABELS = {"namespace": "monitoring", "app": "grafana", "pod": "grafana-7d9f8b6c4-x2kqp"}


def start_fake(work):
    port_file = os.path.join(work, "loki.port")
    log = open(os.path.join(work, "loki.log"), "w")
    proc = subprocess.Popen(["/usr/bin/python3", FAKE, "--port-file", port_file, "--tenant", "team-a"],
                            stdout=log, stderr=subprocess.STDOUT)
    log.close()
    deadline = time.monotonic() + 10
    while not os.path.exists(port_file):
        if time.monotonic() > deadline:
            raise RuntimeError("loki_fake did not start")
        time.sleep(0.02)
    return proc, int(open(port_file).read())


def ctl(port, path, body=None):
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}",
                                 data=None if body is None else json.dumps(body).encode(),
                                 method="GET" if body is None else "POST",
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read())


def excerpts(d):
    out = subprocess.run([t.FB, "incidents", "list", "--all", "--json"], env=d.env,
                         capture_output=True, text=True).stdout
    texts = []
    for inc in json.loads(out):
        if inc["source"] != "loki":
            continue
        one = subprocess.run([t.FB, "incidents", "show", inc["id"], "--json"], env=d.env,
                             capture_output=True, text=True).stdout
        texts.append(json.loads(one)["state"]["excerpt"])
    return "\n".join(texts)


def main():
    work = tempfile.mkdtemp(prefix="fb-loki.")
    proc, sim = start_sim(work)
    fake, lport = start_fake(work)
    d = t.Daemon(work, sim, "loki")
    with open(d.cfg, "a") as f:
        f.write(f"""loki:
  url: http://127.0.0.1:{lport}
  tenant: team-a
  interval: 1s
  lag: 2s
  limit: 2
  queries:
    - '{{namespace="monitoring"}} |~ "(?i)oomkilled|error"'
""")
    try:
        run(d, sim, lport)
    finally:
        d.stop()
        fake.terminate()
        fake.wait(10)
        stop_sim(proc)
        if t.failed == 0:
            shutil.rmtree(work, ignore_errors=True)
        else:
            print(f"# kept {work}")
    print(f"1..{t.n}")
    return 1 if t.failed else 0


def run(d, sim, lport):
    @t.test("lines matching the query become one incident and a card; same-nanosecond lines across pages are each taken once")
    def _():
        d.start()
        ctl(lport, "/_fake/requests")
        time.sleep(1.0)
        ns = time.time_ns()
        ctl(lport, "/_fake/push", {"labels": LABELS, "lines": [
            [ns, "Last State: Terminated Reason: OOMKilled Exit Code: 137 (line A)"],
            [ns, "container grafana OOMKilled, memory limit 512Mi (line B)"],
            [ns + 1, "level=error msg=\"restarting grafana after OOMKilled\" (line C)"],
            [ns + 2, "level=info msg=\"all good\" (ignored by the query)"]]})
        sim.wait_for(lambda s: next((m for m in card(s, t.CHANNEL) if "grafana" in m["text"]), None),
                     timeout=30, what="the card from Loki (read 2 s behind now)")
        text = excerpts(d)
        for line in ("line A", "line B", "line C"):
            t.check(text.count(line) == 1, f"{line}: {text.count(line)} times in {text!r}")
        t.check("all good" not in text, "a line outside the query")
        reqs = ctl(lport, "/_fake/requests")
        t.check(all(r["org"] == "team-a" and r["direction"] == "forward" for r in reqs), reqs[:3])

    @t.test("the cursor survives a restart: lines written while firebreak was down are read once, nothing twice")
    def _():
        t.check(d.stop() == 0, "unclean stop")
        ns = time.time_ns()
        ctl(lport, "/_fake/push", {"labels": LABELS, "lines": [[ns, "grafana OOMKilled again (line D)"]]})
        d.start()
        deadline = time.monotonic() + 20
        while "line D" not in excerpts(d) and time.monotonic() < deadline:
            time.sleep(0.3)
        text = excerpts(d)
        for line in ("line A", "line B", "line C", "line D"):
            t.check(text.count(line) == 1, f"{line}: {text.count(line)} times")

    @t.test("while Loki fails, /health says so; when it answers again, /health is ok")
    def _():
        ctl(lport, "/_fake/status", {"code": 503})
        deadline = time.monotonic() + 30
        code = 200
        while time.monotonic() < deadline:
            code, body, _ = t.http(d.http_port, "/health")
            if code == 503:
                break
            time.sleep(0.3)
        t.check(code == 503 and "Loki" in body, (code, body))
        ctl(lport, "/_fake/status", {"code": 0})
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline:
            code, body, _ = t.http(d.http_port, "/health")
            if code == 200:
                break
            time.sleep(0.5)
        t.check(code == 200, (code, body))
        t.check("loki.poll_failed" in d.log(), "the failure was not logged")


if __name__ == "__main__":
    sys.exit(main())
