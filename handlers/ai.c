/*
 * ai.c - the AI endpoints that talk or read: chat, generate, conversations
 * (a descriptor on the resource engine, with their own chat), models,
 * describe, moderate, summarise and auto-tag.
 *
 * chat, generate, conversation chat and describe need a provider (409
 * AI_PROVIDER_REQUIRED without one); with "stream": true the first three
 * answer text/event-stream: a "data: {"delta": …}" event per piece of
 * text as the provider sends it, then "event: done" with the whole answer,
 * the model and the usage (or "event: error" when the provider fails
 * after text has gone out).  moderate, summarise and auto-tag run on the
 * built-in models (common/ailocal.h), which need nothing configured.
 * Every call is metered (ai_meter) and provider calls check the monthly
 * token budget first.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <math.h>
#include <sodium.h>

#include "../common/ailocal.h"
#include "../common/jsonx.h"
#include "../common/log.h"
#include "../common/storage.h"
#include "../common/strbuf.h"
#include "../fcgi/gate.h"
#include "ai.h"
#include "files.h"
#include "objects.h"
#include "routes.h"

#define AI_HISTORY_MAX 20
#define AI_CHAT_BYTES_MAX (50 * 1024)
#define AI_PROMPT_MAX (50 * 1024)
#define AI_IMAGE_MAX (10 * 1024 * 1024)
#define AI_MODERATE_MAX (100 * 1024)
#define AI_TAGS_MAX 20

/* --- chat plumbing shared by chat, generate and conversations -------------- */

/* The provider and model of a chat-like request: 409 without a provider,
 * 400 naming model when neither the body nor the provider names one. */
static err_t chat_target(req_t *r, const char *provider_id, const char *model, const char *cap,
			 ai_provider_t *p, const char **use)
{
	err_t rc = ai_provider_pick(r, provider_id, "provider_id", p);
	if (rc)
		return rc;
	if (!strcmp(p->type, AI_LOCAL))
		return req_fail(r, E_AI_PROVIDER_REQUIRED,
				"The built-in models do not chat, generate or describe images: add a "
				"provider with POST /v1/ai-providers (provider_type openai, for OpenAI, "
				"Ollama, llama.cpp, vLLM or any OpenAI-compatible server, or anthropic)");
	*use = ai_model_for(p, model, cap);
	if (!*use && strcmp(cap, "chat"))
		*use = ai_model_for(p, NULL, "chat");
	if (!*use)
		return req_fail_field(r, E_VALIDATION, "model",
				      "Name a model: the provider %s has no default %s_model in its "
				      "config_json", p->name, cap);
	return ai_budget_check(r);
}

/* Where streamed text goes: the client, as Server-Sent Events. */
typedef struct sse_out {
	req_t *r;
	bool on;                  /* the client asked for a stream */
	bool started;
} sse_out_t;

static bool sse_send(sse_out_t *o, const char *event, cJSON *data)
{
	req_t *r = o->r;
	if (!o->started) {
		reply_stream_start(r, 200, "text/event-stream; charset=utf-8");
		o->started = true;
	}
	char *json = req_json_text(r, req_own(r, data));
	char *frame = event ? arena_printf(r->a, "event: %s\ndata: %s\n\n", event, json)
			    : arena_printf(r->a, "data: %s\n\n", json);
	return reply_stream_write(r, frame, strlen(frame));
}

static bool sse_delta(void *user, const char *text, size_t len)
{
	cJSON *d = cJSON_CreateObject();
	char *t = arena_strndup(((sse_out_t *)user)->r->a, text, len);
	cJSON_AddStringToObject(d, "delta", t);
	return sse_send(user, NULL, d);
}

/* Runs the chat, streamed or not, and meters it. */
static err_t chat_call(req_t *r, const ai_provider_t *p, const ai_chat_req_t *q, sse_out_t *sse,
		       ai_chat_out_t *out)
{
	err_t rc = ai_chat(r, p, q, sse->on ? sse_delta : NULL, sse, out);
	ai_meter(r, p, out->model ? out->model : q->model, rc ? 0 : out->input_tokens,
		 rc ? 0 : out->output_tokens);
	return rc;
}

/* The end of a chat-like call: data as the reply, or as the stream's
 * "done" event; an error after the stream began becomes its "error"
 * event. */
static err_t chat_finish(req_t *r, sse_out_t *sse, err_t rc, cJSON *data,
			 const ai_chat_out_t *out)
{
	if (rc && !(sse->on && sse->started)) {
		cJSON_Delete(data);
		return rc;
	}
	if (rc) {
		cJSON_Delete(data);
		cJSON *e = cJSON_CreateObject();
		cJSON_AddStringToObject(e, "code", err_code(rc));
		cJSON_AddStringToObject(e, "message", r->err_message ? r->err_message : err_message(rc));
		sse_send(sse, "error", e);
		r->err_message = NULL;
		return E_OK;
	}
	cJSON *usage = cJSON_AddObjectToObject(data, "usage");
	cJSON_AddNumberToObject(usage, "input_tokens", (double)out->input_tokens);
	cJSON_AddNumberToObject(usage, "output_tokens", (double)out->output_tokens);
	if (out->finish_reason)
		cJSON_AddStringToObject(data, "finish_reason", out->finish_reason);
	if (sse->on)
		sse_send(sse, "done", data);
	else
		reply_data(r, 200, data);
	return E_OK;
}

/* The history of a chat body: at most AI_HISTORY_MAX {role, content}
 * messages, roles user or assistant, and with the message at most
 * AI_CHAT_BYTES_MAX bytes in all. */
