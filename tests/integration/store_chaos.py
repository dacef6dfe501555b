"""Chaos for the store and for Slack's API: `firebreak serve` with its
database on a full filesystem (a 2 MB tmpfs, or a loop-mounted ext4, or
RLIMIT_FSIZE), read-only, locked by another process and corrupted at start,
and with Slack's Web API down for a while.  Each case checks the clear
line, that nothing acknowledged is lost, and the recovery when the cause
goes.  Speaks TAP; run by tests/integration/store_chaos.sh.
"""
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import slack_serve as ss  # noqa: E402  (its main() runs only as a script)
from slack_serve import Daemon, check, http, tap, test  # noqa: E402

KEY = "k-" + "5" * 30


def api_trigger(d, app, timeout=10):
    body = json.dumps({"log": ss.OOM_LOG, "user": "U1", "app": app}).encode()
    try:
        code, text, _t = http(d.http_port, "/api/v1/incidents", key=KEY, method="POST", body=body)
    except OSError as e:  # a timeout is an answer too: not 201
        return 0, str(e)
    return code, text


def health(d):
    try:
        code, text, _t = http(d.http_port, "/health")
        return code, text
    except OSError as e:
        return 0, str(e)


def wait(pred, timeout, what, interval=0.2):
    end = time.time() + timeout
    while time.time() < end:
        v = pred()
        if v:
            return v
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def lines(d):
    return d.log().count("\n")


def daemon(work, sim, name, db=None, **env):
    d = Daemon(work, sim, name, db=db, extra_env=dict({"FIREBREAK_API_KEY": KEY}, **env))
    return d


# ---------------------------------------------------------------- small disk

def mount_small(path):
    """A 2 MB filesystem at path: tmpfs, else a loop ext4; None if neither."""
    os.makedirs(path, exist_ok=True)
    if os.geteuid() == 0:
        if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", path],
                          capture_output=True).returncode == 0:
            return "tmpfs"
        img = path + ".img"
        with open(img, "wb") as f:
            f.truncate(4 * 1024 * 1024)
        if (subprocess.run(["mkfs.ext4", "-q", "-F", img], capture_output=True).returncode == 0 and
                subprocess.run(["mount", "-o", "loop", img, path], capture_output=True).returncode == 0):
            return "ext4"
    return None


def fill(path):
    """Fills the filesystem: a file that grows until ENOSPC."""
    try:
        with open(os.path.join(path, "filler"), "wb", buffering=0) as f:
            chunk = b"\0" * 4096
            while True:
                f.write(chunk)
    except OSError:
        pass


def disk_full_tests(work, sim):
    mnt = os.path.join(work, "small")
    kind = mount_small(mnt)
    if not kind:
        tap(True, "disk full # SKIP cannot mount a small filesystem (not root or no tmpfs/loop)")
        return
    try:
        disk_full_round(work, sim, mnt, kind)
    finally:
        subprocess.run(["umount", "-l", mnt], capture_output=True)


def disk_full_round(work, sim, mnt, kind):
    db = os.path.join(mnt, "fb.db")
    d = daemon(work, sim, "full", db).start()
    acked = []
    try:
        @test(f"disk full ({kind}, 2 MB): healthy first, incidents stored")
        def _():
            wait(lambda: health(d)[0] == 200, 10, "/health 200")
            for i in range(3):
                code, text = api_trigger(d, f"before-{i}")
                check(code == 201, (code, text))
                acked.append(json.loads(text)["id"])
            for iid in acked:
                sim.wait_for(lambda s, i=iid: ss.card_for(s, i), timeout=15,
                             what=f"the card of {iid}")

        fill(mnt)
        filler = os.path.join(mnt, "filler")
        if os.path.exists(filler):  # room for an incident, not for its steps
            os.truncate(filler, max(0, os.path.getsize(filler) - 64 * 1024))
        slash = {}

        @test("disk full: new incidents are refused with 503 (never 2xx), /health 503 says why")
        def _():
            codes = []
            for i in range(6):
                code, text = api_trigger(d, f"during-{i}")
                codes.append(code)
                if code in (200, 201):
                    acked.append(json.loads(text)["id"])
                time.sleep(0.3)
            check(503 in codes, codes)
            code, text = wait(lambda: (lambda h: h if h[0] == 503 else None)(health(d)), 10,
                              "/health 503")
            check("disk full" in text, text)
            env = sim.slash(text="trigger " + ss.oom_log(), user_id="U1")
            slash["eid"] = env["envelope_id"]
            time.sleep(2)
            check(not ss.ack(sim.state(), env["envelope_id"]), "an envelope acked on a full disk")

        @test("disk full: the failing store backs off (log lines and CPU bounded for 6 s)")
        def _():
            l0, c0, t0 = lines(d), cpu_seconds(d.proc.pid), time.time()
            for i in range(6):  # traffic meanwhile, as in real life
                api_trigger(d, f"more-{i}")
                time.sleep(1)
            dl, dc, dt = lines(d) - l0, cpu_seconds(d.proc.pid) - c0, time.time() - t0
            check(dl / dt < 5, f"{dl} log lines in {dt:.1f}s")
            check(dc / dt < 0.25, f"{dc:.2f}s of CPU in {dt:.1f}s")
            check("store.failing" in d.log(), "no store.failing line")

        if os.path.exists(os.path.join(mnt, "filler")):
            os.unlink(os.path.join(mnt, "filler"))

        @test("disk full: space back -> /health 200, new incidents stored, the earlier ones processed")
        def _():
            wait(lambda: health(d)[0] == 200, 40, "/health 200 after space returned")
            check("store.recovered" in d.log(), "no store.recovered line")
            code, text = api_trigger(d, "after")
            check(code == 201, (code, text))
            acked.append(json.loads(text)["id"])
            for iid in acked:
                code, text, _t = http(d.http_port, f"/api/v1/incidents/{iid}", key=KEY)
                check(code == 200, (iid, code, text))
            sim.redeliver(slash["eid"])  # Slack sends an unacked envelope again
            a = sim.wait_for(lambda s: ss.ack(s, slash["eid"]), timeout=15, what="the ack")
            iid = ss.incident_id_from(a.get("payload"))
            check(iid, a)
            acked.append(iid)
            for iid in acked:  # every acknowledged incident reaches its card
                sim.wait_for(lambda s, i=iid: ss.card_for(s, i), timeout=30,
                             what=f"the card of {iid}")
    finally:
        d.stop()
    d.proc = None


