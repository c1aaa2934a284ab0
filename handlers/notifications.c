/*
 * notifications.c - in-app notifications of end users and their channel
 * preferences (/v1/auth/notifications…), and notify_user(), the one
 * helper other features call to tell a user something.
 *
 * The endpoints act for the calling end user (the token's sub).  An API
 * key with the auth scope (or *) may act for any user of its tenant by
 * naming it in ?user_id=.  A notification's `type` is its category
 * (e.g. "security", "account"); preferences decide per channel (in_app,
 * email, sms, push) whether a category is delivered there.
 *
 * Notifications are a resource on the engine (fcgi/resource.h), scoped to
 * that user: its list, and marking one read as an update.  Counting,
 * marking all read and the per-channel preferences (rows keyed by user and
 * channel) are actions of their own.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/codec.h"
#include "../common/ids.h"
#include "../common/jsonx.h"
#include "../common/mailer.h"
#include "../common/rowjson.h"
#include "audit.h"
#include "identity.h"
#include "identity_admin.h"
#include "objmodel.h"
#include "replies.h"
#include "routes.h"

#define LIST_DEFAULT 20
#define LIST_MAX 100
#define CATEGORIES_MAX 50

static const char *const channels[] = { "in_app", "email", "sms", "push", NULL };
#define NCHANNELS 4

/* What a channel carries when the user never set it: everything in the
 * app, security notices by email, nothing by SMS or push. */
static const struct {
	bool enabled;
	const char *categories;    /* JSON */
} channel_defaults[NCHANNELS] = {
	{ true, "[]" }, { true, "[\"security\"]" }, { false, "[]" }, { false, "[]" },
};

static int channel_index(const char *c)
{
	for (int i = 0; c && i < NCHANNELS; i++)
		if (!strcmp(channels[i], c))
			return i;
	return -1;
}

static bool category_ok(const char *s)
{
	size_t n = strlen(s);
	return n >= 1 && n <= 64 && strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_.-") == n;
}

/* The user the request acts for: the end user, or ?user_id= for a key
 * with the auth scope or an admin user.  The user must exist. */
static err_t target_user(req_t *r, const char **uid)
{
	const char *q = req_query(r, "user_id");
	if (r->who.kind == PRINCIPAL_USER && (req_end_user(r) || !q || !*q)) {
		if (q && strcmp(q, r->who.user_id))
			return req_fail(r, E_FORBIDDEN, "End users can only see their own notifications");
		*uid = r->who.user_id;
	} else {
		if (!(r->who.scopes & (SCOPE_AUTH | SCOPE_ALL)))
			return req_fail(r, E_INSUFFICIENT_SCOPE,
					"Acting for a user needs an end-user token or a key with the \"auth\" scope");
		if (!q || !*q)
			return req_fail_field(r, E_VALIDATION, "user_id",
					      "user_id (query) is required when an API key acts for a user");
		*uid = q;
	}
	return user_require(r, *uid, NULL);
}

/* --- notifications --------------------------------------------------------- */

static const res_field_t ntf_fields[] = {
	{ .name = "id", .type = COL_STR },
	{ .name = "user_id", .type = COL_STR },
	{ .name = "type", .type = COL_STR, .flags = RF_FILTER },
	{ .name = "title", .type = COL_STR },
	{ .name = "body", .type = COL_STR },
	{ .name = "is_read", .type = COL_BOOL },
	{ .name = "metadata", .type = COL_JSON },
	{ .name = "read_at", .type = COL_TIME },
	{ .name = "created_at", .type = COL_TIME },
	{ NULL },
};

/* Every operation acts for the target user (c->data). */
static err_t ntf_user(req_t *r, res_ctx_t *c)
{
	const char *uid;
	err_t rc = target_user(r, &uid);
	c->data = (void *)uid;
	return rc;
}

static const char *ntf_scope(req_t *r, const res_ctx_t *c, db_param *p, int *np)
{
	(void)r;
	p[(*np)++] = db_str(c->data);
	return "user_id = ?";
}

/* ?unread_only=true lists the unread ones. */
static err_t ntf_list(req_t *r, res_ctx_t *c)
{
	const char *unread = req_query(r, "unread_only");
	if (unread && strcmp(unread, "true") && strcmp(unread, "false"))
		return req_fail_field(r, E_VALIDATION, "unread_only", "unread_only must be true or false");
	if (unread && !strcmp(unread, "true"))
		query_and(r, c->list, "is_read = 0");
	return E_OK;
}

