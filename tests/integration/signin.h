/*
 * signin.h - what the suites of the external sign-ins (test_oauth.c,
 * test_saml.c) share: a browser's view of the stack's redirects, the
 * session the app receives in the fragment, the users a tenant has.
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

#endif