static err_t history_read(req_t *r, const char *message, ai_msg_t **msgs, int *n)
{
	const cJSON *h = cJSON_GetObjectItemCaseSensitive(r->json, "history");
	int count = cJSON_IsArray(h) ? cJSON_GetArraySize(h) : 0;
	if (count > AI_HISTORY_MAX)
		return req_fail_field(r, E_VALIDATION, "history", "history holds at most %d messages",
				      AI_HISTORY_MAX);
	*msgs = arena_calloc(r->a, (size_t)count + 1, sizeof(**msgs));
	size_t bytes = strlen(message);
	int i = 0;
	const cJSON *m;
	cJSON_ArrayForEach(m, h) {
		const char *role = json_str_of(m, "role"), *content = json_str_of(m, "content");
		if (!role || !content || (strcmp(role, "user") && strcmp(role, "assistant")))
			return req_fail_field(r, E_VALIDATION, "history",
					      "history[%d] must be {\"role\": \"user\" or \"assistant\", "
					      "\"content\": \"…\"}", i);
		bytes += strlen(content);
		(*msgs)[i++] = (ai_msg_t){ role, content };
	}
	if (bytes > AI_CHAT_BYTES_MAX)
		return req_fail_field(r, E_VALIDATION, "history",
				      "the message and history are %zu bytes, more than %d in all",
				      bytes, AI_CHAT_BYTES_MAX);
	(*msgs)[i++] = (ai_msg_t){ "user", message };
	*n = i;
	return E_OK;
}

static int body_int(const cJSON *body, const char *name, int def)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(body, name);
	return cJSON_IsNumber(v) ? v->valueint : def;
}

static bool body_true(const cJSON *body, const char *name)
{
	return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(body, name));
}

#define CHAT_COMMON_FIELDS \
	{ "model", FT_STRING, FF_NULLABLE, 1, 100 }, \
	{ "provider_id", FT_STRING, FF_NULLABLE, 1, 100 }, \
	{ "system", FT_STRING, FF_NULLABLE, 1, 10000 }, \
	{ "max_tokens", FT_INT, FF_NULLABLE, 1, 32000 }, \
	{ "stream", FT_BOOL, FF_NULLABLE, 0, 0 }

static const field_t chat_body[] = {
	{ "message", FT_STRING, FF_REQUIRED, 1, AI_CHAT_BYTES_MAX },
	{ "history", FT_ARRAY, FF_NULLABLE, 0, 0 },
	CHAT_COMMON_FIELDS,
	{ NULL, 0, 0, 0, 0 },
};

static const field_t generate_body[] = {
	{ "prompt", FT_STRING, FF_REQUIRED, 1, AI_PROMPT_MAX },
	CHAT_COMMON_FIELDS,
	{ NULL, 0, 0, 0, 0 },
};

/* chat and generate: one message (with history for chat) and the answer
 * under answer_key ("response" or "text"). */
static err_t chat_like(req_t *r, const char *text_field, const char *answer_key)
{
	const char *text = json_str_of(r->json, text_field);
	ai_msg_t *msgs = NULL;
	int n = 1;
	err_t rc;
	if (!strcmp(text_field, "message")) {
		if ((rc = history_read(r, text, &msgs, &n)))
			return rc;
	} else {
		msgs = arena_alloc(r->a, sizeof(*msgs));
		msgs[0] = (ai_msg_t){ "user", text };
	}
	ai_provider_t p;
	const char *model;
	if ((rc = chat_target(r, json_str_of(r->json, "provider_id"), json_str_of(r->json, "model"),
			      "chat", &p, &model)))
		return rc;
	ai_chat_req_t q = { .model = model, .system = json_str_of(r->json, "system"), .msgs = msgs,
			    .nmsgs = n, .max_tokens = body_int(r->json, "max_tokens", 0) };
	sse_out_t sse = { .r = r, .on = body_true(r->json, "stream") };
	ai_chat_out_t out;
	rc = chat_call(r, &p, &q, &sse, &out);
	cJSON *d = cJSON_CreateObject();
	if (!rc) {
		cJSON_AddStringToObject(d, answer_key, out.text);
		cJSON_AddStringToObject(d, "model", out.model);
		cJSON_AddStringToObject(d, "provider_id", p.id);
	}
	return chat_finish(r, &sse, rc, d, &out);
}

static err_t ai_chat_post(req_t *r)
{
	return chat_like(r, "message", "response");
}

static err_t ai_generate(req_t *r)
{
	return chat_like(r, "prompt", "text");
}

/* --- conversations ----------------------------------------------------------- */

static const char *conv_messages(req_t *r)
{
	return tenant_table(r, "_ai_messages");
}

static const res_field_t conversation_fields[] = {
	{ .name = "id", .type = COL_STR },
	{ .name = "title", .type = COL_STR, .in = FT_STRING, .flags = RF_WRITABLE | RF_NULLABLE | RF_SORT,
	  .min = 1, .max = 200 },
	{ .name = "model", .type = COL_STR, .in = FT_STRING, .flags = RF_WRITABLE | RF_NULLABLE,
	  .min = 1, .max = 100 },
	{ .name = "provider_id", .type = COL_STR, .in = FT_STRING, .flags = RF_WRITABLE | RF_NULLABLE,
	  .min = 1, .max = 40 },
	{ .name = "system_prompt", .type = COL_STR, .in = FT_STRING, .flags = RF_WRITABLE | RF_NULLABLE,
	  .min = 1, .max = 10000 },
	{ .name = "user_id", .column = "owner_id", .type = COL_STR },
	{ .name = "message_count", .type = COL_INT },
	{ .name = "created_at", .type = COL_TIME },
	{ .name = "updated_at", .type = COL_TIME },
	{ NULL },
};

