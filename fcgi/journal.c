/*
 * journal.c - the audit entry and the outbox event of a write (journal.h).
 */
#include "journal.h"

#include "../common/ids.h"
#include "fanout.h"

/* Who made the change: "api_key", "user" or "system", and its id in *id. */
static const char *actor_of(const req_t *r, const char **id)
{
	*id = r->who.kind == PRINCIPAL_KEY ? r->who.key_id :
	      r->who.kind == PRINCIPAL_USER ? r->who.user_id : NULL;
	return r->who.kind == PRINCIPAL_KEY ? "api_key" :
	       r->who.kind == PRINCIPAL_USER ? "user" : "system";
}

err_t req_audit(req_t *r, const char *action, const char *resource_type,
		const char *resource_id, const cJSON *details)
{
	char id[40];
	id_new(id, sizeof(id), "aud_");
	char *dj = NULL;
	if (details) {
		char *s = cJSON_PrintUnformatted(details);
		dj = arena_strdup(r->a, s ? s : "null");
		cJSON_free(s);
	}
	const char *actor_id, *actor_type = actor_of(r, &actor_id);
	db_param p[] = {
		db_str(id), db_str(r->tenant.id), db_str(actor_type), db_str(actor_id),
		db_str(action), db_str(resource_type), db_str(resource_id), db_str(dj),
		db_str(r->remote_addr), db_str(r->request_id),
	};
	enum db_status st = db_exec(r->db, r->a,
		"INSERT INTO audit_logs (id, tenant_id, actor_type, actor_id, action, resource_type, "
		"resource_id, details, ip_address, request_id, created_at) "
		"VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, UTC_TIMESTAMP(3))", p, 10, NULL);
	return st ? req_db_error(r, st) : E_OK;
}

/* The tenant's copy of the event, for its feed (GET /v1/events/list): the
 * outbox row is the fan-out's and is deleted once processed. */
static enum db_status feed_add(req_t *r, const char *id, const char *event,
			       const char *resource_type, const char *resource_id, const char *payload)
{
	const char *actor_id, *actor_type = actor_of(r, &actor_id);
	db_param p[] = { db_str(id), db_str(event), db_str(resource_type), db_str(resource_id),
			 db_str(payload), db_str(actor_type), db_str(actor_id) };
	return db_exec_deferred(r->db, r->a, arena_printf(r->a,
		"INSERT INTO %s (id, event_type, resource_type, resource_id, data, actor_type, actor_id, "
		"created_at) VALUES (?, ?, ?, ?, ?, ?, ?, UTC_TIMESTAMP(3))", tenant_table(r, "_events")),
		p, 7);
}

err_t outbox_add(req_t *r, const char *event, const char *resource_type,
		 const char *resource_id, const cJSON *payload)
{
	char id[40];
	id_new(id, sizeof(id), "evt_");
	char *pj = cJSON_PrintUnformatted(payload);
	char *copy = arena_strdup(r->a, pj ? pj : "{}");
	cJSON_free(pj);
	db_param p[] = { db_str(id), db_str(r->tenant.id), db_str(event), db_str(resource_type),
			 db_str(resource_id), db_str(copy), db_int(r->chain_depth) };
	/* Both rows are sent with the transaction's COMMIT (or its next
	 * statement), one round trip for the three. */
	enum db_status st = db_exec_deferred(r->db, r->a,
		"INSERT INTO outbox (id, tenant_id, event, resource_type, resource_id, payload, "
		"chain_depth, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, UTC_TIMESTAMP(3))", p, 7);
	if (!st)
		st = feed_add(r, id, event, resource_type, resource_id, copy);
	if (st)
		return req_db_error(r, st);
	/* Wake the fan-out once the event is visible: now, or at commit. */
	if (db_in_transaction(r->db))
		r->outbox_pending = true;
	else
		fanout_wake(r->cache);
	return E_OK;
}
