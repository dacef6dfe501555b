"""Test-side helper for tests/fakes/slack_sim.py (standard library only).

    proc, sim = start_sim(tmpdir)
    env = sim.slash(text="open db is down")
    st = sim.wait_for(lambda s: ack(s, env["envelope_id"]))
    ...
    stop_sim(proc)
"""

import json
import os
import subprocess
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
SIM = os.path.join(HERE, "slack_sim.py")
APP_TOKEN, BOT_TOKEN = "xapp-1-SIM", "xoxb-SIM"


class SimError(Exception):
    """A control call answered with a non-2xx status; .status and .body."""

    def __init__(self, status, body):
        super().__init__(f"HTTP {status}: {body}")
        self.status, self.body = status, body


class Sim:
    def __init__(self, port):
        self.port = port
        self.base = f"http://127.0.0.1:{port}"
        self.api_url = self.base + "/api/"       # what firebreak's API base URL should be

    def _req(self, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base + path, data=data,
                                     method="GET" if body is None else "POST",
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return json.loads(r.read() or b"null")
        except urllib.error.HTTPError as e:
            raw = e.read()
            try:
                raise SimError(e.code, json.loads(raw)) from None
            except ValueError:
                raise SimError(e.code, raw.decode("utf-8", "replace")) from None

    @staticmethod
    def _opt(**kw):
        return {k: v for k, v in kw.items() if v is not None}

    # -- reading back
    def state(self):
        return self._req("/_sim/state")

    def reset(self):
        return self._req("/_sim/reset", {})

    # -- driving the app (each returns {"envelope_id", "trigger_id"})
    def slash(self, text="", command="/incidents", user_id="U1", channel_id="C1",
              envelope_id=None):
        return self._req("/_sim/slash", self._opt(command=command, text=text, user_id=user_id,
                                                  channel_id=channel_id, envelope_id=envelope_id))

    def click(self, channel, ts, action_id, user_id="U2", envelope_id=None, value=None,
              option=None):
        """A button (value: a forged button value), or (option: the value
        picked) a static_select menu."""
        return self._req("/_sim/click", self._opt(channel=channel, ts=ts, action_id=action_id,
                                                  user_id=user_id, envelope_id=envelope_id,
                                                  value=value, option=option))

    def click_stale(self, channel, ts, version, action_id, user_id="U2"):
        return self._req("/_sim/click_stale", dict(channel=channel, ts=ts, version=version,
                                                   action_id=action_id, user_id=user_id))

    def submit(self, view_id, values, user_id="U2", wait=None):
        """values: {block_id: {action_id: "text"}}; wait=seconds to also
        return the ack (key "ack") once the app has sent it."""
        return self._req("/_sim/submit", self._opt(view_id=view_id, values=values,
                                                   user_id=user_id, wait=wait))

    def redeliver(self, envelope_id):
        return self._req("/_sim/redeliver", {"envelope_id": envelope_id})

    # -- misbehaving on demand
    def fault(self, **kw):
        """e.g. fault(method="chat.postMessage", status=429, retry_after=2, count=5)"""
        return self._req("/_sim/fault", kw)

    def outage(self, seconds, status=503, mode="status"):
        """Every Web API call answers status (or, mode="refuse", is dropped) for seconds."""
        return self._req("/_sim/outage", {"seconds": seconds, "status": status, "mode": mode})

    def config(self, **kw):
        """e.g. config(scopes=["chat:write"], not_member=["C9"], missing_channels=["C8"])"""
        return self._req("/_sim/config", kw)

    def disconnect(self, reason, close_after=None):
        return self._req("/_sim/disconnect", self._opt(reason=reason, close_after=close_after))

    def close(self):
        return self._req("/_sim/close", {})

    def no_pong(self, on=True):
        return self._req("/_sim/no_pong", {"on": on})

    def reject_connections(self, n, status=500):
        return self._req("/_sim/reject_connections", {"count": n, "status": status})

    def wait_for(self, predicate, timeout=10, interval=0.05, what=None):
        """Poll state() until predicate(state) is truthy; return that value."""
        deadline = time.monotonic() + timeout
        while True:
            st = self.state()
            val = predicate(st)
            if val:
                return val
            if time.monotonic() >= deadline:
                desc = what or getattr(predicate, "__name__", "predicate")
                raise TimeoutError(
                    f"slack_sim: {desc} not true after {timeout}s "
                    f"(calls={len(st['calls'])}, messages={len(st['messages'])}, "
                    f"acks={len(st['acks'])}, violations={st['violations'][-3:]})")
            time.sleep(interval)


# -- helpers over a state() snapshot

def card(state, channel):
    """Top-level messages in a channel, oldest first."""
    return [m for m in state["messages"] if m["channel"] == channel and not m["thread_ts"]]


def thread(state, channel, ts):
    """Replies in the thread under (channel, ts), oldest first."""
    return [m for m in state["messages"] if m["channel"] == channel and m["thread_ts"] == ts]


def buttons(message):
    """action_ids of the buttons in a message's current blocks."""
    out = []
    for b in message.get("blocks") or []:
        els = b.get("elements", []) if b.get("type") == "actions" else \
            [b.get("accessory")] if b.get("type") == "section" else []
        out += [e["action_id"] for e in els
                if isinstance(e, dict) and e.get("type") == "button" and "action_id" in e]
    return out


def ack(state, envelope_id):
    """The first ack recorded for envelope_id, or None."""
    return next((a for a in state["acks"] if a["envelope_id"] == envelope_id), None)


def start_fake(script, tmpdir, name, *extra_args):
    """Launch a fake server (slack_sim.py, loki_fake.py, kube_fake.py) with
    /usr/bin/python3; returns (proc, port) once it has written its port."""
    port_file = os.path.join(tmpdir, name + ".port")
    if os.path.exists(port_file):
        os.unlink(port_file)
    log = open(os.path.join(tmpdir, name + ".log"), "w")
    proc = subprocess.Popen(["/usr/bin/python3", os.path.join(HERE, script), "--port-file", port_file,
                             *extra_args], stdout=log, stderr=subprocess.STDOUT)
    log.close()
    deadline = time.monotonic() + 10
    while not os.path.exists(port_file):
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError(f"{script} did not start; see {tmpdir}/{name}.log")
        time.sleep(0.02)
    with open(port_file) as f:
        return proc, int(f.read().strip())


def start_sim(tmpdir, *extra_args):
    """Launch slack_sim.py; returns (proc, Sim) once it has written its port."""
    proc, port = start_fake("slack_sim.py", tmpdir, "slack_sim", *extra_args)
    return proc, Sim(port)


def stop_sim(proc):
    """SIGTERM, then wait (kill after 5 s)."""
    proc.terminate()
    try:
        proc.wait(5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
