/*
 * test_cidr.c - API key allowlist blocks (common/cidr.c): parsing IPv4 and
 * IPv6 blocks, rejecting malformed ones, and matching client addresses,
 * including IPv4-mapped IPv6 clients.
 */
#include "unit.h"

#include <arpa/inet.h>

#include "../../common/cidr.h"

static const struct {
	const char *text;
	int family;
	int bits;
} parse_ok[] = {
	{ "10.0.0.0/8", AF_INET, 8 },
	{ "192.168.1.0/24", AF_INET, 24 },
	{ "203.0.113.7", AF_INET, 32 },          /* bare address: /32 */
	{ "203.0.113.7/32", AF_INET, 32 },
	{ "0.0.0.0/0", AF_INET, 0 },
	{ "2001:db8::/32", AF_INET6, 32 },
	{ "2001:db8::1", AF_INET6, 128 },        /* bare address: /128 */
	{ "2001:db8::1/128", AF_INET6, 128 },
	{ "::/0", AF_INET6, 0 },
	{ "fe80::/10", AF_INET6, 10 },
	{ "::1", AF_INET6, 128 },
};

START_TEST(cidr_parse_reads_family_address_and_prefix)
{
	cidr_t c;
	memset(&c, 0xaa, sizeof(c));
	ck_assert_msg(cidr_parse(&c, parse_ok[_i].text) == 0, "\"%s\" rejected", parse_ok[_i].text);
	ck_assert_int_eq(c.family, parse_ok[_i].family);
	ck_assert_int_eq(c.bits, parse_ok[_i].bits);
	unsigned char want[16] = { 0 };
	char addr[64];
	snprintf(addr, sizeof(addr), "%s", parse_ok[_i].text);
	char *slash = strchr(addr, '/');
	if (slash)
		*slash = '\0';
	ck_assert_int_eq(inet_pton(c.family, addr, want), 1);
	ck_assert_int_eq(memcmp(c.addr, want, c.family == AF_INET ? 4 : 16), 0);
}
END_TEST

static const char *const parse_bad[] = {
	"",
	"garbage",
	"10.0.0.1/8",          /* host bits set */
	"192.168.1.1/24",
	"10.0.0.0/6",          /* 10 = 00001010: its bit 6 lies beyond /6 */
	"2001:db8::1/32",      /* host bits set */
	"::1/127",
	"10.0.0.0/33",         /* prefix too long */
	"2001:db8::/129",
	"10.0.0.0/",
	"10.0.0.0/-1",
	"10.0.0.0/8/8",
	"10.0.0.0/ 8",
	"10.0.0.0/8x",
	"10.0.0.0/1000",
	"10.0.0/8",            /* three octets */
	"256.0.0.0/8",
	"10.0.0.0.0",
	"2001:db8:::/32",
	"2001:db8::g/128",
	"/8",
	" 10.0.0.0/8",
	"10.0.0.0/8 ",
	"0123456789012345678901234567890123456789012345678901234567890123456789",
};

START_TEST(cidr_parse_rejects_malformed_blocks)
{
	cidr_t c;
	ck_assert_msg(cidr_parse(&c, parse_bad[_i]) == -1, "\"%s\" accepted", parse_bad[_i]);
}
END_TEST

