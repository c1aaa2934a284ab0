/*
 * test_ai.c - AI providers and the AI endpoints against the real stack and
 * a real HTTP server of each provider protocol on loopback
 * (ai_provider.py, speaking the OpenAI and Anthropic formats, streamed and
 * not, with 429 + Retry-After on demand, and recording what it receives).
 *
 * What a user relies on: the built-in models work with nothing configured
 * (embeddings, index and search, summaries, tags, moderation); chat needs
 * a provider and says so; provider keys are sealed, masked and never
 * echoed; requests reach the provider in its format with its auth header,
 * the model and the (trimmed) history; streams arrive as Server-Sent
 * Events; rate limits and failures map to AI_RATE_LIMITED and
 * AI_PROVIDER_ERROR; an end user's search shows only what their policies
 * let them read; usage is metered and the token budget enforced.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>

#include "harness.h"
#include "peers.h"

Suite *suite_ai(void);

#define KEY "sk-test-0123456789abcdef-SECRET"

/* A provider of type ptype served by box of the fake; returns its id. */
static char *provider_make(const char *key, const struct receiver *fake, const char *box,
			   const char *ptype, const char *extra)
{
	char *body = strf("{\"name\":\"%s\",\"provider_type\":\"%s\",\"api_key\":\"" KEY "\","
			  "\"config_json\":{\"base_url\":\"http://127.0.0.1:%d/%s/v1\","
			  "\"chat_model\":\"%s\",\"max_retries\":1%s}}",
			  box, ptype, fake->port, box, !strcmp(ptype, "anthropic") ? "claude-3-test" : "gpt-test",
			  extra ? extra : "");
	http_resp *r = call("POST", key, body, "/v1/ai-providers");
	assert_envelope(r, 201, NULL);
	ck_assert_msg(!strstr(r->body, KEY), "the key is echoed: %s", r->body);
	char *id = strdup(json_str(resp_data(r), "id"));
	http_free(r);
	free(body);
	return id;
}

/* What the fake's box received: request i's body and headers. */
static const cJSON *got_body(const cJSON *got, int i)
{
	return item(cJSON_GetArrayItem(item(got, "received"), i), "body");
}

static const char *got_header(const cJSON *got, int i, const char *name)
{
	return json_str(item(cJSON_GetArrayItem(item(got, "received"), i), "headers"), name);
}

/* One value from a table of the tenant's own database. */
static char *tenant_sql(const char *tenant, const char *fmt_table, const char *id)
{
	char *q = strf("SELECT db_name FROM tenants WHERE id = '%s'", tenant);
	char *db = control_sql(q);
	char *sql = strf(fmt_table, db, id);
	char *out = control_sql(sql);
	free(q);
	free(db);
	free(sql);
	return out;
}

/* A tenant with one provider of ptype on box of a fresh fake. */
struct ai_env {
	struct tenant t;
	struct receiver fake;
	char *provider;
};

static void env_up(struct ai_env *e, const char *box, const char *ptype, const char *extra)
{
	tenant_make(&e->t);
	peer_start(&e->fake, "ai_provider");
	e->provider = provider_make(e->t.key, &e->fake, box, ptype, extra);
}

static void env_down(struct ai_env *e)
{
	recv_stop(&e->fake);
	free(e->provider);
	tenant_drop(&e->t);
}

static long status_of(http_resp *r)
{
	long s = r->status;
	http_free(r);
	return s;
}

/* --- the built-in models ------------------------------------------------------ */

START_TEST(local_embeddings_are_deterministic_and_limited_to_100_texts)
{
	struct tenant t;
	tenant_make(&t);
	http_resp *r = call("POST", t.key, "{\"text\":[\"invoice payment terms\",\"invoice payment terms\","
			    "\"a lazy dog\"]}", "/v1/ai/embeddings");
	assert_envelope(r, 200, NULL);
	const cJSON *d = resp_data(r), *e = item(d, "embeddings");
	ck_assert_str_eq(json_str(d, "model"), "local-hash-384");
	ck_assert_int_eq(item(d, "dimensions")->valueint, 384);
	ck_assert_int_eq(cJSON_GetArraySize(e), 3);
	ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetArrayItem(e, 0)), 384);
	char *a = cJSON_PrintUnformatted(cJSON_GetArrayItem(e, 0));
	char *b = cJSON_PrintUnformatted(cJSON_GetArrayItem(e, 1));
	char *c = cJSON_PrintUnformatted(cJSON_GetArrayItem(e, 2));
	ck_assert_str_eq(a, b);
	ck_assert_str_ne(a, c);
	double norm = 0;
	const cJSON *v;
	cJSON_ArrayForEach(v, cJSON_GetArrayItem(e, 0))
		norm += v->valuedouble * v->valuedouble;
	ck_assert_msg(fabs(norm - 1.0) < 1e-3, "not unit length: %f", norm);
	free(a);
	free(b);
	free(c);
	http_free(r);

	char *many = strdup("{\"text\":[\"x\"");
	for (int i = 0; i < 100; i++) {
		char *n = strf("%s,\"x\"", many);
		free(many);
		many = n;
	}
	char *body = strf("%s]}", many);
	r = call("POST", t.key, body, "/v1/ai/embeddings");
	assert_invalid(r, "text");
	http_free(r);
	r = call("POST", t.key, "{\"text\":\"x\",\"model\":\"no-such-model\"}", "/v1/ai/embeddings");
	assert_invalid(r, "model");
	http_free(r);
	free(many);
	free(body);
	tenant_drop(&t);
}
END_TEST

/* A "notes" type with owner and text, and three notes. */
static void notes_make(const char *key, char **ids)
{
	free(type_make(key, "notes"));
	prop_make(key, "notes", "{\"name\":\"owner\",\"data_type\":\"string\"}");
	prop_make(key, "notes", "{\"name\":\"text\",\"data_type\":\"text\"}");
	ids[0] = obj_make(key, "notes", "{\"owner\":\"usr_alice\",\"text\":\"Invoices are payable "
			  "within thirty days of delivery.\"}");
	ids[1] = obj_make(key, "notes", "{\"owner\":\"usr_bob\",\"text\":\"Our office dog enjoys "
			  "long walks by the river.\"}");
	ids[2] = obj_make(key, "notes", "{\"owner\":\"usr_alice\",\"text\":\"Quarterly revenue "
			  "grew in the European market.\"}");
}

static http_resp *index_notes(const char *key, char **ids, int n)
{
	char *list = strdup("");
	for (int i = 0; i < n; i++) {
		char *l = strf("%s%s\"%s\"", list, i ? "," : "", ids[i]);
		free(list);
		list = l;
	}
	char *body = strf("{\"object_type_id\":\"notes\",\"object_ids\":[%s]}", list);
	http_resp *r = call("POST", key, body, "/v1/ai/index");
	free(list);
	free(body);
	return r;
}

