"""make bench: `firebreak serve` (the optimised build) against the Slack simulator.

Three phases against one daemon:
  1. one at a time: N incidents, each trigger (slash command) -> card ->
     approve -> commit -> card update before the next starts;
  2. the load of issue 8: L incidents triggered at R per second, each
     approved as soon as its card has buttons, until every card says
     Committed: ack p99, CPU ms per incident end to end, peak RSS, and
     the Web API calls per incident (chat.postMessage, chat.update before
     the click and in all), read from the simulator's call log;
  3. W more incidents left waiting for a decision (RSS with many open).
Prints Markdown tables; figures come from the simulator's clock (ack
latency: envelope written to the socket -> ack read back) and from /proc
for the daemon's CPU time and RSS.  The repository has an Argo CD
Application and a values file per app (N + L + W apps).

    BENCH_N=50 BENCH_LOAD=200 BENCH_RATE=10 BENCH_WAITING=1000 \
        /usr/bin/python3 tests/bench/slack_bench.py
With BENCH_STRACE=50, a fourth run: that many incidents of the load on a
fresh daemon under `strace -f -c` (file syscalls per incident).
(positional N and W still work: slack_bench.py [N] [W])
"""
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import types

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(TOP, "tests", "fakes"))
from simclient import APP_TOKEN, BOT_TOKEN, ack, start_sim, stop_sim  # noqa: E402

FB = os.environ.get("FIREBREAK_BIN") or os.path.join(TOP, "build", "firebreak")
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
    """The demo repository plus an Application and a values file per app."""
    shutil.copytree(os.path.join(TOP, "tests", "data", "demo", "gitops"), path)
    src = os.path.join(path, "helm-values", "grafana", "values.yaml")
    manifest = open(os.path.join(path, "apps", "grafana.yaml")).read()
    for app in apps:
        os.makedirs(os.path.join(path, "helm-values", app))
        shutil.copy(src, os.path.join(path, "helm-values", app, "values.yaml"))
        with open(os.path.join(path, "apps", app + ".yaml"), "w") as f:
            f.write(manifest.replace("grafana", app))
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


IID = re.compile(r"incident-\d{14}-[0-9a-f]{4}")


def env_int(name, argi, default):
    if os.environ.get(name):
        return int(os.environ[name])
    return int(sys.argv[argi]) if len(sys.argv) > argi else default


def sequential(sim, fb, n):
    """Phase 1: trigger -> card -> approve -> committed, one at a time."""
    trig, appr = [], []
    acks0 = len(sim.state()["acks"])
    cpu0 = cpu_seconds(fb.pid)
    for i in range(n):
        t0 = time.monotonic()
        env_t = sim.slash(text="trigger " + OOM_LOG.replace("grafana", f"bench{i}"))
        a = wait_for(sim, lambda s: ack(s, env_t["envelope_id"]))
        iid = IID.search(json.dumps(a["payload"])).group(0)
        m = wait_for(sim, lambda s: next((m for m in s["messages"] if not m["thread_ts"]
                                          and iid in m["text"] and "approve" in json.dumps(m["blocks"])), None))
        trig.append((time.monotonic() - t0) * 1000)
        t1 = time.monotonic()
        sim.click("C1", m["ts"], "approve", user_id="U2")
        wait_for(sim, lambda s: next((x for x in s["messages"] if x["ts"] == m["ts"]
                                      and "Committed" in json.dumps(x["blocks"])), None))
        appr.append((time.monotonic() - t1) * 1000)
    cpu_per = (cpu_seconds(fb.pid) - cpu0) / max(n, 1)
    acks = [a["latency_ms"] for a in sim.state()["acks"][acks0:] if a["latency_ms"] is not None]
    return trig, appr, cpu_per, acks


def settle(sim, quiet=1.0, timeout=120):
    """Waits until the daemon has made no Web API call for `quiet` seconds."""
    deadline = time.monotonic() + timeout
    last, since = -1, time.monotonic()
    while time.monotonic() < deadline:
        n = len(sim.state()["calls"])
        if n != last:
            last, since = n, time.monotonic()
        elif time.monotonic() - since >= quiet:
            return
        time.sleep(0.1)


