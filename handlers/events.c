/*
 * events.c - the tenant's event feed (GET /v1/events/list), custom events
 * (POST /v1/events) and the event catalogue (GET /events/types).
 *
 * Every change writes its event to the outbox and, in the same
 * transaction and under the same id, to the tenant's _events table
 * (outbox_add in fcgi/journal.c): the outbox row is the fan-out's work
 * item and goes once processed, the _events row is the feed, kept for the
 * tenant's audit_retention_days.  A custom event is one more event,
 * "custom.<event_type>", about the resource "custom_event" cev_…; it fans
 * out like every other (webhooks subscribed to "custom.<event_type>",
 * "custom.*" or "*").
 *
 * The feed shows an API key the groups its scopes cover (file events need
 * files, user events auth, everything else read; * sees all); an end user
 * sees only the custom events they tracked.
 */
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../common/ids.h"
#include "../common/jsonx.h"
#include "../common/rowjson.h"
#include "../fcgi/fanout.h"
#include "../fcgi/journal.h"
#include "../fcgi/query.h"
#include "events.h"
#include "replies.h"
#include "routes.h"

#define EVENT_DATA_MAX 65536
#define FEED_DEFAULT 20
#define FEED_MAX 100

const field_t event_track_body[] = {
	{ "event_type", FT_STRING, FF_REQUIRED, 1, 256 },
	{ "data", FT_OBJECT, FF_NULLABLE, 0, 0 },
	{ NULL, 0, 0, 0, 0 },
};

/* --- the catalogue -------------------------------------------------------- */

/*
 * Every type Tessera emits, with the resource it names and an example of
 * its data (what webhooks receive as "data" and the feed lists).  The
 * subscribable names come from fanout.c's event_types; the events suite
 * checks that each of them is documented here.
 */
