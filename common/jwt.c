/*
 * jwt.c - HS256 JWTs (see jwt.h).
 */
#include "jwt.h"

#include <string.h>

#include <sodium.h>

#include "codec.h"
#include "crypto.h"

#define JWT_MAX_LEN 8192

static void json_cleanup(void *p)
{
	cJSON_Delete(p);
}

static char *b64_json(arena_t *a, const cJSON *j)
{
	char *s = cJSON_PrintUnformatted(j);
	if (!s)
		return NULL;
	size_t n = strlen(s);
	size_t outlen = b64url_len(n) + 1;
	char *out = arena_alloc(a, outlen);
	b64url_encode(out, outlen, s, n);
	cJSON_free(s);
	return out;
}

char *jwt_sign(arena_t *a, const void *key, size_t keylen, const cJSON *claims)
{
	static const char header[] = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"; /* {"alg":"HS256","typ":"JWT"} */
	char *payload = b64_json(a, claims);
	if (!payload)
		return NULL;
	char *signing = arena_printf(a, "%s.%s", header, payload);
	unsigned char mac[32];
	hmac_sha256(mac, key, keylen, signing, strlen(signing));
	char sig[64];
	b64url_encode(sig, sizeof(sig), mac, sizeof(mac));
	return arena_printf(a, "%s.%s", signing, sig);
}

/* Splits token into its three parts; returns 0 or -1. */
static int split(const char *token, const char **dot1, const char **dot2)
{
	size_t len = strlen(token);
	if (len == 0 || len > JWT_MAX_LEN)
		return -1;
	*dot1 = strchr(token, '.');
	if (!*dot1)
		return -1;
	*dot2 = strchr(*dot1 + 1, '.');
	if (!*dot2 || strchr(*dot2 + 1, '.'))
		return -1;
	return 0;
}

static cJSON *decode_part(arena_t *a, const char *s, size_t len)
{
	char *buf = arena_alloc(a, len + 1);
	long n = b64url_decode(buf, len, s, len);
	if (n < 0)
		return NULL;
	buf[n] = '\0';
	if (strlen(buf) != (size_t)n)
		return NULL;
	cJSON *j = cJSON_ParseWithLength(buf, (size_t)n);
	if (!j)
		return NULL;
	arena_defer(a, json_cleanup, j);
	return cJSON_IsObject(j) ? j : NULL;
}

enum jwt_status jwt_peek(arena_t *a, const char *token, cJSON **claims)
{
	const char *d1, *d2;
	if (split(token, &d1, &d2))
		return JWT_MALFORMED;
	*claims = decode_part(a, d1 + 1, (size_t)(d2 - d1 - 1));
	return *claims ? JWT_OK : JWT_MALFORMED;
}

enum jwt_status jwt_verify(arena_t *a, const char *token, const void *key,
			   size_t keylen, time_t now, cJSON **claims)
{
	const char *d1, *d2;
	if (split(token, &d1, &d2))
		return JWT_MALFORMED;
	cJSON *hdr = decode_part(a, token, (size_t)(d1 - token));
	if (!hdr)
		return JWT_MALFORMED;
	const cJSON *alg = cJSON_GetObjectItemCaseSensitive(hdr, "alg");
	if (!cJSON_IsString(alg) || strcmp(alg->valuestring, "HS256") != 0)
		return JWT_BAD_ALG;
	const cJSON *typ = cJSON_GetObjectItemCaseSensitive(hdr, "typ");
	if (typ && (!cJSON_IsString(typ) || strcasecmp(typ->valuestring, "JWT") != 0))
		return JWT_MALFORMED;
	if (cJSON_GetObjectItemCaseSensitive(hdr, "crit"))
		return JWT_MALFORMED;

	unsigned char want[32], got[33];
	hmac_sha256(want, key, keylen, token, (size_t)(d2 - token));
	size_t siglen = strlen(d2 + 1);
	if (siglen != 43 || b64url_decode(got, sizeof(got), d2 + 1, siglen) != 32)
		return JWT_BAD_SIGNATURE;
	if (sodium_memcmp(want, got, 32) != 0)
		return JWT_BAD_SIGNATURE;

	cJSON *body = decode_part(a, d1 + 1, (size_t)(d2 - d1 - 1));
	if (!body)
		return JWT_MALFORMED;
	const cJSON *exp = cJSON_GetObjectItemCaseSensitive(body, "exp");
	if (!cJSON_IsNumber(exp))
		return JWT_MALFORMED;
	if ((double)now >= exp->valuedouble)
		return JWT_EXPIRED;
	const cJSON *nbf = cJSON_GetObjectItemCaseSensitive(body, "nbf");
	if (nbf && (!cJSON_IsNumber(nbf) || (double)now < nbf->valuedouble))
		return JWT_NOT_YET_VALID;
	*claims = body;
	return JWT_OK;
}

const char *jwt_status_str(enum jwt_status s)
{
	switch (s) {
	case JWT_OK: return "ok";
	case JWT_MALFORMED: return "malformed token";
	case JWT_BAD_ALG: return "unsupported token algorithm";
	case JWT_BAD_SIGNATURE: return "bad token signature";
	case JWT_EXPIRED: return "token expired";
	case JWT_NOT_YET_VALID: return "token not yet valid";
	}
	return "invalid token";
}
