/*
 * usage.c - the per-request usage counter (see usage.h).
 */
#include "usage.h"

#include <stdio.h>
#include <time.h>

void usage_count_request(cache_t *c, const char *tenant_id, const char *group, int status)
{
	char key[96], member[128];
	struct tm tm;
	time_t now = time(NULL);
	gmtime_r(&now, &tm);
	int cls = status >= 100 && status < 600 ? status / 100 : 5;
	snprintf(key, sizeof(key), USAGE_KEY_REQ, tenant_id);
	snprintf(member, sizeof(member), "%04d%02d%02d%02d|%s|%dxx", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, group ? group : USAGE_GROUP_NONE, cls);
	const char *argv[] = { "HINCRBY", key, member, "1" };
	(void)cache_send(c, 4, argv);
}
