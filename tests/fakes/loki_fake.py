"""A fake Grafana Loki for tests: GET /loki/api/v1/query_range as reference/apis.md §1 says.

    /usr/bin/python3 tests/fakes/loki_fake.py --port-file FILE [--tenant T]

Faithful where firebreak depends on it: start inclusive, end exclusive, both
in ns; `limit` across all streams; direction forward or backward (default
backward); values as [ns-string, line] pairs; several lines may share a
nanosecond; errors are text/plain (400 for a query it cannot parse, 401
"no org id" without X-Scope-OrgID when --tenant is set).  Queries: a stream
selector of `label="value"` matchers, then optional `|= "text"` or
`|~ "regex"` line filters.

Control: POST /_fake/push {"labels": {...}, "lines": [[ns, "text"], ...]},
POST /_fake/status {"code": 503} (0 = healthy again), GET /_fake/requests.
"""
import argparse
import asyncio
import json
import os
import re
import signal
import sys

from aiohttp import web

SELECTOR = re.compile(r'^\{(.*?)\}(.*)$', re.S)
MATCHER = re.compile(r'\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=|!=|=~|!~)\s*"((?:[^"\\]|\\.)*)"\s*,?')
FILTER = re.compile(r'\s*(\|=|\|~|!=|!~)\s*(?:"((?:[^"\\]|\\.)*)"|`([^`]*)`)')


class Fake:
    def __init__(self, tenant):
        self.tenant = tenant
        self.entries = []  # (labels dict, ns int, line)
        self.requests = []
        self.fail = 0

    def parse(self, q):
        m = SELECTOR.match(q.strip())
        if not m:
            raise ValueError("parse error at line 1, col 1: syntax error: unexpected IDENTIFIER")
        matchers, rest = [], m.group(2)
        body = m.group(1)
        pos = 0
        while pos < len(body):
            mm = MATCHER.match(body, pos)
            if not mm:
                raise ValueError(f"parse error: unexpected character in selector at {pos}")
            matchers.append((mm.group(1), mm.group(2), mm.group(3)))
            pos = mm.end()
        if not any(op in ("=", "=~") and val not in ("", ".*") for _, op, val in matchers):
            raise ValueError("queries require at least one regexp or equality matcher that does not "
                             "have an empty-compatible value. For instance, app=~\".*\" does not meet "
                             "this requirement, but app=~\".+\" will")
        filters = []
        pos = 0
        while rest[pos:].strip():
            fm = FILTER.match(rest, pos)
            if not fm:
                raise ValueError("parse error: unexpected pipeline stage")
            filters.append((fm.group(1), fm.group(2) if fm.group(2) is not None else fm.group(3)))
            pos = fm.end()
        return matchers, filters

    @staticmethod
    def selects(labels, matchers, filters, line):
        for k, op, v in matchers:
            have = labels.get(k, "")
            if op == "=" and have != v or op == "!=" and have == v:
                return False
            if op == "=~" and not re.fullmatch(v, have) or op == "!~" and re.fullmatch(v, have):
                return False
        for op, v in filters:
            if op == "|=" and v not in line or op == "!=" and v in line:
                return False
            if op == "|~" and not re.search(v, line) or op == "!~" and re.search(v, line):
                return False
        return True

    async def query_range(self, request):
        q = request.query
        self.requests.append({"query": q.get("query", ""), "start": q.get("start"), "end": q.get("end"),
                              "limit": q.get("limit"), "direction": q.get("direction"),
                              "org": request.headers.get("X-Scope-OrgID")})
        if self.fail:
            return web.Response(status=self.fail, text="upstream unavailable\n", content_type="text/plain")
        if self.tenant and request.headers.get("X-Scope-OrgID") != self.tenant:
            return web.Response(status=401, text="no org id\n", content_type="text/plain")
        try:
            matchers, filters = self.parse(q.get("query", ""))
            start = int(q.get("start", "0"))
            end = int(q["end"]) if "end" in q else 1 << 62
            limit = int(q.get("limit", "100"))
        except (ValueError, KeyError) as e:
            return web.Response(status=400, text=f"{e}\n", content_type="text/plain")
        if limit > 5000:
            return web.Response(status=400, text=f"max entries limit per query exceeded, limit > "
                                f"max_entries_limit_per_query ({limit} > 5000)\n", content_type="text/plain")
        forward = q.get("direction", "backward") == "forward"
        hits = [(lab, ns, line) for lab, ns, line in self.entries
                if start <= ns < end and self.selects(lab, matchers, filters, line)]
        hits.sort(key=lambda e: e[1], reverse=not forward)  # stable: push order within a ns
        hits = hits[:limit]
        streams = {}
        for lab, ns, line in hits:
            key = json.dumps(lab, sort_keys=True)
            streams.setdefault(key, {"stream": lab, "values": []})["values"].append([str(ns), line])
        return web.json_response({"status": "success", "data": {
            "resultType": "streams", "result": list(streams.values()),
            "stats": {"summary": {"totalLinesProcessed": len(hits)}}}})

    async def push(self, request):
        b = await request.json()
        for ns, line in b["lines"]:
            self.entries.append((b["labels"], int(ns), line))
        return web.json_response({"ok": True, "entries": len(self.entries)})

    async def status(self, request):
        self.fail = int((await request.json()).get("code", 0))
        return web.json_response({"ok": True})

    async def get_requests(self, request):
        return web.json_response(self.requests)


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--tenant", default="")
    args = ap.parse_args()
    fake = Fake(args.tenant)
    app = web.Application()
    app.router.add_get("/loki/api/v1/query_range", fake.query_range)
    app.router.add_post("/_fake/push", fake.push)
    app.router.add_post("/_fake/status", fake.status)
    app.router.add_get("/_fake/requests", fake.get_requests)
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