static const struct event_doc {
	const char *type, *resource_type, *description, *example;
} event_docs[] = {
#define OBJ "\"object_type_id\":\"ot_01JD8Z3Q4XK6N2M5T7V9W1Y3A4\",\"object_type\":\"contacts\"," \
	    "\"object_id\":\"obj_01JD8Z4B6C8E0G2J4L6N8Q0S2U\""
	{ "object.created", "object", "An object was created (also by an import).",
	  "{" OBJ ",\"object\":{\"id\":\"obj_01JD8Z4B6C8E0G2J4L6N8Q0S2U\",\"properties\":{\"name\":\"Ada\","
	  "\"score\":42},\"version\":1,\"created_by\":\"key_01JD8Z2M0P2R4T6V8X0Z2B4D6F\","
	  "\"created_at\":\"2026-11-29T20:52:29.120Z\",\"updated_at\":\"2026-11-29T20:52:29.120Z\"}}" },
	{ "object.updated", "object", "An object's properties changed; data holds the properties "
	  "given and the new version.",
	  "{" OBJ ",\"object\":{\"properties\":{\"score\":43},\"version\":2}}" },
	{ "object.deleted", "object", "An object was moved to the trash, or deleted for good "
	  "(permanent).", "{" OBJ ",\"object\":{\"permanent\":false}}" },
	{ "object.restored", "object", "An object was taken out of the trash.", "{" OBJ "}" },
#undef OBJ
#define ASSOC "{\"id\":\"assoc_01JD8Z5N7R9T1V3X5Z7B9D1F3H\",\"from_type\":\"contacts\"," \
	      "\"from_type_id\":\"ot_01JD8Z3Q4XK6N2M5T7V9W1Y3A4\",\"from_id\":\"obj_01JD8Z4B6C8E0G2J4L6N8Q0S2U\"," \
	      "\"association_type\":\"works_at\",\"to_type\":\"companies\"," \
	      "\"to_type_id\":\"ot_01JD8Z3R5YL7P3N6V8W0X2Z4B5\",\"to_id\":\"obj_01JD8Z4C7D9F1H3K5M7P9R1T3V\"," \
	      "\"meta\":{\"since\":2019},\"created_at\":\"2026-11-29T20:53:01.004Z\"," \
	      "\"updated_at\":\"2026-11-29T20:53:01.004Z\"}"
	{ "association.created", "association", "Two objects were associated.", ASSOC },
	{ "association.updated", "association", "An association's meta changed.", ASSOC },
	{ "association.deleted", "association", "An association was removed.", ASSOC },
#undef ASSOC
#define COMMENT "{\"id\":\"cmt_01JD8Z6A2C4E6G8J0L2N4Q6S8U\",\"object_type_id\":\"ot_01JD8Z3Q4XK6N2M5T7V9W1Y3A4\"," \
		"\"object_id\":\"obj_01JD8Z4B6C8E0G2J4L6N8Q0S2U\",\"author_id\":\"usr_01JD8Z1K9M1P3R5T7V9X1Z3B5D\"," \
		"\"body\":\"Called back, interested.\",\"created_at\":\"2026-11-29T20:54:12.500Z\"," \
		"\"updated_at\":\"2026-11-29T20:54:12.500Z\"}"
	{ "comment.created", "comment", "A comment was added to an object.", COMMENT },
	{ "comment.updated", "comment", "A comment's body changed.", COMMENT },
	{ "comment.deleted", "comment", "A comment was removed.", COMMENT },
#undef COMMENT
#define FILE_ "{\"id\":\"file_01JD8Z7D5F7H9K1M3P5R7T9V1X\",\"filename\":\"contract.pdf\"," \
	      "\"mime_type\":\"application/pdf\",\"category\":\"document\",\"size_bytes\":48213," \
	      "\"checksum_sha256\":\"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08\"," \
	      "\"access\":\"private\",\"status\":\"ready\",\"folder\":\"contracts\",\"meta\":{}," \
	      "\"object_type_id\":null,\"object_id\":null,\"version\":1," \
	      "\"created_by\":\"key_01JD8Z2M0P2R4T6V8X0Z2B4D6F\",\"created_at\":\"2026-11-29T20:55:40.000Z\"," \
	      "\"updated_at\":\"2026-11-29T20:55:40.000Z\",\"is_deleted\":false,\"deleted_at\":null}"
	{ "file.uploaded", "file", "A file's bytes arrived (direct upload, or a presigned upload "
	  "completed).", FILE_ },
	{ "file.updated", "file", "A file's metadata or access changed, or a new version was "
	  "uploaded.", FILE_ },
	{ "file.deleted", "file", "A file was moved to the trash or deleted.", FILE_ },
#undef FILE_
#define USER "\"id\":\"usr_01JD8Z1K9M1P3R5T7V9X1Z3B5D\",\"email\":\"ada@example.com\",\"phone\":null," \
	     "\"role\":\"authenticated\",\"is_anonymous\":false,\"email_verified\":true," \
	     "\"email_verified_at\":\"2026-11-29T20:50:00.000Z\",\"phone_verified\":false," \
	     "\"phone_verified_at\":null,\"user_metadata\":{\"plan\":\"pro\"},\"app_metadata\":{}," \
	     "\"banned\":false,\"banned_at\":null,\"ban_reason\":null," \
	     "\"last_sign_in_at\":\"2026-11-29T20:51:00.000Z\",\"created_at\":\"2026-11-29T20:50:00.000Z\"," \
	     "\"updated_at\":\"2026-11-29T20:51:00.000Z\""
	{ "user.created", "user", "An end user signed up or was created by an administrator.",
	  "{" USER "}" },
	{ "user.updated", "user", "An end user changed (profile, email, password, ban, role).",
	  "{" USER "}" },
	{ "user.deleted", "user", "An end user was deleted.", "{" USER "}" },
	{ "user.signed_in", "user", "A new session began (password, magic link, SMS code, MFA, "
	  "anonymous sign-in); not sent on refresh.",
	  "{" USER ",\"session_id\":\"sess_01JD8Z8F8H0K2M4P6R8T0V2X4Z\",\"aal\":\"aal1\",\"amr\":\"password\"}" },
#undef USER
#define REVIEW "\"object_type_id\":\"ot_01JD8Z1K9M1P3R5T7V9X1Z3B5D\",\"object_type\":\"invoices\"," \
	       "\"object_id\":\"obj_01JD8Z1K9M1P3R5T7V9X1Z3B5E\",\"workflow_id\":\"wf_01JD8Z1K9M1P3R5T7V9X1Z3B5F\"," \
	       "\"review_id\":\"rev_01JD8Z1K9M1P3R5T7V9X1Z3B5G\",\"actor\":\"usr_01JD8Z1K9M1P3R5T7V9X1Z3B5H\""
	{ "workflow.submitted", "object", "An object was submitted for review (stage 1 of its "
	  "type's workflow).", "{" REVIEW ",\"stage\":\"Manager\",\"stage_index\":0}" },
	{ "workflow.approved", "object", "An approver approved an object at its stage; final is true "
	  "when that approved the whole review.", "{" REVIEW ",\"stage\":\"Finance\",\"stage_index\":1,"
	  "\"comment\":\"ok\",\"approvals\":1,\"required\":1,\"final\":true}" },
	{ "workflow.stage_advanced", "object", "A stage had enough approvals and the review moved "
	  "to the next.", "{" REVIEW ",\"stage\":\"Finance\",\"stage_index\":1}" },
	{ "workflow.rejected", "object", "An approver rejected an object; the review ended.",
	  "{" REVIEW ",\"stage\":\"Manager\",\"stage_index\":0,\"reason\":\"Missing receipt\"}" },
#undef REVIEW
	{ "custom.<event_type>", "custom_event", "An event the tenant tracked with POST /v1/events; "
	  "data is the event's data.", "{\"plan\":\"pro\",\"amount_cents\":4900}" },
	{ "webhook.disabled", "webhook", "A webhook was disabled: every delivery failed for "
	  "webhook_disable_after_s (cause failing), or its receiver answered 410 Gone (cause gone).",
	  "{\"webhook_id\":\"wh_01JD8Z9G9J1L3N5Q7S9U1W3Y5A\",\"url\":\"https://example.com/hooks\","
	  "\"cause\":\"failing\",\"disabled_reason\":\"Every delivery failed for 5 days\","
	  "\"failing_since\":\"2026-01-01T00:00:00.000Z\"}" },
	{ "webhook.test", "webhook", "Sent by POST /v1/webhooks/:id/test to that webhook only; "
	  "cannot be subscribed to and is not in the feed.",
	  "{\"webhook_id\":\"wh_01JD8Z9G9J1L3N5Q7S9U1W3Y5A\",\"message\":\"This is a test event from Tessera.\"}" },
	{ NULL, NULL, NULL, NULL },
};

