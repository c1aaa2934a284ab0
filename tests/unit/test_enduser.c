/*
 * test_enduser.c - the pure helpers of handlers/enduser.c: the links
 * sent in emails, redirect_to checks, email and E.164 phone shapes.
 */
#include "unit.h"

#include "../../handlers/enduser.h"

START_TEST(auth_link_adds_token_type_and_tenant_to_the_base)
{
	arena_t *a = arena_new(4096);
	req_t r;
	unit_req_init(&r, a);
	r.tenant.id = "tn_01ABC";
	auth_settings_t s = { 0 };
	s.site_url = "https://app.example.com";
	ck_assert_str_eq(auth_link(&r, &s, NULL, "ab+/=c", "recovery"),
			 "https://app.example.com?token=ab%2B%2F%3Dc&type=recovery&tenant_id=tn_01ABC");
	ck_assert_str_eq(auth_link(&r, &s, "https://app.example.com/cb?x=1", "t", "magic_link"),
			 "https://app.example.com/cb?x=1&token=t&type=magic_link&tenant_id=tn_01ABC");
	arena_free(a);
}
END_TEST

START_TEST(redirect_to_must_be_http_and_allowed)
{
	arena_t *a = arena_new(4096);
	req_t r;
	unit_req_init(&r, a);
	auth_settings_t s = { 0 };
	ck_assert_int_eq(redirect_check(&r, &s, NULL), E_OK);
	ck_assert_int_eq(redirect_check(&r, &s, "javascript:alert(1)"), E_VALIDATION);
	ck_assert_str_eq(unit_json_str(r.err_details, "field", NULL), "redirect_to");
	ck_assert_int_eq(redirect_check(&r, &s, "//evil.example.com"), E_VALIDATION);
	arena_free(a);
}
END_TEST

START_TEST(email_and_phone_shapes)
{
	ck_assert(email_address_valid("jane@example.com"));
	ck_assert(email_address_valid("j.d+tag@sub.example.co.uk"));
	ck_assert(!email_address_valid("jane"));
	ck_assert(!email_address_valid("@example.com"));
	ck_assert(!email_address_valid("jane@example"));
	ck_assert(!email_address_valid("jane@.example.com"));
	ck_assert(!email_address_valid("jane@example.com."));
	ck_assert(!email_address_valid("ja ne@example.com"));
	ck_assert(!email_address_valid("a@b@example.com"));
	ck_assert(phone_e164_valid("+15551234567"));
	ck_assert(phone_e164_valid("+447700900123"));
	ck_assert(!phone_e164_valid("15551234567"));
	ck_assert(!phone_e164_valid("+0123456789"));
	ck_assert(!phone_e164_valid("+1 555 123 4567"));
	ck_assert(!phone_e164_valid("+1234567890123456"));
	ck_assert(!phone_e164_valid("+123"));
}
END_TEST

Suite *suite_enduser(void)
{
	Suite *s = suite_create("enduser");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, auth_link_adds_token_type_and_tenant_to_the_base);
	tcase_add_test(tc, redirect_to_must_be_http_and_allowed);
	tcase_add_test(tc, email_and_phone_shapes);
	suite_add_tcase(s, tc);
	return s;
}
