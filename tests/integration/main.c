/*
 * main.c - runs every integration suite against the stack tools/test-run
 * started.  Exits non-zero if any test fails.
 */
#include <stdlib.h>

#include <curl/curl.h>

#include "harness.h"

Suite *suite_spawn(void);
Suite *suite_dropin(void);
Suite *suite_policies(void);
Suite *suite_errors(void);
Suite *suite_hostile(void);
Suite *suite_sweep(void);
Suite *suite_resources(void);
Suite *suite_dlq(void);
Suite *suite_objects(void);
Suite *suite_schema(void);
Suite *suite_comments(void);
Suite *suite_views(void);
Suite *suite_associations(void);
Suite *suite_sql(void);
Suite *suite_dataio(void);
Suite *suite_endusers(void);
/* events & webhooks */
Suite *suite_webhooks(void);
Suite *suite_events(void);
/* realtime */
Suite *suite_realtime(void);
/* files */
Suite *suite_files(void);
/* end-user auth */
/* identity admin */
Suite *suite_identity(void);
Suite *suite_admin_users(void);
/* end to end */
Suite *suite_e2e(void);
/* AI */
Suite *suite_ai(void);
Suite *suite_tus(void);
Suite *suite_s3(void);
/* accounting */
Suite *suite_accounting(void);
/* automation */
Suite *suite_automations(void);
Suite *suite_scheduled_jobs(void);
Suite *suite_workflows(void);
/* external identity */
Suite *suite_passkeys(void);
Suite *suite_oauth(void);
Suite *suite_saml(void);
Suite *suite_scaleout(void);
Suite *suite_nchan_redis(void);
Suite *suite_dbservers(void);
Suite *suite_tenantmove(void);
Suite *suite_lazytables(void);
Suite *suite_sentinel(void);
Suite *suite_redis_cluster(void);
Suite *suite_apps(void);
Suite *suite_analytics(void);
/* extensibility */
Suite *suite_functions(void);
Suite *suite_plugins(void);
Suite *suite_integrations(void);
Suite *suite_console(void);

int main(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
	SRunner *sr = srunner_create(suite_router());
	srunner_add_suite(sr, suite_public());
	srunner_add_suite(sr, suite_keys());
	srunner_add_suite(sr, suite_auth());
	srunner_add_suite(sr, suite_jobs());
	srunner_add_suite(sr, suite_spawn());
	srunner_add_suite(sr, suite_dropin());
	srunner_add_suite(sr, suite_schema());
	srunner_add_suite(sr, suite_objects());
	srunner_add_suite(sr, suite_views());
	srunner_add_suite(sr, suite_comments());
	srunner_add_suite(sr, suite_associations());
	srunner_add_suite(sr, suite_sql());
	srunner_add_suite(sr, suite_dataio());
	/* Last: it kills workers and restarts MariaDB and Redis. */
	srunner_add_suite(sr, suite_policies());
	srunner_add_suite(sr, suite_errors());
	srunner_add_suite(sr, suite_dlq());
	srunner_add_suite(sr, suite_hostile());
	srunner_add_suite(sr, suite_sweep());
	srunner_add_suite(sr, suite_resources());
	/* events & webhooks */
	srunner_add_suite(sr, suite_webhooks());
	srunner_add_suite(sr, suite_events());
	/* realtime */
	srunner_add_suite(sr, suite_realtime());
	/* files */
	srunner_add_suite(sr, suite_files());
	/* end-user auth */
	srunner_add_suite(sr, suite_endusers());
	/* identity admin */
	srunner_add_suite(sr, suite_identity());
	srunner_add_suite(sr, suite_admin_users());
	/* end to end */
	srunner_add_suite(sr, suite_e2e());
	srunner_add_suite(sr, suite_resilience());
	/* AI */
	srunner_add_suite(sr, suite_ai());
	srunner_add_suite(sr, suite_tus());
	srunner_add_suite(sr, suite_s3());
	/* accounting */
	srunner_add_suite(sr, suite_accounting());
	/* automation */
	srunner_add_suite(sr, suite_automations());
	srunner_add_suite(sr, suite_scheduled_jobs());
	srunner_add_suite(sr, suite_workflows());
	/* external identity */
	srunner_add_suite(sr, suite_passkeys());
	srunner_add_suite(sr, suite_oauth());
	srunner_add_suite(sr, suite_saml());
	srunner_add_suite(sr, suite_scaleout());
	srunner_add_suite(sr, suite_nchan_redis());
	srunner_add_suite(sr, suite_dbservers());
	srunner_add_suite(sr, suite_tenantmove());
	srunner_add_suite(sr, suite_lazytables());
	srunner_add_suite(sr, suite_sentinel());
	srunner_add_suite(sr, suite_redis_cluster());
	/* apps and analytics */
	srunner_add_suite(sr, suite_apps());
	srunner_add_suite(sr, suite_analytics());
	srunner_add_suite(sr, suite_functions());
	srunner_add_suite(sr, suite_plugins());
	srunner_add_suite(sr, suite_integrations());
	srunner_add_suite(sr, suite_console());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	curl_global_cleanup();
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
