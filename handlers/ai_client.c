/*
 * ai_client.c - calls to AI providers in their wire formats: the OpenAI
 * format (POST /chat/completions, /embeddings, GET /models at base_url)
 * and Anthropic's Messages API (POST /messages, GET /models, with
 * x-api-key and anthropic-version), both plain and streamed
 * (Server-Sent Events: OpenAI's "data: {chunk}" lines ending with
 * "data: [DONE]", Anthropic's typed events).
 *
 * Every call goes through common/outhttp.c (libcurl, timeouts, the SSRF
 * guard of webhooks: private and loopback targets only with
 * http_allow_private).  429 and 5xx answers are retried up to the
 * provider's max_retries with exponential backoff, or after the
 * Retry-After the provider gave when that is sooner than AI_RETRY_WAIT_MAX;
 * a streamed answer is never retried once text has gone to the client.
 * Failures become AI_PROVIDER_ERROR (502) or AI_RATE_LIMITED (429, with
 * Retry-After), the provider's status and message in details.  Keys go
 * only into request headers: never into errors or logs.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "../common/ailocal.h"
#include "../common/config.h"
#include "../common/jsonx.h"
#include "../common/log.h"
#include "../common/outhttp.h"
#include "../common/strbuf.h"
#include "ai.h"

/* The longest a retry waits; a provider asking for more gets the 429
 * passed on with its Retry-After. */
#define AI_RETRY_WAIT_MAX 10
/* Most bytes of an answer that is not streamed. */
#define AI_BODY_MAX (8u << 20)
#define AI_ANTHROPIC_VERSION "2023-06-01"
#define AI_ANTHROPIC_MAX_TOKENS 1024

static bool is_anthropic(const ai_provider_t *p)
{
	return !strcmp(p->type, "anthropic");
}

/* The request headers for p (the key in the one header its format uses). */
static const char **headers_for(req_t *r, const ai_provider_t *p, bool stream)
{
	const char **h = arena_calloc(r->a, 6, sizeof(*h));
	int n = 0;
	h[n++] = "Content-Type: application/json";
	h[n++] = stream ? "Accept: text/event-stream" : "Accept: application/json";
	if (is_anthropic(p)) {
		const char *v = json_str_of(p->config, "anthropic_version");
		h[n++] = arena_printf(r->a, "anthropic-version: %s", v ? v : AI_ANTHROPIC_VERSION);
		if (p->api_key)
			h[n++] = arena_printf(r->a, "x-api-key: %s", p->api_key);
	} else if (p->api_key) {
		h[n++] = arena_printf(r->a, "Authorization: Bearer %s", p->api_key);
	}
	return h;
}

/* --- the exchange, with retries -------------------------------------------- */

/* What one call collects: the body (plain answers and errors) or, while
 * streaming, the events as they come. */
typedef struct exchange {
	req_t *r;
	strbuf_t body;
	bool sse;                 /* the answer is an event stream */
	bool decided;
	strbuf_t pending;         /* an event not yet complete */
	bool (*on_event)(struct exchange *x, const char *data, size_t len);
	void *state;
	bool delivered;           /* text went to the client */
	bool stopped;             /* on_event said stop */
} exchange_t;

/* Hands each complete event ("…\n\n") to on_event: its data lines joined. */
static bool sse_feed(exchange_t *x, const char *data, size_t len)
{
	sb_putn(&x->pending, data, len);
	if (x->pending.overflow)
		return false;
	for (;;) {
		char *p = x->pending.p, *end = NULL;
		size_t sep = 0;
		for (size_t i = 0; i + 1 < x->pending.len; i++) {
			if (p[i] == '\n' && p[i + 1] == '\n') {
				end = p + i;
				sep = 2;
				break;
			}
			if (i + 3 < x->pending.len && !memcmp(p + i, "\r\n\r\n", 4)) {
				end = p + i;
				sep = 4;
				break;
			}
		}
		if (!end)
			return true;
		strbuf_t ev = { 0 };
		for (char *line = p; line < end;) {
			char *nl = memchr(line, '\n', (size_t)(end - line));
			char *le = nl ? nl : end;
			size_t ll = (size_t)(le - line);
			if (ll && line[ll - 1] == '\r')
				ll--;
			if (ll >= 5 && !memcmp(line, "data:", 5)) {
				size_t skip = ll > 5 && line[5] == ' ' ? 6 : 5;
				if (ev.len)
					sb_putn(&ev, "\n", 1);
				sb_putn(&ev, line + skip, ll - skip);
			}
			line = nl ? nl + 1 : end;
		}
		bool go = true;
		if (ev.len)
			go = x->on_event(x, ev.p, ev.len);
		free(ev.p);
		size_t used = (size_t)(end - p) + sep;
		memmove(p, p + used, x->pending.len - used);
		x->pending.len -= used;
		if (!go) {
			x->stopped = true;
			return false;
		}
	}
}

