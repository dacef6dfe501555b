"""A git smart-HTTP server: the real `git http-backend` behind HTTP, with
Basic authentication by token, as GitHub, GitLab and Gitea serve
repositories over https (without the TLS).

    /usr/bin/python3 tests/fakes/git_http.py --root DIR --port-file FILE [--token T]

Every repository under DIR is served at /NAME.git (receive-pack enabled,
so hooks such as pre-receive run as they do on a forge).  With --token, a
request without `Authorization: Basic base64(user:T)` gets 401 and a
WWW-Authenticate challenge (what makes libgit2 ask for credentials).
GET /_fake/auth lists the user names that authenticated, GET
/_fake/requests counts requests.
"""
import argparse
import base64
import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):  # quiet
        pass

    def reply(self, code, body=b"", headers=()):
        self.send_response(code)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def authorised(self):
        token = self.server.token
        if not token:
            return True
        h = self.headers.get("Authorization", "")
        if not h.startswith("Basic "):
            return False
        try:
            user, _, pw = base64.b64decode(h[6:]).decode().partition(":")
        except Exception:
            return False
        if pw != token:
            return False
        with self.server.lock:
            self.server.users.append(user)
        return True

    def body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            out = b""
            while True:
                size = int(self.rfile.readline().strip().split(b";")[0], 16)
                if size == 0:
                    self.rfile.readline()
                    return out
                out += self.rfile.read(size)
                self.rfile.readline()
        n = int(self.headers.get("Content-Length", "0") or 0)
        return self.rfile.read(n) if n else b""

    def fake(self):
        with self.server.lock:
            if self.path == "/_fake/auth":
                text = "\n".join(self.server.users) + "\n"
            else:
                text = "%d\n" % self.server.requests
        self.reply(200, text.encode(), [("Content-Type", "text/plain")])

    def backend(self, method):
        with self.server.lock:
            self.server.requests += 1
        if self.path.startswith("/_fake/"):
            return self.fake()
        data = self.body() if method == "POST" else b""
        if not self.authorised():
            self.close_connection = True
            return self.reply(401, b"",
                              [("WWW-Authenticate", 'Basic realm="git"'), ("Connection", "close")])
        path, _, query = self.path.partition("?")
        env = dict(os.environ, GIT_PROJECT_ROOT=self.server.root, GIT_HTTP_EXPORT_ALL="1",
                   REQUEST_METHOD=method, PATH_INFO=path, QUERY_STRING=query,
                   CONTENT_TYPE=self.headers.get("Content-Type", ""),
                   CONTENT_LENGTH=str(len(data)), REMOTE_USER="firebreak", REMOTE_ADDR="127.0.0.1",
                   GIT_HTTP_RECEIVE_PACK="true")
        if self.headers.get("Git-Protocol"):
            env["GIT_PROTOCOL"] = self.headers["Git-Protocol"]
        p = subprocess.run(["git", "http-backend"], input=data, env=env, capture_output=True)
        head, _, body = p.stdout.partition(b"\r\n\r\n")
        code, headers = 200, []
        for line in head.decode("latin-1").split("\r\n"):
            k, _, v = line.partition(":")
            if k.lower() == "status":
                code = int(v.strip().split()[0])
            elif k:
                headers.append((k, v.strip()))
        self.reply(code, body, headers)

    def do_GET(self):
        self.backend("GET")

    def do_POST(self):
        self.backend("POST")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--root", required=True)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--token", default="")
    args = ap.parse_args()
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.root, srv.token = os.path.abspath(args.root), args.token
    srv.lock, srv.users, srv.requests = threading.Lock(), [], 0
    with open(args.port_file + ".tmp", "w") as f:
        f.write("%d\n" % srv.server_address[1])
    os.rename(args.port_file + ".tmp", args.port_file)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
