/*
 * test_auth.c - bearer authentication through the real stack: API keys,
 * end-user JWTs (HS256 with a per-tenant secret), body handling before the
 * handler, rate-limit headers and tenant isolation.
 *
 * The JWT cases forge tokens in C.  To prove that a rejection comes from the
 * check under test and not from a broken forgery, the test opens the
 * tenant's real JWT secret (sealed in the control DB under the master key
 * from tessera.conf) and signs with it: a correctly signed token is accepted,
 * the same token with one thing wrong (algorithm, tenant, expiry) is not.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "harness.h"

/* --- base64url and JWT forging ----------------------------------------- */

static const char b64url_alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* Unpadded base64url of n bytes (malloc'd). */
static char *b64url(const void *in, size_t n)
{
	const unsigned char *p = in;
	char *out = malloc(n / 3 * 4 + 5);
	ck_assert(out != NULL);
	size_t o = 0, i = 0;
	for (; i + 2 < n; i += 3) {
		unsigned v = (unsigned)p[i] << 16 | (unsigned)p[i + 1] << 8 | p[i + 2];
		out[o++] = b64url_alphabet[v >> 18 & 63];
		out[o++] = b64url_alphabet[v >> 12 & 63];
		out[o++] = b64url_alphabet[v >> 6 & 63];
		out[o++] = b64url_alphabet[v & 63];
	}
	if (n - i == 1) {
		unsigned v = (unsigned)p[i] << 16;
		out[o++] = b64url_alphabet[v >> 18 & 63];
		out[o++] = b64url_alphabet[v >> 12 & 63];
	} else if (n - i == 2) {
		unsigned v = (unsigned)p[i] << 16 | (unsigned)p[i + 1] << 8;
		out[o++] = b64url_alphabet[v >> 18 & 63];
		out[o++] = b64url_alphabet[v >> 12 & 63];
		out[o++] = b64url_alphabet[v >> 6 & 63];
	}
	out[o] = '\0';
	return out;
}

/* Decodes len characters of unpadded base64url; returns a NUL-terminated
 * buffer (malloc'd) and its length in *outlen. */
static unsigned char *unb64url(const char *in, size_t len, size_t *outlen)
{
	unsigned char *out = malloc(len * 3 / 4 + 2);
	ck_assert(out != NULL);
	unsigned acc = 0;
	int bits = 0;
	size_t o = 0;
	for (size_t i = 0; i < len; i++) {
		const char *c = memchr(b64url_alphabet, in[i], 64);
		ck_assert_msg(c != NULL && in[i] != '\0', "not base64url: %.*s", (int)len, in);
		acc = acc << 6 | (unsigned)(c - b64url_alphabet);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (unsigned char)(acc >> bits & 0xff);
		}
	}
	out[o] = '\0';
	*outlen = o;
	return out;
}

/* The three parts of a JWT as JSON header, JSON payload, raw signature text. */
struct jwt_parts {
	cJSON *header;
	cJSON *payload;
	char *sig;
};

static void jwt_split(const char *tok, struct jwt_parts *p)
{
	const char *d1 = strchr(tok, '.');
	ck_assert_msg(d1 != NULL, "not a JWT: %s", tok);
	const char *d2 = strchr(d1 + 1, '.');
	ck_assert_msg(d2 != NULL, "not a JWT: %s", tok);
	size_t n;
	unsigned char *h = unb64url(tok, (size_t)(d1 - tok), &n);
	unsigned char *b = unb64url(d1 + 1, (size_t)(d2 - d1 - 1), &n);
	p->header = cJSON_Parse((char *)h);
	p->payload = cJSON_Parse((char *)b);
	ck_assert_msg(p->header && p->payload, "JWT parts are not JSON: %s / %s", h, b);
	p->sig = strdup(d2 + 1);
	free(h);
	free(b);
}

static void jwt_parts_free(struct jwt_parts *p)
{
	cJSON_Delete(p->header);
	cJSON_Delete(p->payload);
	free(p->sig);
}

/* "b64(header).b64(payload)" (malloc'd). */
static char *jwt_signing_input(const cJSON *header, const cJSON *payload)
{
	char *hj = cJSON_PrintUnformatted(header), *pj = cJSON_PrintUnformatted(payload);
	char *h = b64url(hj, strlen(hj)), *p = b64url(pj, strlen(pj));
	size_t len = strlen(h) + strlen(p) + 2;
	char *out = malloc(len);
	ck_assert(out != NULL);
	snprintf(out, len, "%s.%s", h, p);
	free(hj);
	free(pj);
	free(h);
	free(p);
	return out;
}

static char *join_sig(const char *input, const char *sig)
{
	size_t len = strlen(input) + strlen(sig) + 2;
	char *out = malloc(len);
	ck_assert(out != NULL);
	snprintf(out, len, "%s.%s", input, sig);
	return out;
}

