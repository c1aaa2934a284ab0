/*
 * crypto.h - hashing, tokens, HMAC and secrets at rest, over libsodium.
 *
 * API keys and refresh tokens are high-entropy random tokens, so they are
 * stored as SHA-256 hashes (a slow hash would add nothing but latency).
 * Secrets that must be read back (JWT secrets, webhook secrets, provider
 * keys) are sealed with XChaCha20-Poly1305 under the server's master key.
 */
#ifndef TESSERA_CRYPTO_H
#define TESSERA_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>

#include "arena.h"

int crypto_init(void);
/* SHA-256 of data as 64 lower-case hex chars + NUL. */
void sha256_hex(char out[65], const void *data, size_t len);
/* HMAC-SHA256 with a key of any length. */
void hmac_sha256(unsigned char out[32], const void *key, size_t keylen,
		 const void *msg, size_t msglen);
/* prefix + base64url of nbytes random bytes, allocated in a. */
char *random_token(arena_t *a, const char *prefix, size_t nbytes);
/* Constant-time comparison of two NUL-terminated strings. */
bool ct_streq(const char *a, const char *b);

/*
 * Seals plaintext under key (32 bytes): returns base64url(nonce || box),
 * allocated in a.
 */
char *secret_seal(arena_t *a, const unsigned char key[32], const void *plain,
		  size_t len);
/*
 * Opens a sealed secret; returns the NUL-terminated plaintext in a (and its
 * length in *len if len is not NULL), or NULL if it was tampered with.
 */
char *secret_open(arena_t *a, const unsigned char key[32], const char *sealed,
		  size_t *len);

#endif
