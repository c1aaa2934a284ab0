/*
 * webauthn.c - see webauthn.h.  The layouts are those of WebAuthn Level 2
 * §6.1 (authenticator data), §6.5 (attestation object) and §8.2 (packed
 * attestation); COSE keys as in RFC 9052 §7 with the EC2, OKP and RSA key
 * types.
 */
#include "webauthn.h"

#include "pkey.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cbor.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sodium.h>

#define FAIL(msg) (*why = (msg), -1)

/* --- CBOR helpers ------------------------------------------------------- */

/* Parses exactly one item from the start of buf; *used receives its size. */
static cbor_item_t *cbor_first(const unsigned char *buf, size_t len, size_t *used)
{
	struct cbor_load_result res;
	cbor_item_t *it = cbor_load(buf, len, &res);
	if (!it || res.error.code != CBOR_ERR_NONE) {
		if (it)
			cbor_decref(&it);
		return NULL;
	}
	*used = res.read;
	return it;
}

/* The integer value of an unsigned or negative CBOR integer. */
static bool cbor_int_of(const cbor_item_t *it, long long *out)
{
	if (cbor_isa_uint(it)) {
		uint64_t v = cbor_get_int(it);
		if (v > INT64_MAX)
			return false;
		*out = (long long)v;
		return true;
	}
	if (cbor_isa_negint(it)) {
		uint64_t v = cbor_get_int(it);
		if (v > INT64_MAX)
			return false;
		*out = -1 - (long long)v;
		return true;
	}
	return false;
}

/* The value of map member key (an integer key), or NULL. */
static cbor_item_t *map_int(const cbor_item_t *map, long long key)
{
	struct cbor_pair *p = cbor_map_handle(map);
	for (size_t i = 0; i < cbor_map_size(map); i++) {
		long long k;
		if (cbor_int_of(p[i].key, &k) && k == key)
			return p[i].value;
	}
	return NULL;
}

/* The value of map member key (a text key), or NULL. */
static cbor_item_t *map_text(const cbor_item_t *map, const char *key)
{
	struct cbor_pair *p = cbor_map_handle(map);
	size_t n = strlen(key);
	for (size_t i = 0; i < cbor_map_size(map); i++)
		if (cbor_isa_string(p[i].key) && cbor_string_is_definite(p[i].key) &&
		    cbor_string_length(p[i].key) == n && !memcmp(cbor_string_handle(p[i].key), key, n))
			return p[i].value;
	return NULL;
}

/* A definite byte string's bytes (and length), or NULL. */
static const unsigned char *bytes_of(const cbor_item_t *it, size_t *len)
{
	if (!it || !cbor_isa_bytestring(it) || !cbor_bytestring_is_definite(it))
		return NULL;
	*len = cbor_bytestring_length(it);
	return cbor_bytestring_handle(it);
}

static bool is_map(const cbor_item_t *it)
{
	return it && cbor_isa_map(it) && cbor_map_is_definite(it);
}

/* --- authenticator data --------------------------------------------------- */

int webauthn_authdata_parse(const unsigned char *d, size_t len, wa_authdata_t *out,
			    const char **why)
{
	memset(out, 0, sizeof(*out));
	if (len < 37)
		return FAIL("authenticator data is too short");
	out->rp_id_hash = d;
	out->flags = d[32];
	out->sign_count = (unsigned long)d[33] << 24 | (unsigned long)d[34] << 16 |
			  (unsigned long)d[35] << 8 | d[36];
	size_t at = 37, used;
	if (out->flags & WA_FLAG_AT) {
		if (len < at + 18)
			return FAIL("attested credential data is truncated");
		memcpy(out->aaguid, d + at, 16);
		size_t idlen = (size_t)d[at + 16] << 8 | d[at + 17];
		at += 18;
		if (idlen == 0 || idlen > 1023 || len < at + idlen)
			return FAIL("the credential id is empty, too long or truncated");
		out->cred_id = d + at;
		out->cred_id_len = idlen;
		at += idlen;
		cbor_item_t *key = cbor_first(d + at, len - at, &used);
		bool ok = is_map(key);
		if (key)
			cbor_decref(&key);
		if (!ok)
			return FAIL("the credential public key is not a CBOR map");
		out->cose_key = d + at;
		out->cose_key_len = used;
		at += used;
	}
	if (out->flags & WA_FLAG_ED) {
		cbor_item_t *ext = cbor_first(d + at, len - at, &used);
		bool ok = is_map(ext);
		if (ext)
			cbor_decref(&ext);
		if (!ok)
			return FAIL("the extension data is not a CBOR map");
		at += used;
	}
	if (at != len)
		return FAIL("authenticator data has trailing bytes");
	return 0;
}

