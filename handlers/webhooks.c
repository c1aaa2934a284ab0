/*
 * webhooks.c - webhook endpoints (create, list, update, delete, rotate the
 * secret, test, replay) and their delivery log (list, retry one).
 *
 * Webhooks live in the tenant DB (_webhooks, _webhook_deliveries) and are a
 * descriptor on the resource engine (fcgi/resource.h) with hooks for what
 * is special: the signing secret is made on create, shown then and on
 * rotate only, and stored sealed under the master key; object types are
 * named by id or name and stored as ids; a webhook with deliveries is
 * deleted only with confirmation (securedel) and takes its delivery log
 * with it.  Custom headers are stored as one sealed JSON object (their
 * names also in clear, so that lists show them with masked values); a
 * rate_limit caps deliveries per second (the runner defers the rest);
 * failing_since is the start of the current run of failed deliveries,
 * which disables the webhook when it lasts too long (fcgi/webhook_send.c)
 * and which a status set by hand ends.  Event deliveries are made by the
 * jobs runner (fcgi/fanout.c
 * enqueues them, fcgi/webhook_send.c sends them); test and replay send
 * synchronously through the same code and report what the receiver
 * answered.  Every change is audited.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "../common/config.h"
#include "../common/crypto.h"
#include "../common/ids.h"
#include "../common/jsonx.h"
#include "../common/outhttp.h"
#include "../common/rowjson.h"
#include "../fcgi/securedel.h"
#include "../common/timefmt.h"
#include "../fcgi/fanout.h"
#include "../fcgi/jobs.h"
#include "../fcgi/query.h"
#include "../fcgi/webhook_send.h"
#include "audit.h"
#include "objmodel.h"
#include "replies.h"
#include "routes.h"

#define MAX_EVENTS 50
#define MAX_TYPES 100

static const field_t webhook_replay_body[] = {
	{ "event", FT_STRING, FF_REQUIRED, 1, 128 },
	{ "payload", FT_OBJECT, FF_NULLABLE, 0, 0 },
	{ NULL, 0, 0, 0, 0 },
};

static const char *deliveries_table(req_t *r)
{
	return tenant_table(r, "_webhook_deliveries");
}

/* --- field checks (shape is checked by the schema) ----------------------- */

static err_t check_url(req_t *r, const res_field_t *f, const cJSON *url)
{
	(void)f;
	char err[200];
	if (outhttp_url_check(url->valuestring, g_config.http_allow_private, err, sizeof(err)))
		return req_fail_field(r, E_VALIDATION, "url", "%s", err);
	return E_OK;
}

static err_t check_events(req_t *r, const res_field_t *f, const cJSON *events)
{
	(void)f;
	if (cJSON_GetArraySize(events) == 0)
		return req_fail_field(r, E_VALIDATION, "events", "events must name at least one event type");
	const cJSON *e;
	cJSON_ArrayForEach(e, events)
		if (!event_subscription_valid(e->valuestring))
			return req_fail_field(r, E_VALIDATION, "events",
					      "unknown event type \"%.64s\" (GET /events/types lists them; "
					      "custom events are \"custom.<event_type>\")", e->valuestring);
	return E_OK;
}

static const char *const statuses[] = { "active", "paused", "disabled", NULL };

/* What lists show of a custom header's value. */
#define HEADER_MASK "********"

/* Custom headers: at most WEBHOOK_HEADERS_MAX, names that are HTTP tokens
 * and not set by the delivery itself, each once (whatever the case),
 * string values of at most WEBHOOK_HEADER_VALUE_MAX bytes with no control
 * characters but tab. */
