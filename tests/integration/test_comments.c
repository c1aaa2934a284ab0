/*
 * test_comments.c - comments on objects end to end through nginx → FastCGI
 * → MariaDB: end users write and edit their own comments, API keys cannot
 * write them, an admin key moderates (deletes any, audited), lists are
 * newest first with a keyset cursor, bodies are validated, objects that are
 * missing, trashed, of another type or of another tenant are 404, and each
 * change writes one outbox event.  Each test makes its own tenant, type,
 * objects and end users (two JWTs with different user ids).
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

/* ------------------------------------------------------------ helpers */

/* A tenant with a "notes" type, one note and two end users. */
struct fixture {
	char *id;
	char *key;     /* the admin ("*") key */
	char *type;    /* the "notes" type's id */
	char *obj;     /* one live note */
	char *alice;   /* end-user JWT for usr_alice */
	char *bob;     /* end-user JWT for usr_bob */
};

static void fixture_make(struct fixture *t)
{
	ck_assert_msg(tenant_new("pro", &t->id, &t->key) == 0, "tenant create failed");
	t->type = type_make(t->key, "notes");
	t->obj = obj_make(t->key, "notes", "{}");
	t->alice = jwt_mint(t->id, "usr_alice", "authenticated", 3600, NULL);
	t->bob = jwt_mint(t->id, "usr_bob", "authenticated", 3600, NULL);
	ck_assert_ptr_nonnull(t->alice);
	ck_assert_ptr_nonnull(t->bob);
}

static void fixture_drop(struct fixture *t)
{
	free(t->id);
	free(t->key);
	free(t->type);
	free(t->obj);
	free(t->alice);
	free(t->bob);
}

/* POST a comment with body text (JSON-escaped by cJSON). */
static http_resp *comment_post(const char *token, const char *type, const char *obj, const char *text)
{
	cJSON *b = cJSON_CreateObject();
	cJSON_AddStringToObject(b, "body", text);
	char *json = cJSON_PrintUnformatted(b);
	http_resp *r = call("POST", token, json, "/v1/objects/%s/%s/comments", type, obj);
	cJSON_free(json);
	cJSON_Delete(b);
	return r;
}

/* Creates a comment, asserting 201; returns its id (malloc'd). */
static char *comment_make(const char *token, const char *type, const char *obj, const char *text)
{
	http_resp *r = comment_post(token, type, obj, text);
	assert_envelope(r, 201, NULL);
	char *id = strdup(json_str(resp_data(r), "id"));
	http_free(r);
	return id;
}

/* GET …/comments with an optional query ("limit=5"); the data (caller frees). */
static cJSON *comments_of(const char *token, const char *type, const char *obj, const char *query)
{
	http_resp *r = call("GET", token, NULL, "/v1/objects/%s/%s/comments%s%s", type, obj,
			    query ? "?" : "", query ? query : "");
	assert_envelope(r, 200, NULL);
	cJSON *d = cJSON_Duplicate(resp_data(r), 1);
	http_free(r);
	return d;
}

static long long total_of(const cJSON *list)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(list, "total");
	ck_assert(cJSON_IsNumber(v));
	return (long long)v->valuedouble;
}

static long long count_of(const char *token, const char *type, const char *obj)
{
	cJSON *l = comments_of(token, type, obj, NULL);
	long long n = total_of(l);
	cJSON_Delete(l);
	return n;
}

/* ------------------------------------------------------------ tests */