/* The object ids of a search's results, in order, comma-separated. */
static char *search_ids(const char *token, const char *query)
{
	char *body = strf("{\"query\":\"%s\",\"limit\":3,\"object_type_id\":\"notes\"}", query);
	http_resp *r = call("POST", token, body, "/v1/ai/search");
	assert_envelope(r, 200, NULL);
	ck_assert_str_eq(json_str(resp_data(r), "model"), "local-hash-384");
	char *out = strdup("");
	const cJSON *h;
	double last = 2;
	cJSON_ArrayForEach(h, item(resp_data(r), "results")) {
		double s = item(h, "score")->valuedouble;
		ck_assert_msg(s <= last, "results are not in score order: %s", r->body);
		last = s;
		ck_assert_str_eq(json_str(item(h, "object"), "id"), json_str(h, "object_id"));
		char *n = strf("%s%s%s", out, *out ? "," : "", json_str(h, "object_id"));
		free(out);
		out = n;
	}
	http_free(r);
	free(body);
	return out;
}

START_TEST(index_then_search_finds_the_nearest_and_follows_changes_deletes_and_restores)
{
	struct tenant t;
	tenant_make(&t);
	char *ids[3];
	notes_make(t.key, ids);
	http_resp *r = index_notes(t.key, ids, 3);
	assert_envelope(r, 200, NULL);
	ck_assert_int_eq(item(resp_data(r), "indexed")->valueint, 3);
	ck_assert_str_eq(json_str(resp_data(r), "model"), "local-hash-384");
	http_free(r);

	char *found = search_ids(t.key, "when are invoices payable");
	ck_assert_msg(!strncmp(found, ids[0], strlen(ids[0])), "invoice note first: %s", found);
	free(found);

	/* The dog note now talks about invoices: the outbox re-embeds it, and
	 * a search finds it without indexing it again. */
	r = call("PATCH", t.key, "{\"properties\":{\"text\":\"Unpaid invoices get a reminder after "
		 "thirty days.\"}}", "/v1/objects/notes/%s", ids[1]);
	assert_envelope(r, 200, NULL);
	http_free(r);
	double deadline = now_s() + 30;
	for (;;) {
		found = search_ids(t.key, "invoice reminder");
		if (!strncmp(found, ids[1], strlen(ids[1])))
			break;
		ck_assert_msg(now_s() < deadline, "the changed note was not re-embedded: %s", found);
		free(found);
		sleep_ms(200);
	}
	free(found);

	/* A deleted object is no result. */
	ck_assert_int_eq(status_of(call("DELETE", t.key, NULL, "/v1/objects/notes/%s", ids[1])), 200);
	found = search_ids(t.key, "invoice reminder");
	ck_assert_msg(!strstr(found, ids[1]), "a deleted object is found: %s", found);
	free(found);
	/* ... and the outbox drops its vector. */
	deadline = now_s() + 30;
	for (;;) {
		char *n = tenant_sql(t.id, "SELECT COUNT(*) FROM %s._ai_vectors WHERE object_id = '%s'", ids[1]);
		bool gone = !strcmp(n, "0");
		free(n);
		if (gone)
			break;
		ck_assert_msg(now_s() < deadline, "the deleted object's vector stays");
		sleep_ms(200);
	}
	/* Restored, it is embedded again and found. */
	ck_assert_int_eq(status_of(call("POST", t.key, NULL, "/v1/objects/notes/%s/restore", ids[1])), 200);
	deadline = now_s() + 30;
	for (;;) {
		found = search_ids(t.key, "invoice reminder");
		bool back = !strncmp(found, ids[1], strlen(ids[1]));
		free(found);
		if (back)
			break;
		ck_assert_msg(now_s() < deadline, "the restored object was not indexed again");
		sleep_ms(200);
	}
	for (int i = 0; i < 3; i++)
		free(ids[i]);
	tenant_drop(&t);
}
END_TEST

START_TEST(index_refuses_unknown_and_foreign_objects_naming_the_field)
{
	struct tenant t, u;
	tenant_make(&t);
	tenant_make(&u);
	char *ids[3], *theirs[3];
	notes_make(t.key, ids);
	notes_make(u.key, theirs);
	http_resp *r = index_notes(t.key, theirs, 1);
	assert_fail_field(r, 404, "NOT_FOUND", "object_ids");
	http_free(r);
	r = call("POST", t.key, "{\"object_type_id\":\"nope\",\"object_ids\":[\"obj_x\"]}", "/v1/ai/index");
	assert_fail_field(r, 404, "NOT_FOUND", "object_type_id");
	http_free(r);
	r = call("POST", t.key, "{\"object_type_id\":\"notes\",\"object_ids\":[]}", "/v1/ai/index");
	assert_invalid(r, "object_ids");
	http_free(r);
	/* Nothing was stored: the search has no results. */
	r = call("POST", t.key, "{\"query\":\"invoices\"}", "/v1/ai/search");
	assert_envelope(r, 200, NULL);
	ck_assert_int_eq(cJSON_GetArraySize(item(resp_data(r), "results")), 0);
	http_free(r);
	/* The other tenant's index is its own. */
	r = index_notes(u.key, theirs, 3);
	assert_envelope(r, 200, NULL);
	http_free(r);
	r = call("POST", t.key, "{\"query\":\"invoices\"}", "/v1/ai/search");
	ck_assert_int_eq(cJSON_GetArraySize(item(resp_data(r), "results")), 0);
	http_free(r);
	for (int i = 0; i < 3; i++) {
		free(ids[i]);
		free(theirs[i]);
	}
	tenant_drop(&t);
	tenant_drop(&u);
}
END_TEST

START_TEST(an_end_users_search_hides_rows_their_policy_hides)
{
	struct tenant t;
	tenant_make(&t);
	char *ids[3];
	notes_make(t.key, ids);
	http_resp *r = call("POST", t.key, "{\"name\":\"own rows\",\"action\":\"all\",\"condition_json\":"
			    "{\"property\":\"owner\",\"operator\":\"eq\",\"value\":{\"auth\":\"uid\"}}}",
			    "/v1/object-types/notes/policies");
	assert_envelope(r, 201, NULL);
	http_free(r);
	r = index_notes(t.key, ids, 3);
	assert_envelope(r, 200, NULL);
	http_free(r);
	char *bob = jwt_mint(t.id, "usr_bob", "authenticated", 3600, NULL);
	char *found = search_ids(bob, "invoices payable thirty days");
	ck_assert_str_eq(found, ids[1]);   /* only Bob's own note */
	free(found);
	found = search_ids(t.key, "invoices payable thirty days");
	ck_assert_msg(strstr(found, ids[0]) && strstr(found, ids[2]), "the key sees all: %s", found);
	free(found);
	/* Nor can Bob summarise or index Alice's note. */
	char *body = strf("{\"object_type_id\":\"notes\",\"object_id\":\"%s\"}", ids[0]);
	r = call("POST", bob, body, "/v1/ai/summarise");
	assert_fail_field(r, 404, "NOT_FOUND", "object_id");
	http_free(r);
	free(body);
	for (int i = 0; i < 3; i++)
		free(ids[i]);
	free(bob);
	tenant_drop(&t);
}
END_TEST