static err_t check_headers(req_t *r, const res_field_t *f, const cJSON *headers)
{
	(void)f;
	if (cJSON_GetArraySize(headers) > WEBHOOK_HEADERS_MAX)
		return req_fail_field(r, E_VALIDATION, "headers", "headers holds at most %d headers",
				      WEBHOOK_HEADERS_MAX);
	const cJSON *h;
	cJSON_ArrayForEach(h, headers) {
		if (!wh_header_name_ok(h->string))
			return req_fail_field(r, E_VALIDATION, "headers",
					      "\"%.64s\" cannot be a custom header: names are HTTP tokens "
					      "of at most 64 characters, and webhook-id, webhook-timestamp, "
					      "webhook-signature, content-type, content-length, host and "
					      "user-agent are set by Tessera", h->string);
		for (const cJSON *g = headers->child; g != h; g = g->next)
			if (!strcasecmp(g->string, h->string))
				return req_fail_field(r, E_VALIDATION, "headers",
						      "header \"%.64s\" is given twice", h->string);
		if (!cJSON_IsString(h))
			return req_fail_field(r, E_VALIDATION, "headers",
					      "the value of header \"%.64s\" must be a string", h->string);
		size_t n = strlen(h->valuestring);
		if (n > WEBHOOK_HEADER_VALUE_MAX)
			return req_fail_field(r, E_VALIDATION, "headers",
					      "the value of header \"%.64s\" is longer than %d bytes",
					      h->string, WEBHOOK_HEADER_VALUE_MAX);
		for (size_t i = 0; i < n; i++) {
			unsigned char ch = (unsigned char)h->valuestring[i];
			if ((ch < 0x20 && ch != '\t') || ch == 0x7f)
				return req_fail_field(r, E_VALIDATION, "headers",
						      "the value of header \"%.64s\" holds a control "
						      "character (CR, LF, …)", h->string);
		}
	}
	return E_OK;
}

#define WEBHOOK_OLD_SECRET_LIVE \
	"CASE WHEN old_secret_expires_at > UTC_TIMESTAMP(3) THEN old_secret_expires_at END"

static const res_field_t webhook_fields[] = {
	{ .name = "id", .type = COL_STR },
	{ .name = "url", .type = COL_STR, .in = FT_STRING, .flags = RF_WRITABLE | RF_REQUIRED,
	  .min = 1, .max = 2048, .check = check_url },
	{ .name = "events", .type = COL_JSON, .in = FT_STRING_ARRAY, .flags = RF_WRITABLE | RF_REQUIRED,
	  .max = MAX_EVENTS, .check = check_events },
	{ .name = "object_types", .type = COL_JSON, .in = FT_STRING_ARRAY,
	  .flags = RF_WRITABLE | RF_NULLABLE, .max = MAX_TYPES },
	{ .name = "status", .type = COL_STR, .in = FT_STRING, .flags = RF_WRITABLE, .min = 1, .max = 16,
	  .values = statuses },
	{ .name = "disabled_reason", .type = COL_STR },
	{ .name = "headers", .type = COL_JSON, .in = FT_OBJECT, .flags = RF_WRITABLE | RF_NULLABLE,
	  .check = check_headers },
	{ .name = "rate_limit", .type = COL_INT, .in = FT_INT, .flags = RF_WRITABLE | RF_NULLABLE,
	  .min = 1, .max = WEBHOOK_RATE_MAX },
	{ .name = "failing_since", .type = COL_TIME },
	{ .name = "previous_secret_expires_at", .column = WEBHOOK_OLD_SECRET_LIVE, .type = COL_TIME,
	  .flags = RF_EXPR },
	{ .name = "created_by", .type = COL_STR },
	{ .name = "created_at", .type = COL_TIME },
	{ .name = "updated_at", .type = COL_TIME },
	{ NULL },
};

/* --- hooks ---------------------------------------------------------------- */

/* Sets object_types to the ids of the types named (by id or name) in
 * types; NULL for null or an empty list. */