/* A token with the given header and payload and a signature given as text
 * (kept from another token, or empty). */
static char *jwt_with_sig(const cJSON *header, const cJSON *payload, const char *sig)
{
	char *input = jwt_signing_input(header, payload);
	char *tok = join_sig(input, sig);
	free(input);
	return tok;
}

/* A token signed with key: HMAC-SHA256 or, when sha512, HMAC-SHA512 over
 * the signing input, whatever the header says. */
static char *jwt_sign_with(const cJSON *header, const cJSON *payload,
			   const char *key, bool sha512)
{
	char *input = jwt_signing_input(header, payload);
	unsigned char mac[64];
	size_t maclen;
	if (sha512) {
		crypto_auth_hmacsha512_state st;
		crypto_auth_hmacsha512_init(&st, (const unsigned char *)key, strlen(key));
		crypto_auth_hmacsha512_update(&st, (const unsigned char *)input, strlen(input));
		crypto_auth_hmacsha512_final(&st, mac);
		maclen = 64;
	} else {
		crypto_auth_hmacsha256_state st;
		crypto_auth_hmacsha256_init(&st, (const unsigned char *)key, strlen(key));
		crypto_auth_hmacsha256_update(&st, (const unsigned char *)input, strlen(input));
		crypto_auth_hmacsha256_final(&st, mac);
		maclen = 32;
	}
	char *sig = b64url(mac, maclen);
	char *tok = join_sig(input, sig);
	free(sig);
	free(input);
	return tok;
}

static cJSON *header_alg(const char *alg)
{
	cJSON *h = cJSON_CreateObject();
	cJSON_AddStringToObject(h, "alg", alg);
	cJSON_AddStringToObject(h, "typ", "JWT");
	return h;
}

static void set_str(cJSON *obj, const char *name, const char *value)
{
	cJSON_DeleteItemFromObjectCaseSensitive(obj, name);
	cJSON_AddStringToObject(obj, name, value);
}

static void set_num(cJSON *obj, const char *name, double value)
{
	cJSON_DeleteItemFromObjectCaseSensitive(obj, name);
	cJSON_AddNumberToObject(obj, name, value);
}

/* --- the tenant's real JWT secret ---------------------------------------- */

/* master_key from the stack's tessera.conf, as 32 bytes. */
static void master_key(unsigned char key[32])
{
	char path[1024];
	snprintf(path, sizeof(path), "%s/tessera.conf", env_or("TESSERA_TEST_DIR", "var"));
	FILE *f = fopen(path, "r");
	ck_assert_msg(f != NULL, "cannot read %s", path);
	char line[512];
	bool found = false;
	while (!found && fgets(line, sizeof(line), f)) {
		char hex[65];
		if (sscanf(line, " master_key = %64[0-9a-fA-F]", hex) == 1 && strlen(hex) == 64) {
			size_t binlen = 0;
			found = sodium_hex2bin(key, 32, hex, 64, NULL, &binlen, NULL) == 0 && binlen == 32;
		}
	}
	fclose(f);
	ck_assert_msg(found, "no master_key in %s", path);
}

/* The tenant's HS256 secret (malloc'd), read from the control DB and opened
 * with the master key the way the server does. */
static char *tenant_jwt_secret(const char *tenant_id)
{
	int rc;
	char *sealed = run_cmd(&rc, "mariadb --no-defaults --socket=%s/run/mysql.sock -u \"$(id -un)\" "
			       "-N -B -e \"SELECT jwt_secret_enc FROM tessera.tenants WHERE id = '%s'\" 2>&1",
			       env_or("TESSERA_TEST_DIR", "var"), tenant_id);
	ck_assert_msg(rc == 0, "reading the sealed JWT secret failed: %s", sealed);
	sealed[strcspn(sealed, "\r\n")] = '\0';
	size_t boxlen;
	unsigned char *box = unb64url(sealed, strlen(sealed), &boxlen);
	size_t overhead = crypto_secretbox_xchacha20poly1305_NONCEBYTES +
			  crypto_secretbox_xchacha20poly1305_MACBYTES;
	ck_assert_msg(boxlen > overhead, "sealed secret too short: %s", sealed);
	unsigned char key[32];
	master_key(key);
	size_t plen = boxlen - overhead;
	char *plain = malloc(plen + 1);
	ck_assert(plain != NULL);
	int bad = crypto_secretbox_xchacha20poly1305_open_easy(
		(unsigned char *)plain, box + crypto_secretbox_xchacha20poly1305_NONCEBYTES,
		boxlen - crypto_secretbox_xchacha20poly1305_NONCEBYTES, box, key);
	ck_assert_msg(!bad, "cannot open the JWT secret of %s", tenant_id);
	plain[plen] = '\0';
	free(box);
	free(sealed);
	return plain;
}

/* --- assertions ------------------------------------------------------------ */

