/*
 * test_jobs_backoff.c - jobs_backoff_ms() from fcgi/jobs.c: the delay before
 * a failed job's next attempt (base * 2^(n-1), capped at one hour, plus up
 * to 20 % jitter).
 */
#include "unit.h"

#include <sodium.h>

#include "../../fcgi/jobs.h"

static const struct {
	int attempts;
	long base;
	long want;
} exact[] = {
	{ 1, 1000, 1000 },
	{ 2, 1000, 2000 },
	{ 3, 1000, 4000 },
	{ 5, 1000, 16000 },
	{ 10, 1000, 512000 },
	{ 12, 1000, 2048000 },
	{ 13, 1000, 3600000 },          /* 4096 s would exceed the hour */
	{ 100, 1000, 3600000 },         /* no overflow however many attempts */
	{ 1000000, 1, 3600000 },
	{ 1, 3600000, 3600000 },
	{ 1, 7200000, 3600000 },        /* a base above the cap is capped too */
	{ 4, 250, 2000 },
	{ 0, 1000, 1000 },              /* n < 1 counts as the first attempt */
	{ -5, 1000, 1000 },
	{ 3, 0, 0 },
};

START_TEST(backoff_doubles_from_base_and_caps_at_one_hour_without_jitter)
{
	long got = jobs_backoff_ms(exact[_i].attempts, exact[_i].base, 0);
	ck_assert_msg(got == exact[_i].want, "attempts %d base %ld: want %ld, got %ld",
		      exact[_i].attempts, exact[_i].base, exact[_i].want, got);
}
END_TEST

START_TEST(backoff_jitter_adds_at_most_twenty_percent)
{
	for (int attempts = 1; attempts <= 20; attempts++) {
		long plain = jobs_backoff_ms(attempts, 1000, 0);
		for (int i = 0; i < 200; i++) {
			long got = jobs_backoff_ms(attempts, 1000, 1);
			ck_assert_msg(got >= plain && got <= plain + plain / 5,
				      "attempts %d: %ld outside [%ld, %ld]", attempts, got, plain,
				      plain + plain / 5);
		}
	}
}
END_TEST

START_TEST(backoff_jitter_spreads_retries)
{
	/* 1000 draws from [1000, 1200]: both halves of the range are hit, so
	 * failed jobs enqueued together do not all retry at the same instant. */
	int low = 0, high = 0;
	for (int i = 0; i < 1000; i++) {
		long got = jobs_backoff_ms(1, 1000, 1);
		low += got < 1100;
		high += got > 1100;
	}
	ck_assert_msg(low > 100 && high > 100, "jitter not spread: %d low, %d high", low, high);
}
END_TEST

START_TEST(backoff_jitter_on_the_cap_stays_within_seventy_two_minutes)
{
	for (int i = 0; i < 1000; i++) {
		long got = jobs_backoff_ms(50, 1000, 1);
		ck_assert_int_ge(got, JOBS_BACKOFF_CAP_MS);
		ck_assert_int_le(got, JOBS_BACKOFF_CAP_MS + JOBS_BACKOFF_CAP_MS / 5);
	}
}
END_TEST

static void setup_sodium(void)
{
	if (sodium_init() < 0)
		abort();
}

Suite *suite_jobs_backoff(void)
{
	Suite *s = suite_create("jobs_backoff");
	TCase *tc = tcase_create("backoff");
	tcase_add_unchecked_fixture(tc, setup_sodium, NULL);
	tcase_add_loop_test(tc, backoff_doubles_from_base_and_caps_at_one_hour_without_jitter, 0,
			    (int)(sizeof(exact) / sizeof(exact[0])));
	tcase_add_test(tc, backoff_jitter_adds_at_most_twenty_percent);
	tcase_add_test(tc, backoff_jitter_spreads_retries);
	tcase_add_test(tc, backoff_jitter_on_the_cap_stays_within_seventy_two_minutes);
	suite_add_tcase(s, tc);
	return s;
}
