/*
 * cron.c - cron expressions (see cron.h).
 *
 * The search walks the wall clock field by field (month, day, hour,
 * minute), skipping whole months, days and hours that cannot match, so a
 * yearly expression costs a few dozen steps, not half a million minutes.
 * The wall time found is then placed on the time line of the zone through
 * its UTC offsets (glibc's tm_gmtoff), which is where daylight saving
 * is decided.  The zone is selected by setting TZ for the duration of the
 * call: Tessera's processes are single-threaded, and everything else in
 * them works in UTC.
 */
#include "cron.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#define SEARCH_YEARS 5

struct field_spec {
	const char *name;
	int min, max;
	const char *const *names;   /* names of min, min+1, …, or NULL */
};

static const char *const month_names[] = { "jan", "feb", "mar", "apr", "may", "jun", "jul",
					   "aug", "sep", "oct", "nov", "dec", NULL };
static const char *const day_names[] = { "sun", "mon", "tue", "wed", "thu", "fri", "sat", NULL };

static const struct field_spec specs[5] = {
	{ "minute", 0, 59, NULL },
	{ "hour", 0, 23, NULL },
	{ "day of month", 1, 31, NULL },
	{ "month", 1, 12, month_names },
	{ "day of week", 0, 7, day_names },
};

static const struct {
	const char *name, *expr;
} shorthands[] = {
	{ "@yearly", "0 0 1 1 *" }, { "@annually", "0 0 1 1 *" }, { "@monthly", "0 0 1 * *" },
	{ "@weekly", "0 0 * * 0" }, { "@daily", "0 0 * * *" },    { "@midnight", "0 0 * * *" },
	{ "@hourly", "0 * * * *" },
};

/* A number or (where the field has names) a name at *p; advances *p. */
static int value_read(const char **p, const struct field_spec *f, int *out, char *err, size_t errlen)
{
	const char *s = *p;
	if (isdigit((unsigned char)*s)) {
		long v = 0;
		while (isdigit((unsigned char)*s) && v < 1000)
			v = v * 10 + (*s++ - '0');
		if (v < f->min || v > f->max) {
			snprintf(err, errlen, "%s: %ld is out of range %d-%d", f->name, v, f->min, f->max);
			return -1;
		}
		*out = (int)v;
		*p = s;
		return 0;
	}
	for (int i = 0; f->names && f->names[i]; i++) {
		if (!strncasecmp(s, f->names[i], 3) && !isalpha((unsigned char)s[3])) {
			*out = f->min + i;
			*p = s + 3;
			return 0;
		}
	}
	snprintf(err, errlen, "%s: unexpected \"%.20s\"", f->name, s);
	return -1;
}

/* One list item: `*`, `v`, `a-b`, each with an optional `/step`. */
static int item_parse(const char *s, const struct field_spec *f, uint64_t *bits, char *err,
		      size_t errlen)
{
	int lo = f->min, hi = f->max, step = 1;
	bool range = false;
	if (*s == '*') {
		s++;
		range = true;
	} else {
		if (value_read(&s, f, &lo, err, errlen))
			return -1;
		hi = lo;
		if (*s == '-') {
			s++;
			if (value_read(&s, f, &hi, err, errlen))
				return -1;
			if (hi < lo) {
				snprintf(err, errlen, "%s: range %d-%d runs backwards", f->name, lo, hi);
				return -1;
			}
			range = true;
		}
	}
	if (*s == '/') {
		s++;
		if (!isdigit((unsigned char)*s)) {
			snprintf(err, errlen, "%s: a step must be a number", f->name);
			return -1;
		}
		long v = 0;
		while (isdigit((unsigned char)*s) && v < 1000)
			v = v * 10 + (*s++ - '0');
		if (v < 1 || v > f->max) {
			snprintf(err, errlen, "%s: step %ld is out of range 1-%d", f->name, v, f->max);
			return -1;
		}
		step = (int)v;
		if (!range)
			hi = f->max;   /* "5/10": from 5 to the end */
	}
	if (*s) {
		snprintf(err, errlen, "%s: unexpected \"%.20s\"", f->name, s);
		return -1;
	}
	for (int v = lo; v <= hi; v += step)
		*bits |= 1ULL << v;
	return 0;
}

