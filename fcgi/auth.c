/*
 * auth.c - bearer authentication (see auth.h).
 *
 * API keys: the token's SHA-256 is looked up together with its tenant and
 * plan in one query.  JWTs: the unverified payload names the tenant, whose
 * sealed secret verifies the HS256 signature; a revoked session is a Redis
 * key.  Both then pass the same tenant-status, scope and rate-limit checks.
 */
#include "auth.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "../common/cidr.h"
#include "../common/config.h"
#include "../common/crypto.h"
#include "../common/jwt.h"
#include "../common/log.h"
#include "../handlers/routes.h"

long scopes_parse_list(const char *s, const char **bad, arena_t *a)
{
	long bits = 0;
	const char *p = s;
	while (*p) {
		while (*p == ' ' || *p == ',')
			p++;
		if (!*p)
			break;
		size_t len = strcspn(p, " ,");
		char *name = arena_strndup(a, p, len);
		unsigned b = scope_bit(name);
		if (!b) {
			if (bad)
				*bad = name;
			return -1;
		}
		bits |= b;
		p += len;
	}
	return bits;
}

static void fill_tenant(req_t *r, const db_result *res)
{
	r->tenant.id = (char *)db_get(res, 0, "tenant_id");
	r->tenant.name = (char *)db_get(res, 0, "tenant_name");
	r->tenant.plan = (char *)db_get(res, 0, "plan");
	r->tenant.status = (char *)db_get(res, 0, "status");
	r->tenant.db_name = (char *)db_get(res, 0, "db_name");
	r->tenant.used_storage = db_get_int(res, 0, "used_storage_bytes", 0);
	r->tenant.rate_limit = db_get_int(res, 0, "plan_rpm", 60);
}

#define TENANT_COLS "t.id AS tenant_id, t.name AS tenant_name, t.plan, t.status, t.db_name, " \
	"t.used_storage_bytes, p.rate_limit_per_minute AS plan_rpm"

err_t tenant_load(req_t *r, const char *id)
{
	db_result *res;
	db_param p[] = { db_str(id) };
	enum db_status st = db_exec(r->db, r->a,
		"SELECT " TENANT_COLS ", t.jwt_secret_enc FROM tenants t "
		"JOIN plans p ON p.id = t.plan WHERE t.id = ?", p, 1, &res);
	if (st)
		return req_db_error(r, st);
	if (res->nrows == 0)
		return req_fail(r, E_NOT_FOUND, "Tenant not found");
	fill_tenant(r, res);
	return E_OK;
}

err_t rate_limit(req_t *r, const char *key, long long limit)
{
	time_t now = time(NULL);
	long long window = now / 60;
	char *k = arena_printf(r->a, "rl:%s:%lld", key, window);
	long long count = 0, ttl = 0;
	if (cache_incr_window(r->cache, r->a, k, 61, &count, &ttl))
		return req_fail(r, E_UNAVAILABLE, "The rate limiter is unavailable; try again shortly");
	long long reset = (window + 1) * 60;
	long long remaining = limit - count;
	char buf[32];
	snprintf(buf, sizeof(buf), "%lld", limit);
	reply_header(r, "X-RateLimit-Limit", buf);
	snprintf(buf, sizeof(buf), "%lld", remaining > 0 ? remaining : 0);
	reply_header(r, "X-RateLimit-Remaining", buf);
	snprintf(buf, sizeof(buf), "%lld", reset);
	reply_header(r, "X-RateLimit-Reset", buf);
	if (count > limit) {
		long long retry = reset - now;
		snprintf(buf, sizeof(buf), "%lld", retry > 0 ? retry : 1);
		reply_header(r, "Retry-After", buf);
		return req_fail(r, E_RATE_LIMITED, "Rate limit of %lld requests per minute exceeded", limit);
	}
	return E_OK;
}

static bool ip_allowed(req_t *r, const char *list_json)
{
	if (!list_json || !*list_json)
		return true;
	cJSON *list = req_own(r, cJSON_Parse(list_json));
	if (!cJSON_IsArray(list) || cJSON_GetArraySize(list) == 0)
		return true;
	const cJSON *it;
	cJSON_ArrayForEach(it, list) {
		cidr_t c;
		if (cJSON_IsString(it) && cidr_parse(&c, it->valuestring) == 0 &&
		    cidr_contains(&c, r->remote_addr))
			return true;
	}
	return false;
}

/* last_used_at is written at most once a minute per key (and only when the
 * SELECT that authenticated the key saw it stale), so that recording use
 * does not add a write to every request. */
#define KEY_USE_EVERY "INTERVAL 60 SECOND"

static void key_mark_used(req_t *r)
{
	db_param p[] = { db_str(r->who.key_id) };
	enum db_status st = db_exec(r->db, r->a,
		"UPDATE api_keys SET last_used_at = UTC_TIMESTAMP(3) WHERE id = ? AND "
		"(last_used_at IS NULL OR last_used_at < UTC_TIMESTAMP(3) - " KEY_USE_EVERY ")",
		p, 1, NULL);
	if (st)
		log_warn("%s: cannot record the use of key %s", r->request_id, r->who.key_id);
}