START_TEST(summarise_auto_tag_and_moderate_run_on_the_built_in_models)
{
	struct tenant t;
	tenant_make(&t);
	char *ids[3];
	notes_make(t.key, ids);
	http_resp *r = index_notes(t.key, ids, 3);
	http_free(r);
	char *id = obj_make(t.key, "notes", "{\"owner\":\"usr_a\",\"text\":\"Tessera stores objects "
			    "for tenants. The weather was nice. Objects have properties and tenants "
			    "define object types. Tenants query objects by their properties.\"}");
	char *body = strf("{\"object_type_id\":\"notes\",\"object_id\":\"%s\",\"max_length\":120}", id);
	r = call("POST", t.key, body, "/v1/ai/summarise");
	assert_envelope(r, 200, NULL);
	const char *s = json_str(resp_data(r), "summary");
	ck_assert_msg(s && strlen(s) <= 120 && strstr(s, "Tessera stores objects"), "summary: %s", r->body);
	ck_assert_str_eq(json_str(resp_data(r), "model"), "local-extractive-1");
	http_free(r);

	free(body);
	body = strf("{\"object_type_id\":\"notes\",\"object_id\":\"%s\",\"max_tags\":6}", id);
	r = call("POST", t.key, body, "/v1/ai/auto-tag");
	assert_envelope(r, 200, NULL);
	const cJSON *tags = item(resp_data(r), "tags");
	ck_assert_msg(cJSON_GetArraySize(tags) >= 3, "tags: %s", r->body);
	ck_assert_msg(strstr(r->body, "\"objects\"") && strstr(r->body, "\"tenants\""), "tags: %s", r->body);
	ck_assert_msg(!strstr(r->body, "\"the\""), "a stop word as a tag: %s", r->body);
	char *want = cJSON_PrintUnformatted(tags);
	http_free(r);
	free(body);
	/* Asked to, the tags are written to a property through the object's
	 * own update path (a new version). */
	prop_make(t.key, "notes", "{\"name\":\"labels\",\"data_type\":\"array\"}");
	body = strf("{\"object_type_id\":\"notes\",\"object_id\":\"%s\",\"max_tags\":6,"
		    "\"property\":\"labels\"}", id);
	r = call("POST", t.key, body, "/v1/ai/auto-tag");
	assert_envelope(r, 200, NULL);
	http_free(r);
	r = call("GET", t.key, NULL, "/v1/objects/notes/%s", id);
	char *labels = cJSON_PrintUnformatted(prop_of(resp_data(r), "labels"));
	ck_assert_str_eq(labels, want);
	ck_assert_int_eq(item(resp_data(r), "version")->valueint, 2);
	http_free(r);
	free(body);
	body = strf("{\"object_type_id\":\"notes\",\"object_id\":\"%s\",\"property\":\"nope\"}", id);
	r = call("POST", t.key, body, "/v1/ai/auto-tag");
	assert_invalid(r, "property");
	http_free(r);
	free(body);
	free(labels);
	free(want);

	r = call("POST", t.key, "{\"text\":[\"Mail me at jane@example.com, card 4111 1111 1111 1111\","
		 "\"Thanks, it ships on Monday.\"]}", "/v1/ai/moderate");
	assert_envelope(r, 200, NULL);
	const cJSON *res = item(resp_data(r), "results");
	ck_assert(cJSON_IsTrue(item(resp_data(r), "flagged")));
	ck_assert(cJSON_IsTrue(item(cJSON_GetArrayItem(res, 0), "flagged")));
	ck_assert(cJSON_IsTrue(item(item(cJSON_GetArrayItem(res, 0), "categories"), "pii_email")));
	ck_assert(cJSON_IsTrue(item(item(cJSON_GetArrayItem(res, 0), "categories"), "pii_card_number")));
	ck_assert(cJSON_IsFalse(item(cJSON_GetArrayItem(res, 1), "flagged")));
	ck_assert_str_eq(json_str(resp_data(r), "model"), "local-rules-1");
	http_free(r);
	r = call("POST", t.key, "{\"text\":\"what a darn shame\",\"words\":[\"darn\"]}", "/v1/ai/moderate");
	assert_envelope(r, 200, NULL);
	ck_assert(cJSON_IsTrue(item(resp_data(r), "flagged")));
	http_free(r);
	r = call("POST", t.key, "{\"text\":42}", "/v1/ai/moderate");
	assert_invalid(r, "text");
	http_free(r);
	free(id);
	for (int i = 0; i < 3; i++)
		free(ids[i]);
	tenant_drop(&t);
}
END_TEST

START_TEST(chat_generate_and_describe_need_a_provider)
{
	struct tenant t;
	tenant_make(&t);
	http_resp *r = call("POST", t.key, "{\"message\":\"hi\"}", "/v1/ai/chat");
	assert_envelope(r, 409, "AI_PROVIDER_REQUIRED");
	ck_assert_msg(strstr(error_message(r), "POST /v1/ai-providers"), "%s", r->body);
	http_free(r);
	r = call("POST", t.key, "{\"prompt\":\"hi\"}", "/v1/ai/generate");
	assert_envelope(r, 409, "AI_PROVIDER_REQUIRED");
	http_free(r);
	char *fid = file_upload_text(t.key, "notes.txt", "not an image");
	char *body = strf("{\"file_id\":\"%s\"}", fid);
	r = call("POST", t.key, body, "/v1/ai/describe");
	assert_invalid(r, "file_id");
	http_free(r);
	r = call("POST", t.key, "{\"file_id\":\"file_01ABCDEFGHJKMNPQRSTVWXYZ01\"}", "/v1/ai/describe");
	assert_fail_field(r, 404, "NOT_FOUND", "file_id");
	http_free(r);
	free(body);
	free(fid);
	tenant_drop(&t);
}
END_TEST

/* --- providers ------------------------------------------------------------------ */