/* token on GET /v1/keys (an implemented admin route, not R_USER) answers
 * with status and code. */
static void expect_keys_list(const char *token, long status, const char *code, const char *why)
{
	http_resp *r = http_get("/v1/keys", token);
	if (r->status != status)
		ck_abort_msg("%s: expected %ld, got %ld: %s", why, status, r->status, r->body);
	assert_envelope(r, status, code);
	if (code)
		ck_assert_msg(resp_data(r) == NULL, "%s: an error leaked data: %s", why, r->body);
	http_free(r);
}

/* Authenticated, but an end user may not call an admin route. */
static void expect_jwt_accepted(const char *token, const char *why)
{
	expect_keys_list(token, 403, "INSUFFICIENT_SCOPE", why);
}

static void expect_jwt_rejected(const char *token, const char *why)
{
	expect_keys_list(token, 401, "UNAUTHORIZED", why);
}

static int list_count(const char *admin_key)
{
	http_resp *r = http_get("/v1/keys", admin_key);
	assert_envelope(r, 200, NULL);
	const cJSON *d = resp_data(r);
	ck_assert_msg(cJSON_IsArray(d), "key list is not an array: %s", r->body);
	int n = cJSON_GetArraySize(d);
	http_free(r);
	return n;
}

static bool list_has_id(const http_resp *r, const char *id)
{
	const cJSON *it;
	cJSON_ArrayForEach(it, resp_data(r)) {
		const char *kid = json_str(it, "id");
		if (kid && strcmp(kid, id) == 0)
			return true;
	}
	return false;
}

static long long header_ll(const http_resp *r, const char *name)
{
	char *v = resp_header(r, name);
	ck_assert_msg(v != NULL, "no %s header on %ld %s", name, r->status, r->body);
	char *end;
	long long n = strtoll(v, &end, 10);
	ck_assert_msg(*v && !*end, "%s is not an integer: %s", name, v);
	free(v);
	return n;
}

/* --- API keys --------------------------------------------------------------- */

START_TEST(api_key_admin_key_authenticates_as_its_tenant)
{
	struct tenant t;
	tenant_make(&t);
	http_resp *r = http_get("/v1/usage", t.key);
	assert_envelope(r, 200, NULL);
	ck_assert_str_eq(json_str(resp_data(r), "tenant_id"), t.id);
	http_free(r);
	tenant_drop(&t);
}
END_TEST

START_TEST(api_key_missing_authorization_is_401)
{
	http_resp *r = http_get("/v1/usage", NULL);
	assert_envelope(r, 401, "UNAUTHORIZED");
	ck_assert_ptr_null(resp_data(r));
	http_free(r);
}
END_TEST

START_TEST(api_key_basic_scheme_is_401_even_with_a_valid_key)
{
	struct tenant t;
	tenant_make(&t);
	const char *basic[] = { "Authorization: Basic dXNlcjpwYXNzd29yZA==", NULL };
	http_resp *r = http_req("GET", "/v1/usage", NULL, NULL, NULL, 0, basic);
	assert_envelope(r, 401, "UNAUTHORIZED");
	http_free(r);
	/* A real key under another scheme is still not a bearer token. */
	char line[256];
	snprintf(line, sizeof(line), "Authorization: Token %s", t.key);
	const char *other[] = { line, NULL };
	r = http_req("GET", "/v1/usage", NULL, NULL, NULL, 0, other);
	assert_envelope(r, 401, "UNAUTHORIZED");
	ck_assert_ptr_null(resp_data(r));
	http_free(r);
	tenant_drop(&t);
}
END_TEST

START_TEST(api_key_unknown_token_is_401)
{
	struct tenant t;
	tenant_make(&t);
	/* Same shape as a real key, one character changed. */
	char *forged = strdup(t.key);
	size_t n = strlen(forged);
	forged[n - 1] = forged[n - 1] == 'A' ? 'B' : 'A';
	const char *tokens[] = { forged, "tsk_0000000000000000000000000000000000000000000", "nope" };
	for (size_t i = 0; i < sizeof(tokens) / sizeof(tokens[0]); i++) {
		http_resp *r = http_get("/v1/usage", tokens[i]);
		assert_envelope(r, 401, "UNAUTHORIZED");
		ck_assert_ptr_null(resp_data(r));
		http_free(r);
	}
	free(forged);
	tenant_drop(&t);
}
END_TEST