/* End users have their own conversations; API keys see them all. */
static const char *conv_scope(req_t *r, const res_ctx_t *c, db_param *p, int *np)
{
	(void)c;
	if (r->who.kind != PRINCIPAL_USER)
		return NULL;
	p[(*np)++] = db_str(r->who.user_id);
	return "owner_id = ?";
}

/* A named provider must exist; a new conversation belongs to its end user. */
static err_t conv_validate(req_t *r, res_ctx_t *c)
{
	const char *pid = json_str_of(c->body, "provider_id");
	ai_provider_t p;
	err_t rc;
	if (pid && (rc = ai_provider_pick(r, pid, "provider_id", &p)))
		return rc;
	if (pid)
		resource_set(c, "provider_id", db_str(p.id));
	if (c->op == OP_CREATE && r->who.kind == PRINCIPAL_USER)
		resource_set(c, "owner_id", db_str(r->who.user_id));
	return E_OK;
}

static const col_t message_cols[] = {
	{ "id", COL_INT, 0 },
	{ "role", COL_STR, 0 },
	{ "content", COL_STR, 0 },
	{ "model", COL_STR, 0 },
	{ "input_tokens", COL_INT, 0 },
	{ "output_tokens", COL_INT, 0 },
	{ "created_at", COL_TIME, 0 },
	{ NULL, 0, 0 },
};

/* A conversation read alone shows its messages (the latest 100). */
static err_t conv_render(req_t *r, res_ctx_t *c, cJSON *row)
{
	if (c->op != OP_GET)
		return E_OK;
	db_param p[] = { db_str(json_str_of(row, "id")) };
	db_result *res;
	enum db_status st = db_exec(r->db, r->a, arena_printf(r->a,
		"SELECT * FROM (SELECT id, role, content, model, input_tokens, output_tokens, created_at "
		"FROM %s WHERE conversation_id = ? ORDER BY id DESC LIMIT 100) m ORDER BY id",
		conv_messages(r)), p, 1, &res);
	if (st)
		return req_db_error(r, st);
	cJSON *msgs = cJSON_AddArrayToObject(row, "messages");
	for (int i = 0; i < res->nrows; i++)
		cJSON_AddItemToArray(msgs, row_to_json(message_cols, res, i));
	return E_OK;
}

/* Its messages go with it. */
static err_t conv_after_write(req_t *r, res_ctx_t *c)
{
	if (c->op != OP_DELETE)
		return E_OK;
	db_param p[] = { db_str(c->id) };
	enum db_status st = db_exec(r->db, r->a, arena_printf(r->a,
		"DELETE FROM %s WHERE conversation_id = ?", conv_messages(r)), p, 1, NULL);
	return st ? req_db_error(r, st) : E_OK;
}

static const res_hooks_t conversation_hooks = {
	.scope = conv_scope,
	.validate = conv_validate,
	.render = conv_render,
	.after_write = conv_after_write,
};

static const resource_t conversation_res = {
	.name = "Conversation",
	.type = "ai_conversation",
	.table = "_ai_conversations",
	.home = RES_TENANT,
	.id_param = "conversation_id",
	.id_prefix = "conv_",
	.fields = conversation_fields,
	.order = "created_at DESC",
	.title = "title",
	.del = DEL_ROW,
	.deleted_id = "conversation_id",
	.flags = RES_CREATED_BY | RES_NO_AUDIT,
	.list_shape = LIST_ARRAY,
	.hooks = &conversation_hooks,
	.example = "{\"title\":\"Support\",\"model\":\"llama3\"}",
};

static const field_t conv_chat_body[] = {
	{ "message", FT_STRING, FF_REQUIRED, 1, AI_CHAT_BYTES_MAX },
	{ "model", FT_STRING, FF_NULLABLE, 1, 100 },
	{ "max_tokens", FT_INT, FF_NULLABLE, 1, 32000 },
	{ "stream", FT_BOOL, FF_NULLABLE, 0, 0 },
	{ NULL, 0, 0, 0, 0 },
};

/* The stored history that fits with message: the newest messages, at
 * most AI_HISTORY_MAX and AI_CHAT_BYTES_MAX bytes with it, oldest first. */
static err_t conv_history(req_t *r, const char *id, const char *message, ai_msg_t **msgs, int *n)
{
	db_param p[] = { db_str(id) };
	db_result *res;
	enum db_status st = db_exec(r->db, r->a, arena_printf(r->a,
		"SELECT role, content FROM %s WHERE conversation_id = ? ORDER BY id DESC LIMIT %d",
		conv_messages(r), AI_HISTORY_MAX), p, 1, &res);
	if (st)
		return req_db_error(r, st);
	size_t bytes = strlen(message);
	int keep = 0;
	while (keep < res->nrows && bytes + strlen(db_cell(res, keep, 1)) <= AI_CHAT_BYTES_MAX)
		bytes += strlen(db_cell(res, keep++, 1));
	/* A history starts with a user's message (Anthropic requires it). */
	while (keep > 0 && strcmp(db_cell(res, keep - 1, 0), "user"))
		keep--;
	*msgs = arena_calloc(r->a, (size_t)keep + 1, sizeof(**msgs));
	for (int i = 0; i < keep; i++)
		(*msgs)[i] = (ai_msg_t){ db_cell(res, keep - 1 - i, 0), db_cell(res, keep - 1 - i, 1) };
	(*msgs)[keep] = (ai_msg_t){ "user", message };
	*n = keep + 1;
	return E_OK;
}

