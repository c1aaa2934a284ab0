#!/usr/bin/python3
"""A stand-in of the hCaptcha / Cloudflare Turnstile siteverify API for the
integration tests (tests/integration/test_apps.c).

POST /<box>/siteverify with a form body (secret, response, remoteip), as
both providers document it, answers {"success": true} when the secret is
"test-secret" and the response "pass-token", else {"success": false,
"error-codes": [...]}.  GET /control/<box> returns {"received": [the
forms it got]}; PUT /control/<box> is accepted (the peers' protocol).
Listens on 127.0.0.1, port written to --port-file.
"""
import argparse
import json
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

LOCK = threading.Lock()
BOXES = {}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, status, obj):
        body = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n).decode() if n else ""

    def do_PUT(self):
        self.body()
        self.reply(200, {})

    def do_GET(self):
        parts = self.path.split("/")
        if len(parts) == 3 and parts[1] == "control":
            with LOCK:
                self.reply(200, {"received": BOXES.get(parts[2], [])})
            return
        self.reply(404, {})

    def do_POST(self):
        parts = self.path.split("/")
        form = {k: v[0] for k, v in parse_qs(self.body(), keep_blank_values=True).items()}
        if len(parts) != 3 or parts[2] != "siteverify":
            self.reply(404, {})
            return
        with LOCK:
            BOXES.setdefault(parts[1], []).append(form)
        if form.get("secret") != "test-secret":
            self.reply(200, {"success": False, "error-codes": ["invalid-input-secret"]})
        elif form.get("response") != "pass-token":
            self.reply(200, {"success": False, "error-codes": ["invalid-input-response"]})
        else:
            self.reply(200, {"success": True, "hostname": "localhost"})


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port-file", required=True)
    args = ap.parse_args()
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(srv.server_address[1]))
    os.rename(tmp, args.port_file)
    srv.serve_forever()


if __name__ == "__main__":
    main()
