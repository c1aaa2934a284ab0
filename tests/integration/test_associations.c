/*
 * test_associations.c - associations end to end through nginx → FastCGI →
 * MariaDB: PUT creates then replaces meta, DELETE, lists by direction and
 * association type with a keyset cursor walk (also while links are added),
 * validation that names the field and writes nothing (bad type names,
 * missing, trashed or mistyped objects, other tenants' ids, oversized
 * meta), the outbox event each change writes, and who may call these
 * endpoints.  Each test makes its own tenant, types and objects.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

Suite *suite_associations(void);

/* ------------------------------------------------------------ helpers */

/* A tenant with empty types contacts and companies. */
struct fixture {
	char *id;
	char *key;
	char *contacts;   /* type ids */
	char *companies;
};

static void fixture_make(struct fixture *t)
{
	ck_assert_msg(tenant_new("pro", &t->id, &t->key) == 0, "tenant create failed");
	t->contacts = type_make(t->key, "contacts");
	t->companies = type_make(t->key, "companies");
}

static void fixture_drop(struct fixture *t)
{
	free(t->id);
	free(t->key);
	free(t->contacts);
	free(t->companies);
}

/* PUT from_type/from_id/associations/atype/to_type/to_id with body. */
static http_resp *link_put(const char *key, const char *ft, const char *fid, const char *atype,
			   const char *tt, const char *tid, const char *body)
{
	return call("PUT", key, body, "/v1/objects/%s/%s/associations/%s/%s/%s", ft, fid, atype, tt, tid);
}

static http_resp *link_del(const char *key, const char *ft, const char *fid, const char *atype,
			   const char *tt, const char *tid)
{
	return call("DELETE", key, NULL, "/v1/objects/%s/%s/associations/%s/%s/%s", ft, fid, atype, tt, tid);
}

/* Creates a link asserting 201; returns the association id (malloc'd). */
static char *link_make(const char *key, const char *ft, const char *fid, const char *atype,
		       const char *tt, const char *tid)
{
	http_resp *r = link_put(key, ft, fid, atype, tt, tid, NULL);
	ck_assert_msg(r->status == 201, "link %s: %ld %s", atype, r->status, r->body);
	assert_envelope(r, 201, NULL);
	char *id = strdup(json_str(resp_data(r), "id"));
	http_free(r);
	return id;
}

/* The list's data for one object (query: "" or "direction=…&…"); caller frees. */
static cJSON *list_of(const char *key, const char *type, const char *id, const char *query)
{
	http_resp *r = call("GET", key, NULL, "/v1/objects/%s/%s/associations%s%s", type, id,
			    *query ? "?" : "", query);
	assert_envelope(r, 200, NULL);
	cJSON *d = cJSON_Duplicate(resp_data(r), 1);
	http_free(r);
	return d;
}

static long long total_of(const char *key, const char *type, const char *id, const char *query)
{
	cJSON *d = list_of(key, type, id, query);
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(d, "total");
	ck_assert(cJSON_IsNumber(t));
	long long n = (long long)t->valuedouble;
	ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(d, "results")), n < 20 ? n : 20);
	cJSON_Delete(d);
	return n;
}

/* The result whose id is id, or NULL. */
static const cJSON *result_with(const cJSON *list, const char *id)
{
	return find_by(item(list, "results"), "id", id);
}

/* ------------------------------------------------------------ writes */

