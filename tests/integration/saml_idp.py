#!/usr/bin/python3
"""A SAML 2.0 identity provider for the integration tests (test_saml.c),
built on pysaml2 (python3-pysaml2, signing through xmlsec1).

Listens on 127.0.0.1 (port 0: the kernel picks one, written to
--port-file); its entity id is http://127.0.0.1:<port>/idp.

  GET  /metadata        the IdP's metadata (entity id, SSO URL, certificate)
  POST /sp              body: a service provider's metadata, loaded into the
                        IdP's metadata store (pysaml2 parses it against the
                        schema: 400 with the reason when it does not)
  POST /control         {"user": "...", "email": "...", "name": "...",
                        "mode": "ok" | "tamper" | "expired" | "wrong_audience" |
                        "wrong_destination" | "unsigned_assertion"}:
                        whom the next responses sign in, and how they are
                        spoiled (default: ok)
  GET  /sso?SAMLRequest=&RelayState=&SigAlg=&Signature=
                        the HTTP-Redirect binding: the query signature is
                        checked over the raw query with the SP's certificate
                        from its metadata (403 when it does not verify), the
                        request parsed by pysaml2, and the user signed in at
                        once: an HTML page whose form POSTs a signed Response
                        (the response and its assertion both signed) with
                        the RelayState to the SP's ACS (HTTP-POST binding)
  GET  /last            {"request_id", "issuer", "signed", "acs"} of the
                        last request
"""
import argparse
import base64
import html
import json
import os
import subprocess
import tempfile
import threading
import xml.etree.ElementTree as ET
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote_plus, urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT
from saml2.assertion import Policy
from saml2.config import IdPConfig
from saml2.metadata import entity_descriptor
from saml2.saml import NAMEID_FORMAT_PERSISTENT, NameID
from saml2.server import Server

MD = "{urn:oasis:names:tc:SAML:2.0:metadata}"
DS = "{http://www.w3.org/2000/09/xmldsig#}"
SIG_ALGS = {
    "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256": hashes.SHA256(),
    "http://www.w3.org/2000/09/xmldsig#rsa-sha1": hashes.SHA1(),
}

OTHER_SP = "https://elsewhere.example/sp"
OTHER_SP_METADATA = (
    '<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="%s">'
    '<md:SPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">'
    '<md:AssertionConsumerService Binding="%s" Location="https://elsewhere.example/acs" index="0"/>'
    '</md:SPSSODescriptor></md:EntityDescriptor>') % (OTHER_SP, BINDING_HTTP_POST)

LOCK = threading.Lock()
STATE = {"control": {"user": "alice", "email": "alice@example.com", "name": "Alice", "mode": "ok"},
         "sp": {}, "last": {}}


def make_idp(base, workdir):
    key, cert = os.path.join(workdir, "idp.key"), os.path.join(workdir, "idp.crt")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
                    "-out", cert, "-days", "2", "-subj", "/CN=tessera-test-idp"],
                   check=True, capture_output=True)
    conf = IdPConfig()
    conf.load({
        "entityid": base + "/idp",
        "service": {"idp": {
            "endpoints": {"single_sign_on_service": [(base + "/sso", BINDING_HTTP_REDIRECT)]},
            "name_id_format": [NAMEID_FORMAT_PERSISTENT],
        }},
        "key_file": key,
        "cert_file": cert,
        "xmlsec_binary": "/usr/bin/xmlsec1",
        "metadata": {},
        "accepted_time_diff": 120,
    })
    idp = Server(config=conf)
    # the SP a wrong-audience response is meant for (pysaml2 looks it up)
    idp.metadata.load("inline", OTHER_SP_METADATA)
    return idp, conf


def sp_cert(md_xml):
    """The signing certificate and ACS of an SP's metadata."""
    root = ET.fromstring(md_xml)
    spsso = root.find(MD + "SPSSODescriptor")
    cert = acs = None
    for kd in spsso.findall(MD + "KeyDescriptor"):
        if kd.get("use", "signing") == "signing":
            cert = "".join(kd.find(".//" + DS + "X509Certificate").text.split())
    for a in spsso.findall(MD + "AssertionConsumerService"):
        if a.get("Binding") == BINDING_HTTP_POST:
            acs = a.get("Location")
    return root.get("entityID"), cert, acs


def verify_query(raw_query, cert_b64):
    """The Redirect binding's signature, over the query as sent."""
    parts = dict(p.split("=", 1) for p in raw_query.split("&") if "=" in p)
    if "Signature" not in parts or "SigAlg" not in parts:
        return False
    signed = "&".join(k + "=" + parts[k] for k in ("SAMLRequest", "RelayState", "SigAlg") if k in parts)
    alg = SIG_ALGS.get(unquote_plus(parts["SigAlg"]))
    if alg is None:
        return False
    key = x509.load_der_x509_certificate(base64.b64decode(cert_b64)).public_key()
    try:
        key.verify(base64.b64decode(unquote_plus(parts["Signature"])), signed.encode(),
                   padding.PKCS1v15(), alg)
        return True
    except Exception:  # noqa: BLE001 - any failure is a bad signature
        return False


