/*
 * auth_portal.c - the public portal's auth routes (no bearer token): the
 * tenant is named by tenant_id (body, query or X-Tenant-ID) and loaded
 * here, then the same flows as the bearer routes run (auth_flows.c).
 * portal-identify finds the tenants an email belongs to.
 */
#include <stdlib.h>
#include <string.h>

#include "../common/config.h"
#include "../common/jsonx.h"
#include "../fcgi/credentials.h"
#include "enduser.h"
#include "auth_flows.h"
#include "routes.h"

const field_t portal_identify_body[] = {
	{ "email", FT_STRING, FF_REQUIRED, 0, 320 },
	{ NULL, 0, 0, 0, 0 },
};


/* Tenants are searched in batches of this many, one statement each. */
#define IDENTIFY_BATCH 50
#define IDENTIFY_MAX_TENANTS 5000

/* Of the tenants ts[start, start + IDENTIFY_BATCH), the databases that
 * have end users at all: a tenant that never used auth has no _users table
 * yet (README "Small tenants"), and one missing table would fail the
 * whole UNION.  NULL when the lookup failed (then none is asked). */
static const db_result *with_users(req_t *r, const db_result *ts, int start)
{
	db_param p[IDENTIFY_BATCH];
	int n = 0;
	for (int i = start; i < ts->nrows && i < start + IDENTIFY_BATCH; i++)
		p[n++] = db_str(db_get(ts, i, "db_name"));
	db_result *res;
	if (n == 0 || db_exec(r->db, r->a, arena_printf(r->a, "SELECT TABLE_SCHEMA FROM "
			      "information_schema.TABLES WHERE TABLE_NAME = '_users' AND "
			      "TABLE_SCHEMA IN (%s)", db_placeholders(r->a, n)), p, n, &res) != DB_OK)
		return NULL;
	return res;
}

static bool listed(const db_result *has, const char *db)
{
	for (int i = 0; has && i < has->nrows; i++)
		if (!strcmp(db_cell(has, i, 0), db))
			return true;
	return false;
}

/*
 * The active tenants where email is an end user: every
 * tenant's users table is asked, IDENTIFY_BATCH at a time in one UNION.
 * Limited per client address like the tenant lookup.
 */
err_t portal_identify(req_t *r)
{
	const char *email = body_str(r, "email");
	err_t rc = rate_limit(r, arena_printf(r->a, "identify:%s", r->remote_addr ? r->remote_addr : "-"),
			      g_config.lookup_rate_limit);
	if (rc)
		return rc;
	if (!email_address_valid(email))
		return req_fail_field(r, E_VALIDATION, "email", "email must be a valid email address");
	db_result *ts;
	db_param lim[] = { db_int(IDENTIFY_MAX_TENANTS) };
	enum db_status st = db_exec(db_control(r->db), r->a,
		"SELECT id, name, db_name FROM tenants WHERE status = 'active' "
		"ORDER BY id LIMIT ?", lim, 1, &ts);
	if (st)
		return req_db_error(r, st);
	cJSON *list = cJSON_CreateArray();
	req_own(r, list);
	for (int start = 0; start < ts->nrows; start += IDENTIFY_BATCH) {
		char *sql = arena_strdup(r->a, "");
		db_param p[IDENTIFY_BATCH];
		int n = 0;
		const db_result *has = with_users(r, ts, start);
		for (int i = start; i < ts->nrows && i < start + IDENTIFY_BATCH; i++) {
			const char *db = db_get(ts, i, "db_name");
			/* Database names are server-made ([a-z0-9_]). */
			if (!db || strspn(db, "abcdefghijklmnopqrstuvwxyz0123456789_") != strlen(db) ||
			    !listed(has, db))
				continue;
			sql = arena_printf(r->a, "%s%sSELECT %d AS i FROM `%s`.`_users` WHERE email = ?",
					   sql, n ? " UNION ALL " : "", i, db);
			p[n++] = db_str(email);
		}
		db_result *hits;
		if (n == 0 || db_exec(r->db, r->a, sql, p, n, &hits) != DB_OK)
			continue;
		for (int k = 0; k < hits->nrows; k++) {
			int i = atoi(db_cell(hits, k, 0));
			cJSON *t = cJSON_CreateObject();
			cJSON_AddStringToObject(t, "id", db_get(ts, i, "id"));
			cJSON_AddStringToObject(t, "name", db_get(ts, i, "name"));
			cJSON_AddItemToArray(list, t);
		}
	}
	int count = cJSON_GetArraySize(list);
	cJSON *d = cJSON_CreateObject();
	const cJSON *first = cJSON_GetArrayItem(list, 0);
	cJSON_AddItemToObject(d, "tenant_id", first ? cJSON_CreateString(json_str_of(first, "id"))
					   : cJSON_CreateNull());
	cJSON_AddBoolToObject(d, "multiple_tenants", count > 1);
	cJSON_AddItemToObject(d, "tenants", cJSON_Duplicate(list, true));
	reply_data(r, 200, d);
	return E_OK;
}

/* The endpoints this file serves; routes.c assembles the table from
 * every file's rows. */
const route_t auth_portal_routes[] = {
	ROUTE_T("POST", "/v1/auth/portal-forgot-password", "Portal Auth", AUTH_NONE, "", NULL, 0, auth_forgot_password, auth_email_body, "Portal password reset request", TENANT_NAMED, 0),
	ROUTE("POST", "/v1/auth/portal-identify", "Portal Auth", AUTH_NONE, "", NULL, 0, portal_identify, portal_identify_body, "Identify tenant by email"),
	ROUTE_T("POST", "/v1/auth/portal-login", "Portal Auth", AUTH_NONE, "", NULL, 0, auth_login, auth_login_body, "Portal login", TENANT_NAMED, 0),
	ROUTE_T("POST", "/v1/auth/portal-magic-link", "Portal Auth", AUTH_NONE, "", NULL, 0, auth_magic_link, auth_email_body, "Portal send magic link", TENANT_NAMED, 0),
	ROUTE_T("POST", "/v1/auth/portal-magic-link-verify", "Portal Auth", AUTH_NONE, "", NULL, 0, auth_magic_verify, auth_token_body, "Portal verify magic link", TENANT_NAMED, 0),
	ROUTE_T("POST", "/v1/auth/portal-otp-send", "Portal Auth", AUTH_NONE, "", NULL, 0, auth_otp_send, auth_otp_send_body, "Portal send OTP", TENANT_NAMED, 0),
	ROUTE_T("POST", "/v1/auth/portal-otp-verify", "Portal Auth", AUTH_NONE, "", NULL, 0, auth_otp_verify, auth_otp_verify_body, "Portal verify OTP", TENANT_NAMED, 0),
	ROUTE_T("POST", "/v1/auth/portal-reset-password", "Portal Auth", AUTH_NONE, "", NULL, 0, auth_reset_password, auth_reset_body, "Portal password reset", TENANT_NAMED, 0),
	ROUTE_T("POST", "/v1/auth/portal-signup", "Portal Auth", AUTH_NONE, "", NULL, 0, auth_signup, auth_signup_body, "Portal signup", TENANT_NAMED, 0),
	ROUTE_T("POST", "/v1/auth/portal-verify-email", "Portal Auth", AUTH_NONE, "", NULL, 0, auth_verify_post, auth_token_body, "Portal verify email", TENANT_NAMED, 0),
	ROUTES_END,
};