START_TEST(put_creates_then_replaces_meta)
{
	struct fixture t;
	fixture_make(&t);
	char *a = obj_make(t.key, "contacts", "{}"), *c = obj_make(t.key, "companies", "{}");
	http_resp *r = link_put(t.key, "contacts", a, "works_at", "companies", c,
				"{\"meta\":{\"role\":\"cto\",\"since\":2019}}");
	assert_envelope(r, 201, NULL);
	const cJSON *d = resp_data(r);
	char *id = strdup(json_str(d, "id"));
	ck_assert_msg(!strncmp(id, "assoc_", 6), "id %s", id);
	ck_assert_str_eq(json_str(d, "from_type"), "contacts");
	ck_assert_str_eq(json_str(d, "from_type_id"), t.contacts);
	ck_assert_str_eq(json_str(d, "from_id"), a);
	ck_assert_str_eq(json_str(d, "association_type"), "works_at");
	ck_assert_str_eq(json_str(d, "to_type"), "companies");
	ck_assert_str_eq(json_str(d, "to_id"), c);
	const cJSON *meta = cJSON_GetObjectItemCaseSensitive(d, "meta");
	ck_assert_str_eq(json_str(meta, "role"), "cto");
	ck_assert_int_eq(cJSON_GetObjectItemCaseSensitive(meta, "since")->valueint, 2019);
	ck_assert_ptr_nonnull(json_str(d, "created_at"));
	ck_assert_ptr_nonnull(json_str(d, "updated_at"));
	http_free(r);

	/* The same triple again, types named by id: replaces meta, keeps the id. */
	r = link_put(t.key, t.contacts, a, "works_at", t.companies, c, "{\"meta\":{\"role\":\"ceo\"}}");
	assert_envelope(r, 200, NULL);
	ck_assert_str_eq(json_str(resp_data(r), "id"), id);
	meta = cJSON_GetObjectItemCaseSensitive(resp_data(r), "meta");
	ck_assert_str_eq(json_str(meta, "role"), "ceo");
	ck_assert_ptr_null(cJSON_GetObjectItemCaseSensitive(meta, "since"));
	http_free(r);

	/* PUT replaces: no meta (or null) clears it. */
	r = link_put(t.key, "contacts", a, "works_at", "companies", c, NULL);
	assert_envelope(r, 200, NULL);
	ck_assert(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(resp_data(r), "meta")));
	http_free(r);
	r = link_put(t.key, "contacts", a, "works_at", "companies", c, "{\"meta\":null}");
	assert_envelope(r, 200, NULL);
	http_free(r);

	/* Another association type between the same objects is another link. */
	char *other = link_make(t.key, "contacts", a, "invested_in", "companies", c);
	ck_assert_str_ne(other, id);
	ck_assert_int_eq(total_of(t.key, "contacts", a, ""), 2);
	ck_assert_int_eq(total_of(t.key, "companies", c, ""), 2);
	free(other);
	free(id);
	free(a);
	free(c);
	fixture_drop(&t);
}
END_TEST

START_TEST(delete_removes_the_link_once)
{
	struct fixture t;
	fixture_make(&t);
	char *a = obj_make(t.key, "contacts", "{}"), *c = obj_make(t.key, "companies", "{}");
	char *id = link_make(t.key, "contacts", a, "works_at", "companies", c);
	char *keep = link_make(t.key, "contacts", a, "advises", "companies", c);
	http_resp *r = link_del(t.key, "contacts", a, "works_at", "companies", c);
	assert_envelope(r, 200, NULL);
	ck_assert(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(resp_data(r), "deleted")));
	ck_assert_str_eq(json_str(resp_data(r), "id"), id);
	http_free(r);
	r = link_del(t.key, "contacts", a, "works_at", "companies", c);
	assert_envelope(r, 404, "NOT_FOUND");
	http_free(r);
	/* The wrong direction or the wrong types name no link. */
	r = link_del(t.key, "companies", c, "advises", "contacts", a);
	assert_envelope(r, 404, "NOT_FOUND");
	http_free(r);
	r = link_del(t.key, "contacts", a, "advises", "contacts", c);
	assert_envelope(r, 404, "NOT_FOUND");
	http_free(r);
	cJSON *l = list_of(t.key, "contacts", a, "");
	ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(l, "results")), 1);
	ck_assert_ptr_nonnull(result_with(l, keep));
	cJSON_Delete(l);
	/* Deleting a link again after re-creating it gives a new id. */
	char *again = link_make(t.key, "contacts", a, "works_at", "companies", c);
	ck_assert_str_ne(again, id);
	free(again);
	free(keep);
	free(id);
	free(a);
	free(c);
	fixture_drop(&t);
}
END_TEST

