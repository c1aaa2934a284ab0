/*
 * securedel.c - see securedel.h.
 */
#include "securedel.h"

#include <string.h>

#include "../common/crypto.h"

#define TOKEN_PREFIX "ct_"

char *securedel_key(arena_t *a, const char *tenant, const char *token)
{
	return cache_tkey(a, "confirm", tenant, "%s", token);
}

char *securedel_binding(arena_t *a, const char *type, const char *id)
{
	return arena_printf(a, "%s:%s", type, id);
}

bool securedel_token_wellformed(const char *token)
{
	size_t n = strlen(token);
	return n == strlen(TOKEN_PREFIX) + 43 && strncmp(token, TOKEN_PREFIX, 3) == 0 &&
	       strspn(token + 3, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") == 43;
}

static err_t consume(req_t *r, const char *type, const char *id, const char *token)
{
	if (!securedel_token_wellformed(token))
		return req_fail_field(r, E_VALIDATION, "confirm_token", "confirm_token is malformed");
	redisReply *rep;
	const char *argv[] = { "GETDEL", securedel_key(r->a, r->tenant.id, token) };
	if (cache_cmd(r->cache, r->a, &rep, 2, argv))
		return req_fail(r, E_UNAVAILABLE, "Confirm tokens are unavailable; try again shortly");
	if (rep->type != REDIS_REPLY_STRING ||
	    strcmp(rep->str, securedel_binding(r->a, type, id)) != 0)
		return req_fail_field(r, E_VALIDATION, "confirm_token",
				      "confirm_token is invalid, expired, already used, or for another resource");
	return E_OK;
}

err_t securedel_check(req_t *r, const char *type, const char *id,
		      const dependency_t *deps, int ndeps, bool *cascade)
{
	*cascade = false;
	long long total = 0;
	for (int i = 0; i < ndeps; i++)
		total += deps[i].count;
	if (total == 0)
		return E_OK;
	const char *force = req_query(r, "force");
	const char *token = req_query(r, "confirm_token");
	if (force && strcmp(force, "true") == 0 && token) {
		err_t rc = consume(r, type, id, token);
		if (rc)
			return rc;
		*cascade = true;
		return E_OK;
	}
	char *fresh = random_token(r->a, TOKEN_PREFIX, 32);
	redisReply *rep;
	const char *argv[] = { "SET", securedel_key(r->a, r->tenant.id, fresh),
			       securedel_binding(r->a, type, id), "EX", "300" };
	if (cache_cmd(r->cache, r->a, &rep, 5, argv))
		return req_fail(r, E_UNAVAILABLE, "Confirm tokens are unavailable; try again shortly");
	cJSON *extra = req_own(r, cJSON_CreateObject());
	cJSON *list = cJSON_AddArrayToObject(extra, "dependencies");
	for (int i = 0; i < ndeps; i++) {
		if (!deps[i].count)
			continue;
		cJSON *d = cJSON_CreateObject();
		cJSON_AddStringToObject(d, "type", deps[i].type);
		cJSON_AddNumberToObject(d, "count", (double)deps[i].count);
		cJSON_AddStringToObject(d, "label", deps[i].label);
		cJSON_AddItemToArray(list, d);
	}
	cJSON_AddStringToObject(extra, "confirm_token", fresh);
	cJSON_AddNumberToObject(extra, "confirm_token_expires_in", CONFIRM_TTL_SECONDS);
	r->err_extra = extra;
	return E_DEPENDENCY_EXISTS;
}
