"""Hostile Slack input that used to be dropped or obeyed (TAP).

- a click whose button value carries version -1 (or 0, or "1x"): -1 means
  "the current version" to the CLI only; from Slack it is refused as stale
  and nothing is committed; the card's own button still works afterwards;
- a 1 MB slash command (longer than a Socket Mode frame may be) and one
  whose text holds a lone surrogate escape (\\ud800, not valid JSON text
  for cJSON): both are acked, and the person gets an ephemeral reply that
  says why (too long: the limit; unreadable text).
Run by tests/integration/slack_hostile.sh.
"""
import json
import os
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import slack_serve as t  # noqa: E402
from simclient import ack, start_sim, stop_sim  # noqa: E402


def main():
    work = tempfile.mkdtemp(prefix="fb-hostile.")
    proc, sim = start_sim(work)
    d = t.Daemon(work, sim, "hostile")
    try:
        d.start()
        run(d, sim)
        t.check(d.proc.poll() is None, "the daemon exited")
    finally:
        d.stop()
        stop_sim(proc)
        if t.failed == 0:
            shutil.rmtree(work, ignore_errors=True)
        else:
            print(f"# kept {work}")
    print(f"1..{t.n}")
    return 1 if t.failed else 0


def run(d, sim):
    @t.test("a click valued ID|-1, ID|0 or ID|1x is refused as stale; nothing is committed; "
            "the card's own Approve still commits")
    def _():
        iid, m, _a = t.trigger(sim)
        for bad in ("-1", "0", "1x", "-99999999999999999999"):
            n_eph = len(sim.state()["ephemerals"])
            sim.click(t.CHANNEL, m["ts"], "approve", user_id="U2", value=f"{iid}|{bad}")
            st = sim.wait_for(lambda s: len(s["ephemerals"]) > n_eph and s,
                              what=f"the answer to a click valued |{bad}")
            t.check("changed" in st["ephemerals"][-1]["text"], (bad, st["ephemerals"][-1]))
            t.check(t.commits_for(d.repo, iid) == 0, f"the click valued |{bad} committed")
        sim.click(t.CHANNEL, m["ts"], "approve", user_id="U2")
        sim.wait_for(lambda s: (lambda c: c and "Committed" in t.card_text(c))(t.card_for(s, iid)),
                     what="the commit")
        t.check(t.commits_for(d.repo, iid) == 1, "commits != 1")

    @t.test("a 1 MB slash command is acked, with an ephemeral reply naming the limit")
    def _():
        env = sim.slash(text="trigger " + "java.lang.OutOfMemoryError " * 40000)
        a = sim.wait_for(lambda s: ack(s, env["envelope_id"]), timeout=20, what="the ack")
        text = json.dumps(a.get("payload"))
        t.check("longer than 1 MiB" in text, a)
        t.check(a["latency_ms"] < 3000, a["latency_ms"])

    @t.test("a slash command with a lone surrogate escape is acked, with an ephemeral reply")
    def _():
        env = sim.slash(text="trigger boom \ud800 java.lang.OutOfMemoryError")
        a = sim.wait_for(lambda s: ack(s, env["envelope_id"]), timeout=20, what="the ack")
        t.check("could not be read" in json.dumps(a.get("payload")), a)

    @t.test("after them a normal command is still answered")
    def _():
        env = sim.slash(text="help")
        a = sim.wait_for(lambda s: ack(s, env["envelope_id"]), what="the ack")
        t.check("/incidents list" in json.dumps(a["payload"]), a)
        st = sim.state()
        t.check(not st.get("violations"), st.get("violations"))


if __name__ == "__main__":
    sys.exit(main())
