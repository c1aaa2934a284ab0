/*
 * test_timefmt.c - RFC 3339 formatting and parsing and MariaDB DATETIME
 * conversion (common/timefmt.c).
 */
#include "unit.h"

#include "../../common/timefmt.h"

static const struct {
	time_t t;
	const char *text;
} format_cases[] = {
	{ 0, "1970-01-01T00:00:00Z" },
	{ 1700000000, "2023-11-14T22:13:20Z" },
	{ 951825600, "2000-02-29T12:00:00Z" },          /* leap day of a century leap year */
	{ 1709164800, "2024-02-29T00:00:00Z" },
	{ 4102444799, "2099-12-31T23:59:59Z" },
	{ -1, "1969-12-31T23:59:59Z" },
};

START_TEST(time_rfc3339_formats_utc_with_z)
{
	char out[RFC3339_LEN];
	ck_assert_ptr_eq(time_rfc3339(out, format_cases[_i].t), out);
	ck_assert_str_eq(out, format_cases[_i].text);
}
END_TEST

START_TEST(time_parse_inverts_time_rfc3339)
{
	time_t t = 12345;
	ck_assert_int_eq(time_parse_rfc3339(format_cases[_i].text, &t), 0);
	ck_assert_int_eq(t, format_cases[_i].t);
}
END_TEST

static const struct {
	const char *text;
	time_t want;
} parse_ok[] = {
	{ "2023-11-14T22:13:20Z", 1700000000 },
	{ "2023-11-14t22:13:20z", 1700000000 },           /* lower-case T and Z */
	{ "2023-11-14 22:13:20Z", 1700000000 },           /* space separator (RFC 3339 §5.6 note) */
	{ "2023-11-14T22:13:20.123Z", 1700000000 },       /* fraction dropped */
	{ "2023-11-14T22:13:20.999999999Z", 1700000000 },
	{ "2023-11-14T22:13:20+00:00", 1700000000 },
	{ "2023-11-14T22:13:20-00:00", 1700000000 },
	{ "2023-11-14T23:13:20+01:00", 1700000000 },
	{ "2023-11-14T17:13:20-05:00", 1700000000 },
	{ "2023-11-15T03:43:20+05:30", 1700000000 },
	{ "2023-11-14T23:13:20.5+01:00", 1700000000 },
	{ "2023-11-15T00:13:20+02:00", 1700000000 },      /* offset crosses midnight */
	{ "2024-02-29T00:00:00Z", 1709164800 },           /* leap day */
	{ "2000-02-29T12:00:00Z", 951825600 },            /* divisible by 400: leap */
	{ "1970-01-01T00:00:00Z", 0 },
	{ "2023-12-31T23:59:60Z", 1704067200 },           /* leap second folds forward */
};

START_TEST(time_parse_accepts_z_offsets_and_fractions)
{
	time_t t = 12345;
	ck_assert_msg(time_parse_rfc3339(parse_ok[_i].text, &t) == 0, "\"%s\" rejected", parse_ok[_i].text);
	ck_assert_int_eq(t, parse_ok[_i].want);
}
END_TEST

static const char *const parse_bad[] = {
	"",
	"2023-11-14",
	"2023-11-14T22:13:20",            /* no zone */
	"2023-11-14T22:13Z",
	"2023-02-29T00:00:00Z",           /* not a leap year */
	"1900-02-29T00:00:00Z",           /* divisible by 100, not 400 */
	"2023-02-30T00:00:00Z",
	"2023-04-31T00:00:00Z",
	"2023-06-31T00:00:00Z",
	"2023-13-01T00:00:00Z",
	"2023-00-10T00:00:00Z",
	"2023-01-00T00:00:00Z",
	"2023-01-32T00:00:00Z",
	"2023-11-14T24:00:00Z",
	"2023-11-14T23:60:00Z",
	"2023-11-14T23:59:61Z",
	"2023/11/14T22:13:20Z",
	"2023-11-14X22:13:20Z",
	"2023-11-14T22-13-20Z",
	"23-11-14T22:13:20Z",
	"2023-1-14T22:13:20Z",
	"2023-11-14T22:13:20.Z",          /* empty fraction */
	"2023-11-14T22:13:20,5Z",
	"2023-11-14T22:13:20Z ",          /* trailing junk */
	"2023-11-14T22:13:20ZZ",
	"2023-11-14T22:13:20+0100",       /* offset without colon */
	"2023-11-14T22:13:20+24:00",
	"2023-11-14T22:13:20+01:60",
	"2023-11-14T22:13:20+01:00:00",
	"2023-11-14T22:13:20 +01:00",
	"2023-11-14T22:13:20UTC",
	" 2023-11-14T22:13:20Z",
	"abcd-ef-ghTij:kl:mnZ",
};