START_TEST(links_of_trashed_objects)
{
	struct fixture t;
	fixture_make(&t);
	char *a = obj_make(t.key, "contacts", "{}"), *c = obj_make(t.key, "companies", "{}");
	char *c2 = obj_make(t.key, "companies", "{}");
	char *id = link_make(t.key, "contacts", a, "works_at", "companies", c);
	http_resp *r = call("DELETE", t.key, NULL, "/v1/objects/companies/%s", c);
	assert_envelope(r, 200, NULL);
	http_free(r);
	/* A trashed end cannot be linked, nor listed... */
	r = link_put(t.key, "contacts", a, "works_at", "companies", c, "{\"meta\":{\"x\":1}}");
	assert_fail_field(r, 404, "NOT_FOUND", "to_id");
	http_free(r);
	r = link_put(t.key, "companies", c, "owns", "companies", c2, NULL);
	assert_fail_field(r, 404, "NOT_FOUND", "from_id");
	http_free(r);
	r = call("GET", t.key, NULL, "/v1/objects/companies/%s/associations", c);
	assert_fail_field(r, 404, "NOT_FOUND", "id");
	http_free(r);
	/* ...but its links stay (the trash is reversible) and can be removed. */
	ck_assert_int_eq(total_of(t.key, "contacts", a, ""), 1);
	r = call("POST", t.key, NULL, "/v1/objects/companies/%s/restore", c);
	assert_envelope(r, 200, NULL);
	http_free(r);
	ck_assert_int_eq(total_of(t.key, "companies", c, ""), 1);
	r = call("DELETE", t.key, NULL, "/v1/objects/companies/%s", c);
	http_free(r);
	r = link_del(t.key, "contacts", a, "works_at", "companies", c);
	assert_envelope(r, 200, NULL);
	http_free(r);
	ck_assert_int_eq(total_of(t.key, "contacts", a, ""), 0);
	free(id);
	free(a);
	free(c);
	free(c2);
	fixture_drop(&t);
}
END_TEST

/* n concurrent PUTs of path with body; counts 201s, 200s and others. */
static void put_in_parallel(int n, const char *token, const char *path, const char *body, int counts[3])
{
	pid_t pids[32];
	ck_assert_int_le(n, 32);
	for (int i = 0; i < n; i++) {
		pids[i] = fork();
		ck_assert_int_ge(pids[i], 0);
		if (pids[i] == 0) {
			http_resp *r = http_req("PUT", path, token, NULL, body, strlen(body), NULL);
			int k = r->status == 201 ? 0 : r->status == 200 ? 1 : 2;
			if (k == 2)
				fprintf(stderr, "parallel PUT %s: %ld %s\n", path, r->status, r->body);
			_exit(k);
		}
	}
	counts[0] = counts[1] = counts[2] = 0;
	for (int i = 0; i < n; i++) {
		int st;
		ck_assert_int_eq(waitpid(pids[i], &st, 0), pids[i]);
		int k = WIFEXITED(st) ? WEXITSTATUS(st) : 2;
		counts[k > 2 ? 2 : k]++;
	}
}

START_TEST(racing_puts_create_one_link)
{
	struct fixture t;
	fixture_make(&t);
	char *a = obj_make(t.key, "contacts", "{}"), *c = obj_make(t.key, "companies", "{}");
	long long before = outbox_count(t.id);
	char *path = strf("/v1/objects/contacts/%s/associations/works_at/companies/%s", a, c);
	int counts[3];
	put_in_parallel(12, t.key, path, "{\"meta\":{\"n\":1}}", counts);
	ck_assert_msg(counts[0] == 1 && counts[1] == 11, "%d created, %d replaced, %d other", counts[0],
		      counts[1], counts[2]);
	ck_assert_int_eq(total_of(t.key, "contacts", a, ""), 1);
	ck_assert_int_eq(outbox_count(t.id), before + 12);
	char *sql = strf("SELECT event, COUNT(*) FROM outbox WHERE tenant_id='%s' AND resource_type='association' "
			 "GROUP BY event ORDER BY event", t.id);
	char *out = control_sql(sql);
	ck_assert_str_eq(out, "association.created\t1\nassociation.updated\t11");
	free(out);
	free(sql);
	free(path);
	free(a);
	free(c);
	fixture_drop(&t);
}
END_TEST

/* ------------------------------------------------------------ validation */

