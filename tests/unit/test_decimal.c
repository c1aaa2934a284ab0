/*
 * test_decimal.c - exact money arithmetic (common/decimal.c): parsing and
 * its refusals (over-precise, malformed, out of range), formatting,
 * checked add/sub, products and quotients rounded half-even, and JSON
 * numbers read through their exact text.
 */
#include "unit.h"

#include "../../common/decimal.h"

static const struct {
	const char *in;
	int scale;
	bool ok;
	int64_t want;
} parse_cases[] = {
	{ "0", 4, true, 0 },
	{ "1234.5", 4, true, 12345000 },
	{ "-0.0001", 4, true, -1 },
	{ "+7", 4, true, 70000 },
	{ "99999999999999.9999", 4, true, INT64_C(999999999999999999) },
	{ "100000000000000", 4, false, 0 },      /* beyond DEC_MONEY_MAX */
	{ "0.00001", 4, false, 0 },              /* over-precise */
	{ "1.", 4, false, 0 },
	{ ".", 4, false, 0 },
	{ "", 4, false, 0 },
	{ "-", 4, false, 0 },
	{ "1e3", 4, false, 0 },
	{ " 1", 4, false, 0 },
	{ "1.2.3", 4, false, 0 },
	{ ".5", 4, true, 5000 },
	{ "1.23456789", 8, true, 123456789 },
	{ "12", 0, true, 12 },
	{ "12.0", 0, false, 0 },
};

START_TEST(parse_reads_exact_values_and_refuses_bad_text)
{
	int64_t v = -42;
	bool ok = dec_parse(parse_cases[_i].in, parse_cases[_i].scale, DEC_MONEY_MAX, &v);
	ck_assert_msg(ok == parse_cases[_i].ok, "%s", parse_cases[_i].in);
	if (ok)
		ck_assert_int_eq(v, parse_cases[_i].want);
}
END_TEST

START_TEST(format_pads_rounds_half_even_and_signs)
{
	char b[DEC_BUF];
	ck_assert_str_eq(dec_format(b, sizeof(b), 12345000, 4, 4), "1234.5000");
	ck_assert_str_eq(dec_format(b, sizeof(b), -1, 4, 4), "-0.0001");
	ck_assert_str_eq(dec_format(b, sizeof(b), 0, 4, 2), "0.00");
	ck_assert_str_eq(dec_format(b, sizeof(b), 125, 4, 2), "0.01");   /* 0.0125 -> 0.01 */
	ck_assert_str_eq(dec_format(b, sizeof(b), 135, 4, 2), "0.01");   /* 0.0135 -> 0.01 */
	ck_assert_str_eq(dec_format(b, sizeof(b), 150, 4, 2), "0.02");   /* 0.015 -> 0.02 */
	ck_assert_str_eq(dec_format(b, sizeof(b), 250, 4, 2), "0.02");   /* 0.025 -> 0.02 */
	ck_assert_str_eq(dec_format(b, sizeof(b), -250, 4, 2), "-0.02");
	ck_assert_str_eq(dec_format(b, sizeof(b), 5, 0, 4), "5.0000");
	ck_assert_str_eq(dec_format(b, sizeof(b), 12345, 4, 0), "1");
	ck_assert_str_eq(dec_format(b, sizeof(b), 25000, 4, 0), "2");
	ck_assert_str_eq(dec_format(b, sizeof(b), 35000, 4, 0), "4");
}
END_TEST

START_TEST(add_and_sub_refuse_overflow)
{
	int64_t v;
	ck_assert(dec_add(1, 2, &v) && v == 3);
	ck_assert(dec_sub(1, 2, &v) && v == -1);
	ck_assert(!dec_add(INT64_MAX, 1, &v));
	ck_assert(!dec_sub(INT64_MIN, 1, &v));
}
END_TEST

