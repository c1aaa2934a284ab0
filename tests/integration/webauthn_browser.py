#!/usr/bin/python3
"""A real browser for the passkeys tests: headless Chromium with a virtual
WebAuthn authenticator, driven over the DevTools protocol (python3-websockets).

It serves a blank page on two loopback ports (http://localhost is a secure
context, and "localhost" is a valid relying party id): the "good" origin,
which the test allowlists, and the "evil" one, which it does not.  Then it
reads one JSON command a line on stdin and answers one JSON line on stdout:

  {"op": "create", "options": {...}, "algs": [-8]}   navigator.credentials.create
        with the PublicKeyCredentialCreationOptions the API returned
        (base64url fields decoded here, as a web app does); algs, when
        given, keeps only those pubKeyCredParams (a client preferring EdDSA)
  {"op": "get", "options": {...}}                    navigator.credentials.get
  {"op": "origin", "name": "good" | "evil"}          navigate to that origin
  {"op": "set_count", "credentialId": "...", "signCount": n}
        rewrite the authenticator's counter (a cloned authenticator)

Answers: {"ok": true, "credential": {...}} (PublicKeyCredential as JSON, as
toJSON() gives it) or {"ok": false, "error": "..."}.  Prints "READY" first.
"""
import asyncio
import http.server
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

import websockets


class Page(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = b"<!doctype html><meta charset=utf-8><title>Tessera passkeys test</title><p>passkeys"
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *a):
        pass


def serve():
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Page)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv.server_address[1]


JS_HELPERS = r"""
const b2u = (buf) => btoa(String.fromCharCode(...new Uint8Array(buf)))
    .replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
const u2b = (s) => Uint8Array.from(atob(s.replace(/-/g, '+').replace(/_/g, '/')), c => c.charCodeAt(0));
const credJSON = (c) => {
  const r = c.response, out = {id: c.id, rawId: b2u(c.rawId), type: c.type, response: {
    clientDataJSON: b2u(r.clientDataJSON)}};
  if (r.attestationObject) {
    out.response.attestationObject = b2u(r.attestationObject);
    out.response.transports = r.getTransports ? r.getTransports() : [];
  } else {
    out.response.authenticatorData = b2u(r.authenticatorData);
    out.response.signature = b2u(r.signature);
    out.response.userHandle = r.userHandle ? b2u(r.userHandle) : null;
  }
  return out;
};
"""


def js_create(options, algs):
    return """
(async () => {
""" + JS_HELPERS + """
  const o = %s, algs = %s;
  o.challenge = u2b(o.challenge);
  o.user.id = u2b(o.user.id);
  o.excludeCredentials = (o.excludeCredentials || []).map(d => ({...d, id: u2b(d.id)}));
  if (algs) o.pubKeyCredParams = o.pubKeyCredParams.filter(p => algs.includes(p.alg));
  return JSON.stringify(credJSON(await navigator.credentials.create({publicKey: o})));
})()""" % (json.dumps(options), json.dumps(algs))


def js_get(options):
    return """
(async () => {
""" + JS_HELPERS + """
  const o = %s;
  o.challenge = u2b(o.challenge);
  o.allowCredentials = (o.allowCredentials || []).map(d => ({...d, id: u2b(d.id)}));
  return JSON.stringify(credJSON(await navigator.credentials.get({publicKey: o})));
})()""" % json.dumps(options)