def load(sim, fb, n, rate):
    """Phase 2: n incidents triggered at `rate` per second, each approved as
    soon as its card has buttons, until every card says Committed."""
    st = sim.state()
    calls0, t_sim0 = len(st["calls"]), st["now"]
    cpu0 = cpu_seconds(fb.pid)
    envs, by_env = set(), {}
    cards = {}  # iid -> {"ts", "click_env", "done"}
    start = time.monotonic()
    deadline = start + n / rate + 180
    i = 0
    while time.monotonic() < deadline:
        now = time.monotonic()
        while i < n and now >= start + i / rate:
            e = sim.slash(text="trigger " + OOM_LOG.replace("grafana", f"load{i}"))
            envs.add(e["envelope_id"])
            by_env[e["envelope_id"]] = i
            i += 1
        st = sim.state()
        for a in st["acks"]:
            if a["envelope_id"] in by_env:
                m = IID.search(json.dumps(a["payload"]))
                if m:
                    cards.setdefault(m.group(0), {"ts": None, "click_env": None, "done": False})
                del by_env[a["envelope_id"]]
        for m in st["messages"]:
            if m["thread_ts"]:
                continue
            hit = IID.search(m["text"] or "")
            c = cards.get(hit.group(0)) if hit else None
            if not c:
                continue
            blocks = json.dumps(m["blocks"])
            c["ts"] = m["ts"]
            if not c["click_env"] and "approve" in blocks:
                c["click_env"] = sim.click("C1", m["ts"], "approve", user_id="U2")["envelope_id"]
                envs.add(c["click_env"])
            c["done"] = c["done"] or "Committed" in blocks
        if i >= n and len(cards) >= n and all(c["done"] for c in cards.values()):
            break
        time.sleep(0.05)
    else:
        raise TimeoutError(f"bench: load phase: {sum(c['done'] for c in cards.values())}/{n} committed")
    wall = time.monotonic() - start
    settle(sim)
    cpu_ms = (cpu_seconds(fb.pid) - cpu0) * 1000 / n
    st = sim.state()
    sent = {e["id"]: (e["sent_at"][0] if isinstance(e["sent_at"], list) and e["sent_at"] else e["sent_at"])
            for e in st["envelopes"]}
    acks = [a["latency_ms"] for a in st["acks"] if a["envelope_id"] in envs and a["latency_ms"] is not None]
    by_ts = {c["ts"]: c for c in cards.values()}
    posts = {iid: 0 for iid in cards}
    upd_before = {iid: 0 for iid in cards}
    upd_all = {iid: 0 for iid in cards}
    replies = 0
    for call in st["calls"][calls0:]:
        body = call.get("body") or {}
        if call["method"] == "chat.postMessage":
            if body.get("thread_ts"):
                replies += 1
                continue
            hit = IID.search(json.dumps(body))
            if hit and hit.group(0) in posts:
                posts[hit.group(0)] += 1
        elif call["method"] == "chat.update":
            c = by_ts.get(body.get("ts"))
            if not c:
                continue
            iid = next(k for k, v in cards.items() if v is c)
            upd_all[iid] += 1
            if call["t"] < sent.get(c["click_env"], float("inf")):
                upd_before[iid] += 1
    return {
        "wall": wall, "acks": acks, "cpu_ms": cpu_ms, "hwm": proc_status(fb.pid, "VmHWM"),
        "posts": list(posts.values()), "upd_before": list(upd_before.values()),
        "upd_all": list(upd_all.values()), "replies": replies / n,
        "calls": len(st["calls"]) - calls0, "t_sim0": t_sim0,
    }


def waiting_phase(sim, fb, waiting, before):
    """Phase 3: `waiting` more incidents left waiting for a decision."""
    acks0 = len(sim.state()["acks"])
    for i in range(waiting):
        sim.slash(text="trigger " + OOM_LOG.replace("grafana", f"wait{i}"))
    wait_for(sim, lambda s: len([m for m in s["messages"] if not m["thread_ts"]]) >= before + waiting
             and len(s["acks"]) >= acks0 + waiting, timeout=600, interval=1.0)
    time.sleep(1.0)
    st = sim.state()
    acks = [a["latency_ms"] for a in st["acks"][acks0:] if a["latency_ms"] is not None]
    return acks, proc_status(fb.pid, "VmRSS"), proc_status(fb.pid, "RssAnon")


def mean(v):
    return sum(v) / len(v) if v else float("nan")


def free_port():
    with socket.socket() as sk:
        sk.bind(("127.0.0.1", 0))
        return sk.getsockname()[1]


