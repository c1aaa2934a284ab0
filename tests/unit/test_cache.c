/*
 * test_cache.c - common/cache.c without a server: the Redis Cluster hash
 * slot of a key, and that a tenant's keys share one.
 */
#include "unit.h"

#include "../../common/cache.h"

static uint16_t slot(const char *key)
{
	return cache_key_slot(key, strlen(key));
}

START_TEST(key_slots_are_the_ones_redis_cluster_computes)
{
	/* Values of CLUSTER KEYSLOT on Redis 7 (and the CRC16 check value
	 * 0x31C3 of "123456789", modulo 16384). */
	ck_assert_uint_eq(slot("foo"), 12182);
	ck_assert_uint_eq(slot("somekey"), 11058);
	ck_assert_uint_eq(slot("123456789"), 0x31C3);
	ck_assert_uint_eq(slot(""), 0);
	/* The hash tag: the first {…} with something inside. */
	ck_assert_uint_eq(slot("{user1000}.following"), slot("user1000"));
	ck_assert_uint_eq(slot("foo{}{bar}"), slot("foo{}{bar}"));
	ck_assert_uint_ne(slot("foo{}{bar}"), slot("bar"));
	ck_assert_uint_eq(slot("foo{{bar}}zap"), slot("{bar"));
	ck_assert_uint_eq(slot("foo{bar}{zap}"), slot("bar"));
	/* Binary-safe: the length counts, not a NUL. */
	ck_assert_uint_eq(cache_key_slot("foo\0bar", 3), 12182);
}
END_TEST

START_TEST(a_tenants_keys_share_its_slot)
{
	arena_t *a = arena_new(1024);
	const char *t = "tn_0123456789abcdef";
	uint16_t want = slot(t);
	const char *keys[] = {
		cache_tkey(a, "rl", t, "login:%s", "a@example.com"),
		cache_tkey(a, "sess", t, "%s", "ses_1"),
		cache_tkey(a, "gen", t, "%s", ""),
	};
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		ck_assert_msg(slot(keys[i]) == want, "%s is not in %s's slot", keys[i], t);
	ck_assert_uint_ne(slot("tn_0123456789abcdee"), want);
	arena_free(a);
}
END_TEST

Suite *suite_cache(void)
{
	Suite *s = suite_create("cache");
	TCase *tc = tcase_create("slots");
	tcase_add_test(tc, key_slots_are_the_ones_redis_cluster_computes);
	tcase_add_test(tc, a_tenants_keys_share_its_slot);
	suite_add_tcase(s, tc);
	return s;
}
