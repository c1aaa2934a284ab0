/*
 * test_codec.c - base64url (RFC 4648 §5, unpadded) and hex (common/codec.c).
 */
#include "unit.h"

#include "../../common/codec.h"

/* RFC 4648 §10 test vectors, in the URL-safe alphabet without padding,
 * plus bytes that exercise '-' and '_'. */
static const struct {
	const char *plain;
	size_t len;
	const char *b64;
} vectors[] = {
	{ "", 0, "" },
	{ "f", 1, "Zg" },
	{ "fo", 2, "Zm8" },
	{ "foo", 3, "Zm9v" },
	{ "foob", 4, "Zm9vYg" },
	{ "fooba", 5, "Zm9vYmE" },
	{ "foobar", 6, "Zm9vYmFy" },
	{ "\xfb\xff\xfe", 3, "-__-" },           /* standard alphabet: +//+ */
	{ "\xff\xfe", 2, "__4" },
	{ "\x00\x00\x00", 3, "AAAA" },
	{ "a\x00z", 3, "YQB6" },                 /* embedded NUL */
};

#define NVECTORS ((int)(sizeof(vectors) / sizeof(vectors[0])))

START_TEST(b64url_encode_matches_rfc4648_vectors_unpadded)
{
	char out[32];
	ck_assert_uint_eq(b64url_len(vectors[_i].len), strlen(vectors[_i].b64));
	ck_assert_ptr_eq(b64url_encode(out, sizeof(out), vectors[_i].plain, vectors[_i].len), out);
	ck_assert_str_eq(out, vectors[_i].b64);
}
END_TEST

START_TEST(b64url_decode_inverts_the_vectors)
{
	unsigned char out[32];
	memset(out, 0xcc, sizeof(out));
	long n = b64url_decode(out, sizeof(out), vectors[_i].b64, strlen(vectors[_i].b64));
	ck_assert_int_eq(n, (long)vectors[_i].len);
	ck_assert_int_eq(memcmp(out, vectors[_i].plain, vectors[_i].len), 0);
}
END_TEST

START_TEST(b64url_round_trips_every_length_up_to_64)
{
	unsigned char in[64], back[64];
	char text[128];
	for (size_t i = 0; i < sizeof(in); i++)
		in[i] = (unsigned char)(i * 73 + 11);
	for (size_t n = 0; n <= sizeof(in); n++) {
		b64url_encode(text, sizeof(text), in, n);
		ck_assert_uint_eq(strlen(text), b64url_len(n));
		ck_assert_uint_eq(strcspn(text, "=+/"), strlen(text));
		ck_assert_int_eq(b64url_decode(back, sizeof(back), text, strlen(text)), (long)n);
		ck_assert_int_eq(memcmp(back, in, n), 0);
	}
}
END_TEST

static const struct {
	const char *in;
	const char *want;
} padded[] = {
	{ "Zg==", "f" },
	{ "Zm8=", "fo" },
	{ "Zm9v", "foo" },
	{ "Zm9vYg==", "foob" },
	{ "Zm9vYmE=", "fooba" },
};

START_TEST(b64url_decode_accepts_padded_input)
{
	char out[16];
	long n = b64url_decode(out, sizeof(out), padded[_i].in, strlen(padded[_i].in));
	ck_assert_int_eq(n, (long)strlen(padded[_i].want));
	out[n] = '\0';
	ck_assert_str_eq(out, padded[_i].want);
}
END_TEST

static const char *const malformed[] = {
	"Zm+v",       /* standard-alphabet characters */
	"Zm/v",
	"Zm9v!",
	"Zm 9v",
	"Zm9v\n",
	"Z",          /* one char: no whole byte (length % 4 == 1) */
	"Zm9vY",
	"Zm9vYmFyZ",
	"Zh",         /* non-zero trailing bits: not canonical */
	"Zm9",
	"=Zg",        /* padding before data */
	"Z=g",
};

START_TEST(b64url_decode_rejects_invalid_characters_and_lengths)
{
	unsigned char out[32];
	long n = b64url_decode(out, sizeof(out), malformed[_i], strlen(malformed[_i]));
	ck_assert_msg(n == -1, "\"%s\" decoded to %ld bytes", malformed[_i], n);
}
END_TEST

START_TEST(b64url_decode_honours_len_not_the_nul)
{
	unsigned char out[8];
	/* Only the first four characters are the input. */
	ck_assert_int_eq(b64url_decode(out, sizeof(out), "Zm9v!!!!", 4), 3);
	ck_assert_int_eq(memcmp(out, "foo", 3), 0);
}
END_TEST

START_TEST(b64url_decode_rejects_a_buffer_too_small)
{
	unsigned char out[8];
	ck_assert_int_eq(b64url_decode(out, 5, "Zm9vYmFy", 8), -1); /* needs 6 */
	ck_assert_int_eq(b64url_decode(out, 6, "Zm9vYmFy", 8), 6);  /* exact fit */
	ck_assert_int_eq(memcmp(out, "foobar", 6), 0);
	ck_assert_int_eq(b64url_decode(out, 0, "Zg", 2), -1);
}
END_TEST

START_TEST(b64url_encode_into_a_buffer_too_small_writes_an_empty_string)
{
	char out[8];
	memset(out, 'x', sizeof(out));
	ck_assert_ptr_eq(b64url_encode(out, 8, "foobar", 6), out); /* needs 8 + NUL */
	ck_assert_str_eq(out, "");
	memset(out, 'x', sizeof(out));
	b64url_encode(out, 0, "f", 1);
	ck_assert_int_eq(out[0], 'x'); /* nothing written into a zero-size buffer */
}
END_TEST

START_TEST(hex_encode_is_lower_case_two_chars_per_byte)
{
	char out[16];
	ck_assert_ptr_eq(hex_encode(out, sizeof(out), "\x00\xff\x10\xab\x7f", 5), out);
	ck_assert_str_eq(out, "00ff10ab7f");
	hex_encode(out, sizeof(out), "", 0);
	ck_assert_str_eq(out, "");
	hex_encode(out, 2 * 7 + 1, "Tessera", 7);
	ck_assert_str_eq(out, "54657373657261");
}
END_TEST

Suite *suite_codec(void)
{
	Suite *s = suite_create("codec");
	TCase *tc = tcase_create("base64url");
	tcase_add_loop_test(tc, b64url_encode_matches_rfc4648_vectors_unpadded, 0, NVECTORS);
	tcase_add_loop_test(tc, b64url_decode_inverts_the_vectors, 0, NVECTORS);
	tcase_add_test(tc, b64url_round_trips_every_length_up_to_64);
	tcase_add_loop_test(tc, b64url_decode_accepts_padded_input, 0,
			    (int)(sizeof(padded) / sizeof(padded[0])));
	tcase_add_loop_test(tc, b64url_decode_rejects_invalid_characters_and_lengths, 0,
			    (int)(sizeof(malformed) / sizeof(malformed[0])));
	tcase_add_test(tc, b64url_decode_honours_len_not_the_nul);
	tcase_add_test(tc, b64url_decode_rejects_a_buffer_too_small);
	tcase_add_test(tc, b64url_encode_into_a_buffer_too_small_writes_an_empty_string);
	suite_add_tcase(s, tc);

	tc = tcase_create("hex");
	tcase_add_test(tc, hex_encode_is_lower_case_two_chars_per_byte);
	suite_add_tcase(s, tc);
	return s;
}
