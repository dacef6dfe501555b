"""Verification after a fix, against tests/fakes/kube_fake.py (Kubernetes
pods and Argo CD applications), with `firebreak serve` (TAP).

pending then ok: the card shows the verification and the incident is
resolved only when the pods are ready and Argo CD has synced the fix's
commit and is healthy.  failed: the app is OOMKilled again after the fix,
so a further raise is proposed on the same card, and approving it makes a
second commit (Incident-Step: 2).  An app Argo CD does not know (403) is
judged by Kubernetes alone.
"""
import datetime
import json
import os
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import slack_serve as t  # noqa: E402
from simclient import buttons, start_fake, start_sim, stop_sim  # noqa: E402



def pod(app, ready, waiting=None, terminated=None, restarts=0, ns="monitoring"):
    cs = {"name": app, "ready": ready, "restartCount": restarts, "state": {}, "lastState": {}}
    if waiting:
        cs["state"] = {"waiting": {"reason": waiting}}
    else:
        cs["state"] = {"running": {"startedAt": "2026-01-01T00:00:00Z"}}
    if terminated:
        cs["lastState"] = {"terminated": terminated}
    return {"metadata": {"name": f"{app}-7d9f8b6c4-x2kqp", "namespace": ns,
                         "labels": {"app.kubernetes.io/name": app}},
            "status": {"phase": "Running", "containerStatuses": [cs]}}


def main():
    work = tempfile.mkdtemp(prefix="fb-verify.")
    proc, sim = start_sim(work)
    fake, kport = start_fake("kube_fake.py", work, "kube", "--k8s-token", "k8s-token-1",
                             "--argo-token", "argo-token-1")
    loki, lport = start_fake("loki_fake.py", work, "loki")
    token = os.path.join(work, "sa-token")
    with open(token, "w") as f:
        f.write("k8s-token-1\n")
    d = t.Daemon(work, sim, "verify", extra_env={"ARGOCD_TOKEN": "argo-token-1"})
    with open(d.cfg) as f:
        cfg = f.read().replace("engine:\n  retry_delay: 1s\n", "")
    with open(d.cfg, "w") as f:
        f.write(cfg + f"""engine:
  retry_delay: 1s
  verify_delay: 1s
  verify_max_checks: 30
kubernetes:
  url: http://127.0.0.1:{kport}
  token_file: {token}
argocd:
  url: http://127.0.0.1:{kport}
loki:
  url: http://127.0.0.1:{lport}
""")
    try:
        d.start()
        run(d, sim, kport, lport)
        loki_test(d, sim, kport, lport)
        slow_check_test(d, sim, kport)
    finally:
        d.stop()
        fake.terminate()
        fake.wait(10)
        loki.terminate()
        loki.wait(10)
        stop_sim(proc)
        if t.failed == 0:
            shutil.rmtree(work, ignore_errors=True)
        else:
            print(f"# kept {work}")
    print(f"1..{t.n}")
    return 1 if t.failed else 0


