/*
 * ai.h - what the AI files share: the provider a request uses (ai_providers.c),
 * the calls to it in its wire format (ai_client.c: the OpenAI format, which
 * also serves Ollama, llama.cpp, vLLM, LocalAI, Azure OpenAI and
 * OpenRouter, and Anthropic's Messages API), usage metering and the token
 * budget, and the text of an object that embeddings and summaries read.
 *
 * With no provider configured the built-in one (common/ailocal.h) serves
 * embeddings, summaries, tags and moderation; chat, generation and image
 * description then answer 409 AI_PROVIDER_REQUIRED.
 */
#ifndef TESSERA_AI_H
#define TESSERA_AI_H

#include <stdbool.h>

#include <cJSON.h>

#include "../fcgi/request.h"
#include "objmodel.h"

/* The id, type and name of the built-in provider. */
#define AI_LOCAL "local"

/* A provider as a request uses it; strings owned by the request. */
typedef struct ai_provider {
	const char *id;          /* "prov_…", or AI_LOCAL */
	const char *name;
	const char *type;        /* "openai", "anthropic" or AI_LOCAL */
	const char *api_key;     /* opened; NULL when none */
	const cJSON *config;     /* config_json: an object, never NULL */
	const char *base_url;    /* without a trailing slash */
	int timeout_s;
	int max_retries;         /* on 429 and 5xx */
} ai_provider_t;

/*
 * The provider of a request: the one named by id (a provider id or name;
 * 404 naming field when there is none), else the tenant's default, else
 * the built-in one.
 */
err_t ai_provider_pick(req_t *r, const char *id, const char *field, ai_provider_t *out);

/* The model to use for capability cap ("chat", "embedding", "vision"):
 * the one asked for, else the provider's configured default
 * (config_json.<cap>_model), else NULL. */
const char *ai_model_for(const ai_provider_t *p, const char *asked, const char *cap);

/* The tenant's embedding model (and the provider serving it): the default
 * provider's embedding_model when it has one, else the built-in
 * local-hash-384.  Index, search and embeddings without a model use it,
 * so that stored vectors and queries always come from the same model. */
err_t ai_embedding_provider(req_t *r, const char *model, ai_provider_t *p, const char **use);

/* One chat message. */
typedef struct ai_msg {
	const char *role;        /* "user", "assistant" (system goes apart) */
	const char *content;
} ai_msg_t;

typedef struct ai_chat_req {
	const char *model;
	const char *system;      /* may be NULL */
	const ai_msg_t *msgs;
	int nmsgs;
	int max_tokens;          /* 0: the provider's default */
	const char *image_b64;   /* describe: an image sent with the last message */
	const char *image_type;  /* its MIME type */
} ai_chat_req_t;

typedef struct ai_chat_out {
	char *text;
	const char *model;       /* as the provider named it */
	long input_tokens, output_tokens;
	const char *finish_reason;
} ai_chat_out_t;

/* Called with each piece of text as a streamed answer arrives; false stops
 * it (the client went away). */
typedef bool (*ai_delta_fn)(void *user, const char *text, size_t len);

/*
 * Sends a chat to provider p (not the built-in one) and reads the answer
 * into out; with on_delta the provider is asked to stream and each delta
 * is handed on as it comes.  Retries 429 and 5xx answers (honouring
 * Retry-After) unless streaming has begun.  Failures reply 502
 * AI_PROVIDER_ERROR or 429 AI_RATE_LIMITED with the provider's message in
 * details (never the key).
 */
err_t ai_chat(req_t *r, const ai_provider_t *p, const ai_chat_req_t *q, ai_delta_fn on_delta,
	      void *user, ai_chat_out_t *out);

/* Embeds n texts with model on p (the built-in one included) into *vecs,
 * n * *dims floats, L2-normalised; *tokens the input tokens counted. */
err_t ai_embed(req_t *r, const ai_provider_t *p, const char *model, const char *const *texts,
	       int n, float **vecs, int *dims, long *tokens);

/* The model ids p offers (GET /models), as a JSON array owned by r; the
 * built-in provider's without asking anyone. */
err_t ai_models(req_t *r, const ai_provider_t *p, cJSON **ids);

/* 403 QUOTA_EXCEEDED when the tenant has used its month's token budget. */
err_t ai_budget_check(req_t *r);

/* Adds one request and its tokens to the tenant's usage of today (a
 * failure to record is logged, never the caller's). */
void ai_meter(req_t *r, const ai_provider_t *p, const char *model, long input_tokens,
	      long output_tokens);

/* The text of an object for embeddings: its string properties (and
 * arrays of strings) as "name: value" lines, in their stored order,
 * leaving out ids and dates; at most max bytes.  In a.  The same at index
 * time and when the outbox re-embeds a changed object. */
char *ai_object_text(arena_t *a, const cJSON *props, size_t max);

/* The object id of type t as a caller may read it (API keys: any live
 * object; end users: only through their read policies), its properties in
 * *props (owned by r); 404 naming field otherwise. */
err_t ai_object_load(req_t *r, const objtype_t *t, const char *id, const char *field,
		     cJSON **props);

#endif