START_TEST(api_key_malformed_token_is_401)
{
	char *huge = malloc(5001);
	ck_assert(huge != NULL);
	memset(huge, 'k', 5000);
	huge[5000] = '\0';
	const char *headers[] = {
		"Authorization: Bearer",            /* no token at all */
		"Authorization: Bearer    ",        /* only spaces */
		"Authorization: Bearer a.b.c",      /* JWT shape, not JSON */
		"Authorization: Bearer ...",        /* empty JWT parts */
		"Authorization: Bearer a.b.c.d",    /* four parts */
		"Authorization: Bearer %00%01",     /* junk */
		"Authorization: bearer",
	};
	for (size_t i = 0; i < sizeof(headers) / sizeof(headers[0]); i++) {
		const char *h[] = { headers[i], NULL };
		http_resp *r = http_req("GET", "/v1/usage", NULL, NULL, NULL, 0, h);
		if (r->status != 401)
			ck_abort_msg("%s: expected 401, got %ld: %s", headers[i], r->status, r->body);
		assert_envelope(r, 401, "UNAUTHORIZED");
		http_free(r);
	}
	http_resp *r = http_get("/v1/usage", huge);
	assert_envelope(r, 401, "UNAUTHORIZED");
	http_free(r);
	free(huge);
}
END_TEST

/* --- end-user JWTs ---------------------------------------------------------- */

START_TEST(jwt_valid_is_authenticated_but_not_admin)
{
	struct tenant t;
	tenant_make(&t);
	char *tok = jwt_mint(t.id, "usr_alice", "authenticated", 3600, NULL);
	expect_jwt_accepted(tok, "minted token");
	/* The same end user on a route needing the read scope: still 403,
	 * and no tenant data comes back. */
	http_resp *r = http_get("/v1/usage", tok);
	assert_envelope(r, 403, "INSUFFICIENT_SCOPE");
	ck_assert_ptr_null(resp_data(r));
	http_free(r);
	free(tok);
	tenant_drop(&t);
}
END_TEST

START_TEST(jwt_forged_with_the_real_secret_is_accepted)
{
	/* Positive control for the forging helpers used below: re-signing a
	 * changed payload with the tenant's real secret gives a valid token. */
	struct tenant t;
	tenant_make(&t);
	char *tok = jwt_mint(t.id, "usr_alice", "authenticated", 3600, NULL);
	char *secret = tenant_jwt_secret(t.id);
	struct jwt_parts p;
	jwt_split(tok, &p);
	set_str(p.payload, "role", "admin");
	char *forged = jwt_sign_with(p.header, p.payload, secret, false);
	expect_jwt_accepted(forged, "re-signed with the tenant's secret");
	free(forged);
	jwt_parts_free(&p);
	free(secret);
	free(tok);
	tenant_drop(&t);
}
END_TEST

START_TEST(jwt_for_another_issuer_or_audience_is_401)
{
	/* Signed with the tenant's real secret, but issued by or for someone
	 * else: not accepted. */
	struct tenant t;
	tenant_make(&t);
	char *tok = jwt_mint(t.id, "usr_alice", "authenticated", 3600, NULL);
	char *secret = tenant_jwt_secret(t.id);
	static const char *const cases[][2] = {
		{ "aud", "other-service" }, { "iss", "someone-else" },
	};
	for (size_t i = 0; i < 2; i++) {
		struct jwt_parts p;
		jwt_split(tok, &p);
		set_str(p.payload, cases[i][0], cases[i][1]);
		char *forged = jwt_sign_with(p.header, p.payload, secret, false);
		expect_jwt_rejected(forged, cases[i][0]);
		free(forged);
		jwt_parts_free(&p);
	}
	free(secret);
	free(tok);
	tenant_drop(&t);
}
END_TEST

START_TEST(jwt_expired_is_401)
{
	struct tenant t;
	tenant_make(&t);
	char *tok = jwt_mint(t.id, "usr_alice", "authenticated", 1, NULL);
	sleep(2);
	expect_jwt_rejected(tok, "expired token");
	free(tok);
	tenant_drop(&t);
}
END_TEST

START_TEST(jwt_signature_tampered_is_401)
{
	struct tenant t;
	tenant_make(&t);
	char *tok = jwt_mint(t.id, "usr_alice", "authenticated", 3600, NULL);
	expect_jwt_accepted(tok, "untouched token");
	char *dot = strrchr(tok, '.');
	/* One character in the middle of the signature (the last one may
	 * carry only padding bits). */
	char *c = dot + 1 + 10;
	*c = *c == 'A' ? 'B' : 'A';
	expect_jwt_rejected(tok, "signature changed");
	/* No signature, and a truncated one. */
	dot[1] = '\0';
	expect_jwt_rejected(tok, "signature removed");
	free(tok);
	tenant_drop(&t);
}
END_TEST

START_TEST(jwt_payload_tampered_is_401)
{
	struct tenant t;
	tenant_make(&t);
	char *tok = jwt_mint(t.id, "usr_alice", "authenticated", 3600, NULL);
	struct jwt_parts p;
	jwt_split(tok, &p);
	set_str(p.payload, "role", "admin");
	char *forged = jwt_with_sig(p.header, p.payload, p.sig);
	expect_jwt_rejected(forged, "role changed, signature kept");
	free(forged);
	/* A later expiry under the old signature is no better. */
	set_str(p.payload, "role", "authenticated");
	set_num(p.payload, "exp", (double)time(NULL) + 86400 * 365);
	forged = jwt_with_sig(p.header, p.payload, p.sig);
	expect_jwt_rejected(forged, "exp extended, signature kept");
	free(forged);
	jwt_parts_free(&p);
	free(tok);
	tenant_drop(&t);
}
END_TEST