def build_response(idp, req, sp, ctl):
    mode = ctl.get("mode", "ok")
    lifetime = {"minutes": -10} if mode == "expired" else {"minutes": 5}
    audience = OTHER_SP if mode == "wrong_audience" else sp["entity_id"]
    identity = {"mail": [ctl["email"]], "displayName": [ctl["name"]]}
    policy = Policy({"default": {"lifetime": lifetime, "attribute_restrictions": None}})
    destination = "https://elsewhere.example/acs" if mode == "wrong_destination" else sp["acs"]
    resp = idp.create_authn_response(
        identity, req.id, destination, audience,
        name_id=NameID(format=NAMEID_FORMAT_PERSISTENT, text=ctl["user"]),
        authn={"class_ref": "urn:oasis:names:tc:SAML:2.0:ac:classes:Password"},
        sign_response=True, sign_assertion=mode != "unsigned_assertion", release_policy=policy)
    xml = str(resp)
    if mode == "tamper":
        # changed after signing: the assertion now names another address
        xml = xml.replace(ctl["email"], "mallory@example.com")
    return base64.b64encode(xml.encode()).decode()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        print("saml_idp: " + fmt % args, flush=True)

    def answer(self, status, body, ctype="application/json"):
        data = body.encode() if isinstance(body, str) else body
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n).decode() if n else ""

    def do_GET(self):
        url = urlsplit(self.path)
        if url.path == "/metadata":
            return self.answer(200, str(entity_descriptor(self.server.conf)), "application/samlmetadata+xml")
        if url.path == "/last":
            with LOCK:
                return self.answer(200, json.dumps(STATE["last"]))
        if url.path != "/sso":
            return self.answer(404, "{}")
        q = {k: v[0] for k, v in parse_qs(url.query).items()}
        if "SAMLRequest" not in q:
            return self.answer(400, '{"error": "no SAMLRequest"}')
        idp = self.server.idp
        try:
            req = idp.parse_authn_request(q["SAMLRequest"], BINDING_HTTP_REDIRECT).message
        except Exception as e:  # noqa: BLE001
            return self.answer(400, json.dumps({"error": "bad request: %s" % e}))
        issuer = req.issuer.text
        with LOCK:
            sp = STATE["sp"].get(issuer)
            ctl = dict(STATE["control"])
        if sp is None:
            return self.answer(403, json.dumps({"error": "unknown SP %s" % issuer}))
        signed = verify_query(url.query, sp["cert"])
        with LOCK:
            STATE["last"] = {"request_id": req.id, "issuer": issuer, "signed": signed,
                             "acs": sp["acs"], "relay_state": q.get("RelayState")}
        if not signed:
            return self.answer(403, '{"error": "the request signature does not verify"}')
        saml_response = build_response(idp, req, sp, ctl)
        page = ('<!DOCTYPE html><html><body onload="document.forms[0].submit()">'
                '<form method="post" action="%s">'
                '<input type="hidden" name="SAMLResponse" value="%s"/>'
                '<input type="hidden" name="RelayState" value="%s"/>'
                '</form></body></html>') % (html.escape(sp["acs"]), html.escape(saml_response),
                                             html.escape(q.get("RelayState", "")))
        return self.answer(200, page, "text/html; charset=utf-8")

    def do_POST(self):
        url = urlsplit(self.path)
        body = self.body()
        if url.path == "/sp":
            try:
                self.server.idp.metadata.load("inline", body)
                entity_id, cert, acs = sp_cert(body)
            except Exception as e:  # noqa: BLE001
                return self.answer(400, json.dumps({"error": "bad metadata: %s" % e}))
            if not cert or not acs:
                return self.answer(400, '{"error": "no signing certificate or POST ACS"}')
            with LOCK:
                STATE["sp"][entity_id] = {"entity_id": entity_id, "cert": cert, "acs": acs}
            return self.answer(200, json.dumps({"entity_id": entity_id, "acs": acs, "cert": cert}))
        if url.path == "/control":
            with LOCK:
                STATE["control"].update(json.loads(body or "{}"))
            return self.answer(200, "{}")
        return self.answer(404, "{}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port-file", required=True)
    args = ap.parse_args()
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    port = srv.server_address[1]
    workdir = tempfile.mkdtemp(prefix="saml_idp-")
    srv.idp, srv.conf = make_idp("http://127.0.0.1:%d" % port, workdir)
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(port))
    os.rename(tmp, args.port_file)
    srv.serve_forever()


if __name__ == "__main__":
    main()