/* Stores the exchange: the user's message and the answer, in one
 * transaction with the conversation's count. */
static err_t conv_store(req_t *r, const char *id, const char *message, const ai_chat_out_t *out)
{
	enum db_status st = db_begin(r->db);
	if (st)
		return req_db_error(r, st);
	db_param p[] = { db_str(id), db_str(message), db_str(id), db_str(out->text),
			 db_str(out->model), db_int(out->input_tokens), db_int(out->output_tokens) };
	st = db_exec(r->db, r->a, arena_printf(r->a,
		"INSERT INTO %s (conversation_id, role, content, model, input_tokens, output_tokens, "
		"created_at) VALUES (?, 'user', ?, NULL, NULL, NULL, UTC_TIMESTAMP(3)), "
		"(?, 'assistant', ?, LEFT(?, 100), ?, ?, UTC_TIMESTAMP(3))", conv_messages(r)), p, 7, NULL);
	if (!st)
		st = db_exec(r->db, r->a, arena_printf(r->a,
			"UPDATE %s SET message_count = message_count + 2, updated_at = UTC_TIMESTAMP(3) "
			"WHERE id = ?", tenant_table(r, "_ai_conversations")), p, 1, NULL);
	return req_tx_end(r, st ? req_db_error(r, st) : E_OK);
}

static err_t ai_conversation_chat(req_t *r)
{
	res_ctx_t c;
	cJSON *conv;
	err_t rc = resource_ctx(r, &conversation_res, OP_GET, &c);
	if (rc || (rc = resource_fetch(r, &c, req_param(r, "conversation_id"), false, &conv)))
		return rc;
	const char *id = json_str_of(conv, "id"), *message = json_str_of(r->json, "message");
	const char *model = json_str_of(r->json, "model");
	ai_msg_t *msgs = NULL;
	int n = 0;
	ai_provider_t p;
	const char *pid = json_str_of(conv, "provider_id");
	if ((rc = conv_history(r, id, message, &msgs, &n)))
		return rc;
	if (pid && ai_provider_pick(r, pid, "provider_id", &p) == E_NOT_FOUND) {
		/* Its provider was deleted since: the default serves it. */
		r->err_message = NULL;
		r->err_details = NULL;
		pid = NULL;
	}
	if ((rc = chat_target(r, pid, model ? model : json_str_of(conv, "model"), "chat", &p, &model)))
		return rc;
	ai_chat_req_t q = { .model = model, .system = json_str_of(conv, "system_prompt"),
			    .msgs = msgs, .nmsgs = n, .max_tokens = body_int(r->json, "max_tokens", 0) };
	sse_out_t sse = { .r = r, .on = body_true(r->json, "stream") };
	ai_chat_out_t out;
	rc = chat_call(r, &p, &q, &sse, &out);
	if (!rc)
		rc = conv_store(r, id, message, &out);
	cJSON *d = cJSON_CreateObject();
	if (!rc) {
		cJSON_AddStringToObject(d, "response", out.text);
		cJSON_AddStringToObject(d, "model", out.model);
		cJSON_AddStringToObject(d, "conversation_id", id);
		cJSON_AddNumberToObject(d, "history_sent", n - 1);
	}
	return chat_finish(r, &sse, rc, d, &out);
}

/* --- models -------------------------------------------------------------------- */

/* Which capability a model id suggests, for providers that do not say. */
static const char *model_capability(const char *id)
{
	if (strstr(id, "embed"))
		return "text_embedding";
	if (strstr(id, "vision") || strstr(id, "llava") || strstr(id, "gpt-4o") ||
	    strstr(id, "claude-3") || strstr(id, "claude-sonnet") || strstr(id, "claude-opus"))
		return "image_to_text";
	if (strstr(id, "moderation") || strstr(id, "local-rules"))
		return "text_classification";
	return "text_generation";
}

static void add_model(cJSON *groups, const char *cap, const char *id)
{
	cJSON *list = cJSON_GetObjectItemCaseSensitive(groups, cap);
	const cJSON *e;
	cJSON_ArrayForEach(e, list)
		if (!strcmp(e->valuestring, id))
			return;
	cJSON_AddItemToArray(list, cJSON_CreateString(id));
}

/* GET /v1/ai/models: every provider's models grouped by capability
 * (text_generation, text_embedding, image_to_text, text_classification,
 * summarization), the built-in ones included; a provider that cannot be
 * reached is listed under "errors" rather than failing the whole list. */
