"""A fake forge for tests: the pull-request parts of the GitHub REST API
(GitHub Enterprise Server layout, /api/v3), GitLab's merge requests
(/api/v4) and Gitea's (and Forgejo's) pull requests (/api/v1), as
../../../shared/reference/forges.md sections 1-3 describe them.

    /usr/bin/python3 tests/fakes/forge_fake.py --port-file FILE --kind github|gitlab|gitea \\
        --token T --repo owner/name --bare PATH

Faithful where firebreak depends on it:
- auth: GitHub "Authorization: Bearer|token T" (401 "Bad credentials"), and a
  User-Agent or 403; GitLab "PRIVATE-TOKEN: T" or Bearer (401 "401
  Unauthorized"); Gitea "token|bearer T" in any case (401).  GitHub rejects
  an unknown X-GitHub-Api-Version with 400.
- create: 201; the head branch must exist in the bare repository (GitHub
  422 field head code invalid; GitLab 422; Gitea 404) and differ from the
  base ("No commits between"); an open one for the same head and base:
  GitHub 422 "A pull request already exists for owner:branch.", GitLab 409
  ["Another open merge request already exists for this source branch:
  !N"], Gitea 409 "pull request already exists for these targets [id: ..,
  issue_id: N, ...]".
- list: GitHub ?head=owner:branch&state&base, per_page/page with Link;
  GitLab ?state=opened&source_branch&target_branch; Gitea ?state&page&limit
  with Link and x-total-count (no head filter).
- labels: GitHub POST /issues/N/labels {"labels":[names]}; GitLab labels
  and add_labels as comma-separated strings; Gitea label ids only
  (GET/POST /labels to find or make them).
- state: GitHub merged/merged_at/merge_commit_sha/merged_by, closed_by on
  the issue; GitLab state opened|merged|closed, merge_commit_sha,
  merge_user, closed_by; Gitea merged, merge_commit_sha, merged_by, and a
  "close" event in the issue timeline.
- rate limits: GitHub x-ratelimit-* on every answer, 403 with remaining 0
  and reset when limited; GitLab RateLimit-* on every answer, 429 "Retry
  later" with Retry-After; Gitea 429 with Retry-After.

Control:
  POST /_fake/merge {"number": N, "user": "alice"}: a real merge commit of
       the head into the base in the bare repository (git merge-tree,
       commit-tree, update-ref), and the pull request merged;
  POST /_fake/close {"number": N, "user": "bob"}: closed unmerged;
  POST /_fake/ratelimit {"count": K, "wait": S}: the next K API calls are
       rate limited, asked to wait S seconds;
  POST /_fake/seed {"head": B, "base": M, "title": T}: a pull request
       opened by someone else (as after a crash);
  GET /_fake/pulls: every pull request; GET /_fake/requests: the calls.
"""
import argparse
import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.parse

from aiohttp import web

API = {"github": "/api/v3", "gitlab": "/api/v4", "gitea": "/api/v1"}


def jerr(status, body, headers=None):
    return web.json_response(body, status=status, headers=headers or {})