static bool on_body(void *user, const char *data, size_t len)
{
	exchange_t *x = user;
	if (!x->decided && x->on_event) {
		size_t i = 0;
		while (i < len && (data[i] == ' ' || data[i] == '\n' || data[i] == '\r'))
			i++;
		if (i < len) {
			x->decided = true;
			x->sse = data[i] != '{' && data[i] != '[';
		}
	}
	if (x->sse)
		return sse_feed(x, data, len);
	sb_putn(&x->body, data, len);
	return !x->body.overflow;
}

static void exchange_free(void *p)
{
	exchange_t *x = p;
	free(x->body.p);
	free(x->pending.p);
	x->body = x->pending = (strbuf_t){ .max = AI_BODY_MAX };
}

/* The provider's own words for a failure: error.message (both formats),
 * or the start of the body. */
static const char *provider_message(req_t *r, const char *body, const char *fallback)
{
	cJSON *j = body ? req_own(r, cJSON_Parse(body)) : NULL;
	const cJSON *e = cJSON_GetObjectItemCaseSensitive(j, "error");
	const char *m = json_str_of(e, "message");
	if (!m && cJSON_IsString(e))
		m = e->valuestring;
	if (!m)
		m = json_str_of(j, "message");
	/* Cut to a length, and another server's bytes: scrubbed to UTF-8
	 * before they go into our JSON. */
	char *out = m ? arena_printf(r->a, "%.500s", m)
		      : body && *body ? arena_printf(r->a, "%.200s", body) : NULL;
	if (!out)
		return fallback;
	utf8_scrub(out);
	return out;
}

static err_t provider_fail(req_t *r, const ai_provider_t *p, const outhttp_result_t *res,
			   const char *body)
{
	bool limited = res->status == 429;
	const char *msg = res->status ? provider_message(r, body, "no message")
				      : (res->refused ? "the provider's address is not allowed "
							"(private and loopback addresses need "
							"http_allow_private)"
						      : arena_strdup(r->a, res->error));
	/* A model the provider does not know is the caller's to fix: 400
	 * naming model, as for any other unknown name. */
	bool unknown_model = res->status == 404 && strcasestr(msg, "model");
	err_t e = limited ? E_AI_RATE_LIMITED : unknown_model ? E_VALIDATION : E_AI_PROVIDER;
	if (unknown_model)
		req_fail_field(r, e, "model", "The AI provider %s does not know this model: %s",
			       p->name, msg);
	else if (limited)
		req_fail(r, e, "The AI provider %s is rate limiting requests; retry later", p->name);
	else if (res->status)
		req_fail(r, e, "The AI provider %s failed with HTTP %ld", p->name, res->status);
	else
		req_fail(r, e, "The AI provider %s could not be reached: %s", p->name, msg);
	if (!unknown_model)
		r->err_details = req_own(r, cJSON_CreateObject());
	cJSON_AddStringToObject(r->err_details, "provider_id", p->id);
	cJSON_AddStringToObject(r->err_details, "provider_type", p->type);
	if (res->status)
		cJSON_AddNumberToObject(r->err_details, "provider_status", (double)res->status);
	cJSON_AddStringToObject(r->err_details, "provider_message", msg);
	if (limited)
		reply_header(r, "Retry-After",
			     arena_printf(r->a, "%ld", res->retry_after > 0 ? res->retry_after : 1));
	return e;
}

/*
 * Sends body to base_url + path (GET when body is NULL), retrying 429 and
 * 5xx; on a 2xx answer x->body holds it (or the events went to
 * x->on_event).  Replies the mapped error otherwise.
 */
