/*
 * test_cron.c - cron expressions and next occurrences (common/cron.c):
 * what parses and what is refused with which message, next-run times in
 * UTC and across daylight-saving changes, and next-run times compared
 * with croniter (Debian's python3-croniter) on a table of expressions,
 * zones and start times away from DST changes (where croniter 1.3.5 is
 * known to go backwards).
 */
#include "unit.h"

#include "../../common/cron.h"
#include "../../common/timefmt.h"

#include <unistd.h>

static const struct {
	const char *expr;
	const char *err;   /* a part of the message */
} parse_bad[] = {
	{ "", "five fields" },
	{ "* * * *", "not 4" },
	{ "* * * * * *", "more than 5" },
	{ "60 * * * *", "minute: 60 is out of range 0-59" },
	{ "* 24 * * *", "hour: 24 is out of range" },
	{ "* * 0 * *", "day of month: 0 is out of range" },
	{ "* * 32 * *", "day of month: 32" },
	{ "* * * 13 *", "month: 13" },
	{ "* * * * 8", "day of week: 8" },
	{ "5-1 * * * *", "runs backwards" },
	{ "*/0 * * * *", "step 0 is out of range" },
	{ "*/x * * * *", "a step must be a number" },
	{ "1,,2 * * * *", "empty list item" },
	{ "1, * * * *", "empty list item" },
	{ "* * * foo *", "month: unexpected \"foo\"" },
	{ "* * * * mon-", "day of week: unexpected" },
	{ "L * * * *", "minute: unexpected" },
	{ "@reboot", "unknown shorthand" },
	{ "@daily *", "unknown shorthand" },
	{ "1-2-3 * * * *", "minute: unexpected \"-3\"" },
};

START_TEST(cron_parse_refuses_with_the_field_named)
{
	cron_t c;
	char err[200] = "";
	ck_assert_int_eq(cron_parse(parse_bad[_i].expr, &c, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, parse_bad[_i].err), "\"%s\": message \"%s\" lacks \"%s\"",
		      parse_bad[_i].expr, err, parse_bad[_i].err);
}
END_TEST

static time_t at(const char *rfc3339)
{
	time_t t = 0;
	ck_assert_int_eq(time_parse_rfc3339(rfc3339, &t), 0);
	return t;
}