static const struct {
	const char *block;
	const char *ip;
	bool in;
} contains_cases[] = {
	{ "10.0.0.0/8", "10.0.0.1", true },
	{ "10.0.0.0/8", "10.255.255.255", true },
	{ "10.0.0.0/8", "11.0.0.0", false },
	{ "10.0.0.0/8", "9.255.255.255", false },
	{ "192.168.1.0/25", "192.168.1.127", true },   /* partial byte mask */
	{ "192.168.1.0/25", "192.168.1.128", false },
	{ "192.168.1.128/25", "192.168.1.200", true },
	{ "203.0.113.7/32", "203.0.113.7", true },
	{ "203.0.113.7/32", "203.0.113.8", false },
	{ "203.0.113.7", "203.0.113.7", true },
	{ "0.0.0.0/0", "1.2.3.4", true },
	{ "0.0.0.0/0", "255.255.255.255", true },
	{ "2001:db8::/32", "2001:db8:1234::5", true },
	{ "2001:db8::/32", "2001:db9::1", false },
	{ "2001:db8::1/128", "2001:db8::1", true },
	{ "2001:db8::1/128", "2001:db8::2", false },
	{ "2001:db8::/33", "2001:db8:7fff::1", true },
	{ "2001:db8::/33", "2001:db8:8000::1", false },
	{ "::/0", "2001:db8::1", true },
	{ "::/0", "::1", true },
	/* IPv4-mapped IPv6 clients (dual-stack sockets) match IPv4 blocks */
	{ "10.0.0.0/8", "::ffff:10.1.2.3", true },
	{ "10.0.0.0/8", "::FFFF:10.1.2.3", true },
	{ "10.0.0.0/8", "::ffff:11.1.2.3", false },
	{ "203.0.113.7/32", "::ffff:203.0.113.7", true },
	{ "0.0.0.0/0", "::ffff:1.2.3.4", true },
	/* families do not mix otherwise */
	{ "0.0.0.0/0", "2001:db8::1", false },
	{ "::/0", "10.0.0.1", false },
	{ "2001:db8::/32", "10.0.0.1", false },
	{ "10.0.0.0/8", "::a00:1", false },            /* IPv4-compatible is not mapped */
	/* garbage clients never match */
	{ "0.0.0.0/0", "", false },
	{ "0.0.0.0/0", "not an ip", false },
	{ "0.0.0.0/0", "1.2.3.4:5678", false },
	{ "::/0", "[::1]", false },
};

START_TEST(cidr_contains_matches_addresses_in_the_block_only)
{
	cidr_t c;
	ck_assert_int_eq(cidr_parse(&c, contains_cases[_i].block), 0);
	ck_assert_msg(cidr_contains(&c, contains_cases[_i].ip) == contains_cases[_i].in,
		      "%s in %s should be %s", contains_cases[_i].ip, contains_cases[_i].block,
		      contains_cases[_i].in ? "true" : "false");
}
END_TEST

START_TEST(cidr_contains_null_ip_is_false)
{
	cidr_t c;
	ck_assert_int_eq(cidr_parse(&c, "0.0.0.0/0"), 0);
	ck_assert(!cidr_contains(&c, NULL));
}
END_TEST

/*
 * Regression (fixed): common/cidr.c keeps a block written in IPv4-mapped form
 * ("::ffff:10.0.0.0/104") as an IPv6 block, but cidr_contains() folds every
 * mapped client address to IPv4 first, so such a block matches no client at
 * all, not even ::ffff:10.0.0.1 which it contains by definition.  Expected:
 * the block contains 10.0.0.1 and ::ffff:10.0.0.1 (fold the block to
 * 10.0.0.0/8 on parse, or do not fold the client for IPv6 blocks).
 */
START_TEST(mapped_ipv6_block_contains_mapped_clients)
{
	cidr_t c;
	ck_assert_int_eq(cidr_parse(&c, "::ffff:10.0.0.0/104"), 0);
	ck_assert(cidr_contains(&c, "::ffff:10.0.0.1"));
	ck_assert(cidr_contains(&c, "10.0.0.1"));
	ck_assert(!cidr_contains(&c, "11.0.0.1"));
}
END_TEST

Suite *suite_cidr(void)
{
	Suite *s = suite_create("cidr");
	TCase *tc = tcase_create("cidr");
	tcase_add_loop_test(tc, cidr_parse_reads_family_address_and_prefix, 0,
			    (int)(sizeof(parse_ok) / sizeof(parse_ok[0])));
	tcase_add_loop_test(tc, cidr_parse_rejects_malformed_blocks, 0,
			    (int)(sizeof(parse_bad) / sizeof(parse_bad[0])));
	tcase_add_loop_test(tc, cidr_contains_matches_addresses_in_the_block_only, 0,
			    (int)(sizeof(contains_cases) / sizeof(contains_cases[0])));
	tcase_add_test(tc, cidr_contains_null_ip_is_false);
	tcase_add_test(tc, mapped_ipv6_block_contains_mapped_clients);
	suite_add_tcase(s, tc);
	return s;
}