START_TEST(time_parse_rejects_invalid_dates_and_syntax)
{
	time_t t = 12345;
	ck_assert_msg(time_parse_rfc3339(parse_bad[_i], &t) == -1, "\"%s\" accepted as %lld",
		      parse_bad[_i], (long long)t);
	ck_assert_int_eq(t, 12345); /* untouched */
}
END_TEST

/*
 * Regression (fixed): common/timefmt.c time_parse_rfc3339() reads the offset as
 * digits(p + 1, 2) and digits(p + 4, 2) before checking that the text is
 * long enough, so a truncated offset ("...:20+01" or "...:20+0") reads 1-2
 * bytes past the terminating NUL.  The plain build returns -1 by luck; under
 * AddressSanitizer this test fails with a heap-buffer-overflow read.  The
 * input is copied to an exact-size heap block so ASan sees the overrun.
 * Expected: -1 without reading past the string (check p[1..5] before use).
 */
START_TEST(truncated_offset_is_rejected_without_reading_past_the_string)
{
	static const char *const truncated[] = {
		"2023-11-14T22:13:20+01",
		"2023-11-14T22:13:20+0",
		"2023-11-14T22:13:20-",
		"2023-11-14T22:13:20+01:",
		"2023-11-14T22:13:20+01:0",
	};
	for (size_t i = 0; i < sizeof(truncated) / sizeof(truncated[0]); i++) {
		char *s = strdup(truncated[i]);
		time_t t = 12345;
		int rc = time_parse_rfc3339(s, &t);
		free(s);
		ck_assert_msg(rc == -1, "\"%s\" accepted", truncated[i]);
	}
}
END_TEST

static const struct {
	const char *sql;
	const char *want;
} sql_cases[] = {
	{ "2023-11-14 22:13:20", "2023-11-14T22:13:20Z" },
	{ "2023-11-14 22:13:20.123456", "2023-11-14T22:13:20Z" },   /* fraction dropped */
	{ "2024-02-29 00:00:00", "2024-02-29T00:00:00Z" },
	{ "1970-01-01 00:00:00", "1970-01-01T00:00:00Z" },
};

START_TEST(time_from_sql_converts_datetime_to_rfc3339)
{
	char out[RFC3339_LEN];
	ck_assert_ptr_eq(time_from_sql(out, sql_cases[_i].sql), out);
	ck_assert_str_eq(out, sql_cases[_i].want);
	/* the result parses back */
	time_t t;
	ck_assert_int_eq(time_parse_rfc3339(out, &t), 0);
}
END_TEST

START_TEST(time_from_sql_passes_short_text_through)
{
	char out[RFC3339_LEN];
	ck_assert_str_eq(time_from_sql(out, ""), "");
	ck_assert_str_eq(time_from_sql(out, "2023-11-14"), "2023-11-14");
}
END_TEST

START_TEST(time_now_ms_is_close_to_time)
{
	long long ms = time_now_ms();
	long long s = (long long)time(NULL);
	ck_assert_int_ge(ms / 1000, s - 1);
	ck_assert_int_le(ms / 1000, s + 1);
}
END_TEST

Suite *suite_timefmt(void)
{
	Suite *s = suite_create("timefmt");
	TCase *tc = tcase_create("rfc3339");
	int nformat = (int)(sizeof(format_cases) / sizeof(format_cases[0]));
	tcase_add_loop_test(tc, time_rfc3339_formats_utc_with_z, 0, nformat);
	tcase_add_loop_test(tc, time_parse_inverts_time_rfc3339, 0, nformat);
	tcase_add_loop_test(tc, time_parse_accepts_z_offsets_and_fractions, 0,
			    (int)(sizeof(parse_ok) / sizeof(parse_ok[0])));
	tcase_add_loop_test(tc, time_parse_rejects_invalid_dates_and_syntax, 0,
			    (int)(sizeof(parse_bad) / sizeof(parse_bad[0])));
	tcase_add_test(tc, truncated_offset_is_rejected_without_reading_past_the_string);
	tcase_add_test(tc, time_now_ms_is_close_to_time);
	suite_add_tcase(s, tc);

	tc = tcase_create("sql");
	tcase_add_loop_test(tc, time_from_sql_converts_datetime_to_rfc3339, 0,
			    (int)(sizeof(sql_cases) / sizeof(sql_cases[0])));
	tcase_add_test(tc, time_from_sql_passes_short_text_through);
	suite_add_tcase(s, tc);
	return s;
}