/* --- COSE keys -------------------------------------------------------------- */

enum { KTY_OKP = 1, KTY_EC2 = 2, KTY_RSA = 3, CRV_P256 = 1, CRV_ED25519 = 6 };

/* The raw parts of a supported COSE key. */
typedef struct cose_key {
	long alg;
	const unsigned char *x, *y, *n, *e;  /* EC2: x y; OKP: x; RSA: n e */
	size_t xlen, ylen, nlen, elen;
} cose_key_t;

static int cose_parse_map(const cbor_item_t *m, cose_key_t *k, const char **why)
{
	long long kty, alg, crv = 0;
	const cbor_item_t *kv = map_int(m, 1), *av = map_int(m, 3), *cv = map_int(m, -1);
	if (!kv || !cbor_int_of(kv, &kty))
		return FAIL("the COSE key has no key type");
	if (!av || !cbor_int_of(av, &alg))
		return FAIL("the COSE key has no algorithm");
	if (kty != KTY_RSA && cv && !cbor_int_of(cv, &crv))
		return FAIL("the COSE key's curve is malformed");
	memset(k, 0, sizeof(*k));
	k->alg = (long)alg;
	if (alg == COSE_ES256) {
		k->x = bytes_of(map_int(m, -2), &k->xlen);
		k->y = bytes_of(map_int(m, -3), &k->ylen);
		if (kty != KTY_EC2 || crv != CRV_P256 || !k->x || !k->y || k->xlen != 32 || k->ylen != 32)
			return FAIL("an ES256 key must be an EC2 P-256 key with 32-byte x and y");
		return 0;
	}
	if (alg == COSE_EDDSA) {
		k->x = bytes_of(map_int(m, -2), &k->xlen);
		if (kty != KTY_OKP || crv != CRV_ED25519 || !k->x || k->xlen != crypto_sign_PUBLICKEYBYTES)
			return FAIL("an EdDSA key must be an OKP Ed25519 key with a 32-byte x");
		return 0;
	}
	if (alg == COSE_RS256) {
		k->n = bytes_of(map_int(m, -1), &k->nlen);
		k->e = bytes_of(map_int(m, -2), &k->elen);
		if (kty != KTY_RSA || !k->n || !k->e || k->nlen < 256 || k->nlen > 1024 || k->elen == 0 ||
		    k->elen > 8)
			return FAIL("an RS256 key must be an RSA key of 2048 to 8192 bits");
		return 0;
	}
	return FAIL("the COSE key's algorithm is not ES256, EdDSA or RS256");
}

/* Parses key into k; *item keeps the parsed CBOR alive (the caller
 * decrefs it) since k points into it. */
static int cose_parse(const unsigned char *key, size_t len, cose_key_t *k, cbor_item_t **item,
		      const char **why)
{
	size_t used;
	*item = cbor_first(key, len, &used);
	if (!*item || !is_map(*item) || used != len) {
		if (*item)
			cbor_decref(item);
		return FAIL("the COSE key is not one CBOR map");
	}
	if (cose_parse_map(*item, k, why)) {
		cbor_decref(item);
		return -1;
	}
	return 0;
}

/* An OpenSSL public key from the parts of an ES256 or RS256 COSE key. */
static EVP_PKEY *cose_pkey(const cose_key_t *k)
{
	return k->alg == COSE_ES256 ? pkey_p256(k->x, k->y) : pkey_rsa(k->n, k->nlen, k->e, k->elen);
}

static int cose_verify_parsed(const cose_key_t *k, const unsigned char *msg, size_t msglen,
			      const unsigned char *sig, size_t siglen, const char **why)
{
	if (k->alg == COSE_EDDSA) {
		if (siglen != crypto_sign_BYTES ||
		    crypto_sign_verify_detached(sig, msg, msglen, k->x) != 0)
			return FAIL("the signature does not verify");
		return 0;
	}
	EVP_PKEY *pkey = cose_pkey(k);
	if (!pkey)
		return FAIL("the public key is not a valid key");
	bool ok = pkey_verify_sha256(pkey, msg, msglen, sig, siglen);
	EVP_PKEY_free(pkey);
	return ok ? 0 : FAIL("the signature does not verify");
}