/* GET /events/types: the subscribable names (the reference's shape), or
 * with ?details=true every type with its resource, description and an
 * example of its data. */
err_t events_types(req_t *r)
{
	const char *details = req_query(r, "details");
	if (details && strcmp(details, "true") && strcmp(details, "false"))
		return req_fail_field(r, E_VALIDATION, "details", "details must be true or false");
	cJSON *list = cJSON_CreateArray();
	if (!details || !strcmp(details, "false")) {
		for (const char *const *t = event_types; *t; t++)
			cJSON_AddItemToArray(list, cJSON_CreateString(*t));
		reply_data(r, 200, list);
		return E_OK;
	}
	for (const struct event_doc *d = event_docs; d->type; d++) {
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "type", d->type);
		cJSON_AddStringToObject(o, "resource_type", d->resource_type);
		cJSON_AddStringToObject(o, "description", d->description);
		cJSON_AddBoolToObject(o, "subscribable", strcmp(d->type, "webhook.test") != 0);
		cJSON_AddBoolToObject(o, "in_feed", strcmp(d->type, "webhook.test") != 0);
		cJSON *ex = cJSON_Parse(d->example);
		cJSON_AddItemToObject(o, "example", ex ? ex : cJSON_CreateObject());
		cJSON_AddItemToArray(list, o);
	}
	reply_data(r, 200, list);
	return E_OK;
}