START_TEST(bad_input_names_the_field_and_writes_nothing)
{
	struct fixture t;
	fixture_make(&t);
	char *a = obj_make(t.key, "contacts", "{}"), *c = obj_make(t.key, "companies", "{}");
	long long events = outbox_count(t.id);
	char long_type[70];
	memset(long_type, 'a', 65);
	long_type[65] = '\0';
	const char *bad_types[] = { "Works", "1works", "_works", "works-at", long_type };
	for (size_t i = 0; i < sizeof(bad_types) / sizeof(bad_types[0]); i++) {
		http_resp *r = link_put(t.key, "contacts", a, bad_types[i], "companies", c, NULL);
		assert_fail_field(r, 400, "VALIDATION_ERROR", "association_type");
		http_free(r);
		r = link_del(t.key, "contacts", a, bad_types[i], "companies", c);
		assert_fail_field(r, 400, "VALIDATION_ERROR", "association_type");
		http_free(r);
	}
	/* 64 characters is the longest name. */
	long_type[64] = '\0';
	char *ok = link_make(t.key, "contacts", a, long_type, "companies", c);
	http_resp *r = link_del(t.key, "contacts", a, long_type, "companies", c);
	assert_envelope(r, 200, NULL);
	http_free(r);
	free(ok);
	events = outbox_count(t.id);

	const struct {
		const char *ft, *fid, *tt, *tid, *field;
	} missing[] = {
		{ "nosuch", a, "companies", c, "from_type" },
		{ "contacts", a, "ot_01AAAAAAAAAAAAAAAAAAAAAAAA", c, "to_type" },
		{ "contacts", "obj_01AAAAAAAAAAAAAAAAAAAAAAAA", "companies", c, "from_id" },
		{ "contacts", a, "companies", "obj_01AAAAAAAAAAAAAAAAAAAAAAAA", "to_id" },
		/* an object of another type than the path says */
		{ "companies", a, "companies", c, "from_id" },
		{ "contacts", a, "contacts", c, "to_id" },
	};
	for (size_t i = 0; i < sizeof(missing) / sizeof(missing[0]); i++) {
		r = link_put(t.key, missing[i].ft, missing[i].fid, "works_at", missing[i].tt, missing[i].tid,
			     "{\"meta\":{\"a\":1}}");
		assert_fail_field(r, 404, "NOT_FOUND", missing[i].field);
		http_free(r);
	}
	r = link_del(t.key, "nosuch", a, "works_at", "companies", c);
	assert_fail_field(r, 404, "NOT_FOUND", "from_type");
	http_free(r);

	/* meta: an object of at most 10 KB serialised. */
	size_t n = 10300;
	char *big = malloc(n + 32);
	int k = snprintf(big, n + 32, "{\"meta\":{\"blob\":\"");
	memset(big + k, 'x', n);
	memcpy(big + k + n, "\"}}", 4);
	r = link_put(t.key, "contacts", a, "works_at", "companies", c, big);
	assert_fail_field(r, 413, "PAYLOAD_TOO_LARGE", "meta");
	http_free(r);
	/* 10,240 bytes exactly is allowed: {"blob":"…"} is 11 bytes around it. */
	n = 10240 - 11;
	k = snprintf(big, n + 32, "{\"meta\":{\"blob\":\"");
	memset(big + k, 'y', n);
	memcpy(big + k + n, "\"}}", 4);
	r = link_put(t.key, "contacts", a, "big_ok", "companies", c, big);
	assert_envelope(r, 201, NULL);
	http_free(r);
	free(big);
	events += 1;
	const char *bad_meta[] = { "{\"meta\":[1,2]}", "{\"meta\":\"text\"}", "{\"meta\":3}",
				   "{\"other\":1}" };
	const char *bad_field[] = { "meta", "meta", "meta", "other" };
	for (size_t i = 0; i < sizeof(bad_meta) / sizeof(bad_meta[0]); i++) {
		r = link_put(t.key, "contacts", a, "works_at", "companies", c, bad_meta[i]);
		assert_fail_field(r, 400, "VALIDATION_ERROR", bad_field[i]);
		http_free(r);
	}

	/* List parameters. */
	const struct {
		const char *query, *field;
	} bad_q[] = {
		{ "direction=sideways", "direction" },
		{ "association_type=Bad", "association_type" },
		{ "limit=0", "limit" },
		{ "limit=101", "limit" },
		{ "cursor=notacursor", "cursor" },
	};
	for (size_t i = 0; i < sizeof(bad_q) / sizeof(bad_q[0]); i++) {
		r = call("GET", t.key, NULL, "/v1/objects/contacts/%s/associations?%s", a, bad_q[i].query);
		assert_fail_field(r, 400, "VALIDATION_ERROR", bad_q[i].field);
		http_free(r);
	}
	r = call("GET", t.key, NULL, "/v1/objects/nosuch/%s/associations", a);
	assert_fail_field(r, 404, "NOT_FOUND", "type");
	http_free(r);
	r = call("GET", t.key, NULL, "/v1/objects/companies/%s/associations", a);
	assert_fail_field(r, 404, "NOT_FOUND", "id");
	http_free(r);

	/* Nothing but the one good link was written. */
	ck_assert_int_eq(total_of(t.key, "contacts", a, ""), 1);
	ck_assert_int_eq(outbox_count(t.id), events);
	free(a);
	free(c);
	fixture_drop(&t);
}
END_TEST