static err_t ai_models_get(req_t *r)
{
	db_result *res;
	enum db_status st = db_exec(r->db, r->a, arena_printf(r->a,
		"SELECT id FROM %s ORDER BY created_at LIMIT 20", tenant_table(r, "_ai_providers")),
		NULL, 0, &res);
	if (st)
		return req_db_error(r, st);
	cJSON *d = req_own(r, cJSON_CreateObject());
	static const char *const caps[] = { "text_generation", "text_embedding", "image_to_text",
					    "text_classification", "summarization", NULL };
	for (const char *const *c = caps; *c; c++)
		cJSON_AddArrayToObject(d, *c);
	cJSON *providers = cJSON_AddArrayToObject(d, "providers");
	cJSON *errors = cJSON_AddArrayToObject(d, "errors");
	add_model(d, "text_embedding", AILOCAL_EMBED_MODEL);
	add_model(d, "summarization", AILOCAL_SUMMARY_MODEL);
	add_model(d, "text_classification", AILOCAL_TAG_MODEL);
	add_model(d, "text_classification", AILOCAL_MODERATION_MODEL);
	for (int i = 0; i < res->nrows; i++) {
		ai_provider_t p;
		err_t rc = ai_provider_pick(r, db_cell(res, i, 0), "provider_id", &p);
		if (rc)
			return rc;
		cJSON *ids;
		cJSON *entry = cJSON_CreateObject();
		cJSON_AddStringToObject(entry, "id", p.id);
		cJSON_AddStringToObject(entry, "name", p.name);
		cJSON_AddStringToObject(entry, "provider_type", p.type);
		cJSON_AddItemToArray(providers, entry);
		if (strcmp(p.type, AI_LOCAL) && (rc = ai_models(r, &p, &ids))) {
			cJSON *e = cJSON_CreateObject();
			cJSON_AddStringToObject(e, "provider_id", p.id);
			cJSON_AddStringToObject(e, "message", r->err_message ? r->err_message : err_message(rc));
			cJSON_AddItemToArray(errors, e);
			r->err_message = NULL;
			r->err_details = NULL;
			r->out_headers = NULL;
			continue;
		}
		if (!strcmp(p.type, AI_LOCAL))
			continue;
		const cJSON *m;
		cJSON_ArrayForEach(m, ids)
			add_model(d, model_capability(m->valuestring), m->valuestring);
		static const char *const conf[][2] = { { "chat_model", "text_generation" },
						       { "embedding_model", "text_embedding" },
						       { "vision_model", "image_to_text" } };
		for (size_t k = 0; k < sizeof(conf) / sizeof(conf[0]); k++)
			if (json_str_of(p.config, conf[k][0]))
				add_model(d, conf[k][1], json_str_of(p.config, conf[k][0]));
	}
	reply_data(r, 200, cJSON_Duplicate(d, true));
	return E_OK;
}

/* --- describe -------------------------------------------------------------------- */

static const field_t describe_body[] = {
	{ "file_id", FT_STRING, FF_REQUIRED, 1, 64 },
	{ "model", FT_STRING, FF_NULLABLE, 1, 100 },
	{ "provider_id", FT_STRING, FF_NULLABLE, 1, 100 },
	{ "prompt", FT_STRING, FF_NULLABLE, 1, 4000 },
	{ "max_tokens", FT_INT, FF_NULLABLE, 1, 32000 },
	{ NULL, 0, 0, 0, 0 },
};

/* The stored bytes of the file's current version, base64 (standard). */
static err_t image_read(req_t *r, const db_result *res, char **b64)
{
	const char *id = db_get(res, 0, "id");
	char *path;
	if (storage_fetch(r->a, storage_version_key(r->a, r->tenant.id, id,
						    (int)db_get_int(res, 0, "version", 1)), &path))
		return req_fail_field(r, E_NOT_FOUND, "file_id", "The file's content is not stored");
	FILE *f = fopen(path, "rb");
	if (!f)
		return req_fail_field(r, E_NOT_FOUND, "file_id", "The file's content is not stored");
	unsigned char *buf = arena_alloc(r->a, AI_IMAGE_MAX + 1);
	size_t n = fread(buf, 1, AI_IMAGE_MAX + 1, f);
	fclose(f);
	if (n > AI_IMAGE_MAX)
		return req_fail_field(r, E_VALIDATION, "file_id", "The image is larger than 10 MB");
	size_t len = sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_ORIGINAL);
	*b64 = arena_alloc(r->a, len);
	sodium_bin2base64(*b64, len, buf, n, sodium_base64_VARIANT_ORIGINAL);
	return E_OK;
}

static err_t ai_describe(req_t *r)
{
	db_result *res;
	err_t rc = file_load(r, json_str_of(r->json, "file_id"), 0, &res);
	if (rc == E_NOT_FOUND)
		return req_fail_field(r, E_NOT_FOUND, "file_id", "File not found");
	if (rc)
		return rc;
	const char *mime = db_get(res, 0, "mime_type");
	static const char *const images[] = { "image/jpeg", "image/png", "image/webp", "image/gif", NULL };
	bool image = false;
	for (const char *const *m = images; *m && mime; m++)
		image |= !strcmp(*m, mime);
	if (!image)
		return req_fail_field(r, E_VALIDATION, "file_id",
				      "The file is %s, not a JPEG, PNG, WebP or GIF image",
				      mime ? mime : "of no known type");
	if (db_get_int(res, 0, "size_bytes", 0) > AI_IMAGE_MAX)
		return req_fail_field(r, E_VALIDATION, "file_id", "The image is larger than 10 MB");
	ai_provider_t p;
	const char *model;
	char *b64 = NULL;
	if ((rc = chat_target(r, json_str_of(r->json, "provider_id"), json_str_of(r->json, "model"),
			      "vision", &p, &model)) ||
	    (rc = image_read(r, res, &b64)))
		return rc;
	const char *prompt = json_str_of(r->json, "prompt");
	ai_msg_t msg = { "user", prompt ? prompt : "Describe this image in a few sentences." };
	ai_chat_req_t q = { .model = model, .msgs = &msg, .nmsgs = 1, .image_b64 = b64,
			    .image_type = mime, .max_tokens = body_int(r->json, "max_tokens", 0) };
	sse_out_t sse = { .r = r };
	ai_chat_out_t out;
	rc = chat_call(r, &p, &q, &sse, &out);
	cJSON *d = cJSON_CreateObject();
	if (!rc) {
		cJSON_AddStringToObject(d, "description", out.text);
		cJSON_AddStringToObject(d, "filename", db_get(res, 0, "filename"));
		cJSON_AddStringToObject(d, "file_id", db_get(res, 0, "id"));
		cJSON_AddStringToObject(d, "model", out.model);
	}
	return chat_finish(r, &sse, rc, d, &out);
}

