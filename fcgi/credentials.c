/*
 * credentials.c - credential checking (see credentials.h).
 *
 * API keys: the token's SHA-256 is looked up together with its tenant and
 * plan in one query, and kept in a per-worker cache validated through Redis.  JWTs: the unverified payload names the tenant, whose
 * sealed secret verifies the HS256 signature; a revoked session is a Redis
 * key.  Both then pass the same tenant-status, scope and rate-limit checks.
 */
#include "credentials.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "../common/cidr.h"
#include "../common/config.h"
#include "../common/crypto.h"
#include "../common/ids.h"
#include "../common/jwt.h"
#include "../common/log.h"
#include "../common/timefmt.h"
#include "gate.h"
#include "router.h"

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

/* The tenant's read-only lease (tenant move) as a deadline on this host's
 * clock: MariaDB says how long it has left by its own clock, so hosts
 * whose clocks differ from the database's (and each other's) still hold
 * writes for as long as the lease lasts. */
static long long lease_deadline(const db_result *res)
{
	long long left = db_get_int(res, 0, "read_only_left_ms", 0);
	return left > 0 ? time_now_ms() + left : 0;
}

static void fill_tenant(req_t *r, const db_result *res)
{
	r->tenant.id = (char *)db_get(res, 0, "tenant_id");
	r->tenant.name = (char *)db_get(res, 0, "tenant_name");
	r->tenant.plan = (char *)db_get(res, 0, "plan");
	r->tenant.status = (char *)db_get(res, 0, "status");
	r->tenant.db_name = (char *)db_get(res, 0, "db_name");
	r->tenant.db_server = (char *)db_get(res, 0, "db_server");
	r->tenant.used_storage = db_get_int(res, 0, "used_storage_bytes", 0);
	r->tenant.rate_limit = db_get_int(res, 0, "plan_rpm", 60);
	r->tenant.read_only_ms = lease_deadline(res);
}

#define TENANT_COLS "t.id AS tenant_id, t.name AS tenant_name, t.plan, t.status, t.db_name, t.db_server, " \
	"t.used_storage_bytes, p.rate_limit_per_minute AS plan_rpm, " \
	"CAST(COALESCE(TIMESTAMPDIFF(MICROSECOND, UTC_TIMESTAMP(6), t.read_only_until) DIV 1000, 0) " \
	"AS SIGNED) AS read_only_left_ms"

/* The Redis key whose value changes whenever a credential or a tenant's
 * status changes; workers' key caches compare it on every request. */
#define AUTH_GEN_KEY "gen:auth"

/*
 * One round trip: INCR and EXPIRE NX the window counter for key, read the
 * auth generation (into gen, "" when unset, if gen is not NULL) and, when
 * tenant is known, the tenant's schema generation (into
 * r->tenant.schema_gen, for the object-type cache) and identity generation
 * (into r->tenant.identity_gen, for the governance and roles cache).
 */
static err_t rl_count(req_t *r, const char *key, const char *tenant, long long *count,
		      long long *reset, char *gen, size_t genlen)
{
	long long window = time(NULL) / 60;
	char *k = arena_printf(r->a, "rl:%s:%lld", key, window);
	const char *incr[] = { "INCR", k };
	const char *expire[] = { "EXPIRE", k, "61", "NX" };
	const char *get[] = { "GET", AUTH_GEN_KEY };
	const char *schema[] = { "GET", tenant ? schema_gen_key(r->a, tenant) : "" };
	const char *ident[] = { "GET", tenant ? identity_gen_key(r->a, tenant) : "" };
	const char **argvs[] = { incr, expire, get, schema, ident };
	int argcs[] = { 2, 4, 2, 2, 2 };
	redisReply *rep[5] = { 0 };
	if (cache_pipeline(r->cache, r->a, tenant ? 5 : 3, argcs, argvs, rep))
		return req_fail(r, E_UNAVAILABLE, "The rate limiter is unavailable; try again shortly");
	*count = rep[0]->type == REDIS_REPLY_INTEGER ? rep[0]->integer : 0;
	*reset = (window + 1) * 60;
	if (gen)
		snprintf(gen, genlen, "%s", rep[2]->type == REDIS_REPLY_STRING ? rep[2]->str : "");
	if (tenant) {
		r->tenant.schema_gen = arena_strdup(r->a, rep[3]->type == REDIS_REPLY_STRING ? rep[3]->str : "");
		r->tenant.identity_gen = arena_strdup(r->a, rep[4]->type == REDIS_REPLY_STRING ? rep[4]->str : "");
	}
	return E_OK;
}