START_TEST(provider_keys_are_sealed_masked_and_the_first_is_the_default)
{
	struct tenant t, u;
	tenant_make(&t);
	tenant_make(&u);
	struct receiver fake;
	peer_start(&fake, "ai_provider");
	char *a = provider_make(t.key, &fake, "p1", "openai", NULL);
	char *b = provider_make(t.key, &fake, "p2", "anthropic", NULL);
	http_resp *r = call("GET", t.key, NULL, "/v1/ai-providers/%s", a);
	assert_envelope(r, 200, NULL);
	ck_assert_str_eq(json_str(resp_data(r), "api_key"), "sk-\xe2\x80\xa6" "CRET");
	ck_assert(cJSON_IsTrue(item(resp_data(r), "is_default")));
	ck_assert_msg(!strstr(r->body, KEY), "%s", r->body);
	http_free(r);
	char *sealed = tenant_sql(t.id, "SELECT api_key_enc FROM %s._ai_providers WHERE id = '%s'", a);
	ck_assert_msg(!strstr(sealed, "SECRET") && strlen(sealed) > 20, "stored: %s", sealed);
	free(sealed);

	/* Making the second the default takes it from the first. */
	r = call("PATCH", t.key, "{\"is_default\":true}", "/v1/ai-providers/%s", b);
	assert_envelope(r, 200, NULL);
	http_free(r);
	r = call("GET", t.key, NULL, "/v1/ai-providers");
	assert_envelope(r, 200, NULL);
	ck_assert(cJSON_IsFalse(item(find_by(resp_data(r), "id", a), "is_default")));
	ck_assert(cJSON_IsTrue(item(find_by(resp_data(r), "id", b), "is_default")));
	ck_assert_msg(!strstr(r->body, KEY), "%s", r->body);
	http_free(r);

	/* Bad input names the field and saves nothing. */
	static const struct { const char *body, *field; } bad[] = {
		{ "{\"name\":\"x\",\"provider_type\":\"cohere\"}", "provider_type" },
		{ "{\"name\":\"x\",\"provider_type\":\"openai\",\"config_json\":{\"base_url\":\"ftp://a\"}}",
		  "config_json.base_url" },
		{ "{\"name\":\"x\",\"provider_type\":\"openai\",\"config_json\":{\"timeout_s\":0}}",
		  "config_json.timeout_s" },
		{ "{\"name\":\"x\",\"provider_type\":\"openai\",\"config_json\":{\"colour\":\"red\"}}",
		  "config_json.colour" },
		{ "{\"name\":\"p1\",\"provider_type\":\"openai\"}", "name" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		r = call("POST", t.key, bad[i].body, "/v1/ai-providers");
		ck_assert_msg(r->status == 400 || r->status == 409, "%s: %s", bad[i].body, r->body);
		ck_assert_str_eq(detail_field(r), bad[i].field);
		http_free(r);
	}
	r = call("GET", t.key, NULL, "/v1/ai-providers");
	ck_assert_int_eq(cJSON_GetArraySize(resp_data(r)), 2);
	http_free(r);

	/* Another tenant sees none of them; a non-admin key may not manage them. */
	ck_assert_int_eq(status_of(call("GET", u.key, NULL, "/v1/ai-providers/%s", a)), 404);
	char *ai_key = key_new(t.key, "{\"label\":\"ai\",\"scopes\":[\"ai\"]}", NULL);
	ck_assert_int_eq(status_of(call("GET", ai_key, NULL, "/v1/ai-providers")), 403);
	ck_assert_int_eq(status_of(call("DELETE", t.key, NULL, "/v1/ai-providers/%s", a)), 200);
	ck_assert_int_eq(status_of(call("GET", t.key, NULL, "/v1/ai-providers/%s", a)), 404);
	recv_stop(&fake);
	free(a);
	free(b);
	free(ai_key);
	tenant_drop(&t);
	tenant_drop(&u);
}
END_TEST

START_TEST(chat_reaches_an_openai_compatible_provider_with_its_key_model_and_history)
{
	struct ai_env e;
	env_up(&e, "oa", "openai", NULL);
	http_resp *r = call("POST", e.t.key, "{\"message\":\"how are you\",\"system\":\"be brief\","
			    "\"history\":[{\"role\":\"user\",\"content\":\"hello\"},"
			    "{\"role\":\"assistant\",\"content\":\"hi there\"}]}", "/v1/ai/chat");
	assert_envelope(r, 200, NULL);
	ck_assert_str_eq(json_str(resp_data(r), "response"), "echo: how are you");
	ck_assert_str_eq(json_str(resp_data(r), "model"), "gpt-test-0001");
	ck_assert_int_eq(item(item(resp_data(r), "usage"), "input_tokens")->valueint, 11);
	http_free(r);
	cJSON *got = recv_got(&e.fake, "oa");
	ck_assert_str_eq(got_header(got, 0, "authorization"), "Bearer " KEY);
	const cJSON *b = got_body(got, 0);
	ck_assert_str_eq(json_str(b, "model"), "gpt-test");
	const cJSON *msgs = item(b, "messages");
	ck_assert_int_eq(cJSON_GetArraySize(msgs), 4);
	ck_assert_str_eq(json_str(cJSON_GetArrayItem(msgs, 0), "role"), "system");
	ck_assert_str_eq(json_str(cJSON_GetArrayItem(msgs, 1), "content"), "hello");
	ck_assert_str_eq(json_str(cJSON_GetArrayItem(msgs, 3), "content"), "how are you");
	cJSON_Delete(got);

	r = call("POST", e.t.key, "{\"prompt\":\"write a haiku\",\"max_tokens\":50,\"model\":\"gpt-4o-mini\"}",
		 "/v1/ai/generate");
	assert_envelope(r, 200, NULL);
	ck_assert_str_eq(json_str(resp_data(r), "text"), "echo: write a haiku");
	http_free(r);
	got = recv_got(&e.fake, "oa");
	ck_assert_int_eq(item(got_body(got, 1), "max_tokens")->valueint, 50);
	ck_assert_str_eq(json_str(got_body(got, 1), "model"), "gpt-4o-mini");
	cJSON_Delete(got);

	/* Too much history, or the wrong shape: 400 naming history, nothing sent. */
	char *h = strdup("");
	for (int i = 0; i < 21; i++) {
		char *n = strf("%s%s{\"role\":\"user\",\"content\":\"m%d\"}", h, i ? "," : "", i);
		free(h);
		h = n;
	}
	char *body = strf("{\"message\":\"x\",\"history\":[%s]}", h);
	r = call("POST", e.t.key, body, "/v1/ai/chat");
	assert_invalid(r, "history");
	http_free(r);
	r = call("POST", e.t.key, "{\"message\":\"x\",\"history\":[{\"role\":\"wizard\",\"content\":\"x\"}]}",
		 "/v1/ai/chat");
	assert_invalid(r, "history");
	http_free(r);
	ck_assert_int_eq(recv_count(&e.fake, "oa"), 2);
	r = call("POST", e.t.key, "{\"message\":\"x\",\"provider_id\":\"prov_nope\"}", "/v1/ai/chat");
	assert_fail_field(r, 404, "NOT_FOUND", "provider_id");
	http_free(r);
	/* A model the provider does not know: 400 naming model, its words in details. */
	r = call("POST", e.t.key, "{\"message\":\"x\",\"model\":\"no-such-model\"}", "/v1/ai/chat");
	assert_invalid(r, "model");
	ck_assert_msg(strstr(r->body, "does not exist") && !strstr(r->body, KEY), "%s", r->body);
	http_free(r);

	/* The models of the provider, grouped, with the built-in ones. */
	r = call("GET", e.t.key, NULL, "/v1/ai/models");
	assert_envelope(r, 200, NULL);
	ck_assert_msg(strstr(cJSON_PrintUnformatted(item(resp_data(r), "text_generation")), "gpt-test"), "%s", r->body);
	ck_assert_msg(strstr(cJSON_PrintUnformatted(item(resp_data(r), "text_embedding")), "local-hash-384"), "%s", r->body);
	ck_assert_msg(strstr(cJSON_PrintUnformatted(item(resp_data(r), "text_embedding")), "text-embedding-test"), "%s", r->body);
	http_free(r);
	free(h);
	free(body);
	env_down(&e);
}
END_TEST

START_TEST(chat_reaches_anthropic_in_the_messages_format)
{
	struct ai_env e;
	env_up(&e, "an", "anthropic", NULL);
	http_resp *r = call("POST", e.t.key, "{\"message\":\"bonjour\",\"system\":\"answer in French\"}",
			    "/v1/ai/chat");
	assert_envelope(r, 200, NULL);
	ck_assert_str_eq(json_str(resp_data(r), "response"), "echo: bonjour");
	ck_assert_int_eq(item(item(resp_data(r), "usage"), "output_tokens")->valueint, 5);
	http_free(r);
	cJSON *got = recv_got(&e.fake, "an");
	ck_assert_str_eq(json_str(cJSON_GetArrayItem(item(got, "received"), 0), "path"), "/messages");
	ck_assert_str_eq(got_header(got, 0, "x-api-key"), KEY);
	ck_assert_str_eq(got_header(got, 0, "anthropic-version"), "2023-06-01");
	ck_assert_ptr_null(got_header(got, 0, "authorization"));
	ck_assert_str_eq(json_str(got_body(got, 0), "system"), "answer in French");
	ck_assert_int_eq(item(got_body(got, 0), "max_tokens")->valueint, 1024);
	ck_assert_int_eq(cJSON_GetArraySize(item(got_body(got, 0), "messages")), 1);
	cJSON_Delete(got);
	env_down(&e);
}
END_TEST

/* The concatenated deltas of an SSE body and its done event's data. */
static char *sse_text(const char *body, cJSON **done)
{
	char *out = strdup("");
	*done = NULL;
	const char *p = body;
	bool is_done = false;
	while (p && *p) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);
		if (n >= 6 && !strncmp(p, "event:", 6))
			is_done = strstr(p, "done") && strstr(p, "done") < p + n;
		if (n >= 6 && !strncmp(p, "data: ", 6)) {
			cJSON *j = cJSON_ParseWithLength(p + 6, n - 6);
			ck_assert_msg(j != NULL, "an event that is not JSON: %.*s", (int)n, p);
			if (is_done) {
				*done = j;
			} else {
				char *m = strf("%s%s", out, json_str(j, "delta"));
				free(out);
				out = m;
				cJSON_Delete(j);
			}
			is_done = false;
		}
		p = nl ? nl + 1 : NULL;
	}
	return out;
}