/* --- exact numbers in custom event data ---------------------------------- */

/* A decimal value: sign, significant digits without leading or trailing
 * zeros (none for zero), and the power of ten of the last digit. */
struct dec {
	bool neg;
	char digits[48];
	size_t n;
	long exp;
};

/* Reads the JSON number text s[0..len) into *d; false when it has more
 * significant digits than a double could ever hold, or a huge exponent. */
static bool dec_read(const char *s, size_t len, struct dec *d)
{
	size_t i = 0;
	*d = (struct dec){ 0 };
	d->neg = i < len && s[i] == '-';
	i += d->neg;
	for (bool frac = false; i < len; i++) {
		if (s[i] == '.' && !frac) {
			frac = true;
			continue;
		}
		if (!isdigit((unsigned char)s[i]))
			break;
		d->exp -= frac;
		if (d->n == 0 && s[i] == '0')
			continue;
		if (d->n == sizeof(d->digits))
			return false;
		d->digits[d->n++] = s[i];
	}
	if (i < len && (s[i] == 'e' || s[i] == 'E')) {
		long e = strtol(s + i + 1, NULL, 10);
		if (labs(e) > 100000)
			return false;
		d->exp += e;
	}
	while (d->n && d->digits[d->n - 1] == '0') {
		d->n--;
		d->exp++;
	}
	if (!d->n)
		*d = (struct dec){ 0 };
	return true;
}

/* True if the number text s[0..len) names exactly the value a 64-bit
 * float keeps of it, so that storing, listing and delivering it (which
 * parse it into a double) give back the same number. */
static bool number_exact(arena_t *a, const char *s, size_t len)
{
	char *text = arena_strndup(a, s, len);
	double v = strtod(text, NULL);
	if (!isfinite(v))
		return false;
	char kept[40];
	json_number_text(kept, sizeof(kept), v);
	struct dec want, got;
	return dec_read(s, len, &want) && dec_read(kept, strlen(kept), &got) &&
	       want.neg == got.neg && want.n == got.n && want.exp == got.exp &&
	       !memcmp(want.digits, got.digits, want.n);
}

/* The next number of the JSON text at *at (strings skipped), its length
 * in *len; NULL when there is none. */
static const char *number_next(const char **at, const char *end, size_t *len)
{
	for (const char *p = *at; p < end; p++) {
		if (*p == '"') {
			for (p++; p < end && *p != '"'; p++)
				p += *p == '\\';
			continue;
		}
		if (*p == '-' || isdigit((unsigned char)*p)) {
			const char *q = p;
			while (q < end && strchr("+-0123456789.eE", *q))
				q++;
			*len = (size_t)(q - p);
			*at = q;
			return p;
		}
	}
	*at = end;
	return NULL;
}

struct number_walk {
	req_t *r;
	const char *at, *end;
	const char *bad;       /* path of the first inexact number under data */
};

/* Visits the numbers of v in document order, which is the order of their
 * texts in the body, and checks those under data. */
static void numbers_walk(struct number_walk *w, const cJSON *v, const char *path, bool in_data)
{
	if (cJSON_IsNumber(v)) {
		size_t len = 0;
		const char *text = number_next(&w->at, w->end, &len);
		if (text && in_data && !w->bad && !number_exact(w->r->a, text, len))
			w->bad = path;
		return;
	}
	int i = 0;
	for (const cJSON *c = v->child; c; c = c->next, i++) {
		const char *sub = cJSON_IsArray(v) ? arena_printf(w->r->a, "%s[%d]", path, i) :
				  *path ? arena_printf(w->r->a, "%s.%s", path, c->string) : c->string;
		numbers_walk(w, c, sub, in_data || (!*path && !strcmp(c->string, "data")));
	}
}

/* 400 naming data.<path> when a number of the event's data cannot be kept
 * exactly (9007199254740993, 1e400, 0.1000000000000000000001). */
