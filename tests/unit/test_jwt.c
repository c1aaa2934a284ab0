/*
 * test_jwt.c - HS256 JWTs (common/jwt.c): round trip, algorithm pinning
 * (alg "none" and every other algorithm rejected), signature and time
 * checks, malformed tokens, and a token made by a standard implementation.
 */
#include "unit.h"

#include "../../common/codec.h"
#include "../../common/crypto.h"
#include "../../common/jwt.h"

#define NOW ((time_t)1700000000)
#define KEY "unit-test-jwt-secret-0123456789abcdef"
#define KEYLEN (sizeof(KEY) - 1)
#define HS256_HEADER "{\"alg\":\"HS256\",\"typ\":\"JWT\"}"

static arena_t *ta;

static void jwt_setup(void)
{
	ta = arena_new(4096);
}

static void jwt_teardown(void)
{
	arena_free(ta);
	ta = NULL;
}

static char *b64(const char *s, size_t n)
{
	size_t len = b64url_len(n) + 1;
	char *out = arena_alloc(ta, len);
	return b64url_encode(out, len, s, n);
}

/* A token built by hand: header and payload JSON text as given, signed with
 * HMAC-SHA256 under key (NULL: an empty signature). */
static char *forge(const char *header, const char *payload, const char *key)
{
	char *signing = arena_printf(ta, "%s.%s", b64(header, strlen(header)), b64(payload, strlen(payload)));
	if (!key)
		return arena_printf(ta, "%s.", signing);
	unsigned char mac[32];
	hmac_sha256(mac, key, strlen(key), signing, strlen(signing));
	return arena_printf(ta, "%s.%s", signing, b64((const char *)mac, sizeof(mac)));
}

static enum jwt_status verify(const char *token, cJSON **claims)
{
	cJSON *dummy = NULL;
	return jwt_verify(ta, token, KEY, KEYLEN, NOW, claims ? claims : &dummy);
}

/* Signs {"sub":…, "exp": exp} with jwt_sign. */
static char *sign_exp(double exp)
{
	cJSON *c = cJSON_CreateObject();
	cJSON_AddStringToObject(c, "sub", "usr_1");
	cJSON_AddNumberToObject(c, "exp", exp);
	char *t = jwt_sign(ta, KEY, KEYLEN, c);
	cJSON_Delete(c);
	return t;
}

START_TEST(sign_then_verify_round_trips_the_claims)
{
	cJSON *c = cJSON_CreateObject();
	cJSON_AddStringToObject(c, "sub", "usr_01ARYZ6S41TSV4RRFFQ69G5FAV");
	cJSON_AddStringToObject(c, "tenant_id", "ten_01ARYZ6S41TSV4RRFFQ69G5FAV");
	cJSON_AddStringToObject(c, "role", "member");
	cJSON_AddNumberToObject(c, "iat", (double)NOW);
	cJSON_AddNumberToObject(c, "exp", (double)NOW + 3600);
	char *token = jwt_sign(ta, KEY, KEYLEN, c);
	cJSON_Delete(c);
	ck_assert_ptr_nonnull(token);

	/* Three base64url parts; the header is the fixed HS256 one. */
	ck_assert_uint_eq(strcspn(token, "+/= "), strlen(token));
	const char *d1 = strchr(token, '.'), *d2 = d1 ? strchr(d1 + 1, '.') : NULL;
	ck_assert_ptr_nonnull(d2);
	ck_assert_ptr_null(strchr(d2 + 1, '.'));
	ck_assert_uint_eq(strlen(d2 + 1), 43);
	ck_assert_int_eq(strncmp(token, b64(HS256_HEADER, strlen(HS256_HEADER)), (size_t)(d1 - token)), 0);

	cJSON *claims = NULL;
	ck_assert_int_eq(verify(token, &claims), JWT_OK);
	ck_assert_pstr_eq(unit_json_str(claims, "sub", NULL), "usr_01ARYZ6S41TSV4RRFFQ69G5FAV");
	ck_assert_pstr_eq(unit_json_str(claims, "tenant_id", NULL), "ten_01ARYZ6S41TSV4RRFFQ69G5FAV");
	ck_assert_pstr_eq(unit_json_str(claims, "role", NULL), "member");
	ck_assert_double_eq(cJSON_GetObjectItemCaseSensitive(claims, "exp")->valuedouble, (double)NOW + 3600);
}
END_TEST

START_TEST(sign_agrees_with_a_hand_built_token)
{
	cJSON *c = cJSON_Parse("{\"sub\":\"usr_1\",\"exp\":1700003600}");
	char *signed_tok = jwt_sign(ta, KEY, KEYLEN, c);
	cJSON_Delete(c);
	ck_assert_str_eq(signed_tok, forge(HS256_HEADER, "{\"sub\":\"usr_1\",\"exp\":1700003600}", KEY));
}
END_TEST