START_TEST(mul_and_div_round_half_even)
{
	int64_t v;
	/* 100.0000 * 0.07 (rate scale 8) = 7.0000 */
	ck_assert(dec_mul(1000000, 4, 7000000, 8, 4, &v) && v == 70000);
	/* 0.0005 * 0.5 = 0.00025 -> 0.0002 (half to even) */
	ck_assert(dec_mul(5, 4, 50000000, 8, 4, &v) && v == 2);
	/* 0.0015 * 0.5 = 0.00075 -> 0.0008 */
	ck_assert(dec_mul(15, 4, 50000000, 8, 4, &v) && v == 8);
	/* -0.0005 * 0.5 -> -0.0002 */
	ck_assert(dec_mul(-5, 4, 50000000, 8, 4, &v) && v == -2);
	/* 10 / 3 = 3.3333 */
	ck_assert(dec_div(100000, 4, 30000, 4, 4, &v) && v == 33333);
	/* 2 / 3 = 0.6667 */
	ck_assert(dec_div(20000, 4, 30000, 4, 4, &v) && v == 6667);
	/* 107.0000 / 1.07 = 100.0000 */
	ck_assert(dec_div(1070000, 4, 107000000, 8, 4, &v) && v == 1000000);
	ck_assert(!dec_div(1, 4, 0, 4, 4, &v));
	/* The tax inside 110.00 at 10 %: 110 * 10 / 110 = 10.0000 */
	ck_assert(dec_muldiv(1100000, 4, 1000000000, 8, 11000000000, 8, 4, &v) && v == 100000);
	/* 100.00 at 8.875 % inclusive: 100 * 8.875 / 108.875 = 8.15154... -> 8.1515 */
	ck_assert(dec_muldiv(1000000, 4, 887500000, 8, 10887500000, 8, 4, &v) && v == 81515);
	ck_assert(!dec_muldiv(1, 4, 1, 4, 0, 4, 4, &v));
	ck_assert(!dec_mul(INT64_MAX, 4, INT64_MAX, 4, 4, &v));
}
END_TEST

START_TEST(round_and_fits_follow_places)
{
	ck_assert_int_eq(dec_round(12345, 4, 2), 12300);
	ck_assert_int_eq(dec_round(12350, 4, 2), 12400);
	ck_assert_int_eq(dec_round(12250, 4, 2), 12200);
	ck_assert_int_eq(dec_round(12345, 4, 4), 12345);
	ck_assert(dec_fits(12300, 4, 2));
	ck_assert(!dec_fits(12345, 4, 2));
	ck_assert(dec_fits(10000, 4, 0));
	ck_assert(!dec_fits(10500, 4, 0));
}
END_TEST

START_TEST(json_numbers_are_read_through_their_exact_text)
{
	int64_t v;
	cJSON *n = cJSON_CreateNumber(0.1);
	ck_assert(dec_from_json(n, 4, DEC_MONEY_MAX, &v) && v == 1000);
	cJSON_SetNumberValue(n, 1234.5678);
	ck_assert(dec_from_json(n, 4, DEC_MONEY_MAX, &v) && v == 12345678);
	cJSON_SetNumberValue(n, 1.23456);
	ck_assert(!dec_from_json(n, 4, DEC_MONEY_MAX, &v));
	cJSON_Delete(n);
	cJSON *s = cJSON_CreateString("10.50");
	ck_assert(dec_from_json(s, 4, DEC_MONEY_MAX, &v) && v == 105000);
	cJSON_Delete(s);
	cJSON *b = cJSON_CreateTrue();
	ck_assert(!dec_from_json(b, 4, DEC_MONEY_MAX, &v));
	cJSON_Delete(b);
}
END_TEST

Suite *suite_decimal(void)
{
	Suite *s = suite_create("decimal");
	TCase *tc = tcase_create("decimal");
	tcase_add_loop_test(tc, parse_reads_exact_values_and_refuses_bad_text, 0,
			    sizeof(parse_cases) / sizeof(parse_cases[0]));
	tcase_add_test(tc, format_pads_rounds_half_even_and_signs);
	tcase_add_test(tc, add_and_sub_refuse_overflow);
	tcase_add_test(tc, mul_and_div_round_half_even);
	tcase_add_test(tc, round_and_fits_follow_places);
	tcase_add_test(tc, json_numbers_are_read_through_their_exact_text);
	suite_add_tcase(s, tc);
	return s;
}