START_TEST(other_tenants_ids_are_not_found)
{
	struct fixture t, u;
	fixture_make(&t);
	fixture_make(&u);
	char *a = obj_make(t.key, "contacts", "{}"), *c = obj_make(t.key, "companies", "{}");
	char *ua = obj_make(u.key, "contacts", "{}"), *uc = obj_make(u.key, "companies", "{}");
	char *id = link_make(t.key, "contacts", a, "works_at", "companies", c);
	long long events = outbox_count(u.id);
	/* u cannot link t's objects, see t's links or delete them. */
	http_resp *r = link_put(u.key, "contacts", a, "works_at", "companies", uc, NULL);
	assert_fail_field(r, 404, "NOT_FOUND", "from_id");
	http_free(r);
	r = link_put(u.key, "contacts", ua, "works_at", "companies", c, NULL);
	assert_fail_field(r, 404, "NOT_FOUND", "to_id");
	http_free(r);
	r = link_put(u.key, t.contacts, ua, "works_at", "companies", uc, NULL);
	assert_fail_field(r, 404, "NOT_FOUND", "from_type");
	http_free(r);
	r = link_del(u.key, "contacts", a, "works_at", "companies", c);
	assert_envelope(r, 404, "NOT_FOUND");
	http_free(r);
	r = call("GET", u.key, NULL, "/v1/objects/contacts/%s/associations", a);
	assert_fail_field(r, 404, "NOT_FOUND", "id");
	http_free(r);
	/* t's link is untouched and nothing was written for u. */
	cJSON *l = list_of(t.key, "contacts", a, "");
	ck_assert_ptr_nonnull(result_with(l, id));
	cJSON_Delete(l);
	ck_assert_int_eq(total_of(u.key, "contacts", ua, ""), 0);
	ck_assert_int_eq(outbox_count(u.id), events);
	free(id);
	free(a);
	free(c);
	free(ua);
	free(uc);
	fixture_drop(&t);
	fixture_drop(&u);
}
END_TEST

/* ------------------------------------------------------------ lists */