static err_t data_numbers_check(req_t *r)
{
	if (!r->body || !r->json)
		return E_OK;
	struct number_walk w = { r, r->body, r->body + r->body_len, NULL };
	numbers_walk(&w, r->json, "", false);
	if (!w.bad)
		return E_OK;
	return req_fail_field(r, E_VALIDATION, w.bad,
			      "%s cannot be kept exactly: numbers must be exact 64-bit floats "
			      "(integers within ±9007199254740991); send larger values as strings", w.bad);
}

/* --- custom events ---------------------------------------------------------- */

err_t events_track(req_t *r)
{
	const char *type = json_str_of(r->json, "event_type");
	if (!event_custom_name_valid(type))
		return req_fail_field(r, E_VALIDATION, "event_type",
				      "event_type must start with a letter and hold only letters, digits "
				      "and _ . : - (at most %d characters)", EVENT_CUSTOM_NAME_MAX);
	err_t rc = data_numbers_check(r);
	if (rc)
		return rc;
	const cJSON *data = cJSON_GetObjectItemCaseSensitive(r->json, "data");
	cJSON *exact = req_own(r, cJSON_IsObject(data) ? cJSON_Duplicate(data, true) : cJSON_CreateObject());
	json_exact_numbers(exact);
	if (strlen(req_json_text(r, exact)) > EVENT_DATA_MAX)
		return req_fail_field(r, E_PAYLOAD_TOO_LARGE, "data",
				      "data must be at most %d bytes of JSON", EVENT_DATA_MAX);
	char id[40];
	id_new(id, sizeof(id), "cev_");
	enum db_status st = db_begin(r->db);
	if (st)
		return req_db_error(r, st);
	rc = outbox_add(r, arena_printf(r->a, EVENT_CUSTOM_PREFIX "%s", type), "custom_event", id, exact);
	if ((rc = req_tx_end(r, rc)))
		return rc;
	return reply_done(r, "tracked", "id", id, "event_type", type, NULL);
}

/* --- the feed ------------------------------------------------------------------ */

static const col_t feed_cols[] = {
	{ "id", COL_STR, 0 },
	{ "type", COL_STR, 0 },
	{ "event_type", COL_STR, 0 },
	{ "resource_type", COL_STR, 0 },
	{ "resource_id", COL_STR, 0 },
	{ "data", COL_JSON, 0 },
	{ "actor_type", COL_STR, 0 },
	{ "actor_id", COL_STR, 0 },
	{ "created_at", COL_TIME, 0 },
	{ NULL, 0, 0 },
};

/* event_type: as POST /v1/events took it (the name without "custom."),
 * the full type for the others. */
#define FEED_SELECT "id, event_type AS type, IF(event_type LIKE 'custom.%%', " \
		    "SUBSTRING(event_type, 8), event_type) AS event_type, resource_type, " \
		    "resource_id, data, actor_type, actor_id, created_at"

/* ?type=: an exact type (object.created, custom.signup), a group by its
 * prefix (object.*, custom.order.*), or * (everything). */
static err_t feed_type_filter(req_t *r, query_t *q)
{
	const char *type = req_query(r, "type");
	if (!type || !strcmp(type, "*"))
		return E_OK;
	size_t n = strlen(type);
	if (n > 2 && !strcmp(type + n - 2, ".*")) {
		char *prefix = arena_strndup(r->a, type, n - 1);
		if (!event_custom_name_valid(arena_strndup(r->a, type, n - 2)))
			return req_fail_field(r, E_VALIDATION, "type",
					      "type must be an event type, a prefix such as object.* or *");
		query_and_bind(r, q, "event_type LIKE ?", db_str(query_like_pattern(r->a, prefix, false)));
		return E_OK;
	}
	if (!event_subscription_valid(type))
		return req_fail_field(r, E_VALIDATION, "type",
				      "type must be an event type (GET /events/types), a prefix such as "
				      "object.* or *");
	query_and_bind(r, q, "event_type = ?", db_str(type));
	return E_OK;
}

