#!/usr/bin/python3
"""A webhook receiver for the integration tests (tests/integration/test_webhooks.c).

Listens on 127.0.0.1 (port 0: the kernel picks one, written to --port-file)
and checks Standard Webhooks signatures itself, with Python's hmac, against
the secrets the test registered.  Every endpoint is a "box" named in the
path, so one receiver serves many tests:

  POST /hook/<box>            a delivery: recorded, answered per the box's plan
  PUT  /control/<box>         {"secrets": [...], "statuses": [500, 200],
                               "delay_ms": N}  - statuses are answered in order
                               (the last one repeats; default 200); the first
                               delivery waits delay_ms before answering;
                               "slow_ms": N makes every delivery wait N
  GET  /control/<box>         {"received": [{"headers", "body", "valid_secrets",
                               "timestamp_ok", "arrived"}...]}
"""
import argparse
import base64
import hashlib
import hmac
import json
import os
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOCK = threading.Lock()
BOXES = {}


def box(name):
    return BOXES.setdefault(name, {"secrets": [], "statuses": [200], "delay_ms": 0, "slow_ms": 0,
                                   "received": [], "answered": 0})


def verify(secret, msg_id, ts, body, header):
    """True if one of the space-separated v1 signatures is secret's."""
    key = base64.b64decode(secret[len("whsec_"):])
    signed = msg_id.encode() + b"." + ts.encode() + b"." + body
    want = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    for sig in header.split(" "):
        version, _, value = sig.partition(",")
        if version == "v1" and hmac.compare_digest(value, want):
            return True
    return False


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def reply(self, status, obj):
        data = json.dumps(obj).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass    # the sender gave up (or was killed) while we waited

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def do_PUT(self):
        if not self.path.startswith("/control/"):
            return self.reply(404, {"error": "no such path"})
        conf = json.loads(self.body() or b"{}")
        with LOCK:
            b = box(self.path[len("/control/"):])
            for k in ("secrets", "statuses", "delay_ms", "slow_ms"):
                if k in conf:
                    b[k] = conf[k]
        self.reply(200, {"ok": True})

    def do_GET(self):
        if not self.path.startswith("/control/"):
            return self.reply(404, {"error": "no such path"})
        with LOCK:
            b = box(self.path[len("/control/"):])
            self.reply(200, {"received": list(b["received"])})

    def do_POST(self):
        if not self.path.startswith("/hook/"):
            return self.reply(404, {"error": "no such path"})
        raw = self.body()
        name = self.path[len("/hook/"):]
        msg_id = self.headers.get("webhook-id", "")
        ts = self.headers.get("webhook-timestamp", "")
        sig = self.headers.get("webhook-signature", "")
        with LOCK:
            b = box(name)
            valid = [s for s in b["secrets"] if verify(s, msg_id, ts, raw, sig)]
            try:
                ts_ok = abs(time.time() - int(ts)) < 300
            except ValueError:
                ts_ok = False
            try:
                parsed = json.loads(raw)
            except ValueError:
                parsed = None
            b["received"].append({
                "headers": {k.lower(): v for k, v in self.headers.items()},
                "body": parsed, "valid_secrets": valid, "timestamp_ok": ts_ok,
                "arrived": time.time()})
            n = b["answered"]
            b["answered"] += 1
            statuses = b["statuses"] or [200]
            status = statuses[min(n, len(statuses) - 1)]
            delay = b["delay_ms"] if n == 0 and b["delay_ms"] else b["slow_ms"]
        if delay:
            time.sleep(delay / 1000.0)
        self.reply(status, {"received": True, "n": n + 1})


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port-file", required=True)
    args = ap.parse_args()
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    with open(args.port_file + ".tmp", "w") as f:
        f.write(str(srv.server_address[1]))
    os.rename(args.port_file + ".tmp", args.port_file)
    srv.serve_forever()


if __name__ == "__main__":
    main()