static err_t exchange_run(req_t *r, const ai_provider_t *p, const char *path, const char *body,
			  exchange_t *x)
{
	char *url = arena_printf(r->a, "%s%s", p->base_url, path);
	const char **hdr = headers_for(r, p, x->on_event != NULL);
	x->r = r;
	arena_defer(r->a, exchange_free, x);
	for (int attempt = 0;; attempt++) {
		exchange_free(x);
		x->decided = x->sse = false;
		outhttp_result_t res;
		int rc = outhttp_request_to(body ? "POST" : "GET", url, hdr, body,
					    body ? strlen(body) : 0, p->timeout_s,
					    g_config.http_allow_private, on_body, x, &res);
		char *text = x->body.p ? arena_strndup(r->a, x->body.p, x->body.len) : NULL;
		if (rc == 0 && res.status >= 200 && res.status < 300) {
			if (x->body.overflow)
				return req_fail(r, E_AI_PROVIDER, "The AI provider %s answered more than %u bytes",
						p->name, AI_BODY_MAX);
			return E_OK;
		}
		if (x->stopped && x->delivered)
			return E_OK;   /* the client left */
		bool again = (res.status == 429 || res.status >= 500 || (rc && !res.refused)) &&
			     attempt < p->max_retries && !x->delivered;
		long wait = res.retry_after >= 0 ? res.retry_after : (long)(1L << attempt) / 2;
		if (!again || wait > AI_RETRY_WAIT_MAX) {
			log_info("%s: AI provider %s: %s %s -> %ld%s%s", r->request_id, p->id,
				 body ? "POST" : "GET", path, res.status, rc ? " " : "", rc ? res.error : "");
			return provider_fail(r, p, &res, text);
		}
		if (wait > 0)
			sleep((unsigned)wait);
		else
			usleep(200000);
	}
}

/* --- chat ---------------------------------------------------------------------- */

static cJSON *image_part(const ai_provider_t *p, const ai_chat_req_t *q)
{
	cJSON *part = cJSON_CreateObject();
	if (is_anthropic(p)) {
		cJSON_AddStringToObject(part, "type", "image");
		cJSON *src = cJSON_AddObjectToObject(part, "source");
		cJSON_AddStringToObject(src, "type", "base64");
		cJSON_AddStringToObject(src, "media_type", q->image_type);
		cJSON_AddStringToObject(src, "data", q->image_b64);
	} else {
		size_t n = strlen(q->image_type) + strlen(q->image_b64) + 16;
		char *url = malloc(n);
		if (!url)
			abort();
		snprintf(url, n, "data:%s;base64,%s", q->image_type, q->image_b64);
		cJSON_AddStringToObject(part, "type", "image_url");
		cJSON_AddStringToObject(cJSON_AddObjectToObject(part, "image_url"), "url", url);
		free(url);
	}
	return part;
}

static cJSON *message_json(const ai_provider_t *p, const ai_chat_req_t *q, int i)
{
	cJSON *m = cJSON_CreateObject();
	cJSON_AddStringToObject(m, "role", q->msgs[i].role);
	if (!q->image_b64 || i != q->nmsgs - 1) {
		cJSON_AddStringToObject(m, "content", q->msgs[i].content);
		return m;
	}
	cJSON *parts = cJSON_AddArrayToObject(m, "content");
	cJSON *text = cJSON_CreateObject();
	cJSON_AddStringToObject(text, "type", "text");
	cJSON_AddStringToObject(text, "text", q->msgs[i].content);
	cJSON_AddItemToArray(parts, image_part(p, q));
	cJSON_AddItemToArray(parts, text);
	return m;
}

static char *chat_body(req_t *r, const ai_provider_t *p, const ai_chat_req_t *q, bool stream)
{
	cJSON *b = req_own(r, cJSON_CreateObject());
	cJSON_AddStringToObject(b, "model", q->model);
	cJSON *msgs = cJSON_AddArrayToObject(b, "messages");
	if (is_anthropic(p)) {
		if (q->system)
			cJSON_AddStringToObject(b, "system", q->system);
		cJSON_AddNumberToObject(b, "max_tokens", q->max_tokens ? q->max_tokens
									: AI_ANTHROPIC_MAX_TOKENS);
	} else {
		if (q->system) {
			cJSON *s = cJSON_CreateObject();
			cJSON_AddStringToObject(s, "role", "system");
			cJSON_AddStringToObject(s, "content", q->system);
			cJSON_AddItemToArray(msgs, s);
		}
		if (q->max_tokens)
			cJSON_AddNumberToObject(b, "max_tokens", q->max_tokens);
	}
	for (int i = 0; i < q->nmsgs; i++)
		cJSON_AddItemToArray(msgs, message_json(p, q, i));
	if (stream) {
		cJSON_AddBoolToObject(b, "stream", true);
		if (!is_anthropic(p))
			cJSON_AddBoolToObject(cJSON_AddObjectToObject(b, "stream_options"),
					      "include_usage", true);
	}
	return req_json_text(r, b);
}