static err_t set_types(req_t *r, res_ctx_t *c, const cJSON *types)
{
	cJSON *ids = req_own(r, cJSON_CreateArray());
	const cJSON *t;
	cJSON_ArrayForEach(t, types) {
		objtype_t *ot;
		err_t rc = objtype_load(r, t->valuestring, &ot);
		if (rc == E_NOT_FOUND)
			return req_fail_field(r, E_VALIDATION, "object_types",
					      "object type \"%.64s\" does not exist", t->valuestring);
		if (rc)
			return rc;
		cJSON_AddItemToArray(ids, cJSON_CreateString(ot->id));
	}
	resource_set(c, "object_types",
		     db_str(cJSON_GetArraySize(ids) ? req_json_text(r, ids) : NULL));
	return E_OK;
}

static char *seal(req_t *r, const char *secret)
{
	return secret_seal(r->a, g_config.master_key_bin, secret, strlen(secret));
}

/* The custom headers of the body: their names in clear, names and values
 * sealed; null or {} removes them all. */
static void set_headers(req_t *r, res_ctx_t *c)
{
	const cJSON *headers = cJSON_GetObjectItemCaseSensitive(c->body, "headers");
	if (!headers)
		return;
	if (!cJSON_IsObject(headers) || cJSON_GetArraySize(headers) == 0) {
		resource_set(c, "headers", db_null());
		resource_set(c, "headers_enc", db_null());
		return;
	}
	cJSON *names = req_own(r, cJSON_CreateArray());
	const cJSON *h;
	cJSON_ArrayForEach(h, headers)
		cJSON_AddItemToArray(names, cJSON_CreateString(h->string));
	resource_set(c, "headers", db_str(req_json_text(r, names)));
	resource_set(c, "headers_enc", db_str(seal(r, req_json_text(r, headers))));
}

/* Create and update: object types stored as ids; a status set by hand
 * clears why the webhook was disabled; a new webhook gets its secret
 * (c->data keeps it for the reply, the row keeps it sealed). */
static err_t webhook_validate(req_t *r, res_ctx_t *c)
{
	const cJSON *types = cJSON_GetObjectItemCaseSensitive(c->body, "object_types");
	const char *status = json_str_of(c->body, "status");
	err_t rc;
	if (types && (rc = set_types(r, c, types)))
		return rc;
	/* Set after object_types, so that the audit's list of the fields
	 * changed keeps the order url, events, object_types, status. */
	if (status) {
		resource_set(c, "status", db_str(status));
		resource_set(c, "disabled_reason", db_null());
		resource_set(c, "failing_since", db_null());
	}
	set_headers(r, c);
	if (c->op != OP_CREATE)
		return E_OK;
	char *secret = wh_secret_new(r->a);
	resource_set(c, "secret_enc", db_str(seal(r, secret)));
	c->data = secret;
	c->audit = req_own(r, cJSON_CreateObject());
	cJSON_AddStringToObject(c->audit, "url", json_str_of(c->body, "url"));
	return E_OK;
}

/* A webhook with deliveries goes only with confirmation (secure delete). */
static err_t webhook_before_delete(req_t *r, res_ctx_t *c)
{
	db_param p[] = { db_str(c->id) };
	db_result *res;
	enum db_status st = db_exec(r->db, r->a, arena_printf(r->a,
		"SELECT COUNT(*) FROM %s WHERE webhook_id = ?", deliveries_table(r)), p, 1, &res);
	if (st)
		return req_db_error(r, st);
	dependency_t deps[] = { { "webhook_deliveries", "Webhook deliveries",
				  strtoll(db_cell(res, 0, 0), NULL, 10) } };
	err_t rc = securedel_check(r, "webhook", c->id, deps, 1, &c->cascade);
	if (rc)
		return rc;
	c->audit = req_own(r, cJSON_CreateObject());
	cJSON_AddStringToObject(c->audit, "url", json_str_of(c->before, "url"));
	cJSON_AddBoolToObject(c->audit, "cascade", c->cascade);
	return E_OK;
}

/* The delivery log goes with its webhook, deliveries recorded since the
 * check included. */