# ---------------------------------------------------------------- Slack down

def top_level(state):
    return [m for m in state["messages"] if m["channel"] == ss.CHANNEL and not m.get("thread_ts")]


def slack_down_tests(work, sim, seconds, mode):
    d = daemon(work, sim, "down-" + mode).start()
    try:
        slack_down_round(d, sim, seconds, mode)
    finally:
        d.stop()


def slack_down_round(d, sim, seconds, mode):
    ids = []
    before = len(top_level(sim.state()))

    @test(f"Slack API down {seconds:g} s ({mode}): incidents and changes made meanwhile are stored")
    def _():
        sim.outage(seconds, mode=mode)
        t0 = time.time()
        for i in range(3):
            code, text = api_trigger(d, f"down-{mode}-{i}")
            check(code == 201, (code, text))
            ids.append(json.loads(text)["id"])
        time.sleep(1.5)  # the steps run; their cards wait for Slack
        for op, body in (("ack", {"user": "U1"}), ("assign", {"to": "U6", "user": "U1"})):
            code, text, _t = http(d.http_port, f"/api/v1/incidents/{ids[0]}/{op}", key=KEY,
                                  method="POST", body=json.dumps(body).encode())
            check(code == 200, (op, code, text))
        check(time.time() - t0 < seconds, "the outage ended before the changes were made")
        st = sim.state()
        failed = [c for c in st["calls"] if c["t"] >= st["now"] - seconds and c["error"]]
        check(failed, "firebreak did not call Slack during the outage")

    @test(f"Slack API back ({mode}): every card delivered once, newest state, no stale update after it")
    def _():
        def done(s):
            return all(ss.card_for(s, i) for i in ids) and "U6" in ss.card_text(ss.card_for(s, ids[0]))
        st = sim.wait_for(done, timeout=seconds + 60, what="every card, the first one assigned to U6")
        sim.wait_for(lambda s: not [c for c in s["calls"] if c["t"] > s["now"] - 2.5], timeout=30,
                     what="Slack calls to settle")
        st = sim.state()
        tops = top_level(st)[before:]
        for i in ids:
            mine = [m for m in tops if i in m["text"] or i in json.dumps(m["blocks"])]
            check(len(mine) == 1, (i, len(mine)))
        first = ss.card_text(ss.card_for(st, ids[0]))
        check("U6" in first, first[:400])
        # coalesced: the card's changes made during the outage reach Slack as
        # few updates, the newest last (not one per change, in any order)
        hist = ss.card_for(st, ids[0]).get("history") or []
        print(f"# card of {ids[0]}: {len(hist)} update(s) after its post")
        check(len(hist) <= 2, [json.dumps(h, ensure_ascii=False)[:200] for h in hist])
        check(not any("U6" in json.dumps(h) for h in hist), "U6 before the newest version")
        threads = [m for m in st["messages"] if m.get("thread_ts")]
        for i in ids:
            card = ss.card_for(st, i)
            texts = [m["text"] for m in threads if m["thread_ts"] == card["ts"]]
            check(len(texts) == len(set(texts)), ("a thread post twice", i, texts))
        check(not st["violations"], st["violations"])


def main():
    work = tempfile.mkdtemp(prefix="fb-chaos.")
    proc, sim = ss.start_sim(work)
    try:
        disk_full_tests(work, sim)
        slack_down_tests(work, sim, float(os.environ.get("FB_SLACK_OUTAGE_S", "20")), "status")
        slack_down_tests(work, sim, 6, "refuse")
    finally:
        ss.stop_sim(proc)
        if ss.failed == 0:
            shutil.rmtree(work, ignore_errors=True)
        else:
            print(f"# kept {work} for inspection")
    print(f"1..{ss.n}")
    return 1 if ss.failed else 0


if __name__ == "__main__":
    sys.exit(main())
