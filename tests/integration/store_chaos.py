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
    import urllib.error
    import urllib.request
    body = json.dumps({"log": ss.OOM_LOG, "user": "U1", "app": app}).encode()
    req = urllib.request.Request(f"http://127.0.0.1:{d.http_port}/api/v1/incidents", data=body,
                                 method="POST", headers={"Authorization": f"Bearer {KEY}"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()
    except OSError as e:  # a timeout is an answer too: not 201
        return 0, str(e)


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


# ------------------------------------------------ read-only, locked, damaged

def cli(db, *args, user=None, timeout=30):
    env = dict(os.environ, FIREBREAK_DB=db, GITOPS_REPO=os.path.join(os.path.dirname(db), "repo"),
               FIREBREAK_CONFIG="", XDG_STATE_HOME=os.path.join(os.path.dirname(db), "state"))
    cmd = [ss.FB] + list(args)
    if user is not None:
        cmd = ["setpriv", f"--reuid={user}", f"--regid={user}", "--clear-groups"] + cmd
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)


def lines_of(text):
    return [ln for ln in text.splitlines() if ln.strip() and " event=gitops.unavailable" not in ln]


def md5(path):
    import hashlib
    with open(path, "rb") as f:
        return hashlib.md5(f.read()).hexdigest()


def make_db(db):
    """A database with one incident, and -wal/-shm left behind (as after a crash)."""
    r = cli(db, "triage", "--log", os.path.join(ss.TOP, "tests", "data", "demo", "oom.log"), "--no")
    check(r.returncode == 0, r.stderr)
    code = ("import sqlite3, os, sys\n"
            "c = sqlite3.connect(sys.argv[1]); c.execute('pragma wal_autocheckpoint=0')\n"
            "c.execute('create table if not exists chaos(x)'); c.execute('insert into chaos values(1)')\n"
            "c.commit(); os._exit(0)\n")
    subprocess.run(["/usr/bin/python3", "-c", code, db], check=True)
    check(os.path.exists(db + "-wal") and os.path.exists(db + "-shm"), os.listdir(os.path.dirname(db)))


def serve_refuses(work, sim, name, db, want, user=None):
    d = daemon(work, sim, name, db)
    cmd = [ss.FB, "-c", d.cfg, "serve"]
    if user is not None:
        cmd = ["setpriv", f"--reuid={user}", f"--regid={user}", "--clear-groups"] + cmd
        d.env["XDG_STATE_HOME"] = os.path.dirname(db)
    r = subprocess.run(cmd, env=d.env, capture_output=True, text=True, timeout=20)
    out = lines_of(r.stderr + r.stdout)
    check(r.returncode != 0, ("serve started", r.returncode, out[-5:]))
    check(any(want in ln for ln in out), out[-5:])
    check(not any("level=error" in ln for ln in out), ("write errors logged", out[-5:]))


def readonly_tests(work, sim):
    base = os.path.join(work, "ro")
    os.makedirs(base)
    if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", base],
                                           capture_output=True).returncode:
        tap(True, "read-only mount # SKIP cannot mount a tmpfs here")
        return
    try:
        db = os.path.join(base, "fb.db")
        make_db(db)
        sums = {f: md5(os.path.join(base, f)) for f in ("fb.db", "fb.db-wal")}
        subprocess.run(["mount", "-o", "remount,ro", base], check=True)

        @test("read-only mount with -wal/-shm: serve refuses at start with one clear line")
        def _():
            serve_refuses(work, sim, "ro", db, "Read-only file system")

        @test("read-only mount: the CLI (incidents list, triage) refuses in one line naming read-only")
        def _():
            for args in (("incidents", "list"), ("triage", "--log", "-")):
                r = cli(db, *args)
                out = lines_of(r.stderr)
                check(r.returncode != 0 and len(out) == 1 and "read-only" in out[0], (args, out))
            check(sums == {f: md5(os.path.join(base, f)) for f in sums}, "files changed")
    finally:
        subprocess.run(["umount", "-l", base], capture_output=True)

    @test("a database of mode 0444 (with -wal/-shm) refused by serve as a user who cannot write it")
    def _():
        if os.geteuid() != 0 or not shutil.which("setpriv"):
            print("# SKIP: needs root and setpriv to run as another user")
            return
        d0 = os.path.join(work, "mode")
        os.makedirs(d0)
        os.chmod(work, 0o755)
        db = os.path.join(d0, "fb.db")
        make_db(db)
        for f in os.listdir(d0):
            p = os.path.join(d0, f)
            if os.path.isdir(p):
                subprocess.run(["chown", "-R", "65534:65534", p], check=True)
            else:
                os.chown(p, 65534, 65534)
        os.chown(d0, 65534, 65534)
        for f in ("fb.db", "fb.db-wal", "fb.db-shm"):
            os.chmod(os.path.join(d0, f), 0o444)
        before = md5(db)
        serve_refuses(work, sim, "mode", db, "the database is read-only", user=65534)
        r = cli(db, "incidents", "list", user=65534)
        out = lines_of(r.stderr)
        check(r.returncode != 0 and len(out) == 1 and "read-only" in out[0], out)
        check(md5(db) == before, "the file changed")