static err_t webhook_after_write(req_t *r, res_ctx_t *c)
{
	if (c->op != OP_DELETE)
		return E_OK;
	db_param p[] = { db_str(c->id) };
	enum db_status st = db_exec(r->db, r->a, arena_printf(r->a,
		"DELETE FROM %s WHERE webhook_id = ?", deliveries_table(r)), p, 1, NULL);
	return st ? req_db_error(r, st) : E_OK;
}

/* A secret just made (create, rotate: c->data) is shown this once. */
static err_t webhook_reply(req_t *r, res_ctx_t *c)
{
	if (!c->data)
		return resource_reply_default(r, c);
	cJSON *d = cJSON_Duplicate(c->row, true);
	cJSON_AddStringToObject(d, "secret", c->data);
	reply_data(r, c->status, d);
	return E_OK;
}

/* Custom headers show their names, never their values. */
static err_t webhook_render(req_t *r, res_ctx_t *c, cJSON *row)
{
	(void)r;
	(void)c;
	const cJSON *names = cJSON_GetObjectItemCaseSensitive(row, "headers");
	cJSON *masked = cJSON_CreateObject();
	const cJSON *n;
	cJSON_ArrayForEach(n, names)
		if (cJSON_IsString(n))
			cJSON_AddStringToObject(masked, n->valuestring, HEADER_MASK);
	if (!cJSON_ReplaceItemInObjectCaseSensitive(row, "headers", masked))
		cJSON_AddItemToObject(row, "headers", masked);
	return E_OK;
}

static const res_hooks_t webhook_hooks = {
	.validate = webhook_validate,
	.render = webhook_render,
	.before_delete = webhook_before_delete,
	.after_write = webhook_after_write,
	.reply = webhook_reply,
};

static const resource_t webhook_res = {
	.name = "Webhook",
	.type = "webhook",
	.table = "_webhooks",
	.home = RES_TENANT,
	.id_param = "webhook_id",
	.id_prefix = "wh_",
	.fields = webhook_fields,
	.order = "id",
	.del = DEL_ROW,
	.flags = RES_CREATED_BY,
	.list_max = 1000,
	.hooks = &webhook_hooks,
	.example = "{\"url\":\"http://127.0.0.1:9/hook\",\"events\":[\"object.created\"],"
		   "\"headers\":{\"Authorization\":\"Bearer abc\"},\"rate_limit\":10}",
};

/* --- rotating the secret --------------------------------------------------- */

/* The new secret takes over; the previous one keeps signing (as a second
 * signature) for WEBHOOK_OLD_SECRET_HOURS, so receivers can switch.  An
 * update on the engine, audited as webhook.secret_rotated (no details). */
static err_t webhooks_rotate_secret(req_t *r)
{
	res_ctx_t c;
	err_t rc = resource_ctx(r, &webhook_res, OP_UPDATE, &c);
	if (rc)
		return rc;
	char *secret = wh_secret_new(r->a);
	db_param hours = db_int(WEBHOOK_OLD_SECRET_HOURS);
	resource_set_expr(&c, "old_secret_enc", "secret_enc", NULL, 0);
	resource_set(&c, "secret_enc", db_str(seal(r, secret)));
	resource_set_expr(&c, "old_secret_expires_at", "UTC_TIMESTAMP(3) + INTERVAL ? HOUR", &hours,
			  1);
	c.data = secret;
	c.verb = "secret_rotated";
	c.audit = req_own(r, cJSON_CreateNull());
	return resource_run(r, &c);
}

/* --- sending now: test and replay ----------------------------------------- */

/* The webhook named in the path, with what sending needs. */
static err_t load_for_send(req_t *r, webhook_t *w)
{
	bool found;
	enum db_status st = wh_load(r->db, r->a, r->tenant.db_name, req_param(r, "webhook_id"), w,
				    &found);
	if (st)
		return req_db_error(r, st);
	if (!found)
		return req_fail(r, E_NOT_FOUND, "Webhook not found");
	return E_OK;
}