/* The update marks one read: read_at keeps the first time. */
static err_t ntf_mark_read(req_t *r, res_ctx_t *c)
{
	(void)r;
	resource_set_expr(c, "is_read", "1", NULL, 0);
	resource_set_expr(c, "read_at", "COALESCE(read_at, UTC_TIMESTAMP(3))", NULL, 0);
	return E_OK;
}

static err_t ntf_read_reply(req_t *r, res_ctx_t *c)
{
	return reply_done(r, "read", "id", c->id, NULL);
}

static const res_hooks_t ntf_hooks = {
	.parent = ntf_user,
	.scope = ntf_scope,
	.list = ntf_list,
	.validate = ntf_mark_read,
	.reply = ntf_read_reply,
};

/* Newest first, {results, next_cursor, total}; written by notify_user. */
static const resource_t ntf_res = {
	.name = "Notification",
	.type = "notification",
	.table = "_notifications",
	.home = RES_TENANT,
	.id_param = "notification_id",
	.id_prefix = "ntf_",
	.fields = ntf_fields,
	.order = "id DESC",
	.flags = RES_NO_AUDIT | RES_NO_TIMES | RES_LIST_TOTAL,
	.list_default = LIST_DEFAULT,
	.list_max = LIST_MAX,
	.list_shape = LIST_CURSOR,
	.list_key = "results",
	.hooks = &ntf_hooks,
};

/* Runs sql (one %s for the table, one ? for the user) for the target
 * user and answers {name: n}: the count it selects, or the rows it changed. */
static err_t user_number(req_t *r, const char *sql, const char *name, bool changed)
{
	const char *uid;
	err_t rc = target_user(r, &uid);
	if (rc)
		return rc;
	db_param p[] = { db_str(uid) };
	db_result *res;
	enum db_status st = db_exec(r->db, r->a, arena_printf(r->a, sql, tenant_table(r, "_notifications")),
				    p, 1, &res);
	if (st)
		return req_db_error(r, st);
	cJSON *d = cJSON_CreateObject();
	cJSON_AddNumberToObject(d, name, changed ? (double)res->affected
						 : (double)strtoll(db_cell(res, 0, 0), NULL, 10));
	reply_data(r, 200, d);
	return E_OK;
}

static err_t notifications_count(req_t *r)
{
	return user_number(r, "SELECT COUNT(*) FROM %s WHERE user_id = ? AND is_read = 0", "count", false);
}

static err_t notifications_read(req_t *r)
{
	return resource_op(r, &ntf_res, OP_UPDATE);
}

static err_t notifications_read_all(req_t *r)
{
	return user_number(r, "UPDATE %s SET is_read = 1, read_at = UTC_TIMESTAMP(3) "
			   "WHERE user_id = ? AND is_read = 0", "updated", true);
}

/* --- preferences ------------------------------------------------------------ */

static const field_t notification_pref_body[] = {
	{ "channel", FT_STRING, FF_REQUIRED, 1, 16, channels },
	{ "enabled", FT_BOOL, 0, 0, 0 },
	{ "categories", FT_STRING_ARRAY, 0, 0, CATEGORIES_MAX },
	{ NULL, 0, 0, 0, 0 },
};

/* The four channels' preferences of uid, stored or default, as an array
 * in channels[] order. */
static err_t prefs_load(req_t *r, const char *uid, cJSON **out)
{
	db_param p[] = { db_str(uid) };
	db_result *res;
	enum db_status st = db_exec(r->db, r->a, arena_printf(r->a,
		"SELECT channel, enabled, categories FROM %s WHERE user_id = ?",
		tenant_table(r, "_notification_prefs")), p, 1, &res);
	if (st)
		return req_db_error(r, st);
	cJSON *list = req_own(r, cJSON_CreateArray());
	for (int i = 0; i < NCHANNELS; i++) {
		bool enabled = channel_defaults[i].enabled;
		const char *cats = channel_defaults[i].categories;
		for (int k = 0; k < res->nrows; k++) {
			if (!strcmp(db_get(res, k, "channel"), channels[i])) {
				enabled = db_get_int(res, k, "enabled", 0) != 0;
				cats = db_get(res, k, "categories");
			}
		}
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "channel", channels[i]);
		cJSON_AddBoolToObject(o, "enabled", enabled);
		cJSON *c = cJSON_Parse(cats);
		cJSON_AddItemToObject(o, "categories", c ? c : cJSON_CreateArray());
		cJSON_AddItemToArray(list, o);
	}
	*out = list;
	return E_OK;
}