def run(d, sim, kport, lport):
    @t.test("pending until the pods are ready and Argo CD has synced the fix and is healthy; then resolved")
    def _():
        t.fake_ctl(kport, "/_fake/app", {"name": "grafana", "sync": "OutOfSync", "health": "Progressing",
                                  "revision": "0" * 40})
        iid, m, _a = t.trigger(sim)
        ns = t.incident_json(d, iid)["namespace"]
        t.fake_ctl(kport, "/_fake/pods", {"namespace": ns, "items": [pod("grafana", False, "ContainerCreating", ns=ns)]})
        sim.click(t.CHANNEL, m["ts"], "approve", user_id="U2")
        sim.wait_for(lambda s: (lambda c: c and "Verification: pending" in t.card_text(c))(t.card_for(s, iid)),
                     timeout=20, what="verification pending on the card")
        commit = t.git(d.repo, "rev-parse", "HEAD").strip()
        t.fake_ctl(kport, "/_fake/pods", {"namespace": ns, "items": [pod("grafana", True, ns=ns)]})
        time.sleep(1.5)
        c = t.card_for(sim.state(), iid)
        t.check("Resolved" not in t.card_text(c), "resolved before Argo CD synced the fix")
        t.fake_ctl(kport, "/_fake/app", {"name": "grafana", "sync": "Synced", "health": "Healthy", "revision": commit})
        st = sim.wait_for(lambda s: (lambda c: s if c and "Resolved" in t.card_text(c) else None)(t.card_for(s, iid)),
                          timeout=20, what="the resolved card")
        t.check("Verification: ok" in t.card_text(t.card_for(st, iid)), t.card_text(t.card_for(st, iid))[-400:])
        j = t.incident_json(d, iid)
        t.check(j["status"] == "resolved", j["status"])

    @t.test("OOMKilled again after the fix: a further raise is proposed; approving it makes a second commit")
    def _():
        log = t.oom_log().replace("grafana", "api")
        env = sim.slash(text="trigger " + log)
        a = sim.wait_for(lambda s: t.ack(s, env["envelope_id"]))
        iid = t.incident_id_from(a["payload"])
        time.sleep(0.3)
        ns = t.incident_json(d, iid)["namespace"]
        t.fake_ctl(kport, "/_fake/pods", {"namespace": ns, "items": [pod("api", False, "ContainerCreating", ns=ns)]})
        m = sim.wait_for(lambda s: (lambda c: c if c and "approve" in buttons(c) else None)(t.card_for(s, iid)),
                         what="the api card")
        sim.click(t.CHANNEL, m["ts"], "approve", user_id="U2")
        sim.wait_for(lambda s: (lambda c: c and "Committed" in t.card_text(c))(t.card_for(s, iid)))
        later = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=3)).strftime(
            "%Y-%m-%dT%H:%M:%SZ")
        t.fake_ctl(kport, "/_fake/pods", {"namespace": ns, "items": [pod(
            "api", False, "CrashLoopBackOff", restarts=1, ns=ns,
            terminated={"reason": "OOMKilled", "exitCode": 137, "finishedAt": later})]})
        c = sim.wait_for(lambda s: (lambda c: c if c and "approve" in buttons(c) and "v2" in t.card_text(c)
                                    else None)(t.card_for(s, iid)),
                         timeout=20, what="a further raise proposed on the same card")
        t.check("OOMKilled again" in json.dumps([x["blocks"] for x in t.thread(sim.state(), t.CHANNEL, m["ts"])])
                or "failed" in t.card_text(c), "the failure is not shown")
        t.fake_ctl(kport, "/_fake/pods", {"namespace": ns, "items": [pod("api", True, ns=ns)]})
        sim.click(t.CHANNEL, m["ts"], "approve", user_id="U2")
        sim.wait_for(lambda s: (lambda c: c and "Resolved" in t.card_text(c))(t.card_for(s, iid)),
                     timeout=20, what="resolved after the second fix")
        body = t.git(d.repo, "log", "--format=%B")
        t.check(body.count(f"Incident-Id: {iid}") == 2 and "Incident-Step: 2" in body, body[:600])



def loki_test(d, sim, kport, lport):
    @t.test("the same error logged in Loki after the fix fails the verification, though the pods are ready")
    def _():
        log = t.oom_log().replace("grafana", "loki")
        env = sim.slash(text="trigger " + log)
        a = sim.wait_for(lambda s: t.ack(s, env["envelope_id"]))
        iid = t.incident_id_from(a["payload"])
        m = sim.wait_for(lambda s: (lambda c: c if c and "approve" in buttons(c) else None)(t.card_for(s, iid)),
                         what="the loki card")
        ns = t.incident_json(d, iid)["namespace"]
        t.fake_ctl(kport, "/_fake/pods", {"namespace": ns, "items": [pod("loki", False, "ContainerCreating", ns=ns)]})
        sim.click(t.CHANNEL, m["ts"], "approve", user_id="U2")
        sim.wait_for(lambda s: (lambda c: c and "Committed" in t.card_text(c))(t.card_for(s, iid)))
        t.fake_ctl(lport, "/_fake/push", {"labels": {"namespace": ns, "app": "loki"},
                                   "lines": [[time.time_ns(), "Last State: Terminated  Reason: OOMKilled"]]})
        time.sleep(0.2)
        t.fake_ctl(kport, "/_fake/pods", {"namespace": ns, "items": [pod("loki", True, ns=ns)]})
        st = sim.wait_for(lambda s: (lambda c: s if c and "still logged" in t.card_text(c) else None)(t.card_for(s, iid)),
                          timeout=20, what="the failed verification on the card")
        t.check("Resolved" not in t.card_text(t.card_for(st, iid)), "resolved although the error is still logged")


