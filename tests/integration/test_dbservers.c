/*
 * test_dbservers.c - tenants across two MariaDB servers (db_servers), on
 * the two-server stack of twoservers.h.  What lives where is read from
 * each server directly.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "peers.h"
#include "twoservers.h"

Suite *suite_dbservers(void);

static long long count_per(const char *server)
{
	char *q = strf("SELECT COUNT(*) FROM tenants WHERE COALESCE(db_server, 'main') = '%s'", server);
	char *n = control_sql(q);
	long long c = atoll(n);
	free(q);
	free(n);
	return c;
}

/* --- placement ------------------------------------------------------------ */

START_TEST(new_tenants_go_to_the_server_with_fewest_and_server_picks_one)
{
	long long m0 = count_per("main"), s0 = count_per("s2");
	long long n = (m0 > s0 ? m0 - s0 : s0 - m0) + 2;
	for (long long i = 0; i < n; i++) {
		struct tenant t;
		tenant_on(&t, NULL);
		tenant_drop(&t);
	}
	/* each went where fewer were: the two end level */
	ck_assert_int_eq(count_per("main"), count_per("s2"));
	ck_assert_int_eq(count_per("main") + count_per("s2"), m0 + s0 + n);

	struct tenant a, b;
	tenant_on(&a, "main");
	tenant_on(&b, "s2");
	char *sa = server_of(a.id), *sb = server_of(b.id);
	ck_assert_str_eq(sa, "main");
	ck_assert_str_eq(sb, "s2");
	/* the data DB is on that server and only there */
	ck_assert(db_on(false, a.id) && !db_on(true, a.id));
	ck_assert(db_on(true, b.id) && !db_on(false, b.id));

	/* an unknown server is refused, and nothing is made */
	int rc;
	char *out = run_cmd(&rc, "%s tenant create --name Nowhere --server s9 --config %s 2>&1", bin(),
			    conf_path());
	ck_assert_int_ne(rc, 0);
	ck_assert_msg(strstr(out, "unknown server \"s9\""), "%s", out);
	free(out);
	char *none = control_sql("SELECT COUNT(*) FROM tenants WHERE name = 'Nowhere'");
	ck_assert_str_eq(none, "0");
	free(none);

	/* tenant list shows the server */
	out = run_cmd(&rc, "%s tenant list --json --config %s 2>&1", bin(), conf_path());
	cJSON *list = cJSON_Parse(out);
	ck_assert_msg(rc == 0 && list, "%s", out);
	const cJSON *row = find_by(list, "tenant_id", b.id);
	ck_assert_ptr_nonnull(row);
	ck_assert_str_eq(json_str(row, "db_server"), "s2");
	cJSON_Delete(list);
	free(out);
	free(sa);
	free(sb);
	tenant_drop(&a);
	tenant_drop(&b);
}
END_TEST

/* --- requests ------------------------------------------------------------- */

START_TEST(objects_of_a_tenant_on_the_second_server_are_read_and_written_there)
{
	struct tenant t;
	tenant_on(&t, "s2");
	char *type = type_make(t.key, "probes");
	prop_make(t.key, "probes", "{\"name\":\"label\",\"data_type\":\"string\"}");
	char *id = obj_make(t.key, "probes", "{\"label\":\"first\"}");

	http_resp *r = call("GET", t.key, NULL, "/v1/objects/probes/%s", id);
	assert_envelope(r, 200, NULL);
	ck_assert_str_eq(json_str(item(resp_data(r), "properties"), "label"), "first");
	http_free(r);
	r = call("PATCH", t.key, "{\"properties\":{\"label\":\"second\"}}", "/v1/objects/probes/%s", id);
	assert_envelope(r, 200, NULL);
	http_free(r);
	r = call("GET", t.key, NULL, "/v1/objects/probes/list");
	assert_envelope(r, 200, NULL);
	ck_assert_int_eq(cJSON_GetArraySize(item(resp_data(r), "results")), 1);
	ck_assert_str_eq(json_str(item(cJSON_GetArrayItem(item(resp_data(r), "results"), 0),
				       "properties"), "label"), "second");
	http_free(r);

	/* the row is in the tenant DB on s2; the event in s2's outbox */
	char *dbn = control_sql(strf("SELECT db_name FROM tenants WHERE id = '%s'", t.id));
	char *q = strf("SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = '%s'", dbn);
	char *tables = s2_sql(q);
	ck_assert_int_gt(atoi(tables), 5);
	free(q);
	q = strf("SELECT COUNT(*) FROM outbox WHERE tenant_id = '%s' AND event = 'object.updated' "
		 "AND resource_id = '%s'", t.id, id);
	char *ev = s2_sql(q);
	ck_assert_str_eq(ev, "1");
	free(q);
	char *pev = control_sql(strf("SELECT COUNT(*) FROM outbox WHERE tenant_id = '%s'", t.id));
	ck_assert_str_eq(pev, "0");

	r = call("DELETE", t.key, NULL, "/v1/objects/probes/%s", id);
	ck_assert_int_lt(r->status, 300);
	http_free(r);
	r = call("GET", t.key, NULL, "/v1/objects/probes/%s", id);
	assert_envelope(r, 404, "NOT_FOUND");
	http_free(r);
	free(pev);
	free(ev);
	free(tables);
	free(dbn);
	free(id);
	free(type);
	tenant_drop(&t);
}
END_TEST