START_TEST(peek_reads_the_payload_without_verifying)
{
	char *token = forge(HS256_HEADER, "{\"tenant_id\":\"ten_9\",\"exp\":1}", "another key");
	cJSON *claims = NULL;
	ck_assert_int_eq(jwt_peek(ta, token, &claims), JWT_OK);
	ck_assert_pstr_eq(unit_json_str(claims, "tenant_id", NULL), "ten_9");
	/* ...which verification then refuses */
	ck_assert_int_eq(verify(token, NULL), JWT_BAD_SIGNATURE);
	ck_assert_int_eq(jwt_peek(ta, "not-a-token", &claims), JWT_MALFORMED);
	ck_assert_int_eq(jwt_peek(ta, "e30.WzFd.sig", &claims), JWT_MALFORMED); /* payload [1] */
}
END_TEST

/* Headers naming anything but HS256 are refused before the signature is
 * looked at, even when the signature is a valid HMAC under the key. */
static const char *const bad_alg_headers[] = {
	"{\"alg\":\"none\",\"typ\":\"JWT\"}",
	"{\"alg\":\"None\"}",
	"{\"alg\":\"NONE\",\"typ\":\"JWT\"}",
	"{\"alg\":\"HS512\",\"typ\":\"JWT\"}",
	"{\"alg\":\"HS384\",\"typ\":\"JWT\"}",
	"{\"alg\":\"RS256\",\"typ\":\"JWT\"}",
	"{\"alg\":\"ES256\",\"typ\":\"JWT\"}",
	"{\"alg\":\"hs256\",\"typ\":\"JWT\"}",
	"{\"alg\":\"HS256 \",\"typ\":\"JWT\"}",
	"{\"alg\":256,\"typ\":\"JWT\"}",
	"{\"alg\":null,\"typ\":\"JWT\"}",
	"{\"typ\":\"JWT\"}",
};

START_TEST(tokens_with_another_alg_are_rejected_with_bad_alg)
{
	const char *payload = "{\"sub\":\"usr_1\",\"exp\":1800000000}";
	ck_assert_int_eq(verify(forge(bad_alg_headers[_i], payload, KEY), NULL), JWT_BAD_ALG);
	ck_assert_int_eq(verify(forge(bad_alg_headers[_i], payload, NULL), NULL), JWT_BAD_ALG);
}
END_TEST

START_TEST(alg_none_token_built_by_hand_is_rejected)
{
	/* base64url({"alg":"none","typ":"JWT"}) . base64url(claims) . "" */
	const char *token = "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0."
			    "eyJzdWIiOiJ1c3JfMSIsInJvbGUiOiJhZG1pbiIsImV4cCI6MTgwMDAwMDAwMH0.";
	cJSON *claims = NULL;
	ck_assert_int_eq(verify(token, &claims), JWT_BAD_ALG);
	ck_assert_ptr_null(claims);
}
END_TEST

START_TEST(tampered_payload_fails_the_signature)
{
	char *good = forge(HS256_HEADER, "{\"sub\":\"usr_1\",\"role\":\"member\",\"exp\":1800000000}", KEY);
	ck_assert_int_eq(verify(good, NULL), JWT_OK);
	/* Same header and signature, payload swapped for a privileged one. */
	const char *d1 = strchr(good, '.'), *d2 = strrchr(good, '.');
	const char *evil = "{\"sub\":\"usr_1\",\"role\":\"admin\",\"exp\":1800000000}";
	char *forged = arena_printf(ta, "%.*s.%s%s", (int)(d1 - good), good, b64(evil, strlen(evil)), d2);
	ck_assert_int_eq(verify(forged, NULL), JWT_BAD_SIGNATURE);
}
END_TEST

START_TEST(tampered_signature_fails)
{
	char *token = sign_exp((double)NOW + 60);
	ck_assert_int_eq(verify(token, NULL), JWT_OK);
	char *sig = strrchr(token, '.') + 1;

	char *flipped = arena_strdup(ta, token);
	char *fs = strrchr(flipped, '.') + 1;
	fs[10] = fs[10] == 'A' ? 'B' : 'A';
	ck_assert_int_eq(verify(flipped, NULL), JWT_BAD_SIGNATURE);

	char *truncated = arena_strndup(ta, token, strlen(token) - 1);
	ck_assert_int_eq(verify(truncated, NULL), JWT_BAD_SIGNATURE);

	char *longer = arena_printf(ta, "%sA", token);
	ck_assert_int_eq(verify(longer, NULL), JWT_BAD_SIGNATURE);

	char *empty = arena_strndup(ta, token, (size_t)(sig - token));
	ck_assert_int_eq(verify(empty, NULL), JWT_BAD_SIGNATURE);

	char *padded = arena_printf(ta, "%s=", token);
	ck_assert_int_eq(verify(padded, NULL), JWT_BAD_SIGNATURE);
}
END_TEST

