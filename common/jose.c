/*
 * jose.c - see jose.h.  An ES256 JWS signature is the raw r || s (64
 * bytes); it becomes the DER ECDSA-Sig-Value OpenSSL verifies.
 */
#include "jose.h"

#include <string.h>

#include <openssl/bn.h>
#include <openssl/ecdsa.h>

#include "codec.h"
#include "pkey.h"

/* base64url text s (len chars) decoded into a, NUL-terminated; NULL when
 * malformed. */
static unsigned char *b64_dec(arena_t *a, const char *s, size_t len, size_t *out_len)
{
	unsigned char *out = arena_alloc(a, len + 1);
	long n = b64url_decode(out, len + 1, s, len);
	if (n < 0)
		return NULL;
	out[n] = '\0';
	*out_len = (size_t)n;
	return out;
}

static unsigned char *member_bytes(arena_t *a, const cJSON *o, const char *name, size_t *len)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
	return cJSON_IsString(v) ? b64_dec(a, v->valuestring, strlen(v->valuestring), len) : NULL;
}

static const char *member_str(const cJSON *o, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* The public key of one JWK for alg, or NULL if it is not one. */
static EVP_PKEY *jwk_key(arena_t *a, const cJSON *jwk, const char *alg)
{
	const char *kty = member_str(jwk, "kty"), *use = member_str(jwk, "use"), *kalg = member_str(jwk, "alg");
	if (!kty || (use && strcmp(use, "sig")) || (kalg && strcmp(kalg, alg)))
		return NULL;
	size_t l1, l2;
	if (!strcmp(alg, "RS256") && !strcmp(kty, "RSA")) {
		unsigned char *n = member_bytes(a, jwk, "n", &l1), *e = member_bytes(a, jwk, "e", &l2);
		return n && e && l2 <= 8 ? pkey_rsa(n, l1, e, l2) : NULL;
	}
	if (!strcmp(alg, "ES256") && !strcmp(kty, "EC") && member_str(jwk, "crv") &&
	    !strcmp(member_str(jwk, "crv"), "P-256")) {
		unsigned char *x = member_bytes(a, jwk, "x", &l1), *y = member_bytes(a, jwk, "y", &l2);
		return x && y && l1 == 32 && l2 == 32 ? pkey_p256(x, y) : NULL;
	}
	return NULL;
}

/* The raw r || s of an ES256 signature as DER (in a), or NULL. */
static unsigned char *es256_der(arena_t *a, const unsigned char *raw, size_t len, size_t *der_len)
{
	if (len != 64)
		return NULL;
	ECDSA_SIG *sig = ECDSA_SIG_new();
	BIGNUM *r = BN_bin2bn(raw, 32, NULL), *s = BN_bin2bn(raw + 32, 32, NULL);
	unsigned char *out = NULL;
	if (sig && r && s && ECDSA_SIG_set0(sig, r, s) == 1) {
		r = s = NULL; /* owned by sig now */
		int n = i2d_ECDSA_SIG(sig, NULL);
		unsigned char *p = n > 0 ? arena_alloc(a, (size_t)n) : NULL;
		out = p;
		if (p && i2d_ECDSA_SIG(sig, &p) == n)
			*der_len = (size_t)n;
		else
			out = NULL;
	}
	BN_free(r);
	BN_free(s);
	ECDSA_SIG_free(sig);
	return out;
}

enum jose_status jose_verify(arena_t *a, const char *token, const cJSON *jwks, cJSON **claims,
			     const char **kid_out)
{
	*claims = NULL;
	if (kid_out)
		*kid_out = NULL;
	const char *d1 = strchr(token, '.'), *d2 = d1 ? strchr(d1 + 1, '.') : NULL;
	if (!d1 || !d2 || strchr(d2 + 1, '.'))
		return JOSE_MALFORMED;
	size_t hl = 0, pl = 0, sl = 0;
	unsigned char *h = b64_dec(a, token, (size_t)(d1 - token), &hl);
	unsigned char *p = b64_dec(a, d1 + 1, (size_t)(d2 - d1 - 1), &pl);
	unsigned char *sig = b64_dec(a, d2 + 1, strlen(d2 + 1), &sl);
	cJSON *hdr = h ? cJSON_ParseWithLength((const char *)h, hl) : NULL;
	enum jose_status st = JOSE_OK;
	const char *alg = member_str(hdr, "alg"), *kid = member_str(hdr, "kid");
	if (!p || !sig || !cJSON_IsObject(hdr))
		st = JOSE_MALFORMED;
	else if (!alg || (strcmp(alg, "RS256") && strcmp(alg, "ES256")))
		st = JOSE_BAD_ALG;
	if (kid_out && kid)
		*kid_out = arena_strdup(a, kid);
	if (!st && !strcmp(alg, "ES256") && !(sig = es256_der(a, sig, sl, &sl)))
		st = JOSE_BAD_SIGNATURE;
	EVP_PKEY *key = NULL;
	const cJSON *jwk, *keys = st ? NULL : cJSON_GetObjectItemCaseSensitive(jwks, "keys");
	cJSON_ArrayForEach(jwk, keys) {
		const char *k = member_str(jwk, "kid");
		if (kid && (!k || strcmp(k, kid)))
			continue;
		if ((key = jwk_key(a, jwk, alg)))
			break;
	}
	if (!st && !key)
		st = JOSE_NO_KEY;
	if (!st && !pkey_verify_sha256(key, (const unsigned char *)token, (size_t)(d2 - token), sig, sl))
		st = JOSE_BAD_SIGNATURE;
	EVP_PKEY_free(key);
	cJSON_Delete(hdr);
	if (!st && !cJSON_IsObject(*claims = cJSON_ParseWithLength((const char *)p, pl))) {
		cJSON_Delete(*claims);
		*claims = NULL;
		st = JOSE_MALFORMED;
	}
	return st;
}

const char *jose_status_str(enum jose_status s)
{
	switch (s) {
	case JOSE_OK: return "ok";
	case JOSE_MALFORMED: return "the token is malformed";
	case JOSE_BAD_ALG: return "the token's algorithm is not RS256 or ES256";
	case JOSE_NO_KEY: return "no key of the provider's key set matches the token's kid";
	case JOSE_BAD_SIGNATURE: return "the token's signature does not verify";
	}
	return "unknown";
}