START_TEST(end_user_creates_and_everyone_allowed_lists)
{
	struct fixture t;
	fixture_make(&t);
	http_resp *r = comment_post(t.alice, "notes", t.obj, "First!");
	assert_envelope(r, 201, NULL);
	const cJSON *c = resp_data(r);
	const char *id = json_str(c, "id");
	ck_assert_msg(id && strncmp(id, "cmt_", 4) == 0, "id: %s", r->body);
	ck_assert_str_eq(json_str(c, "object_type_id"), t.type);
	ck_assert_str_eq(json_str(c, "object_id"), t.obj);
	ck_assert_str_eq(json_str(c, "author_id"), "usr_alice");
	ck_assert_str_eq(json_str(c, "body"), "First!");
	ck_assert(is_utc_time(json_str(c, "created_at")));
	ck_assert(is_utc_time(json_str(c, "updated_at")));
	ck_assert_int_eq(cJSON_GetArraySize(c), 7);
	char *cid = strdup(id);
	http_free(r);

	/* By type id as well as by name. */
	char *cid2 = comment_make(t.bob, t.type, t.obj, "Second");

	char *read = key_new(t.key, "{\"label\":\"reader\",\"scopes\":[\"read\"]}", NULL);
	const char *listers[] = { t.alice, t.bob, t.key, read };
	for (size_t i = 0; i < 4; i++) {
		cJSON *l = comments_of(listers[i], "notes", t.obj, NULL);
		ck_assert_int_eq(total_of(l), 2);
		ck_assert(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(l, "next_cursor")));
		const cJSON *res = cJSON_GetObjectItemCaseSensitive(l, "results");
		ck_assert_int_eq(cJSON_GetArraySize(res), 2);
		ck_assert_str_eq(json_str(cJSON_GetArrayItem(res, 0), "id"), cid2);
		ck_assert_str_eq(json_str(cJSON_GetArrayItem(res, 0), "author_id"), "usr_bob");
		ck_assert_str_eq(json_str(cJSON_GetArrayItem(res, 1), "id"), cid);
		ck_assert_str_eq(json_str(cJSON_GetArrayItem(res, 1), "body"), "First!");
		cJSON_Delete(l);
	}
	free(read);
	free(cid);
	free(cid2);
	fixture_drop(&t);
}
END_TEST

START_TEST(api_keys_cannot_write_comments)
{
	struct fixture t;
	fixture_make(&t);
	char *cid = comment_make(t.alice, "notes", t.obj, "mine");
	long long events = outbox_count(t.id);
	char *write = key_new(t.key, "{\"label\":\"writer\",\"scopes\":[\"write\"]}", NULL);
	char *read = key_new(t.key, "{\"label\":\"reader\",\"scopes\":[\"read\"]}", NULL);

	const char *writers[] = { t.key, write };
	for (size_t i = 0; i < 2; i++) {
		http_resp *r = comment_post(writers[i], "notes", t.obj, "from a key");
		assert_envelope(r, 403, "FORBIDDEN");
		ck_assert_msg(strstr(error_message(r), "end user"), "message: %s", r->body);
		http_free(r);
		r = call("PATCH", writers[i], "{\"body\":\"edited by key\"}", "/v1/objects/notes/%s/comments/%s",
			 t.obj, cid);
		assert_envelope(r, 403, "FORBIDDEN");
		ck_assert_msg(strstr(error_message(r), "end user"), "message: %s", r->body);
		http_free(r);
	}
	http_resp *r = comment_post(read, "notes", t.obj, "from a reader");
	assert_envelope(r, 403, "INSUFFICIENT_SCOPE");
	http_free(r);

	cJSON *l = comments_of(t.key, "notes", t.obj, NULL);
	ck_assert_int_eq(total_of(l), 1);
	ck_assert_str_eq(json_str(cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(l, "results"), 0), "body"),
			 "mine");
	cJSON_Delete(l);
	ck_assert_int_eq(outbox_count(t.id), events);
	free(write);
	free(read);
	free(cid);
	fixture_drop(&t);
}
END_TEST

