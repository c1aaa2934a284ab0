/*
 * test_config.c - tessera.conf parsing (common/config.c): defaults, every
 * kind of bad value named in the error, quoting, comments, and the
 * TESSERA_<KEY> environment overrides.
 */
#include "unit.h"

#include <unistd.h>

#include "../../common/config.h"

#define MASTER_KEY "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
#define MINIMAL "master_key = " MASTER_KEY "\n"

static config_t cfg;
static char err[256];

static void config_setup(void)
{
	memset(&cfg, 0, sizeof(cfg));
	err[0] = '\0';
}

static void config_teardown(void)
{
	/* Also after a failed parse: the defaults were already allocated. */
	config_release(&cfg);
}

START_TEST(minimal_text_parses_and_applies_defaults)
{
	ck_assert_msg(config_parse(&cfg, MINIMAL, false, err, sizeof(err)) == 0, "%s", err);
	ck_assert_str_eq(cfg.master_key, MASTER_KEY);
	for (int i = 0; i < 32; i++)
		ck_assert_uint_eq(cfg.master_key_bin[i], (unsigned)i);
	ck_assert_int_eq(cfg.workers, 4);
	ck_assert_str_eq(cfg.listen, "");
	ck_assert_str_eq(cfg.log_level, "info");
	ck_assert_str_eq(cfg.db_host, "localhost");
	ck_assert_int_eq(cfg.db_port, 3306);
	ck_assert_str_eq(cfg.db_user, "tessera");
	ck_assert_str_eq(cfg.db_password, "");
	ck_assert_str_eq(cfg.db_name, "tessera");
	ck_assert_str_eq(cfg.redis_host, "127.0.0.1");
	ck_assert_int_eq(cfg.redis_port, 6379);
	ck_assert_str_eq(cfg.region, "local");
	ck_assert_str_eq(cfg.public_url, "http://127.0.0.1:8080");
	ck_assert_str_eq(cfg.storage_root, "./var/storage");
	ck_assert(!cfg.http_allow_private);
	ck_assert_int_eq(cfg.jobs_poll_ms, 500);
	ck_assert_int_eq(cfg.jobs_backoff_base_ms, 1000);
	ck_assert_int_eq(cfg.jobs_max_attempts, 5);
	ck_assert_int_eq(cfg.jobs_concurrency, 1);
	ck_assert_str_eq(cfg.default_plan, "free");
	ck_assert_int_eq(cfg.lookup_rate_limit, 30);
	ck_assert_int_eq(cfg.max_body_bytes, 26214400);
}
END_TEST

START_TEST(values_in_the_file_override_defaults)
{
	const char *text =
		"listen = /run/tessera.sock\n"
		"workers = 16\n"
		"db_port = 3307\n"
		"db_name = tessera_test\n"
		"http_allow_private = true\n"
		"public_url = https://api.example.com\n"
		"log_level = debug\n"
		MINIMAL;
	ck_assert_msg(config_parse(&cfg, text, false, err, sizeof(err)) == 0, "%s", err);
	ck_assert_str_eq(cfg.listen, "/run/tessera.sock");
	ck_assert_int_eq(cfg.workers, 16);
	ck_assert_int_eq(cfg.db_port, 3307);
	ck_assert_str_eq(cfg.db_name, "tessera_test");
	ck_assert(cfg.http_allow_private);
	ck_assert_str_eq(cfg.public_url, "https://api.example.com");
	ck_assert_str_eq(cfg.log_level, "debug");
}
END_TEST

START_TEST(comments_blank_lines_and_whitespace_are_ignored)
{
	const char *text =
		"# Tessera configuration\n"
		"\n"
		"   \n"
		"\t# indented comment\n"
		"  workers\t=\t8  \r\n"
		"region=eu-west\n"
		MINIMAL
		"# trailing comment without newline";
	ck_assert_msg(config_parse(&cfg, text, false, err, sizeof(err)) == 0, "%s", err);
	ck_assert_int_eq(cfg.workers, 8);
	ck_assert_str_eq(cfg.region, "eu-west");
}
END_TEST

START_TEST(quoted_values_lose_their_quotes)
{
	const char *text =
		"db_password = \"p@ss = word # not a comment\"\n"
		"region = \"\"\n"
		"default_plan = \"pro\n" /* unbalanced: kept as written */
		MINIMAL;
	ck_assert_msg(config_parse(&cfg, text, false, err, sizeof(err)) == 0, "%s", err);
	ck_assert_str_eq(cfg.db_password, "p@ss = word # not a comment");
	ck_assert_str_eq(cfg.region, "");
	ck_assert_str_eq(cfg.default_plan, "\"pro");
}
END_TEST