/* A token count the provider gave: a number from 0 to 10^12, else 0. */
static long token_count(const cJSON *o, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
	return cJSON_IsNumber(v) && v->valuedouble >= 0 && v->valuedouble <= 1e12 ? (long)v->valuedouble
										     : 0;
}

/* The answer of a plain call in either format. */
static err_t chat_parse(req_t *r, const ai_provider_t *p, const char *body, ai_chat_out_t *out)
{
	cJSON *j = req_own(r, cJSON_Parse(body ? body : ""));
	const cJSON *usage = cJSON_GetObjectItemCaseSensitive(j, "usage");
	strbuf_t text = { 0 };
	bool found = false;
	if (is_anthropic(p)) {
		const cJSON *c;
		cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(j, "content")) {
			const char *t = json_str_of(c, "text");
			if (t && !strcmp(json_str_of(c, "type") ? json_str_of(c, "type") : "", "text")) {
				sb_puts(&text, t);
				found = true;
			}
		}
		out->input_tokens = token_count(usage, "input_tokens");
		out->output_tokens = token_count(usage, "output_tokens");
		out->finish_reason = json_str_of(j, "stop_reason");
	} else {
		const cJSON *ch = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(j, "choices"), 0);
		const cJSON *msg = cJSON_GetObjectItemCaseSensitive(ch, "message");
		const char *t = json_str_of(msg, "content");
		if (t) {
			sb_puts(&text, t);
			found = true;
		}
		out->input_tokens = token_count(usage, "prompt_tokens");
		out->output_tokens = token_count(usage, "completion_tokens");
		out->finish_reason = json_str_of(ch, "finish_reason");
	}
	out->text = sb_take(&text, r->a);
	if (json_str_of(j, "model"))
		out->model = json_str_of(j, "model");
	if (!found)
		return req_fail(r, E_AI_PROVIDER, "The AI provider %s answered without text", p->name);
	return E_OK;
}

/* A streamed chat: the text so far and where deltas go. */
typedef struct chat_stream {
	const ai_provider_t *p;
	ai_chat_out_t *out;
	strbuf_t text;
	ai_delta_fn on_delta;
	void *user;
	const char *error;        /* an error event of the provider */
} chat_stream_t;

static bool delta(exchange_t *x, chat_stream_t *s, const char *t)
{
	if (!t || !*t)
		return true;
	sb_puts(&s->text, t);
	x->delivered = true;
	return s->on_delta(s->user, t, strlen(t));
}

static void take_number(const cJSON *o, const char *name, long *into)
{
	if (token_count(o, name))
		*into = token_count(o, name);
}

static bool chat_event(exchange_t *x, const char *data, size_t len)
{
	chat_stream_t *s = x->state;
	req_t *r = x->r;
	if (len == 6 && !memcmp(data, "[DONE]", 6))
		return true;
	cJSON *j = req_own(r, cJSON_ParseWithLength(data, len));
	if (!j)
		return true;   /* a keep-alive or something new: not ours to fail on */
	const char *type = json_str_of(j, "type");
	if (json_str_of(j, "model"))
		s->out->model = arena_strdup(r->a, json_str_of(j, "model"));
	const cJSON *err = cJSON_GetObjectItemCaseSensitive(j, "error");
	if (err) {
		const char *m = json_str_of(err, "message");
		s->error = arena_printf(r->a, "%.500s", m ? m : "error event");
		return false;
	}
	if (!is_anthropic(s->p)) {
		const cJSON *usage = cJSON_GetObjectItemCaseSensitive(j, "usage");
		take_number(usage, "prompt_tokens", &s->out->input_tokens);
		take_number(usage, "completion_tokens", &s->out->output_tokens);
		const cJSON *ch = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(j, "choices"), 0);
		if (json_str_of(ch, "finish_reason"))
			s->out->finish_reason = arena_strdup(r->a, json_str_of(ch, "finish_reason"));
		return delta(x, s, json_str_of(cJSON_GetObjectItemCaseSensitive(ch, "delta"), "content"));
	}
	if (!type)
		return true;
	if (!strcmp(type, "message_start")) {
		const cJSON *msg = cJSON_GetObjectItemCaseSensitive(j, "message");
		if (json_str_of(msg, "model"))
			s->out->model = arena_strdup(r->a, json_str_of(msg, "model"));
		take_number(cJSON_GetObjectItemCaseSensitive(msg, "usage"), "input_tokens",
			    &s->out->input_tokens);
	} else if (!strcmp(type, "content_block_delta")) {
		return delta(x, s, json_str_of(cJSON_GetObjectItemCaseSensitive(j, "delta"), "text"));
	} else if (!strcmp(type, "message_delta")) {
		take_number(cJSON_GetObjectItemCaseSensitive(j, "usage"), "output_tokens",
			    &s->out->output_tokens);
		const char *why = json_str_of(cJSON_GetObjectItemCaseSensitive(j, "delta"), "stop_reason");
		if (why)
			s->out->finish_reason = arena_strdup(r->a, why);
	}
	return true;
}