int webauthn_cose_check(const unsigned char *key, size_t len, long *alg, const char **why)
{
	cose_key_t k;
	cbor_item_t *item;
	if (cose_parse(key, len, &k, &item, why))
		return -1;
	int rc = 0;
	if (k.alg != COSE_EDDSA) {
		EVP_PKEY *pkey = cose_pkey(&k);
		if (!pkey)
			rc = FAIL("the public key is not a valid key");
		EVP_PKEY_free(pkey);
	}
	*alg = k.alg;
	cbor_decref(&item);
	return rc;
}

int webauthn_cose_verify(const unsigned char *key, size_t keylen, const unsigned char *msg,
			 size_t msglen, const unsigned char *sig, size_t siglen, const char **why)
{
	cose_key_t k;
	cbor_item_t *item;
	if (cose_parse(key, keylen, &k, &item, why))
		return -1;
	int rc = cose_verify_parsed(&k, msg, msglen, sig, siglen, why);
	cbor_decref(&item);
	return rc;
}

/* --- attestation ------------------------------------------------------------ */

/* The checks of §8.2.1 on a packed attestation certificate. */
static int packed_cert_check(X509 *cert, const unsigned char aaguid[16], const char **why)
{
	if (X509_get_version(cert) != 2)
		return FAIL("the attestation certificate is not version 3");
	if (X509_check_ca(cert) != 0)
		return FAIL("the attestation certificate is a CA certificate");
	X509_NAME *subj = X509_get_subject_name(cert);
	int i = X509_NAME_get_index_by_NID(subj, NID_organizationalUnitName, -1);
	const ASN1_STRING *ou = i < 0 ? NULL : X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subj, i));
	static const char want[] = "Authenticator Attestation";
	if (!ou || ASN1_STRING_length(ou) != (int)strlen(want) ||
	    memcmp(ASN1_STRING_get0_data(ou), want, strlen(want)) != 0)
		return FAIL("the attestation certificate's OU is not \"Authenticator Attestation\"");
	ASN1_OBJECT *oid = OBJ_txt2obj("1.3.6.1.4.1.45724.1.1.4", 1);
	int at = oid ? X509_get_ext_by_OBJ(cert, oid, -1) : -1;
	ASN1_OBJECT_free(oid);
	if (at >= 0) {
		/* An OCTET STRING holding the DER OCTET STRING of the AAGUID. */
		const ASN1_OCTET_STRING *v = X509_EXTENSION_get_data(X509_get_ext(cert, at));
		const unsigned char *p = ASN1_STRING_get0_data(v);
		if (ASN1_STRING_length(v) != 18 || p[0] != 0x04 || p[1] != 16 || memcmp(p + 2, aaguid, 16))
			return FAIL("the attestation certificate's AAGUID does not match the authenticator's");
	}
	return 0;
}

static int packed_x5c_verify(const cbor_item_t *x5c, long alg, const wa_authdata_t *ad,
			     const unsigned char *msg, size_t msglen, const unsigned char *sig,
			     size_t siglen, const char **why)
{
	if (!cbor_isa_array(x5c) || cbor_array_size(x5c) < 1)
		return FAIL("x5c must be a non-empty array of certificates");
	if (alg != COSE_ES256 && alg != COSE_RS256)
		return FAIL("packed attestation with x5c must use ES256 or RS256");
	size_t dlen;
	const unsigned char *der = bytes_of(cbor_array_handle(x5c)[0], &dlen);
	const unsigned char *p = der;
	X509 *cert = der ? d2i_X509(NULL, &p, (long)dlen) : NULL;
	if (!cert || p != der + dlen) {
		X509_free(cert);
		return FAIL("the attestation certificate is not a DER certificate");
	}
	int rc = packed_cert_check(cert, ad->aaguid, why);
	EVP_PKEY *pkey = X509_get0_pubkey(cert);
	int type = pkey ? EVP_PKEY_get_base_id(pkey) : 0;
	if (!rc && (alg == COSE_ES256 ? type != EVP_PKEY_EC : type != EVP_PKEY_RSA))
		rc = FAIL("the attestation certificate's key does not match alg");
	if (!rc && !pkey_verify_sha256(pkey, msg, msglen, sig, siglen))
		rc = FAIL("the attestation signature does not verify");
	X509_free(cert);
	return rc;
}

