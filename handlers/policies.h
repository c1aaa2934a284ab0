/*
 * policies.h - row-level policies: their grammar, the evaluator shared by
 * writes and the simulator, and what objects.c needs to enforce them.
 *
 * A condition is JSON:
 *   true | false
 *   {"and": [cond, …]} | {"or": [cond, …]} | {"not": cond}
 *   {"property": P, "operator": OP, "value": V}
 * P is a property of the type, or id / created_by; OP is one of the list
 * filter operators (eq neq gt gte lt lte in nin contains starts_with
 * is_null is_not_null); V is a constant, or {"auth": "uid" | "role" |
 * "email" | "claims.<name>"} for the caller's identity.  Semantics are
 * PostgreSQL's permissive RLS: for end-user tokens an action is allowed on
 * a row when any enabled policy for that action (or "all") whose role is
 * the user's (or null, any user) allows it; with no such policy, nothing
 * is allowed.  API keys are not subject to policies.
 */
#ifndef TESSERA_POLICIES_H
#define TESSERA_POLICIES_H

#include <stdbool.h>
#include <stddef.h>

#include <cJSON.h>

#include "../fcgi/request.h"
#include "objmodel.h"

typedef struct authctx {
	const char *uid, *role, *email;
	const cJSON *claims;
} authctx_t;

/* The caller's identity for conditions. */
authctx_t policy_auth(const req_t *r);
/* Resolves V: an {"auth": …} reference becomes the caller's value (NULL
 * when the caller has none); constants are returned as they are.  The
 * result is owned by the request. */
const cJSON *policy_value(req_t *r, const cJSON *v, const authctx_t *a);
/*
 * The enabled conditions of type t that apply to action for the caller's
 * role, as a JSON array owned by the request (empty: nothing is allowed).
 */
err_t policies_for(req_t *r, const objtype_t *t, const char *action, cJSON **conds);
/*
 * Evaluates cond on a row (its properties JSON, id and created_by).  When
 * why is not NULL it receives the leaf that decided, for the simulator.
 */
bool policy_eval(req_t *r, const cJSON *cond, const cJSON *props, const char *id,
		 const char *created_by, const authctx_t *a, char *why, size_t whylen);
/* Access policies, children of an object type (whose secure
 * delete counts them). */
extern const resource_t policy_res;

#endif
