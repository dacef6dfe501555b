"""A fake Kubernetes API (pods) and Argo CD API (applications), as reference/apis.md §4-5 say.

    /usr/bin/python3 tests/fakes/kube_fake.py --port-file FILE --k8s-token T --argo-token A

Kubernetes: GET /api/v1/namespaces/{ns}/pods?labelSelector=k%3Dv returns a
PodList filtered by the selector; a wrong or missing bearer token gets the
401 Status object, a namespace marked forbidden the 403 Status.  Argo CD:
GET /api/v1/applications/{name} returns the Application; an unknown app is
403 (no `project` given), as Argo CD does so that existence does not leak.

Control: POST /_fake/pods {"namespace", "items": [pod...]},
POST /_fake/app {"name", "sync", "health", "revision"}, POST /_fake/forbid
{"namespace"}, GET /_fake/requests; fault injection: POST /_fake/delay
{"namespace", "seconds"} makes that namespace's pod lists answer late (an
API server under load), GET /_fake/inflight counts requests not yet
answered.
"""
import argparse
import asyncio
import os
import signal
import sys

from aiohttp import web


def status(code, reason, message):
    return web.json_response({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                              "message": message, "reason": reason, "code": code}, status=code)


class Fake:
    def __init__(self, k8s_token, argo_token):
        self.k8s_token, self.argo_token = k8s_token, argo_token
        self.pods = {}      # ns -> [pod]
        self.apps = {}      # name -> Application
        self.forbidden = set()
        self.requests = []
        self.delay = {}     # ns -> seconds before answering
        self.inflight = 0

    def bearer(self, request):
        h = request.headers.get("Authorization", "")
        return h[7:] if h.startswith("Bearer ") else None

    async def list_pods(self, request):
        self.inflight += 1
        try:
            if self.delay.get(request.match_info["ns"]):
                await asyncio.sleep(self.delay[request.match_info["ns"]])
            return self.answer_pods(request)
        finally:
            self.inflight -= 1

    def answer_pods(self, request):
        ns = request.match_info["ns"]
        self.requests.append({"path": request.path, "query": dict(request.query),
                              "token": self.bearer(request)})
        if self.bearer(request) != self.k8s_token:
            return status(401, "Unauthorized", "Unauthorized")
        if ns in self.forbidden:
            return status(403, "Forbidden", f'pods is forbidden: User "system:serviceaccount:ops:firebreak" '
                                            f'cannot list resource "pods" in API group "" in the namespace "{ns}"')
        items = self.pods.get(ns, [])
        sel = request.query.get("labelSelector", "")
        if sel:
            k, _, v = sel.partition("=")
            items = [p for p in items if p.get("metadata", {}).get("labels", {}).get(k) == v]
        return web.json_response({"kind": "PodList", "apiVersion": "v1",
                                  "metadata": {"resourceVersion": "1", "continue": ""}, "items": items})

    async def get_app(self, request):
        name = request.match_info["name"]
        self.requests.append({"path": request.path, "token": self.bearer(request)})
        if self.bearer(request) != self.argo_token:
            return web.json_response({"error": "invalid session", "code": 16, "message": "invalid session"},
                                     status=401)
        app = self.apps.get(name)
        if not app:
            msg = f'permission denied: applications, get, default/{name}'
            return web.json_response({"error": msg, "code": 7, "message": msg, "details": []}, status=403)
        return web.json_response(app)

    async def ctl_pods(self, request):
        b = await request.json()
        self.pods[b["namespace"]] = b["items"]
        return web.json_response({"ok": True})

    async def ctl_app(self, request):
        b = await request.json()
        self.apps[b["name"]] = {
            "metadata": {"name": b["name"], "namespace": "argocd"},
            "spec": {"project": "default"},
            "status": {"sync": {"status": b.get("sync", "Synced"), "revision": b.get("revision", "")},
                       "health": {"status": b.get("health", "Healthy")}}}
        return web.json_response({"ok": True})

    async def ctl_forbid(self, request):
        self.forbidden.add((await request.json())["namespace"])
        return web.json_response({"ok": True})

    async def ctl_requests(self, request):
        return web.json_response(self.requests)

    async def ctl_delay(self, request):
        b = await request.json()
        self.delay[b["namespace"]] = float(b["seconds"])
        return web.json_response({"ok": True})

    async def ctl_inflight(self, request):
        return web.json_response({"inflight": self.inflight})


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--k8s-token", required=True)
    ap.add_argument("--argo-token", required=True)
    args = ap.parse_args()
    fake = Fake(args.k8s_token, args.argo_token)
    app = web.Application()
    app.router.add_get("/api/v1/namespaces/{ns}/pods", fake.list_pods)
    app.router.add_get("/api/v1/applications/{name}", fake.get_app)
    app.router.add_post("/_fake/pods", fake.ctl_pods)
    app.router.add_post("/_fake/app", fake.ctl_app)
    app.router.add_post("/_fake/forbid", fake.ctl_forbid)
    app.router.add_get("/_fake/requests", fake.ctl_requests)
    app.router.add_post("/_fake/delay", fake.ctl_delay)
    app.router.add_get("/_fake/inflight", fake.ctl_inflight)
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
