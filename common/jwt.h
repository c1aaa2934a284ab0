/*
 * jwt.h - compact JWS with HS256 (RFC 7519 / 7515).
 *
 * Only HS256 is accepted: a token whose header names any other algorithm,
 * "none" included, is rejected before its signature is looked at.  Claims
 * used by Tessera: sub (user id), tenant_id, role, session_id, iat, exp,
 * iss ("tessera"), aud ("authenticated"), jti.
 */
#ifndef TESSERA_JWT_H
#define TESSERA_JWT_H

#include <stddef.h>
#include <time.h>

#include <cJSON.h>

#include "arena.h"

enum jwt_status {
	JWT_OK = 0,
	JWT_MALFORMED,
	JWT_BAD_ALG,
	JWT_BAD_SIGNATURE,
	JWT_EXPIRED,
	JWT_NOT_YET_VALID,
};

/* Signs claims (not consumed) and returns the token, allocated in a. */
char *jwt_sign(arena_t *a, const void *key, size_t keylen, const cJSON *claims);
/*
 * Decodes the payload without verifying anything, so that the tenant can be
 * found before its key is loaded.  *claims is owned by the arena.
 */
enum jwt_status jwt_peek(arena_t *a, const char *token, cJSON **claims);
/*
 * Verifies alg, signature, exp (required) and nbf against now.  On JWT_OK,
 * *claims (owned by the arena) holds the payload.
 */
enum jwt_status jwt_verify(arena_t *a, const char *token, const void *key,
			   size_t keylen, time_t now, cJSON **claims);
const char *jwt_status_str(enum jwt_status s);

#endif
