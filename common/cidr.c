/*
 * cidr.c - see cidr.h.
 */
#include "cidr.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

static int parse_addr(const char *s, int *family, unsigned char addr[16])
{
	memset(addr, 0, 16);
	if (inet_pton(AF_INET, s, addr) == 1) {
		*family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, s, addr) == 1) {
		static const unsigned char mapped[12] = { 0,0,0,0,0,0,0,0,0,0,0xff,0xff };
		if (memcmp(addr, mapped, 12) == 0) {
			memmove(addr, addr + 12, 4);
			memset(addr + 4, 0, 12);
			*family = AF_INET;
		} else {
			*family = AF_INET6;
		}
		return 0;
	}
	return -1;
}

int cidr_parse(cidr_t *out, const char *s)
{
	char buf[64];
	size_t len = strlen(s);
	if (len == 0 || len >= sizeof(buf))
		return -1;
	memcpy(buf, s, len + 1);
	char *slash = strchr(buf, '/');
	int bits = -1;
	if (slash) {
		*slash = '\0';
		const char *p = slash + 1;
		if (!*p || strlen(p) > 3 || strspn(p, "0123456789") != strlen(p))
			return -1;
		bits = atoi(p);
	}
	/* Parse without the IPv4-mapped folding so a v6 prefix keeps its meaning. */
	memset(out->addr, 0, 16);
	if (inet_pton(AF_INET, buf, out->addr) == 1)
		out->family = AF_INET;
	else if (inet_pton(AF_INET6, buf, out->addr) == 1)
		out->family = AF_INET6;
	else
		return -1;
	int max = out->family == AF_INET ? 32 : 128;
	if (bits < 0)
		bits = max;
	if (bits > max)
		return -1;
	/* An IPv4-mapped block (::ffff:a.b.c.d/96+) is an IPv4 block: client
	 * addresses in mapped form are folded to IPv4 before matching. */
	static const unsigned char mapped[12] = { 0,0,0,0,0,0,0,0,0,0,0xff,0xff };
	if (out->family == AF_INET6 && bits >= 96 && memcmp(out->addr, mapped, 12) == 0) {
		memmove(out->addr, out->addr + 12, 4);
		memset(out->addr + 4, 0, 12);
		out->family = AF_INET;
		bits -= 96;
		max = 32;
	}
	out->bits = bits;
	/* Host bits must be zero: "10.0.0.1/8" is almost always a typo. */
	for (int i = bits; i < max; i++)
		if (out->addr[i / 8] & (0x80 >> (i % 8)))
			return -1;
	return 0;
}

bool cidr_contains(const cidr_t *c, const char *ip)
{
	int family;
	unsigned char addr[16];
	if (!ip || parse_addr(ip, &family, addr) != 0 || family != c->family)
		return false;
	int full = c->bits / 8, rest = c->bits % 8;
	if (memcmp(addr, c->addr, (size_t)full) != 0)
		return false;
	if (rest) {
		unsigned char mask = (unsigned char)(0xff << (8 - rest));
		if ((addr[full] & mask) != (c->addr[full] & mask))
			return false;
	}
	return true;
}
