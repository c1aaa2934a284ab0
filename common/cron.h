/*
 * cron.h - five-field cron expressions and their next occurrence in a
 * time zone.
 *
 * Fields: minute (0-59), hour (0-23), day of month (1-31), month (1-12 or
 * jan-dec), day of week (0-7 or sun-sat, 0 and 7 both Sunday).  Each field
 * is a comma-separated list of `*`, a value, a range `a-b`, each optionally
 * stepped (`*\/15`, `1-31/2`, `5/10` = from 5 to the end by 10).  Also the
 * shorthands @yearly (@annually), @monthly, @weekly, @daily (@midnight)
 * and @hourly.  When both day fields are restricted (neither is `*`), a
 * day matches if either does, as in Vixie cron and croniter.
 *
 * Next occurrences are computed on the wall clock of an IANA time zone:
 * a time the clock skips when daylight saving starts runs at the moment
 * the clock jumps; a time the clock passes twice when it ends runs once,
 * at its first occurrence.
 */
#ifndef TESSERA_CRON_H
#define TESSERA_CRON_H

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>
#include <time.h>

typedef struct cron {
	uint64_t minutes;     /* bit n: minute n */
	uint32_t hours;       /* bit n: hour n */
	uint32_t days;        /* bit n: day of month n (1-31) */
	uint16_t months;      /* bit n: month n (1-12) */
	uint8_t weekdays;     /* bit n: weekday n (0 Sunday - 6) */
	bool days_star;       /* the day-of-month field was `*` */
	bool weekdays_star;   /* the day-of-week field was `*` */
} cron_t;

/* Parses expr into *out.  0, or -1 with a message naming the problem in
 * err ("minute: 61 is out of range 0-59"). */
int cron_parse(const char *expr, cron_t *out, char *err, size_t errlen);

/* True if tz names a time zone of the system's database ("UTC",
 * "Europe/Berlin"). */
bool cron_tz_valid(const char *tz);

/* The first occurrence of c strictly after `after` (seconds since the
 * epoch), on the wall clock of tz (NULL: UTC), in *next.  0, or -1 when
 * there is none within five years (30 February) or tz is unknown. */
int cron_next(const cron_t *c, const char *tz, time_t after, time_t *next);

#endif
