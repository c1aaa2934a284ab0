/*
 * codec.c - base64url and hex (see codec.h).
 */
#include "codec.h"

#include <string.h>

#include <sodium.h>

size_t b64url_len(size_t n)
{
	return sodium_base64_encoded_len(n, sodium_base64_VARIANT_URLSAFE_NO_PADDING) - 1;
}

char *b64url_encode(char *out, size_t outlen, const void *in, size_t n)
{
	if (outlen < b64url_len(n) + 1) {
		if (outlen)
			out[0] = '\0';
		return out;
	}
	return sodium_bin2base64(out, outlen, in, n, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

long b64url_decode(void *out, size_t outlen, const char *in, size_t len)
{
	/* Accept trailing '=' padding by trimming it; libsodium's unpadded
	 * variant rejects it, the padded one requires it. */
	while (len && in[len - 1] == '=')
		len--;
	if (len % 4 == 1)
		return -1;
	size_t binlen = 0;
	const char *end = NULL;
	if (sodium_base642bin(out, outlen, in, len, NULL, &binlen, &end,
			      sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0)
		return -1;
	if (end != in + len)
		return -1;
	return (long)binlen;
}

char *hex_encode(char *out, size_t outlen, const void *in, size_t n)
{
	return sodium_bin2hex(out, outlen, in, n);
}
