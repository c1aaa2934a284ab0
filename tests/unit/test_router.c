/*
 * test_router.c - the route table (handlers/routes.c) against the API
 * reference (tools/spec/endpoints.tsv), and the segment-trie router
 * (fcgi/router.c): literal-before-parameter matching with backtracking,
 * parameter capture and decoding, trailing slash, 404 and 405 with Allow,
 * and scopes.
 */
#include "unit.h"

#include "../../handlers/routes.h"
#include "../../common/lazytables.h"
#include "../../common/migrate.h"

#define SPEC_PATH "tools/spec/endpoints.tsv"
#define SPEC_ROWS 337

/* ------------------------------------------------------------ table vs spec */

struct spec_row {
	char *method, *path, *group, *auth, *summary;
};

struct spec {
	struct spec_row *rows;
	size_t n;
	char *text;
};

/* Reads the reference TSV (header skipped) into rows that point into text. */
static void spec_load(struct spec *s)
{
	FILE *f = fopen(SPEC_PATH, "r");
	ck_assert_msg(f != NULL, "cannot open %s (run the tests from the repo root)", SPEC_PATH);
	fseek(f, 0, SEEK_END);
	long size = ftell(f);
	fseek(f, 0, SEEK_SET);
	s->text = malloc((size_t)size + 1);
	ck_assert_ptr_nonnull(s->text);
	ck_assert_uint_eq(fread(s->text, 1, (size_t)size, f), (size_t)size);
	s->text[size] = '\0';
	fclose(f);

	size_t cap = 512;
	s->rows = calloc(cap, sizeof(*s->rows));
	s->n = 0;
	char *save = NULL;
	int lineno = 0;
	for (char *line = strtok_r(s->text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (lineno++ == 0)
			continue; /* header: method path group auth summary */
		ck_assert_uint_lt(s->n, cap);
		char *fields[5];
		char *fs = NULL;
		int nf = 0;
		for (char *t = strtok_r(line, "\t", &fs); t && nf < 5; t = strtok_r(NULL, "\t", &fs))
			fields[nf++] = t;
		ck_assert_msg(nf == 5, "%s line %d has %d fields, want 5", SPEC_PATH, lineno, nf);
		s->rows[s->n++] = (struct spec_row){ fields[0], fields[1], fields[2], fields[3], fields[4] };
	}
}

static void spec_free(struct spec *s)
{
	free(s->rows);
	free(s->text);
}

START_TEST(spec_has_337_rows_and_table_has_as_many_besides_its_extensions)
{
	struct spec s;
	spec_load(&s);
	ck_assert_uint_eq(s.n, SPEC_ROWS);
	size_t reference = 0;
	for (size_t j = 0; j < routes_count; j++)
		reference += !(routes[j].flags & R_EXTENSION);
	ck_assert_uint_eq(reference, SPEC_ROWS);
	spec_free(&s);
}
END_TEST

START_TEST(every_spec_row_is_in_the_table_exactly_once_with_its_group_auth_and_summary)
{
	struct spec s;
	spec_load(&s);
	for (size_t i = 0; i < s.n; i++) {
		const struct spec_row *sr = &s.rows[i];
		const route_t *hit = NULL;
		int count = 0;
		for (size_t j = 0; j < routes_count; j++) {
			if (!strcmp(routes[j].method, sr->method) && !strcmp(routes[j].path, sr->path)) {
				hit = &routes[j];
				count++;
			}
		}
		ck_assert_msg(count == 1, "%s %s appears %d times in routes[]", sr->method, sr->path, count);
		ck_assert_msg(!strcmp(hit->group, sr->group), "%s %s: group \"%s\", spec says \"%s\"",
			      sr->method, sr->path, hit->group, sr->group);
		ck_assert_msg(!strcmp(hit->summary, sr->summary), "%s %s: summary \"%s\", spec says \"%s\"",
			      sr->method, sr->path, hit->summary, sr->summary);
		enum auth_mode want = strcmp(sr->auth, "none") == 0 ? AUTH_NONE : AUTH_BEARER;
		/* A presigned upload is authorized by its signed URL, not a bearer. */
		if (!strcmp(sr->path, "/v1/files/:file_id/upload-put"))
			want = AUTH_NONE;
		/* A browser navigates to the OAuth redirect: no bearer, the
		 * tenant is named (handlers/oauth.c). */
		if (!strcmp(sr->path, "/v1/auth/oauth/:provider"))
			want = AUTH_NONE;
		ck_assert_msg(!strcmp(sr->auth, "none") || !strcmp(sr->auth, "bearer"),
			      "%s %s: unknown auth \"%s\" in spec", sr->method, sr->path, sr->auth);
		ck_assert_msg(hit->auth == want, "%s %s: auth mode differs from spec (%s)",
			      sr->method, sr->path, sr->auth);
	}
	spec_free(&s);
}
END_TEST

START_TEST(every_table_row_is_in_the_spec_exactly_once)
{
	struct spec s;
	spec_load(&s);
	for (size_t j = 0; j < routes_count; j++) {
		int count = 0;
		for (size_t i = 0; i < s.n; i++)
			if (!strcmp(routes[j].method, s.rows[i].method) && !strcmp(routes[j].path, s.rows[i].path))
				count++;
		/* Tessera's additions are marked, and must not shadow a reference row. */
		int want = (routes[j].flags & R_EXTENSION) ? 0 : 1;
		ck_assert_msg(count == want, "routes[%zu] %s %s appears %d times in %s",
			      j, routes[j].method, routes[j].path, count, SPEC_PATH);
	}
	spec_free(&s);
}
END_TEST

START_TEST(every_route_scope_is_a_known_scope_name)
{
	static const char *const known[] = { "", "read", "write", "schema", "files", "auth", "ai", "*" };
	for (size_t j = 0; j < routes_count; j++) {
		bool ok = false;
		for (size_t k = 0; k < sizeof(known) / sizeof(known[0]); k++)
			ok |= strcmp(routes[j].scope, known[k]) == 0;
		ck_assert_msg(ok, "%s %s has unknown scope \"%s\"", routes[j].method, routes[j].path,
			      routes[j].scope);
		/* A named scope must map to a bit, or the route would need nothing. */
		if (routes[j].scope[0])
			ck_assert_uint_ne(route_scope_bits(&routes[j]), 0);
		else
			ck_assert_uint_eq(route_scope_bits(&routes[j]), 0);
	}
}
END_TEST

START_TEST(public_routes_require_no_scope)
{
	for (size_t j = 0; j < routes_count; j++) {
		const route_t *rt = &routes[j];
		if (rt->auth == AUTH_NONE)
			ck_assert_msg(rt->scope[0] == '\0', "%s %s: unauthenticated route names scope %s",
				      rt->method, rt->path, rt->scope);
	}
}
END_TEST

/* A tenant migration that creates name (CREATE TABLE IF NOT EXISTS name). */
static bool migration_creates(const char *name)
{
	char *head = NULL;
	if (asprintf(&head, "CREATE TABLE IF NOT EXISTS %s (", name) < 0)
		return false;
	bool found = false;
	for (int i = 0; i < migrations_count && !found; i++)
		found = migrations[i].scope == MIG_TENANT && strstr(migrations[i].sql, head);
	free(head);
	return found;
}

/* The tables a route makes on first use are tenant tables of the
 * migrations, outside the core (which every tenant has from the start). */
START_TEST(route_tables_are_tenant_tables_outside_the_core)
{
	int rows_with_tables = 0;
	for (size_t j = 0; j < routes_count; j++) {
		const route_t *rt = &routes[j];
		rows_with_tables += rt->tables != NULL;
		for (int k = 0; rt->tables && rt->tables[k]; k++) {
			ck_assert_msg(migration_creates(rt->tables[k]), "%s %s: no tenant migration "
				      "creates %s", rt->method, rt->path, rt->tables[k]);
			ck_assert_msg(!lazy_is_core(rt->tables[k]), "%s %s: %s is a core table",
				      rt->method, rt->path, rt->tables[k]);
		}
	}
	ck_assert_int_gt(rows_with_tables, 100);
	for (int k = 0; lazy_core_tables[k]; k++)
		ck_assert_msg(!strcmp(lazy_core_tables[k], "schema_migrations") ||
			      migration_creates(lazy_core_tables[k]), "core table %s", lazy_core_tables[k]);
}
END_TEST

/* Default deny: every row end users may call names the permission their
 * roles must grant ("none" for their own account), and no other row names
 * one; the parsed form is what the gate applies. */
START_TEST(every_end_user_route_names_its_permission)
{
	ck_assert_int_eq(router_init(), 0);
	size_t user_rows = 0;
	for (size_t j = 0; j < routes_count; j++) {
		const route_t *rt = &routes[j];
		if (!(rt->flags & R_USER)) {
			ck_assert_msg(rt->perm == NULL, "%s %s: a permission on a route end users cannot call",
				      rt->method, rt->path);
			continue;
		}
		user_rows++;
		ck_assert_msg(rt->perm != NULL, "%s %s: end users may call it but it names no permission",
			      rt->method, rt->path);
		const route_perm_t *p = route_perm(rt);
		if (strcmp(rt->perm, "none") == 0) {
			ck_assert_ptr_null(p->area);
			continue;
		}
		ck_assert_msg(p->area && p->verb, "%s %s: permission %s did not parse", rt->method,
			      rt->path, rt->perm);
		char want[128];
		snprintf(want, sizeof(want), p->typed ? "%s:{type}:%s" : "%s:%s", p->area, p->verb);
		ck_assert_str_eq(rt->perm, want);
	}
	ck_assert_uint_gt(user_rows, 50);
	/* Spot checks of what the gate enforces. */
	for (size_t j = 0; j < routes_count; j++) {
		const route_t *rt = &routes[j];
		if (!strcmp(rt->method, "POST") && !strcmp(rt->path, "/v1/objects/:object_type_id/batch/read"))
			ck_assert_str_eq(rt->perm, "objects:{type}:read");
		if (!strcmp(rt->method, "DELETE") && !strcmp(rt->path, "/v1/files/:file_id"))
			ck_assert_str_eq(rt->perm, "files:write");
	}
}
END_TEST

static const struct {
	const char *name;
	unsigned bit;
} scope_cases[] = {
	{ "read", SCOPE_READ }, { "write", SCOPE_WRITE }, { "schema", SCOPE_SCHEMA },
	{ "files", SCOPE_FILES }, { "auth", SCOPE_AUTH }, { "ai", SCOPE_AI },
	{ "*", SCOPE_ALL }, { "", 0 }, { "admin", 0 }, { "READ", 0 }, { "read ", 0 },
	{ "**", 0 },
};

START_TEST(scope_bit_maps_each_name_to_its_bit_and_unknown_names_to_zero)
{
	ck_assert_msg(scope_bit(scope_cases[_i].name) == scope_cases[_i].bit,
		      "scope_bit(\"%s\") = %u, want %u", scope_cases[_i].name,
		      scope_bit(scope_cases[_i].name), scope_cases[_i].bit);
}
END_TEST

START_TEST(scope_bits_are_distinct)
{
	unsigned seen = 0;
	for (size_t i = 0; i < 7; i++) {
		ck_assert_uint_eq(seen & scope_cases[i].bit, 0);
		seen |= scope_cases[i].bit;
	}
}
END_TEST

START_TEST(router_init_builds_the_table_and_can_be_repeated)
{
	ck_assert_int_eq(router_init(), 0);
	ck_assert_int_eq(router_init(), 0); /* rebuilds: frees the old trie first */
	router_free();
	router_free(); /* idempotent */
}
END_TEST

/* ----------------------------------------------------------------- matching */

static arena_t *ta;
static req_t tr;

static void router_setup(void)
{
	ck_assert_int_eq(router_init(), 0);
	ta = arena_new(4096);
	unit_req_init(&tr, ta);
}

static void router_teardown(void)
{
	arena_free(ta);
	ta = NULL;
	router_free();
}

struct match_case {
	const char *method;
	const char *path;
	const char *route_method;   /* expected route row */
	const char *route_path;
	const char *params[6][2];   /* expected decoded parameters, name/value */
};

static const struct match_case match_cases[] = {
	/* literals win over a parameter at the same position */
	{ "GET", "/v1/files/stats", "GET", "/v1/files/stats", { { 0 } } },
	{ "GET", "/v1/files/trash", "GET", "/v1/files/trash", { { 0 } } },
	{ "GET", "/v1/files/folders", "GET", "/v1/files/folders", { { 0 } } },
	{ "POST", "/v1/files/search", "POST", "/v1/files/search", { { 0 } } },
	{ "POST", "/v1/files/upload", "POST", "/v1/files/upload", { { 0 } } },
	{ "POST", "/v1/files/batch/read", "POST", "/v1/files/batch/read", { { 0 } } },
	{ "GET", "/v1/objects/contact/list", "GET", "/v1/objects/:object_type_id/list",
	  { { "object_type_id", "contact" } } },
	{ "GET", "/v1/objects/contact/trash", "GET", "/v1/objects/:object_type_id/trash",
	  { { "object_type_id", "contact" } } },
	{ "GET", "/v1/realtime/stats", "GET", "/v1/realtime/stats", { { 0 } } },
	{ "GET", "/v1/dashboards/public/tok_123", "GET", "/v1/dashboards/public/:share_token",
	  { { "share_token", "tok_123" } } },
	{ "POST", "/v1/roles/assign", "POST", "/v1/roles/assign", { { 0 } } },
	{ "GET", "/v1/auth/mfa/factors", "GET", "/v1/auth/mfa/factors", { { 0 } } },
	/* ...and the parameter still gets everything else */
	{ "GET", "/v1/files/fil_01ABC", "GET", "/v1/files/:file_id", { { "file_id", "fil_01ABC" } } },
	{ "GET", "/v1/objects/contact/obj_1", "GET", "/v1/objects/:object_type_id/:object_id",
	  { { "object_type_id", "contact" }, { "object_id", "obj_1" } } },
	/* backtracking: the literal branch dead-ends, the parameter branch matches */
	{ "POST", "/v1/files/batch/restore", "POST", "/v1/files/:file_id/restore",
	  { { "file_id", "batch" } } },
	{ "PATCH", "/v1/files/stats", "PATCH", "/v1/files/:file_id", { { "file_id", "stats" } } },
	{ "GET", "/v1/dashboards/public", "GET", "/v1/dashboards/:dashboard_id",
	  { { "dashboard_id", "public" } } },
	{ "GET", "/v1/roles/assign", "GET", "/v1/roles/:role_id", { { "role_id", "assign" } } },
	{ "POST", "/v1/dlq/retry", "POST", "/v1/dlq/retry", { { 0 } } },
	{ "POST", "/v1/dlq/dlq_1/retry", "POST", "/v1/dlq/:msg_id/retry", { { "msg_id", "dlq_1" } } },
	{ "POST", "/v1/dlq/retry/retry", "POST", "/v1/dlq/:msg_id/retry", { { "msg_id", "retry" } } },
	{ "DELETE", "/v1/dlq/retry", "DELETE", "/v1/dlq/:msg_id", { { "msg_id", "retry" } } },
	{ "DELETE", "/v1/auth/mfa/factors", "DELETE", "/v1/auth/mfa/:factor_id",
	  { { "factor_id", "factors" } } },
	/* several parameters */
	{ "DELETE", "/v1/roles/rol_1/users/usr_2", "DELETE", "/v1/roles/:role_id/users/:user_id",
	  { { "role_id", "rol_1" }, { "user_id", "usr_2" } } },
	{ "GET", "/v1/files/fil_9/variants/thumb", "GET", "/v1/files/:file_id/variants/:variant",
	  { { "file_id", "fil_9" }, { "variant", "thumb" } } },
	{ "GET", "/v1/auth/oauth/google", "GET", "/v1/auth/oauth/:provider", { { "provider", "google" } } },
	{ "GET", "/v1/auth/oauth/google/callback", "GET", "/v1/auth/oauth/:provider/callback",
	  { { "provider", "google" } } },
	/* percent-decoding of parameters; '+' is literal in a path */
	{ "GET", "/v1/files/a%2Fb%20c", "GET", "/v1/files/:file_id", { { "file_id", "a/b c" } } },
	{ "GET", "/v1/files/a+b", "GET", "/v1/files/:file_id", { { "file_id", "a+b" } } },
	{ "GET", "/v1/files/%E2%82%AC", "GET", "/v1/files/:file_id", { { "file_id", "\xe2\x82\xac" } } },
	/* an encoded literal is not the literal: it is a parameter value */
	{ "GET", "/v1/files/st%61ts", "GET", "/v1/files/:file_id", { { "file_id", "stats" } } },
	/* trailing slash */
	{ "GET", "/v1/keys/", "GET", "/v1/keys", { { 0 } } },
	{ "GET", "/v1/files/stats/", "GET", "/v1/files/stats", { { 0 } } },
	{ "PATCH", "/v1/keys/key_1/", "PATCH", "/v1/keys/:key_id", { { "key_id", "key_1" } } },
	/* root, nested literal, HEAD answers as GET */
	{ "GET", "/", "GET", "/", { { 0 } } },
	{ "GET", "/docs/openapi.json", "GET", "/docs/openapi.json", { { 0 } } },
	{ "HEAD", "/health", "GET", "/health", { { 0 } } },
	{ "PUT", "/v1/roles/rol_1/permissions", "PUT", "/v1/roles/:role_id/permissions",
	  { { "role_id", "rol_1" } } },
};

START_TEST(match_finds_the_route_and_decodes_its_parameters)
{
	const struct match_case *c = &match_cases[_i];
	enum route_match m = router_match(&tr, c->method, c->path, NULL);
	ck_assert_msg(m == MATCH_OK, "%s %s: match %d, want MATCH_OK", c->method, c->path, m);
	ck_assert_ptr_nonnull(tr.route);
	ck_assert_msg(!strcmp(tr.route->method, c->route_method) && !strcmp(tr.route->path, c->route_path),
		      "%s %s matched %s %s, want %s %s", c->method, c->path, tr.route->method,
		      tr.route->path, c->route_method, c->route_path);
	int want = 0;
	while (want < 6 && c->params[want][0])
		want++;
	ck_assert_msg(tr.nparams == want, "%s %s: %d parameters, want %d", c->method, c->path,
		      tr.nparams, want);
	for (int k = 0; k < want; k++)
		ck_assert_pstr_eq(req_param(&tr, c->params[k][0]), c->params[k][1]);
	ck_assert_ptr_null(req_param(&tr, "no_such_param"));
}
END_TEST

static const struct {
	const char *method;
	const char *path;
} no_path_cases[] = {
	{ "GET", "/nope" },
	{ "GET", "/v2/keys" },
	{ "GET", "/v1" },
	{ "GET", "/v1/keys/key_1/extra/segments" },
	{ "GET", "/v1//keys" },            /* empty inner segment */
	{ "GET", "//v1/keys" },
	{ "GET", "v1/keys" },              /* no leading slash */
	{ "GET", "" },
	{ "GET", "/v1/files/%zz" },        /* malformed escape in a parameter */
	{ "GET", "/v1/files/%4" },
	{ "GET", "/v1/files/a%00b" },      /* NUL byte in a parameter */
	{ "GET", "/V1/KEYS" },             /* literals are case-sensitive */
	{ "GET", "/a/b/c/d/e/f/g/h/i/j/k/l/m/n/o/p/q/r/s/t/u/v/w/x/y/z/1/2/3/4/5/6/7/8" },
};

START_TEST(unknown_paths_give_no_path)
{
	const char *allow = "untouched";
	enum route_match m = router_match(&tr, no_path_cases[_i].method, no_path_cases[_i].path, &allow);
	ck_assert_msg(m == MATCH_NO_PATH, "%s \"%s\": match %d, want MATCH_NO_PATH",
		      no_path_cases[_i].method, no_path_cases[_i].path, m);
	ck_assert_str_eq(allow, "untouched");
}
END_TEST

static const struct {
	const char *method;
	const char *path;
	const char *allow;
} no_method_cases[] = {
	/* GET routes answer HEAD too, so HEAD follows GET in the list */
	{ "DELETE", "/v1/keys", "GET, HEAD, POST" },
	{ "PUT", "/v1/keys/key_1", "PATCH, DELETE" },
	{ "POST", "/health", "GET, HEAD" },
	{ "OPTIONS", "/v1/keys", "GET, HEAD, POST" },
	{ "GET", "/v1/webhooks/wh_1/test", "POST" },
	{ "GET", "/v1/objects/contact/obj_1/comments/cmt_1", "PATCH, DELETE" },
	{ "HEAD", "/v1/sql", "POST" },
	{ "DELETE", "/v1/auth/verify/", "GET, HEAD, POST" },
	{ "POST", "/v1/objects/contact/obj_1", "GET, HEAD, PATCH, DELETE" },
};

START_TEST(known_path_with_other_method_gives_no_method_and_allow)
{
	const char *allow = NULL;
	enum route_match m = router_match(&tr, no_method_cases[_i].method, no_method_cases[_i].path, &allow);
	ck_assert_msg(m == MATCH_NO_METHOD, "%s %s: match %d, want MATCH_NO_METHOD",
		      no_method_cases[_i].method, no_method_cases[_i].path, m);
	ck_assert_pstr_eq(allow, no_method_cases[_i].allow);
	ck_assert_ptr_null(tr.route);
}
END_TEST

START_TEST(no_method_accepts_a_null_allow_pointer)
{
	ck_assert_int_eq(router_match(&tr, "DELETE", "/v1/keys", NULL), MATCH_NO_METHOD);
}
END_TEST

START_TEST(match_before_router_init_gives_no_path)
{
	router_free();
	ck_assert_int_eq(router_match(&tr, "GET", "/health", NULL), MATCH_NO_PATH);
	ck_assert_int_eq(router_init(), 0); /* for the teardown */
}
END_TEST

/*
 * Regression (fixed): fcgi/router.c child_for() keeps the first name given to a
 * parameter position and drops later spellings, so the association routes
 * (/v1/objects/:from_type/:from_id/associations/… and
 * /v1/objects/:type/:id/associations) expose their first two parameters as
 * "object_type_id" and "object_id": req_param(r, "from_type") and
 * req_param(r, "type") return NULL in their handlers.
 */
START_TEST(association_routes_expose_their_own_parameter_names)
{
	ck_assert_int_eq(router_match(&tr, "PUT",
				      "/v1/objects/contact/obj_1/associations/owner/company/obj_2", NULL),
			 MATCH_OK);
	ck_assert_str_eq(tr.route->path,
			 "/v1/objects/:from_type/:from_id/associations/:association_type/:to_type/:to_id");
	ck_assert_pstr_eq(req_param(&tr, "association_type"), "owner");
	ck_assert_pstr_eq(req_param(&tr, "to_type"), "company");
	ck_assert_pstr_eq(req_param(&tr, "to_id"), "obj_2");
	ck_assert_pstr_eq(req_param(&tr, "from_type"), "contact");
	ck_assert_pstr_eq(req_param(&tr, "from_id"), "obj_1");

	ck_assert_int_eq(router_match(&tr, "GET", "/v1/objects/contact/obj_1/associations", NULL),
			 MATCH_OK);
	ck_assert_str_eq(tr.route->path, "/v1/objects/:type/:id/associations");
	ck_assert_pstr_eq(req_param(&tr, "type"), "contact");
	ck_assert_pstr_eq(req_param(&tr, "id"), "obj_1");
}
END_TEST

/*
 * Regression (fixed): fcgi/router.c router_match() builds Allow from the first node
 * that ends a route (the literal /v1/files/stats, GET only), although PATCH
 * and DELETE on the same path are routed to /v1/files/:file_id.  A PUT is
 * answered 405 with "Allow: GET, HEAD" while PATCH and DELETE work.  The
 * Allow list should be the union over every node the path reaches.
 */
START_TEST(allow_lists_methods_reached_through_the_parameter_branch)
{
	const char *allow = NULL;
	ck_assert_int_eq(router_match(&tr, "PATCH", "/v1/files/stats", NULL), MATCH_OK);
	ck_assert_int_eq(router_match(&tr, "PUT", "/v1/files/stats", &allow), MATCH_NO_METHOD);
	ck_assert_pstr_eq(allow, "GET, HEAD, PATCH, DELETE");
}
END_TEST

/*
 * Regression (fixed): fcgi/router.c router_match() says "Allow one trailing
 * slash; reject empty inner segments", but an empty segment followed by the
 * final slash is taken for the trailing slash: "/v1/keys//" matches
 * GET /v1/keys and "//" matches GET /.  Expected: MATCH_NO_PATH (only a
 * single final '/' is forgiven).
 */
START_TEST(only_one_trailing_slash_is_forgiven)
{
	ck_assert_int_eq(router_match(&tr, "GET", "/v1/keys/", NULL), MATCH_OK);
	ck_assert_int_eq(router_match(&tr, "GET", "/v1/keys//", NULL), MATCH_NO_PATH);
	ck_assert_int_eq(router_match(&tr, "GET", "//", NULL), MATCH_NO_PATH);
	ck_assert_int_eq(router_match(&tr, "GET", "/v1/keys///", NULL), MATCH_NO_PATH);
}
END_TEST

Suite *suite_router(void)
{
	Suite *s = suite_create("router");

	TCase *tc = tcase_create("table");
	tcase_add_test(tc, spec_has_337_rows_and_table_has_as_many_besides_its_extensions);
	tcase_add_test(tc, every_spec_row_is_in_the_table_exactly_once_with_its_group_auth_and_summary);
	tcase_add_test(tc, every_table_row_is_in_the_spec_exactly_once);
	tcase_add_test(tc, every_route_scope_is_a_known_scope_name);
	tcase_add_test(tc, public_routes_require_no_scope);
	tcase_add_test(tc, every_end_user_route_names_its_permission);
	tcase_add_test(tc, route_tables_are_tenant_tables_outside_the_core);
	tcase_add_loop_test(tc, scope_bit_maps_each_name_to_its_bit_and_unknown_names_to_zero, 0,
			    (int)(sizeof(scope_cases) / sizeof(scope_cases[0])));
	tcase_add_test(tc, scope_bits_are_distinct);
	tcase_add_test(tc, router_init_builds_the_table_and_can_be_repeated);
	suite_add_tcase(s, tc);

	tc = tcase_create("match");
	tcase_add_checked_fixture(tc, router_setup, router_teardown);
	tcase_add_loop_test(tc, match_finds_the_route_and_decodes_its_parameters, 0,
			    (int)(sizeof(match_cases) / sizeof(match_cases[0])));
	tcase_add_loop_test(tc, unknown_paths_give_no_path, 0,
			    (int)(sizeof(no_path_cases) / sizeof(no_path_cases[0])));
	tcase_add_loop_test(tc, known_path_with_other_method_gives_no_method_and_allow, 0,
			    (int)(sizeof(no_method_cases) / sizeof(no_method_cases[0])));
	tcase_add_test(tc, no_method_accepts_a_null_allow_pointer);
	tcase_add_test(tc, match_before_router_init_gives_no_path);
	tcase_add_test(tc, association_routes_expose_their_own_parameter_names);
	tcase_add_test(tc, allow_lists_methods_reached_through_the_parameter_branch);
	tcase_add_test(tc, only_one_trailing_slash_is_forgiven);
	suite_add_tcase(s, tc);
	return s;
}