/* Verifies a "packed" statement; cred is the parsed credential key. */
static int packed_verify(const cbor_item_t *stmt, const wa_attestation_t *att,
			 const cose_key_t *cred, const unsigned char cdh[32], const char **why)
{
	long long alg;
	size_t siglen;
	const unsigned char *sig = bytes_of(map_text(stmt, "sig"), &siglen);
	if (!map_text(stmt, "alg") || !cbor_int_of(map_text(stmt, "alg"), &alg) || !sig)
		return FAIL("a packed statement needs alg and sig");
	size_t msglen = att->auth_data_len + 32;
	unsigned char *msg = malloc(msglen);
	if (!msg)
		return FAIL("out of memory");
	memcpy(msg, att->auth_data, att->auth_data_len);
	memcpy(msg + att->auth_data_len, cdh, 32);
	const cbor_item_t *x5c = map_text(stmt, "x5c");
	int rc;
	if (x5c)
		rc = packed_x5c_verify(x5c, (long)alg, &att->ad, msg, msglen, sig, siglen, why);
	else if (alg != cred->alg)
		rc = FAIL("self attestation's alg differs from the credential key's");
	else
		rc = cose_verify_parsed(cred, msg, msglen, sig, siglen, why);
	free(msg);
	return rc;
}

/* The top level of an attestation object, checked member by member. */
static int attestation_members(arena_t *a, const cbor_item_t *obj, wa_attestation_t *out,
			       const cbor_item_t **stmt, const char **why)
{
	const cbor_item_t *fmt = map_text(obj, "fmt");
	size_t adlen, flen;
	const unsigned char *ad = bytes_of(map_text(obj, "authData"), &adlen);
	*stmt = map_text(obj, "attStmt");
	if (!fmt || !cbor_isa_string(fmt) || !cbor_string_is_definite(fmt) || !ad || !is_map(*stmt))
		return FAIL("the attestation object needs fmt, attStmt and authData");
	flen = cbor_string_length(fmt);
	if (flen >= sizeof(out->fmt))
		return FAIL("the attestation format is not supported (none or packed)");
	memcpy(out->fmt, cbor_string_handle(fmt), flen);
	out->fmt[flen] = '\0';
	if (strcmp(out->fmt, "none") && strcmp(out->fmt, "packed"))
		return FAIL("the attestation format is not supported (none or packed)");
	out->auth_data = arena_alloc(a, adlen);
	memcpy(out->auth_data, ad, adlen);
	out->auth_data_len = adlen;
	if (webauthn_authdata_parse(out->auth_data, adlen, &out->ad, why))
		return -1;
	if (!(out->ad.flags & WA_FLAG_AT))
		return FAIL("the authenticator data carries no attested credential");
	return 0;
}

int webauthn_attestation_verify(arena_t *a, const unsigned char *obj, size_t len,
				const unsigned char client_data_hash[32], wa_attestation_t *out,
				const char **why)
{
	memset(out, 0, sizeof(*out));
	size_t used;
	cbor_item_t *root = cbor_first(obj, len, &used);
	if (!root || !is_map(root) || used != len) {
		if (root)
			cbor_decref(&root);
		return FAIL("the attestation object is not one CBOR map");
	}
	const cbor_item_t *stmt;
	cose_key_t cred;
	cbor_item_t *key = NULL;
	int rc = attestation_members(a, root, out, &stmt, why);
	if (!rc)
		rc = cose_parse(out->ad.cose_key, out->ad.cose_key_len, &cred, &key, why);
	if (!rc && cred.alg != COSE_EDDSA) {
		EVP_PKEY *pk = cose_pkey(&cred);
		if (!pk)
			rc = FAIL("the credential public key is not a valid key");
		EVP_PKEY_free(pk);
	}
	if (!rc) {
		out->alg = cred.alg;
		out->x5c = map_text(stmt, "x5c") != NULL;
		if (!strcmp(out->fmt, "none"))
			rc = cbor_map_size(stmt) == 0 ? 0 : FAIL("a \"none\" attestation must have an empty statement");
		else
			rc = packed_verify(stmt, out, &cred, client_data_hash, why);
	}
	if (key)
		cbor_decref(&key);
	cbor_decref(&root);
	return rc;
}

void webauthn_aaguid_text(const unsigned char g[16], char out[37])
{
	snprintf(out, 37,
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 g[0], g[1], g[2], g[3], g[4], g[5], g[6], g[7], g[8], g[9], g[10], g[11], g[12],
		 g[13], g[14], g[15]);
}
