#!/usr/bin/python3
"""A Twilio-compatible SMS endpoint for the identity tests: every POST is
written to DIR/<n>.json as {path, authorization, content_type, form}.  The
first request answers 500 (so the tests see the job retried), later ones
201 with a Twilio-like body.

Usage: sms_sink.py PORT DIR
"""
import json
import os
import sys
import urllib.parse
from http.server import BaseHTTPRequestHandler, HTTPServer

port, outdir = int(sys.argv[1]), sys.argv[2]
os.makedirs(outdir, exist_ok=True)
seen = [0]


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(n).decode()
        seen[0] += 1
        rec = {
            "n": seen[0],
            "path": self.path,
            "authorization": self.headers.get("Authorization", ""),
            "content_type": self.headers.get("Content-Type", ""),
            "form": {k: v[0] for k, v in urllib.parse.parse_qs(body).items()},
        }
        with open(os.path.join(outdir, "%d.json" % seen[0]), "w") as f:
            json.dump(rec, f)
        status = 500 if seen[0] == 1 else 201
        out = json.dumps({"sid": "SM%d" % seen[0], "status": "queued"}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    def log_message(self, *args):
        pass


HTTPServer(("127.0.0.1", port), Handler).serve_forever()
