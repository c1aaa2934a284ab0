/*
 * crypto.c - see crypto.h.
 */
#include "crypto.h"

#include <string.h>

#include <sodium.h>

#include "codec.h"

int crypto_init(void)
{
	return sodium_init() < 0 ? -1 : 0;
}

void sha256_hex(char out[65], const void *data, size_t len)
{
	unsigned char h[crypto_hash_sha256_BYTES];
	crypto_hash_sha256(h, data, len);
	sodium_bin2hex(out, 65, h, sizeof(h));
}

void hmac_sha256(unsigned char out[32], const void *key, size_t keylen,
		 const void *msg, size_t msglen)
{
	crypto_auth_hmacsha256_state st;
	crypto_auth_hmacsha256_init(&st, key, keylen);
	crypto_auth_hmacsha256_update(&st, msg, msglen);
	crypto_auth_hmacsha256_final(&st, out);
}

char *random_token(arena_t *a, const char *prefix, size_t nbytes)
{
	unsigned char buf[64];
	if (nbytes > sizeof(buf))
		nbytes = sizeof(buf);
	randombytes_buf(buf, nbytes);
	size_t pl = strlen(prefix);
	size_t len = pl + b64url_len(nbytes) + 1;
	char *out = arena_alloc(a, len);
	memcpy(out, prefix, pl);
	b64url_encode(out + pl, len - pl, buf, nbytes);
	return out;
}

bool ct_streq(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	if (la != lb)
		return false;
	return sodium_memcmp(a, b, la) == 0;
}

char *secret_seal(arena_t *a, const unsigned char key[32], const void *plain,
		  size_t len)
{
	size_t boxlen = crypto_secretbox_xchacha20poly1305_NONCEBYTES +
			crypto_secretbox_xchacha20poly1305_MACBYTES + len;
	unsigned char *box = arena_alloc(a, boxlen);
	randombytes_buf(box, crypto_secretbox_xchacha20poly1305_NONCEBYTES);
	crypto_secretbox_xchacha20poly1305_easy(
		box + crypto_secretbox_xchacha20poly1305_NONCEBYTES, plain, len,
		box, key);
	size_t outlen = b64url_len(boxlen) + 1;
	char *out = arena_alloc(a, outlen);
	b64url_encode(out, outlen, box, boxlen);
	return out;
}

char *secret_open(arena_t *a, const unsigned char key[32], const char *sealed,
		  size_t *len)
{
	size_t slen = strlen(sealed);
	size_t cap = slen;
	unsigned char *box = arena_alloc(a, cap + 1);
	long n = b64url_decode(box, cap, sealed, slen);
	size_t overhead = crypto_secretbox_xchacha20poly1305_NONCEBYTES +
			  crypto_secretbox_xchacha20poly1305_MACBYTES;
	if (n < (long)overhead)
		return NULL;
	size_t plen = (size_t)n - overhead;
	char *plain = arena_alloc(a, plen + 1);
	if (crypto_secretbox_xchacha20poly1305_open_easy(
		    (unsigned char *)plain,
		    box + crypto_secretbox_xchacha20poly1305_NONCEBYTES,
		    (size_t)n - crypto_secretbox_xchacha20poly1305_NONCEBYTES,
		    box, key) != 0)
		return NULL;
	plain[plen] = '\0';
	if (len)
		*len = plen;
	return plain;
}