static const struct {
	const char *expr, *tz, *after, *want;   /* want NULL: none */
} next_cases[] = {
	/* strictly after, whole minutes */
	{ "@hourly", NULL, "2026-01-01T00:00:00Z", "2026-01-01T01:00:00Z" },
	{ "* * * * *", NULL, "2026-01-01T00:00:30Z", "2026-01-01T00:01:00Z" },
	{ "*/15 * * * *", "UTC", "2026-01-01T00:14:59Z", "2026-01-01T00:15:00Z" },
	/* lists, ranges, steps, names */
	{ "5,10-12 9-17/4 * * *", NULL, "2026-01-01T09:12:00Z", "2026-01-01T13:05:00Z" },
	{ "0 0 * jan-mar/2 *", NULL, "2026-01-31T12:00:00Z", "2026-03-01T00:00:00Z" },
	{ "5 4 * * sun", NULL, "2026-01-01T00:00:00Z", "2026-01-04T04:05:00Z" },
	{ "0 12 * * 7", NULL, "2026-01-04T12:00:00Z", "2026-01-11T12:00:00Z" },
	{ "0 0 5/10 * *", NULL, "2026-01-25T00:00:00Z", "2026-02-05T00:00:00Z" },
	/* both day fields restricted: either matches */
	{ "0 0 13 * 5", NULL, "2026-01-02T00:00:00Z", "2026-01-09T00:00:00Z" },
	{ "0 0 13 * 5", NULL, "2026-01-09T00:00:00Z", "2026-01-13T00:00:00Z" },
	/* shorthands */
	{ "@yearly", NULL, "2026-06-01T00:00:00Z", "2027-01-01T00:00:00Z" },
	{ "@monthly", NULL, "2026-01-31T23:59:00Z", "2026-02-01T00:00:00Z" },
	{ "@weekly", NULL, "2026-01-01T00:00:00Z", "2026-01-04T00:00:00Z" },
	{ "@daily", NULL, "2026-12-31T23:59:59Z", "2027-01-01T00:00:00Z" },
	/* leap days, and a date that never comes */
	{ "0 0 29 2 *", NULL, "2026-01-01T00:00:00Z", "2028-02-29T00:00:00Z" },
	{ "0 0 30 2 *", NULL, "2026-01-01T00:00:00Z", NULL },
	/* a zone without DST */
	{ "30 9 * * 1-5", "Asia/Kolkata", "2026-01-01T00:00:00Z", "2026-01-01T04:00:00Z" },
	{ "30 9 * * 1-5", "Asia/Kolkata", "2026-01-02T04:00:00Z", "2026-01-05T04:00:00Z" },
	/* Berlin, spring forward (2026-03-29 02:00 CET -> 03:00 CEST): a
	 * skipped time runs when the clock jumps, once */
	{ "30 2 * * *", "Europe/Berlin", "2026-03-28T23:00:00Z", "2026-03-29T01:00:00Z" },
	{ "30 2 * * *", "Europe/Berlin", "2026-03-29T01:00:00Z", "2026-03-30T00:30:00Z" },
	{ "*/30 * * * *", "Europe/Berlin", "2026-03-29T00:45:00Z", "2026-03-29T01:00:00Z" },
	{ "*/30 * * * *", "Europe/Berlin", "2026-03-29T01:00:00Z", "2026-03-29T01:30:00Z" },
	{ "0 3 * * *", "Europe/Berlin", "2026-03-28T23:00:00Z", "2026-03-29T01:00:00Z" },
	{ "0 9 * * *", "Europe/Berlin", "2026-03-28T08:00:00Z", "2026-03-29T07:00:00Z" },
	/* Berlin, fall back (2026-10-25 03:00 CEST -> 02:00 CET): a repeated
	 * time runs once, at its first occurrence */
	{ "30 2 * * *", "Europe/Berlin", "2026-10-24T23:00:00Z", "2026-10-25T00:30:00Z" },
	{ "30 2 * * *", "Europe/Berlin", "2026-10-25T00:30:00Z", "2026-10-26T01:30:00Z" },
	{ "0 3 * * *", "Europe/Berlin", "2026-10-24T23:00:00Z", "2026-10-25T02:00:00Z" },
	{ "0 * * * *", "Europe/Berlin", "2026-10-25T00:30:00Z", "2026-10-25T02:00:00Z" },
	/* a start inside the repeated hour's second pass */
	{ "45 2 * * *", "Europe/Berlin", "2026-10-25T01:30:00Z", "2026-10-25T01:45:00Z" },
	{ "*/15 * * * *", "Europe/Berlin", "2026-10-25T01:30:00Z", "2026-10-25T01:45:00Z" },
	/* New York, spring forward (2026-03-08 02:00 EST -> 03:00 EDT) */
	{ "0 9 * * *", "America/New_York", "2026-03-07T15:00:00Z", "2026-03-08T13:00:00Z" },
	{ "15 2 * * *", "America/New_York", "2026-03-08T05:00:00Z", "2026-03-08T07:00:00Z" },
	/* and fall back (2026-11-01 02:00 EDT -> 01:00 EST) */
	{ "30 1 * * *", "America/New_York", "2026-11-01T04:00:00Z", "2026-11-01T05:30:00Z" },
	{ "30 1 * * *", "America/New_York", "2026-11-01T05:30:00Z", "2026-11-02T06:30:00Z" },
};

START_TEST(cron_next_finds_the_wall_clock_occurrence)
{
	cron_t c;
	char err[200];
	ck_assert_msg(cron_parse(next_cases[_i].expr, &c, err, sizeof(err)) == 0, "%s", err);
	time_t next = 0;
	int rc = cron_next(&c, next_cases[_i].tz, at(next_cases[_i].after), &next);
	if (!next_cases[_i].want) {
		ck_assert_int_eq(rc, -1);
		return;
	}
	ck_assert_int_eq(rc, 0);
	char got[RFC3339_LEN];
	time_rfc3339(got, next);
	ck_assert_msg(!strcmp(got, next_cases[_i].want), "%s in %s after %s: %s, not %s",
		      next_cases[_i].expr, next_cases[_i].tz ? next_cases[_i].tz : "UTC",
		      next_cases[_i].after, got, next_cases[_i].want);
}
END_TEST

START_TEST(cron_next_restores_the_process_zone)
{
	cron_t c;
	char err[200];
	setenv("TZ", "Asia/Tokyo", 1);
	tzset();
	ck_assert_int_eq(cron_parse("0 9 * * *", &c, err, sizeof(err)), 0);
	time_t next;
	ck_assert_int_eq(cron_next(&c, "Europe/Berlin", at("2026-01-01T00:00:00Z"), &next), 0);
	ck_assert_str_eq(getenv("TZ"), "Asia/Tokyo");
	unsetenv("TZ");
	tzset();
	ck_assert_int_eq(cron_next(&c, "Mars/Olympus", 0, &next), -1);
}
END_TEST

START_TEST(cron_tz_valid_knows_the_zone_database)
{
	ck_assert(cron_tz_valid("UTC"));
	ck_assert(cron_tz_valid("Europe/Berlin"));
	ck_assert(cron_tz_valid("America/Argentina/Buenos_Aires"));
	ck_assert(!cron_tz_valid("Mars/Olympus"));
	ck_assert(!cron_tz_valid("../../etc/passwd"));
	ck_assert(!cron_tz_valid("/etc/localtime"));
	ck_assert(!cron_tz_valid("Europe"));   /* a directory */
	ck_assert(!cron_tz_valid(""));
}
END_TEST