static err_t auth_key(req_t *r, const char *token)
{
	char hash[65];
	sha256_hex(hash, token, strlen(token));
	db_result *res;
	db_param p[] = { db_str(hash) };
	enum db_status st = db_exec(r->db, r->a,
		"SELECT k.id, k.scopes, k.ip_allowlist, k.rate_limit, "
		"(k.expires_at IS NOT NULL AND k.expires_at <= UTC_TIMESTAMP(3)) AS expired, "
		"(k.revoked_at IS NOT NULL) AS revoked, "
		"(k.last_used_at IS NULL OR k.last_used_at < UTC_TIMESTAMP(3) - " KEY_USE_EVERY ") AS use_stale, "
		TENANT_COLS " "
		"FROM api_keys k JOIN tenants t ON t.id = k.tenant_id "
		"JOIN plans p ON p.id = t.plan WHERE k.key_hash = ?", p, 1, &res);
	if (st)
		return req_db_error(r, st);
	if (res->nrows == 0)
		return req_fail(r, E_UNAUTHORIZED, "Invalid API key");
	if (db_get_int(res, 0, "revoked", 0))
		return req_fail(r, E_UNAUTHORIZED, "This API key has been revoked");
	if (db_get_int(res, 0, "expired", 0))
		return req_fail(r, E_UNAUTHORIZED, "This API key has expired");
	fill_tenant(r, res);
	r->who.kind = PRINCIPAL_KEY;
	r->who.key_id = (char *)db_get(res, 0, "id");
	/* A valid key was used, whatever the checks below decide. */
	if (db_get_int(res, 0, "use_stale", 0))
		key_mark_used(r);
	long bits = scopes_parse_list(db_get(res, 0, "scopes") ? db_get(res, 0, "scopes") : "", NULL, r->a);
	r->who.scopes = bits > 0 ? (unsigned)bits : 0;
	if (strcmp(r->tenant.status, "active") != 0)
		return req_fail(r, E_TENANT_SUSPENDED, "This tenant is suspended");
	if (!ip_allowed(r, db_get(res, 0, "ip_allowlist")))
		return req_fail(r, E_FORBIDDEN, "Client address %s is not in this key's IP allowlist",
				r->remote_addr ? r->remote_addr : "(unknown)");
	unsigned need = route_scope_bits(r->route);
	if (need && !(r->who.scopes & (need | SCOPE_ALL)))
		return req_fail(r, E_INSUFFICIENT_SCOPE, "This endpoint needs the \"%s\" scope",
				r->route->scope);
	long long limit = db_get_int(res, 0, "rate_limit", 0);
	if (limit <= 0)
		limit = r->tenant.rate_limit;
	return rate_limit(r, arena_printf(r->a, "k:%s", r->who.key_id), limit);
}

static const char *claim_str(const cJSON *claims, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(claims, name);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static err_t auth_jwt(req_t *r, const char *token)
{
	cJSON *claims;
	if (jwt_peek(r->a, token, &claims) != JWT_OK)
		return req_fail(r, E_UNAUTHORIZED, "Malformed token");
	const char *tid = claim_str(claims, "tenant_id");
	if (!tid)
		return req_fail(r, E_UNAUTHORIZED, "Token names no tenant");
	db_result *res;
	db_param p[] = { db_str(tid) };
	enum db_status st = db_exec(r->db, r->a,
		"SELECT " TENANT_COLS ", t.jwt_secret_enc FROM tenants t "
		"JOIN plans p ON p.id = t.plan WHERE t.id = ?", p, 1, &res);
	if (st)
		return req_db_error(r, st);
	if (res->nrows == 0)
		return req_fail(r, E_UNAUTHORIZED, "Invalid token");
	size_t klen = 0;
	char *secret = secret_open(r->a, g_config.master_key_bin,
				   db_get(res, 0, "jwt_secret_enc"), &klen);
	if (!secret) {
		log_error("%s: cannot open the JWT secret of tenant %s", r->request_id, tid);
		return E_INTERNAL;
	}
	enum jwt_status js = jwt_verify(r->a, token, secret, klen, time(NULL), &claims);
	if (js != JWT_OK)
		return req_fail(r, E_UNAUTHORIZED, "Invalid token: %s", jwt_status_str(js));
	const char *sub = claim_str(claims, "sub");
	if (!sub)
		return req_fail(r, E_UNAUTHORIZED, "Invalid token: no subject");
	fill_tenant(r, res);
	r->who.kind = PRINCIPAL_USER;
	r->who.user_id = (char *)sub;
	r->who.role = (char *)(claim_str(claims, "role") ? claim_str(claims, "role") : "authenticated");
	r->who.session_id = (char *)claim_str(claims, "session_id");
	if (strcmp(r->tenant.status, "active") != 0)
		return req_fail(r, E_TENANT_SUSPENDED, "This tenant is suspended");
	if (r->who.session_id) {
		redisReply *rep;
		if (cache_cmdf(r->cache, r->a, &rep, "EXISTS revoked:sess:%s:%s", tid,
			       r->who.session_id))
			return req_fail(r, E_UNAVAILABLE, "Session state is unavailable; try again shortly");
		if (rep->type == REDIS_REPLY_INTEGER && rep->integer > 0)
			return req_fail(r, E_UNAUTHORIZED, "This session has been revoked");
	}
	if (!(r->route->flags & R_USER))
		return req_fail(r, E_INSUFFICIENT_SCOPE, "End-user tokens cannot call this endpoint");
	return rate_limit(r, arena_printf(r->a, "u:%s:%s", tid, sub), r->tenant.rate_limit);
}

err_t auth_request(req_t *r)
{
	const char *h = req_env(r, "HTTP_AUTHORIZATION");
	if (!h || !*h)
		return req_fail(r, E_UNAUTHORIZED, "Missing Authorization header");
	if (strncasecmp(h, "Bearer ", 7) != 0)
		return req_fail(r, E_UNAUTHORIZED, "Authorization must be \"Bearer <token>\"");
	const char *token = h + 7;
	while (*token == ' ')
		token++;
	size_t len = strlen(token);
	if (len == 0 || len > 4096)
		return req_fail(r, E_UNAUTHORIZED, "Malformed bearer token");
	int dots = 0;
	for (const char *p = token; *p; p++)
		dots += *p == '.';
	return dots == 2 ? auth_jwt(r, token) : auth_key(r, token);
}