START_TEST(wrong_key_is_rejected)
{
	char *token = sign_exp((double)NOW + 60);
	cJSON *claims = NULL;
	ck_assert_int_eq(jwt_verify(ta, token, "other", 5, NOW, &claims), JWT_BAD_SIGNATURE);
	/* a prefix of the right key is another key */
	ck_assert_int_eq(jwt_verify(ta, token, KEY, KEYLEN - 1, NOW, &claims), JWT_BAD_SIGNATURE);
	ck_assert_ptr_null(claims);
}
END_TEST

START_TEST(missing_or_non_numeric_exp_is_malformed)
{
	ck_assert_int_eq(verify(forge(HS256_HEADER, "{\"sub\":\"usr_1\"}", KEY), NULL), JWT_MALFORMED);
	ck_assert_int_eq(verify(forge(HS256_HEADER, "{\"exp\":\"1800000000\"}", KEY), NULL), JWT_MALFORMED);
	ck_assert_int_eq(verify(forge(HS256_HEADER, "{\"exp\":null}", KEY), NULL), JWT_MALFORMED);
}
END_TEST

START_TEST(expiry_is_checked_against_now)
{
	ck_assert_int_eq(verify(sign_exp((double)NOW - 3600), NULL), JWT_EXPIRED);
	ck_assert_int_eq(verify(sign_exp((double)NOW - 1), NULL), JWT_EXPIRED);
	ck_assert_int_eq(verify(sign_exp((double)NOW), NULL), JWT_EXPIRED); /* exp is exclusive */
	ck_assert_int_eq(verify(sign_exp((double)NOW + 1), NULL), JWT_OK);
}
END_TEST

START_TEST(nbf_in_the_future_is_not_yet_valid)
{
	ck_assert_int_eq(verify(forge(HS256_HEADER, "{\"exp\":1800000000,\"nbf\":1700000060}", KEY), NULL),
			 JWT_NOT_YET_VALID);
	ck_assert_int_eq(verify(forge(HS256_HEADER, "{\"exp\":1800000000,\"nbf\":1700000001}", KEY), NULL),
			 JWT_NOT_YET_VALID);
	ck_assert_int_eq(verify(forge(HS256_HEADER, "{\"exp\":1800000000,\"nbf\":1700000000}", KEY), NULL),
			 JWT_OK);
	ck_assert_int_eq(verify(forge(HS256_HEADER, "{\"exp\":1800000000,\"nbf\":1600000000}", KEY), NULL),
			 JWT_OK);
	ck_assert_int_eq(verify(forge(HS256_HEADER, "{\"exp\":1800000000,\"nbf\":\"soon\"}", KEY), NULL),
			 JWT_NOT_YET_VALID);
}
END_TEST

START_TEST(malformed_tokens_are_rejected)
{
	static const char *const tokens[] = {
		"",
		"abc",
		"a.b",                                  /* two parts */
		"a.b.c.d",                              /* four parts */
		"..",
		"!!!.e30.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",  /* header not base64url */
		"bm90IGpzb24.e30.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", /* header "not json" */
		"W10.e30.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",  /* header [] */
	};
	for (size_t i = 0; i < sizeof(tokens) / sizeof(tokens[0]); i++)
		ck_assert_msg(verify(tokens[i], NULL) == JWT_MALFORMED, "\"%s\" not malformed", tokens[i]);
}
END_TEST

START_TEST(signed_tokens_whose_payload_is_not_an_object_are_malformed)
{
	static const char *const payloads[] = { "[1]", "123", "\"str\"", "null", "{\"exp\":", "" };
	for (size_t i = 0; i < sizeof(payloads) / sizeof(payloads[0]); i++)
		ck_assert_msg(verify(forge(HS256_HEADER, payloads[i], KEY), NULL) == JWT_MALFORMED,
			      "payload %s not malformed", payloads[i]);
	/* a NUL inside the payload */
	char *signing = arena_printf(ta, "%s.%s", b64(HS256_HEADER, strlen(HS256_HEADER)),
				     b64("{\"exp\":1800000000}\0x", 20));
	unsigned char mac[32];
	hmac_sha256(mac, KEY, KEYLEN, signing, strlen(signing));
	char *token = arena_printf(ta, "%s.%s", signing, b64((const char *)mac, 32));
	ck_assert_int_eq(verify(token, NULL), JWT_MALFORMED);
}
END_TEST

