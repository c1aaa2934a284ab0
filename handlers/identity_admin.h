/*
 * identity_admin.h - what the identity administration files
 * (identity_settings.c, mail.c, roles.c and notifications.c) share
 * with each other and with the request pipeline and the jobs runner.
 */
#ifndef TESSERA_IDENTITY_ADMIN_H
#define TESSERA_IDENTITY_ADMIN_H

#include <stdbool.h>

#include <cJSON.h>

#include "../common/db.h"
#include "../fcgi/request.h"
#include "identity.h"

/* The gate (identity_gate, identity_user_may, identity_invalidate) is in
 * fcgi/gate.h. */
#include "../fcgi/gate.h"

/* The effective permissions of user_id (role_claim: the role whose name
 * every holder of that JWT role claim gets, may be NULL) as a
 * NULL-terminated array in r->a. */
err_t roles_effective(req_t *r, const char *user_id, const char *role_claim, const char ***out);

/* True if perms (NULL-terminated) grant area:verb, for object type
 * (type_name, type_id) when those are not NULL. */
bool perms_grant(const char *const *perms, const char *area, const char *type_name,
		 const char *type_id, const char *verb);

/* True if perms (NULL-terminated) hold `admin`: their holder administers
 * the tenant as a `*` key would (the gate lets them call every row). */
bool perms_admin(const char *const *perms);

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

/* E_OK if the end user exists in the tenant; 404 "User not found"
 * (naming field, unless it is NULL) if not. */
err_t user_require(req_t *r, const char *user_id, const char *field);

#endif
