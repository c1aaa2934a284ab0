/*
 * test_roles.c - the permission vocabulary of handlers/roles.c: which
 * strings are permissions, what a set grants, and that only `admin`
 * (never `*`) makes a tenant administrator.
 */
#include "unit.h"

#include "../../handlers/identity_admin.h"

START_TEST(admin_is_a_permission_of_its_own)
{
	const char *good[] = { "admin", "*", "objects:read", "objects:notes:*", "files:*", "ai:use" };
	const char *bad[] = { "admins", "Admin", "admin:*", "objects:admin", "admin:read", "", ":" };
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		ck_assert_msg(perm_valid(good[i]), "%s refused", good[i]);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(!perm_valid(bad[i]), "%s accepted", bad[i]);
}
END_TEST

START_TEST(admin_grants_everything_and_star_is_not_admin)
{
	const char *admin[] = { "objects:read", "admin", NULL };
	const char *star[] = { "*", NULL };
	const char *reader[] = { "objects:notes:read", NULL };
	const char *none[] = { NULL };
	ck_assert(perms_admin(admin));
	ck_assert(!perms_admin(star));
	ck_assert(!perms_admin(reader));
	ck_assert(!perms_admin(none));
	ck_assert(perms_grant(admin, "files", NULL, NULL, "write"));
	ck_assert(perms_grant(admin, "objects", "notes", "ot_1", "write"));
	ck_assert(perms_grant(star, "events", NULL, NULL, "publish"));
	ck_assert(perms_grant(reader, "objects", "notes", "ot_1", "read"));
	ck_assert(!perms_grant(reader, "objects", "notes", "ot_1", "write"));
	ck_assert(!perms_grant(none, "objects", NULL, NULL, "read"));
}
END_TEST

Suite *suite_roles(void)
{
	Suite *s = suite_create("roles");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, admin_is_a_permission_of_its_own);
	tcase_add_test(tc, admin_grants_everything_and_star_is_not_admin);
	suite_add_tcase(s, tc);
	return s;
}
