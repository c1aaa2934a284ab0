/*
 * main.c - runs every unit suite (CK_NORMAL) and exits non-zero if any test
 * failed.  Run from the repository root: test_router reads
 * tools/spec/endpoints.tsv.  TESSERA_TEST_DIR (exported by tools/test-run)
 * enables the Redis-backed secure-delete test.
 */
#include "unit.h"

#include "../../common/crypto.h"

int main(void)
{
	if (crypto_init() != 0) {
		fputs("unit: libsodium failed to initialise\n", stderr);
		return EXIT_FAILURE;
	}
	static Suite *(*const suites[])(void) = {
		suite_arena, suite_cidr, suite_codec, suite_config, suite_crypto,
		suite_envelope, suite_ids, suite_jwt, suite_router, suite_rowjson,
		suite_schema, suite_securedel, suite_timefmt, suite_jobs_backoff, suite_channels,
		suite_totp, suite_enduser, suite_roles,
		suite_multipart,
		suite_outhttp, suite_webhook_send, suite_ailocal,
		suite_decimal, suite_cache,
		suite_cron,
		suite_webauthn,
		suite_luabox, suite_jschema,
		suite_s3,
	};
	SRunner *sr = srunner_create(NULL);
	for (size_t i = 0; i < sizeof(suites) / sizeof(suites[0]); i++)
		srunner_add_suite(sr, suites[i]());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