START_TEST(jwt_alg_none_is_401)
{
	struct tenant t;
	tenant_make(&t);
	char *tok = jwt_mint(t.id, "usr_alice", "authenticated", 3600, NULL);
	struct jwt_parts p;
	jwt_split(tok, &p);
	const char *algs[] = { "none", "None", "NONE", "" };
	for (size_t i = 0; i < sizeof(algs) / sizeof(algs[0]); i++) {
		cJSON *h = header_alg(algs[i]);
		char *forged = jwt_with_sig(h, p.payload, "");
		expect_jwt_rejected(forged, "alg none, empty signature");
		free(forged);
		/* ... and with the original signature left on. */
		forged = jwt_with_sig(h, p.payload, p.sig);
		expect_jwt_rejected(forged, "alg none, old signature");
		free(forged);
		cJSON_Delete(h);
	}
	jwt_parts_free(&p);
	free(tok);
	tenant_drop(&t);
}
END_TEST

START_TEST(jwt_alg_hs512_is_401_even_when_correctly_signed)
{
	struct tenant t;
	tenant_make(&t);
	char *tok = jwt_mint(t.id, "usr_alice", "authenticated", 3600, NULL);
	char *secret = tenant_jwt_secret(t.id);
	struct jwt_parts p;
	jwt_split(tok, &p);
	cJSON *h = header_alg("HS512");
	char *forged = jwt_sign_with(h, p.payload, secret, true);
	expect_jwt_rejected(forged, "HS512 with the tenant's secret");
	free(forged);
	/* HS512 header over an HS256 MAC: the server must not ignore alg. */
	forged = jwt_sign_with(h, p.payload, secret, false);
	expect_jwt_rejected(forged, "HS512 header, HS256 signature");
	free(forged);
	cJSON_Delete(h);
	h = header_alg("RS256");
	forged = jwt_sign_with(h, p.payload, secret, false);
	expect_jwt_rejected(forged, "RS256 header, HS256 signature");
	free(forged);
	cJSON_Delete(h);
	jwt_parts_free(&p);
	free(secret);
	free(tok);
	tenant_drop(&t);
}
END_TEST

START_TEST(jwt_signed_by_tenant_a_claiming_tenant_b_is_401)
{
	struct tenant a, b;
	tenant_make(&a);
	tenant_make(&b);
	char *tok = jwt_mint(a.id, "usr_alice", "authenticated", 3600, NULL);
	char *secret_a = tenant_jwt_secret(a.id), *secret_b = tenant_jwt_secret(b.id);
	ck_assert_str_ne(secret_a, secret_b);
	struct jwt_parts p;
	jwt_split(tok, &p);
	set_str(p.payload, "tenant_id", b.id);
	char *forged = jwt_sign_with(p.header, p.payload, secret_a, false);
	expect_jwt_rejected(forged, "A's secret, B's tenant_id");
	free(forged);
	/* Control: the same claims under B's own secret are valid for B. */
	forged = jwt_sign_with(p.header, p.payload, secret_b, false);
	expect_jwt_accepted(forged, "B's secret, B's tenant_id");
	free(forged);
	/* A tenant that does not exist. */
	set_str(p.payload, "tenant_id", "tn_01AAAAAAAAAAAAAAAAAAAAAAAA");
	forged = jwt_sign_with(p.header, p.payload, secret_a, false);
	expect_jwt_rejected(forged, "unknown tenant");
	free(forged);
	jwt_parts_free(&p);
	free(secret_a);
	free(secret_b);
	free(tok);
	tenant_drop(&a);
	tenant_drop(&b);
}
END_TEST

START_TEST(jwt_without_exp_or_not_yet_valid_is_401)
{
	struct tenant t;
	tenant_make(&t);
	char *tok = jwt_mint(t.id, "usr_alice", "authenticated", 3600, NULL);
	char *secret = tenant_jwt_secret(t.id);
	struct jwt_parts p;
	jwt_split(tok, &p);
	cJSON_DeleteItemFromObjectCaseSensitive(p.payload, "exp");
	char *forged = jwt_sign_with(p.header, p.payload, secret, false);
	expect_jwt_rejected(forged, "no exp claim");
	free(forged);
	set_num(p.payload, "exp", (double)time(NULL) + 3600);
	set_num(p.payload, "nbf", (double)time(NULL) + 600);
	forged = jwt_sign_with(p.header, p.payload, secret, false);
	expect_jwt_rejected(forged, "nbf in the future");
	free(forged);
	cJSON_DeleteItemFromObjectCaseSensitive(p.payload, "nbf");
	cJSON_DeleteItemFromObjectCaseSensitive(p.payload, "sub");
	forged = jwt_sign_with(p.header, p.payload, secret, false);
	expect_jwt_rejected(forged, "no subject");
	free(forged);
	jwt_parts_free(&p);
	free(secret);
	free(tok);
	tenant_drop(&t);
}
END_TEST

