/*
 * test_resources.c - what every resource on the engine (fcgi/resource.c)
 * must do, checked for each descriptor the binary has, found through
 * `tessera routes --json` (a CRUD row names its resource, operation, id
 * and parent parameters and the descriptor's example body).  A resource
 * added later is covered without writing these tests again:
 *
 *   - its example creates a row (201) that reads back;
 *   - another tenant's admin key gets 404 on that row for every operation
 *     with an id, and does not see it in its list;
 *   - a key without the row's scope gets 403 INSUFFICIENT_SCOPE on every
 *     write and the row is unchanged.
 *
 * A resource only end users write (RES_USER_WRITES: comments) is left to
 * its own suite, which uses end-user tokens.
 *
 * Parents named in the path are made in each tenant: an object type, or a
 * row of the parent's own resource from its example (a dashboard's
 * widgets); an object type "probe" too when an example names it.
 */
#include "harness.h"

#include <stdlib.h>
#include <string.h>

static cJSON *routes_load(void)
{
	int rc;
	char *out = run_cmd(&rc, "%s routes --json 2>&1", env_or("TESSERA_TEST_BIN", "build/tessera"));
	cJSON *j = cJSON_Parse(out);
	ck_assert_msg(rc == 0 && cJSON_IsArray(j), "tessera routes --json failed: %.300s", out);
	free(out);
	return j;
}

/* pattern with :name params filled: the parent with parent, the id with id. */
static char *path_fill(const char *pattern, const char *id_param, const char *id,
		       const char *parent_param, const char *parent)
{
	char *out = strf("%s", "");
	const char *p = pattern;
	while (*p) {
		if (*p != ':') {
			char *n = strf("%s%c", out, *p++);
			free(out);
			out = n;
			continue;
		}
		size_t len = strcspn(p + 1, "/");
		char *name = strf("%.*s", (int)len, p + 1);
		const char *v = id_param && !strcmp(name, id_param) ? id
				: parent_param && !strcmp(name, parent_param) ? parent : "zz_unknown";
		char *n = strf("%s%s", out, v);
		free(out);
		free(name);
		out = n;
		p += 1 + len;
	}
	return out;
}

/* The id in a create reply: data.id, or the id of the one object member
 * (keys answer {key, token}). */
static const char *created_id(const http_resp *r)
{
	const cJSON *d = resp_data(r);
	const char *id = json_str(d, "id");
	const cJSON *it;
	cJSON_ArrayForEach(it, d)
		if (!id && cJSON_IsObject(it))
			id = json_str(it, "id");
	return id;
}

static const cJSON *res_of(const cJSON *rt)
{
	return cJSON_GetObjectItemCaseSensitive(rt, "resource");
}

static const char *res_str(const cJSON *rt, const char *name)
{
	return json_str(res_of(rt), name);
}

/* The other row of the same resource and operation op, or NULL. */
static const cJSON *row_for(const cJSON *routes, const char *type, const char *op)
{
	const cJSON *rt;
	cJSON_ArrayForEach(rt, routes)
		if (res_of(rt) && !strcmp(res_str(rt, "type"), type) && !strcmp(res_str(rt, "op"), op))
			return rt;
	return NULL;
}

/* One tenant's side: a tenant, its parent if the resource has one. */
/* One of the two tenants every resource is checked across (made once for
 * the whole sweep: a tenant per resource would cost a database each). */
struct side {
	struct tenant t;
	bool has_probe; /* the object type "probe" exists */
	char *parent;
};

/* The create row of the resource whose rows id_param names, or NULL. */
static const cJSON *creator_of(const cJSON *routes, const char *id_param)
{
	const cJSON *rt;
	cJSON_ArrayForEach(rt, routes)
		if (res_of(rt) && !strcmp(res_str(rt, "op"), "create") && res_str(rt, "id_param") &&
		    !strcmp(res_str(rt, "id_param"), id_param))
			return rt;
	return NULL;
}

/* What the resource's example needs in the side's tenant: an object type
 * "probe" when the example names it (forms, widgets), and the parent: a
 * row of the parent resource made from its own example (a dashboard), or
 * an object type. */
static void side_make(struct side *s, const cJSON *routes, const char *parent_param,
		      const char *type, const char *body)
{
	s->parent = NULL;
	if (!s->has_probe && strstr(body, "\"object_type_id\":\"probe\"")) {
		free(type_make(s->t.key, "probe"));
		s->has_probe = true;
	}
	if (!parent_param)
		return;
	const cJSON *pc = strcmp(parent_param, "object_type_id") ? creator_of(routes, parent_param) : NULL;
	if (pc) {
		char *pbody = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(res_of(pc), "example"));
		http_resp *r = call("POST", s->t.key, pbody, "%s", json_str(pc, "path"));
		ck_assert_msg(r->status == 201, "parent of %s: %ld %s", type, r->status, r->body);
		s->parent = strf("%s", json_str(resp_data(r), "id"));
		http_free(r);
		free(pbody);
		return;
	}
	char *name = strf("probe_%s", type);
	s->parent = type_make(s->t.key, name);
	free(name);
}

