/*
 * cidr.h - IPv4 and IPv6 addresses and CIDR blocks, for API key allowlists.
 */
#ifndef TESSERA_CIDR_H
#define TESSERA_CIDR_H

#include <stdbool.h>

typedef struct cidr {
	int family;              /* AF_INET or AF_INET6 */
	unsigned char addr[16];
	int bits;
} cidr_t;

/*
 * Parses "a.b.c.d", "a.b.c.d/n", "x::y" or "x::y/n" (a bare address is a
 * /32 or /128).  Returns 0, or -1 if malformed or the host bits are beyond
 * the prefix length.
 */
int cidr_parse(cidr_t *out, const char *s);
/* True if address text ip lies within c.  IPv4-mapped IPv6 (::ffff:a.b.c.d)
 * matches IPv4 blocks. */
bool cidr_contains(const cidr_t *c, const char *ip);

#endif
