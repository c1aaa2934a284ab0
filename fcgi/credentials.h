/*
 * credentials.h - credential checking for bearer routes (API keys and
 * end-user JWTs), then tenant status, scope and rate limit: the checks
 * every authenticated request passes before its handler.  (The end-user
 * sign-in flows are handlers/auth_*.c; what they share, handlers/enduser.c.)
 */
#ifndef TESSERA_CREDENTIALS_H
#define TESSERA_CREDENTIALS_H

#include "request.h"

/* Authenticates r (API key or end-user JWT), fills r->who and r->tenant,
 * enforces tenant status, IP allowlist, scope and rate limit.  The token is
 * the Authorization header's or, on R_QUERY_TOKEN routes without that
 * header, the query parameter token. */
err_t credentials_check(req_t *r);
/* The same checks for a token given as it is (no "Bearer "). */
err_t credentials_token(req_t *r, const char *token);

/* Loads tenant id into r->tenant; 404 (details.field tenant_id) if there
 * is none, TENANT_SUSPENDED (tenant filled) if it is not active. */
err_t tenant_load(req_t *r, const char *id);
/* Applies the route row's tenant source (router.h enum tenant_from); the
 * pipeline calls it after the credential and the body. */
err_t tenant_resolve(req_t *r);

/* Parses a space- or comma-separated scope list into bits; -1 if a name is
 * unknown (its name is stored in *bad). */
long scopes_parse_list(const char *s, const char **bad, arena_t *a);

/*
 * Fixed-window rate limit on key (per minute) with limit; sets the
 * X-RateLimit-* headers and, when exceeded, Retry-After and RATE_LIMITED.
 */
err_t rate_limit(req_t *r, const char *key, long long limit);

/* The Redis key of a tenant's schema generation, bumped after every change
 * to its object types or properties (objmodel.c caches types against it). */
char *schema_gen_key(arena_t *a, const char *tenant);

/* Seconds a worker may trust a cached key lookup at most (the auth
 * generation in Redis normally invalidates it at once). */
#define AUTH_CACHE_TTL 30

/* Bumps the auth generation so that every worker reloads the credentials
 * it cached.  Call after committing any change to a key or a tenant's
 * status.  0, or -1 if Redis did not take it (logged). */
int credentials_invalidate(cache_t *cache, arena_t *a);

#endif
