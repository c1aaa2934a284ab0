/*
 * totp.h - time-based one-time passwords (RFC 6238 over RFC 4226 HOTP) as
 * authenticator apps speak them: HMAC-SHA-1, 6 digits, 30-second steps, and
 * the base32 (RFC 4648, no padding) secrets they scan from otpauth:// URIs.
 */
#ifndef TESSERA_TOTP_H
#define TESSERA_TOTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arena.h"

#define TOTP_STEP 30
#define TOTP_DIGITS 6
#define TOTP_SECRET_BYTES 20

/* The 6-digit code of key for counter (HOTP, RFC 4226), as 0..999999. */
uint32_t hotp(const unsigned char *key, size_t keylen, uint64_t counter, int digits);

/* The time step of epoch seconds t. */
static inline uint64_t totp_step(long long t)
{
	return (uint64_t)(t / TOTP_STEP);
}

/*
 * Checks code (decimal digits) against the steps around now (one before and
 * one after, for clock drift).  A step at or below last_step was used
 * already and never matches (no replay within the window).  On a match
 * returns true and stores the matching step in *step.
 */
bool totp_check(const unsigned char *key, size_t keylen, const char *code, long long now,
		uint64_t last_step, uint64_t *step);

/* Base32 (RFC 4648 alphabet, no padding) of data, in a. */
char *base32_encode(arena_t *a, const unsigned char *data, size_t len);
/* Decodes base32 (case-insensitive, '=' and spaces ignored) into out (at
 * most cap bytes); returns the length or -1 on a bad character. */
long base32_decode(const char *s, unsigned char *out, size_t cap);

#endif
