/*
 * password.h - end-user passwords: argon2id through libsodium's
 * crypto_pwhash_str (the INTERACTIVE cost: about 64 MB and a few tens of
 * milliseconds), and a verify that costs the same when there is no user, so
 * that the time of an answer does not tell whether an account exists.
 */
#ifndef TESSERA_PASSWORD_H
#define TESSERA_PASSWORD_H

#include <stdbool.h>

#include "arena.h"

#define PASSWORD_MAX 1024

/* The encoded argon2id hash of pw (in a), or NULL if hashing failed (out
 * of memory). */
char *password_hash(arena_t *a, const char *pw);

/* True when pw matches hash.  A NULL hash (no user, or a user without a
 * password) is checked against a fixed dummy hash and answers false, in the
 * same time as a real check. */
bool password_verify(const char *hash, const char *pw);

#endif