/* Sends event now and replies with what the receiver said. */
static err_t send_and_reply(req_t *r, const webhook_t *w, cJSON *event, const char *trigger)
{
	req_own(r, event);
	wh_outcome_t o;
	enum db_status st = wh_send(r->db, r->a, r->tenant.id, r->tenant.db_name, w, event, trigger, 1,
				   &o);
	if (st)
		return req_db_error(r, st);
	cJSON *d = cJSON_CreateObject();
	cJSON_AddNumberToObject(d, "status_code", (double)o.status_code);
	cJSON_AddBoolToObject(d, "success", o.succeeded);
	cJSON_AddNumberToObject(d, "duration_ms", (double)o.duration_ms);
	cJSON_AddStringToObject(d, "delivery_id", o.delivery_id);
	cJSON_AddStringToObject(d, "event_id", json_str_of(event, "id"));
	cJSON_AddStringToObject(d, "event_type", json_str_of(event, "type"));
	cJSON_AddItemToObject(d, "error",
			      o.error[0] ? cJSON_CreateString(o.error) : cJSON_CreateNull());
	cJSON_AddBoolToObject(d, "webhook_disabled", o.disabled);
	reply_data(r, 200, d);
	return E_OK;
}

/* A new event of type about resource rtype rid, made now. */
static cJSON *event_new(req_t *r, const char *type, const char *rtype, const char *rid,
			const cJSON *data)
{
	char eid[40], now[RFC3339_LEN];
	id_new(eid, sizeof(eid), "evt_");
	return event_json(eid, type, time_rfc3339(now, time(NULL)), r->tenant.id, rtype, rid, data);
}

static err_t webhooks_test(req_t *r)
{
	webhook_t w;
	err_t rc = load_for_send(r, &w);
	if (rc)
		return rc;
	const char *id = req_param(r, "webhook_id");
	cJSON *data = req_own(r, cJSON_CreateObject());
	cJSON_AddStringToObject(data, "webhook_id", id);
	cJSON_AddStringToObject(data, "message", "This is a test event from Tessera.");
	return send_and_reply(r, &w, event_new(r, "webhook.test", "webhook", id, data), "test");
}

/* The event evt_id as this webhook last received it, or else from the
 * outbox; NULL in *out when neither has it. */
static err_t stored_event(req_t *r, const char *wid, const char *evt_id, cJSON **out)
{
	*out = NULL;
	db_param p[] = { db_str(wid), db_str(evt_id) };
	db_result *res;
	enum db_status st = db_exec(r->db, r->a, arena_printf(r->a,
		"SELECT payload FROM %s WHERE webhook_id = ? AND event_id = ? ORDER BY id DESC LIMIT 1",
		deliveries_table(r)), p, 2, &res);
	if (st)
		return req_db_error(r, st);
	if (res->nrows) {
		*out = cJSON_Parse(db_cell(res, 0, 0));
		return E_OK;
	}
	db_param q[] = { db_str(r->tenant.id), db_str(evt_id) };
	st = db_exec(r->db, r->a, "SELECT id, event, resource_type, resource_id, payload, created_at "
		     "FROM outbox WHERE tenant_id = ? AND id = ?", q, 2, &res);
	if (st)
		return req_db_error(r, st);
	if (res->nrows) {
		cJSON *data = req_own(r, cJSON_Parse(db_get(res, 0, "payload")));
		char t[RFC3339_LEN + 8];
		*out = event_json(evt_id, db_get(res, 0, "event"), time_from_sql(t, db_get(res, 0, "created_at")),
				  r->tenant.id, db_get(res, 0, "resource_type"),
				  db_get(res, 0, "resource_id"), data);
	}
	return E_OK;
}

/*
 * {"event": "evt_…"} sends that event again (its data replaced by
 * "payload" when given); {"event": "<type>", "payload": {…}} sends a new
 * event of that type with payload as its data.
 */