/* --- the built-in text models ------------------------------------------------------ */

static void meter_local(req_t *r, const char *model, const char *text)
{
	ai_provider_t p = { .id = AI_LOCAL, .type = AI_LOCAL };
	ai_meter(r, &p, model, (long)(strlen(text) + 3) / 4, 0);
}

static const field_t moderate_body[] = {
	{ "text", FT_ANY, FF_REQUIRED, 0, 0 },
	{ "words", FT_STRING_ARRAY, FF_NULLABLE, 0, 200 },
	{ NULL, 0, 0, 0, 0 },
};

/* The word list: the body's, and the one in the default (or local)
 * provider's config_json.moderation_words. */
static err_t moderation_words(req_t *r, const char ***out)
{
	ai_provider_t p;
	err_t rc = ai_provider_pick(r, NULL, "provider_id", &p);
	if (rc)
		return rc;
	const cJSON *a = cJSON_GetObjectItemCaseSensitive(r->json, "words");
	const cJSON *b = cJSON_GetObjectItemCaseSensitive(p.config, "moderation_words");
	int n = cJSON_GetArraySize(a) + cJSON_GetArraySize(b), i = 0;
	const char **w = arena_calloc(r->a, (size_t)n + 1, sizeof(*w));
	const cJSON *e;
	cJSON_ArrayForEach(e, a)
		w[i++] = e->valuestring;
	cJSON_ArrayForEach(e, b)
		if (cJSON_IsString(e))
			w[i++] = e->valuestring;
	*out = w;
	return E_OK;
}

static cJSON *moderation_result(const char *text, const char *const *words)
{
	int counts[MOD_NCATEGORIES];
	ailocal_moderate(text, strlen(text), words, counts);
	cJSON *o = cJSON_CreateObject();
	cJSON *cats = cJSON_CreateObject(), *scores = cJSON_CreateObject(), *n = cJSON_CreateObject();
	bool flagged = false;
	for (int c = 0; c < MOD_NCATEGORIES; c++) {
		const char *name = ailocal_category_name(c);
		cJSON_AddBoolToObject(cats, name, counts[c] > 0);
		cJSON_AddNumberToObject(scores, name, counts[c] > 0 ? 1.0 : 0.0);
		cJSON_AddNumberToObject(n, name, counts[c]);
		flagged |= counts[c] > 0;
	}
	cJSON_AddBoolToObject(o, "flagged", flagged);
	cJSON_AddItemToObject(o, "categories", cats);
	cJSON_AddItemToObject(o, "category_scores", scores);
	cJSON_AddItemToObject(o, "counts", n);
	return o;
}

static err_t ai_moderate(req_t *r)
{
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(r->json, "text");
	int n = cJSON_IsArray(t) ? cJSON_GetArraySize(t) : 1;
	if (!(cJSON_IsString(t) || (cJSON_IsArray(t) && n >= 1 && n <= 100)))
		return req_fail_field(r, E_VALIDATION, "text",
				      "text must be a string or an array of 1 to 100 strings");
	const cJSON *e;
	size_t bytes = 0;
	for (e = cJSON_IsArray(t) ? t->child : NULL; e; e = e->next)
		if (!cJSON_IsString(e))
			return req_fail_field(r, E_VALIDATION, "text", "text must hold strings");
	const char **words;
	err_t rc = moderation_words(r, &words);
	if (rc)
		return rc;
	cJSON *d = cJSON_CreateObject(), *results = cJSON_AddArrayToObject(d, "results");
	bool flagged = false;
	for (const cJSON *s = cJSON_IsArray(t) ? t->child : t; s; s = cJSON_IsArray(t) ? s->next : NULL) {
		bytes += strlen(s->valuestring);
		if (bytes > AI_MODERATE_MAX) {
			cJSON_Delete(d);
			return req_fail_field(r, E_VALIDATION, "text", "text is at most %d bytes in all",
					      AI_MODERATE_MAX);
		}
		cJSON *res = moderation_result(s->valuestring, words);
		flagged |= cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(res, "flagged"));
		cJSON_AddItemToArray(results, res);
		meter_local(r, AILOCAL_MODERATION_MODEL, s->valuestring);
	}
	cJSON_AddBoolToObject(d, "flagged", flagged);
	cJSON_AddStringToObject(d, "model", AILOCAL_MODERATION_MODEL);
	reply_data(r, 200, d);
	return E_OK;
}

static const field_t summarise_body[] = {
	{ "object_type_id", FT_STRING, FF_REQUIRED, 1, 100 },
	{ "object_id", FT_STRING, FF_REQUIRED, 1, 64 },
	{ "max_length", FT_INT, FF_NULLABLE, 20, 10000 },
	{ "model", FT_STRING, FF_NULLABLE, 1, 100 },
	{ "provider_id", FT_STRING, FF_NULLABLE, 1, 100 },
	{ NULL, 0, 0, 0, 0 },
};

static const field_t autotag_body[] = {
	{ "object_type_id", FT_STRING, FF_REQUIRED, 1, 100 },
	{ "object_id", FT_STRING, FF_REQUIRED, 1, 64 },
	{ "max_tags", FT_INT, FF_NULLABLE, 1, AI_TAGS_MAX },
	{ "property", FT_STRING, FF_NULLABLE, 1, 100 },
	{ NULL, 0, 0, 0, 0 },
};

/* The text of the object the body names (type and id), as the caller may
 * read it. */