class Fake:
    def __init__(self, kind, token, repo, bare):
        self.kind, self.token, self.repo, self.bare = kind, token, repo, bare
        self.owner = repo.split("/")[0]
        self.pulls = []  # dicts, number = index + 1
        self.labels = []  # gitea: {"id", "name", "color"}
        self.requests = []
        self.limited = 0
        self.wait = 1
        self.base_url = ""

    # ---- git ----
    def git(self, *args):
        return subprocess.run(["git", "-C", self.bare, *args], check=True, capture_output=True,
                              text=True).stdout.strip()

    def branch_sha(self, name):
        try:
            return self.git("rev-parse", "--verify", "-q", f"refs/heads/{name}^{{commit}}")
        except subprocess.CalledProcessError:
            return None

    # ---- auth, limits ----
    def authorised(self, request):
        h = request.headers
        auth = h.get("Authorization", "")
        scheme, _, tok = auth.partition(" ")
        if self.kind == "github":
            return scheme in ("Bearer", "token") and tok == self.token
        if self.kind == "gitlab":
            return h.get("PRIVATE-TOKEN") == self.token or (scheme == "Bearer" and tok == self.token)
        return scheme.lower() in ("token", "bearer") and tok == self.token

    def unauthorised(self):
        if self.kind == "github":
            return jerr(401, {"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest",
                              "status": "401"})
        if self.kind == "gitlab":
            return jerr(401, {"message": "401 Unauthorized"})
        return jerr(401, {"message": "token is required", "url": self.base_url + "/api/swagger"})

    def rate_headers(self, remaining=4999):
        reset = str(int(time.time()) + (self.wait if remaining == 0 else 3600))
        if self.kind == "github":
            return {"x-ratelimit-limit": "5000", "x-ratelimit-remaining": str(remaining),
                    "x-ratelimit-used": str(5000 - remaining), "x-ratelimit-reset": reset,
                    "x-ratelimit-resource": "core"}
        if self.kind == "gitlab":
            return {"RateLimit-Limit": "600", "RateLimit-Name": "throttle_authenticated_api",
                    "RateLimit-Observed": str(600 - remaining if remaining < 600 else 1),
                    "RateLimit-Remaining": str(min(remaining, 599)), "RateLimit-Reset": reset}
        return {}

    def rate_limited(self):
        if self.kind == "github":
            return jerr(403, {"message": "API rate limit exceeded for user ID 1.",
                              "documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"},
                        self.rate_headers(0))
        if self.kind == "gitlab":
            h = self.rate_headers(0)
            h["Retry-After"] = str(self.wait)
            h["RateLimit-ResetTime"] = time.strftime("%a, %d %b %Y %H:%M:%S GMT",
                                                     time.gmtime(time.time() + self.wait))
            return web.Response(status=429, text="Retry later\n", headers=h)
        return web.Response(status=429, text="Too Many Requests\n", headers={"Retry-After": str(self.wait)})

    # ---- shapes ----
    def web(self, *parts):
        return self.base_url + "/" + "/".join(parts)

    def user(self, login):
        if not login:
            return None
        if self.kind == "gitlab":
            return {"id": 7, "username": login, "name": login}
        return {"id": 7, "login": login}

    def shape(self, pr, simple=False):
        if self.kind == "gitlab":
            state = "merged" if pr["merged"] else pr["state"]
            return {"id": 1000 + pr["number"], "iid": pr["number"], "project_id": 3, "title": pr["title"],
                    "description": pr["body"], "state": state, "source_branch": pr["head"],
                    "target_branch": pr["base"], "labels": pr["labels"], "sha": pr["head_sha"],
                    "merge_commit_sha": pr["merge_commit"], "squash_commit_sha": None,
                    "merged_at": pr["merged_at"], "closed_at": pr["closed_at"],
                    "merge_user": self.user(pr["merged_by"]), "merged_by": self.user(pr["merged_by"]),
                    "closed_by": self.user(pr["closed_by"]) if state == "closed" else None,
                    "web_url": self.web(self.repo, "-", "merge_requests", str(pr["number"])),
                    "references": {"full": f"{self.repo}!{pr['number']}"}, "draft": False,
                    "detailed_merge_status": "mergeable"}
        page = "pull" if self.kind == "github" else "pulls"
        o = {"id": 5000 + pr["number"], "number": pr["number"], "state": pr["state"], "title": pr["title"],
             "body": pr["body"], "html_url": self.web(self.repo, page, str(pr["number"])),
             "url": f"{self.base_url}{API[self.kind]}/repos/{self.repo}/pulls/{pr['number']}",
             "head": {"label": f"{self.owner}:{pr['head']}", "ref": pr["head"], "sha": pr["head_sha"]},
             "base": {"label": f"{self.owner}:{pr['base']}", "ref": pr["base"]},
             "labels": [{"id": i + 1, "name": n} for i, n in enumerate(pr["labels"])],
             "merged_at": pr["merged_at"], "closed_at": pr["closed_at"],
             "merge_commit_sha": pr["merge_commit"] or ("0" * 40 if self.kind == "github" else None)}
        if not simple or self.kind == "gitea":
            o["merged"] = pr["merged"]
            o["merged_by"] = self.user(pr["merged_by"])
            o["mergeable"] = None if self.kind == "github" else True
        return o

    def new_pr(self, head, base, title, body, labels):
        pr = {"number": len(self.pulls) + 1, "head": head, "base": base, "title": title, "body": body,
              "state": "open", "merged": False, "merged_at": None, "closed_at": None,
              "merge_commit": None, "merged_by": None, "closed_by": None, "labels": list(labels),
              "head_sha": self.branch_sha(head)}
        self.pulls.append(pr)
        return pr

    def open_for(self, head, base):
        for pr in self.pulls:
            if pr["head"] == head and pr["base"] == base and pr["state"] == "open":
                return pr
        return None

    def get(self, n):
        return self.pulls[n - 1] if 0 < n <= len(self.pulls) else None

    def paged(self, items, q, size_key, default):
        size = max(1, min(100, int(q.get(size_key, default))))
        page = max(1, int(q.get("page", 1)))
        chunk = items[(page - 1) * size: page * size]
        headers = {}
        if page * size < len(items):
            nq = dict(q)
            nq["page"] = str(page + 1)
            headers["Link"] = f'<{self.base_url}{self.path}?{urllib.parse.urlencode(nq)}>; rel="next"'
        if self.kind == "gitea":
            headers["x-total-count"] = str(len(items))
        return chunk, headers

    # ---- dispatch ----
    async def handle(self, request):
        raw = request.raw_path.split("?", 1)[0]
        self.base_url = f"http://{request.host}"
        self.requests.append({"method": request.method, "path": request.raw_path})
        api = API[self.kind]
        if not raw.startswith(api + "/"):
            return jerr(404, {"message": "Not Found"})
        self.path = raw
        if self.kind == "github":
            if not request.headers.get("User-Agent"):
                return web.Response(status=403, text="Request forbidden by administrative rules. Please make sure your request has a User-Agent header")
            v = request.headers.get("X-GitHub-Api-Version")
            if v and v not in ("2022-11-28", "2026-03-10"):
                return jerr(400, {"message": f"API version '{v}' is not supported.",
                                  "documentation_url": "https://docs.github.com/rest/overview/api-versions"})
        if not self.authorised(request):
            return self.unauthorised()
        if self.limited > 0:
            self.limited -= 1
            return self.rate_limited()
        body = {}
        if request.method in ("POST", "PUT", "PATCH"):
            try:
                body = await request.json()
            except Exception:
                if self.kind == "github":
                    return jerr(400, {"message": "Problems parsing JSON"})
                return jerr(400, {"message": "400 Bad request"})
        q = dict(request.rel_url.query)
        rest = raw[len(api):]
        resp = getattr(self, "do_" + self.kind)(request.method, rest, q, body)
        for k, v in self.rate_headers().items():
            resp.headers.setdefault(k, v)
        return resp

    def repo_rest(self, rest):
        prefix = "/repos/" + "/".join(urllib.parse.quote(p, safe="") for p in self.repo.split("/"))
        return rest[len(prefix):] if rest.startswith(prefix + "/") else None

    # ---- GitHub ----
    def do_github(self, method, rest, q, body):
        r = self.repo_rest(rest)
        if r is None:
            return jerr(404, {"message": "Not Found", "documentation_url": "https://docs.github.com/rest"})
        doc = "https://docs.github.com/rest/pulls/pulls#create-a-pull-request"
        if r == "/pulls" and method == "GET":
            items = [p for p in reversed(self.pulls)]  # newest first
            st = q.get("state", "open")
            if st != "all":
                items = [p for p in items if p["state"] == st]
            if "head" in q:
                owner, _, ref = q["head"].partition(":")
                items = [p for p in items if owner == self.owner and p["head"] == ref]
            if "base" in q:
                items = [p for p in items if p["base"] == q["base"]]
            chunk, h = self.paged(items, q, "per_page", 30)
            return web.json_response([self.shape(p, simple=True) for p in chunk], headers=h)
        if r == "/pulls" and method == "POST":
            head, base = body.get("head", ""), body.get("base", "")
            if not body.get("title") or not head or not base:
                return jerr(422, {"message": "Validation Failed", "errors": [
                    {"resource": "PullRequest", "field": "title", "code": "missing_field"}], "documentation_url": doc})
            ref = head.split(":", 1)[1] if ":" in head else head
            if not self.branch_sha(ref):
                return jerr(422, {"message": "Validation Failed", "errors": [
                    {"resource": "PullRequest", "field": "head", "code": "invalid"}], "documentation_url": doc})
            if self.open_for(ref, base):
                return jerr(422, {"message": "Validation Failed", "errors": [
                    {"resource": "PullRequest", "code": "custom",
                     "message": f"A pull request already exists for {self.owner}:{ref}."}], "documentation_url": doc})
            if self.branch_sha(ref) == self.branch_sha(base):
                return jerr(422, {"message": "Validation Failed", "errors": [
                    {"resource": "PullRequest", "code": "custom",
                     "message": f"No commits between {base} and {ref}"}], "documentation_url": doc})
            pr = self.new_pr(ref, base, body["title"], body.get("body") or "", [])
            return web.json_response(self.shape(pr), status=201)
        m = re.fullmatch(r"/pulls/(\d+)", r)
        if m and method == "GET":
            pr = self.get(int(m.group(1)))
            return web.json_response(self.shape(pr)) if pr else jerr(404, {"message": "Not Found"})
        m = re.fullmatch(r"/issues/(\d+)(/labels)?", r)
        if m:
            pr = self.get(int(m.group(1)))
            if not pr:
                return jerr(404, {"message": "Not Found"})
            if m.group(2) and method == "POST":
                for name in body.get("labels", []):
                    if name not in pr["labels"]:
                        pr["labels"].append(name)
                return web.json_response([{"id": i + 1, "name": n, "color": "ededed"}
                                          for i, n in enumerate(pr["labels"])])
            if not m.group(2) and method == "GET":
                return web.json_response({"number": pr["number"], "state": pr["state"],
                                          "closed_by": self.user(pr["closed_by"] or pr["merged_by"]),
                                          "pull_request": {"url": self.shape(pr)["url"]}})
        return jerr(404, {"message": "Not Found", "documentation_url": "https://docs.github.com/rest"})

    # ---- GitLab ----
    def do_gitlab(self, method, rest, q, body):
        prefix = "/projects/" + urllib.parse.quote(self.repo, safe="")
        if not rest.startswith(prefix + "/"):
            return jerr(404, {"message": "404 Project Not Found"})
        r = rest[len(prefix):]
        if r == "/merge_requests" and method == "GET":
            items = list(reversed(self.pulls))
            st = q.get("state", "all")
            if st != "all":
                items = [p for p in items if ("merged" if p["merged"] else
                                              "opened" if p["state"] == "open" else "closed") == st]
            if "source_branch" in q:
                items = [p for p in items if p["head"] == q["source_branch"]]
            if "target_branch" in q:
                items = [p for p in items if p["base"] == q["target_branch"]]
            chunk, h = self.paged(items, q, "per_page", 20)
            return web.json_response([self.shape(p) for p in chunk], headers=h)
        if r == "/merge_requests" and method == "POST":
            head, base, title = body.get("source_branch"), body.get("target_branch"), body.get("title")
            if not head or not base or not title:
                return jerr(400, {"error": "source_branch, target_branch, title are missing"})
            if not self.branch_sha(head):
                return jerr(422, {"message": ["Source branch does not exist"]})
            old = self.open_for(head, base)
            if old:
                return jerr(409, {"message": [
                    f"Another open merge request already exists for this source branch: !{old['number']}"]})
            labels = [x for x in (body.get("labels") or "").split(",") if x]
            pr = self.new_pr(head, base, title, body.get("description") or "", labels)
            return web.json_response(self.shape(pr), status=201)
        m = re.fullmatch(r"/merge_requests/(\d+)", r)
        if m:
            pr = self.get(int(m.group(1)))
            if not pr:
                return jerr(404, {"message": "404 Not found"})
            if method == "PUT":
                for name in [x for x in (body.get("add_labels") or "").split(",") if x]:
                    if name not in pr["labels"]:
                        pr["labels"].append(name)
            return web.json_response(self.shape(pr))
        return jerr(404, {"message": "404 Not Found"})

    # ---- Gitea ----
    def do_gitea(self, method, rest, q, body):
        r = self.repo_rest(rest)
        nf = {"message": "The target couldn't be found.", "url": self.base_url + "/api/swagger", "errors": []}
        if r is None:
            return jerr(404, nf)
        if r == "/pulls" and method == "GET":
            items = list(reversed(self.pulls))
            st = q.get("state", "open")
            if st != "all":
                items = [p for p in items if p["state"] == st]
            chunk, h = self.paged(items, q, "limit", 30)
            return web.json_response([self.shape(p) for p in chunk], headers=h)
        if r == "/pulls" and method == "POST":
            head, base = body.get("head", ""), body.get("base", "")
            if not self.branch_sha(head) or not self.branch_sha(base):
                return jerr(404, nf)
            if head == base or self.branch_sha(head) == self.branch_sha(base):
                return jerr(422, {"message": "Invalid PullRequest: There are no changes between the head and the base",
                                  "url": self.base_url + "/api/swagger"})
            old = self.open_for(head, base)
            if old:
                return jerr(409, {"message": f"pull request already exists for these targets [id: {5000 + old['number']}, "
                                             f"issue_id: {old['number']}, head_repo_id: 7, base_repo_id: 7, "
                                             f"head_branch: {head}, base_branch: {base}]",
                                  "url": self.base_url + "/api/swagger"})
            names = [x["name"] for x in self.labels if x["id"] in body.get("labels", [])]
            pr = self.new_pr(head, base, body.get("title", ""), body.get("body") or "", names)
            return web.json_response(self.shape(pr), status=201)
        if r == "/labels" and method == "GET":
            chunk, h = self.paged(self.labels, q, "limit", 30)
            return web.json_response(chunk, headers=h)
        if r == "/labels" and method == "POST":
            if not body.get("name") or not re.fullmatch(r"#?[0-9a-fA-F]{6}", body.get("color", "")):
                return jerr(422, {"message": "Color: invalid", "url": self.base_url + "/api/swagger"})
            lab = {"id": len(self.labels) + 1, "name": body["name"], "color": body["color"].lstrip("#")}
            self.labels.append(lab)
            return web.json_response(lab, status=201)
        m = re.fullmatch(r"/pulls/(\d+)", r)
        if m and method == "GET":
            pr = self.get(int(m.group(1)))
            return web.json_response(self.shape(pr)) if pr else jerr(404, nf)
        m = re.fullmatch(r"/issues/(\d+)/(labels|timeline)", r)
        if m:
            pr = self.get(int(m.group(1)))
            if not pr:
                return jerr(404, nf)
            if m.group(2) == "labels" and method == "POST":
                for i in body.get("labels", []):
                    if not isinstance(i, int):
                        return jerr(422, {"message": "labels: must be ids", "url": self.base_url + "/api/swagger"})
                    lab = next((x for x in self.labels if x["id"] == i), None)
                    if not lab:
                        return jerr(404, nf)
                    if lab["name"] not in pr["labels"]:
                        pr["labels"].append(lab["name"])
                return web.json_response([x for x in self.labels if x["name"] in pr["labels"]])
            if m.group(2) == "timeline" and method == "GET":
                ev = [{"id": 1, "type": "pull_push", "user": self.user("firebreak")}]
                if pr["state"] == "closed" and not pr["merged"]:
                    ev.append({"id": 2, "type": "close", "user": self.user(pr["closed_by"])})
                return web.json_response(ev)
        return jerr(404, nf)

    # ---- control ----
    async def ctl_merge(self, request):
        b = await request.json()
        pr = self.get(int(b["number"]))
        if not pr or pr["state"] != "open":
            return jerr(409, {"error": "not open"})
        base_sha, head_sha = self.branch_sha(pr["base"]), self.branch_sha(pr["head"])
        tree = self.git("merge-tree", "--write-tree", base_sha, head_sha).splitlines()[0]
        msg = f"Merge pull request #{pr['number']} from {self.owner}/{pr['head']}\n\n{pr['title']}\n"
        commit = self.git("commit-tree", tree, "-p", base_sha, "-p", head_sha, "-m", msg)
        self.git("update-ref", f"refs/heads/{pr['base']}", commit, base_sha)
        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        pr.update(state="closed", merged=True, merged_at=now, closed_at=now, merge_commit=commit,
                  merged_by=b.get("user", "alice"))
        return web.json_response({"merge_commit": commit})

    async def ctl_close(self, request):
        b = await request.json()
        pr = self.get(int(b["number"]))
        if not pr or pr["state"] != "open":
            return jerr(409, {"error": "not open"})
        pr.update(state="closed", closed_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                  closed_by=b.get("user", "bob"))
        return web.json_response({"ok": True})

    async def ctl_ratelimit(self, request):
        b = await request.json()
        self.limited, self.wait = int(b.get("count", 1)), int(b.get("wait", 1))
        return web.json_response({"ok": True})

    async def ctl_seed(self, request):
        b = await request.json()
        pr = self.new_pr(b["head"], b["base"], b.get("title", "seeded"), "", [])
        return web.json_response({"number": pr["number"]})

    async def ctl_pulls(self, request):
        return web.json_response(self.pulls)

    async def ctl_requests(self, request):
        return web.json_response(self.requests)


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--kind", required=True, choices=sorted(API))
    ap.add_argument("--token", required=True)
    ap.add_argument("--repo", required=True)
    ap.add_argument("--bare", required=True)
    args = ap.parse_args()
    fake = Fake(args.kind, args.token, args.repo, args.bare)
    app = web.Application()
    app.router.add_post("/_fake/merge", fake.ctl_merge)
    app.router.add_post("/_fake/close", fake.ctl_close)
    app.router.add_post("/_fake/ratelimit", fake.ctl_ratelimit)
    app.router.add_post("/_fake/seed", fake.ctl_seed)
    app.router.add_get("/_fake/pulls", fake.ctl_pulls)
    app.router.add_get("/_fake/requests", fake.ctl_requests)
    app.router.add_route("*", "/{tail:.*}", fake.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    with open(args.port_file + ".tmp", "w") as f:
        f.write(str(port))
    os.rename(args.port_file + ".tmp", args.port_file)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for s in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(s, stop.set)
    await stop.wait()
    await runner.cleanup()


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
