"""The log-file source with `firebreak serve` (TAP): history is skipped, new
matching lines raise an incident and a card, rotation by rename loses
nothing written before it, truncation starts over, and a restart carries
on from the committed cursor with no line read twice.
"""
import os
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import slack_serve as t  # noqa: E402
from simclient import card, start_sim, stop_sim  # noqa: E402


def append(path, line):
    with open(path, "a") as f:
        f.write(line + "\n")


def wait_text(d, want, timeout=15):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = t.excerpts(d, "file")
        if all(w in text for w in want):
            return text
        time.sleep(0.3)
    return t.excerpts(d, "file")


def main():
    work = tempfile.mkdtemp(prefix="fb-file.")
    proc, sim = start_sim(work)
    log = os.path.join(work, "app.log")
    append(log, "2026-11-21 old ERROR from last week (history)")
    d = t.Daemon(work, sim, "file")
    with open(d.cfg, "a") as f:
        f.write(f"logfile:\n  paths: [{log}]\n  interval: 1s\n")
    try:
        run(d, sim, log)
    finally:
        d.stop()
        stop_sim(proc)
        if t.failed == 0:
            shutil.rmtree(work, ignore_errors=True)
        else:
            print(f"# kept {work}")
    print(f"1..{t.n}")
    return 1 if t.failed else 0


def run(d, sim, log):
    @t.test("a new matching line raises an incident and a card; history and harmless lines are skipped")
    def _():
        d.start()
        time.sleep(1.5)  # the first look places the cursor at the end
        append(log, "INFO all fine (harmless)")
        append(log, "Reason: OOMKilled container grafana in pod grafana-7d9f8b6c4-x2kqp exit code 137 (line A)")
        sim.wait_for(lambda s: next((m for m in card(s, t.CHANNEL) if "Out of memory" in m["text"]), None),
                     timeout=20, what="the card from the log file")
        text = t.excerpts(d, "file")
        t.check("line A" in text, text)
        t.check("history" not in text and "harmless" not in text, text)

    @t.test("rotation by rename: the last lines of the old file and the first of the new are each read once")
    def _():
        append(log, "ERROR worker crashed before rotation (line B)")
        os.rename(log, log + ".1")
        append(log, "ERROR worker crashed after rotation (line C)")
        text = wait_text(d, ["line B", "line C"])
        for line in ("line A", "line B", "line C"):
            t.check(text.count(line) == 1, f"{line}: {text.count(line)} times")

    @t.test("truncation: reading starts again at the beginning")
    def _():
        time.sleep(1.2)
        with open(log, "w") as f:
            f.write("ERROR after truncation (line D)\n")
        text = wait_text(d, ["line D"])
        t.check(text.count("line D") == 1, text.count("line D"))

    @t.test("a restart carries on from the committed cursor: nothing missed, nothing twice")
    def _():
        time.sleep(1.2)
        t.check(d.stop() == 0, "unclean stop")
        append(log, "ERROR written while firebreak was down (line E)")
        d.start()
        text = wait_text(d, ["line E"])
        for line in ("line A", "line B", "line C", "line D", "line E"):
            t.check(text.count(line) == 1, f"{line}: {text.count(line)} times")


if __name__ == "__main__":
    sys.exit(main())
