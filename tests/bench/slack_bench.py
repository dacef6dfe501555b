"""make bench: `firebreak serve` (the optimised build) against the Slack simulator.

For N incidents: trigger (slash command) -> card -> approve -> commit -> card
update.  Then W more incidents are left waiting for a decision, to measure
memory with many incidents open.  Prints a Markdown table; figures come from
the simulator's clock (ack latency: envelope written to the socket -> ack
read back) and from /proc for the daemon's CPU time and RSS.

    /usr/bin/python3 tests/bench/slack_bench.py [N] [W]
"""
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(TOP, "tests", "fakes"))
from simclient import APP_TOKEN, BOT_TOKEN, ack, start_sim, stop_sim  # noqa: E402

FB = os.path.join(TOP, "build", "firebreak")
OOM_LOG = open(os.path.join(TOP, "tests", "data", "demo", "oom.log")).read()
TICK = os.sysconf("SC_CLK_TCK")


def proc_status(pid, key):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])  # kB
    return 0


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def pct(values, p):
    if not values:
        return float("nan")
    v = sorted(values)
    return v[min(len(v) - 1, int(round(p / 100.0 * (len(v) - 1))))]


def new_repo(path, apps):
    """The demo repository plus one values file per benchmark app."""
    shutil.copytree(os.path.join(TOP, "tests", "data", "demo", "gitops"), path)
    src = os.path.join(path, "helm-values", "grafana", "values.yaml")
    for app in apps:
        os.makedirs(os.path.join(path, "helm-values", app))
        shutil.copy(src, os.path.join(path, "helm-values", app, "values.yaml"))
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "init"]):
        subprocess.run(["git", "-C", path, "-c", "user.name=b", "-c", "user.email=b@b", *args],
                       check=True)


def wait_for(sim, pred, timeout=60, interval=0.005):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        st = sim.state()
        v = pred(st)
        if v:
            return v
        time.sleep(interval)
    raise TimeoutError("bench: timed out")


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 50
    waiting = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
    work = tempfile.mkdtemp(prefix="fb-bench.")
    proc, sim = start_sim(work)
    repo = os.path.join(work, "repo")
    new_repo(repo, [f"bench{i}" for i in range(n)] + [f"wait{i}" for i in range(waiting)])
    cfg = os.path.join(work, "bench.yaml")
    with open(cfg, "w") as f:
        # pacing off: the benchmark measures firebreak, not Slack's 1 msg/s
        f.write("log_level: warn\nslack:\n  post_interval_ms: 0\n")
    env = dict(os.environ, SLACK_APP_TOKEN=APP_TOKEN, SLACK_BOT_TOKEN=BOT_TOKEN,
               SLACK_API_URL=sim.api_url, SLACK_CHANNEL="C1", FIREBREAK_DB=os.path.join(work, "db"),
               GITOPS_REPO=repo, FIREBREAK_CONFIG="")
    log = open(os.path.join(work, "fb.log"), "w")
    fb = subprocess.Popen([FB, "-c", cfg, "serve"], env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for(sim, lambda s: any(c.get("hello_at") for c in s["connections"]))
        time.sleep(1.0)
        idle_rss = proc_status(fb.pid, "VmRSS")
        idle_anon = proc_status(fb.pid, "RssAnon")
        cpu0 = cpu_seconds(fb.pid)

        trig, appr = [], []
        for i in range(n):
            # trigger -> card
            t0 = time.monotonic()
            env_t = sim.slash(text="trigger " + OOM_LOG.replace("grafana", f"bench{i}"))
            a = wait_for(sim, lambda s: ack(s, env_t["envelope_id"]))
            iid = re.search(r"incident-\d{14}-[0-9a-f]{4}", json.dumps(a["payload"])).group(0)
            m = wait_for(sim, lambda s: next((m for m in s["messages"] if not m["thread_ts"]
                                              and iid in m["text"] and "approve" in json.dumps(m["blocks"])), None))
            trig.append((time.monotonic() - t0) * 1000)
            # approve -> commit -> card update
            t1 = time.monotonic()
            sim.click("C1", m["ts"], "approve", user_id="U2")
            wait_for(sim, lambda s: next((x for x in s["messages"] if x["ts"] == m["ts"]
                                          and "Committed" in json.dumps(x["blocks"])), None))
            appr.append((time.monotonic() - t1) * 1000)
        cpu_per = (cpu_seconds(fb.pid) - cpu0) / n
        seq_acks = [a["latency_ms"] for a in sim.state()["acks"]]

        # many incidents waiting for a decision
        for i in range(waiting):
            sim.slash(text="trigger " + OOM_LOG.replace("grafana", f"wait{i}"))
        wait_for(sim, lambda s: len([m for m in s["messages"] if not m["thread_ts"]]) >= n + waiting
                 and len(s["acks"]) >= 2 * n + waiting, timeout=600, interval=1.0)
        time.sleep(1.0)
        st = sim.state()
        acks = [a["latency_ms"] for a in st["acks"]]
        waiting_rss = proc_status(fb.pid, "VmRSS")
        waiting_anon = proc_status(fb.pid, "RssAnon")
        peak = proc_status(fb.pid, "VmHWM")
        violations = st["violations"]
    finally:
        fb.terminate()
        fb.wait(30)
        stop_sim(proc)
        log.close()
    inner = re.search(r"serve.ack_latency n=(\d+) p50_us=(\d+) p99_us=(\d+) max_us=(\d+)",
                      open(os.path.join(work, "fb.log")).read())

    rows = [
        ("Ack latency, one at a time (the end-to-end phase), p50 / p99 / max (ms)",
         f"{pct(seq_acks, 50):.2f} / {pct(seq_acks, 99):.2f} / {max(seq_acks):.2f}"),
        (f"Ack latency, all {len(acks)} envelopes incl. a burst of {waiting}, p50 / p99 / max (ms)",
         f"{pct(acks, 50):.2f} / {pct(acks, 99):.2f} / {max(acks):.2f}"),
        ("Inside firebreak, all envelopes: read -> committed -> ack queued, p50 / p99 / max (ms)",
         "%.3f / %.3f / %.3f" % tuple(int(inner.group(i)) / 1000 for i in (2, 3, 4)) if inner else "n/a"),
        ("trigger -> card p50 / p99 (ms)", f"{pct(trig, 50):.1f} / {pct(trig, 99):.1f}"),
        ("approve -> card update p50 / p99 (ms)", f"{pct(appr, 50):.1f} / {pct(appr, 99):.1f}"),
        ("CPU seconds per incident (trigger..commit)", f"{cpu_per:.4f}"),
        ("RSS idle (MB): total / private (RssAnon)", f"{idle_rss / 1024:.1f} / {idle_anon / 1024:.1f}"),
        (f"RSS with {waiting} incidents waiting (MB): total / private",
         f"{waiting_rss / 1024:.1f} / {waiting_anon / 1024:.1f}"),
        ("peak RSS (MB)", f"{peak / 1024:.1f}"),
        ("envelopes acked / protocol violations", f"{len(acks)} / {len(violations)}"),
    ]
    print(f"| firebreak serve, {n} incidents end to end, then {waiting} waiting | |")
    print("|---|---|")
    for k, v in rows:
        print(f"| {k} | {v} |")
    shutil.rmtree(work, ignore_errors=True)
    return 1 if violations else 0


if __name__ == "__main__":
    sys.exit(main())
