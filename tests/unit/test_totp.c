/*
 * test_totp.c - HOTP/TOTP against RFC 4226 and RFC 6238's published test
 * vectors, the drift window and replay rule of totp_check, base32 against
 * RFC 4648, the QR data URI, and argon2id password hashing
 * (common/totp.c, common/qr.c, common/password.c).
 */
#include "unit.h"

#include <sodium.h>

#include "../../common/password.h"
#include "../../common/qr.h"
#include "../../common/totp.h"

static const unsigned char seed[] = "12345678901234567890";

START_TEST(hotp_matches_rfc4226_appendix_d)
{
	static const uint32_t want[] = { 755224, 287082, 359152, 969429, 338314,
					 254676, 287922, 162583, 399871, 520489 };
	for (uint64_t c = 0; c < 10; c++)
		ck_assert_uint_eq(hotp(seed, 20, c, 6), want[c]);
}
END_TEST

START_TEST(totp_matches_rfc6238_sha1_vectors)
{
	static const struct {
		long long t;
		uint32_t code;
	} v[] = {
		{ 59, 94287082 }, { 1111111109, 7081804 }, { 1111111111, 14050471 },
		{ 1234567890, 89005924 }, { 2000000000, 69279037 }, { 20000000000LL, 65353130 },
	};
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		ck_assert_uint_eq(hotp(seed, 20, totp_step(v[i].t), 8), v[i].code);
}
END_TEST

static void code_at(char out[8], long long t)
{
	snprintf(out, 8, "%06u", hotp(seed, 20, totp_step(t), 6));
}

START_TEST(totp_check_accepts_one_step_of_drift_only)
{
	long long now = 1234567890;
	char code[8];
	uint64_t step = 0;
	for (int d = -1; d <= 1; d++) {
		code_at(code, now + d * TOTP_STEP);
		ck_assert_msg(totp_check(seed, 20, code, now, 0, &step), "drift %d refused", d);
		ck_assert_uint_eq(step, totp_step(now + d * TOTP_STEP));
	}
	code_at(code, now + 2 * TOTP_STEP);
	ck_assert(!totp_check(seed, 20, code, now, 0, &step));
	code_at(code, now - 2 * TOTP_STEP);
	ck_assert(!totp_check(seed, 20, code, now, 0, &step));
}
END_TEST

START_TEST(totp_check_refuses_a_used_step_and_bad_shapes)
{
	long long now = 1111111111;
	char code[8];
	uint64_t step = 0;
	code_at(code, now);
	ck_assert(totp_check(seed, 20, code, now, 0, &step));
	/* Replayed within its window: the step is no longer newer. */
	ck_assert(!totp_check(seed, 20, code, now, step, &step));
	ck_assert(!totp_check(seed, 20, "12345", now, 0, &step));
	ck_assert(!totp_check(seed, 20, "1234567", now, 0, &step));
	ck_assert(!totp_check(seed, 20, "12a456", now, 0, &step));
	ck_assert(!totp_check(seed, 20, "", now, 0, &step));
}
END_TEST

START_TEST(base32_follows_rfc4648)
{
	arena_t *a = arena_new(1024);
	static const struct {
		const char *in, *out;
	} v[] = { { "", "" }, { "f", "MY" }, { "fo", "MZXQ" }, { "foo", "MZXW6" },
		  { "foob", "MZXW6YQ" }, { "fooba", "MZXW6YTB" }, { "foobar", "MZXW6YTBOI" } };
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		ck_assert_str_eq(base32_encode(a, (const unsigned char *)v[i].in, strlen(v[i].in)), v[i].out);
		unsigned char buf[16];
		long n = base32_decode(v[i].out, buf, sizeof(buf));
		ck_assert_int_eq(n, (long)strlen(v[i].in));
		ck_assert(memcmp(buf, v[i].in, (size_t)n) == 0);
	}
	unsigned char buf[16];
	ck_assert_int_eq(base32_decode("mzxw6ytboi", buf, sizeof(buf)), 6);
	ck_assert_int_eq(base32_decode("MZ1W", buf, sizeof(buf)), -1);
	/* The RFC 6238 seed as an authenticator app would receive it. */
	ck_assert_str_eq(base32_encode(a, seed, 20), "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
	arena_free(a);
}
END_TEST

START_TEST(qr_data_uri_is_a_base64_png)
{
	arena_t *a = arena_new(1 << 16);
	const char *uri = qr_png_data_uri(a, "otpauth://totp/Acme:jane@example.com?secret=GEZDGNBVGY3TQOJQ&issuer=Acme");
	ck_assert_ptr_nonnull(uri);
	const char *prefix = "data:image/png;base64,";
	ck_assert(strncmp(uri, prefix, strlen(prefix)) == 0);
	const char *b64 = uri + strlen(prefix);
	size_t cap = strlen(b64), len = 0;
	unsigned char *png = arena_alloc(a, cap + 1);
	ck_assert_int_eq(sodium_base642bin(png, cap, b64, strlen(b64), NULL, &len, NULL,
					   sodium_base64_VARIANT_ORIGINAL), 0);
	ck_assert(len > 8 + 25 + 12);
	ck_assert(memcmp(png, "\x89PNG\r\n\x1a\n", 8) == 0);
	ck_assert(memcmp(png + 12, "IHDR", 4) == 0);
	/* square, a whole number of 6-pixel modules with the quiet zone, 8-bit grey */
	unsigned w = (unsigned)png[16] << 24 | (unsigned)png[17] << 16 | (unsigned)png[18] << 8 | png[19];
	unsigned h = (unsigned)png[20] << 24 | (unsigned)png[21] << 16 | (unsigned)png[22] << 8 | png[23];
	ck_assert_uint_eq(w, h);
	ck_assert_uint_eq(w % 6, 0);
	ck_assert_uint_ge(w / 6, 21 + 8);
	ck_assert_int_eq(png[24], 8);
	ck_assert_int_eq(png[25], 0);
	ck_assert(memcmp(png + len - 8, "IEND", 4) == 0);
	arena_free(a);
}
END_TEST

START_TEST(password_hash_is_argon2id_and_verifies)
{
	arena_t *a = arena_new(1024);
	char *h = password_hash(a, "correct horse battery staple");
	ck_assert_ptr_nonnull(h);
	ck_assert(strncmp(h, "$argon2id$", 10) == 0);
	ck_assert(password_verify(h, "correct horse battery staple"));
	ck_assert(!password_verify(h, "correct horse battery stapl"));
	ck_assert(!password_verify(NULL, "anything"));
	ck_assert(!password_verify("not-a-hash", "anything"));
	/* Two hashes of one password differ (random salt). */
	ck_assert_str_ne(h, password_hash(a, "correct horse battery staple"));
	arena_free(a);
}
END_TEST

Suite *suite_totp(void)
{
	Suite *s = suite_create("totp");
	TCase *tc = tcase_create("core");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, hotp_matches_rfc4226_appendix_d);
	tcase_add_test(tc, totp_matches_rfc6238_sha1_vectors);
	tcase_add_test(tc, totp_check_accepts_one_step_of_drift_only);
	tcase_add_test(tc, totp_check_refuses_a_used_step_and_bad_shapes);
	tcase_add_test(tc, base32_follows_rfc4648);
	tcase_add_test(tc, qr_data_uri_is_a_base64_png);
	tcase_add_test(tc, password_hash_is_argon2id_and_verifies);
	suite_add_tcase(s, tc);
	return s;
}
