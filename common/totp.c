/*
 * totp.c - see totp.h.  libsodium has no SHA-1, so the small SHA-1
 * (FIPS 180-4) and its HMAC live here; they serve only TOTP, where SHA-1 is
 * what every authenticator app implements.
 */
#include "totp.h"

#include <ctype.h>
#include <string.h>

#include <sodium.h>

/* --- SHA-1 (FIPS 180-4) --------------------------------------------------- */

typedef struct sha1 {
	uint32_t h[5];
	uint64_t len;
	unsigned char buf[64];
	size_t n;
} sha1_t;

static uint32_t rol(uint32_t x, int n)
{
	return x << n | x >> (32 - n);
}

static void sha1_block(sha1_t *s, const unsigned char *p)
{
	uint32_t w[80];
	for (int i = 0; i < 16; i++)
		w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
		       (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
	for (int i = 16; i < 80; i++)
		w[i] = rol(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
	uint32_t a = s->h[0], b = s->h[1], c = s->h[2], d = s->h[3], e = s->h[4];
	for (int i = 0; i < 80; i++) {
		uint32_t f, k;
		if (i < 20)
			f = (b & c) | (~b & d), k = 0x5A827999;
		else if (i < 40)
			f = b ^ c ^ d, k = 0x6ED9EBA1;
		else if (i < 60)
			f = (b & c) | (b & d) | (c & d), k = 0x8F1BBCDC;
		else
			f = b ^ c ^ d, k = 0xCA62C1D6;
		uint32_t t = rol(a, 5) + f + e + k + w[i];
		e = d, d = c, c = rol(b, 30), b = a, a = t;
	}
	s->h[0] += a, s->h[1] += b, s->h[2] += c, s->h[3] += d, s->h[4] += e;
}

static void sha1_init(sha1_t *s)
{
	static const uint32_t iv[5] = { 0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0 };
	memcpy(s->h, iv, sizeof(iv));
	s->len = 0;
	s->n = 0;
}

static void sha1_update(sha1_t *s, const unsigned char *p, size_t len)
{
	s->len += len;
	while (len--) {
		s->buf[s->n++] = *p++;
		if (s->n == 64) {
			sha1_block(s, s->buf);
			s->n = 0;
		}
	}
}

static void sha1_final(sha1_t *s, unsigned char out[20])
{
	uint64_t bits = s->len * 8;
	unsigned char pad = 0x80;
	sha1_update(s, &pad, 1);
	pad = 0;
	while (s->n != 56)
		sha1_update(s, &pad, 1);
	unsigned char l[8];
	for (int i = 0; i < 8; i++)
		l[i] = (unsigned char)(bits >> (56 - 8 * i));
	sha1_update(s, l, 8);
	for (int i = 0; i < 5; i++) {
		out[4 * i] = (unsigned char)(s->h[i] >> 24);
		out[4 * i + 1] = (unsigned char)(s->h[i] >> 16);
		out[4 * i + 2] = (unsigned char)(s->h[i] >> 8);
		out[4 * i + 3] = (unsigned char)s->h[i];
	}
}

static void hmac_sha1(unsigned char out[20], const unsigned char *key, size_t keylen,
		      const unsigned char *msg, size_t len)
{
	unsigned char k[64] = { 0 }, pad[64], inner[20];
	sha1_t s;
	if (keylen > 64) {
		sha1_init(&s);
		sha1_update(&s, key, keylen);
		sha1_final(&s, k);
	} else {
		memcpy(k, key, keylen);
	}
	for (int i = 0; i < 64; i++)
		pad[i] = k[i] ^ 0x36;
	sha1_init(&s);
	sha1_update(&s, pad, 64);
	sha1_update(&s, msg, len);
	sha1_final(&s, inner);
	for (int i = 0; i < 64; i++)
		pad[i] = k[i] ^ 0x5c;
	sha1_init(&s);
	sha1_update(&s, pad, 64);
	sha1_update(&s, inner, 20);
	sha1_final(&s, out);
	sodium_memzero(k, sizeof(k));
}

/* --- HOTP / TOTP ------------------------------------------------------------ */

uint32_t hotp(const unsigned char *key, size_t keylen, uint64_t counter, int digits)
{
	unsigned char msg[8], mac[20];
	for (int i = 7; i >= 0; i--, counter >>= 8)
		msg[i] = (unsigned char)(counter & 0xff);
	hmac_sha1(mac, key, keylen, msg, 8);
	int off = mac[19] & 0x0f;
	uint32_t bin = (uint32_t)(mac[off] & 0x7f) << 24 | (uint32_t)mac[off + 1] << 16 |
		       (uint32_t)mac[off + 2] << 8 | mac[off + 3];
	uint32_t mod = 1;
	for (int i = 0; i < digits; i++)
		mod *= 10;
	return bin % mod;
}

bool totp_check(const unsigned char *key, size_t keylen, const char *code, long long now,
		uint64_t last_step, uint64_t *step)
{
	if (strlen(code) != TOTP_DIGITS || strspn(code, "0123456789") != TOTP_DIGITS)
		return false;
	uint32_t want = 0;
	for (const char *p = code; *p; p++)
		want = want * 10 + (uint32_t)(*p - '0');
	uint64_t cur = totp_step(now);
	bool found = false;
	/* Every candidate is computed, so the time taken says nothing about
	 * which step matched. */
	for (int d = -1; d <= 1; d++) {
		uint64_t s = cur + (uint64_t)(long long)d;
		uint32_t got = hotp(key, keylen, s, TOTP_DIGITS);
		if (got == want && s > last_step && !found) {
			*step = s;
			found = true;
		}
	}
	return found;
}

/* --- base32 ----------------------------------------------------------------- */

static const char B32[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

char *base32_encode(arena_t *a, const unsigned char *data, size_t len)
{
	char *out = arena_alloc(a, (len * 8 + 4) / 5 + 1);
	size_t o = 0;
	uint32_t acc = 0;
	int bits = 0;
	for (size_t i = 0; i < len; i++) {
		acc = acc << 8 | data[i];
		bits += 8;
		while (bits >= 5) {
			out[o++] = B32[(acc >> (bits - 5)) & 31];
			bits -= 5;
		}
	}
	if (bits > 0)
		out[o++] = B32[(acc << (5 - bits)) & 31];
	out[o] = '\0';
	return out;
}

long base32_decode(const char *s, unsigned char *out, size_t cap)
{
	uint32_t acc = 0;
	int bits = 0;
	size_t o = 0;
	for (; *s; s++) {
		if (*s == '=' || *s == ' ')
			continue;
		const char *p = strchr(B32, toupper((unsigned char)*s));
		if (!p || !*p)
			return -1;
		acc = acc << 5 | (uint32_t)(p - B32);
		bits += 5;
		if (bits >= 8) {
			if (o >= cap)
				return -1;
			out[o++] = (unsigned char)(acc >> (bits - 8));
			bits -= 8;
		}
	}
	return (long)o;
}
