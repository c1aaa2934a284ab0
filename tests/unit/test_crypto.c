/*
 * test_crypto.c - hashing, HMAC, tokens and sealed secrets (common/crypto.c)
 * against published vectors and tampering.
 */
#include "unit.h"

#include "../../common/codec.h"
#include "../../common/crypto.h"

static arena_t *ta;

static void crypto_setup(void)
{
	ta = arena_new(4096);
}

static void crypto_teardown(void)
{
	arena_free(ta);
	ta = NULL;
}

static const unsigned char key_a[32] = {
	0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f,
	0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f,
};
static const unsigned char key_b[32] = { 0x42 };

/* ------------------------------------------------------------------ hashes */

static const struct {
	const char *in;
	const char *hex;
} sha_vectors[] = {
	/* FIPS 180-2 examples */
	{ "abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" },
	{ "", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" },
	{ "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
	  "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1" },
};

START_TEST(sha256_hex_matches_fips_vectors)
{
	char out[65];
	memset(out, 'x', sizeof(out));
	sha256_hex(out, sha_vectors[_i].in, strlen(sha_vectors[_i].in));
	ck_assert_str_eq(out, sha_vectors[_i].hex);
}
END_TEST

static void hmac_hex(char out[65], const void *key, size_t keylen, const void *msg, size_t msglen)
{
	unsigned char mac[32];
	hmac_sha256(mac, key, keylen, msg, msglen);
	hex_encode(out, 65, mac, sizeof(mac));
}

START_TEST(hmac_sha256_matches_rfc4231_test_case_2)
{
	char out[65];
	hmac_hex(out, "Jefe", 4, "what do ya want for nothing?", 28);
	ck_assert_str_eq(out, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}
END_TEST

START_TEST(hmac_sha256_matches_rfc4231_test_case_1)
{
	unsigned char key[20];
	memset(key, 0x0b, sizeof(key));
	char out[65];
	hmac_hex(out, key, sizeof(key), "Hi There", 8);
	ck_assert_str_eq(out, "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
}
END_TEST

START_TEST(hmac_sha256_hashes_keys_longer_than_a_block_rfc4231_test_case_6)
{
	unsigned char key[131];
	memset(key, 0xaa, sizeof(key));
	const char *msg = "Test Using Larger Than Block-Size Key - Hash Key First";
	char out[65];
	hmac_hex(out, key, sizeof(key), msg, strlen(msg));
	ck_assert_str_eq(out, "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}
END_TEST

/* ------------------------------------------------------------------ secrets */

START_TEST(secret_seal_then_open_round_trips)
{
	const char *plain = "whsec_0123456789 with spaces and \xe2\x82\xac";
	char *sealed = secret_seal(ta, key_a, plain, strlen(plain));
	ck_assert_ptr_nonnull(sealed);
	ck_assert_ptr_null(strstr(sealed, "whsec"));          /* not readable */
	ck_assert_uint_eq(strcspn(sealed, "+/="), strlen(sealed)); /* base64url */
	/* nonce (24) + MAC (16) + plaintext */
	ck_assert_uint_eq(strlen(sealed), b64url_len(24 + 16 + strlen(plain)));
	size_t len = 0;
	char *opened = secret_open(ta, key_a, sealed, &len);
	ck_assert_pstr_eq(opened, plain);
	ck_assert_uint_eq(len, strlen(plain));
}
END_TEST

START_TEST(secret_seal_uses_a_fresh_nonce_each_time)
{
	char *a = secret_seal(ta, key_a, "same", 4);
	char *b = secret_seal(ta, key_a, "same", 4);
	ck_assert_str_ne(a, b);
	ck_assert_pstr_eq(secret_open(ta, key_a, a, NULL), "same");
	ck_assert_pstr_eq(secret_open(ta, key_a, b, NULL), "same");
}
END_TEST

START_TEST(secret_open_round_trips_empty_and_binary_plaintext)
{
	size_t len = 99;
	char *opened = secret_open(ta, key_a, secret_seal(ta, key_a, "", 0), &len);
	ck_assert_pstr_eq(opened, "");
	ck_assert_uint_eq(len, 0);

	static const unsigned char bin[] = { 0, 1, 2, 0xff, 0, 7 };
	opened = secret_open(ta, key_a, secret_seal(ta, key_a, bin, sizeof(bin)), &len);
	ck_assert_ptr_nonnull(opened);
	ck_assert_uint_eq(len, sizeof(bin));
	ck_assert_int_eq(memcmp(opened, bin, sizeof(bin)), 0);
}
END_TEST

START_TEST(tampered_sealed_text_does_not_open)
{
	char *sealed = secret_seal(ta, key_a, "top secret", 10);
	size_t n = strlen(sealed);
	/* Flip one character at a time in the nonce, the MAC and the body. */
	size_t positions[] = { 0, 5, 20, 40, n / 2, n - 2 };
	for (size_t i = 0; i < sizeof(positions) / sizeof(positions[0]); i++) {
		char *t = arena_strdup(ta, sealed);
		t[positions[i]] = t[positions[i]] == 'A' ? 'B' : 'A';
		ck_assert_msg(secret_open(ta, key_a, t, NULL) == NULL, "tampered at %zu still opens",
			      positions[i]);
	}
	ck_assert_ptr_null(secret_open(ta, key_a, arena_strndup(ta, sealed, n - 4), NULL)); /* truncated */
	ck_assert_ptr_null(secret_open(ta, key_a, arena_printf(ta, "%sAAAA", sealed), NULL)); /* extended */
	ck_assert_ptr_null(secret_open(ta, key_a, "", NULL));
	ck_assert_ptr_null(secret_open(ta, key_a, "AAAA", NULL));          /* shorter than the overhead */
	ck_assert_ptr_null(secret_open(ta, key_a, "not base64 at all!", NULL));
}
END_TEST

START_TEST(sealed_text_does_not_open_under_another_key)
{
	char *sealed = secret_seal(ta, key_a, "top secret", 10);
	ck_assert_ptr_null(secret_open(ta, key_b, sealed, NULL));
	ck_assert_pstr_eq(secret_open(ta, key_a, sealed, NULL), "top secret");
}
END_TEST

/* ------------------------------------------------------------------ tokens */

START_TEST(random_token_is_prefix_plus_base64url_of_n_bytes)
{
	static const size_t sizes[] = { 1, 16, 24, 32, 64 };
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		char *t = random_token(ta, "tk_live_", sizes[i]);
		ck_assert_int_eq(strncmp(t, "tk_live_", 8), 0);
		ck_assert_uint_eq(strlen(t), 8 + b64url_len(sizes[i]));
		ck_assert_uint_eq(strspn(t + 8, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
				  b64url_len(sizes[i]));
	}
	ck_assert_uint_eq(strlen(random_token(ta, "", 32)), 43);
}
END_TEST

START_TEST(random_tokens_differ)
{
	char *a = random_token(ta, "ct_", 32);
	char *b = random_token(ta, "ct_", 32);
	ck_assert_str_ne(a, b);
}
END_TEST

START_TEST(ct_streq_compares_whole_strings)
{
	ck_assert(ct_streq("abc", "abc"));
	ck_assert(ct_streq("", ""));
	ck_assert(!ct_streq("abc", "abd"));
	ck_assert(!ct_streq("abc", "ab"));
	ck_assert(!ct_streq("ab", "abc"));
	ck_assert(!ct_streq("abc", "ABC"));
	ck_assert(!ct_streq("", "a"));
}
END_TEST

Suite *suite_crypto(void)
{
	Suite *s = suite_create("crypto");
	TCase *tc = tcase_create("hash");
	tcase_add_loop_test(tc, sha256_hex_matches_fips_vectors, 0,
			    (int)(sizeof(sha_vectors) / sizeof(sha_vectors[0])));
	tcase_add_test(tc, hmac_sha256_matches_rfc4231_test_case_2);
	tcase_add_test(tc, hmac_sha256_matches_rfc4231_test_case_1);
	tcase_add_test(tc, hmac_sha256_hashes_keys_longer_than_a_block_rfc4231_test_case_6);
	tcase_add_test(tc, ct_streq_compares_whole_strings);
	suite_add_tcase(s, tc);

	tc = tcase_create("secrets");
	tcase_add_checked_fixture(tc, crypto_setup, crypto_teardown);
	tcase_add_test(tc, secret_seal_then_open_round_trips);
	tcase_add_test(tc, secret_seal_uses_a_fresh_nonce_each_time);
	tcase_add_test(tc, secret_open_round_trips_empty_and_binary_plaintext);
	tcase_add_test(tc, tampered_sealed_text_does_not_open);
	tcase_add_test(tc, sealed_text_does_not_open_under_another_key);
	tcase_add_test(tc, random_token_is_prefix_plus_base64url_of_n_bytes);
	tcase_add_test(tc, random_tokens_differ);
	suite_add_tcase(s, tc);
	return s;
}