START_TEST(tenants_on_different_servers_never_see_each_other)
{
	struct tenant a, b;
	tenant_on(&a, "main");
	tenant_on(&b, "s2");
	free(type_make(a.key, "notes"));
	free(type_make(b.key, "notes"));
	char *oa = obj_make(a.key, "notes", "{}"), *ob = obj_make(b.key, "notes", "{}");
	http_resp *r = call("GET", b.key, NULL, "/v1/objects/notes/%s", oa);
	assert_envelope(r, 404, "NOT_FOUND");
	http_free(r);
	r = call("GET", a.key, NULL, "/v1/objects/notes/%s", ob);
	assert_envelope(r, 404, "NOT_FOUND");
	http_free(r);
	r = call("GET", a.key, NULL, "/v1/objects/notes/list");
	assert_envelope(r, 200, NULL);
	ck_assert_int_eq(cJSON_GetArraySize(item(resp_data(r), "results")), 1);
	ck_assert_str_eq(json_str(cJSON_GetArrayItem(item(resp_data(r), "results"), 0), "id"), oa);
	http_free(r);
	r = call("GET", b.key, NULL, "/v1/objects/notes/list");
	assert_envelope(r, 200, NULL);
	ck_assert_int_eq(cJSON_GetArraySize(item(resp_data(r), "results")), 1);
	ck_assert_str_eq(json_str(cJSON_GetArrayItem(item(resp_data(r), "results"), 0), "id"), ob);
	http_free(r);
	free(oa);
	free(ob);
	tenant_drop(&a);
	tenant_drop(&b);
}
END_TEST

/* --- events and jobs ------------------------------------------------------- */

START_TEST(events_of_a_tenant_on_the_second_server_reach_its_webhooks)
{
	struct receiver rv;
	recv_start(&rv);
	struct tenant t;
	tenant_on(&t, "s2");
	char *url = hook_url(&rv, "a"), *secret;
	char *wid = hook_make(t.key, url, "[\"object.created\"]", NULL, &secret);
	box_setup(&rv, "a", secret, NULL);
	free(type_make(t.key, "leads"));
	char *obj = obj_make(t.key, "leads", "{}");
	cJSON *got = recv_wait(&rv, "a", 1, 20);
	const cJSON *d = received(got, 0);
	ck_assert_msg(verified_with(d, secret), "signature: %s", cJSON_PrintUnformatted(d));
	const cJSON *body = item(d, "body");
	ck_assert_str_eq(json_str(body, "type"), "object.created");
	ck_assert_str_eq(json_str(body, "tenant_id"), t.id);
	ck_assert_str_eq(json_str(body, "resource_id"), obj);
	cJSON_Delete(got);
	/* the delivery job ran from s2's jobs table */
	char *q = strf("SELECT COUNT(*) FROM jobs WHERE kind = 'webhook.deliver' AND tenant_id = '%s' "
		       "AND status = 'done'", t.id);
	s2_wait(q, "1");
	free(q);

	/* An API key is a row on the primary: its audit entry is written
	 * there and forwarded to s2, where the tenant's audit log is. */
	char *kid;
	free(key_new(t.key, "{\"label\":\"second\",\"scopes\":[\"read\"]}", &kid));
	q = strf("SELECT COUNT(*) FROM audit_logs WHERE tenant_id = '%s' AND resource_id = '%s'",
		 t.id, kid);
	s2_wait(q, "1");
	free(q);
	struct audit_page p;
	audit_get(&p, t.key, NULL);
	ck_assert_ptr_nonnull(audit_find(p.logs, "api_key.created", kid));
	http_free(p.r);
	char *left = control_sql(strf("SELECT COUNT(*) FROM audit_logs WHERE tenant_id = '%s'", t.id));
	ck_assert_str_eq(left, "0");
	free(left);
	free(kid);
	free(obj);
	free(url);
	free(secret);
	free(wid);
	tenant_drop(&t);
	recv_stop(&rv);
}
END_TEST

START_TEST(a_new_key_of_a_tenant_on_the_second_server_works_at_once)
{
	struct tenant t;
	tenant_on(&t, "s2");
	char *kid;
	char *key = key_new(t.key, "{\"label\":\"reader\",\"scopes\":[\"read\"]}", &kid);
	http_resp *r = http_get("/v1/object-types", key);
	assert_envelope(r, 200, NULL);
	http_free(r);
	r = http_get("/v1/keys", t.key);
	assert_envelope(r, 200, NULL);
	ck_assert_ptr_nonnull(find_by(resp_data(r), "id", kid));
	http_free(r);
	r = call("DELETE", t.key, NULL, "/v1/keys/%s", kid);
	ck_assert_int_lt(r->status, 300);
	http_free(r);
	r = http_get("/v1/object-types", key);
	assert_envelope(r, 401, "UNAUTHORIZED");
	http_free(r);
	free(key);
	free(kid);
	tenant_drop(&t);
}
END_TEST

Suite *suite_dbservers(void)
{
	Suite *s = suite_create("dbservers");
	TCase *tc = twoservers_tcase("two servers", 300);
	tcase_add_test(tc, new_tenants_go_to_the_server_with_fewest_and_server_picks_one);
	tcase_add_test(tc, objects_of_a_tenant_on_the_second_server_are_read_and_written_there);
	tcase_add_test(tc, tenants_on_different_servers_never_see_each_other);
	tcase_add_test(tc, events_of_a_tenant_on_the_second_server_reach_its_webhooks);
	tcase_add_test(tc, a_new_key_of_a_tenant_on_the_second_server_works_at_once);
	twoservers_tcase_add(s, tc);
	return s;
}
