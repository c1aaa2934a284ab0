/*
 * journal.h - what a write leaves behind besides its rows, in the same
 * transaction: the audit entry and the outbox event.  The resource engine
 * and every hand-written action record their changes through these two.
 */
#ifndef TESSERA_JOURNAL_H
#define TESSERA_JOURNAL_H

#include <cJSON.h>

#include "request.h"

/*
 * Records action (e.g. "api_key.created") on resource_type/resource_id by the
 * request's principal, in the request's open transaction if there is one.
 * details (not consumed) may be NULL; it must never hold secrets.
 */
err_t req_audit(req_t *r, const char *action, const char *resource_type,
		const char *resource_id, const cJSON *details);

/* Writes an outbox event in the current transaction (payload not
 * consumed), and the same event, under the same id, into the tenant's
 * _events (its feed, GET /v1/events/list); the fan-out is woken at
 * commit, or now without one. */
err_t outbox_add(req_t *r, const char *event, const char *resource_type,
		 const char *resource_id, const cJSON *payload);

#endif