/* Whether pref (one channel) carries category. */
static bool pref_carries(const cJSON *pref, const char *category)
{
	if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(pref, "enabled")))
		return false;
	const cJSON *cats = cJSON_GetObjectItemCaseSensitive(pref, "categories");
	if (cJSON_GetArraySize(cats) == 0)
		return true;
	const cJSON *it;
	cJSON_ArrayForEach(it, cats)
		if (cJSON_IsString(it) && !strcmp(it->valuestring, category))
			return true;
	return false;
}

static err_t notification_prefs_get(req_t *r)
{
	const char *uid;
	cJSON *list;
	err_t rc;
	if ((rc = target_user(r, &uid)) || (rc = prefs_load(r, uid, &list)))
		return rc;
	reply_data(r, 200, cJSON_Duplicate(list, true));
	return E_OK;
}

static err_t notification_prefs_put(req_t *r)
{
	const char *uid, *channel = json_str_of(r->json, "channel");
	err_t rc = one_of_or_reply(r, "channel", channel, channels);
	if (rc)
		return rc;
	const cJSON *cats = cJSON_GetObjectItemCaseSensitive(r->json, "categories");
	int i = 0;
	const cJSON *it;
	cJSON_ArrayForEach(it, cats) {
		if (!category_ok(it->valuestring))
			return req_fail_field(r, E_VALIDATION, arena_printf(r->a, "categories[%d]", i),
					      "a category is 1 to 64 of a-z 0-9 _ . -");
		i++;
	}
	cJSON *list;
	if ((rc = target_user(r, &uid)) || (rc = prefs_load(r, uid, &list)))
		return rc;
	cJSON *cur = cJSON_GetArrayItem(list, channel_index(channel));
	const cJSON *en = cJSON_GetObjectItemCaseSensitive(r->json, "enabled");
	bool enabled = en ? cJSON_IsTrue(en) : cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(cur, "enabled"));
	const cJSON *newcats = cats ? cats : cJSON_GetObjectItemCaseSensitive(cur, "categories");
	db_param p[] = { db_str(uid), db_str(channel), db_int(enabled), db_str(req_json_text(r, newcats)) };
	enum db_status st = db_exec(r->db, r->a, arena_printf(r->a,
		"INSERT INTO %s (user_id, channel, enabled, categories, updated_at) "
		"VALUES (?, ?, ?, ?, UTC_TIMESTAMP(3)) ON DUPLICATE KEY UPDATE enabled = VALUES(enabled), "
		"categories = VALUES(categories), updated_at = VALUES(updated_at)",
		tenant_table(r, "_notification_prefs")), p, 4, NULL);
	if (st)
		return req_db_error(r, st);
	cJSON *d = cJSON_CreateObject();
	cJSON_AddTrueToObject(d, "updated");
	cJSON_AddStringToObject(d, "channel", channel);
	cJSON_AddBoolToObject(d, "enabled", enabled);
	cJSON_AddItemToObject(d, "categories", cJSON_Duplicate(newcats, true));
	reply_data(r, 200, d);
	return E_OK;
}

static err_t notification_prefs_delete(req_t *r)
{
	const char *uid, *channel = req_param(r, "channel");
	err_t rc = one_of_or_reply(r, "channel", channel, channels);
	if (rc || (rc = target_user(r, &uid)))
		return rc;
	db_param p[] = { db_str(uid), db_str(channel) };
	db_result *res;
	enum db_status st = db_exec(r->db, r->a, arena_printf(r->a,
		"DELETE FROM %s WHERE user_id = ? AND channel = ?", tenant_table(r, "_notification_prefs")),
		p, 2, &res);
	if (st)
		return req_db_error(r, st);
	if (res->affected == 0)
		return req_fail(r, E_NOT_FOUND, "No preference is stored for this channel");
	return reply_done(r, "deleted", "channel", channel, NULL);
}

