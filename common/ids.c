/*
 * ids.c - ULID-style ids (see ids.h).
 */
#include "ids.h"

#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include <sodium.h>

static const char crockford[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

void ulid_encode(char out[ULID_LEN + 1], uint64_t ms, const unsigned char rnd[10])
{
	/* 10 chars of time (50 bits, top 2 zero), 16 chars of randomness. */
	for (int i = 9; i >= 0; i--) {
		out[i] = crockford[ms & 31];
		ms >>= 5;
	}
	/* 80 random bits -> 16 base32 chars, 5 bits each. */
	unsigned acc = 0;
	int bits = 0, pos = 10;
	for (int i = 0; i < 10; i++) {
		acc = (acc << 8) | rnd[i];
		bits += 8;
		while (bits >= 5) {
			out[pos++] = crockford[(acc >> (bits - 5)) & 31];
			bits -= 5;
		}
	}
	out[ULID_LEN] = '\0';
}

/* The last id this process made: ids made in the same millisecond take
 * its random part plus one (as ULID's monotonic generator does), so that
 * ORDER BY created_at, id keeps the order in which a request wrote rows.
 * A forked child starts afresh: its parent's last id is not its own. */
static struct {
	pid_t pid;
	uint64_t ms;
	unsigned char rnd[10];
} last;

void id_new(char *out, size_t outlen, const char *prefix)
{
	struct timeval tv;
	gettimeofday(&tv, NULL);
	uint64_t ms = (uint64_t)tv.tv_sec * 1000 + (uint64_t)tv.tv_usec / 1000;
	pid_t pid = getpid();
	int i = 9;
	if (pid == last.pid && ms <= last.ms) { /* same millisecond (or the clock went back) */
		ms = last.ms;
		while (i >= 0 && ++last.rnd[i] == 0)
			i--;
	}
	if (pid != last.pid || ms != last.ms || i < 0) {
		randombytes_buf(last.rnd, sizeof(last.rnd));
		last.pid = pid;
		last.ms = ms;
	}
	char ulid[ULID_LEN + 1];
	ulid_encode(ulid, ms, last.rnd);
	snprintf(out, outlen, "%s%s", prefix, ulid);
}

static int crockford_val(char c)
{
	const char *p = strchr(crockford, c);
	return (c && p) ? (int)(p - crockford) : -1;
}

bool id_valid(const char *s, const char *prefix)
{
	if (!s)
		return false;
	size_t pl = strlen(prefix);
	if (strncmp(s, prefix, pl) != 0 || strlen(s + pl) != ULID_LEN)
		return false;
	for (const char *p = s + pl; *p; p++)
		if (crockford_val(*p) < 0)
			return false;
	return s[pl] <= '7';
}

uint64_t ulid_time(const char *ulid)
{
	uint64_t ms = 0;
	for (int i = 0; i < 10; i++) {
		int v = crockford_val(ulid[i]);
		if (v < 0)
			return 0;
		ms = (ms << 5) | (unsigned)v;
	}
	return ms;
}