START_TEST(later_lines_win)
{
	ck_assert_int_eq(config_parse(&cfg, "workers = 2\nworkers = 3\n" MINIMAL, false, err, sizeof(err)), 0);
	ck_assert_int_eq(cfg.workers, 3);
}
END_TEST

static const struct {
	const char *line;
	const char *bool_want; /* "1"/"0" */
} bool_cases[] = {
	{ "true", "1" }, { "yes", "1" }, { "on", "1" }, { "1", "1" },
	{ "false", "0" }, { "no", "0" }, { "off", "0" }, { "0", "0" },
};

START_TEST(booleans_accept_the_usual_spellings)
{
	char text[256];
	snprintf(text, sizeof(text), "http_allow_private = %s\n" MINIMAL, bool_cases[_i].line);
	ck_assert_msg(config_parse(&cfg, text, false, err, sizeof(err)) == 0, "%s", err);
	ck_assert_int_eq(cfg.http_allow_private, bool_cases[_i].bool_want[0] == '1');
}
END_TEST

/* Each bad text fails and its message contains every listed fragment. */
static const struct {
	const char *text;
	const char *frag1;
	const char *frag2;
} bad_cases[] = {
	{ "bogus_key = 1\n" MINIMAL, "\"bogus_key\"", "unknown setting" },
	{ "Workers = 4\n" MINIMAL, "\"Workers\"", "unknown setting" },        /* keys are lower case */
	{ "workers = many\n" MINIMAL, "workers", "\"many\"" },
	{ "workers = 4x\n" MINIMAL, "workers", "between 1 and 256" },
	{ "workers = 0\n" MINIMAL, "workers", "between 1 and 256" },
	{ "workers = 257\n" MINIMAL, "workers", "between 1 and 256" },
	{ "workers = \n" MINIMAL, "workers", "integer" },
	{ "workers = 99999999999999999999\n" MINIMAL, "workers", "integer" },
	{ "db_port = 65536\n" MINIMAL, "db_port", "between 1 and 65535" },
	{ "max_body_bytes = 1023\n" MINIMAL, "max_body_bytes", "integer" },
	{ "http_allow_private = maybe\n" MINIMAL, "http_allow_private", "true or false" },
	{ "http_allow_private = TRUE\n" MINIMAL, "http_allow_private", "\"TRUE\"" },
	{ "workers 4\n" MINIMAL, "line 1", "key = value" },
	{ "# ok\nworkers = 4\nnonsense\n" MINIMAL, "line 3", "key = value" },
	{ "", "master_key", "required" },
	{ "workers = 4\n", "master_key", "required" },
	{ "master_key = \n", "master_key", "required" },
	{ "master_key = 0001\n", "master_key", "64 hex" },
	{ "master_key = " MASTER_KEY "00\n", "master_key", "64 hex" },         /* 66 chars */
	{ "master_key = zz0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n",
	  "master_key", "64 hex" },
	{ "log_level = verbose\n" MINIMAL, "log_level", "\"verbose\"" },
	{ "db_name = Tessera-Prod\n" MINIMAL, "db_name", "lower-case" },
	{ "db_name = \n" MINIMAL, "db_name", "lower-case" },
	{ "db_host = \n" MINIMAL, "db_socket or db_host", "required" },
	{ "public_url = ftp://example.com\n" MINIMAL, "public_url", "http://" },
	{ "storage_backend = disk\n" MINIMAL, "storage_backend", "local or s3" },
	{ "storage_backend = s3\n" MINIMAL, "s3_endpoint", "http://" },
	{ "storage_backend = s3\ns3_endpoint = http://\n" MINIMAL, "s3_endpoint", "URL" },
	{ "storage_backend = s3\ns3_endpoint = http://s3\n" MINIMAL, "needs", "s3_bucket" },
	{ "storage_backend = s3\ns3_endpoint = http://s3\ns3_bucket = a/b\n" MINIMAL, "needs",
	  "s3_bucket" },
	{ "storage_backend = s3\ns3_endpoint = https://s3\ns3_bucket = b\ns3_access_key = k\n"
	  MINIMAL, "needs", "s3_secret_key" },
	{ "s3_presign_ttl = 5\n" MINIMAL, "s3_presign_ttl", "between 10 and 604800" },
	{ "storage_backend = s3\ns3_endpoint = https://s3\ns3_bucket = b\ns3_access_key = k\n"
	  "s3_secret_key = s\nfiles_max_presigned_mb = 6000\n" MINIMAL, "files_max_presigned_mb",
	  "at most 5120" },
};

