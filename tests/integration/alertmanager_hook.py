"""The Alertmanager webhook, end to end with Debian's real prometheus-alertmanager.

amtool fires an alert; Alertmanager posts it (bearer token) to `firebreak
serve`; the card appears in the Slack simulator; a resolved notification
updates the card.  Also: the hook's refusals (no token, bad body) and a
repeated notification that must not open a second incident; kube-prometheus-stack's
Watchdog is no incident and KubePersistentVolumeFillingUp gets a volume fix.  TAP output.
"""
import datetime
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import slack_serve as t  # noqa: E402
from simclient import buttons, card, start_sim, stop_sim  # noqa: E402

TOKEN = "am-" + "5" * 28


def post(port, body, token=TOKEN):
    import urllib.error
    import urllib.request
    req = urllib.request.Request(f"http://127.0.0.1:{port}/hooks/alertmanager", data=body,
                                 method="POST", headers={"Content-Type": "application/json"})
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def amtool(am_port, *args):
    return subprocess.run(["amtool", f"--alertmanager.url=http://127.0.0.1:{am_port}", "alert", "add",
                           *args], capture_output=True, text=True, timeout=20)


def main():
    if not shutil.which("prometheus-alertmanager") or not shutil.which("amtool"):
        print("ok 1 - # SKIP prometheus-alertmanager is not installed (make deps)")
        print("1..1")
        return 0
    work = tempfile.mkdtemp(prefix="fb-am.")
    proc, sim = start_sim(work)
    d = t.Daemon(work, sim, "am", extra_env={"ALERTMANAGER_TOKEN": TOKEN})
    am = None
    try:
        d.start()
        am_port = t.free_port()
        with open(os.path.join(work, "alertmanager.yml"), "w") as f:
            f.write(f"""route:
  receiver: firebreak
  group_by: ['alertname', 'namespace']
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
- name: firebreak
  webhook_configs:
  - url: http://127.0.0.1:{d.http_port}/hooks/alertmanager
    send_resolved: true
    http_config:
      authorization: {{type: Bearer, credentials: {TOKEN}}}
""")
        am_log = open(os.path.join(work, "alertmanager.log"), "w")
        am = subprocess.Popen(["prometheus-alertmanager", f"--config.file={work}/alertmanager.yml",
                               f"--storage.path={work}/am", f"--web.listen-address=127.0.0.1:{am_port}",
                               "--cluster.listen-address="], stdout=am_log, stderr=subprocess.STDOUT)
        am_log.close()
        run(d, sim, am_port)
    finally:
        if am:
            am.terminate()
            am.wait(10)
        d.stop()
        stop_sim(proc)
        if t.failed == 0:
            shutil.rmtree(work, ignore_errors=True)
        else:
            print(f"# kept {work}")
    print(f"1..{t.n}")
    return 1 if t.failed else 0


