/*
 * enduser.h - what the end-user auth handlers (auth_*.c, users.c) share:
 * the users table as rows and JSON, sessions and the tokens they hand out,
 * revocation, one-time tokens for the email/SMS flows, the per-address and
 * per-target rate limits, and loading the tenant of a portal request.
 *
 * Every function works on the tenant in r->tenant and writes through
 * r->db, inside the caller's transaction when one is open.
 */
#ifndef TESSERA_ENDUSER_H
#define TESSERA_ENDUSER_H

#include <stdbool.h>

#include <cJSON.h>

#include "../common/rowjson.h"
#include "../common/datatypes.h"
#include "../fcgi/request.h"
#include "identity.h"

/* The columns of a user row as user_json renders them (plus
 * password_hash and banned_at for the checks). */
#define USER_SELECT "SELECT id, email, phone, password_hash, role, is_anonymous, " \
	"(email_verified_at IS NOT NULL) AS email_verified, email_verified_at, " \
	"(phone_verified_at IS NOT NULL) AS phone_verified, phone_verified_at, " \
	"user_metadata, app_metadata, (banned_at IS NOT NULL) AS banned, banned_at, ban_reason, " \
	"last_sign_in_at, created_at, updated_at FROM "

extern const col_t user_cols[];

/* The one answer to a failed sign-in, whatever failed (unknown user, wrong
 * password, banned user), so that it tells nothing about the account. */
#define BAD_CREDENTIALS "Invalid login credentials"

/* Lifetimes of the one-time tokens, in seconds. */
#define TTL_SIGNUP 86400
#define TTL_EMAIL_CHANGE 86400
#define TTL_RECOVERY 3600
#define TTL_MAGIC_LINK 3600
#define TTL_SMS_OTP 600
#define OTP_MAX_ATTEMPTS 5

/*
 * The user whose column col ("id", "email" or "phone") equals value, in
 * *res (nrows 0 when there is none; that is not an error).  With lock the
 * row is locked FOR UPDATE in the open transaction.
 */
err_t user_find(req_t *r, const char *col, const char *value, bool lock, db_result **res);
/* The same, 404 "User not found" when there is none. */
err_t user_need(req_t *r, const char *id, bool lock, db_result **res);
/* The end user calling (403 for API keys), loaded. */
err_t user_current(req_t *r, bool lock, db_result **res);
/* A user rendered for the API (never the password hash). */
cJSON *user_json(const db_result *res, int row);

/* Checks a password against the tenant's policy (400 naming field). */
err_t password_check(req_t *r, const auth_settings_t *s, const char *field, const char *pw);

/*
 * Ends a successful sign-in of the user in row 0 of user: with a verified
 * MFA factor (and unless aal2 is given) answers {mfa_required, mfa_ticket,
 * factors}; otherwise opens a session with the methods in amr (a
 * space-separated list such as "password") and answers it with status.
 * Runs in its own transaction unless one is open (then the caller ends it).
 */
err_t signin_finish(req_t *r, const db_result *user, const char *amr, int status);
/* Opens a session for user (row 0) at assurance aal and answers it. */
err_t session_open(req_t *r, const db_result *user, const char *aal, const char *amr, int status);
/* The same without answering: *out (the caller's) receives what
 * session_open would answer (tokens, session_id, user), for a flow that
 * hands it out another way (the OAuth redirect's fragment). */
err_t session_issue(req_t *r, const db_result *user, const char *aal, const char *amr, cJSON **out);
/* Issues access + refresh tokens for an existing session row and answers
 * them (used by refresh). */
err_t session_answer(req_t *r, const db_result *user, const char *sid, const char *aal,
		     const char *amr, long long session_end, const char *refresh, int status);
/* Stores a new refresh token of session sid; *token receives it. */
err_t refresh_insert(req_t *r, const char *sid, const char *user_id, char **token);
/* Signs an access token for user in session sid. */
err_t access_token_sign(req_t *r, const db_result *user, const char *sid, const char *aal,
			const char *amr, long long session_end, char **token, long long *ttl);

/*
 * Revokes sessions in the database (revoked_at, reason) and in Redis so
 * that their access tokens fail on the next request: one session when sid
 * is not NULL, else every live session of user_id.  *count (may be NULL)
 * receives how many were live.
 */
err_t sessions_revoke(req_t *r, const char *user_id, const char *sid, const char *reason,
		      long long *count);
/* Marks session ids revoked in Redis for ttl seconds. */
err_t sessions_revoke_cache(req_t *r, const char *const *sids, int n, long long ttl);

/*
 * Creates a one-time token of kind for user_id (may be NULL) sent to target;
 * *token receives the plaintext.  Only its SHA-256 is stored.
 */
err_t otoken_create(req_t *r, const char *kind, const char *user_id, const char *target,
		    long ttl, char **token);
/* Stores a one-time token row whose hash the caller computed. */
err_t otoken_insert(req_t *r, const char *id, const char *kind, const char *user_id,
		    const char *target, const char *hash, long ttl);
/*
 * Consumes a live token of one of kinds (NULL-terminated) with this
 * plaintext: marks it used and returns its row (id, kind, user_id, target)
 * in *res.  401 "…invalid or has expired" otherwise (used, expired, wrong).
 */
err_t otoken_consume(req_t *r, const char *const *kinds, const char *token, db_result **res);
/* The link sent in an email: base (redirect_to, else site_url, else
 * public_url) with token and type added to its query. */
char *auth_link(req_t *r, const auth_settings_t *s, const char *redirect_to, const char *token,
		const char *type);
/* Checks redirect_to (NULL is fine) against the allowlist: 400 naming it. */
err_t redirect_check(req_t *r, const auth_settings_t *s, const char *redirect_to);

/*
 * Rate limit of an auth flow: per client address (ip_limit a minute) and,
 * when target is not NULL, per target email/phone (target_limit a minute).
 * 429 RATE_LIMITED with Retry-After when either is exceeded.
 */
err_t auth_rate(req_t *r, const char *flow, const char *target, long ip_limit, long target_limit);

/* s percent-encoded for a URL query or path component, in a. */
char *url_component(arena_t *a, const char *s);
/* Members of the request body. */
const char *body_str(const req_t *r, const char *name);

/* MFA lockout (auth_mfa.c): 429 MFA_LOCKED while user_id is locked. */
err_t mfa_lock_check(req_t *r, const char *user_id);
/* Counts a failed code; the fifth within 15 minutes locks the user. */
err_t mfa_fail(req_t *r, const char *user_id);
/* Number of verified factors of user_id (-1 on error, rc set). */
long long mfa_verified_count(req_t *r, const char *user_id, err_t *rc);

#endif