static int field_parse(const char *text, const struct field_spec *f, uint64_t *bits, char *err,
		       size_t errlen)
{
	char buf[128];
	*bits = 0;
	snprintf(buf, sizeof(buf), "%s", text);
	char *save = NULL;
	if (buf[0] == ',' || buf[strlen(buf) - 1] == ',' || strstr(buf, ",,")) {
		snprintf(err, errlen, "%s: empty list item", f->name);
		return -1;
	}
	for (char *it = strtok_r(buf, ",", &save); it; it = strtok_r(NULL, ",", &save))
		if (item_parse(it, f, bits, err, errlen))
			return -1;
	return 0;
}

int cron_parse(const char *expr, cron_t *out, char *err, size_t errlen)
{
	memset(out, 0, sizeof(*out));
	if (!expr || strlen(expr) > 200) {
		snprintf(err, errlen, "a cron expression is at most 200 characters");
		return -1;
	}
	while (isspace((unsigned char)*expr))
		expr++;
	if (*expr == '@') {
		size_t n = strcspn(expr, " \t");
		for (size_t i = 0; i < sizeof(shorthands) / sizeof(shorthands[0]); i++)
			if (strlen(shorthands[i].name) == n && !strncasecmp(expr, shorthands[i].name, n) &&
			    expr[n + strspn(expr + n, " \t")] == '\0')
				return cron_parse(shorthands[i].expr, out, err, errlen);
		snprintf(err, errlen, "unknown shorthand \"%.20s\" (use @yearly, @monthly, @weekly, "
			 "@daily or @hourly)", expr);
		return -1;
	}
	char buf[256], *save = NULL, *fields[6];
	int n = 0;
	snprintf(buf, sizeof(buf), "%s", expr);
	for (char *t = strtok_r(buf, " \t", &save); t && n < 6; t = strtok_r(NULL, " \t", &save))
		fields[n++] = t;
	if (n != 5) {
		snprintf(err, errlen, "a cron expression has five fields (minute hour day-of-month "
			 "month day-of-week), not %s%d", n > 5 ? "more than " : "", n > 5 ? 5 : n);
		return -1;
	}
	uint64_t bits[5];
	for (int i = 0; i < 5; i++)
		if (field_parse(fields[i], &specs[i], &bits[i], err, errlen))
			return -1;
	out->minutes = bits[0];
	out->hours = (uint32_t)bits[1];
	out->days = (uint32_t)bits[2];
	out->months = (uint16_t)bits[3];
	out->weekdays = (uint8_t)((bits[4] | (bits[4] >> 7)) & 0x7f);   /* 7 is Sunday */
	out->days_star = !strcmp(fields[2], "*") || !strcmp(fields[2], "?");
	out->weekdays_star = !strcmp(fields[4], "*") || !strcmp(fields[4], "?");
	return 0;
}