def slow_check_test(d, sim, kport):
    first = {}

    @t.test("a slow Kubernetes API on one incident's verification does not delay another incident's card")
    def _():
        log = t.oom_log()
        first["log"] = log
        env = sim.slash(text="trigger " + log)
        iid = t.incident_id_from(sim.wait_for(lambda s: t.ack(s, env["envelope_id"]))["payload"])
        m = sim.wait_for(lambda s: (lambda c: c if c and "approve" in buttons(c) else None)(t.card_for(s, iid)),
                         what="the first card")
        ns = t.incident_json(d, iid)["namespace"]
        t.fake_ctl(kport, "/_fake/pods", {"namespace": ns, "items": [pod("grafana", False, "ContainerCreating", ns=ns)]})
        t.fake_ctl(kport, "/_fake/delay", {"namespace": ns, "seconds": 8})
        sim.click(t.CHANNEL, m["ts"], "approve", user_id="U2")
        deadline = time.time() + 20
        while t.fake_ctl(kport, "/_fake/inflight")["inflight"] == 0 and time.time() < deadline:
            time.sleep(0.05)
        t.check(t.fake_ctl(kport, "/_fake/inflight")["inflight"] > 0, "the slow check never started")
        env2 = sim.slash(text="trigger " + t.oom_log())
        iid2 = t.incident_id_from(sim.wait_for(lambda s: t.ack(s, env2["envelope_id"]))["payload"])
        sim.wait_for(lambda s: (lambda c: c if c and "approve" in buttons(c) else None)(t.card_for(s, iid2)),
                     timeout=20, what="the other incident's card")
        # the card is there while the slow check is still waiting for its answer
        t.check(t.fake_ctl(kport, "/_fake/inflight")["inflight"] > 0,
                "the other incident's card came only after the slow check had answered")
        first.update(iid=iid, ns=ns)

    @t.test("a repeat counted while the incident's verification is on a worker is kept when that step commits")
    def _():
        iid, ns = first["iid"], first["ns"]
        t.check(t.fake_ctl(kport, "/_fake/inflight")["inflight"] > 0, "the slow check is over already")
        env = sim.slash(text="trigger " + first["log"])  # the same problem again
        sim.wait_for(lambda s: t.ack(s, env["envelope_id"]))
        deadline = time.time() + 10
        while t.incident_json(d, iid)["state"].get("repeats") != 1 and time.time() < deadline:
            time.sleep(0.1)
        t.check(t.incident_json(d, iid)["state"].get("repeats") == 1, "the repeat was not counted")
        t.fake_ctl(kport, "/_fake/delay", {"namespace": ns, "seconds": 0})
        deadline = time.time() + 20  # the slow check answers, its step commits
        while t.fake_ctl(kport, "/_fake/inflight")["inflight"] > 0 and time.time() < deadline:
            time.sleep(0.1)
        time.sleep(1.0)
        j = t.incident_json(d, iid)
        t.check(j["state"].get("verify", {}).get("checks_done", 0) >= 1, "the slow step never committed")
        t.check(j["state"].get("repeats") == 1, f"the step wrote the repeat count back: {j['state'].get('repeats')}")


if __name__ == "__main__":
    sys.exit(main())
