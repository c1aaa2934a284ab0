/*
 * timefmt.h - RFC 3339 UTC times ("2026-01-02T03:04:05Z"), as the API speaks.
 */
#ifndef TESSERA_TIMEFMT_H
#define TESSERA_TIMEFMT_H

#include <stdbool.h>
#include <time.h>

#define RFC3339_LEN 32

/* Formats t as RFC 3339 UTC with Z into out (size >= RFC3339_LEN). */
char *time_rfc3339(char *out, time_t t);
/* Parses RFC 3339 (Z or ±hh:mm offset, optional fraction).  0 or -1. */
int time_parse_rfc3339(const char *s, time_t *out);
/* Converts MariaDB "YYYY-MM-DD HH:MM:SS[.fff]" (UTC) to RFC 3339 with Z. */
char *time_from_sql(char *out, const char *sql);
/* Milliseconds since the epoch. */
long long time_now_ms(void);

#endif
