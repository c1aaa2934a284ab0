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
 * No endpoint here is plain CRUD for the resource engine: the list's data
 * carries a total, which the engine's cursor lists do not; marking read,
 * counting and the per-channel preferences are actions of their own.
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
#include "query.h"
#include "routes.h"

#define LIST_DEFAULT 20
#define LIST_MAX 100
#define CATEGORIES_MAX 50

static const char *const channels[] = { "in_app", "email", "sms", "push" };
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
 * with the auth scope.  The user must exist. */
static err_t target_user(req_t *r, const char **uid)
{
	const char *q = req_query(r, "user_id");
	if (r->who.kind == PRINCIPAL_USER) {
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
	err_t rc = E_OK;
	int ex = user_exists(r, *uid, &rc);
	if (ex < 0)
		return rc;
	return ex ? E_OK : req_fail(r, E_NOT_FOUND, "User not found");
}

/* --- notifications --------------------------------------------------------- */

static const col_t ntf_cols[] = {
	{ "id", COL_STR, 0 },
	{ "user_id", COL_STR, 0 },
	{ "type", COL_STR, 0 },
	{ "title", COL_STR, 0 },
	{ "body", COL_STR, 0 },
	{ "is_read", COL_BOOL, 0 },
	{ "metadata", COL_JSON, 0 },
	{ "read_at", COL_TIME, 0 },
	{ "created_at", COL_TIME, 0 },
	{ NULL, 0, 0 },
};

#define NTF_COLS "id, user_id, type, title, body, is_read, metadata, read_at, created_at"

static err_t notifications_list(req_t *r)
{
	const char *uid, *last = NULL;
	long long limit;
	err_t rc;
	if ((rc = target_user(r, &uid)) ||
	    (rc = req_query_int(r, "limit", LIST_DEFAULT, 1, LIST_MAX, &limit)))
		return rc;
	const char *unread = req_query(r, "unread_only");
	if ((rc = query_id_cursor(r, NULL, "ntf_", &last)))
		return rc;
	if (unread && strcmp(unread, "true") && strcmp(unread, "false"))
		return req_fail_field(r, E_VALIDATION, "unread_only", "unread_only must be true or false");
	long long only = unread && !strcmp(unread, "true");
	const char *type = req_query(r, "type");
	db_param p[] = { db_str(uid), db_int(only), db_str(type), db_str(type), db_str(last), db_str(last),
			 db_int(limit + 1) };
	const char *where = "WHERE user_id = ? AND (? = 0 OR is_read = 0) AND (? IS NULL OR type = ?)";
	db_result *res, *cnt;
	enum db_status st = db_exec(r->db, r->a, arena_printf(r->a,
		"SELECT " NTF_COLS " FROM %s %s AND (? IS NULL OR id < ?) ORDER BY id DESC LIMIT ?",
		tenant_table(r, "_notifications"), where), p, 7, &res);
	if (!st)
		st = db_exec(r->db, r->a, arena_printf(r->a, "SELECT COUNT(*) FROM %s %s",
						       tenant_table(r, "_notifications"), where), p, 4, &cnt);
	if (st)
		return req_db_error(r, st);
	reply_data(r, 200, query_id_page(r, res, limit, strtoll(db_cell(cnt, 0, 0), NULL, 10), NULL,
					   "ntf_", query_row_cols, ntf_cols));
	return E_OK;
}

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
	const char *uid, *id = req_param(r, "notification_id");
	err_t rc = target_user(r, &uid);
	if (rc)
		return rc;
	db_param p[] = { db_str(id), db_str(uid) };
	db_result *res;
	enum db_status st = db_exec(r->db, r->a, arena_printf(r->a,
		"UPDATE %s SET is_read = 1, read_at = COALESCE(read_at, UTC_TIMESTAMP(3)) "
		"WHERE id = ? AND user_id = ?", tenant_table(r, "_notifications")), p, 2, &res);
	if (st)
		return req_db_error(r, st);
	if (res->affected == 0) {
		/* Already read (no row changed) or not this user's. */
		st = db_exec(r->db, r->a, arena_printf(r->a, "SELECT 1 FROM %s WHERE id = ? AND user_id = ?",
						       tenant_table(r, "_notifications")), p, 2, &res);
		if (st)
			return req_db_error(r, st);
		if (res->nrows == 0)
			return req_fail(r, E_NOT_FOUND, "Notification not found");
	}
	cJSON *d = cJSON_CreateObject();
	cJSON_AddStringToObject(d, "id", id);
	cJSON_AddTrueToObject(d, "read");
	reply_data(r, 200, d);
	return E_OK;
}

static err_t notifications_read_all(req_t *r)
{
	return user_number(r, "UPDATE %s SET is_read = 1, read_at = UTC_TIMESTAMP(3) "
			   "WHERE user_id = ? AND is_read = 0", "updated", true);
}

/* --- preferences ------------------------------------------------------------ */

static const field_t notification_pref_body[] = {
	{ "channel", FT_STRING, FF_REQUIRED, 1, 16 },
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
	int ci = channel_index(channel);
	if (ci < 0)
		return req_fail_field(r, E_VALIDATION, "channel", "channel must be in_app, email, sms or push");
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
	err_t rc;
	if ((rc = target_user(r, &uid)) || (rc = prefs_load(r, uid, &list)))
		return rc;
	cJSON *cur = cJSON_GetArrayItem(list, ci);
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
	if (channel_index(channel) < 0)
		return req_fail_field(r, E_VALIDATION, "channel", "channel must be in_app, email, sms or push");
	err_t rc = target_user(r, &uid);
	if (rc)
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
	cJSON *d = cJSON_CreateObject();
	cJSON_AddTrueToObject(d, "deleted");
	cJSON_AddStringToObject(d, "channel", channel);
	reply_data(r, 200, d);
	return E_OK;
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
	ROUTE("GET", "/v1/auth/notifications", "Notifications", AUTH_BEARER, "", "none", R_USER, notifications_list, NULL, "List notifications"),
	ROUTE("POST", "/v1/auth/notifications/read-all", "Notifications", AUTH_BEARER, "", "none", R_USER, notifications_read_all, NULL, "Mark all as read"),
	ROUTE("PATCH", "/v1/auth/notifications/:notification_id/read", "Notifications", AUTH_BEARER, "", "none", R_USER, notifications_read, NULL, "Mark notification read"),
	ROUTE("GET", "/v1/auth/notifications/count", "Notifications", AUTH_BEARER, "", "none", R_USER, notifications_count, NULL, "Get unread count"),
	ROUTES_END,
};