bool cron_tz_valid(const char *tz)
{
	if (!tz || !*tz || strlen(tz) > 64 || tz[0] == '/' || strstr(tz, ".."))
		return false;
	for (const char *p = tz; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr("/_+-", *p))
			return false;
	if (!strcmp(tz, "UTC"))
		return true;
	char path[128];
	struct stat st;
	snprintf(path, sizeof(path), "/usr/share/zoneinfo/%s", tz);
	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* --- the wall clock ------------------------------------------------------- */

static bool leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int month_days(int y, int m)
{
	static const int d[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	return m == 2 && leap(y) ? 29 : d[m - 1];
}

/* A wall-clock minute; months 1-12. */
struct wall {
	int y, mo, d, h, mi;
};

/* Seconds of w read as if it were UTC. */
static time_t wall_seconds(const struct wall *w)
{
	struct tm tm = { .tm_year = w->y - 1900, .tm_mon = w->mo - 1, .tm_mday = w->d,
			 .tm_hour = w->h, .tm_min = w->mi };
	return timegm(&tm);
}

static int weekday(const struct wall *w)
{
	time_t s = wall_seconds(w);
	struct tm tm;
	gmtime_r(&s, &tm);
	return tm.tm_wday;
}

static bool day_matches(const cron_t *c, const struct wall *w)
{
	bool dom = c->days >> w->d & 1, dow = c->weekdays >> weekday(w) & 1;
	if (c->days_star || c->weekdays_star)
		return dom && dow;
	return dom || dow;
}

static void next_month(struct wall *w)
{
	w->mi = w->h = 0;
	w->d = 1;
	if (++w->mo > 12) {
		w->mo = 1;
		w->y++;
	}
}

static void next_day(struct wall *w)
{
	w->mi = w->h = 0;
	if (++w->d > month_days(w->y, w->mo))
		next_month(w);
}

static void next_hour(struct wall *w)
{
	w->mi = 0;
	if (++w->h > 23)
		next_day(w);
}

/* The first wall minute at or after *w that c matches, into *w. */
static int wall_search(const cron_t *c, struct wall *w)
{
	int until = w->y + SEARCH_YEARS;
	while (w->y <= until) {
		if (!(c->months >> w->mo & 1))
			next_month(w);
		else if (!day_matches(c, w))
			next_day(w);
		else if (!(c->hours >> w->h & 1))
			next_hour(w);
		else if (!(c->minutes >> w->mi & 1)) {
			if (++w->mi > 59)
				next_hour(w);
		} else
			return 0;
	}
	return -1;
}

/* --- the zone's time line --------------------------------------------------- */

static long offset_at(time_t t, bool utc)
{
	struct tm tm;
	if (utc)
		return 0;
	localtime_r(&t, &tm);
	return tm.tm_gmtoff;
}

/*
 * The first instant after `after` whose wall clock reads g (wall seconds),
 * or, when the clock skips g, the instant it jumps over it.  The offsets a
 * day either side cover any one transition.  0 when g lies behind.
 */
static time_t wall_place(time_t g, time_t after, bool utc)
{
	long before = offset_at(g - 86400, utc), later = offset_at(g + 86400, utc);
	time_t cand[2] = { g - before, g - later };
	time_t best = 0;
	bool valid = false;
	for (int i = 0; i < 2; i++) {
		time_t u = cand[i];
		if (u + offset_at(u, utc) != g)
			continue;
		valid = true;
		if (u > after && (!best || u < best))
			best = u;
	}
	if (valid)
		return best;   /* 0 when every reading of g is behind us */
	/* A skipped time: the transition lies between the two readings. */
	time_t lo = g - later, hi = g - before;
	if (lo > hi) {
		time_t t = lo;
		lo = hi;
		hi = t;
	}
	while (hi - lo > 1) {
		time_t mid = lo + (hi - lo) / 2;
		if (offset_at(mid, utc) == before)
			lo = mid;
		else
			hi = mid;
	}
	return hi > after ? hi : 0;
}

static int next_in_zone(const cron_t *c, time_t after, bool utc, time_t *next)
{
	time_t t = after - after % 60 + 60;   /* the next whole minute */
	struct tm tm;
	if (utc)
		gmtime_r(&t, &tm);
	else
		localtime_r(&t, &tm);
	struct wall w = { tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min };
	/* Only the first pass of a repeated hour can lie behind us: a few
	 * more steps along the wall clock pass it. */
	for (int tries = 0; tries < 64; tries++) {
		if (wall_search(c, &w))
			return -1;
		time_t u = wall_place(wall_seconds(&w), after, utc);
		if (u) {
			*next = u;
			return 0;
		}
		if (++w.mi > 59)
			next_hour(&w);
	}
	return -1;
}

int cron_next(const cron_t *c, const char *tz, time_t after, time_t *next)
{
	bool utc = !tz || !strcmp(tz, "UTC") || !strcmp(tz, "Etc/UTC");
	if (utc)
		return next_in_zone(c, after, true, next);
	if (!cron_tz_valid(tz))
		return -1;
	const char *old = getenv("TZ");
	char *saved = old ? strdup(old) : NULL;
	setenv("TZ", tz, 1);
	tzset();
	int rc = next_in_zone(c, after, false, next);
	if (saved) {
		setenv("TZ", saved, 1);
		free(saved);
	} else {
		unsetenv("TZ");
	}
	tzset();
	return rc;
}