START_TEST(list_by_direction_and_type)
{
	struct fixture t;
	fixture_make(&t);
	char *a = obj_make(t.key, "contacts", "{}"), *b = obj_make(t.key, "contacts", "{}");
	char *c1 = obj_make(t.key, "companies", "{}"), *c2 = obj_make(t.key, "companies", "{}");
	char *out1 = link_make(t.key, "contacts", a, "works_at", "companies", c1);
	char *out2 = link_make(t.key, "contacts", a, "works_at", "companies", c2);
	char *in1 = link_make(t.key, "contacts", b, "manages", "contacts", a);
	char *in2 = link_make(t.key, "companies", c1, "customer_of", "contacts", a);
	char *self = link_make(t.key, "contacts", a, "notes", "contacts", a);

	ck_assert_int_eq(total_of(t.key, "contacts", a, ""), 5);
	ck_assert_int_eq(total_of(t.key, "contacts", a, "direction=both"), 5);
	ck_assert_int_eq(total_of(t.key, "contacts", a, "direction=outgoing"), 3);
	ck_assert_int_eq(total_of(t.key, "contacts", a, "direction=incoming"), 3);
	ck_assert_int_eq(total_of(t.key, "contacts", a, "association_type=works_at"), 2);
	ck_assert_int_eq(total_of(t.key, "contacts", a, "direction=incoming&association_type=works_at"), 0);
	ck_assert_int_eq(total_of(t.key, "contacts", a, "direction=incoming&association_type=manages"), 1);
	ck_assert_int_eq(total_of(t.key, "contacts", a, "association_type=nothing_here"), 0);
	ck_assert_int_eq(total_of(t.key, "companies", c1, ""), 2);
	ck_assert_int_eq(total_of(t.key, "companies", c1, "direction=incoming"), 1);
	ck_assert_int_eq(total_of(t.key, "contacts", b, "direction=incoming"), 0);

	/* Both directions: each link once, in id order, with its direction
	 * as seen from a (a link to itself is outgoing). */
	cJSON *l = list_of(t.key, "contacts", a, "");
	const cJSON *res = cJSON_GetObjectItemCaseSensitive(l, "results");
	const char *want[] = { out1, out2, in1, in2, self };
	const char *dir[] = { "outgoing", "outgoing", "incoming", "incoming", "outgoing" };
	ck_assert_int_eq(cJSON_GetArraySize(res), 5);
	for (int i = 0; i < 5; i++) {
		const cJSON *it = cJSON_GetArrayItem(res, i);
		ck_assert_str_eq(json_str(it, "id"), want[i]);
		ck_assert_str_eq(json_str(it, "direction"), dir[i]);
	}
	const cJSON *m = result_with(l, in2);
	ck_assert_str_eq(json_str(m, "from_type"), "companies");
	ck_assert_str_eq(json_str(m, "from_id"), c1);
	ck_assert_str_eq(json_str(m, "to_type"), "contacts");
	ck_assert_str_eq(json_str(m, "association_type"), "customer_of");
	ck_assert(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(m, "meta")));
	ck_assert(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(l, "next_cursor")));
	cJSON_Delete(l);

	l = list_of(t.key, "contacts", a, "direction=incoming");
	ck_assert_ptr_nonnull(result_with(l, self));
	ck_assert_str_eq(json_str(result_with(l, self), "direction"), "incoming");
	ck_assert_ptr_null(result_with(l, out1));
	cJSON_Delete(l);
	/* The type may be named by id in the list's path too. */
	l = list_of(t.key, t.companies, c2, "direction=incoming");
	ck_assert_ptr_nonnull(result_with(l, out2));
	cJSON_Delete(l);
	free(out1);
	free(out2);
	free(in1);
	free(in2);
	free(self);
	free(a);
	free(b);
	free(c1);
	free(c2);
	fixture_drop(&t);
}
END_TEST

/* Walks the list with limit 7; returns the ids seen in order (caller frees). */
static cJSON *walk(const char *key, const char *id, const char *query, const char *add_during_key,
		   int *pages)
{
	cJSON *seen = cJSON_CreateArray();
	char *cursor = NULL;
	*pages = 0;
	do {
		char *q = cursor ? strf("limit=7&%s&cursor=%s", query, cursor) : strf("limit=7&%s", query);
		cJSON *l = list_of(key, "companies", id, q);
		free(q);
		free(cursor);
		cursor = NULL;
		(*pages)++;
		ck_assert_int_le(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(l, "results")), 7);
		const cJSON *it;
		cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(l, "results"))
			cJSON_AddItemToArray(seen, cJSON_CreateString(json_str(it, "id")));
		const char *next = json_str(l, "next_cursor");
		if (next)
			cursor = strdup(next);
		cJSON_Delete(l);
		if (add_during_key && *pages == 1) {
			/* A link made during the walk comes after every id seen. */
			char *c = obj_make(add_during_key, "contacts", "{}");
			free(link_make(add_during_key, "contacts", c, "member_of", "companies", id));
			free(c);
		}
		ck_assert_int_lt(*pages, 50);
	} while (cursor);
	return seen;
}