class Browser:
    def __init__(self):
        self.profile = tempfile.mkdtemp(prefix="tessera-chromium-")
        exe = shutil.which("chromium") or shutil.which("chromium-browser")
        if not exe:
            raise SystemExit("SKIP chromium is not installed")
        self.proc = subprocess.Popen(
            [exe, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
             "--disable-dev-shm-usage", "--remote-debugging-port=0",
             "--user-data-dir=" + self.profile, "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        port_file = os.path.join(self.profile, "DevToolsActivePort")
        deadline = time.time() + 30
        while not os.path.exists(port_file) or os.path.getsize(port_file) == 0:
            if time.time() > deadline or self.proc.poll() is not None:
                raise SystemExit("SKIP chromium did not start")
            time.sleep(0.1)
        self.port = int(open(port_file).read().split()[0])
        targets = json.load(urllib.request.urlopen("http://127.0.0.1:%d/json/list" % self.port))
        self.ws_url = [t for t in targets if t["type"] == "page"][0]["webSocketDebuggerUrl"]
        self.next_id = 0

    async def connect(self):
        self.ws = await websockets.connect(self.ws_url, max_size=None)

    async def cmd(self, method, params=None):
        self.next_id += 1
        mid = self.next_id
        await self.ws.send(json.dumps({"id": mid, "method": method, "params": params or {}}))
        while True:
            msg = json.loads(await self.ws.recv())
            if msg.get("id") == mid:
                if "error" in msg:
                    raise RuntimeError("%s: %s" % (method, msg["error"].get("message")))
                return msg["result"]

    async def evaluate(self, expr):
        res = await self.cmd("Runtime.evaluate", {"expression": expr, "awaitPromise": True,
                                                  "returnByValue": True})
        if "exceptionDetails" in res:
            ex = res["exceptionDetails"].get("exception", {})
            raise RuntimeError(ex.get("description") or res["exceptionDetails"].get("text"))
        return res["result"].get("value")

    async def navigate(self, url):
        await self.cmd("Page.navigate", {"url": url})
        for _ in range(100):
            if await self.evaluate("document.readyState") == "complete" and \
                    await self.evaluate("location.href") == url:
                return
            await asyncio.sleep(0.05)
        raise RuntimeError("page did not load: " + url)

    def close(self):
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        shutil.rmtree(self.profile, ignore_errors=True)


async def main():
    origins = {"good": "http://localhost:%d/" % serve(), "evil": "http://localhost:%d/" % serve()}
    b = Browser()
    try:
        await b.connect()
        await b.cmd("Page.enable")
        await b.navigate(origins["good"])
        await b.cmd("WebAuthn.enable")
        auth = await b.cmd("WebAuthn.addVirtualAuthenticator", {"options": {
            "protocol": "ctap2", "transport": "internal", "hasResidentKey": True,
            "hasUserVerification": True, "isUserVerified": True,
            "automaticPresenceSimulation": True}})
        aid = auth["authenticatorId"]
        print(json.dumps({"ready": True, "good": origins["good"].rstrip("/"),
                          "evil": origins["evil"].rstrip("/")}), flush=True)
        loop = asyncio.get_running_loop()
        while True:
            line = await loop.run_in_executor(None, sys.stdin.readline)
            if not line:
                break
            req = json.loads(line)
            try:
                op = req["op"]
                if op == "create":
                    out = {"ok": True, "credential": json.loads(
                        await b.evaluate(js_create(req["options"], req.get("algs"))))}
                elif op == "get":
                    out = {"ok": True, "credential": json.loads(await b.evaluate(js_get(req["options"])))}
                elif op == "origin":
                    await b.navigate(origins[req["name"]])
                    out = {"ok": True}
                elif op == "set_count":
                    creds = (await b.cmd("WebAuthn.getCredentials", {"authenticatorId": aid}))["credentials"]
                    want = req["credentialId"]
                    pad = lambda s: s.replace("-", "+").replace("_", "/").rstrip("=")
                    c = [c for c in creds if pad(c["credentialId"]) == pad(want)][0]
                    await b.cmd("WebAuthn.removeCredential",
                                {"authenticatorId": aid, "credentialId": c["credentialId"]})
                    c["signCount"] = req["signCount"]
                    await b.cmd("WebAuthn.addCredential", {"authenticatorId": aid, "credential": c})
                    out = {"ok": True}
                else:
                    out = {"ok": False, "error": "unknown op " + op}
            except Exception as e:  # the test asserts on the message
                out = {"ok": False, "error": str(e)}
            print(json.dumps(out), flush=True)
    finally:
        b.close()


if __name__ == "__main__":
    asyncio.run(main())
