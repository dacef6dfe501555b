"""The HTTP server under an idle-connection flood and slow clients (TAP).

200 idle TCP connections that never send a byte and 20 slow ones (a byte
of a request every second, slowloris) are held open against `firebreak
serve`; meanwhile /health, /metrics, an API read and an Alertmanager
webhook post must each answer within a couple of seconds, the bearer
comparisons answer right for the right key and no other, and the idle and
slow connections are closed by the server after its timeouts.  Run by
tests/integration/http_flood.sh.
"""
import json
import os
import socket
import sys
import tempfile
import shutil
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import slack_serve as t  # noqa: E402
from simclient import start_sim, stop_sim  # noqa: E402

API_KEY = "fbk-" + "7" * 32
AM_TOKEN = "am-" + "3" * 28
IDLE, SLOW = 200, 20


def timed(port, path, key=None, method="GET", body=None):
    t0 = time.monotonic()
    code, text, _ = t.http(port, path, key=key, method=method, body=body)
    return code, text, time.monotonic() - t0


def open_idle(port, n):
    socks = []
    for _ in range(n):
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        socks.append(s)
    return socks


def slow_writer(port, stop, closed):
    """Sends a request one byte a second; records when the server closes."""
    req = b"GET /health HTTP/1.1\r\nHost: x\r\nX-Pad: " + b"a" * 200 + b"\r\n\r\n"
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
    except OSError:
        closed.append(0.0)
        return
    t0 = time.monotonic()
    try:
        for i in range(len(req)):
            if stop.is_set():
                return
            s.send(req[i:i + 1])
            time.sleep(1)
    except OSError:
        closed.append(time.monotonic() - t0)
    finally:
        s.close()


def closed_by_server(s):
    """True when the peer closed (EOF or reset), without blocking."""
    s.setblocking(False)
    try:
        return s.recv(1) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True


def main():
    work = tempfile.mkdtemp(prefix="fb-flood.")
    proc, sim = start_sim(work)
    d = t.Daemon(work, sim, "flood", extra_env={"FIREBREAK_API_KEY": API_KEY,
                                                 "ALERTMANAGER_TOKEN": AM_TOKEN})
    idle, stop, slow_closed, threads = [], threading.Event(), [], []
    try:
        d.start()
        port = d.http_port

        @t.test("the bearer comparison: the right key only (wrong keys of every length, empty)")
        def _():
            code, _b, _s = timed(port, "/api/v1/incidents", key=API_KEY)
            t.check(code == 200, code)
            for n in list(range(0, 40)) + [len(API_KEY) + 1, 200, 500]:
                wrong = (API_KEY * 20)[:n] if n != len(API_KEY) else API_KEY[:-1] + "8"
                if wrong == API_KEY:
                    continue
                code, _b, _s = timed(port, "/api/v1/incidents", key=wrong or None)
                t.check(code == 401, (n, code))
            code, _b, _s = timed(port, "/api/v1/incidents", key=AM_TOKEN)
            t.check(code == 401, "the hook's token is not the API key")

        opened = time.monotonic()
        idle.extend(open_idle(port, IDLE))
        for _ in range(SLOW):
            th = threading.Thread(target=slow_writer, args=(port, stop, slow_closed), daemon=True)
            th.start()
            threads.append(th)
        time.sleep(1.5)

        @t.test(f"with {IDLE} idle and {SLOW} slow connections open, /health, /metrics, the API "
                "and the webhook answer within 3 s")
        def _():
            for path in ("/health", "/metrics"):
                code, text, took = timed(port, path)
                t.check(code == 200 and took < 3.0, (path, code, took))
            code, text, took = timed(port, "/api/v1/incidents", key=API_KEY)
            t.check(code == 200 and took < 3.0, ("api", code, took))
            body = {"version": "4", "status": "firing", "receiver": "firebreak",
                    "alerts": [{"status": "firing", "fingerprint": "f100d00000000001",
                                "labels": {"alertname": "PodOOMKilled", "app": "grafana",
                                           "severity": "critical"},
                                "annotations": {"summary": "grafana was OOMKilled"}}]}
            import urllib.request
            req = urllib.request.Request(f"http://127.0.0.1:{port}/hooks/alertmanager",
                                         data=json.dumps(body).encode(), method="POST",
                                         headers={"Authorization": f"Bearer {AM_TOKEN}",
                                                  "Content-Type": "application/json"})
            t0 = time.monotonic()
            with urllib.request.urlopen(req, timeout=10) as r:
                code, text = r.status, r.read().decode()
            took = time.monotonic() - t0
            t.check(code == 200 and "1 new" in text and took < 3.0, ("webhook", code, text, took))

        @t.test("one address keeps at most 32 connections: older idle ones make room, and "
                "/metrics counts them")
        def _():
            code, text, _took = timed(port, "/metrics")
            conns = [ln for ln in text.splitlines() if ln.startswith("firebreak_http_connections ")]
            t.check(conns and int(conns[0].split()[1]) <= 32, conns)
            ev = [ln for ln in text.splitlines() if 'why="evicted"' in ln]
            t.check(ev and int(ev[0].split()[1]) >= IDLE - 32, ev)

        @t.test("the idle connections are closed by the server after its idle timeout (10 s)")
        def _():
            deadline = opened + 20
            while time.monotonic() < deadline:
                if all(closed_by_server(s) for s in idle):
                    break
                time.sleep(0.5)
            still = sum(1 for s in idle if not closed_by_server(s))
            t.check(still == 0, f"{still} of {IDLE} idle connections still open after 20 s")

        @t.test("the slow clients are closed before they finish their request")
        def _():
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and len(slow_closed) < SLOW:
                time.sleep(0.5)
            t.check(len(slow_closed) == SLOW, f"{len(slow_closed)} of {SLOW} slow clients closed")
            t.check(all(x < 20 for x in slow_closed), slow_closed)

        @t.test("after the flood /health still answers and the daemon is running")
        def _():
            code, _text, took = timed(port, "/health")
            t.check(code == 200 and took < 3.0, (code, took))
            t.check(d.proc.poll() is None, "the daemon exited")
    finally:
        stop.set()
        for s in idle:
            s.close()
        rc = d.stop()
        stop_sim(proc)
        if t.failed == 0:
            shutil.rmtree(work, ignore_errors=True)
        else:
            print(f"# kept {work}")
    print(f"1..{t.n}")
    return 1 if t.failed or rc not in (0, None) else 0


if __name__ == "__main__":
    sys.exit(main())
