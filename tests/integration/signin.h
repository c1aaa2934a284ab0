/*
 * signin.h - what the suites of the external sign-ins (test_oauth.c,
 * test_saml.c) share: a browser's view of the stack's redirects, the
 * session the app receives in the fragment, the users a tenant has; and
 * what the Redis suites (test_sentinel.c, test_redis_cluster.c) check
 * survives a change of Redis: a session and a log-in counter.
 */
#ifndef TESSERA_TEST_SIGNIN_H
#define TESSERA_TEST_SIGNIN_H

#include "harness.h"

/* The requests that follow come from a new loopback address (the
 * per-address rate limits see a new client). */
void fresh_client(void);
/* The Location of a 302 from the stack to GET path (asserting it). */
char *stack_redirect(const char *path);
/* The value of name in a query or fragment string (malloc'd), or NULL. */
char *param_of(const char *s, const char *name);
/* The id of the user of an access token (malloc'd); *email (may be NULL)
 * receives its email. */
char *user_id_of(const char *token, char **email);
/* How many users the tenant has. */
long long users_count(const struct tenant *t);
/* Signs up a password user with body ({"email", "password"}): its id. */
char *signup_user(const struct tenant *t, const char *body);

/* Log-in attempts per address and account per minute (auth_flows.c). */
#define LOGIN_LIMIT 10
/* The password of login_world users. */
#define LOGIN_PW "Correct-horse-9"

/* POST /v1/auth/login with key, email and pw. */
http_resp *login_as(const char *key, const char *email, const char *pw);

/* A tenant (enterprise plan), a password user, a session of that user and
 * `failed` failed log-ins: the account's counter at failed + 1 of
 * LOGIN_LIMIT. */
struct login_world {
	struct tenant t;
	char *email, *token;
	double first_login;
};
void login_world_make(struct login_world *w, int failed);
void login_world_drop(struct login_world *w);
/* After Redis changed under the stack: the account's counter went on
 * (LOGIN_LIMIT - used attempts left, the first of them the right
 * password), the session works, and the next attempt past the limit is
 * refused. */
void login_assert_carried_over(const struct login_world *w, int used);

#endif