START_TEST(only_the_author_edits_or_deletes)
{
	struct fixture t;
	fixture_make(&t);
	http_resp *r = comment_post(t.alice, "notes", t.obj, "draft");
	assert_envelope(r, 201, NULL);
	char *cid = strdup(json_str(resp_data(r), "id"));
	char *created = strdup(json_str(resp_data(r), "created_at"));
	http_free(r);

	r = call("PATCH", t.bob, "{\"body\":\"hijacked\"}", "/v1/objects/notes/%s/comments/%s", t.obj, cid);
	assert_envelope(r, 403, "FORBIDDEN");
	http_free(r);
	r = call("DELETE", t.bob, NULL, "/v1/objects/notes/%s/comments/%s", t.obj, cid);
	assert_envelope(r, 403, "FORBIDDEN");
	http_free(r);

	r = call("PATCH", t.alice, "{\"body\":\"final\"}", "/v1/objects/notes/%s/comments/%s", t.obj, cid);
	assert_envelope(r, 200, NULL);
	const cJSON *c = resp_data(r);
	ck_assert_str_eq(json_str(c, "id"), cid);
	ck_assert_str_eq(json_str(c, "body"), "final");
	ck_assert_str_eq(json_str(c, "author_id"), "usr_alice");
	ck_assert_str_eq(json_str(c, "created_at"), created);
	ck_assert(strcmp(json_str(c, "updated_at"), created) >= 0);
	http_free(r);

	cJSON *l = comments_of(t.bob, "notes", t.obj, NULL);
	ck_assert_str_eq(json_str(cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(l, "results"), 0), "body"),
			 "final");
	cJSON_Delete(l);

	r = call("DELETE", t.alice, NULL, "/v1/objects/notes/%s/comments/%s", t.obj, cid);
	assert_envelope(r, 200, NULL);
	ck_assert(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(resp_data(r), "deleted")));
	ck_assert_str_eq(json_str(resp_data(r), "id"), cid);
	http_free(r);
	ck_assert_int_eq(count_of(t.alice, "notes", t.obj), 0);

	/* Gone: editing or deleting again is 404. */
	r = call("DELETE", t.alice, NULL, "/v1/objects/notes/%s/comments/%s", t.obj, cid);
	assert_envelope(r, 404, "NOT_FOUND");
	http_free(r);
	r = call("PATCH", t.alice, "{\"body\":\"again\"}", "/v1/objects/notes/%s/comments/%s", t.obj, cid);
	assert_envelope(r, 404, "NOT_FOUND");
	http_free(r);
	free(cid);
	free(created);
	fixture_drop(&t);
}
END_TEST

START_TEST(admin_key_moderates_any_comment)
{
	struct fixture t;
	fixture_make(&t);
	char *c1 = comment_make(t.bob, "notes", t.obj, "spam");
	char *write = key_new(t.key, "{\"label\":\"writer\",\"scopes\":[\"write\"]}", NULL);
	char *read = key_new(t.key, "{\"label\":\"reader\",\"scopes\":[\"read\"]}", NULL);

	http_resp *r = call("DELETE", write, NULL, "/v1/objects/notes/%s/comments/%s", t.obj, c1);
	assert_envelope(r, 403, "FORBIDDEN");
	http_free(r);
	r = call("DELETE", read, NULL, "/v1/objects/notes/%s/comments/%s", t.obj, c1);
	assert_envelope(r, 403, "INSUFFICIENT_SCOPE");
	http_free(r);
	ck_assert_int_eq(count_of(t.key, "notes", t.obj), 1);

	r = call("DELETE", t.key, NULL, "/v1/objects/notes/%s/comments/%s", t.obj, c1);
	assert_envelope(r, 200, NULL);
	ck_assert(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(resp_data(r), "deleted")));
	http_free(r);
	ck_assert_int_eq(count_of(t.key, "notes", t.obj), 0);

	/* Moderation is an admin action: it is audited. */
	char *sql = strf("SELECT action, actor_type FROM audit_logs WHERE tenant_id='%s' AND resource_id='%s'",
			 t.id, c1);
	char *out = control_sql(sql);
	ck_assert_msg(strstr(out, "comment.moderated") && strstr(out, "api_key"), "audit: %s", out);
	free(out);
	free(sql);
	free(write);
	free(read);
	free(c1);
	fixture_drop(&t);
}
END_TEST