static void stream_check(const char *key, const char *path, const char *body, const char *want,
			 const char *answer_key)
{
	http_resp *r = call("POST", key, body, "%s", path);
	ck_assert_int_eq(r->status, 200);
	char *type = resp_header(r, "Content-Type");
	ck_assert_msg(type && strstr(type, "text/event-stream"), "type %s", type);
	cJSON *done;
	char *text = sse_text(r->body, &done);
	ck_assert_str_eq(text, want);
	ck_assert_msg(done != NULL, "no done event: %s", r->body);
	ck_assert_str_eq(json_str(done, answer_key), want);
	ck_assert_msg(item(item(done, "usage"), "output_tokens")->valueint > 0, "%s", r->body);
	int deltas = 0;
	for (const char *p = r->body; (p = strstr(p, "\"delta\"")); p++)
		deltas++;
	ck_assert_msg(deltas >= 3, "the answer came in %d pieces: %s", deltas, r->body);
	cJSON_Delete(done);
	free(text);
	free(type);
	http_free(r);
}

START_TEST(stream_true_answers_server_sent_events_from_both_formats)
{
	struct tenant t;
	tenant_make(&t);
	struct receiver fake;
	peer_start(&fake, "ai_provider");
	char *oa = provider_make(t.key, &fake, "so", "openai", NULL);
	char *an = provider_make(t.key, &fake, "sa", "anthropic", NULL);
	char *body = strf("{\"message\":\"tell me a story\",\"stream\":true,\"provider_id\":\"%s\"}", oa);
	stream_check(t.key, "/v1/ai/chat", body, "echo: tell me a story", "response");
	free(body);
	body = strf("{\"prompt\":\"one two three\",\"stream\":true,\"provider_id\":\"%s\"}", an);
	stream_check(t.key, "/v1/ai/generate", body, "echo: one two three", "text");
	free(body);
	cJSON *got = recv_got(&fake, "so");
	ck_assert(cJSON_IsTrue(item(got_body(got, 0), "stream")));
	cJSON_Delete(got);
	got = recv_got(&fake, "sa");
	ck_assert(cJSON_IsTrue(item(got_body(got, 0), "stream")));
	cJSON_Delete(got);
	free(oa);
	free(an);
	recv_stop(&fake);
	tenant_drop(&t);
}
END_TEST

/* When the first delta and the whole answer arrived at the client. */
struct arrival {
	double start, first, end;
};

static size_t arrival_sink(char *d, size_t s, size_t n, void *u)
{
	struct arrival *a = u;
	if (!a->first && memmem(d, s * n, "\"delta\"", 7))
		a->first = now_s();
	return s * n;
}