/* --- notify_user ------------------------------------------------------------ */

err_t notify_user(req_t *r, const char *user_id, const char *category, const char *title,
		  const char *body, const cJSON *data)
{
	if (!category_ok(category) || !title || !*title || strlen(title) > 500)
		return req_fail(r, E_VALIDATION, "A notification needs a category and a title of 1 to 500 characters");
	db_param up[] = { db_str(user_id) };
	db_result *u;
	enum db_status st = db_exec(r->db, r->a, arena_printf(r->a,
		"SELECT email, phone FROM %s WHERE id = ?", tenant_table(r, "_users")), up, 1, &u);
	if (st)
		return req_db_error(r, st);
	if (u->nrows == 0)
		return req_fail(r, E_NOT_FOUND, "User not found");
	cJSON *prefs;
	err_t rc = prefs_load(r, user_id, &prefs);
	if (rc)
		return rc;
	if (pref_carries(cJSON_GetArrayItem(prefs, 0), category)) {
		char id[40];
		id_new(id, sizeof(id), "ntf_");
		db_param p[] = { db_str(id), db_str(user_id), db_str(category), db_str(title), db_str(body),
				 db_str(data ? req_json_text(r, data) : NULL) };
		st = db_exec(r->db, r->a, arena_printf(r->a,
			"INSERT INTO %s (id, user_id, type, title, body, metadata, created_at) "
			"VALUES (?, ?, ?, ?, ?, ?, UTC_TIMESTAMP(3))", tenant_table(r, "_notifications")), p, 6, NULL);
		if (st)
			return req_db_error(r, st);
	}
	const char *email = db_get(u, 0, "email"), *phone = db_get(u, 0, "phone");
	if (email && pref_carries(cJSON_GetArrayItem(prefs, 1), category)) {
		const char *from_name;
		char *html;
		if ((rc = mail_branded(r, title, body ? body : title, email, &from_name, &html)))
			return rc;
		cJSON *to = req_own(r, cJSON_CreateArray());
		cJSON_AddItemToArray(to, cJSON_CreateString(email));
		if ((rc = mail_enqueue(r, to, NULL, from_name, NULL, title, body ? body : title, html, NULL)))
			return rc;
	}
	/* A stored number that is not E.164 cannot be texted: skipped, not an
	 * error for whatever notified the user. */
	if (phone && phone_e164_valid(phone) && pref_carries(cJSON_GetArrayItem(prefs, 2), category)) {
		char *text = arena_printf(r->a, "%s%s%.1400s", title, body ? ": " : "", body ? body : "");
		if ((rc = auth_send_sms(r, phone, text)))
			return rc;
	}
	/* push: the preference is kept for client apps; Tessera sends no push. */
	return E_OK;
}

/* The endpoints this file serves; routes.c assembles the table from
 * every file's rows. */
const route_t notifications_routes[] = {
	ROUTE("DELETE", "/v1/auth/notifications/preferences/:channel", "Notifications", AUTH_BEARER, "", "none", R_USER, notification_prefs_delete, NULL, "Delete notification preference"),
	ROUTE("GET", "/v1/auth/notifications/preferences", "Notifications", AUTH_BEARER, "", "none", R_USER, notification_prefs_get, NULL, "Get notification preferences"),
	ROUTE("PUT", "/v1/auth/notifications/preferences", "Notifications", AUTH_BEARER, "", "none", R_USER, notification_prefs_put, notification_pref_body, "Update notification preferences"),
	CRUD("GET", "/v1/auth/notifications", "Notifications", "", "none", R_USER, ntf_res, OP_LIST, "List notifications"),
	ROUTE("POST", "/v1/auth/notifications/read-all", "Notifications", AUTH_BEARER, "", "none", R_USER, notifications_read_all, NULL, "Mark all as read"),
	ROUTE("PATCH", "/v1/auth/notifications/:notification_id/read", "Notifications", AUTH_BEARER, "", "none", R_USER, notifications_read, NULL, "Mark notification read"),
	ROUTE("GET", "/v1/auth/notifications/count", "Notifications", AUTH_BEARER, "", "none", R_USER, notifications_count, NULL, "Get unread count"),
	ROUTES_END,
};