static err_t body_object_text(req_t *r, const objtype_t **type, char **text)
{
	objtype_t *t;
	err_t rc = objtype_load(r, json_str_of(r->json, "object_type_id"), &t);
	if (rc == E_NOT_FOUND)
		return req_fail_field(r, E_NOT_FOUND, "object_type_id", "Object type not found");
	cJSON *props;
	if (rc || (rc = ai_object_load(r, t, json_str_of(r->json, "object_id"), "object_id", &props)))
		return rc;
	/* The values only: "name: value" lines would put property names in
	 * every summary and tag list. */
	strbuf_t sb = { .max = 256 * 1024 };
	for (int i = 0; i < t->nprops; i++) {
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(props, t->props[i].name);
		if (cJSON_IsString(v) && strcmp(t->props[i].type->name, "url") &&
		    strcmp(t->props[i].type->name, "email") && v->valuestring[0]) {
			sb_puts(&sb, v->valuestring);
			size_t n = strlen(v->valuestring);
			sb_puts(&sb, strchr(".!?", v->valuestring[n - 1]) ? "\n" : ".\n");
		}
	}
	*type = t;
	*text = sb.len ? sb_take(&sb, r->a) : arena_strdup(r->a, "");
	return E_OK;
}

/* What summarise and auto-tag share: the object's text in, the answer
 * filled by fn, metered and labelled with the model and the object. */
static err_t object_text_run(req_t *r, const char *model,
			     err_t (*fn)(req_t *r, const objtype_t *t, const char *text, cJSON *d))
{
	const objtype_t *t = NULL;
	char *text = NULL;
	err_t rc = body_object_text(r, &t, &text);
	if (rc)
		return rc;
	cJSON *d = req_own(r, cJSON_CreateObject());
	if ((rc = fn(r, t, text, d)))
		return rc;
	if (!cJSON_HasObjectItem(d, "model")) {   /* not a provider's answer */
		meter_local(r, model, text);
		cJSON_AddStringToObject(d, "model", model);
	}
	cJSON_AddStringToObject(d, "object_id", json_str_of(r->json, "object_id"));
	cJSON_AddStringToObject(d, "object_type_id", t->id);
	reply_data(r, 200, cJSON_Duplicate(d, true));
	return E_OK;
}

/* A summary by a provider's chat model, asked for by naming it (model
 * or provider_id): the built-in extractive one stays the default. */
static err_t summary_by_provider(req_t *r, const char *text, size_t max, cJSON *d)
{
	ai_provider_t p;
	const char *model;
	err_t rc = chat_target(r, json_str_of(r->json, "provider_id"), json_str_of(r->json, "model"),
			       "chat", &p, &model);
	if (rc)
		return rc;
	ai_msg_t msg = { "user", arena_printf(r->a, "Summarise the following text in at most %zu "
					     "characters. Answer with the summary only.\n\n%s", max, text) };
	ai_chat_req_t q = { .model = model, .msgs = &msg, .nmsgs = 1 };
	sse_out_t sse = { .r = r };
	ai_chat_out_t out;
	if ((rc = chat_call(r, &p, &q, &sse, &out)))
		return rc;
	cJSON_AddStringToObject(d, "summary", out.text);
	cJSON_AddStringToObject(d, "model", out.model);
	return E_OK;
}

static err_t summary_of(req_t *r, const objtype_t *t, const char *text, cJSON *d)
{
	(void)t;
	size_t max = (size_t)body_int(r->json, "max_length", 500);
	const char *model = json_str_of(r->json, "model");
	if (json_str_of(r->json, "provider_id") || (model && strcmp(model, AILOCAL_SUMMARY_MODEL)))
		return summary_by_provider(r, text, max, d);
	cJSON_AddStringToObject(d, "summary", ailocal_summarise(r->a, text, strlen(text), max));
	return E_OK;
}

static err_t ai_summarise(req_t *r)
{
	return object_text_run(r, AILOCAL_SUMMARY_MODEL, summary_of);
}

/* The document frequency of each term among the tenant's indexed objects,
 * into df[]; *docs the number of indexed objects. */
static err_t term_frequencies(req_t *r, const ailocal_term_t *terms, int n, long long *df,
			      long long *docs)
{
	db_result *res;
	enum db_status st = db_exec(r->db, r->a, arena_printf(r->a, "SELECT COUNT(*) FROM %s",
		tenant_table(r, "_ai_vectors")), NULL, 0, &res);
	if (st)
		return req_db_error(r, st);
	*docs = strtoll(db_cell(res, 0, 0), NULL, 10);
	memset(df, 0, (size_t)n * sizeof(*df));
	if (n == 0)
		return E_OK;
	db_param *p = arena_alloc(r->a, (size_t)n * sizeof(*p));
	for (int i = 0; i < n; i++)
		p[i] = db_str(terms[i].term);
	st = db_exec(r->db, r->a, arena_printf(r->a,
		"SELECT term, COUNT(*) FROM %s WHERE term IN (%s) GROUP BY term",
		tenant_table(r, "_ai_doc_terms"), db_placeholders(r->a, n)), p, n, &res);
	if (st)
		return req_db_error(r, st);
	for (int k = 0; k < res->nrows; k++)
		for (int i = 0; i < n; i++)
			if (!strcmp(terms[i].term, db_cell(res, k, 0)))
				df[i] = strtoll(db_cell(res, k, 1), NULL, 10);
	return E_OK;
}

typedef struct tag {
	const char *term;
	double score;
	int order;
} tag_t;

static int tag_cmp(const void *x, const void *y)
{
	const tag_t *a = x, *b = y;
	if (a->score != b->score)
		return a->score < b->score ? 1 : -1;
	return a->order - b->order;
}

/* Tags: the object's keywords weighted by TF-IDF against the indexed
 * corpus (an object's own terms count once in it, so tags of an indexed
 * object and of a new one come out alike). */
