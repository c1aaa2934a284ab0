#!/usr/bin/python3
"""A paged JSON API for the integration tests (tests/integration/test_integrations.c).

Listens on 127.0.0.1 (port 0: the kernel picks one, written to --port-file).

  GET /records?page=N&per_page=M   {"data": {"items": [...]}, "page": N}
                                   (records 1..count, M per page; Bearer token
                                   checked when one is set)
  PUT /control/<box>               {"count": N, "token": "...", "names": {"3": "x"},
                                    "delay_ms": N}  - sets the data set
  GET /control/<box>               {"requests": [...]}  - what was asked
"""
import argparse
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlparse, parse_qs

LOCK = threading.Lock()
STATE = {"count": 7, "token": None, "names": {}, "delay_ms": 0, "requests": []}


class Handler(BaseHTTPRequestHandler):
    def log_message(self, fmt, *args):
        pass

    def reply(self, status, obj):
        body = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_PUT(self):
        n = int(self.headers.get("Content-Length") or 0)
        conf = json.loads(self.rfile.read(n) or b"{}")
        with LOCK:
            STATE.update(conf)
        self.reply(200, {"ok": True})

    def do_GET(self):
        u = urlparse(self.path)
        if u.path.startswith("/control/"):
            with LOCK:
                self.reply(200, {"requests": list(STATE["requests"])})
            return
        q = parse_qs(u.query)
        with LOCK:
            STATE["requests"].append({"path": self.path,
                                      "authorization": self.headers.get("Authorization")})
            token, count = STATE["token"], STATE["count"]
            names, delay = dict(STATE["names"]), STATE["delay_ms"]
        if token and self.headers.get("Authorization") != "Bearer " + token:
            self.reply(401, {"error": "unauthorized"})
            return
        page = int(q.get("page", ["1"])[0])
        per = int(q.get("per_page", ["3"])[0])
        if delay:
            time.sleep(delay / 1000.0)
        first = (page - 1) * per + 1
        items = [{"ext_id": "r%d" % i, "name": names.get(str(i), "Record %d" % i), "rank": i}
                 for i in range(first, min(first + per, count + 1))]
        self.reply(200, {"data": {"items": items}, "page": page})


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port-file", required=True)
    args = ap.parse_args()
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    with open(args.port_file + ".tmp", "w") as f:
        f.write(str(srv.server_address[1]))
    import os
    os.rename(args.port_file + ".tmp", args.port_file)
    srv.serve_forever()


if __name__ == "__main__":
    main()
