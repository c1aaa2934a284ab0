/*
 * identity_admin.h - what the identity administration files
 * (identity_settings.c, which also builds the mail, roles.c and notifications.c) share
 * with each other and with the request pipeline and the jobs runner.
 */
#ifndef TESSERA_IDENTITY_ADMIN_H
#define TESSERA_IDENTITY_ADMIN_H

#include <stdbool.h>

#include <cJSON.h>

#include "../common/db.h"
#include "../fcgi/request.h"
#include "identity.h"

/*
 * Runs after authentication for every API key and end-user request: the
 * tenant's governance IP allowlist (403 FORBIDDEN from outside it) and,
 * for end users once the tenant has defined roles, the permission the
 * route needs (403 FORBIDDEN without it).  Both are cached per worker
 * against the tenant's identity generation, read in the rate-limit round
 * trip, so the data path pays no database query for them.
 */
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
 * limiter's round trip in fcgi/auth.c). */
char *identity_gen_key(arena_t *a, const char *tenant);

/* identity_invalidate() (identity.h) bumps that generation. */

/* The effective permissions of user_id (role_claim: the role whose name
 * every holder of that JWT role claim gets, may be NULL) as a
 * NULL-terminated array in r->a. */
err_t roles_effective(req_t *r, const char *user_id, const char *role_claim, const char ***out);

/* True if perms (NULL-terminated) grant area:verb, for object type
 * (type_name, type_id) when those are not NULL. */
bool perms_grant(const char *const *perms, const char *area, const char *type_name,
		 const char *type_id, const char *verb);

/* True if s is a permission string of the documented vocabulary. */
bool perm_valid(const char *s);

/*
 * Enqueues an email.send job: to is an array of addresses; from NULL uses
 * the server's address with the tenant's sender name; html may be NULL.
 * *message_id (may be NULL) receives the Message-ID.
 */
err_t mail_enqueue(req_t *r, const cJSON *to, const char *from, const char *from_name,
		   const char *reply_to, const char *subject, const char *text, const char *html,
		   const char **message_id);

/* Subject, text and HTML of a message in the tenant's branding: body is
 * plain text whose links become clickable in the HTML part. */
err_t mail_branded(req_t *r, const char *subject, const char *body, const char *to,
		   const char **from_name, char **html);

/* 1 if the end user exists in the tenant, 0 if not, -1 with rc set. */
int user_exists(req_t *r, const char *user_id, err_t *rc);

#endif