START_TEST(bad_text_fails_with_a_message_naming_the_problem)
{
	err[0] = '\0';
	int rc = config_parse(&cfg, bad_cases[_i].text, false, err, sizeof(err));
	ck_assert_msg(rc == -1, "accepted: %s", bad_cases[_i].text);
	ck_assert_msg(strstr(err, bad_cases[_i].frag1) != NULL, "\"%s\" lacks \"%s\"", err, bad_cases[_i].frag1);
	ck_assert_msg(strstr(err, bad_cases[_i].frag2) != NULL, "\"%s\" lacks \"%s\"", err, bad_cases[_i].frag2);
	ck_assert_int_eq(strncmp(err, "config: ", 8), 0);
}
END_TEST

START_TEST(db_socket_alone_is_enough)
{
	ck_assert_msg(config_parse(&cfg, "db_host =\ndb_socket = /run/mysqld.sock\n" MINIMAL, false, err,
				   sizeof(err)) == 0, "%s", err);
	ck_assert_str_eq(cfg.db_socket, "/run/mysqld.sock");
	ck_assert_str_eq(cfg.db_host, "");
}
END_TEST

START_TEST(environment_overrides_the_file_when_use_env_is_true)
{
	setenv("TESSERA_WORKERS", "12", 1);
	setenv("TESSERA_REGION", "ap-south", 1);
	setenv("TESSERA_HTTP_ALLOW_PRIVATE", "yes", 1);
	int rc = config_parse(&cfg, "workers = 2\n" MINIMAL, true, err, sizeof(err));
	unsetenv("TESSERA_WORKERS");
	unsetenv("TESSERA_REGION");
	unsetenv("TESSERA_HTTP_ALLOW_PRIVATE");
	ck_assert_msg(rc == 0, "%s", err);
	ck_assert_int_eq(cfg.workers, 12);
	ck_assert_str_eq(cfg.region, "ap-south");
	ck_assert(cfg.http_allow_private);
}
END_TEST

START_TEST(environment_is_ignored_when_use_env_is_false)
{
	setenv("TESSERA_WORKERS", "12", 1);
	int rc = config_parse(&cfg, "workers = 2\n" MINIMAL, false, err, sizeof(err));
	unsetenv("TESSERA_WORKERS");
	ck_assert_msg(rc == 0, "%s", err);
	ck_assert_int_eq(cfg.workers, 2);
}
END_TEST

START_TEST(environment_can_supply_the_master_key)
{
	setenv("TESSERA_MASTER_KEY", MASTER_KEY, 1);
	int rc = config_parse(&cfg, "", true, err, sizeof(err));
	unsetenv("TESSERA_MASTER_KEY");
	ck_assert_msg(rc == 0, "%s", err);
	ck_assert_str_eq(cfg.master_key, MASTER_KEY);
	ck_assert_uint_eq(cfg.master_key_bin[31], 0x1f);
}
END_TEST

START_TEST(bad_environment_value_fails_naming_the_key)
{
	setenv("TESSERA_WORKERS", "lots", 1);
	int rc = config_parse(&cfg, MINIMAL, true, err, sizeof(err));
	unsetenv("TESSERA_WORKERS");
	ck_assert_int_eq(rc, -1);
	ck_assert_ptr_nonnull(strstr(err, "workers"));
	ck_assert_ptr_nonnull(strstr(err, "\"lots\""));
}
END_TEST

START_TEST(config_load_of_a_missing_file_names_the_path)
{
	ck_assert_int_eq(config_load(&cfg, "/nonexistent/tessera.conf", err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "/nonexistent/tessera.conf"));
}
END_TEST

START_TEST(config_load_reads_a_file)
{
	char path[] = "/tmp/tessera-unit-config-XXXXXX";
	int fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	FILE *f = fdopen(fd, "w");
	fputs("# test\nworkers = 7\n" MINIMAL, f);
	fclose(f);
	int rc = config_load(&cfg, path, err, sizeof(err));
	unlink(path);
	ck_assert_msg(rc == 0, "%s", err);
	ck_assert_int_eq(cfg.workers, 7);
}
END_TEST

START_TEST(config_release_frees_strings_and_wipes_the_key)
{
	ck_assert_int_eq(config_parse(&cfg, MINIMAL, false, err, sizeof(err)), 0);
	config_release(&cfg);
	ck_assert_ptr_null(cfg.master_key);
	ck_assert_ptr_null(cfg.listen);
	ck_assert_ptr_null(cfg.public_url);
	for (int i = 0; i < 32; i++)
		ck_assert_uint_eq(cfg.master_key_bin[i], 0);
	/* Releasing twice is harmless (the teardown does it again). */
	config_release(&cfg);
}
END_TEST