START_TEST(list_is_newest_first_and_cursor_walk_sees_each_once)
{
	struct fixture t;
	fixture_make(&t);
	enum { N = 25 };
	char *ids[N];
	for (int i = 0; i < N; i++) {
		char text[32];
		snprintf(text, sizeof(text), "comment %d", i);
		ids[i] = comment_make(i % 2 ? t.bob : t.alice, "notes", t.obj, text);
	}
	/* Another object's comments never show up. */
	char *other = obj_make(t.key, "notes", "{}");
	char *stray = comment_make(t.alice, "notes", other, "elsewhere");

	/* Default page: 20 newest, in reverse order of writing. */
	cJSON *l = comments_of(t.alice, "notes", t.obj, NULL);
	ck_assert_int_eq(total_of(l), N);
	const cJSON *res = cJSON_GetObjectItemCaseSensitive(l, "results");
	ck_assert_int_eq(cJSON_GetArraySize(res), 20);
	for (int i = 0; i < 20; i++)
		ck_assert_str_eq(json_str(cJSON_GetArrayItem(res, i), "id"), ids[N - 1 - i]);
	ck_assert(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(l, "next_cursor")));
	cJSON_Delete(l);

	/* Walk with limit 7: 7 + 7 + 7 + 4, each exactly once, newest first. */
	int seen = 0, pages = 0;
	char *cursor = NULL;
	do {
		char *q = cursor ? strf("limit=7&cursor=%s", cursor) : strf("limit=7");
		l = comments_of(t.key, "notes", t.obj, q);
		free(q);
		free(cursor);
		cursor = NULL;
		ck_assert_int_eq(total_of(l), N);
		res = cJSON_GetObjectItemCaseSensitive(l, "results");
		const cJSON *it;
		cJSON_ArrayForEach(it, res) {
			ck_assert_int_lt(seen, N);
			ck_assert_str_eq(json_str(it, "id"), ids[N - 1 - seen]);
			seen++;
		}
		const cJSON *nc = cJSON_GetObjectItemCaseSensitive(l, "next_cursor");
		if (cJSON_IsString(nc))
			cursor = strdup(nc->valuestring);
		else
			ck_assert(cJSON_IsNull(nc));
		cJSON_Delete(l);
		pages++;
	} while (cursor && pages < 10);
	ck_assert_int_eq(seen, N);
	ck_assert_int_eq(pages, 4);

	/* A comment written during a walk is newer than the cursor: the walk
	 * goes on from where it was. */
	l = comments_of(t.key, "notes", t.obj, "limit=10");
	char *mid = strdup(json_str(l, "next_cursor"));
	cJSON_Delete(l);
	char *late = comment_make(t.bob, "notes", t.obj, "late");
	char *q = strf("limit=100&cursor=%s", mid);
	l = comments_of(t.key, "notes", t.obj, q);
	res = cJSON_GetObjectItemCaseSensitive(l, "results");
	ck_assert_int_eq(cJSON_GetArraySize(res), N - 10);
	ck_assert_str_eq(json_str(cJSON_GetArrayItem(res, 0), "id"), ids[N - 11]);
	ck_assert_int_eq(total_of(l), N + 1);
	cJSON_Delete(l);
	free(q);

	/* limit bounds and bad cursors. */
	static const char *const bad_limits[] = { "limit=0", "limit=101", "limit=abc" };
	for (size_t i = 0; i < 3; i++) {
		http_resp *r = call("GET", t.key, NULL, "/v1/objects/notes/%s/comments?%s", t.obj, bad_limits[i]);
		assert_invalid(r, "limit");
		http_free(r);
	}
	http_resp *r = call("GET", t.key, NULL, "/v1/objects/notes/%s/comments?cursor=not-a-cursor", t.obj);
	assert_invalid(r, "cursor");
	http_free(r);
	/* A cursor of another object's list is refused, not misapplied. */
	r = call("GET", t.key, NULL, "/v1/objects/notes/%s/comments?cursor=%s", other, mid);
	assert_invalid(r, "cursor");
	http_free(r);
	l = comments_of(t.key, "notes", t.obj, "limit=100");
	ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(l, "results")), N + 1);
	cJSON_Delete(l);

	for (int i = 0; i < N; i++)
		free(ids[i]);
	free(mid);
	free(late);
	free(other);
	free(stray);
	fixture_drop(&t);
}
END_TEST

