/*
 * securedel.h - secure delete: a DELETE on a parent with dependents answers
 * 409 DEPENDENCY_EXISTS with the counts and a single-use confirm_token
 * (Redis, 5 minutes, bound to tenant + resource); repeating the DELETE with
 * ?force=true&confirm_token=… cascades.
 */
#ifndef TESSERA_SECUREDEL_H
#define TESSERA_SECUREDEL_H

#include <stdbool.h>

#include "request.h"

#define CONFIRM_TTL_SECONDS 300

typedef struct dependency {
	const char *type;    /* "objects" */
	const char *label;   /* "Objects" */
	long long count;
} dependency_t;

/*
 * Decides whether deleting (type, id) may go ahead.  Returns E_OK with
 * *cascade false when nothing depends on it, E_OK with *cascade true when
 * the request carries force=true and a live confirm token for exactly this
 * resource (the token is consumed), and otherwise E_DEPENDENCY_EXISTS with
 * the dependencies and a fresh confirm_token in the error body.
 */
err_t securedel_check(req_t *r, const char *type, const char *id,
		      const dependency_t *deps, int ndeps, bool *cascade);

/* The Redis key and value a token is stored under (exposed for tests). */
char *securedel_key(arena_t *a, const char *tenant, const char *token);
char *securedel_binding(arena_t *a, const char *type, const char *id);
/* True if token has the shape securedel_check issues. */
bool securedel_token_wellformed(const char *token);

#endif
