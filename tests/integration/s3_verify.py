#!/usr/bin/env python3
"""s3_verify.py - the S3 endpoint the s3 suite's stack talks to: a loopback
proxy in front of s3rver (the store, which checks no SigV4 signature) that
refuses, as S3 does (403 SignatureDoesNotMatch), every request whose AWS
Signature V4 (query string) botocore does not compute identically when it
signs the same request at the same instant, or that has expired.  Both
signers are checked so: the app's (common/s3.c) and nginx's
(nginx/signed_url.js).  GET /_verify/stats answers the counts as JSON.

usage: s3_verify.py --port-file F --upstream PORT --access AK --secret SK
                    --region R
"""
import argparse
import datetime
import http.client
import http.server
import json
import os
import threading
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

from botocore.auth import S3SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

ARGS = None
STATS = {"verified": 0, "refused": 0, "last_refused": ""}
LOCK = threading.Lock()


def botocore_signature(method, host, path, pairs):
    """The signature botocore makes for this request at its X-Amz-Date."""
    q = dict(pairs)
    other = [(k, v) for k, v in pairs if not k.startswith("X-Amz-")]
    url = "http://" + host + path
    if other:
        url += "?" + urlencode(other, quote_via=quote, safe="")
    req = AWSRequest(method=method, url=url)
    auth = S3SigV4QueryAuth(Credentials(ARGS.access, ARGS.secret), "s3", ARGS.region,
                            expires=int(q["X-Amz-Expires"]))
    req.context["timestamp"] = q["X-Amz-Date"]
    auth._modify_request_before_signing(req)
    canonical = auth.canonical_request(req)
    return auth.signature(auth.string_to_sign(req, canonical), req)


def problem(method, host, path, query):
    """Why the request is refused, or None."""
    pairs = parse_qsl(query, keep_blank_values=True)
    q = dict(pairs)
    for name in ("X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires",
                 "X-Amz-SignedHeaders", "X-Amz-Signature"):
        if name not in q:
            return "no " + name
    when = datetime.datetime.strptime(q["X-Amz-Date"], "%Y%m%dT%H%M%SZ")
    age = (datetime.datetime.utcnow() - when).total_seconds()
    if age > int(q["X-Amz-Expires"]) or age < -300:
        return "expired"
    if not q["X-Amz-Credential"].startswith(ARGS.access + "/"):
        return "unknown access key"
    want = botocore_signature(method, host, path, pairs)
    if want != q["X-Amz-Signature"]:
        return "signature mismatch (botocore: %s)" % want
    return None


class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, fmt, *args):
        pass

    def _answer(self, status, body, ctype="application/xml"):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _proxy(self):
        parts = urlsplit(self.path)
        if parts.path == "/_verify/stats":
            with LOCK:
                body = json.dumps(STATS).encode()
            return self._answer(200, body, "application/json")
        why = problem(self.command, self.headers.get("Host", ""), parts.path, parts.query)
        with LOCK:
            if why:
                STATS["refused"] += 1
                STATS["last_refused"] = "%s %s: %s" % (self.command, parts.path, why)
            else:
                STATS["verified"] += 1
        if why:
            print("refused", self.command, parts.path, why, flush=True)
            return self._answer(403, b"<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error>"
                                b"<Code>SignatureDoesNotMatch</Code></Error>")
        length = int(self.headers.get("Content-Length") or 0)
        up = http.client.HTTPConnection("127.0.0.1", ARGS.upstream, timeout=120)
        up.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
        for k, v in self.headers.items():
            if k.lower() not in ("connection", "expect", "transfer-encoding"):
                up.putheader(k, v)
        up.endheaders()
        left = length
        while left > 0:
            chunk = self.rfile.read(min(left, 1 << 16))
            if not chunk:
                break
            up.send(chunk)
            left -= len(chunk)
        resp = up.getresponse()
        self.send_response(resp.status)
        for k, v in resp.getheaders():
            if k.lower() not in ("connection", "transfer-encoding", "keep-alive"):
                self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            while True:
                chunk = resp.read(1 << 16)
                if not chunk:
                    break
                self.wfile.write(chunk)
        up.close()

    do_GET = do_PUT = do_HEAD = do_DELETE = do_POST = _proxy


def main():
    global ARGS
    p = argparse.ArgumentParser()
    p.add_argument("--port-file", required=True)
    p.add_argument("--upstream", type=int, required=True)
    p.add_argument("--access", required=True)
    p.add_argument("--secret", required=True)
    p.add_argument("--region", required=True)
    ARGS = p.parse_args()
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    with open(ARGS.port_file + ".tmp", "w") as f:
        f.write(str(srv.server_address[1]))
    os.rename(ARGS.port_file + ".tmp", ARGS.port_file)
    srv.serve_forever()


if __name__ == "__main__":
    main()
