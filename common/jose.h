/*
 * jose.h - verifying the ID tokens of OpenID providers: a compact JWS
 * signed with RS256 or ES256 by one of the keys of the provider's JWK Set
 * (RFC 7515, 7517, 7518).  Claims are checked by the caller (oauth.c):
 * this only says whether the provider signed the token.  Tessera's own
 * HS256 tokens are jwt.h.
 */
#ifndef TESSERA_JOSE_H
#define TESSERA_JOSE_H

#include <cJSON.h>

#include "arena.h"

enum jose_status {
	JOSE_OK = 0,
	JOSE_MALFORMED,      /* not three base64url parts of JSON */
	JOSE_BAD_ALG,        /* alg is not RS256 or ES256 ("none" included) */
	JOSE_NO_KEY,         /* no usable key with the header's kid in the set */
	JOSE_BAD_SIGNATURE,
};

/*
 * Verifies token against jwks (a JWK Set: {"keys": [...]}): the key whose
 * kid is the header's (the only key of the right type when the header
 * names none), of the header's algorithm, not marked for encryption.  On
 * JOSE_OK *claims receives the payload (the caller deletes it); *kid (may
 * be NULL) receives the header's kid in a, or NULL.
 */
enum jose_status jose_verify(arena_t *a, const char *token, const cJSON *jwks, cJSON **claims,
			     const char **kid);

const char *jose_status_str(enum jose_status s);

#endif