START_TEST(streamed_deltas_reach_the_client_as_the_provider_sends_them)
{
	struct ai_env e;
	env_up(&e, "sl", "openai", NULL);
	recv_plan(&e.fake, "sl", "{\"event_delay_ms\":400}");
	CURL *c = curl_easy_init();
	char *url = strf("%s/v1/ai/chat", env_or("TESSERA_TEST_URL", "http://127.0.0.1:8080"));
	char *auth = strf("Authorization: Bearer %s", e.t.key);
	struct curl_slist *h = curl_slist_append(NULL, auth);
	h = curl_slist_append(h, "Content-Type: application/json");
	struct arrival a = { .start = now_s() };
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, "{\"message\":\"one two three four\",\"stream\":true}");
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, arrival_sink);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &a);
	ck_assert_int_eq(curl_easy_perform(c), CURLE_OK);
	a.end = now_s();
	/* Five words, 400 ms apart: the first is out long before the last. */
	ck_assert_msg(a.first > 0 && a.end - a.first > 1.0,
		      "first delta at %.2f s, end at %.2f s: nginx held the stream back",
		      a.first - a.start, a.end - a.start);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	free(url);
	free(auth);
	env_down(&e);
}
END_TEST

START_TEST(rate_limits_are_retried_after_retry_after_and_failures_map_to_ai_errors)
{
	struct ai_env e;
	env_up(&e, "rl", "openai", NULL);
	/* One 429 with Retry-After: 1, then success: the caller sees only the success. */
	recv_plan(&e.fake, "rl", "{\"statuses\":[429,200],\"retry_after\":1}");
	double t0 = now_s();
	http_resp *r = call("POST", e.t.key, "{\"message\":\"again\"}", "/v1/ai/chat");
	assert_envelope(r, 200, NULL);
	ck_assert_msg(now_s() - t0 >= 0.9, "the retry did not wait for Retry-After");
	ck_assert_int_eq(recv_count(&e.fake, "rl"), 2);
	http_free(r);
	/* Always 429: AI_RATE_LIMITED with Retry-After, after max_retries (1). */
	recv_plan(&e.fake, "rl", "{\"statuses\":[429],\"retry_after\":1}");
	r = call("POST", e.t.key, "{\"message\":\"again\"}", "/v1/ai/chat");
	assert_envelope(r, 429, "AI_RATE_LIMITED");
	char *ra = resp_header(r, "Retry-After");
	ck_assert_ptr_nonnull(ra);
	ck_assert_int_eq(recv_count(&e.fake, "rl"), 4);
	ck_assert_msg(!strstr(r->body, KEY), "%s", r->body);
	http_free(r);
	free(ra);
	/* A provider error: 502 with its message in details, never the key. */
	recv_plan(&e.fake, "rl", "{\"statuses\":[400]}");
	r = call("POST", e.t.key, "{\"message\":\"again\"}", "/v1/ai/chat");
	assert_envelope(r, 502, "AI_PROVIDER_ERROR");
	ck_assert_msg(strstr(r->body, "the fake provider failed on purpose"), "%s", r->body);
	ck_assert_msg(!strstr(r->body, KEY), "%s", r->body);
	http_free(r);
	/* Nobody listening: 502 as well. */
	int dead = free_port();
	char *body = strf("{\"name\":\"dead\",\"provider_type\":\"openai\",\"api_key\":\"" KEY "\","
			  "\"config_json\":{\"base_url\":\"http://127.0.0.1:%d/v1\",\"chat_model\":\"m\","
			  "\"max_retries\":0,\"timeout_s\":5}}", dead);
	r = call("POST", e.t.key, body, "/v1/ai-providers");
	assert_envelope(r, 201, NULL);
	http_free(r);
	r = call("POST", e.t.key, "{\"message\":\"x\",\"provider_id\":\"dead\"}", "/v1/ai/chat");
	assert_envelope(r, 502, "AI_PROVIDER_ERROR");
	http_free(r);
	free(body);
	env_down(&e);
}
END_TEST

START_TEST(conversation_chat_stores_messages_and_sends_the_history)
{
	struct ai_env e;
	env_up(&e, "cv", "openai", NULL);
	http_resp *r = call("POST", e.t.key, "{\"title\":\"Support\",\"system_prompt\":\"be kind\"}",
			    "/v1/ai/conversations");
	assert_envelope(r, 201, NULL);
	char *cid = strdup(json_str(resp_data(r), "id"));
	http_free(r);
	r = call("POST", e.t.key, "{\"message\":\"first\"}", "/v1/ai/conversations/%s/chat", cid);
	assert_envelope(r, 200, NULL);
	ck_assert_str_eq(json_str(resp_data(r), "response"), "echo: first");
	http_free(r);
	r = call("POST", e.t.key, "{\"message\":\"second\"}", "/v1/ai/conversations/%s/chat", cid);
	assert_envelope(r, 200, NULL);
	http_free(r);
	cJSON *got = recv_got(&e.fake, "cv");
	const cJSON *msgs = item(got_body(got, 1), "messages");
	ck_assert_int_eq(cJSON_GetArraySize(msgs), 4);   /* system, first, its answer, second */
	ck_assert_str_eq(json_str(cJSON_GetArrayItem(msgs, 0), "content"), "be kind");
	ck_assert_str_eq(json_str(cJSON_GetArrayItem(msgs, 1), "content"), "first");
	ck_assert_str_eq(json_str(cJSON_GetArrayItem(msgs, 2), "content"), "echo: first");
	ck_assert_str_eq(json_str(cJSON_GetArrayItem(msgs, 3), "content"), "second");
	cJSON_Delete(got);

	r = call("GET", e.t.key, NULL, "/v1/ai/conversations/%s", cid);
	assert_envelope(r, 200, NULL);
	ck_assert_int_eq(item(resp_data(r), "message_count")->valueint, 4);
	ck_assert_int_eq(cJSON_GetArraySize(item(resp_data(r), "messages")), 4);
	http_free(r);
	r = call("PATCH", e.t.key, "{\"title\":\"Renamed\"}", "/v1/ai/conversations/%s", cid);
	assert_envelope(r, 200, NULL);
	ck_assert_str_eq(json_str(resp_data(r), "title"), "Renamed");
	http_free(r);
	r = call("GET", e.t.key, NULL, "/v1/ai/conversations");
	assert_envelope(r, 200, NULL);
	ck_assert_ptr_nonnull(find_by(resp_data(r), "id", cid));
	http_free(r);

	/* Streamed, the exchange is stored all the same. */
	r = call("POST", e.t.key, "{\"message\":\"third\",\"stream\":true}",
		 "/v1/ai/conversations/%s/chat", cid);
	ck_assert_int_eq(r->status, 200);
	cJSON *done;
	char *streamed = sse_text(r->body, &done);
	ck_assert_str_eq(streamed, "echo: third");
	ck_assert_str_eq(json_str(done, "conversation_id"), cid);
	cJSON_Delete(done);
	free(streamed);
	http_free(r);
	r = call("GET", e.t.key, NULL, "/v1/ai/conversations/%s", cid);
	ck_assert_int_eq(item(resp_data(r), "message_count")->valueint, 6);
	ck_assert_str_eq(json_str(cJSON_GetArrayItem(item(resp_data(r), "messages"), 5), "content"),
			 "echo: third");
	http_free(r);

	/* An end user has their own conversations only. */
	char *eve = jwt_mint(e.t.id, "usr_eve", "authenticated", 3600, NULL);
	ck_assert_int_eq(status_of(call("GET", eve, NULL, "/v1/ai/conversations/%s", cid)), 404);
	ck_assert_int_eq(status_of(call("POST", eve, "{\"message\":\"hi\"}", "/v1/ai/conversations/%s/chat", cid)), 404);
	r = call("POST", eve, "{\"title\":\"mine\"}", "/v1/ai/conversations");
	assert_envelope(r, 201, NULL);
	ck_assert_str_eq(json_str(resp_data(r), "user_id"), "usr_eve");
	http_free(r);
	r = call("GET", eve, NULL, "/v1/ai/conversations");
	ck_assert_int_eq(cJSON_GetArraySize(resp_data(r)), 1);
	http_free(r);

	r = call("DELETE", e.t.key, NULL, "/v1/ai/conversations/%s", cid);
	assert_envelope(r, 200, NULL);
	ck_assert_str_eq(json_str(resp_data(r), "conversation_id"), cid);
	http_free(r);
	char *left = tenant_sql(e.t.id, "SELECT COUNT(*) FROM %s._ai_messages WHERE conversation_id = '%s'",
				cid);
	ck_assert_str_eq(left, "0");
	free(left);
	free(eve);
	free(cid);
	env_down(&e);
}
END_TEST