static void stream_free(void *p)
{
	chat_stream_t *s = p;
	free(s->text.p);
	s->text = (strbuf_t){ 0 };
}

/* Rough tokens of a text, for providers that do not count them. */
static long tokens_guess(const char *s)
{
	return s ? (long)(strlen(s) + 3) / 4 : 0;
}

err_t ai_chat(req_t *r, const ai_provider_t *p, const ai_chat_req_t *q, ai_delta_fn on_delta,
	      void *user, ai_chat_out_t *out)
{
	memset(out, 0, sizeof(*out));
	out->model = q->model;
	const char *path = is_anthropic(p) ? "/messages" : "/chat/completions";
	exchange_t *x = arena_calloc(r->a, 1, sizeof(*x));
	x->body.max = x->pending.max = AI_BODY_MAX;
	err_t rc;
	if (!on_delta) {
		if ((rc = exchange_run(r, p, path, chat_body(r, p, q, false), x)))
			return rc;
		rc = chat_parse(r, p, x->body.p ? arena_strndup(r->a, x->body.p, x->body.len) : NULL, out);
	} else {
		chat_stream_t *s = arena_calloc(r->a, 1, sizeof(*s));
		*s = (chat_stream_t){ .p = p, .out = out, .on_delta = on_delta, .user = user };
		arena_defer(r->a, stream_free, s);
		x->on_event = chat_event;
		x->state = s;
		if ((rc = exchange_run(r, p, path, chat_body(r, p, q, true), x)))
			return rc;
		if (!x->sse) {   /* a provider that ignored "stream": one delta */
			rc = chat_parse(r, p, x->body.p ? arena_strndup(r->a, x->body.p, x->body.len)
							: NULL, out);
			if (!rc && out->text[0])
				on_delta(user, out->text, strlen(out->text));
		} else if (s->error) {
			return req_fail(r, E_AI_PROVIDER, "The AI provider %s failed: %s", p->name, s->error);
		} else {
			out->text = s->text.p ? arena_strndup(r->a, s->text.p, s->text.len)
					      : arena_strdup(r->a, "");
		}
	}
	if (!rc && !out->input_tokens && !out->output_tokens) {
		for (int i = 0; i < q->nmsgs; i++)
			out->input_tokens += tokens_guess(q->msgs[i].content);
		out->output_tokens = tokens_guess(out->text);
	}
	return rc;
}

/* --- embeddings and models ----------------------------------------------------- */

static void normalise(float *v, int n)
{
	double s = 0;
	for (int i = 0; i < n; i++)
		s += (double)v[i] * v[i];
	if (s <= 0)
		return;
	float inv = (float)(1.0 / sqrt(s));
	for (int i = 0; i < n; i++)
		v[i] *= inv;
}

