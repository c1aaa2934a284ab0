/*
 * events.c - custom events (POST /v1/events, GET /v1/events/list) and the
 * event vocabulary (GET /events/types).
 *
 * A custom event is stored in the tenant's _events table and written to
 * the outbox as "custom.<event_type>" in the same transaction, so it fans
 * out like every other event: webhooks subscribed to "custom.<event_type>",
 * "custom.*" or "*" receive it, with the event's data as "data".  End users
 * may track events and list their own; API keys list them all.
 */
#include <string.h>

#include "../common/ids.h"
#include "../common/jsonx.h"
#include "../common/rowjson.h"
#include "../fcgi/fanout.h"
#include "objmodel.h"
#include "replies.h"
#include "routes.h"

#define EVENT_DATA_MAX 65536

const field_t event_track_body[] = {
	{ "event_type", FT_STRING, FF_REQUIRED, 1, 256 },
	{ "data", FT_OBJECT, FF_NULLABLE, 0, 0 },
	{ NULL, 0, 0, 0, 0 },
};

static const col_t event_cols[] = {
	{ "id", COL_STR, 0 },
	{ "event_type", COL_STR, 0 },
	{ "data", COL_JSON, 0 },
	{ "actor_type", COL_STR, 0 },
	{ "actor_id", COL_STR, 0 },
	{ "created_at", COL_TIME, 0 },
	{ NULL, 0, 0 },
};

err_t events_types(req_t *r)
{
	cJSON *list = cJSON_CreateArray();
	for (const char *const *t = event_types; *t; t++)
		cJSON_AddItemToArray(list, cJSON_CreateString(*t));
	reply_data(r, 200, list);
	return E_OK;
}

err_t events_track(req_t *r)
{
	const char *type = json_str_of(r->json, "event_type");
	if (!event_custom_name_valid(type))
		return req_fail_field(r, E_VALIDATION, "event_type",
				      "event_type must start with a letter and hold only letters, digits "
				      "and _ . : - (at most %d characters)", EVENT_CUSTOM_NAME_MAX);
	const cJSON *data = cJSON_GetObjectItemCaseSensitive(r->json, "data");
	cJSON *exact = req_own(r, cJSON_IsObject(data) ? cJSON_Duplicate(data, true) : cJSON_CreateObject());
	json_exact_numbers(exact);
	char *text = req_json_text(r, exact);
	if (strlen(text) > EVENT_DATA_MAX)
		return req_fail_field(r, E_PAYLOAD_TOO_LARGE, "data",
				      "data must be at most %d bytes of JSON", EVENT_DATA_MAX);
	char id[40];
	id_new(id, sizeof(id), "cev_");
	bool user = r->who.kind == PRINCIPAL_USER;
	db_param p[] = { db_str(id), db_str(type), db_str(text), db_str(user ? "user" : "api_key"),
			 db_str(user ? r->who.user_id : r->who.key_id) };
	enum db_status st = db_begin(r->db);
	if (st)
		return req_db_error(r, st);
	st = db_exec(r->db, r->a, arena_printf(r->a,
		"INSERT INTO %s (id, event_type, data, actor_type, actor_id, created_at) "
		"VALUES (?, ?, ?, ?, ?, UTC_TIMESTAMP(3))", tenant_table(r, "_events")), p, 5, NULL);
	err_t rc = st ? req_db_error(r, st) : E_OK;
	if (!rc)
		rc = outbox_add(r, arena_printf(r->a, EVENT_CUSTOM_PREFIX "%s", type), "custom_event", id,
				exact);
	if ((rc = req_tx_end(r, rc)))
		return rc;
	return reply_done(r, "tracked", "id", id, "event_type", type, NULL);
}

/* Newest first; ?event_type= (or ?type=) filters.  End users see their own. */
err_t events_list(req_t *r)
{
	page_t pg;
	err_t rc = page_read(r, 20, 100, &pg);
	if (rc)
		return rc;
	const char *type = req_query(r, "event_type");
	if (!type)
		type = req_query(r, "type");
	const char *actor = r->who.kind == PRINCIPAL_USER ? r->who.user_id : NULL;
	db_param p[] = { db_str(type), db_str(type), db_str(actor), db_str(actor) };
	return page_reply(r, &pg, "events", event_cols, tenant_table(r, "_events"),
			  "WHERE (? IS NULL OR event_type = ?) AND (? IS NULL OR "
			  "(actor_type = 'user' AND actor_id = ?))", p, 4, "id DESC");
}

/* The endpoints this file serves; routes.c assembles the table from
 * every file's rows. */
const route_t events_routes[] = {
	ROUTE("GET", "/events/types", "Events", AUTH_BEARER, "read", "events:read", R_USER, events_types, NULL, "List available event types"),
	ROUTE("POST", "/v1/events", "Events", AUTH_BEARER, "write", "events:publish", R_USER, events_track, event_track_body, "Track custom event"),
	ROUTE("GET", "/v1/events/list", "Events", AUTH_BEARER, "read", "events:read", R_USER, events_list, NULL, "List custom events"),
	ROUTES_END,
};