START_TEST(header_typ_other_than_jwt_and_crit_are_malformed)
{
	const char *payload = "{\"exp\":1800000000}";
	ck_assert_int_eq(verify(forge("{\"alg\":\"HS256\",\"typ\":\"jwt\"}", payload, KEY), NULL), JWT_OK);
	ck_assert_int_eq(verify(forge("{\"alg\":\"HS256\"}", payload, KEY), NULL), JWT_OK);
	ck_assert_int_eq(verify(forge("{\"alg\":\"HS256\",\"typ\":\"JOSE\"}", payload, KEY), NULL),
			 JWT_MALFORMED);
	ck_assert_int_eq(verify(forge("{\"alg\":\"HS256\",\"typ\":1}", payload, KEY), NULL), JWT_MALFORMED);
	ck_assert_int_eq(verify(forge("{\"alg\":\"HS256\",\"crit\":[\"exp\"]}", payload, KEY), NULL),
			 JWT_MALFORMED);
}
END_TEST

START_TEST(oversized_token_is_malformed)
{
	size_t n = 9000;
	char *big = arena_alloc(ta, n + 1);
	memset(big, 'A', n);
	big[n] = '\0';
	big[10] = '.';
	big[20] = '.';
	ck_assert_int_eq(verify(big, NULL), JWT_MALFORMED);
}
END_TEST

/*
 * Interoperability: tokens computed at authoring time with Python's hmac,
 * hashlib and base64 (no Tessera code involved):
 *
 *   key = b"interop-test-key-0123456789abcdef"
 *   h = b64url(json.dumps(header, separators=(",", ":")))   # token 1
 *   p = b64url(json.dumps(claims, separators=(",", ":")))
 *   sig = b64url(hmac.new(key, f"{h}.{p}".encode(), hashlib.sha256).digest())
 *
 * Token 2 uses json.dumps defaults (spaces after ':' and ','), "typ" before
 * "alg", and an nbf in the past.
 */
#define INTEROP_KEY "interop-test-key-0123456789abcdef"

static const char interop_token_1[] =
	"eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
	"eyJzdWIiOiJ1c3JfMDFKRDNYNVE2UjdTOFQ5VjBXMVgyWTNaNEEiLCJ0ZW5hbnRfaWQiOiJ0ZW5fMDFKRDNYNVE2Ujd"
	"TOFQ5VjBXMVgyWTNaNEIiLCJyb2xlIjoiYWRtaW4iLCJpYXQiOjE3MDAwMDAwMDAsImV4cCI6NDEwMjQ0NDgwMCwiaX"
	"NzIjoidGVzc2VyYSIsImF1ZCI6ImF1dGhlbnRpY2F0ZWQifQ."
	"aGVS9V3cHpR-WJN2_AWOX_ApsT58PTroKsmzT9e8NdI";

static const char interop_token_2[] =
	"eyJ0eXAiOiAiSldUIiwgImFsZyI6ICJIUzI1NiJ9."
	"eyJzdWIiOiAidXNyXzEiLCAiZXhwIjogNDEwMjQ0NDgwMCwgIm5iZiI6IDE2MDAwMDAwMDAsICJzY29wZXMiOiBbInJl"
	"YWQiLCAid3JpdGUiXX0."
	"BXKrkc6fwDxrBtGmgxvUM2QD2EWIt7IxuNcFY2-SLTw";

START_TEST(token_from_a_standard_implementation_verifies)
{
	cJSON *claims = NULL;
	ck_assert_int_eq(jwt_verify(ta, interop_token_1, INTEROP_KEY, strlen(INTEROP_KEY), NOW, &claims),
			 JWT_OK);
	ck_assert_pstr_eq(unit_json_str(claims, "sub", NULL), "usr_01JD3X5Q6R7S8T9V0W1X2Y3Z4A");
	ck_assert_pstr_eq(unit_json_str(claims, "tenant_id", NULL), "ten_01JD3X5Q6R7S8T9V0W1X2Y3Z4B");
	ck_assert_pstr_eq(unit_json_str(claims, "role", NULL), "admin");
	ck_assert_pstr_eq(unit_json_str(claims, "iss", NULL), "tessera");
	ck_assert_pstr_eq(unit_json_str(claims, "aud", NULL), "authenticated");
	ck_assert_double_eq(cJSON_GetObjectItemCaseSensitive(claims, "iat")->valuedouble, 1700000000.0);
	ck_assert_double_eq(cJSON_GetObjectItemCaseSensitive(claims, "exp")->valuedouble, 4102444800.0);

	claims = NULL;
	ck_assert_int_eq(jwt_verify(ta, interop_token_2, INTEROP_KEY, strlen(INTEROP_KEY), NOW, &claims),
			 JWT_OK);
	ck_assert_pstr_eq(unit_json_str(claims, "sub", NULL), "usr_1");
	const cJSON *scopes = cJSON_GetObjectItemCaseSensitive(claims, "scopes");
	ck_assert_int_eq(cJSON_GetArraySize(scopes), 2);
	ck_assert_str_eq(cJSON_GetArrayItem(scopes, 1)->valuestring, "write");

	/* and the same tokens under another key fail */
	ck_assert_int_eq(jwt_verify(ta, interop_token_1, KEY, KEYLEN, NOW, &claims), JWT_BAD_SIGNATURE);
}
END_TEST