START_TEST(jwt_of_suspended_tenant_is_403_tenant_suspended)
{
	struct tenant t;
	tenant_make(&t);
	char *tok = jwt_mint(t.id, "usr_alice", "authenticated", 3600, NULL);
	ck_assert_int_eq(tenant_set_status(t.id, "suspend"), 0);
	expect_keys_list(tok, 403, "TENANT_SUSPENDED", "JWT of a suspended tenant");
	/* The tenant's admin key is refused the same way. */
	http_resp *r = http_get("/v1/usage", t.key);
	assert_envelope(r, 403, "TENANT_SUSPENDED");
	ck_assert_ptr_null(resp_data(r));
	http_free(r);
	ck_assert_int_eq(tenant_set_status(t.id, "resume"), 0);
	expect_jwt_accepted(tok, "JWT after resume");
	free(tok);
	tenant_drop(&t);
}
END_TEST

START_TEST(jwt_of_revoked_session_is_401)
{
	struct tenant t;
	tenant_make(&t);
	char *sid = NULL, *other_sid = NULL;
	char *tok = jwt_mint(t.id, "usr_alice", "authenticated", 3600, &sid);
	char *other = jwt_mint(t.id, "usr_alice", "authenticated", 3600, &other_sid);
	ck_assert_str_ne(sid, other_sid);
	expect_jwt_accepted(tok, "session before revocation");
	int rc;
	char *out = run_cmd(&rc, "redis-cli -s %s/run/redis.sock SET 'revoked:sess:{%s}:%s' 1 2>&1",
			    env_or("TESSERA_TEST_DIR", "var"), t.id, sid);
	ck_assert_msg(rc == 0 && strncmp(out, "OK", 2) == 0, "redis SET failed: %s", out);
	free(out);
	expect_jwt_rejected(tok, "revoked session");
	/* Only that session: the user's other session still works. */
	expect_jwt_accepted(other, "another session of the same user");
	free(sid);
	free(other_sid);
	free(tok);
	free(other);
	tenant_drop(&t);
}
END_TEST

/* --- body handling -------------------------------------------------------- */