static err_t webhooks_replay(req_t *r)
{
	webhook_t w;
	err_t rc = load_for_send(r, &w);
	if (rc)
		return rc;
	const char *id = req_param(r, "webhook_id"), *ev = json_str_of(r->json, "event");
	const cJSON *payload = cJSON_GetObjectItemCaseSensitive(r->json, "payload");
	cJSON *event;
	if (id_valid(ev, "evt_")) {
		if ((rc = stored_event(r, id, ev, &event)))
			return rc;
		if (!event)
			return req_fail_field(r, E_NOT_FOUND, "event", "No event %s for this webhook", ev);
		if (cJSON_IsObject(payload)) {
			cJSON_DeleteItemFromObjectCaseSensitive(event, "data");
			cJSON_AddItemToObject(event, "data", cJSON_Duplicate(payload, true));
		}
	} else {
		if (!event_subscription_valid(ev) || strchr(ev, '*'))
			return req_fail_field(r, E_VALIDATION, "event",
					      "event must be an event id (evt_…) or an event type such as "
					      "object.created or custom.<event_type>");
		event = event_new(r, ev, "replay", id, cJSON_IsObject(payload) ? payload : NULL);
	}
	return send_and_reply(r, &w, event, "replay");
}

/* --- deliveries ------------------------------------------------------------ */

static const col_t delivery_cols[] = {
	{ "id", COL_STR, 0 },
	{ "webhook_id", COL_STR, 0 },
	{ "event_id", COL_STR, 0 },
	{ "event_type", COL_STR, 0 },
	{ "trigger", COL_STR, 0 },
	{ "attempt", COL_INT, 0 },
	{ "status", COL_STR, 0 },
	{ "status_code", COL_INT, 0 },
	{ "duration_ms", COL_INT, 0 },
	{ "response_excerpt", COL_STR, 0 },
	{ "error", COL_STR, 0 },
	{ "created_at", COL_TIME, 0 },
	{ NULL, 0, 0 },
};

/* Newest first; optional filters webhook_id, status, event_type, event_id
 * and created_after / created_before (RFC 3339, as in the file search). */
static err_t deliveries_list(req_t *r)
{
	page_t pg;
	err_t rc = page_read(r, 20, 100, &pg);
	if (rc)
		return rc;
	const char *wid = req_query(r, "webhook_id"), *status = req_query(r, "status");
	const char *type = req_query(r, "event_type"), *evt = req_query(r, "event_id");
	if (status && strcmp(status, "succeeded") && strcmp(status, "failed"))
		return req_fail_field(r, E_VALIDATION, "status", "status must be succeeded or failed");
	if (evt && !id_valid(evt, "evt_"))
		return req_fail_field(r, E_VALIDATION, "event_id", "event_id must be an event id (evt_…)");
	db_param after, before;
	if ((rc = query_time_arg(r, "created_after", req_query(r, "created_after"),
				 "2026-01-31T12:00:00Z", &after)) ||
	    (rc = query_time_arg(r, "created_before", req_query(r, "created_before"),
				 "2026-01-31T12:00:00Z", &before)))
		return rc;
	db_param p[] = { db_str(wid), db_str(wid), db_str(status), db_str(status), db_str(type),
			 db_str(type), db_str(evt), db_str(evt), after, after, before, before };
	return page_reply(r, &pg, "deliveries", delivery_cols, deliveries_table(r),
			  "WHERE (? IS NULL OR webhook_id = ?) AND (? IS NULL OR status = ?) "
			  "AND (? IS NULL OR event_type = ?) AND (? IS NULL OR event_id = ?) "
			  "AND (? IS NULL OR created_at > ?) AND (? IS NULL OR created_at < ?)",
			  p, 12, "id DESC");
}

/* Sends the delivery's event again through the runner, as a new job with
 * the usual retries. */