START_TEST(cursor_walk_sees_each_link_once)
{
	struct fixture t;
	fixture_make(&t);
	char *c = obj_make(t.key, "companies", "{}");
	for (int i = 0; i < 24; i++) {
		char *p = obj_make(t.key, "contacts", "{}");
		free(link_make(t.key, "contacts", p, i % 3 ? "member_of" : "alumnus_of", "companies", c));
		free(p);
	}
	/* And one outgoing link, so "both" merges two sides. */
	char *o = obj_make(t.key, "companies", "{}");
	free(link_make(t.key, "companies", c, "owns", "companies", o));

	int pages;
	cJSON *seen = walk(t.key, c, "direction=both", t.key, &pages);
	ck_assert_int_eq(cJSON_GetArraySize(seen), 26);
	ck_assert_int_eq(pages, 4);
	for (int i = 1; i < cJSON_GetArraySize(seen); i++)
		ck_assert_msg(strcmp(cJSON_GetArrayItem(seen, i - 1)->valuestring,
				     cJSON_GetArrayItem(seen, i)->valuestring) < 0,
			      "ids out of order or repeated at %d", i);
	cJSON_Delete(seen);
	ck_assert_int_eq(total_of(t.key, "companies", c, ""), 26);

	/* Filtered walks: 8 alumni, 17 members (one added above), 1 outgoing. */
	seen = walk(t.key, c, "association_type=alumnus_of", NULL, &pages);
	ck_assert_int_eq(cJSON_GetArraySize(seen), 8);
	ck_assert_int_eq(pages, 2);
	cJSON_Delete(seen);
	seen = walk(t.key, c, "direction=incoming&association_type=member_of", NULL, &pages);
	ck_assert_int_eq(cJSON_GetArraySize(seen), 17);
	ck_assert_int_eq(pages, 3);
	cJSON_Delete(seen);
	seen = walk(t.key, c, "direction=outgoing", NULL, &pages);
	ck_assert_int_eq(cJSON_GetArraySize(seen), 1);
	ck_assert_int_eq(pages, 1);
	cJSON_Delete(seen);

	/* Default limit 20, max 100. */
	cJSON *l = list_of(t.key, "companies", c, "");
	ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(l, "results")), 20);
	ck_assert_ptr_nonnull(json_str(l, "next_cursor"));
	cJSON_Delete(l);
	l = list_of(t.key, "companies", c, "limit=100");
	ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(l, "results")), 26);
	cJSON_Delete(l);
	free(o);
	free(c);
	fixture_drop(&t);
}
END_TEST

/* ------------------------------------------------------------ events */

START_TEST(each_change_writes_an_outbox_event)
{
	struct fixture t;
	fixture_make(&t);
	char *a = obj_make(t.key, "contacts", "{}"), *c = obj_make(t.key, "companies", "{}");
	long long before = outbox_count(t.id);
	char *id = link_make(t.key, "contacts", a, "works_at", "companies", c);
	http_resp *r = link_put(t.key, "contacts", a, "works_at", "companies", c, "{\"meta\":{\"k\":\"v\"}}");
	assert_envelope(r, 200, NULL);
	http_free(r);
	r = link_del(t.key, "contacts", a, "works_at", "companies", c);
	assert_envelope(r, 200, NULL);
	http_free(r);
	ck_assert_int_eq(outbox_count(t.id), before + 3);
	char *sql = strf("SELECT event, tenant_id, resource_type, JSON_VALUE(payload, '$.from_id') "
			 "FROM outbox WHERE resource_id='%s' ORDER BY id", id);
	char *out = control_sql(sql);
	char *want = strf("association.created\t%s\tassociation\t%s\n"
			  "association.updated\t%s\tassociation\t%s\n"
			  "association.deleted\t%s\tassociation\t%s", t.id, a, t.id, a, t.id, a);
	ck_assert_str_eq(out, want);
	free(want);
	free(out);
	free(sql);
	sql = strf("SELECT JSON_VALUE(payload, '$.meta.k') FROM outbox WHERE resource_id='%s' "
		   "AND event='association.updated'", id);
	out = control_sql(sql);
	ck_assert_str_eq(out, "v");
	free(out);
	free(sql);
	/* A failed change writes nothing. */
	r = link_del(t.key, "contacts", a, "works_at", "companies", c);
	assert_envelope(r, 404, "NOT_FOUND");
	http_free(r);
	ck_assert_int_eq(outbox_count(t.id), before + 3);
	free(id);
	free(a);
	free(c);
	fixture_drop(&t);
}
END_TEST