/* Whether the fake's box received an /embeddings request whose input
 * holds needle. */
static bool embedded(const struct receiver *fake, const char *box, const char *needle)
{
	cJSON *got = recv_got(fake, box);
	bool seen = false;
	const cJSON *q;
	cJSON_ArrayForEach(q, item(got, "received")) {
		char *in = cJSON_PrintUnformatted(item(item(q, "body"), "input"));
		seen |= !strcmp(json_str(q, "path"), "/embeddings") && in && strstr(in, needle);
		free(in);
	}
	cJSON_Delete(got);
	return seen;
}

START_TEST(a_providers_embedding_model_indexes_searches_and_re_embeds_changes)
{
	struct ai_env e;
	env_up(&e, "em", "openai", ",\"embedding_model\":\"text-embedding-test\"");
	free(type_make(e.t.key, "memos"));
	prop_make(e.t.key, "memos", "{\"name\":\"text\",\"data_type\":\"text\"}");
	char *id = obj_make(e.t.key, "memos", "{\"text\":\"first words\"}");
	char *body = strf("{\"object_type_id\":\"memos\",\"object_ids\":[\"%s\"]}", id);
	http_resp *r = call("POST", e.t.key, body, "/v1/ai/index");
	assert_envelope(r, 200, NULL);
	ck_assert_str_eq(json_str(resp_data(r), "model"), "text-embedding-test");
	ck_assert_int_eq(item(resp_data(r), "dimensions")->valueint, 8);
	http_free(r);
	ck_assert(embedded(&e.fake, "em", "first words"));
	cJSON *got = recv_got(&e.fake, "em");
	ck_assert_str_eq(got_header(got, 0, "authorization"), "Bearer " KEY);
	cJSON_Delete(got);
	/* The fake's vectors hash the text: the same text is a perfect match. */
	r = call("POST", e.t.key, "{\"query\":\"text: first words\\n\"}", "/v1/ai/search");
	assert_envelope(r, 200, NULL);
	ck_assert_str_eq(json_str(resp_data(r), "model"), "text-embedding-test");
	const cJSON *hit = cJSON_GetArrayItem(item(resp_data(r), "results"), 0);
	ck_assert_str_eq(json_str(hit, "object_id"), id);
	ck_assert_msg(item(hit, "score")->valuedouble > 0.999, "%s", r->body);
	http_free(r);
	/* A change is embedded again by the provider, through the outbox. */
	r = call("PATCH", e.t.key, "{\"properties\":{\"text\":\"second words\"}}", "/v1/objects/memos/%s", id);
	assert_envelope(r, 200, NULL);
	http_free(r);
	double deadline = now_s() + 30;
	while (!embedded(&e.fake, "em", "second words")) {
		ck_assert_msg(now_s() < deadline, "the change was not embedded again");
		sleep_ms(200);
	}
	deadline = now_s() + 10;
	for (;;) {
		r = call("POST", e.t.key, "{\"query\":\"text: second words\\n\"}", "/v1/ai/search");
		hit = cJSON_GetArrayItem(item(resp_data(r), "results"), 0);
		bool done = hit && item(hit, "score")->valuedouble > 0.999;
		http_free(r);
		if (done)
			break;
		ck_assert_msg(now_s() < deadline, "the new vector is not searched");
		sleep_ms(200);
	}
	free(body);
	free(id);
	env_down(&e);
}
END_TEST

/* A 1x1 PNG. */
static const unsigned char tiny_png[] = {
	0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44,
	0x52, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f,
	0x15, 0xc4, 0x89, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0xf8,
	0xcf, 0xc0, 0xf0, 0x1f, 0x00, 0x05, 0x00, 0x01, 0xff, 0x89, 0x99, 0x3d, 0x1d, 0x00, 0x00,
	0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
};

