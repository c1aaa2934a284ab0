/*
 * codec.h - base64url (RFC 4648 §5, unpadded) and hex, over libsodium.
 */
#ifndef TESSERA_CODEC_H
#define TESSERA_CODEC_H

#include <stddef.h>

/* Encoded length of n bytes in unpadded base64url, without the NUL. */
size_t b64url_len(size_t n);
/* Encodes n bytes into out (size >= b64url_len(n) + 1).  Returns out. */
char *b64url_encode(char *out, size_t outlen, const void *in, size_t n);
/*
 * Decodes unpadded (or padded) base64url text of length len into out.
 * Returns the number of bytes written, or -1 on malformed input or if out is
 * too small.
 */
long b64url_decode(void *out, size_t outlen, const char *in, size_t len);
/* Lower-case hex of n bytes into out (size >= 2n + 1).  Returns out. */
char *hex_encode(char *out, size_t outlen, const void *in, size_t n);

#endif
