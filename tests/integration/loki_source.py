"""The Loki source against tests/fakes/loki_fake.py, with `firebreak serve` (TAP).

Lines matching the configured LogQL become an incident and a card; lines
that share a nanosecond across a page boundary are each taken once; the
cursor survives a restart with no duplicate and no gap; the tenant header
is sent; while Loki fails, /health says so, and it recovers.
"""
import os
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import slack_serve as t  # noqa: E402
from simclient import card, start_fake, start_sim, stop_sim  # noqa: E402

LABELS = {"namespace": "monitoring", "app": "grafana", "pod": "grafana-7d9f8b6c4-x2kqp"}


def main():
    work = tempfile.mkdtemp(prefix="fb-loki.")
    proc, sim = start_sim(work)
    fake, lport = start_fake("loki_fake.py", work, "loki_fake", "--tenant", "team-a")
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
        t.fake_ctl(lport, "/_fake/requests")
        time.sleep(1.0)
        ns = time.time_ns()
        t.fake_ctl(lport, "/_fake/push", {"labels": LABELS, "lines": [
            [ns, "Last State: Terminated Reason: OOMKilled Exit Code: 137 (line A)"],
            [ns, "container grafana OOMKilled, memory limit 512Mi (line B)"],
            [ns + 1, "level=error msg=\"restarting grafana after OOMKilled\" (line C)"],
            [ns + 2, "level=info msg=\"all good\" (ignored by the query)"]]})
        sim.wait_for(lambda s: next((m for m in card(s, t.CHANNEL) if "grafana" in m["text"]), None),
                     timeout=30, what="the card from Loki (read 2 s behind now)")
        text = t.excerpts(d, "loki")
        for line in ("line A", "line B", "line C"):
            t.check(text.count(line) == 1, f"{line}: {text.count(line)} times in {text!r}")
        t.check("all good" not in text, "a line outside the query")
        reqs = t.fake_ctl(lport, "/_fake/requests")
        t.check(all(r["org"] == "team-a" and r["direction"] == "forward" for r in reqs), reqs[:3])

    @t.test("the cursor survives a restart: lines written while firebreak was down are read once, nothing twice")
    def _():
        t.check(d.stop() == 0, "unclean stop")
        ns = time.time_ns()
        t.fake_ctl(lport, "/_fake/push", {"labels": LABELS, "lines": [[ns, "grafana OOMKilled again (line D)"]]})
        d.start()
        deadline = time.monotonic() + 20
        while "line D" not in t.excerpts(d, "loki") and time.monotonic() < deadline:
            time.sleep(0.3)
        text = t.excerpts(d, "loki")
        for line in ("line A", "line B", "line C", "line D"):
            t.check(text.count(line) == 1, f"{line}: {text.count(line)} times")

    @t.test("while Loki fails, /health says so; when it answers again, /health is ok")
    def _():
        t.fake_ctl(lport, "/_fake/status", {"code": 503})
        deadline = time.monotonic() + 30
        code = 200
        while time.monotonic() < deadline:
            code, body, _ = t.http(d.http_port, "/health")
            if code == 503:
                break
            time.sleep(0.3)
        t.check(code == 503 and "Loki" in body, (code, body))
        t.fake_ctl(lport, "/_fake/status", {"code": 0})
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