def start_daemon(work, sim, repo, strace_out=None):
    """`firebreak serve` against the simulator; under `strace -f -c` when
    strace_out is given.  Returns (Popen, log file)."""
    cfg = os.path.join(work, "bench.yaml")
    with open(cfg, "w") as f:
        # pacing off: the benchmark measures firebreak, not Slack's 1 msg/s;
        # storm control off: every incident's own card is what is timed
        # (storms: storm_bench.sh); a free port for the HTTP server, next to
        # other runs on this host
        f.write(f"log_level: warn\nslack:\n  post_interval_ms: 0\nstorm:\n  rate: 0\n"
                f"http:\n  listen: 127.0.0.1:{free_port()}\n")
    env = dict(os.environ, SLACK_APP_TOKEN=APP_TOKEN, SLACK_BOT_TOKEN=BOT_TOKEN,
               SLACK_API_URL=sim.api_url, SLACK_CHANNEL="C1", FIREBREAK_DB=os.path.join(work, "db"),
               GITOPS_REPO=repo, FIREBREAK_CONFIG="")
    log = open(os.path.join(work, "fb.log"), "w")
    cmd = [FB, "-c", cfg, "serve"]
    if strace_out:
        cmd = ["strace", "-f", "-c", "-e", "trace=" + TRACED, "-o", strace_out] + cmd
    elif os.environ.get("BENCH_WRAP"):  # e.g. "perf record -g -o /tmp/fb.perf --"
        cmd = os.environ["BENCH_WRAP"].split() + cmd
    return subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT), log