char *schema_gen_key(arena_t *a, const char *tenant)
{
	return cache_tkey(a, "gen:schema", tenant, "%s", "");
}

/* Sets the X-RateLimit-* headers and, past the limit, Retry-After and 429. */
static err_t rl_apply(req_t *r, long long limit, long long count, long long reset)
{
	long long remaining = limit - count;
	char buf[32];
	snprintf(buf, sizeof(buf), "%lld", limit);
	reply_header(r, "X-RateLimit-Limit", buf);
	snprintf(buf, sizeof(buf), "%lld", remaining > 0 ? remaining : 0);
	reply_header(r, "X-RateLimit-Remaining", buf);
	snprintf(buf, sizeof(buf), "%lld", reset);
	reply_header(r, "X-RateLimit-Reset", buf);
	if (count > limit) {
		long long retry = reset - time(NULL);
		snprintf(buf, sizeof(buf), "%lld", retry > 0 ? retry : 1);
		reply_header(r, "Retry-After", buf);
		return req_fail(r, E_RATE_LIMITED, "Rate limit of %lld requests per minute exceeded", limit);
	}
	return E_OK;
}

err_t rate_limit(req_t *r, const char *key, long long limit)
{
	long long count, reset;
	err_t rc = rl_count(r, key, r->tenant.id, &count, &reset, NULL, 0);
	return rc ? rc : rl_apply(r, limit, count, reset);
}

