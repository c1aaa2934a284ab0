#!/usr/bin/python3
"""Makes the fixed WebAuthn vectors of tests/unit/test_webauthn.c.

Run once; its output (C string constants) is pasted into the test.  Keys
are made with python3-cryptography (independent of the C code under test);
the few CBOR items an authenticator writes are encoded here by hand, which
is test tooling only.
"""
import datetime
import hashlib
import struct

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.x509.oid import NameOID, ObjectIdentifier


def cbor(v):
    def head(major, n):
        if n < 24:
            return bytes([major << 5 | n])
        if n < 256:
            return bytes([major << 5 | 24, n])
        if n < 65536:
            return bytes([major << 5 | 25]) + struct.pack(">H", n)
        return bytes([major << 5 | 26]) + struct.pack(">I", n)
    if isinstance(v, int):
        return head(0, v) if v >= 0 else head(1, -1 - v)
    if isinstance(v, bytes):
        return head(2, len(v)) + v
    if isinstance(v, str):
        b = v.encode()
        return head(3, len(b)) + b
    if isinstance(v, list):
        return head(4, len(v)) + b"".join(cbor(x) for x in v)
    if isinstance(v, dict):
        return head(5, len(v)) + b"".join(cbor(k) + cbor(x) for k, x in v.items())
    raise TypeError(v)


RP_ID = "localhost"
AAGUID = bytes(range(16))


def cose_of(priv):
    pub = priv.public_key()
    if isinstance(priv, ec.EllipticCurvePrivateKey):
        n = pub.public_numbers()
        return {1: 2, 3: -7, -1: 1, -2: n.x.to_bytes(32, "big"), -3: n.y.to_bytes(32, "big")}
    if isinstance(priv, ed25519.Ed25519PrivateKey):
        raw = pub.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        return {1: 1, 3: -8, -1: 6, -2: raw}
    n = pub.public_numbers()
    return {1: 3, 3: -257, -1: n.n.to_bytes(256, "big"), -2: n.e.to_bytes(3, "big")}


def sign(priv, msg):
    if isinstance(priv, ec.EllipticCurvePrivateKey):
        return priv.sign(msg, ec.ECDSA(hashes.SHA256()))
    if isinstance(priv, ed25519.Ed25519PrivateKey):
        return priv.sign(msg)
    return priv.sign(msg, padding.PKCS1v15(), hashes.SHA256())


def auth_data(flags, count, cred_id=None, cose=None):
    d = hashlib.sha256(RP_ID.encode()).digest() + bytes([flags]) + struct.pack(">I", count)
    if cred_id is not None:
        d += AAGUID + struct.pack(">H", len(cred_id)) + cred_id + cbor(cose)
    return d


def attestation_cert(priv):
    ca = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([
        x509.NameAttribute(NameOID.COUNTRY_NAME, "US"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Tessera Test"),
        x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "Authenticator Attestation"),
        x509.NameAttribute(NameOID.COMMON_NAME, "Batch 1"),
    ])
    now = datetime.datetime(2026, 1, 1)
    cert = (x509.CertificateBuilder().subject_name(name)
            .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Test CA")]))
            .public_key(priv.public_key()).serial_number(7)
            .not_valid_before(now).not_valid_after(now + datetime.timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.UnrecognizedExtension(ObjectIdentifier("1.3.6.1.4.1.45724.1.1.4"),
                                                      b"\x04\x10" + AAGUID), critical=False)
            .sign(ca, hashes.SHA256()))
    return cert.public_bytes(serialization.Encoding.DER)


def emit(name, b):
    print("static const char %s[] =" % name)
    h = b.hex()
    for i in range(0, len(h), 96):
        print('\t"%s"' % h[i:i + 96])
    print("\t;")


def case(tag, priv, fmt):
    cred_id = hashlib.sha256(tag.encode()).digest()[:20]
    cose = cose_of(priv)
    ad = auth_data(0x45, 0, cred_id, cose)
    cdh = hashlib.sha256(("clientData-" + tag).encode()).digest()
    if fmt == "none":
        stmt = {}
    elif fmt == "self":
        stmt = {"alg": cose[3], "sig": sign(priv, ad + cdh)}
    else:
        att_key = ec.generate_private_key(ec.SECP256R1())
        stmt = {"alg": -7, "sig": sign(att_key, ad + cdh), "x5c": [attestation_cert(att_key)]}
    obj = cbor({"fmt": "none" if fmt == "none" else "packed", "attStmt": stmt, "authData": ad})
    emit(tag + "_att", obj)
    emit(tag + "_cdh", cdh)
    emit(tag + "_key", cbor(cose))
    ad2 = auth_data(0x05, 7)
    cdh2 = hashlib.sha256(("assert-" + tag).encode()).digest()
    emit(tag + "_assert_ad", ad2)
    emit(tag + "_assert_cdh", cdh2)
    emit(tag + "_assert_sig", sign(priv, ad2 + cdh2))


case("es256_none", ec.generate_private_key(ec.SECP256R1()), "none")
case("eddsa_self", ed25519.Ed25519PrivateKey.generate(), "self")
case("rs256_self", rsa.generate_private_key(public_exponent=65537, key_size=2048), "self")
case("es256_x5c", ec.generate_private_key(ec.SECP256R1()), "x5c")
