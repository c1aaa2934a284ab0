/*
 * events.h - what other handlers call of events.c.
 */
#ifndef TESSERA_EVENTS_H
#define TESSERA_EVENTS_H

#include "../fcgi/request.h"

/* POST /v1/events: tracks the custom event of the body {event_type,
 * data} (automations' publish_event action runs it too). */
err_t events_track(req_t *r);

#endif
