/*
 * test_s3.c - the SigV4 presigner of common/s3.c against AWS's published
 * example (the S3 docs' "presigned URL" GET of test.txt) and against URLs
 * botocore 1.43 generated for a path-style bucket at a frozen time.
 */
#include "unit.h"

#include <time.h>

#include "../../common/s3.h"

/* The signature part of a presigned URL. */
static const char *signature_of(const char *url)
{
	const char *s = url ? strstr(url, "X-Amz-Signature=") : NULL;
	return s ? s + 16 : "";
}

START_TEST(presign_matches_the_aws_documentation_example)
{
	arena_t *a = arena_new(0);
	struct s3_target t = { "https://examplebucket.s3.amazonaws.com", "us-east-1",
			       "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY" };
	struct tm tm = { .tm_year = 113, .tm_mon = 4, .tm_mday = 24 };
	char *url = s3_presign(a, &t, "GET", "test.txt", NULL, 86400, timegm(&tm));
	ck_assert_str_eq(url, "https://examplebucket.s3.amazonaws.com/test.txt"
		"?X-Amz-Algorithm=AWS4-HMAC-SHA256"
		"&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request"
		"&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host"
		"&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404");
	arena_free(a);
}
END_TEST

START_TEST(presign_matches_botocore_for_a_path_style_bucket_and_a_listing)
{
	arena_t *a = arena_new(0);
	struct s3_target t = { "http://127.0.0.1:9555/tb", "eu-west-3", "AKTEST", "sekret/Key+1" };
	struct tm tm = { .tm_year = 126, .tm_mon = 11, .tm_mday = 6, .tm_hour = 3, .tm_min = 4,
			 .tm_sec = 5 };
	time_t now = timegm(&tm);
	char *url = s3_presign(a, &t, "GET", "tn_A/files/file_B/3", NULL, 300, now);
	ck_assert_msg(!strncmp(url, "http://127.0.0.1:9555/tb/tn_A/files/file_B/3?", 45), "%s", url);
	ck_assert_str_eq(signature_of(url),
			 "f2ab20139b73b0b1861f770c213328e80477a990a1c45a5a917d1af0aca1ecb7");
	url = s3_presign(a, &t, "GET", "", "list-type=2&prefix=tn_A%2Ffiles%2F&encoding-type=url",
			 300, now);
	ck_assert_msg(!strncmp(url, "http://127.0.0.1:9555/tb?", 25), "%s", url);
	ck_assert_str_eq(signature_of(url),
			 "da257922934717a66b0844083055e86abc04734239e121a5f36f52cb60149e23");
	/* Another method or key is another signature. */
	ck_assert_str_ne(signature_of(s3_presign(a, &t, "PUT", "tn_A/files/file_B/3", NULL, 300, now)),
			 "f2ab20139b73b0b1861f770c213328e80477a990a1c45a5a917d1af0aca1ecb7");
	struct s3_target bad = { "ftp://x", "r", "a", "s" };
	ck_assert_ptr_null(s3_presign(a, &bad, "GET", "k", NULL, 300, now));
	arena_free(a);
}
END_TEST

Suite *suite_s3(void)
{
	Suite *s = suite_create("s3");
	TCase *tc = tcase_create("presign");
	tcase_add_test(tc, presign_matches_the_aws_documentation_example);
	tcase_add_test(tc, presign_matches_botocore_for_a_path_style_bucket_and_a_listing);
	suite_add_tcase(s, tc);
	return s;
}