/* ------------------------------------------------------------ access */

/* Every association endpoint answered with status/code for token. */
static void assert_refused(const char *token, const char *a, const char *c, long status,
			   const char *code, bool writes_only)
{
	http_resp *r = link_put(token, "contacts", a, "works_at", "companies", c, "{\"meta\":{}}");
	assert_envelope(r, status, code);
	http_free(r);
	r = link_del(token, "contacts", a, "works_at", "companies", c);
	assert_envelope(r, status, code);
	http_free(r);
	if (writes_only)
		return;
	r = call("GET", token, NULL, "/v1/objects/contacts/%s/associations", a);
	assert_envelope(r, status, code);
	http_free(r);
}

START_TEST(scopes_and_end_users)
{
	struct fixture t;
	fixture_make(&t);
	char *a = obj_make(t.key, "contacts", "{}"), *c = obj_make(t.key, "companies", "{}");
	char *id = link_make(t.key, "contacts", a, "works_at", "companies", c);
	long long events = outbox_count(t.id);

	char *read = key_new(t.key, "{\"label\":\"reader\",\"scopes\":[\"read\"]}", NULL);
	cJSON *l = list_of(read, "contacts", a, "");
	ck_assert_ptr_nonnull(result_with(l, id));
	cJSON_Delete(l);
	assert_refused(read, a, c, 403, "INSUFFICIENT_SCOPE", true);

	char *write = key_new(t.key, "{\"label\":\"writer\",\"scopes\":[\"write\"]}", NULL);
	http_resp *r = call("GET", write, NULL, "/v1/objects/contacts/%s/associations", a);
	assert_envelope(r, 403, "INSUFFICIENT_SCOPE");
	http_free(r);
	r = link_put(write, "contacts", a, "works_at", "companies", c, "{\"meta\":{\"w\":1}}");
	assert_envelope(r, 200, NULL);
	http_free(r);
	events++;

	char *schema = key_new(t.key, "{\"label\":\"schema\",\"scopes\":[\"schema\"]}", NULL);
	assert_refused(schema, a, c, 403, "INSUFFICIENT_SCOPE", false);

	char *jwt = jwt_mint(t.id, "usr_alice", "authenticated", 3600, NULL);
	assert_refused(jwt, a, c, 403, "FORBIDDEN", false);
	assert_refused(NULL, a, c, 401, "UNAUTHORIZED", false);

	/* Nothing changed for the refused calls. */
	l = list_of(t.key, "contacts", a, "");
	ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(l, "results")), 1);
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(result_with(l, id), "meta");
	ck_assert_int_eq(cJSON_GetObjectItemCaseSensitive(m, "w")->valueint, 1);
	cJSON_Delete(l);
	ck_assert_int_eq(outbox_count(t.id), events);
	free(jwt);
	free(schema);
	free(write);
	free(read);
	free(id);
	free(a);
	free(c);
	fixture_drop(&t);
}
END_TEST

Suite *suite_associations(void)
{
	Suite *s = suite_create("associations");
	TCase *tc = tcase_new_slow(s, "write");
	tcase_add_test(tc, put_creates_then_replaces_meta);
	tcase_add_test(tc, delete_removes_the_link_once);
	tcase_add_test(tc, links_of_trashed_objects);
	tcase_add_test(tc, racing_puts_create_one_link);

	tc = tcase_new_slow(s, "validation");
	tcase_add_test(tc, bad_input_names_the_field_and_writes_nothing);
	tcase_add_test(tc, other_tenants_ids_are_not_found);

	tc = tcase_new_slow(s, "list");
	tcase_add_test(tc, list_by_direction_and_type);
	tcase_add_test(tc, cursor_walk_sees_each_link_once);

	tc = tcase_new_slow(s, "events");
	tcase_add_test(tc, each_change_writes_an_outbox_event);

	tc = tcase_new_slow(s, "access");
	tcase_add_test(tc, scopes_and_end_users);
	return s;
}