def run(d, sim, am_port):
    labels = ["PodOOMKilled", "namespace=monitoring", "pod=grafana-7d9f8b6c4-x2kqp", "container=grafana",
              "app=grafana", "severity=critical"]
    notes = ["--annotation=summary=Container grafana in monitoring was OOMKilled",
             "--annotation=description=Reason: OOMKilled, exit code 137, memory limit 512Mi, 6 restarts"]
    state = {}

    @t.test("the hook refuses a missing token (401) and a body that is not a webhook payload (400)")
    def _():
        code, _b = post(d.http_port, b"{}", token=None)
        t.check(code == 401, code)
        code, _b = post(d.http_port, b"not json")
        t.check(code == 400, code)
        code, _b = post(d.http_port, b'{"alerts": 5}')
        t.check(code == 400, code)

    @t.test("amtool fires an alert; Alertmanager delivers it; a card arrives without anyone typing")
    def _():
        deadline = time.monotonic() + 15
        while True:  # Alertmanager may still be starting
            r = amtool(am_port, *labels, *notes)
            if r.returncode == 0 or time.monotonic() > deadline:
                break
            time.sleep(0.3)
        t.check(r.returncode == 0, r.stderr)
        m = sim.wait_for(lambda s: next((m for m in card(s, t.CHANNEL) if "grafana" in m["text"]
                                         and "Out of memory" in m["text"] and "approve" in buttons(m)), None),
                         timeout=30, what="the card from the alert, waiting for a decision")
        state["card"] = m
        incs = json.loads(subprocess.run([t.FB, "incidents", "list", "--json"], env=d.env,
                                         capture_output=True, text=True).stdout)
        t.check(len(incs) == 1 and incs[0]["source"] == "alertmanager", incs)
        state["id"] = incs[0]["id"]

    @t.test("the same alert notified again adds to the open incident, no second card")
    def _():
        st = sim.state()
        env = [e for e in st["calls"] if e["method"] == "chat.postMessage"]
        n_cards = len(card(st, t.CHANNEL))
        fp = json.loads(subprocess.run([t.FB, "incidents", "show", state["id"], "--json"], env=d.env,
                                       capture_output=True, text=True).stdout)["state"]["fingerprint"]
        body = {"version": "4", "status": "firing", "receiver": "firebreak",
                "alerts": [{"status": "firing", "fingerprint": fp[3:],
                            "labels": {"alertname": "PodOOMKilled", "app": "grafana"},
                            "annotations": {"summary": "OOMKilled again"}}]}
        code, b = post(d.http_port, json.dumps(body).encode())
        t.check(code == 200 and "0 new" in b, (code, b))
        time.sleep(0.5)
        t.check(len(card(sim.state(), t.CHANNEL)) == n_cards, "a second card")
        tl = json.loads(subprocess.run([t.FB, "incidents", "show", state["id"], "--json"], env=d.env,
                                       capture_output=True, text=True).stdout)["timeline"]
        t.check(any(e["event"] == "incident.repeat" for e in tl), tl)
        del env

    @t.test("the alert resolves in Alertmanager; the card says so")
    def _():
        end = (datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(seconds=1)).strftime(
            "%Y-%m-%dT%H:%M:%SZ")
        r = amtool(am_port, *labels, *notes, f"--end={end}")
        t.check(r.returncode == 0, r.stderr)
        sim.wait_for(lambda s: next((m for m in card(s, t.CHANNEL) if m["ts"] == state["card"]["ts"]
                                     and "resolved" in json.dumps(m["blocks"])), None),
                     timeout=30, what="the card saying the alert resolved")

    @t.test("kube-prometheus-stack's Watchdog (severity=none) is no incident; "
            "KubePersistentVolumeFillingUp (critical) is volume_filling with a volume fix")
    def _():
        r = amtool(am_port, "Watchdog", "severity=none",
                   "--annotation=summary=An alert that should always be firing to certify that "
                   "Alertmanager is working properly.")
        t.check(r.returncode == 0, r.stderr)
        r = amtool(am_port, "KubePersistentVolumeFillingUp", "namespace=monitoring",
                   "persistentvolumeclaim=grafana", "job=kubelet", "metrics_path=/metrics",
                   "service=kube-prometheus-stack-kubelet", "node=ip-10-0-1-23", "severity=critical",
                   "--annotation=summary=PersistentVolume is filling up.",
                   "--annotation=description=The PersistentVolume claimed by grafana in Namespace "
                   "monitoring is only 2.31% free.",
                   "--annotation=runbook_url=https://runbooks.prometheus-operator.dev/runbooks/"
                   "kubernetes/kubepersistentvolumefillingup")
        t.check(r.returncode == 0, r.stderr)
        m = sim.wait_for(lambda s: next((m for m in card(s, t.CHANNEL) if "Volume filling up" in m["text"]
                                         and "approve" in buttons(m)), None),
                         timeout=30, what="the card of the volume alert, with a fix to approve")
        t.check("15Gi" in json.dumps(m["blocks"]), "the card's diff grows persistence.size to 15Gi")
        time.sleep(2)  # Watchdog went out in its own group at the same time
        incs = json.loads(subprocess.run([t.FB, "incidents", "list", "--json"], env=d.env,
                                         capture_output=True, text=True).stdout)
        t.check(len(incs) == 2, [(i["id"], i.get("category")) for i in incs])
        t.check(not any("Watchdog" in json.dumps(i) for i in incs), "an incident from Watchdog")


if __name__ == "__main__":
    sys.exit(main())