START_TEST(jwt_sign_matches_the_standard_implementation_byte_for_byte)
{
	/* Same claims in the same order as interop token 1: cJSON prints them
	 * exactly as Python's compact json.dumps does. */
	cJSON *c = cJSON_CreateObject();
	cJSON_AddStringToObject(c, "sub", "usr_01JD3X5Q6R7S8T9V0W1X2Y3Z4A");
	cJSON_AddStringToObject(c, "tenant_id", "ten_01JD3X5Q6R7S8T9V0W1X2Y3Z4B");
	cJSON_AddStringToObject(c, "role", "admin");
	cJSON_AddNumberToObject(c, "iat", 1700000000);
	cJSON_AddNumberToObject(c, "exp", 4102444800.0);
	cJSON_AddStringToObject(c, "iss", "tessera");
	cJSON_AddStringToObject(c, "aud", "authenticated");
	char *token = jwt_sign(ta, INTEROP_KEY, strlen(INTEROP_KEY), c);
	cJSON_Delete(c);
	ck_assert_str_eq(token, interop_token_1);
}
END_TEST

START_TEST(status_strings_name_each_outcome)
{
	ck_assert_str_eq(jwt_status_str(JWT_OK), "ok");
	ck_assert_str_eq(jwt_status_str(JWT_MALFORMED), "malformed token");
	ck_assert_str_eq(jwt_status_str(JWT_BAD_ALG), "unsupported token algorithm");
	ck_assert_str_eq(jwt_status_str(JWT_BAD_SIGNATURE), "bad token signature");
	ck_assert_str_eq(jwt_status_str(JWT_EXPIRED), "token expired");
	ck_assert_str_eq(jwt_status_str(JWT_NOT_YET_VALID), "token not yet valid");
	ck_assert_str_eq(jwt_status_str((enum jwt_status)99), "invalid token");
}
END_TEST

Suite *suite_jwt(void)
{
	Suite *s = suite_create("jwt");
	TCase *tc = tcase_create("jwt");
	tcase_add_checked_fixture(tc, jwt_setup, jwt_teardown);
	tcase_add_test(tc, sign_then_verify_round_trips_the_claims);
	tcase_add_test(tc, sign_agrees_with_a_hand_built_token);
	tcase_add_test(tc, peek_reads_the_payload_without_verifying);
	tcase_add_loop_test(tc, tokens_with_another_alg_are_rejected_with_bad_alg, 0,
			    (int)(sizeof(bad_alg_headers) / sizeof(bad_alg_headers[0])));
	tcase_add_test(tc, alg_none_token_built_by_hand_is_rejected);
	tcase_add_test(tc, tampered_payload_fails_the_signature);
	tcase_add_test(tc, tampered_signature_fails);
	tcase_add_test(tc, wrong_key_is_rejected);
	tcase_add_test(tc, missing_or_non_numeric_exp_is_malformed);
	tcase_add_test(tc, expiry_is_checked_against_now);
	tcase_add_test(tc, nbf_in_the_future_is_not_yet_valid);
	tcase_add_test(tc, malformed_tokens_are_rejected);
	tcase_add_test(tc, signed_tokens_whose_payload_is_not_an_object_are_malformed);
	tcase_add_test(tc, header_typ_other_than_jwt_and_crit_are_malformed);
	tcase_add_test(tc, oversized_token_is_malformed);
	tcase_add_test(tc, token_from_a_standard_implementation_verifies);
	tcase_add_test(tc, jwt_sign_matches_the_standard_implementation_byte_for_byte);
	tcase_add_test(tc, status_strings_name_each_outcome);
	suite_add_tcase(s, tc);
	return s;
}