START_TEST(body_rejections_on_create_key_create_nothing)
{
	struct tenant t;
	tenant_make(&t);
	int before = list_count(t.key);
	static const struct {
		const char *type, *body, *code, *field;
		long status;
	} cases[] = {
		{ NULL, "{\"label\":", "INVALID_JSON", NULL, 400 },
		{ NULL, "{\"label\":\"x\"} {}", "INVALID_JSON", NULL, 400 },
		{ NULL, "{\"label\":\"bad \xff\xfe\"}", "INVALID_JSON", NULL, 400 },
		{ NULL, "{\"label\":\"overlong \xc0\xaf\"}", "INVALID_JSON", NULL, 400 },
		{ NULL, "{\"label\":\"surrogate \xed\xa0\x80\"}", "INVALID_JSON", NULL, 400 },
		{ NULL, "{\"label\":\"cut \xe2\x82\"}", "INVALID_JSON", NULL, 400 },
		{ NULL, "[{\"label\":\"x\"}]", "VALIDATION_ERROR", NULL, 400 },
		{ NULL, "\"label\"", "VALIDATION_ERROR", NULL, 400 },
		{ NULL, "{\"label\":\"x\",\"bogus_field\":1}", "VALIDATION_ERROR", "bogus_field", 400 },
		{ NULL, "{\"label\":\"x\",\"scopes\":\"read\"}", "VALIDATION_ERROR", "scopes", 400 },
		{ NULL, "{\"label\":\"x\",\"scopes\":[1]}", "VALIDATION_ERROR", "scopes", 400 },
		{ NULL, "{\"label\":42}", "VALIDATION_ERROR", "label", 400 },
		{ "text/plain", "{\"label\":\"x\"}", "UNSUPPORTED_MEDIA_TYPE", NULL, 415 },
		{ "application/x-www-form-urlencoded", "label=x", "UNSUPPORTED_MEDIA_TYPE", NULL, 415 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		http_resp *r = http_req("POST", "/v1/keys", t.key, cases[i].type, cases[i].body,
					strlen(cases[i].body), NULL);
		if (r->status != cases[i].status)
			ck_abort_msg("%s: expected %ld, got %ld: %s", cases[i].body,
				     cases[i].status, r->status, r->body);
		assert_envelope(r, cases[i].status, cases[i].code);
		if (cases[i].field) {
			const cJSON *err = cJSON_GetObjectItemCaseSensitive(r->json, "error");
			const cJSON *det = cJSON_GetObjectItemCaseSensitive(err, "details");
			const char *field = json_str(det, "field");
			ck_assert_msg(field && strcmp(field, cases[i].field) == 0,
				      "%s: details.field should be %s: %s", cases[i].body,
				      cases[i].field, r->body);
		}
		http_free(r);
	}
	ck_assert_int_eq(list_count(t.key), before);
	/* Control: the same request done right creates exactly one key. */
	http_resp *r = http_json("POST", "/v1/keys", t.key, "{\"label\":\"ok\",\"scopes\":[\"read\"]}");
	assert_envelope(r, 201, NULL);
	http_free(r);
	ck_assert_int_eq(list_count(t.key), before + 1);
	tenant_drop(&t);
}
END_TEST

/* --- rate limiting ------------------------------------------------------- */

START_TEST(rate_limit_headers_on_authenticated_responses)
{
	struct tenant t;
	tenant_make(&t);
	http_resp *r1 = http_get("/v1/usage", t.key);
	assert_envelope(r1, 200, NULL);
	http_resp *r2 = http_get("/v1/usage", t.key);
	assert_envelope(r2, 200, NULL);
	const cJSON *limits = cJSON_GetObjectItemCaseSensitive(resp_data(r1), "plan_limits");
	const cJSON *rpm = cJSON_GetObjectItemCaseSensitive(limits, "rate_limit_per_minute");
	ck_assert_msg(cJSON_IsNumber(rpm), "no plan_limits.rate_limit_per_minute: %s", r1->body);
	long long limit = header_ll(r1, "X-RateLimit-Limit");
	ck_assert_int_eq(limit, (long long)rpm->valuedouble);
	ck_assert_int_eq(header_ll(r2, "X-RateLimit-Limit"), limit);
	long long rem1 = header_ll(r1, "X-RateLimit-Remaining");
	long long rem2 = header_ll(r2, "X-RateLimit-Remaining");
	long long reset1 = header_ll(r1, "X-RateLimit-Reset");
	long long reset2 = header_ll(r2, "X-RateLimit-Reset");
	ck_assert(rem1 >= 0 && rem1 < limit);
	if (reset1 == reset2)
		ck_assert_int_eq(rem2, rem1 - 1);  /* same window: one more counted */
	long long now = (long long)time(NULL);
	ck_assert_msg(reset2 > now - 1 && reset2 <= now + 61, "reset %lld is not in the next minute (now %lld)",
		      reset2, now);
	http_free(r1);
	http_free(r2);

	/* Also on an error answered after authentication. */
	http_resp *r = http_json("POST", "/v1/keys", t.key, "{bad json");
	assert_envelope(r, 400, "INVALID_JSON");
	ck_assert_int_eq(header_ll(r, "X-RateLimit-Limit"), limit);
	header_ll(r, "X-RateLimit-Remaining");
	header_ll(r, "X-RateLimit-Reset");
	http_free(r);
	tenant_drop(&t);
}
END_TEST

START_TEST(rate_limit_of_a_key_answers_429_with_retry_after)
{
	struct tenant t;
	tenant_make(&t);
	char *key = key_new(t.key, "{\"label\":\"slow\",\"scopes\":[\"read\"],\"rate_limit\":3}", NULL);
	/* A minute boundary in the middle resets the count: try again then. */
	for (int attempt = 0; attempt < 2; attempt++) {
		long long reset0 = 0;
		bool crossed = false;
		for (int i = 1; i <= 3 && !crossed; i++) {
			http_resp *r = http_get("/v1/usage", key);
			assert_envelope(r, 200, NULL);
			ck_assert_int_eq(header_ll(r, "X-RateLimit-Limit"), 3);
			long long reset = header_ll(r, "X-RateLimit-Reset");
			if (i == 1)
				reset0 = reset;
			crossed = reset != reset0;
			if (!crossed)
				ck_assert_int_eq(header_ll(r, "X-RateLimit-Remaining"), 3 - i);
			http_free(r);
		}
		if (crossed)
			continue;
		http_resp *r = http_get("/v1/usage", key);
		if (header_ll(r, "X-RateLimit-Reset") != reset0) {
			http_free(r);
			continue;
		}
		assert_envelope(r, 429, "RATE_LIMITED");
		ck_assert_ptr_null(resp_data(r));
		ck_assert_int_eq(header_ll(r, "X-RateLimit-Remaining"), 0);
		long long retry = header_ll(r, "Retry-After");
		ck_assert(retry >= 1 && retry <= 61);
		http_free(r);
		/* The tenant's other keys have their own budget. */
		r = http_get("/v1/usage", t.key);
		assert_envelope(r, 200, NULL);
		http_free(r);
		free(key);
		tenant_drop(&t);
		return;
	}
	ck_abort_msg("crossed a minute boundary twice");
}
END_TEST

/* --- tenant isolation ----------------------------------------------------- */

START_TEST(tenant_b_never_sees_tenant_a)
{
	struct tenant a, b;
	tenant_make(&a);
	tenant_make(&b);
	char *a_key_id = NULL;
	char *a_extra = key_new(a.key, "{\"label\":\"a-only\",\"scopes\":[\"read\"]}", &a_key_id);

	http_resp *r = http_get("/v1/usage", b.key);
	assert_envelope(r, 200, NULL);
	ck_assert_str_eq(json_str(resp_data(r), "tenant_id"), b.id);
	const cJSON *usage = cJSON_GetObjectItemCaseSensitive(resp_data(r), "usage");
	const cJSON *nkeys = cJSON_GetObjectItemCaseSensitive(usage, "api_keys");
	ck_assert_msg(cJSON_IsNumber(nkeys) && nkeys->valuedouble == 1,
		      "B counts A's keys: %s", r->body);
	http_free(r);

	r = http_get("/v1/usage", a.key);
	assert_envelope(r, 200, NULL);
	ck_assert_str_eq(json_str(resp_data(r), "tenant_id"), a.id);
	http_free(r);

	r = http_get("/v1/keys", b.key);
	assert_envelope(r, 200, NULL);
	ck_assert_msg(!list_has_id(r, a_key_id), "B lists A's key: %s", r->body);
	http_free(r);

	char path[128];
	snprintf(path, sizeof(path), "/v1/keys/%s", a_key_id);
	r = http_json("PATCH", path, b.key, "{\"label\":\"stolen\"}");
	assert_envelope(r, 404, "NOT_FOUND");
	http_free(r);
	r = http_req("DELETE", path, b.key, NULL, NULL, 0, NULL);
	assert_envelope(r, 404, "NOT_FOUND");
	http_free(r);
	/* A's key is untouched and still A's. */
	r = http_get("/v1/usage", a_extra);
	assert_envelope(r, 200, NULL);
	ck_assert_str_eq(json_str(resp_data(r), "tenant_id"), a.id);
	http_free(r);
	r = http_get("/v1/keys", a.key);
	assert_envelope(r, 200, NULL);
	ck_assert(list_has_id(r, a_key_id));
	const cJSON *it;
	cJSON_ArrayForEach(it, resp_data(r)) {
		const char *id = json_str(it, "id");
		if (id && strcmp(id, a_key_id) == 0)
			ck_assert_str_eq(json_str(it, "label"), "a-only");
	}
	http_free(r);
	free(a_key_id);
	free(a_extra);
	tenant_drop(&a);
	tenant_drop(&b);
}
END_TEST

Suite *suite_auth(void)
{
	if (sodium_init() < 0)
		abort();
	Suite *s = suite_create("auth");
	TCase *keys = tcase_new_slow(s, "api_keys");
	tcase_add_test(keys, api_key_admin_key_authenticates_as_its_tenant);
	tcase_add_test(keys, api_key_missing_authorization_is_401);
	tcase_add_test(keys, api_key_basic_scheme_is_401_even_with_a_valid_key);
	tcase_add_test(keys, api_key_unknown_token_is_401);
	tcase_add_test(keys, api_key_malformed_token_is_401);

	TCase *jwt = tcase_new_slow(s, "jwt");
	tcase_add_test(jwt, jwt_valid_is_authenticated_but_not_admin);
	tcase_add_test(jwt, jwt_forged_with_the_real_secret_is_accepted);
	tcase_add_test(jwt, jwt_for_another_issuer_or_audience_is_401);
	tcase_add_test(jwt, jwt_expired_is_401);
	tcase_add_test(jwt, jwt_signature_tampered_is_401);
	tcase_add_test(jwt, jwt_payload_tampered_is_401);
	tcase_add_test(jwt, jwt_alg_none_is_401);
	tcase_add_test(jwt, jwt_alg_hs512_is_401_even_when_correctly_signed);
	tcase_add_test(jwt, jwt_signed_by_tenant_a_claiming_tenant_b_is_401);
	tcase_add_test(jwt, jwt_without_exp_or_not_yet_valid_is_401);
	tcase_add_test(jwt, jwt_of_suspended_tenant_is_403_tenant_suspended);
	tcase_add_test(jwt, jwt_of_revoked_session_is_401);

	TCase *body = tcase_new_slow(s, "body");
	tcase_add_test(body, body_rejections_on_create_key_create_nothing);

	TCase *rl = tcase_new_slow(s, "rate_limit");
	tcase_add_test(rl, rate_limit_headers_on_authenticated_responses);
	tcase_add_test(rl, rate_limit_of_a_key_answers_429_with_retry_after);

	TCase *iso = tcase_new_slow(s, "isolation");
	tcase_add_test(iso, tenant_b_never_sees_tenant_a);
	return s;
}
