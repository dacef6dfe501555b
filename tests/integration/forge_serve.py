"""Pull-request mode with `firebreak serve` (TAP): Slack (the simulator),
the forge (tests/fakes/forge_fake.py, GitHub Enterprise layout), and the
Kubernetes and Argo CD fakes for verification.

Approve on the card -> the fix is pushed on firebreak/<incident-id> and a
pull request is opened; the card links it and says it waits for the
merge.  Argo CD synced to the branch's own commit does not resolve it;
after the merge, Argo CD synced to the merge commit does: verification
ran against the merge commit.
"""
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import slack_serve as t  # noqa: E402
from simclient import start_fake, start_sim, stop_sim  # noqa: E402
from verify_fix import pod  # noqa: E402

TOKEN = "ghp-forge-serve"


def main():
    work = tempfile.mkdtemp(prefix="fb-forge-serve.")
    bare = os.path.join(work, "remote.git")
    seed = t.new_repo(os.path.join(work, "seed"))
    subprocess.run(["git", "clone", "-q", "--bare", seed, bare], check=True)
    clone = os.path.join(work, "clone")
    subprocess.run(["git", "clone", "-q", bare, clone], check=True)
    proc, sim = start_sim(work)
    kube, kport = start_fake("kube_fake.py", work, "kube", "--k8s-token", "k8s-1", "--argo-token", "argo-1")
    forge, fport = start_fake("forge_fake.py", work, "forge", "--kind", "github", "--token", TOKEN,
                              "--repo", "acme/gitops", "--bare", bare)
    token = os.path.join(work, "sa-token")
    with open(token, "w") as f:
        f.write("k8s-1\n")
    d = t.Daemon(work, sim, "forge", repo=clone, extra_env={
        "ARGOCD_TOKEN": "argo-1", "FIREBREAK_FORGE_TOKEN": TOKEN, "GITOPS_REMOTE": "origin"})
    with open(d.cfg, "a") as f:
        f.write(f"""  verify_delay: 1s
  verify_max_checks: 60
gitops:
  mode: pull_request
  forge:
    kind: github
    api_url: http://127.0.0.1:{fport}/api/v3
    repo: acme/gitops
    labels: [incident]
    poll_interval: 1s
kubernetes:
  url: http://127.0.0.1:{kport}
  token_file: {token}
argocd:
  url: http://127.0.0.1:{kport}
""")
    try:
        d.start()
        run(d, sim, kport, fport, bare)
    finally:
        rc = d.stop()
        t.tap(rc == 0, "serve stopped cleanly (no leak of ours)", d.log()[-2000:])
        for p in (kube, forge):
            p.terminate()
            p.wait(10)
        stop_sim(proc)
        if t.failed == 0:
            shutil.rmtree(work, ignore_errors=True)
        else:
            print(f"# kept {work}")
    print(f"1..{t.n}")
    return 1 if t.failed else 0


def run(d, sim, kport, fport, bare):
    s = {}

    @t.test("approve: the branch is pushed, the pull request opened, the card links it and waits")
    def _():
        t.fake_ctl(kport, "/_fake/app", {"name": "grafana", "sync": "Synced", "health": "Healthy",
                                         "revision": "0" * 40})
        iid, m, _a = t.trigger(sim)
        ns = t.incident_json(d, iid)["namespace"]
        t.fake_ctl(kport, "/_fake/pods", {"namespace": ns, "items": [pod("grafana", True, ns=ns)]})
        sim.click(t.CHANNEL, m["ts"], "approve", user_id="U2")
        c = sim.wait_for(lambda st: (lambda c: c if c and "is open from" in t.card_text(c) else None)(
            t.card_for(st, iid)), timeout=30, what="the card with the open pull request")
        text = t.card_text(c)
        url = f"http://127.0.0.1:{fport}/acme/gitops/pull/1"
        t.check(f"<{url}|#1>" in text, text[-800:])
        t.check(f"<{url}|Pull request>" in text, "no link to the PR: " + text[-800:])
        t.check("applications/argocd/grafana|Argo CD>" in text, "no Argo CD link: " + text[-800:])
        pulls = t.fake_ctl(fport, "/_fake/pulls")
        t.check([p["head"] for p in pulls] == [f"firebreak/{iid}"], pulls)
        t.check(pulls[0]["labels"] == ["incident"], pulls[0]["labels"])
        s.update(iid=iid, ns=ns, m=m)

    @t.test("Argo CD synced to the branch's commit (not merged) does not resolve it")
    def _():
        iid = s["iid"]
        branch_tip = subprocess.run(["git", "-C", bare, "rev-parse", f"firebreak/{iid}"], check=True,
                                    capture_output=True, text=True).stdout.strip()
        t.fake_ctl(kport, "/_fake/app", {"name": "grafana", "sync": "Synced", "health": "Healthy",
                                         "revision": branch_tip})
        time.sleep(2.5)
        j = t.incident_json(d, iid)
        t.check(j["status"] == "open" and j["node"] == "await_merge", (j["status"], j["node"]))

    @t.test("merged: verification runs against the merge commit, then resolved; the card says who merged")
    def _():
        iid = s["iid"]
        merge = t.fake_ctl(fport, "/_fake/merge", {"number": 1, "user": "carol"})["merge_commit"]
        time.sleep(2.5)  # merged, but Argo CD is not at the merge commit yet
        t.check(t.incident_json(d, iid)["status"] != "resolved", "resolved before Argo CD synced the merge")
        t.fake_ctl(kport, "/_fake/app", {"name": "grafana", "sync": "Synced", "health": "Healthy",
                                         "revision": merge})
        st = sim.wait_for(lambda x: (lambda c: x if c and "Resolved" in t.card_text(c) else None)(
            t.card_for(x, iid)), timeout=30, what="the resolved card")
        text = t.card_text(t.card_for(st, iid))
        t.check(f"carol merged pull request" in text, text[-800:])
        t.check(f"/commit/{merge}|Commit>" in text, "no link to the merge commit: " + text[-800:])
        j = t.incident_json(d, iid)
        t.check(j["state"]["apply"]["commit"] == merge, j["state"]["apply"])
        t.check(j["state"]["verify"]["result"] == "ok", j["state"]["verify"])


if __name__ == "__main__":
    sys.exit(main())
