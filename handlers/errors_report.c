/*
 * errors_report.c - POST /v1/errors/report: client apps report their
 * errors (message, stack, source, level, path, metadata) for tracking.
 * Any credential of the tenant may report, an app's public key or an end
 * user's token; reports are rate-limited per reporting client address so
 * that a crash loop in one browser cannot flood the table.
 */
#include <string.h>
#include <time.h>

#include "../common/config.h"
#include "../common/ids.h"
#include "../common/jsonx.h"
#include "routes.h"

#define REPORTS_PER_MINUTE 60
#define METADATA_MAX 16384

const field_t error_report_body[] = {
	{ "message", FT_STRING, FF_REQUIRED, 1, 4000 },
	{ "stack", FT_STRING, FF_NULLABLE, 0, 65000 },
	{ "source", FT_STRING, FF_NULLABLE, 0, 255 },
	{ "level", FT_STRING, FF_NULLABLE, 1, 16 },
	{ "path", FT_STRING, FF_NULLABLE, 0, 2048 },
	{ "metadata", FT_OBJECT, FF_NULLABLE, 0, 0 },
	{ NULL, 0, 0, 0, 0 },
};

err_t errors_report(req_t *r)
{
	const char *level = json_str_of(r->json, "level");
	static const char *const levels[] = { "debug", "info", "warning", "error", "fatal" };
	bool known = !level;
	for (size_t i = 0; level && i < sizeof(levels) / sizeof(levels[0]); i++)
		known = known || !strcmp(level, levels[i]);
	if (!known)
		return req_fail_field(r, E_VALIDATION, "level",
				      "level must be debug, info, warning, error or fatal");
	char *meta = NULL;
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(r->json, "metadata");
	if (cJSON_IsObject(m)) {
		cJSON *exact = req_own(r, cJSON_Duplicate(m, true));
		json_exact_numbers(exact);
		char *s = cJSON_PrintUnformatted(exact);
		meta = arena_strdup(r->a, s ? s : "{}");
		cJSON_free(s);
		if (strlen(meta) > METADATA_MAX)
			return req_fail_field(r, E_VALIDATION, "metadata",
					      "metadata must be at most %d bytes of JSON", METADATA_MAX);
	}
	/* Per client address, besides the credential's own limit (whose
	 * X-RateLimit-* headers this response already carries). */
	long long count = 0, ttl = 0;
	if (cache_incr_window(r->cache, r->a, arena_printf(r->a, "rl:errors:%s:%s:%lld", r->tenant.id,
			      r->remote_addr ? r->remote_addr : "-", (long long)(time(NULL) / 60)),
			      61, &count, &ttl))
		return req_fail(r, E_UNAVAILABLE, "The rate limiter is unavailable; try again shortly");
	if (count > REPORTS_PER_MINUTE) {
		reply_header(r, "Retry-After", arena_printf(r->a, "%lld", 60 - (long long)(time(NULL) % 60)));
		return req_fail(r, E_RATE_LIMITED, "At most %d error reports a minute from one client",
				REPORTS_PER_MINUTE);
	}
	char id[40];
	id_new(id, sizeof(id), "err_");
	const char *who = r->who.kind == PRINCIPAL_USER ? "user" : "api_key";
	const char *who_id = r->who.kind == PRINCIPAL_USER ? r->who.user_id : r->who.key_id;
	const char *ua = req_env(r, "HTTP_USER_AGENT");
	db_param p[] = {
		db_str(id), db_str(r->tenant.id), db_str(level ? level : "error"),
		db_str(json_str_of(r->json, "message")), db_str(json_str_of(r->json, "stack")),
		db_str(json_str_of(r->json, "source")), db_str(json_str_of(r->json, "path")),
		db_str(meta), db_str(who), db_str(who_id), db_str(r->remote_addr),
		ua ? db_strn(ua, strnlen(ua, 512)) : db_null(), db_str(r->request_id),
	};
	enum db_status st = db_exec(r->db, r->a,
		"INSERT INTO client_errors (id, tenant_id, level, message, stack, source, path, "
		"metadata, reporter_type, reporter_id, ip_address, user_agent, request_id, created_at) "
		"VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, UTC_TIMESTAMP(3))", p, 13, NULL);
	if (st)
		return req_db_error(r, st);
	cJSON *d = cJSON_CreateObject();
	cJSON_AddStringToObject(d, "error_id", id);
	reply_data(r, 200, d);
	return E_OK;
}

/* The endpoints this file serves; routes.c assembles the table from
 * every file's rows. */
const route_t errors_report_routes[] = {
	ROUTE("POST", "/v1/errors/report", "Errors", AUTH_BEARER, "", "none", R_USER, errors_report, error_report_body, "Report client error"),
	ROUTES_END,
};
