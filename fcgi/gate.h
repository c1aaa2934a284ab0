/*
 * gate.h - the identity gate: runs after authentication for every API key
 * and end-user request, before the handler.  It applies the tenant's
 * governance IP allowlist (403 FORBIDDEN from outside it) and, for end
 * users once the tenant has defined roles, the permission the route row
 * names (403 FORBIDDEN without it).  Both are cached per worker against
 * the tenant's identity generation, read in the rate-limit round trip, so
 * the data path pays no database query for them.
 *
 * It is also the one place that decides whether an end user may call a
 * row without R_USER (the key-scoped administration routes): only when
 * their roles grant `admin` (else 403 INSUFFICIENT_SCOPE).  Such a user
 * gets who.admin and the `*` scope for the request, on every row, and
 * keeps their identity (audit actor, owner of what they create, rate
 * limit).
 *
 * What roles grant is the handlers' business: they export gate_ops (the
 * registry, handlers/routes.c), and the gate reaches them only through it.
 */
#ifndef TESSERA_GATE_H
#define TESSERA_GATE_H

#include <stdbool.h>

#include "request.h"

typedef struct gate_ops {
	/* The effective permissions of user_id (role_claim: the role every
	 * holder of that JWT claim gets, may be NULL), NULL-terminated, in r->a. */
	err_t (*user_permissions)(req_t *r, const char *user_id, const char *role_claim,
				  const char ***out);
	/* Whether perms grant area:verb (for object type name/id when not NULL). */
	bool (*grants)(const char *const *perms, const char *area, const char *type_name,
		       const char *type_id, const char *verb);
	/* Whether perms make their holder a tenant administrator. */
	bool (*admin)(const char *const *perms);
	/* The object type a path names (id or name): its name and id, or 404. */
	err_t (*object_type)(req_t *r, const char *id_or_name, const char **name, const char **id);
} gate_ops_t;

extern const gate_ops_t gate_ops;

/* The gate itself (see above). */
err_t identity_gate(req_t *r);

/*
 * For an end user, whether the tenant's roles grant area:verb (on object
 * type type_name/type_id when not NULL) into *ok: true when the tenant has
 * no roles, or for any other caller.  For handlers that check more than
 * their route's permission (realtime channels).
 */
err_t identity_user_may(req_t *r, const char *area, const char *type_name, const char *type_id,
			const char *verb, bool *ok);

/* The Redis key of a tenant's identity generation (read by the rate
 * limiter's round trip in auth.c). */
char *identity_gen_key(arena_t *a, const char *tenant);

/* Makes every worker drop what it cached of the tenant's governance, roles
 * and end users' permissions (they reload on their next request).  Call
 * after committing a change that affects them. */
void identity_invalidate(req_t *r);

#endif