START_TEST(bad_bodies_are_rejected_and_write_nothing)
{
	struct fixture t;
	fixture_make(&t);
	char *cid = comment_make(t.alice, "notes", t.obj, "keep me");
	long long events = outbox_count(t.id);

	/* Exactly 10,000 characters (2 bytes each) is fine, 10,001 is not. */
	size_t n = 10001;
	char *big = malloc(n * 2 + 1);
	for (size_t i = 0; i < n; i++)
		memcpy(big + 2 * i, "\xc3\xa9", 2);
	big[n * 2] = '\0';
	http_resp *r = comment_post(t.alice, "notes", t.obj, big);
	assert_invalid(r, "body");
	http_free(r);
	big[(n - 1) * 2] = '\0';
	char *ok = comment_make(t.alice, "notes", t.obj, big);
	cJSON *l = comments_of(t.alice, "notes", t.obj, "limit=1");
	ck_assert_str_eq(json_str(cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(l, "results"), 0), "body"),
			 big);
	cJSON_Delete(l);
	events++;

	static const struct { const char *json, *field; } cases[] = {
		{ "{\"body\":\"\"}", "body" },
		{ "{\"body\":\"  \\n\\t \"}", "body" },
		{ "{}", "body" },
		{ "{\"body\":42}", "body" },
		{ "{\"body\":null}", "body" },
		{ "{\"body\":\"hi\",\"pinned\":true}", "pinned" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		r = call("POST", t.alice, cases[i].json, "/v1/objects/notes/%s/comments", t.obj);
		assert_invalid(r, cases[i].field);
		http_free(r);
		r = call("PATCH", t.alice, cases[i].json, "/v1/objects/notes/%s/comments/%s", t.obj, cid);
		assert_invalid(r, cases[i].field);
		http_free(r);
	}
	r = call("POST", t.alice, "{\"body\":", "/v1/objects/notes/%s/comments", t.obj);
	assert_envelope(r, 400, "INVALID_JSON");
	http_free(r);

	ck_assert_int_eq(count_of(t.alice, "notes", t.obj), 2);
	l = comments_of(t.alice, "notes", t.obj, NULL);
	ck_assert_str_eq(json_str(cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(l, "results"), 1), "body"),
			 "keep me");
	cJSON_Delete(l);
	ck_assert_int_eq(outbox_count(t.id), events);
	free(big);
	free(ok);
	free(cid);
	fixture_drop(&t);
}
END_TEST

START_TEST(missing_trashed_or_mismatched_targets_are_404)
{
	struct fixture t;
	fixture_make(&t);
	char *cid = comment_make(t.alice, "notes", t.obj, "on obj");
	free(type_make(t.key, "tasks"));
	char *task = obj_make(t.key, "tasks", "{}");
	char *trashed = obj_make(t.key, "notes", "{}");
	char *trashed_c = comment_make(t.alice, "notes", trashed, "soon hidden");
	http_resp *r = call("DELETE", t.key, NULL, "/v1/objects/notes/%s", trashed);
	assert_envelope(r, 200, NULL);
	http_free(r);

	const char *paths[][2] = {
		{ "nosuchtype", t.obj },          /* unknown type */
		{ "notes", "obj_01ZZZZZZZZZZZZZZZZZZZZZZZZ" }, /* unknown object */
		{ "tasks", t.obj },               /* object of another type */
		{ "notes", task },                /* ditto, the other way */
		{ "notes", trashed },             /* in the trash */
	};
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		const char *ty = paths[i][0], *ob = paths[i][1];
		const char *c = i == 4 ? trashed_c : cid;
		r = call("GET", t.alice, NULL, "/v1/objects/%s/%s/comments", ty, ob);
		assert_envelope(r, 404, "NOT_FOUND");
		http_free(r);
		r = call("GET", t.key, NULL, "/v1/objects/%s/%s/comments", ty, ob);
		assert_envelope(r, 404, "NOT_FOUND");
		http_free(r);
		r = comment_post(t.alice, ty, ob, "hello?");
		assert_envelope(r, 404, "NOT_FOUND");
		http_free(r);
		r = call("PATCH", t.alice, "{\"body\":\"x\"}", "/v1/objects/%s/%s/comments/%s", ty, ob, c);
		assert_envelope(r, 404, "NOT_FOUND");
		http_free(r);
		r = call("DELETE", t.key, NULL, "/v1/objects/%s/%s/comments/%s", ty, ob, c);
		assert_envelope(r, 404, "NOT_FOUND");
		http_free(r);
	}
	/* A comment id that is not on this object (or not a comment at all). */
	char *other = obj_make(t.key, "notes", "{}");
	const char *bad_ids[] = { cid, "cmt_01ZZZZZZZZZZZZZZZZZZZZZZZZ", "nonsense" };
	for (size_t i = 0; i < 3; i++) {
		const char *on = i == 0 ? other : t.obj;
		r = call("PATCH", t.alice, "{\"body\":\"x\"}", "/v1/objects/notes/%s/comments/%s", on, bad_ids[i]);
		assert_envelope(r, 404, "NOT_FOUND");
		http_free(r);
		r = call("DELETE", t.alice, NULL, "/v1/objects/notes/%s/comments/%s", on, bad_ids[i]);
		assert_envelope(r, 404, "NOT_FOUND");
		http_free(r);
	}
	/* Restored, the object's comments are back. */
	r = call("POST", t.key, NULL, "/v1/objects/notes/%s/restore", trashed);
	assert_envelope(r, 200, NULL);
	http_free(r);
	ck_assert_int_eq(count_of(t.bob, "notes", trashed), 1);
	ck_assert_int_eq(count_of(t.bob, "notes", t.obj), 1);
	free(cid);
	free(task);
	free(trashed);
	free(trashed_c);
	free(other);
	fixture_drop(&t);
}
END_TEST

