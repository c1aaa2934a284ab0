/*
 * realtime.c - publishing to nchan.  Placeholder until the realtime work
 * lands: publishes nothing.
 */
#include "realtime.h"

int realtime_publish_event(arena_t *a, const char *tenant_id, const cJSON *event, char *err, size_t errlen)
{
	(void)a;
	(void)tenant_id;
	(void)event;
	(void)err;
	(void)errlen;
	return 0;
}
