/*
 * channels.h - publishing events to realtime subscribers (WebSocket and
 * Server-Sent Events through nginx's nchan module).
 *
 * The outbox fan-out job calls channels_publish_event() once per event;
 * this side decides which channels of the tenant the event belongs to
 * (objects:<type_id>, files, files:<folder>, …) and the message format
 * (documented in the README).
 */
#ifndef TESSERA_CHANNELS_H
#define TESSERA_CHANNELS_H

#include <stdbool.h>
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
int channels_publish_event(arena_t *a, const char *tenant_id, const cJSON *event, char *err, size_t errlen);

/* Most channels one event goes to, and one connection may subscribe to. */
#define RT_EVENT_CHANNELS_MAX 4
#define RT_CONN_CHANNELS_MAX 100
/* Messages above this size are sent without their "data" (data_omitted). */
#define RT_MESSAGE_MAX (256 * 1024)

/*
 * The channels event belongs to, at most RT_EVENT_CHANNELS_MAX, into chans
 * (strings in a):  objects:<object_type_id> for object.* and comment.*
 * events (association.* go to both ends' types), files and
 * files:<folder> for file.*, events for custom events (resource_type
 * "custom_event" or "event").  Returns how many (0: not a realtime event).
 */
int channels_of_event(arena_t *a, const cJSON *event, const char **chans);

/*
 * True if name is a well-formed channel name: "objects:" and a type id or
 * name ([A-Za-z0-9_], 1-64), "files", "files:" and a folder (letters,
 * digits and _ . - /, 1-128, no empty, "." or ".." segment, no leading or
 * trailing /), or "events".  Never empty, never a comma.
 */
bool channel_name_valid(const char *name);

/*
 * Control channels tie a realtime connection to what authorised it.  Every
 * connection also subscribes to its tenant's control channel and to its
 * credential's (key:<key id>, or user:<user id> and sess:<session id>);
 * nothing is ever published there.  Deleting one on the publisher makes
 * nchan close every connection that subscribed to it, which is how a
 * revoked key or session, a banned user or a suspended tenant loses its
 * open streams.  Client channel names never start with the prefix.
 */
#define RT_CONTROL_PREFIX "_ctl:"

/* The control channel _ctl:<kind>[:<id>] in a; NULL when id is not 1-100
 * of letters, digits, '_' and '-'. */
char *channels_control(arena_t *a, const char *kind, const char *id);

/*
 * Closes every realtime connection of tenant_id subscribed to control
 * channel kind/id (channels_control()): called after the revocation has
 * been committed.  Failures are logged, not returned: the revocation
 * stands either way.  Nothing happens when realtime is off.
 */
void channels_close(arena_t *a, const char *tenant_id, const char *kind, const char *id);

/* The message one subscriber of chan receives for event (JSON text in a). */
char *channels_message(arena_t *a, const cJSON *event, const char *chan);

#endif