START_TEST(other_tenant_ids_are_404)
{
	struct fixture a, b;
	fixture_make(&a);
	fixture_make(&b);
	char *cid = comment_make(a.alice, "notes", a.obj, "tenant a only");
	/* b's tokens see nothing of a's objects, even with a type of the same name. */
	const char *tokens[] = { b.key, b.alice };
	for (size_t i = 0; i < 2; i++) {
		http_resp *r = call("GET", tokens[i], NULL, "/v1/objects/notes/%s/comments", a.obj);
		assert_envelope(r, 404, "NOT_FOUND");
		http_free(r);
		r = call("GET", tokens[i], NULL, "/v1/objects/%s/%s/comments", a.type, a.obj);
		assert_envelope(r, 404, "NOT_FOUND");
		http_free(r);
		r = call("DELETE", tokens[i], NULL, "/v1/objects/notes/%s/comments/%s", a.obj, cid);
		assert_envelope(r, 404, "NOT_FOUND");
		http_free(r);
		/* a's comment id under b's own object. */
		r = call("DELETE", tokens[i], NULL, "/v1/objects/notes/%s/comments/%s", b.obj, cid);
		assert_envelope(r, 404, "NOT_FOUND");
		http_free(r);
	}
	http_resp *r = comment_post(b.alice, "notes", a.obj, "sneaky");
	assert_envelope(r, 404, "NOT_FOUND");
	http_free(r);
	/* usr_alice of tenant b is not usr_alice of tenant a. */
	r = call("PATCH", b.alice, "{\"body\":\"sneaky\"}", "/v1/objects/notes/%s/comments/%s", b.obj, cid);
	assert_envelope(r, 404, "NOT_FOUND");
	http_free(r);
	r = call("PATCH", b.alice, "{\"body\":\"sneaky\"}", "/v1/objects/notes/%s/comments/%s", a.obj, cid);
	assert_envelope(r, 404, "NOT_FOUND");
	http_free(r);

	cJSON *l = comments_of(a.key, "notes", a.obj, NULL);
	ck_assert_int_eq(total_of(l), 1);
	ck_assert_str_eq(json_str(cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(l, "results"), 0), "body"),
			 "tenant a only");
	cJSON_Delete(l);
	ck_assert_int_eq(count_of(b.key, "notes", b.obj), 0);
	free(cid);
	fixture_drop(&a);
	fixture_drop(&b);
}
END_TEST