static struct side a, b;

static void check_resource(const cJSON *routes, const cJSON *create)
{
	const char *type = res_str(create, "type");
	const char *id_param = res_str(create, "id_param");
	const char *parent_param = res_str(create, "parent_param");
	const cJSON *example = cJSON_GetObjectItemCaseSensitive(res_of(create), "example");
	ck_assert_msg(cJSON_IsObject(example), "resource %s has no example body", type);
	char *body = cJSON_PrintUnformatted(example);

	side_make(&a, routes, parent_param, type, body);
	side_make(&b, routes, parent_param, type, body);
	const char *pattern = json_str(create, "path");
	char *path = path_fill(pattern, NULL, NULL, parent_param, a.parent);
	http_resp *r = call("POST", a.t.key, body, "%s", path);
	ck_assert_msg(r->status == 201, "%s: POST %s with its example: %ld %s", type, path, r->status,
		      r->body);
	char *id = strf("%s", created_id(r));
	ck_assert_msg(id && *id, "%s: no id in %s", type, r->body);
	http_free(r);

	/* Another tenant: 404 on every operation with an id, and not listed. */
	static const char *const ops[] = { "get", "update", "delete" };
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		const cJSON *rt = row_for(routes, type, ops[i]);
		if (!rt)
			continue;
		const char *m = json_str(rt, "method");
		/* B's parent when B has one of the same name, else A's: both 404. */
		char *p = path_fill(json_str(rt, "path"), id_param, id, parent_param,
				    b.parent ? b.parent : a.parent);
		r = call(m, b.t.key, !strcmp(m, "PATCH") ? "{}" : NULL, "%s", p);
		ck_assert_msg(r->status == 404, "%s: tenant B %s %s -> %ld %s", type, m, p, r->status,
			      r->body);
		assert_envelope(r, 404, "NOT_FOUND");
		http_free(r);
		free(p);
	}
	const cJSON *list = row_for(routes, type, "list");
	if (list) {
		char *p = path_fill(json_str(list, "path"), NULL, NULL, parent_param, b.parent);
		r = call("GET", b.t.key, NULL, "%s", p);
		ck_assert_msg(r->status == 200 && !strstr(r->body, id), "%s: tenant B lists A's row: %s",
			      type, r->body);
		http_free(r);
		free(p);
	}

	/* A key of A without the write scope: 403 on each write, row intact. */
	const char *scope = json_str(create, "scope");
	char *weak = key_new(a.t.key, strcmp(scope, "read") ? "{\"scopes\":[\"read\"]}"
							    : "{\"scopes\":[\"files\"]}", NULL);
	static const char *const writes[] = { "create", "update", "delete" };
	for (size_t i = 0; i < sizeof(writes) / sizeof(writes[0]); i++) {
		const cJSON *rt = row_for(routes, type, writes[i]);
		if (!rt)
			continue;
		const char *m = json_str(rt, "method");
		char *p = path_fill(json_str(rt, "path"), id_param, id, parent_param, a.parent);
		r = call(m, weak, strcmp(m, "DELETE") ? body : NULL, "%s", p);
		ck_assert_msg(r->status == 403, "%s: a read-only key %s %s -> %ld %s", type, m, p,
			      r->status, r->body);
		assert_envelope(r, 403, "INSUFFICIENT_SCOPE");
		http_free(r);
		free(p);
	}
	const cJSON *get = row_for(routes, type, "get");
	if (get) {
		char *p = path_fill(json_str(get, "path"), id_param, id, parent_param, a.parent);
		r = call("GET", a.t.key, NULL, "%s", p);
		assert_envelope(r, 200, NULL);
		ck_assert_str_eq(json_str(resp_data(r), "id"), id);
		http_free(r);
		free(p);
	}
	free(weak);
	free(id);
	free(path);
	free(body);
	free(a.parent);
	free(b.parent);
}

START_TEST(every_resource_isolates_tenants_and_enforces_scopes)
{
	cJSON *routes = routes_load();
	int n = 0;
	tenant_make(&a.t);
	tenant_make(&b.t);
	const cJSON *rt;
	cJSON_ArrayForEach(rt, routes) {
		if (!res_of(rt) || strcmp(res_str(rt, "op"), "create"))
			continue;
		/* Written by end users only (comments): their own suite checks
		 * isolation with end-user tokens. */
		if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(res_of(rt), "user_writes")))
			continue;
		check_resource(routes, rt);
		n++;
	}
	/* keys, webhooks, roles, users, views, policies at least. */
	ck_assert_int_ge(n, 6);
	cJSON_Delete(routes);
	tenant_drop(&a.t);
	tenant_drop(&b.t);
}
END_TEST

Suite *suite_resources(void)
{
	Suite *s = suite_create("resources");
	TCase *tc = tcase_create("every descriptor");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, every_resource_isolates_tenants_and_enforces_scopes);
	suite_add_tcase(s, tc);
	return s;
}