def stop_daemon(p, timeout=30):
    """SIGTERM, then SIGKILL when it has not ended after `timeout` s."""
    if p.poll() is None:
        p.terminate()
    try:
        p.wait(timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()


TRACED = "openat,newfstatat,getdents64,pwrite64,fdatasync"


def strace_phase(nload, rate, extra_apps):
    """The load phase again, on a fresh daemon under `strace -f -c`: the
    file syscalls per incident (start-up included, spread over nload)."""
    work = tempfile.mkdtemp(prefix="fb-bench-strace.")
    proc, sim = start_sim(work)
    repo = os.path.join(work, "repo")
    new_repo(repo, [f"load{i}" for i in range(nload)] + [f"idle{i}" for i in range(extra_apps)])
    out = os.path.join(work, "strace.out")
    tracer, log = start_daemon(work, sim, repo, out)
    child = None
    try:
        wait_for(sim, lambda s: any(c.get("hello_at") for c in s["connections"]))
        with open(f"/proc/{tracer.pid}/task/{tracer.pid}/children") as f:
            child = int(f.read().split()[0])
        load(sim, types.SimpleNamespace(pid=child), nload, rate)
    finally:
        if child:
            os.kill(child, signal.SIGTERM)
        stop_daemon(tracer, 60)
        stop_sim(proc)
        log.close()
    counts = {}
    for line in open(out):
        f = line.split()
        if len(f) >= 5 and f[-1] in TRACED.split(",") and f[3].isdigit():
            counts[f[-1]] = int(f[3])
    shutil.rmtree(work, ignore_errors=True)
    print(f"| firebreak serve under strace -f -c, {nload} incidents at {rate:g}/s, "
          f"{nload + extra_apps} apps | per incident |")
    print("|---|---|")
    for name in TRACED.split(","):
        print(f"| {name} | {counts.get(name, 0) / nload:.1f} |")
    print()


def main():
    n = env_int("BENCH_N", 1, 50)
    waiting = env_int("BENCH_WAITING", 2, 1000)
    nload = env_int("BENCH_LOAD", 3, 200)
    rate = float(os.environ.get("BENCH_RATE") or 10)
    nstrace = int(os.environ.get("BENCH_STRACE") or 0)
    work = tempfile.mkdtemp(prefix="fb-bench.")
    proc, sim = start_sim(work)
    repo = os.path.join(work, "repo")
    new_repo(repo, [f"bench{i}" for i in range(n)] + [f"load{i}" for i in range(nload)]
             + [f"wait{i}" for i in range(waiting)])
    fb, log = start_daemon(work, sim, repo)
    try:
        wait_for(sim, lambda s: any(c.get("hello_at") for c in s["connections"]))
        time.sleep(1.0)
        idle_rss = proc_status(fb.pid, "VmRSS")
        idle_anon = proc_status(fb.pid, "RssAnon")
        trig, appr, cpu_per, seq_acks = sequential(sim, fb, n)
        ld = load(sim, fb, nload, rate) if nload else None
        cards = len([m for m in sim.state()["messages"] if not m["thread_ts"]])
        wait_acks, waiting_rss, waiting_anon = waiting_phase(sim, fb, waiting, cards)
        peak = proc_status(fb.pid, "VmHWM")
        st = sim.state()
        all_acks = [a["latency_ms"] for a in st["acks"] if a["latency_ms"] is not None]
        violations = st["violations"]
    finally:
        stop_daemon(fb)
        stop_sim(proc)
        log.close()
    inner = re.search(r"serve.ack_latency n=(\d+) p50_us=(\d+) p99_us=(\d+) max_us=(\d+)",
                      open(os.path.join(work, "fb.log")).read())

    def lat(v):
        return f"{pct(v, 50):.2f} / {pct(v, 99):.2f} / {max(v):.2f}" if v else "n/a"

    if ld:
        print(f"| firebreak serve, {nload} incidents at {rate:g}/s: trigger, card, approve, commit, update"
              " | | target |")
        print("|---|---|---|")
        for k, v, t in (
            ("wall time until every card said Committed (s)", f"{ld['wall']:.1f}",
             f"{nload / rate:.0f} s of triggers"),
            (f"Ack latency, {len(ld['acks'])} envelopes, p50 / p99 / max (ms)", lat(ld["acks"]), "p99 <= 2"),
            ("CPU per incident, end to end (ms)", f"{ld['cpu_ms']:.1f}", "<= 12"),
            ("peak RSS (MB)", f"{ld['hwm'] / 1024:.1f}", "<= 20"),
            ("chat.postMessage (top level) per incident: mean / max", f"{mean(ld['posts']):.2f} / {max(ld['posts'])}",
             "<= 1"),
            ("chat.update before the click per incident: mean / max",
             f"{mean(ld['upd_before']):.2f} / {max(ld['upd_before'])}", "<= 1"),
            ("chat.update in all per incident: mean / max", f"{mean(ld['upd_all']):.2f} / {max(ld['upd_all'])}", ""),
            ("thread replies per incident (mean)", f"{ld['replies']:.2f}", ""),
        ):
            print(f"| {k} | {v} | {t} |")
        print()
    rows = [
        ("Ack latency, one at a time (the end-to-end phase), p50 / p99 / max (ms)", lat(seq_acks)),
        (f"Ack latency, the burst of {waiting} waiting, p50 / p99 / max (ms)", lat(wait_acks)),
        (f"Ack latency, all {len(all_acks)} envelopes, p50 / p99 / max (ms)", lat(all_acks)),
        ("Inside firebreak, all envelopes: read -> committed -> ack queued, p50 / p99 / max (ms)",
         "%.3f / %.3f / %.3f" % tuple(int(inner.group(i)) / 1000 for i in (2, 3, 4)) if inner else "n/a"),
        ("trigger -> card p50 / p99 (ms)", f"{pct(trig, 50):.1f} / {pct(trig, 99):.1f}"),
        ("approve -> card update p50 / p99 (ms)", f"{pct(appr, 50):.1f} / {pct(appr, 99):.1f}"),
        ("CPU seconds per incident (trigger..commit), one at a time", f"{cpu_per:.4f}"),
        ("RSS idle (MB): total / private (RssAnon)", f"{idle_rss / 1024:.1f} / {idle_anon / 1024:.1f}"),
        (f"RSS with {waiting} incidents waiting (MB): total / private",
         f"{waiting_rss / 1024:.1f} / {waiting_anon / 1024:.1f}"),
        ("peak RSS, whole run (MB)", f"{peak / 1024:.1f}"),
        ("envelopes acked / protocol violations", f"{len(all_acks)} / {len(violations)}"),
    ]
    print(f"| firebreak serve, {n} incidents one at a time, then {waiting} waiting | |")
    print("|---|---|")
    for k, v in rows:
        print(f"| {k} | {v} |")
    if not os.environ.get("BENCH_KEEP"):
        shutil.rmtree(work, ignore_errors=True)
    else:
        print(f"# kept {work}")
    if nstrace and shutil.which("strace"):
        print()
        strace_phase(nstrace, rate, 200)
    return 1 if violations else 0


if __name__ == "__main__":
    sys.exit(main())