/* Who sees what: an end user their own custom events; an API key the
 * groups its scopes cover. */
static void feed_visibility(req_t *r, query_t *q)
{
	static const struct { const char *cond; unsigned scope; } guarded[] = {
		{ "event_type NOT LIKE 'file.%'", SCOPE_FILES },
		{ "event_type NOT LIKE 'user.%'", SCOPE_AUTH },
	};
	if (req_end_user(r)) {
		query_and(r, q, "event_type LIKE 'custom.%' AND actor_type = 'user'");
		query_and_bind(r, q, "actor_id = ?", db_str(r->who.user_id));
		return;
	}
	for (size_t i = 0; i < sizeof(guarded) / sizeof(guarded[0]); i++)
		if (!(r->who.scopes & (guarded[i].scope | SCOPE_ALL)))
			query_and(r, q, guarded[i].cond);
}

/* The feed's conditions from the query string. */
static err_t feed_query(req_t *r, query_t *q)
{
	query_init(r, q, "1 = 1");
	const char *name = req_query(r, "event_type");
	if (name) {
		if (!event_custom_name_valid(name))
			return req_fail_field(r, E_VALIDATION, "event_type",
					      "event_type must be a custom event's name");
		query_and_bind(r, q, "event_type = ?",
			       db_str(arena_printf(r->a, EVENT_CUSTOM_PREFIX "%s", name)));
	}
	err_t rc = feed_type_filter(r, q);
	if (!rc)
		rc = query_created_filters(r, q);
	if (!rc)
		feed_visibility(r, q);
	return rc;
}

/* The page's reply under the reference's key: {events, next_cursor,
 * total, limit, offset}. */
static cJSON *feed_page(req_t *r, const db_result *res, const page_t *pg, long long total)
{
	cJSON *d = query_id_page(r, res, pg->limit, total, "events", "evt_", query_row_cols, feed_cols);
	cJSON_AddItemToObject(d, "events", cJSON_DetachItemFromObjectCaseSensitive(d, "results"));
	cJSON_AddNumberToObject(d, "limit", (double)pg->limit);
	cJSON_AddNumberToObject(d, "offset", (double)pg->offset);
	return d;
}

/* GET /v1/events/list: newest first, ?cursor= (or ?offset=) pages. */
err_t events_list(req_t *r)
{
	page_t pg;
	query_t q;
	const char *last;
	err_t rc = page_read(r, FEED_DEFAULT, FEED_MAX, &pg);
	if (rc || (rc = query_id_cursor(r, "events", "evt_", &last)) || (rc = feed_query(r, &q)))
		return rc;
	const char *table = tenant_table(r, "_events");
	long long total;
	if ((rc = query_count(r, table, &q, &total)))
		return rc;
	if (last)
		query_and_bind(r, &q, "id < ?", db_str(last));
	query_bind(r, &q, db_int(pg.limit + 1));
	query_bind(r, &q, db_int(pg.offset));
	db_result *res;
	enum db_status st = db_exec(r->db, r->a, arena_printf(r->a,
		"SELECT " FEED_SELECT " FROM %s WHERE %s ORDER BY id DESC LIMIT ? OFFSET ?", table,
		q.sql), q.p, q.np, &res);
	if (st)
		return req_db_error(r, st);
	reply_data(r, 200, feed_page(r, res, &pg, total));
	return E_OK;
}

/* The endpoints this file serves; routes.c assembles the table from
 * every file's rows. */
const route_t events_routes[] = {
	ROUTE("GET", "/events/types", "Events", AUTH_BEARER, "read", "events:read", R_USER, events_types, NULL, "List available event types"),
	ROUTE("POST", "/v1/events", "Events", AUTH_BEARER, "write", "events:publish", R_USER, events_track, event_track_body, "Track custom event"),
	ROUTE("GET", "/v1/events/list", "Events", AUTH_BEARER, "read", "events:read", R_USER, events_list, NULL, "List custom events"),
	ROUTES_END,
};