START_TEST(each_change_writes_an_outbox_event)
{
	struct fixture t;
	fixture_make(&t);
	long long before = outbox_count(t.id);
	char *cid = comment_make(t.alice, "notes", t.obj, "v1");
	http_resp *r = call("PATCH", t.alice, "{\"body\":\"v2\"}", "/v1/objects/notes/%s/comments/%s", t.obj, cid);
	assert_envelope(r, 200, NULL);
	http_free(r);
	r = call("DELETE", t.alice, NULL, "/v1/objects/notes/%s/comments/%s", t.obj, cid);
	assert_envelope(r, 200, NULL);
	http_free(r);
	ck_assert_int_eq(outbox_count(t.id), before + 3);
	char *ev = events_of(cid);
	ck_assert_str_eq(ev, "comment.created comment.updated comment.deleted");
	free(ev);

	char *sql = strf("SELECT DISTINCT tenant_id, resource_type FROM outbox WHERE resource_id='%s'", cid);
	char *out = control_sql(sql);
	char *want = strf("%s\tcomment", t.id);
	ck_assert_str_eq(out, want);
	free(want);
	free(out);
	free(sql);

	/* The created event carries the comment; the deleted one who wrote it. */
	sql = strf("SELECT JSON_VALUE(payload, '$.body'), JSON_VALUE(payload, '$.author_id'), "
		   "JSON_VALUE(payload, '$.object_id') FROM outbox WHERE resource_id='%s' "
		   "AND event='comment.created'", cid);
	out = control_sql(sql);
	want = strf("v1\tusr_alice\t%s", t.obj);
	ck_assert_str_eq(out, want);
	free(want);
	free(out);
	free(sql);
	sql = strf("SELECT JSON_VALUE(payload, '$.body') FROM outbox WHERE resource_id='%s' "
		   "AND event='comment.updated'", cid);
	out = control_sql(sql);
	ck_assert_str_eq(out, "v2");
	free(out);
	free(sql);

	/* Refused changes write nothing. */
	char *c2 = comment_make(t.bob, "notes", t.obj, "bob's");
	before = outbox_count(t.id);
	r = call("DELETE", t.alice, NULL, "/v1/objects/notes/%s/comments/%s", t.obj, c2);
	assert_envelope(r, 403, "FORBIDDEN");
	http_free(r);
	r = comment_post(t.key, "notes", t.obj, "key");
	assert_envelope(r, 403, "FORBIDDEN");
	http_free(r);
	ck_assert_int_eq(outbox_count(t.id), before);
	free(c2);
	free(cid);
	fixture_drop(&t);
}
END_TEST

START_TEST(comments_routes_need_credentials)
{
	struct fixture t;
	fixture_make(&t);
	http_resp *r = call("GET", NULL, NULL, "/v1/objects/notes/%s/comments", t.obj);
	assert_envelope(r, 401, "UNAUTHORIZED");
	http_free(r);
	r = call("POST", NULL, "{\"body\":\"anon\"}", "/v1/objects/notes/%s/comments", t.obj);
	assert_envelope(r, 401, "UNAUTHORIZED");
	http_free(r);
	ck_assert_int_eq(count_of(t.key, "notes", t.obj), 0);
	fixture_drop(&t);
}
END_TEST

Suite *suite_comments(void)
{
	Suite *s = suite_create("comments");
	TCase *tc = tcase_new_slow(s, "write");
	tcase_add_test(tc, end_user_creates_and_everyone_allowed_lists);
	tcase_add_test(tc, api_keys_cannot_write_comments);
	tcase_add_test(tc, only_the_author_edits_or_deletes);
	tcase_add_test(tc, admin_key_moderates_any_comment);
	tcase_add_test(tc, comments_routes_need_credentials);

	tc = tcase_new_slow(s, "list");
	tcase_add_test(tc, list_is_newest_first_and_cursor_walk_sees_each_once);

	tc = tcase_new_slow(s, "bad input");
	tcase_add_test(tc, bad_bodies_are_rejected_and_write_nothing);
	tcase_add_test(tc, missing_trashed_or_mismatched_targets_are_404);
	tcase_add_test(tc, other_tenant_ids_are_404);

	tc = tcase_new_slow(s, "events");
	tcase_add_test(tc, each_change_writes_an_outbox_event);
	return s;
}