int credentials_invalidate(cache_t *cache, arena_t *a)
{
	redisReply *rep;
	if (cache_cmdf(cache, a, &rep, "INCR %s", AUTH_GEN_KEY) == CACHE_OK)
		return 0;
	log_warn("auth: cannot bump %s; workers may use cached credentials for up to %d s",
		 AUTH_GEN_KEY, AUTH_CACHE_TTL);
	return -1;
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

/* last_used_at is written at most once a minute per key, so that recording
 * use does not add a write to every request. */
#define KEY_USE_EVERY 60

static void key_mark_used(req_t *r)
{
	db_param p[] = { db_str(r->who.key_id) };
	enum db_status st = db_exec(db_control(r->db), r->a,
		"UPDATE api_keys SET last_used_at = UTC_TIMESTAMP(3) WHERE id = ? AND "
		"(last_used_at IS NULL OR last_used_at < UTC_TIMESTAMP(3) - INTERVAL 60 SECOND)",
		p, 1, NULL);
	if (st)
		log_warn("%s: cannot record the use of key %s", r->request_id, r->who.key_id);
}

/*
 * Per-worker cache of key lookups, so that a steady stream of requests with
 * one key costs no database query for authentication.  An entry is trusted
 * while the auth generation in Redis (read in the same round trip as the
 * rate-limit counter) equals the one seen before it was loaded and it is
 * younger than AUTH_CACHE_TTL; every change to a key or a tenant's status
 * bumps the generation after it commits (credentials_invalidate).  Reading the
 * generation before the database means a change that races a load always
 * leaves the entry with an older generation, so it is reloaded.
 */
#define KEY_CACHE_SLOTS 256

struct key_entry {
	char hash[65];
	char gen[32];
	time_t loaded_at, used_marked_at;
	char key_id[41], tenant_id[41], plan[33], status[17], db_name[65], db_server[65];
	char *tenant_name, *ip_allowlist;    /* malloc'd */
	unsigned scopes;
	long long rate_limit, plan_rpm, used_storage;
	long long expires_at;                /* epoch seconds, 0 = never */
	long long read_only_ms;
	bool revoked;
};

static struct key_entry key_cache[KEY_CACHE_SLOTS];

static struct key_entry *key_slot(const char *hash)
{
	unsigned v = 0;
	for (int i = 0; i < 4; i++)
		v = v * 16 + (unsigned)(hash[i] <= '9' ? hash[i] - '0' : hash[i] - 'a' + 10);
	return &key_cache[v % KEY_CACHE_SLOTS];
}

static void copy_str(char *dst, size_t n, const char *src)
{
	snprintf(dst, n, "%s", src ? src : "");
}

static void key_entry_fill(struct key_entry *e, const char *hash, const char *gen,
			   const db_result *res, arena_t *a)
{
	free(e->tenant_name);
	free(e->ip_allowlist);
	memset(e, 0, sizeof(*e));
	copy_str(e->hash, sizeof(e->hash), hash);
	copy_str(e->gen, sizeof(e->gen), gen);
	e->loaded_at = time(NULL);
	copy_str(e->key_id, sizeof(e->key_id), db_get(res, 0, "id"));
	copy_str(e->tenant_id, sizeof(e->tenant_id), db_get(res, 0, "tenant_id"));
	copy_str(e->plan, sizeof(e->plan), db_get(res, 0, "plan"));
	copy_str(e->status, sizeof(e->status), db_get(res, 0, "status"));
	copy_str(e->db_name, sizeof(e->db_name), db_get(res, 0, "db_name"));
	copy_str(e->db_server, sizeof(e->db_server), db_get(res, 0, "db_server"));
	e->tenant_name = strdup(db_get(res, 0, "tenant_name") ? db_get(res, 0, "tenant_name") : "");
	e->ip_allowlist = db_get(res, 0, "ip_allowlist") ? strdup(db_get(res, 0, "ip_allowlist")) : NULL;
	long bits = scopes_parse_list(db_get(res, 0, "scopes") ? db_get(res, 0, "scopes") : "", NULL, a);
	e->scopes = bits > 0 ? (unsigned)bits : 0;
	e->rate_limit = db_get_int(res, 0, "rate_limit", 0);
	e->plan_rpm = db_get_int(res, 0, "plan_rpm", 60);
	e->used_storage = db_get_int(res, 0, "used_storage_bytes", 0);
	e->expires_at = db_get_int(res, 0, "expires_epoch", 0);
	e->read_only_ms = lease_deadline(res);
	e->revoked = db_get_int(res, 0, "revoked", 0) != 0;
	e->used_marked_at = db_get_int(res, 0, "use_stale", 1) ? 0 : e->loaded_at;
}

static err_t key_load(req_t *r, const char *hash, const char *gen, struct key_entry *e)
{
	db_result *res;
	db_param p[] = { db_str(hash) };
	enum db_status st = db_exec(r->db, r->a,
		"SELECT k.id, k.scopes, k.ip_allowlist, k.rate_limit, "
		"CAST(COALESCE(UNIX_TIMESTAMP(k.expires_at), 0) AS SIGNED) AS expires_epoch, "
		"(k.revoked_at IS NOT NULL) AS revoked, "
		"(k.last_used_at IS NULL OR k.last_used_at < UTC_TIMESTAMP(3) - INTERVAL 60 SECOND) AS use_stale, "
		TENANT_COLS " "
		"FROM api_keys k JOIN tenants t ON t.id = k.tenant_id "
		"JOIN plans p ON p.id = t.plan WHERE k.key_hash = ?", p, 1, &res);
	if (st)
		return req_db_error(r, st);
	if (res->nrows == 0)
		return req_fail(r, E_UNAUTHORIZED, "Invalid API key");
	key_entry_fill(e, hash, gen, res, r->a);
	return E_OK;
}

static err_t auth_key(req_t *r, const char *token)
{
	char hash[65], gen[32];
	sha256_hex(hash, token, strlen(token));
	struct key_entry *e = key_slot(hash);
	time_t now = time(NULL);
	long long count = 0, reset = 0;
	bool counted = false;
	err_t rc;

	if (strcmp(e->hash, hash) == 0 && now - e->loaded_at < AUTH_CACHE_TTL) {
		/* One round trip counts the request and checks the entry. */
		if ((rc = rl_count(r, cache_tkey(r->a, "k", e->tenant_id, "%s", e->key_id), e->tenant_id, &count,
				   &reset, gen, sizeof(gen))))
			return rc;
		counted = true;
		if (strcmp(gen, e->gen) != 0 && (rc = key_load(r, hash, gen, e)))
			return rc;
	} else {
		redisReply *rep;
		if (cache_cmdf(r->cache, r->a, &rep, "GET %s", AUTH_GEN_KEY))
			return req_fail(r, E_UNAVAILABLE, "The rate limiter is unavailable; try again shortly");
		copy_str(gen, sizeof(gen), rep->type == REDIS_REPLY_STRING ? rep->str : "");
		if ((rc = key_load(r, hash, gen, e)))
			return rc;
	}

	if (e->revoked)
		return req_fail(r, E_UNAUTHORIZED, "This API key has been revoked");
	if (e->expires_at && e->expires_at <= now)
		return req_fail(r, E_UNAUTHORIZED, "This API key has expired");
	r->tenant.id = arena_strdup(r->a, e->tenant_id);
	r->tenant.name = arena_strdup(r->a, e->tenant_name);
	r->tenant.plan = arena_strdup(r->a, e->plan);
	r->tenant.status = arena_strdup(r->a, e->status);
	r->tenant.db_name = arena_strdup(r->a, e->db_name);
	r->tenant.db_server = *e->db_server ? arena_strdup(r->a, e->db_server) : NULL;
	r->tenant.used_storage = e->used_storage;
	r->tenant.rate_limit = e->plan_rpm;
	r->tenant.read_only_ms = e->read_only_ms;
	r->who.kind = PRINCIPAL_KEY;
	r->who.key_id = arena_strdup(r->a, e->key_id);
	r->who.scopes = e->scopes;
	/* A valid key was used, whatever the checks below decide. */
	if (now - e->used_marked_at >= KEY_USE_EVERY) {
		key_mark_used(r);
		e->used_marked_at = now;
	}
	if (strcmp(e->status, "active") != 0)
		return req_fail(r, E_TENANT_SUSPENDED, "This tenant is suspended");
	if (!ip_allowed(r, e->ip_allowlist))
		return req_fail(r, E_FORBIDDEN, "Client address %s is not in this key's IP allowlist",
				r->remote_addr ? r->remote_addr : "(unknown)");
	unsigned need = route_scope_bits(r->route);
	if (need && !(r->who.scopes & (need | SCOPE_ALL)))
		return req_fail(r, E_INSUFFICIENT_SCOPE, "This endpoint needs the \"%s\" scope",
				r->route->scope);
	long long limit = e->rate_limit > 0 ? e->rate_limit : e->plan_rpm;
	if (!counted && (rc = rl_count(r, cache_tkey(r->a, "k", e->tenant_id, "%s", e->key_id), e->tenant_id,
				      &count, &reset, NULL, 0)))
		return rc;
	return rl_apply(r, limit, count, reset);
}

static const char *claim_str(const cJSON *claims, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(claims, name);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* iss, when present, must be Tessera's; aud, when present (a string or an
 * array), must include "authenticated": a token issued for another service
 * with the same secret is not accepted here. */
static bool claims_for_us(const cJSON *claims)
{
	const cJSON *iss = cJSON_GetObjectItemCaseSensitive(claims, "iss");
	if (iss && !(cJSON_IsString(iss) && !strcmp(iss->valuestring, "tessera")))
		return false;
	const cJSON *aud = cJSON_GetObjectItemCaseSensitive(claims, "aud");
	if (!aud)
		return true;
	if (cJSON_IsString(aud))
		return !strcmp(aud->valuestring, "authenticated");
	const cJSON *it;
	cJSON_ArrayForEach(it, aud)
		if (cJSON_IsString(it) && !strcmp(it->valuestring, "authenticated"))
			return true;
	return false;
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
	if (!claims_for_us(claims))
		return req_fail(r, E_UNAUTHORIZED, "Invalid token: wrong issuer or audience");
	fill_tenant(r, res);
	r->who.kind = PRINCIPAL_USER;
	r->who.user_id = (char *)sub;
	r->who.role = (char *)(claim_str(claims, "role") ? claim_str(claims, "role") : "authenticated");
	r->who.session_id = (char *)claim_str(claims, "session_id");
	r->who.email = (char *)claim_str(claims, "email");
	r->who.claims = claims;
	if (strcmp(r->tenant.status, "active") != 0)
		return req_fail(r, E_TENANT_SUSPENDED, "This tenant is suspended");
	if (r->who.session_id) {
		/* The key without the hash tag is the one revocations made
		 * before the tag was added wrote: still read (one round trip),
		 * until those have expired with their access tokens. */
		const char *now[] = { "EXISTS", cache_tkey(r->a, "revoked:sess", tid, "%s", r->who.session_id) };
		const char *legacy[] = { "EXISTS", arena_printf(r->a, "revoked:sess:%s:%s", tid,
								r->who.session_id) };
		const char **argvs[] = { now, legacy };
		int argcs[] = { 2, 2 };
		redisReply *rep[2];
		if (cache_pipeline(r->cache, r->a, 2, argcs, argvs, rep))
			return req_fail(r, E_UNAVAILABLE, "Session state is unavailable; try again shortly");
		if ((rep[0]->type == REDIS_REPLY_INTEGER && rep[0]->integer > 0) ||
		    (rep[1]->type == REDIS_REPLY_INTEGER && rep[1]->integer > 0))
			return req_fail(r, E_UNAUTHORIZED, "This session has been revoked");
	}
	/* Whether the row is open to end users is the identity gate's to
	 * say: an admin may call rows without R_USER. */
	return rate_limit(r, cache_tkey(r->a, "u", tid, "%s", sub), r->tenant.rate_limit);
}

err_t credentials_check(req_t *r)
{
	const char *h = req_env(r, "HTTP_AUTHORIZATION");
	if ((!h || !*h) && (r->route->flags & R_QUERY_TOKEN)) {
		const char *q = req_query(r, "token");
		if (!q || !*q)
			return req_fail(r, E_UNAUTHORIZED, "Missing token (?token= or Authorization: Bearer)");
		return credentials_token(r, q);
	}
	if (!h || !*h)
		return req_fail(r, E_UNAUTHORIZED, "Missing Authorization header");
	if (strncasecmp(h, "Bearer ", 7) != 0)
		return req_fail(r, E_UNAUTHORIZED, "Authorization must be \"Bearer <token>\"");
	const char *token = h + 7;
	while (*token == ' ')
		token++;
	return credentials_token(r, token);
}

err_t credentials_token(req_t *r, const char *token)
{
	size_t len = strlen(token);
	if (len == 0 || len > 4096)
		return req_fail(r, E_UNAUTHORIZED, "Malformed bearer token");
	int dots = 0;
	for (const char *p = token; *p; p++)
		dots += *p == '.';
	return dots == 2 ? auth_jwt(r, token) : auth_key(r, token);
}

/* --- where the tenant comes from on rows without a credential --------------------- */

err_t tenant_load(req_t *r, const char *id)
{
	db_result *res;
	db_param p[] = { db_str(id) };
	enum db_status st = db_exec(r->db, r->a,
		"SELECT " TENANT_COLS " FROM tenants t JOIN plans p ON p.id = t.plan WHERE t.id = ?",
		p, 1, &res);
	if (st)
		return req_db_error(r, st);
	if (res->nrows == 0)
		return req_fail_field(r, E_NOT_FOUND, "tenant_id", "Tenant not found");
	fill_tenant(r, res);
	if (strcmp(r->tenant.status, "active") != 0)
		return req_fail(r, E_TENANT_SUSPENDED, "This tenant is suspended");
	return req_tenant_db(r);
}

/* tenant_id from the body, the query or X-Tenant-ID, in that order; NULL
 * if none names one. */
static const char *tenant_named(req_t *r)
{
	const cJSON *b = cJSON_GetObjectItemCaseSensitive(r->json, "tenant_id");
	const char *id = cJSON_IsString(b) ? b->valuestring : NULL;
	if (!id || !*id)
		id = req_query(r, "tenant_id");
	if (!id || !*id)
		id = req_env(r, "HTTP_X_TENANT_ID");
	return id && *id ? id : NULL;
}

/* The tenant whose custom domain is the request's Host (port cut off). */
static err_t tenant_of_host(req_t *r, const char **id)
{
	const char *host = req_env(r, "HTTP_HOST");
	*id = NULL;
	if (!host || !*host)
		return E_OK;
	char *h = arena_strdup(r->a, host);
	h[strcspn(h, ":")] = '\0';
	db_result *res;
	db_param p[] = { db_str(h) };
	enum db_status st = db_exec(r->db, r->a, "SELECT id FROM tenants WHERE domain = ?", p, 1, &res);
	if (st)
		return req_db_error(r, st);
	*id = res->nrows ? db_get(res, 0, "id") : NULL;
	return E_OK;
}

#define SIGNED_URL_BAD "The upload URL is invalid or has expired"

/* The tenant of a dashboard share token (stored as its SHA-256 only):
 * unknown 404, revoked or past its expiry 410 GONE, as a dead link. */
static err_t tenant_of_share(req_t *r)
{
	const char *token = req_param(r, "share_token");
	char hash[65];
	sha256_hex(hash, token ? token : "", token ? strlen(token) : 0);
	db_result *res;
	db_param p[] = { db_str(hash) };
	enum db_status st = db_exec(r->db, r->a,
		"SELECT tenant_id, revoked_at IS NOT NULL AS revoked, "
		"expires_at IS NOT NULL AND expires_at <= UTC_TIMESTAMP(3) AS expired "
		"FROM dashboard_shares WHERE token_hash = ?", p, 1, &res);
	if (st)
		return req_db_error(r, st);
	if (res->nrows == 0)
		return req_fail(r, E_NOT_FOUND, "Shared dashboard not found");
	if (db_get_int(res, 0, "revoked", 0))
		return req_fail(r, E_GONE, "This share link was revoked");
	if (db_get_int(res, 0, "expired", 0))
		return req_fail(r, E_GONE, "This share link has expired");
	err_t rc = tenant_load(r, db_get(res, 0, "tenant_id"));
	if (rc == E_NOT_FOUND) {
		r->err_details = NULL;
		return req_fail(r, E_NOT_FOUND, "Shared dashboard not found");
	}
	return rc;
}

err_t tenant_resolve(req_t *r)
{
	const char *id = NULL, *given;
	err_t rc;
	switch (r->route->tenant) {
	case TENANT_AUTO:
		return E_OK;
	case TENANT_CREDENTIAL_PARAM:
	case TENANT_CREDENTIAL_PARAM_REQUIRED:
		/* A row that authenticates in its handler (the WebSocket, whose
		 * nchan callbacks carry no token) calls this again after. */
		if (r->who.kind == PRINCIPAL_NONE)
			return E_OK;
		given = req_query(r, "tenant_id");
		if (!given && r->route->tenant == TENANT_CREDENTIAL_PARAM_REQUIRED)
			return req_fail_field(r, E_VALIDATION, "tenant_id", "tenant_id is required");
		if (given && (!r->tenant.id || strcmp(given, r->tenant.id) != 0))
			return req_fail_field(r, E_FORBIDDEN, "tenant_id",
					      "The token does not belong to this tenant");
		return E_OK;
	case TENANT_NAMED:
		if (!(id = tenant_named(r)))
			return req_fail_field(r, E_VALIDATION, "tenant_id",
					      "tenant_id is required (in the body, the query or X-Tenant-ID)");
		if (!id_valid(id, "tn_"))
			return req_fail_field(r, E_NOT_FOUND, "tenant_id", "Tenant not found");
		return tenant_load(r, id);
	case TENANT_NAMED_OR_HOST:
		/* Public read of what a sign-in page shows: any status. */
		if (!(id = tenant_named(r)) && (rc = tenant_of_host(r, &id)))
			return rc;
		if (!id)
			return req_fail(r, E_VALIDATION,
					"Name the tenant with tenant_id, X-Tenant-ID or its custom domain");
		if (!id_valid(id, "tn_") || ((rc = tenant_load(r, id)) && rc != E_TENANT_SUSPENDED)) {
			r->err_details = NULL;
			return req_fail(r, E_NOT_FOUND, "Tenant not found");
		}
		return E_OK;
	case TENANT_SHARED:
		return tenant_of_share(r);
	case TENANT_SIGNED:
		id = req_query(r, "t");
		if (!id || !id_valid(id, "tn_"))
			return req_fail(r, E_FORBIDDEN, SIGNED_URL_BAD);
		if ((rc = tenant_load(r, id)) == E_NOT_FOUND) {
			r->err_details = NULL;
			return req_fail(r, E_FORBIDDEN, SIGNED_URL_BAD);
		}
		return rc;
	}
	return E_OK;
}