static err_t deliveries_retry(req_t *r)
{
	const char *id = req_param(r, "delivery_id");
	db_param p[] = { db_str(id) };
	db_result *res;
	enum db_status st = db_exec(r->db, r->a, arena_printf(r->a,
		"SELECT d.webhook_id, d.payload, w.status FROM %s d LEFT JOIN %s w ON w.id = d.webhook_id "
		"WHERE d.id = ?", deliveries_table(r), resource_table(r, &webhook_res)), p, 1, &res);
	if (st)
		return req_db_error(r, st);
	if (res->nrows == 0)
		return req_fail(r, E_NOT_FOUND, "Webhook delivery not found");
	const char *status = db_get(res, 0, "status");
	if (!status)
		return req_fail(r, E_NOT_FOUND, "The webhook of this delivery was deleted");
	if (strcmp(status, "active") != 0)
		return req_fail(r, E_CONFLICT, "The webhook is %s; make it active to retry", status);
	cJSON *job = req_own(r, cJSON_CreateObject());
	cJSON_AddStringToObject(job, "webhook_id", db_get(res, 0, "webhook_id"));
	cJSON_AddStringToObject(job, "trigger", "retry");
	cJSON_AddItemToObject(job, "event", cJSON_Parse(db_get(res, 0, "payload")));
	char jid[40];
	if ((st = db_begin(r->db)))
		return req_db_error(r, st);
	st = jobs_enqueue(r->db, r->a, r->tenant.id, "webhook.deliver", job,
			  g_config.webhook_max_attempts, 0, jid);
	err_t rc = st ? req_db_error(r, st) : E_OK;
	if (!rc) {
		cJSON *details = req_own(r, cJSON_CreateObject());
		cJSON_AddStringToObject(details, "job_id", jid);
		rc = req_audit(r, "webhook_delivery.retried", "webhook_delivery", id, details);
	}
	if ((rc = req_tx_end(r, rc)))
		return rc;
	fanout_wake(r->cache);
	return reply_done(r, "retried", "delivery_id", id, "job_id", jid, NULL);
}

/* The endpoints this file serves; routes.c assembles the table from
 * every file's rows. */
const route_t webhooks_routes[] = {
	CRUD("GET", "/v1/webhooks", "Webhooks", "*", NULL, 0, webhook_res, OP_LIST, "List webhooks"),
	CRUD("POST", "/v1/webhooks", "Webhooks", "*", NULL, 0, webhook_res, OP_CREATE, "Create webhook"),
	CRUD("PATCH", "/v1/webhooks/:webhook_id", "Webhooks", "*", NULL, 0, webhook_res, OP_UPDATE, "Update webhook"),
	CRUD("DELETE", "/v1/webhooks/:webhook_id", "Webhooks", "*", NULL, 0, webhook_res, OP_DELETE, "Delete webhook"),
	ROUTE("POST", "/v1/webhooks/:webhook_id/replay", "Webhooks", AUTH_BEARER, "*", NULL, 0, webhooks_replay, webhook_replay_body, "Replay webhook"),
	ROUTE("POST", "/v1/webhooks/:webhook_id/rotate-secret", "Webhooks", AUTH_BEARER, "*", NULL, 0, webhooks_rotate_secret, NULL, "Rotate webhook secret"),
	ROUTE("POST", "/v1/webhooks/:webhook_id/test", "Webhooks", AUTH_BEARER, "*", NULL, 0, webhooks_test, NULL, "Test webhook"),
	ROUTE("GET", "/v1/webhook-deliveries", "Webhook Deliveries", AUTH_BEARER, "*", NULL, 0, deliveries_list, NULL, "List webhook deliveries"),
	ROUTE("POST", "/v1/webhook-deliveries/:delivery_id/retry", "Webhook Deliveries", AUTH_BEARER, "*", NULL, 0, deliveries_retry, NULL, "Retry webhook delivery"),
	ROUTES_END,
};
