/*
 * test_webhook_send.c - fcgi/webhook_send.c and the event vocabulary of
 * fcgi/fanout.c: Standard Webhooks signatures (the specification's own
 * test vector), secrets, the retry schedule, and which subscriptions
 * match which events.
 */
#include "unit.h"

#include <sodium.h>

#include "../../common/config.h"
#include "../../fcgi/fanout.h"
#include "../../fcgi/webhook_send.h"

START_TEST(signature_matches_the_standard_webhooks_test_vector)
{
	arena_t *a = arena_new(4096);
	const char *body = "{\"test\": 2432232314}";
	char *sig = wh_sign(a, "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek",
			    1614265330, body, strlen(body));
	ck_assert_str_eq(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
	ck_assert_ptr_null(wh_sign(a, "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "m", 1, "x", 1));
	ck_assert_ptr_null(wh_sign(a, "whsec_***", "m", 1, "x", 1));
	arena_free(a);
}
END_TEST

START_TEST(new_secrets_are_whsec_and_24_random_bytes)
{
	arena_t *a = arena_new(4096);
	char *s1 = wh_secret_new(a), *s2 = wh_secret_new(a);
	ck_assert_str_ne(s1, s2);
	ck_assert(!strncmp(s1, "whsec_", 6));
	unsigned char raw[64];
	size_t n = 0;
	ck_assert_int_eq(sodium_base642bin(raw, sizeof(raw), s1 + 6, strlen(s1 + 6), NULL, &n, NULL,
					   sodium_base64_VARIANT_ORIGINAL), 0);
	ck_assert_int_eq(n, 24);
	ck_assert_ptr_nonnull(wh_sign(a, s1, "evt_1", 1, "{}", 2));
	arena_free(a);
}
END_TEST

START_TEST(retries_spread_over_about_a_day)
{
	int saved = g_config.webhook_retry_base_ms;
	g_config.webhook_retry_base_ms = 60000;
	long long total = 0;
	for (int n = 1; n <= 6; n++) {
		long base = 60000L << (2 * (n - 1));
		long d = wh_retry_delay_ms(n);
		ck_assert_msg(d >= base && d <= base + base / 5, "attempt %d: %ld ms", n, d);
		total += d;
	}
	/* 7 attempts: 1 + 4 + 16 + 64 + 256 + 1024 minutes between them. */
	ck_assert_msg(total >= 1365LL * 60000 && total <= 1365LL * 72000, "total %lld ms", total);
	ck_assert_int_le(wh_retry_delay_ms(40), 24L * 3600 * 1000 * 6 / 5);
	g_config.webhook_retry_base_ms = saved;
}
END_TEST

START_TEST(subscriptions_name_known_types_custom_events_or_everything)
{
	ck_assert(event_subscription_valid("object.created"));
	ck_assert(event_subscription_valid("file.uploaded"));
	ck_assert(event_subscription_valid("custom.*"));
	ck_assert(event_subscription_valid("*"));
	ck_assert(event_subscription_valid("custom.signup"));
	ck_assert(event_subscription_valid("custom.page.viewed"));
	ck_assert(!event_subscription_valid("object.exploded"));
	ck_assert(!event_subscription_valid("object.*"));
	ck_assert(!event_subscription_valid("custom."));
	ck_assert(!event_subscription_valid("custom.9x"));
	ck_assert(!event_subscription_valid("webhook.test"));
	ck_assert(event_custom_name_valid("a"));
	ck_assert(event_custom_name_valid("Order_Paid:v2-beta.1"));
	ck_assert(!event_custom_name_valid(""));
	ck_assert(!event_custom_name_valid("_x"));
	ck_assert(!event_custom_name_valid("has space"));
	char longname[60];
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	ck_assert(!event_custom_name_valid(longname));

	cJSON *ev = cJSON_Parse("[\"object.created\",\"custom.signup\"]");
	ck_assert(event_subscribed(ev, "object.created"));
	ck_assert(event_subscribed(ev, "custom.signup"));
	ck_assert(!event_subscribed(ev, "object.updated"));
	ck_assert(!event_subscribed(ev, "custom.login"));
	cJSON_Delete(ev);
	ev = cJSON_Parse("[\"custom.*\"]");
	ck_assert(event_subscribed(ev, "custom.login"));
	ck_assert(!event_subscribed(ev, "object.created"));
	cJSON_Delete(ev);
	ev = cJSON_Parse("[\"*\"]");
	ck_assert(event_subscribed(ev, "user.created"));
	ck_assert(event_subscribed(ev, "custom.x"));
	cJSON_Delete(ev);
}
END_TEST

Suite *suite_webhook_send(void)
{
	Suite *s = suite_create("webhook_send");
	TCase *tc = tcase_create("signing");
	tcase_add_test(tc, signature_matches_the_standard_webhooks_test_vector);
	tcase_add_test(tc, new_secrets_are_whsec_and_24_random_bytes);
	tcase_add_test(tc, retries_spread_over_about_a_day);
	tcase_add_test(tc, subscriptions_name_known_types_custom_events_or_everything);
	suite_add_tcase(s, tc);
	return s;
}