START_TEST(redis_sentinels_are_addresses_with_a_master_name)
{
	ck_assert_int_eq(config_parse(&cfg, MINIMAL "redis_sentinels = 10.0.0.1:26379, /run/s.sock\n",
				      false, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "redis_master_name"), "%s", err);
	config_release(&cfg);
	ck_assert_int_eq(config_parse(&cfg, MINIMAL "redis_master_name = m\n"
				      "redis_sentinels = 10.0.0.1:26379,nohostport\n", false, err,
				      sizeof(err)), -1);
	ck_assert_msg(strstr(err, "redis_sentinels: \"nohostport\""), "%s", err);
	config_release(&cfg);
	ck_assert_int_eq(config_parse(&cfg, MINIMAL "redis_master_name = m\nredis_password = p\n"
				      "redis_sentinels = 10.0.0.1:26379, /run/s.sock\n", false, err,
				      sizeof(err)), 0);
	char host[64];
	int port;
	ck_assert_int_eq(config_redis_addr(" h.example:26380 ", 17, host, sizeof(host), &port), 0);
	ck_assert_str_eq(host, "h.example");
	ck_assert_int_eq(port, 26380);
	ck_assert_int_eq(config_redis_addr("/run/s.sock", 11, host, sizeof(host), &port), 0);
	ck_assert_str_eq(host, "/run/s.sock");
	ck_assert_int_eq(port, 0);
	ck_assert_int_eq(config_redis_addr("h:0", 3, host, sizeof(host), &port), -1);
	ck_assert_int_eq(config_redis_addr("h:70000", 7, host, sizeof(host), &port), -1);
	ck_assert_int_eq(config_redis_addr(":1", 2, host, sizeof(host), &port), -1);
}
END_TEST

START_TEST(redis_cluster_takes_host_port_seeds_and_no_sentinels)
{
	ck_assert_int_eq(config_parse(&cfg, MINIMAL "redis_cluster = 10.0.0.1:7000, 10.0.0.2:7000\n",
				      false, err, sizeof(err)), 0);
	ck_assert_str_eq(cfg.redis_cluster, "10.0.0.1:7000, 10.0.0.2:7000");
	config_release(&cfg);
	/* Cluster nodes announce host:port; a unix socket cannot be a seed. */
	ck_assert_int_eq(config_parse(&cfg, MINIMAL "redis_cluster = 10.0.0.1:7000,/run/r.sock\n",
				      false, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "redis_cluster: \"/run/r.sock\" is not host:port"), "%s", err);
	config_release(&cfg);
	ck_assert_int_eq(config_parse(&cfg, MINIMAL "redis_cluster = 10.0.0.1:7000\n"
				      "redis_master_name = m\nredis_sentinels = 10.0.0.1:26379\n",
				      false, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "redis_cluster and redis_sentinels"), "%s", err);
}
END_TEST

Suite *suite_config(void)
{
	Suite *s = suite_create("config");
	TCase *tc = tcase_create("parse");
	tcase_add_checked_fixture(tc, config_setup, config_teardown);
	tcase_add_test(tc, minimal_text_parses_and_applies_defaults);
	tcase_add_test(tc, values_in_the_file_override_defaults);
	tcase_add_test(tc, comments_blank_lines_and_whitespace_are_ignored);
	tcase_add_test(tc, quoted_values_lose_their_quotes);
	tcase_add_test(tc, later_lines_win);
	tcase_add_loop_test(tc, booleans_accept_the_usual_spellings, 0,
			    (int)(sizeof(bool_cases) / sizeof(bool_cases[0])));
	tcase_add_loop_test(tc, bad_text_fails_with_a_message_naming_the_problem, 0,
			    (int)(sizeof(bad_cases) / sizeof(bad_cases[0])));
	tcase_add_test(tc, db_socket_alone_is_enough);
	tcase_add_test(tc, config_release_frees_strings_and_wipes_the_key);
	suite_add_tcase(s, tc);

	tc = tcase_create("env");
	tcase_add_checked_fixture(tc, config_setup, config_teardown);
	tcase_add_test(tc, environment_overrides_the_file_when_use_env_is_true);
	tcase_add_test(tc, environment_is_ignored_when_use_env_is_false);
	tcase_add_test(tc, environment_can_supply_the_master_key);
	tcase_add_test(tc, bad_environment_value_fails_naming_the_key);
	tcase_add_test(tc, config_load_of_a_missing_file_names_the_path);
	tcase_add_test(tc, config_load_reads_a_file);
	tcase_add_test(tc, redis_sentinels_are_addresses_with_a_master_name);
	tcase_add_test(tc, redis_cluster_takes_host_port_seeds_and_no_sentinels);
	suite_add_tcase(s, tc);
	return s;
}
