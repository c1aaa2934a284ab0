/*
 * test_multipart.c - multipart/form-data parsing (common/multipart.c).
 */
#include "unit.h"

#include "../../common/multipart.h"

#define B "XyZ123"

static int parse(arena_t *a, const char *body, size_t len, mp_part_t *parts, int *n, char *err)
{
	return multipart_parse(a, (const unsigned char *)body, len, B, parts, n, err, 128);
}

START_TEST(boundary_comes_from_the_content_type_quoted_or_not)
{
	arena_t *a = arena_new(4096);
	ck_assert_str_eq(multipart_boundary(a, "multipart/form-data; boundary=abc"), "abc");
	ck_assert_str_eq(multipart_boundary(a, "Multipart/Form-Data; charset=x; boundary=\"a b\""), "a b");
	ck_assert_ptr_null(multipart_boundary(a, "application/json"));
	ck_assert_ptr_null(multipart_boundary(a, "multipart/form-data"));
	ck_assert_ptr_null(multipart_boundary(a, "multipart/form-data; boundary="));
	ck_assert_ptr_null(multipart_boundary(a, NULL));
	arena_free(a);
}
END_TEST

START_TEST(fields_and_a_binary_file_part_point_into_the_body)
{
	arena_t *a = arena_new(4096);
	static const char body[] =
		"preamble\r\n--" B "\r\n"
		"Content-Disposition: form-data; name=\"folder\"\r\n\r\n"
		"docs\r\n--" B "\r\n"
		"content-disposition: form-data; name=\"file\"; filename=\"C:\\dir\\a.bin\"\r\n"
		"Content-Type: application/octet-stream\r\n\r\n"
		"\x00\r\n--XyZ12\r\n\r\n--" B "--\r\n";
	mp_part_t parts[MULTIPART_MAX_PARTS];
	int n;
	char err[128];
	ck_assert_int_eq(parse(a, body, sizeof(body) - 1, parts, &n, err), 0);
	ck_assert_int_eq(n, 2);
	ck_assert_str_eq(parts[0].name, "folder");
	ck_assert_ptr_null(parts[0].filename);
	ck_assert_uint_eq(parts[0].len, 4);
	ck_assert(!memcmp(parts[0].data, "docs", 4));
	ck_assert_str_eq(parts[1].name, "file");
	/* Backslashes are kept (browsers do not escape them). */
	ck_assert_str_eq(parts[1].filename, "C:\\dir\\a.bin");
	/* Part of the boundary inside the data is data. */
	ck_assert_uint_eq(parts[1].len, 12);
	ck_assert(!memcmp(parts[1].data, "\x00\r\n--XyZ12\r\n", parts[1].len));
	arena_free(a);
}
END_TEST

START_TEST(malformed_bodies_are_refused_with_a_message)
{
	static const char *const bad[] = {
		"no boundary at all",
		"--" B "\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nunterminated",
		"--" B "\r\nContent-Disposition: form-data\r\n\r\nx\r\n--" B "--",
		"--" B "\r\nContent-Disposition: attachment; name=\"a\"\r\n\r\nx\r\n--" B "--",
		"--" B "\r\nContent-Disposition: form-data; name=\"a\"",
		"--" B "\r\n\r\nx\r\n--" B "--",
		"--" B "junk",
	};
	arena_t *a = arena_new(4096);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		mp_part_t parts[MULTIPART_MAX_PARTS];
		int n;
		char err[128] = "";
		ck_assert_msg(parse(a, bad[i], strlen(bad[i]), parts, &n, err) == -1, "accepted %s", bad[i]);
		ck_assert_msg(err[0] != '\0', "no message for %s", bad[i]);
	}
	arena_free(a);
}
END_TEST

START_TEST(more_than_the_maximum_number_of_parts_is_refused)
{
	arena_t *a = arena_new(4096);
	char body[8192];
	size_t n = 0;
	for (int i = 0; i <= MULTIPART_MAX_PARTS; i++)
		n += (size_t)snprintf(body + n, sizeof(body) - n, "--" B "\r\nContent-Disposition: "
				      "form-data; name=\"f%d\"\r\n\r\nv\r\n", i);
	n += (size_t)snprintf(body + n, sizeof(body) - n, "--" B "--\r\n");
	mp_part_t parts[MULTIPART_MAX_PARTS];
	int np;
	char err[128];
	ck_assert_int_eq(parse(a, body, n, parts, &np, err), -1);
	ck_assert_int_eq(np, MULTIPART_MAX_PARTS);
	arena_free(a);
}
END_TEST

Suite *suite_multipart(void)
{
	Suite *s = suite_create("multipart");
	TCase *tc = tcase_create("multipart");
	tcase_add_test(tc, boundary_comes_from_the_content_type_quoted_or_not);
	tcase_add_test(tc, fields_and_a_binary_file_part_point_into_the_body);
	tcase_add_test(tc, malformed_bodies_are_refused_with_a_message);
	tcase_add_test(tc, more_than_the_maximum_number_of_parts_is_refused);
	suite_add_tcase(s, tc);
	return s;
}