/* Writes tags to the body's property (an array property gets the list, a
 * string or text one the tags joined with ", ") through the object's own
 * PATCH path: validated, policies applied, versioned, its event sent. */
static err_t tags_write(req_t *r, const objtype_t *t, const cJSON *tags)
{
	const char *name = json_str_of(r->json, "property");
	const prop_t *p = name ? objtype_prop(t, name) : NULL;
	if (!name)
		return E_OK;
	const char *dt = p ? p->type->name : "";
	bool list = !strcmp(dt, "array");
	if (!list && strcmp(dt, "string") && strcmp(dt, "text"))
		return req_fail_field(r, E_VALIDATION, "property",
				      p ? "property must be an array, string or text property to hold tags"
					: "property names no property of this type");
	bool may = true;
	err_t rc = identity_user_may(r, "objects", t->name, t->id, "update", &may);
	if (rc)
		return rc;
	if (!may)
		return req_fail(r, E_FORBIDDEN, "Your role may not update %s objects", t->name);
	cJSON *props = req_own(r, cJSON_CreateObject());
	if (list) {
		cJSON_AddItemToObject(props, name, cJSON_Duplicate(tags, true));
	} else {
		strbuf_t sb = { .max = 255 };
		const cJSON *e;
		cJSON_ArrayForEach(e, tags) {
			if (sb.len)
				sb_puts(&sb, ", ");
			sb_puts(&sb, e->valuestring);
		}
		cJSON_AddStringToObject(props, name, sb.len ? sb_take(&sb, r->a) : "");
	}
	return objects_patch(r, t, json_str_of(r->json, "object_id"), props);
}

static err_t tags_of(req_t *r, const objtype_t *t, const char *text, cJSON *d)
{
	ailocal_term_t *terms;
	int n = ailocal_terms(r->a, text, strlen(text), 100, &terms);
	long long *df = arena_alloc(r->a, ((size_t)n + 1) * sizeof(*df)), docs = 0;
	err_t rc = term_frequencies(r, terms, n, df, &docs);
	if (rc)
		return rc;
	tag_t *tags = arena_alloc(r->a, ((size_t)n + 1) * sizeof(*tags));
	for (int i = 0; i < n; i++) {
		double idf = log((double)(docs + 1) / (double)(df[i] + 1)) + 1.0;
		tags[i] = (tag_t){ terms[i].term, (1.0 + log((double)terms[i].count)) * idf, i };
	}
	qsort(tags, (size_t)n, sizeof(*tags), tag_cmp);
	int max = body_int(r->json, "max_tags", 5);
	cJSON *list = cJSON_AddArrayToObject(d, "tags");
	for (int i = 0; i < n && i < max; i++)
		cJSON_AddItemToArray(list, cJSON_CreateString(tags[i].term));
	if ((rc = tags_write(r, t, list)))
		return rc;
	if (json_str_of(r->json, "property"))
		cJSON_AddStringToObject(d, "property", json_str_of(r->json, "property"));
	return E_OK;
}

static err_t ai_auto_tag(req_t *r)
{
	return object_text_run(r, AILOCAL_TAG_MODEL, tags_of);
}

const route_t ai_routes[] = {
	ROUTE("POST", "/v1/ai/auto-tag", "AI", AUTH_BEARER, "ai", "ai:use", R_USER, ai_auto_tag, autotag_body, "Auto-tag content"),
	ROUTE("POST", "/v1/ai/chat", "AI", AUTH_BEARER, "ai", "ai:use", R_USER, ai_chat_post, chat_body, "Chat completion"),
	ROUTE("POST", "/v1/ai/conversations/:conversation_id/chat", "AI", AUTH_BEARER, "ai", "ai:use", R_USER, ai_conversation_chat, conv_chat_body, "Chat with conversation history"),
	ROUTE("POST", "/v1/ai/describe", "AI", AUTH_BEARER, "ai", "ai:use", R_USER, ai_describe, describe_body, "Describe image"),
	ROUTE("POST", "/v1/ai/generate", "AI", AUTH_BEARER, "ai", "ai:use", R_USER, ai_generate, generate_body, "Text generation"),
	ROUTE("POST", "/v1/ai/moderate", "AI", AUTH_BEARER, "ai", "ai:use", R_USER, ai_moderate, moderate_body, "Content moderation"),
	ROUTE("POST", "/v1/ai/summarise", "AI", AUTH_BEARER, "ai", "ai:use", R_USER, ai_summarise, summarise_body, "Summarise content"),
	CRUD("GET", "/v1/ai/conversations", "AI", "ai", "ai:use", R_USER, conversation_res, OP_LIST, "List AI conversations"),
	CRUD("POST", "/v1/ai/conversations", "AI", "ai", "ai:use", R_USER, conversation_res, OP_CREATE, "Create AI conversation"),
	CRUD("GET", "/v1/ai/conversations/:conversation_id", "AI", "ai", "ai:use", R_USER, conversation_res, OP_GET, "Get AI conversation"),
	CRUD("PATCH", "/v1/ai/conversations/:conversation_id", "AI", "ai", "ai:use", R_USER, conversation_res, OP_UPDATE, "Update AI conversation"),
	CRUD("DELETE", "/v1/ai/conversations/:conversation_id", "AI", "ai", "ai:use", R_USER, conversation_res, OP_DELETE, "Delete AI conversation"),
	ROUTE("GET", "/v1/ai/models", "AI", AUTH_BEARER, "ai", "ai:use", R_USER, ai_models_get, NULL, "List available AI models"),
	ROUTES_END,
};
