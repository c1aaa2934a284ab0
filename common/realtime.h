/*
 * realtime.h - publishing events to realtime subscribers (WebSocket and
 * Server-Sent Events through nginx's nchan module).
 *
 * The outbox fan-out job calls realtime_publish_event() once per event;
 * this side decides which channels of the tenant the event belongs to
 * (objects:<type_id>, files, files:<folder>, …) and the message format
 * (documented in the README).
 */
#ifndef TESSERA_REALTIME_H
#define TESSERA_REALTIME_H

#include <stddef.h>

#include <cJSON.h>

#include "arena.h"

/*
 * Publishes one outbox event of tenant_id.  event is an object with the
 * members "id" (evt_…), "event" (e.g. "object.created"), "resource_type",
 * "resource_id", "data" (the outbox payload) and "created_at" (RFC 3339).
 * Returns 0, or -1 with a message in err when the publisher could not be
 * reached (the caller retries the whole event: delivery is at least once).
 */
int realtime_publish_event(arena_t *a, const char *tenant_id, const cJSON *event, char *err, size_t errlen);

#endif