static err_t embed_remote(req_t *r, const ai_provider_t *p, const char *model,
			  const char *const *texts, int n, float **vecs, int *dims, long *tokens)
{
	if (is_anthropic(p))
		return req_fail_field(r, E_VALIDATION, "model",
				      "Anthropic has no embeddings API: use %s or an openai-type provider",
				      AILOCAL_EMBED_MODEL);
	cJSON *b = req_own(r, cJSON_CreateObject());
	cJSON_AddStringToObject(b, "model", model);
	cJSON *in = cJSON_AddArrayToObject(b, "input");
	for (int i = 0; i < n; i++)
		cJSON_AddItemToArray(in, cJSON_CreateString(texts[i]));
	exchange_t *x = arena_calloc(r->a, 1, sizeof(*x));
	x->body.max = AI_BODY_MAX;
	err_t rc = exchange_run(r, p, "/embeddings", req_json_text(r, b), x);
	if (rc)
		return rc;
	cJSON *j = req_own(r, cJSON_ParseWithLength(x->body.p ? x->body.p : "", x->body.len));
	const cJSON *data = cJSON_GetObjectItemCaseSensitive(j, "data");
	if (cJSON_GetArraySize(data) != n)
		return req_fail(r, E_AI_PROVIDER, "The AI provider %s gave %d embeddings for %d texts",
				p->name, cJSON_GetArraySize(data), n);
	*dims = 0;
	const cJSON *d;
	int k = 0;
	cJSON_ArrayForEach(d, data) {
		const cJSON *e = cJSON_GetObjectItemCaseSensitive(d, "embedding");
		const cJSON *idx = cJSON_GetObjectItemCaseSensitive(d, "index");
		int at = cJSON_IsNumber(idx) ? idx->valueint : k;
		int m = cJSON_GetArraySize(e);
		if (!*dims) {
			*dims = m;
			*vecs = arena_calloc(r->a, (size_t)n * (size_t)m, sizeof(float));
		}
		if (m != *dims || m == 0 || m > 8192 || at < 0 || at >= n)
			return req_fail(r, E_AI_PROVIDER, "The AI provider %s gave malformed embeddings", p->name);
		int i = 0;
		const cJSON *v;
		cJSON_ArrayForEach(v, e) {
			if (!cJSON_IsNumber(v) || !(fabs(v->valuedouble) < 1e30))
				return req_fail(r, E_AI_PROVIDER, "The AI provider %s gave malformed embeddings",
						p->name);
			(*vecs)[(size_t)at * (size_t)m + (size_t)i++] = (float)v->valuedouble;
		}
		normalise(*vecs + (size_t)at * (size_t)m, m);
		k++;
	}
	const cJSON *usage = cJSON_GetObjectItemCaseSensitive(j, "usage");
	*tokens = token_count(usage, "prompt_tokens");
	if (*tokens <= 0)
		for (int i = 0; i < n; i++)
			*tokens += tokens_guess(texts[i]);
	return E_OK;
}

err_t ai_embed(req_t *r, const ai_provider_t *p, const char *model, const char *const *texts,
	       int n, float **vecs, int *dims, long *tokens)
{
	*tokens = 0;
	if (strcmp(p->type, AI_LOCAL))
		return embed_remote(r, p, model, texts, n, vecs, dims, tokens);
	*dims = AILOCAL_DIMS;
	*vecs = arena_alloc(r->a, (size_t)n * AILOCAL_DIMS * sizeof(float));
	for (int i = 0; i < n; i++)
		ailocal_embed(texts[i], strlen(texts[i]), *vecs + (size_t)i * AILOCAL_DIMS);
	return E_OK;
}

err_t ai_models(req_t *r, const ai_provider_t *p, cJSON **ids)
{
	*ids = req_own(r, cJSON_CreateArray());
	if (!strcmp(p->type, AI_LOCAL)) {
		static const char *const local[] = { AILOCAL_EMBED_MODEL, AILOCAL_SUMMARY_MODEL,
						     AILOCAL_TAG_MODEL, AILOCAL_MODERATION_MODEL, NULL };
		for (const char *const *m = local; *m; m++)
			cJSON_AddItemToArray(*ids, cJSON_CreateString(*m));
		return E_OK;
	}
	exchange_t *x = arena_calloc(r->a, 1, sizeof(*x));
	x->body.max = AI_BODY_MAX;
	err_t rc = exchange_run(r, p, "/models", NULL, x);
	if (rc)
		return rc;
	cJSON *j = req_own(r, cJSON_ParseWithLength(x->body.p ? x->body.p : "", x->body.len));
	const cJSON *m;
	cJSON_ArrayForEach(m, cJSON_GetObjectItemCaseSensitive(j, "data"))
		if (json_str_of(m, "id"))
			cJSON_AddItemToArray(*ids, cJSON_CreateString(json_str_of(m, "id")));
	return E_OK;
}