/* Expressions, zones and start times where croniter is right. */
static const char *const cross_exprs[] = {
	"*/7 * * * *", "0 */5 * * *", "15 9-17 * * 1-5", "0 0 1,15 * *", "30 6 * jan,jul *",
	"0 0 13 * 5", "0 12 */3 * *", "5 4 * * sun", "0 0 * * 6,0", "@weekly", "@monthly",
	"45 23 28-31 * *", "0 8 1-7 * mon", "10 0 5/10 * *", "0 0 29 2 *", "*/20 1-5 * mar-may *",
};
static const char *const cross_zones[] = { "UTC", "Asia/Kolkata", "America/New_York", "Asia/Tokyo" };
static const char *const cross_starts[] = { "2026-01-10T10:17:00Z", "2026-06-30T23:59:00Z",
					    "2027-02-27T04:00:00Z" };

START_TEST(cron_next_agrees_with_croniter)
{
	const char *py = "/usr/bin/python3";
	char script[] = "/tmp/tessera_cron_XXXXXX";
	int fd = mkstemp(script);
	ck_assert_int_ge(fd, 0);
	FILE *f = fdopen(fd, "w");
	fputs("import sys\nfrom datetime import datetime, timezone\nimport pytz\n"
	      "from croniter import croniter\n"
	      "for line in sys.stdin:\n"
	      "    expr, zone, start = line.rstrip('\\n').split('|')\n"
	      "    tz = pytz.timezone(zone)\n"
	      "    t = datetime.fromtimestamp(int(start), timezone.utc).astimezone(tz)\n"
	      "    it = croniter(expr, t)\n"
	      "    print(' '.join(str(int(it.get_next(datetime).timestamp())) for _ in range(5)))\n",
	      f);
	fclose(f);
	char in[] = "/tmp/tessera_cron_in_XXXXXX";
	fd = mkstemp(in);
	f = fdopen(fd, "w");
	size_t ne = sizeof(cross_exprs) / sizeof(cross_exprs[0]);
	size_t nz = sizeof(cross_zones) / sizeof(cross_zones[0]);
	size_t ns = sizeof(cross_starts) / sizeof(cross_starts[0]);
	for (size_t e = 0; e < ne; e++)
		for (size_t z = 0; z < nz; z++)
			for (size_t s = 0; s < ns; s++)
				fprintf(f, "%s|%s|%lld\n", cross_exprs[e], cross_zones[z],
					(long long)at(cross_starts[s]));
	fclose(f);
	char cmd[256];
	snprintf(cmd, sizeof(cmd), "%s %s < %s", py, script, in);
	FILE *p = popen(cmd, "r");
	ck_assert_ptr_nonnull(p);
	int compared = 0;
	for (size_t e = 0; e < ne; e++)
		for (size_t z = 0; z < nz; z++)
			for (size_t s = 0; s < ns; s++) {
				char line[512];
				ck_assert_msg(fgets(line, sizeof(line), p) != NULL,
					      "croniter gave no answer (is python3-croniter installed?)");
				cron_t c;
				char err[200];
				ck_assert_msg(cron_parse(cross_exprs[e], &c, err, sizeof(err)) == 0, "%s", err);
				time_t t = at(cross_starts[s]);
				char *q = line;
				for (int k = 0; k < 5; k++) {
					long long want = strtoll(q, &q, 10);
					time_t next;
					ck_assert_int_eq(cron_next(&c, cross_zones[z], t, &next), 0);
					ck_assert_msg(next == want, "%s in %s after %s (#%d): %lld, croniter %lld",
						      cross_exprs[e], cross_zones[z], cross_starts[s], k,
						      (long long)next, want);
					t = next;
					compared++;
				}
			}
	ck_assert_int_eq(pclose(p), 0);
	unlink(script);
	unlink(in);
	ck_assert_int_eq(compared, (int)(ne * nz * ns * 5));
}
END_TEST

Suite *suite_cron(void)
{
	Suite *s = suite_create("cron");
	TCase *tc = tcase_create("core");
	tcase_set_timeout(tc, 30);
	tcase_add_loop_test(tc, cron_parse_refuses_with_the_field_named, 0,
			    sizeof(parse_bad) / sizeof(parse_bad[0]));
	tcase_add_loop_test(tc, cron_next_finds_the_wall_clock_occurrence, 0,
			    sizeof(next_cases) / sizeof(next_cases[0]));
	tcase_add_test(tc, cron_next_restores_the_process_zone);
	tcase_add_test(tc, cron_tz_valid_knows_the_zone_database);
	tcase_add_test(tc, cron_next_agrees_with_croniter);
	suite_add_tcase(s, tc);
	return s;
}
