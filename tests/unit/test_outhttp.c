/*
 * test_outhttp.c - common/outhttp.c: which addresses outgoing requests may
 * reach, URL checks, and a request to a private address refused before
 * any connection is made.
 */
#include "unit.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include "../../common/outhttp.h"

static const struct {
	const char *ip;
	bool ok;
} addrs[] = {
	{ "8.8.8.8", true }, { "93.184.216.34", true }, { "172.32.0.1", true },
	{ "127.0.0.1", false }, { "127.255.0.9", false }, { "10.1.2.3", false },
	{ "172.16.0.1", false }, { "172.31.255.255", false }, { "192.168.1.1", false },
	{ "169.254.169.254", false }, { "100.64.0.1", false }, { "0.0.0.0", false },
	{ "224.0.0.1", false }, { "255.255.255.255", false }, { "198.18.0.1", false },
	{ "192.0.2.7", false },
	{ "2606:4700::1111", true }, { "2a00:1450:4001::200e", true },
	{ "::1", false }, { "::", false }, { "fe80::1", false }, { "fc00::1", false },
	{ "fd12:3456::1", false }, { "ff02::1", false }, { "2001:db8::1", false },
	{ "::ffff:127.0.0.1", false }, { "::ffff:10.0.0.1", false }, { "::ffff:8.8.8.8", true },
	{ "64:ff9b::a00:1", false }, { "2002:7f00:1::", false }, { "::127.0.0.1", false },
};

START_TEST(only_public_addresses_are_reachable)
{
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof(ss));
	const char *ip = addrs[_i].ip;
	if (strchr(ip, ':')) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
		s6->sin6_family = AF_INET6;
		ck_assert_int_eq(inet_pton(AF_INET6, ip, &s6->sin6_addr), 1);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
		s4->sin_family = AF_INET;
		ck_assert_int_eq(inet_pton(AF_INET, ip, &s4->sin_addr), 1);
	}
	ck_assert_msg(outhttp_addr_public((struct sockaddr *)&ss) == addrs[_i].ok, "%s should be %s",
		      ip, addrs[_i].ok ? "public" : "refused");
}
END_TEST

static const struct {
	const char *url;
	bool allow_private;
	bool ok;
} urls[] = {
	{ "https://example.com/hooks", false, true },
	{ "http://example.com:8080/x?y=1", false, true },
	{ "http://8.8.8.8/x", false, true },
	{ "ftp://example.com/x", false, false },
	{ "example.com/x", false, false },
	{ "http://", false, false },
	{ "https://user:pw@example.com/", false, false },
	{ "javascript:alert(1)", false, false },
	{ "http://127.0.0.1:9000/x", false, false },
	{ "http://[::1]:9000/x", false, false },
	{ "http://10.0.0.1/", false, false },
	{ "http://169.254.169.254/latest/meta-data", false, false },
	{ "http://127.0.0.1:9000/x", true, true },
	{ "http://[::1]:9000/x", true, true },
};

START_TEST(urls_must_be_http_and_literal_addresses_public)
{
	char err[200] = "";
	int rc = outhttp_url_check(urls[_i].url, urls[_i].allow_private, err, sizeof(err));
	ck_assert_msg((rc == 0) == urls[_i].ok, "%s (allow_private %d): rc %d %s", urls[_i].url,
		      urls[_i].allow_private, rc, err);
	if (rc)
		ck_assert_msg(err[0], "no message for %s", urls[_i].url);
}
END_TEST

START_TEST(request_to_a_private_address_is_refused_before_connecting)
{
	const char *targets[] = { "http://127.0.0.1:1/hook", "http://localhost:1/hook",
				  "http://[::1]:1/hook" };
	for (size_t i = 0; i < sizeof(targets) / sizeof(targets[0]); i++) {
		outhttp_result_t res;
		int rc = outhttp_request("POST", targets[i], NULL, "{}", 2, 2, false, &res);
		ck_assert_int_eq(rc, -1);
		ck_assert_msg(res.refused, "%s not refused: %s", targets[i], res.error);
		ck_assert_int_eq(res.status, 0);
		ck_assert_msg(strstr(res.error, "refused"), "%s", res.error);
	}
	/* Allowed, the same request gets as far as connecting (nothing listens). */
	outhttp_result_t res;
	ck_assert_int_eq(outhttp_request("POST", "http://127.0.0.1:1/hook", NULL, "{}", 2, 2, true, &res), -1);
	ck_assert(!res.refused);
}
END_TEST

Suite *suite_outhttp(void)
{
	Suite *s = suite_create("outhttp");
	TCase *tc = tcase_create("guard");
	tcase_add_loop_test(tc, only_public_addresses_are_reachable, 0, sizeof(addrs) / sizeof(addrs[0]));
	tcase_add_loop_test(tc, urls_must_be_http_and_literal_addresses_public, 0,
			    sizeof(urls) / sizeof(urls[0]));
	tcase_add_test(tc, request_to_a_private_address_is_refused_before_connecting);
	suite_add_tcase(s, tc);
	return s;
}