def hold_lock(db, seconds, exclusive_mode=False):
    code = ("import sqlite3, sys, time\n"
            "c = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
            + ("c.execute('pragma locking_mode=EXCLUSIVE')\n" if exclusive_mode else "")
            + "c.execute('BEGIN EXCLUSIVE')\n"
            "c.execute('create table if not exists chaos(x)'); c.execute('insert into chaos values(1)')\n"
            + ("c.execute('COMMIT')\n" if exclusive_mode else "")
            + "print('locked', flush=True); time.sleep(float(sys.argv[2]))\n")
    p = subprocess.Popen(["/usr/bin/python3", "-c", code, db, str(seconds)], stdout=subprocess.PIPE,
                         text=True)
    check(p.stdout.readline().strip() == "locked", "the lock was not taken")
    return p


def locked_tests(work, sim):
    db = os.path.join(work, "locked.db")
    d = daemon(work, sim, "locked", db)

    @test("locked at start (locking_mode=EXCLUSIVE): serve waits with one line, starts when released")
    def _():
        make_db(db)
        p = hold_lock(db, 8, exclusive_mode=True)
        d.start(wait_hello=False)
        sim.wait_for(lambda s: any(c.get("hello_at") for c in s["connections"][-1:])
                     and "store.unlocked" in d.log(), timeout=25, what="the start after the lock")
        p.wait()
        check(d.log().count("event=store.locked") == 1, d.log()[-2000:])

    @test("locked while serving: writes get 503, /health 503 says locked; released -> recovers")
    def _():
        wait(lambda: health(d)[0] == 200, 10, "/health 200")
        p = hold_lock(db, 12)
        code, text = api_trigger(d, "locked-1", timeout=20)
        check(code == 503, (code, text))
        code, text = health(d)
        check(code == 503 and "locked by another process" in text, (code, text))
        p.wait()
        wait(lambda: health(d)[0] == 200, 30, "/health 200 after the lock went")
        code, text = api_trigger(d, "locked-2")
        check(code == 201, (code, text))

    d.stop()

    @test("locked: a CLI write command says 'locked by another process' in one line")
    def _():
        p = hold_lock(db, 8)
        r = cli(db, "triage", "--log", os.path.join(ss.TOP, "tests", "data", "demo", "oom.log"), "--no")
        p.wait()
        out = lines_of(r.stderr)
        check(r.returncode != 0 and len(out) == 1 and "locked by another process" in out[0], out)


def corrupt_tests(work, sim):
    good = os.path.join(work, "good.db")
    make_db(good)
    cli(good, "incidents", "list")  # checkpoints the WAL into the file

    for what, damage in (("garbage header", lambda b: b"garbage garbage garbage garbage!" + b[32:]),
                         ("truncated", lambda b: b[:3000])):
        @test(f"corrupted at start ({what}): serve and the CLI refuse with one clear line, file untouched")
        def _(damage=damage, what=what):
            db = os.path.join(work, what.replace(" ", "-") + ".db")
            with open(good, "rb") as f:
                data = damage(f.read())
            with open(db, "wb") as f:
                f.write(data)
            before = md5(db)
            serve_refuses(work, sim, "bad-" + what.replace(" ", "-"), db, "damaged")
            r = cli(db, "incidents", "list")
            out = lines_of(r.stderr)
            check(r.returncode != 0 and len(out) == 1 and "damaged" in out[0], out)
            check(md5(db) == before, "the file changed")
            check(not os.path.exists(db + "-wal") or os.path.getsize(db + "-wal") == 0, "a WAL written")


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
    st0 = sim.state()
    before, seen_violations = len(top_level(st0)), len(st0["violations"])

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
        check(not st["violations"][seen_violations:], st["violations"][seen_violations:])


def main():
    work = tempfile.mkdtemp(prefix="fb-chaos.")
    proc, sim = ss.start_sim(work)
    try:
        disk_full_tests(work, sim)
        readonly_tests(work, sim)
        locked_tests(work, sim)
        corrupt_tests(work, sim)
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
