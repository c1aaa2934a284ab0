/*
 * test_dropin.c - the nginx drop-in for an existing nginx, installed as the
 * README says into a Debian-layout tree (tests/integration/dropin.py does
 * the work and reports one line per check).
 */
#include <stdlib.h>
#include <string.h>

#include "harness.h"

Suite *suite_dropin(void);

START_TEST(dropin_serves_the_api_files_and_realtime_from_a_debian_nginx)
{
	struct tenant t;
	tenant_make(&t);
	int rc;
	char *out = run_cmd(&rc, "python3 %s/tests/integration/dropin.py %s %s %s %s %s 2>&1",
			    env_or("TESSERA_TEST_REPO", "."), env_or("TESSERA_TEST_REPO", "."), bin(),
			    conf_path(), t.key, t.id);
	static const char *const checks[] = { "nginx -t", "workers www-data", "health",
					      "authenticated call", "upload", "signed download",
					      "realtime", "console", "json 404" };
	for (size_t i = 0; i < sizeof(checks) / sizeof(checks[0]); i++) {
		char *line = strf("OK %s\n", checks[i]);
		ck_assert_msg(strstr(out, line) != NULL, "drop-in check \"%s\" did not pass:\n%s", checks[i],
			      out);
		free(line);
	}
	ck_assert_msg(rc == 0, "dropin.py exited %d:\n%s", rc, out);
	free(out);
	tenant_drop(&t);
}
END_TEST

Suite *suite_dropin(void)
{
	Suite *s = suite_create("dropin");
	TCase *tc = tcase_new_slow(s, "debian");
	tcase_add_test(tc, dropin_serves_the_api_files_and_realtime_from_a_debian_nginx);
	return s;
}