START_TEST(describe_sends_a_stored_image_to_the_vision_model)
{
	struct ai_env e;
	env_up(&e, "vi", "openai", ",\"vision_model\":\"gpt-4o-mini\"");
	static const char head[] = "--aiB0undary\r\nContent-Disposition: form-data; name=\"file\"; "
				   "filename=\"dot.png\"\r\nContent-Type: image/png\r\n\r\n";
	static const char tail[] = "\r\n--aiB0undary--\r\n";
	size_t n = sizeof(head) - 1 + sizeof(tiny_png) + sizeof(tail) - 1;
	char *body = malloc(n);
	memcpy(body, head, sizeof(head) - 1);
	memcpy(body + sizeof(head) - 1, tiny_png, sizeof(tiny_png));
	memcpy(body + sizeof(head) - 1 + sizeof(tiny_png), tail, sizeof(tail) - 1);
	http_resp *r = http_req("POST", "/v1/files/upload", e.t.key, "multipart/form-data; boundary=aiB0undary",
				body, n, NULL);
	assert_envelope(r, 201, NULL);
	ck_assert_str_eq(json_str(resp_data(r), "mime_type"), "image/png");
	char *fid = strdup(json_str(resp_data(r), "id"));
	http_free(r);
	free(body);
	body = strf("{\"file_id\":\"%s\",\"prompt\":\"What is this?\"}", fid);
	r = call("POST", e.t.key, body, "/v1/ai/describe");
	assert_envelope(r, 200, NULL);
	ck_assert_str_eq(json_str(resp_data(r), "description"), "echo: What is this? [image]");
	ck_assert_str_eq(json_str(resp_data(r), "filename"), "dot.png");
	http_free(r);
	/* Naming a provider's model, summarise asks it instead of the built-in one. */
	free(type_make(e.t.key, "memos"));
	prop_make(e.t.key, "memos", "{\"name\":\"text\",\"data_type\":\"text\"}");
	char *mid = obj_make(e.t.key, "memos", "{\"text\":\"Ship it on Monday.\"}");
	char *sb = strf("{\"object_type_id\":\"memos\",\"object_id\":\"%s\",\"model\":\"gpt-test\","
			"\"max_length\":200}", mid);
	r = call("POST", e.t.key, sb, "/v1/ai/summarise");
	assert_envelope(r, 200, NULL);
	ck_assert_str_eq(json_str(resp_data(r), "model"), "gpt-test-0001");
	ck_assert_msg(strstr(json_str(resp_data(r), "summary"), "Ship it on Monday."), "%s", r->body);
	http_free(r);
	free(sb);
	free(mid);
	cJSON *got = recv_got(&e.fake, "vi");
	const cJSON *b = got_body(got, 0);
	ck_assert_str_eq(json_str(b, "model"), "gpt-4o-mini");
	const cJSON *parts = item(cJSON_GetArrayItem(item(b, "messages"), 0), "content");
	const char *url = json_str(item(cJSON_GetArrayItem(parts, 0), "image_url"), "url");
	ck_assert_msg(url && !strncmp(url, "data:image/png;base64,iVBORw0KGgo", 33), "image: %s", url);
	cJSON_Delete(got);
	free(body);
	free(fid);
	env_down(&e);
}
END_TEST

START_TEST(usage_is_metered_per_provider_and_model_and_the_budget_is_enforced)
{
	struct ai_env e;
	env_up(&e, "us", "openai",
	       ",\"prices\":{\"gpt-test-0001\":{\"input_per_1k\":\"0.5\",\"output_per_1k\":\"1.5\"}}");
	for (int i = 0; i < 2; i++)
		http_free(call("POST", e.t.key, "{\"message\":\"count me\"}", "/v1/ai/chat"));
	http_free(call("POST", e.t.key, "{\"text\":\"hello\"}", "/v1/ai/moderate"));
	http_resp *r = call("GET", e.t.key, NULL, "/v1/ai-usage");
	assert_envelope(r, 200, NULL);
	const cJSON *row = find_by(item(resp_data(r), "usage"), "model", "gpt-test-0001");
	ck_assert_msg(row != NULL, "%s", r->body);
	ck_assert_str_eq(json_str(row, "provider_id"), e.provider);
	ck_assert_int_eq(item(row, "requests")->valueint, 2);
	ck_assert_int_eq(item(row, "input_tokens")->valueint, 22);
	ck_assert_int_eq(item(row, "output_tokens")->valueint, 14);
	/* 22 * 0.5 / 1000 + 14 * 1.5 / 1000 */
	ck_assert_str_eq(json_str(row, "cost"), "0.032000");
	ck_assert_ptr_nonnull(find_by(item(resp_data(r), "usage"), "model", "local-rules-1"));
	http_free(r);
	r = call("GET", e.t.key, NULL, "/v1/ai-usage?period=2026-13");
	assert_invalid(r, "period");
	http_free(r);

	/* A budget of 30 tokens is used up by the 36 spent. */
	free(control_sql(strf("UPDATE tenants SET settings = JSON_SET(COALESCE(settings, '{}'), "
			      "'$.ai_tokens_per_month', 30) WHERE id = '%s'", e.t.id)));
	r = call("POST", e.t.key, "{\"message\":\"one more\"}", "/v1/ai/chat");
	assert_envelope(r, 403, "QUOTA_EXCEEDED");
	http_free(r);
	ck_assert_int_eq(recv_count(&e.fake, "us"), 2);
	/* The built-in models cost no tokens and still work. */
	r = call("POST", e.t.key, "{\"text\":\"hello\"}", "/v1/ai/embeddings");
	assert_envelope(r, 200, NULL);
	http_free(r);
	env_down(&e);
}
END_TEST

Suite *suite_ai(void)
{
	Suite *s = suite_create("ai");
	TCase *tc = tcase_new_slow(s, "local");
	tcase_add_test(tc, local_embeddings_are_deterministic_and_limited_to_100_texts);
	tcase_add_test(tc, index_then_search_finds_the_nearest_and_follows_changes_deletes_and_restores);
	tcase_add_test(tc, index_refuses_unknown_and_foreign_objects_naming_the_field);
	tcase_add_test(tc, an_end_users_search_hides_rows_their_policy_hides);
	tcase_add_test(tc, summarise_auto_tag_and_moderate_run_on_the_built_in_models);
	tcase_add_test(tc, chat_generate_and_describe_need_a_provider);
	tc = tcase_new_slow(s, "providers");
	tcase_add_test(tc, provider_keys_are_sealed_masked_and_the_first_is_the_default);
	tcase_add_test(tc, chat_reaches_an_openai_compatible_provider_with_its_key_model_and_history);
	tcase_add_test(tc, chat_reaches_anthropic_in_the_messages_format);
	tcase_add_test(tc, stream_true_answers_server_sent_events_from_both_formats);
	tcase_add_test(tc, streamed_deltas_reach_the_client_as_the_provider_sends_them);
	tcase_add_test(tc, rate_limits_are_retried_after_retry_after_and_failures_map_to_ai_errors);
	tcase_add_test(tc, conversation_chat_stores_messages_and_sends_the_history);
	tcase_add_test(tc, describe_sends_a_stored_image_to_the_vision_model);
	tcase_add_test(tc, a_providers_embedding_model_indexes_searches_and_re_embeds_changes);
	tcase_add_test(tc, usage_is_metered_per_provider_and_model_and_the_budget_is_enforced);
	return s;
}
