/*
 * ai_providers.c - the tenant's AI providers (a descriptor on the resource
 * engine), the choice of provider and model for a request, and usage
 * metering with the monthly token budget (GET /v1/ai-usage).
 *
 * A provider is openai (the OpenAI wire format at base_url), anthropic
 * (the Messages API) or local (the built-in models, with settings such as
 * the moderation word list).  Its api_key is sealed under the master key
 * and write-only: responses show a mask ("sk-…abcd") and nothing else
 * ever renders or logs it.  One provider is the default (is_default):
 * the first one made becomes it, and making another the default takes it
 * from the one before, in the same transaction.
 *
 * config_json holds base_url, the default models (chat_model,
 * embedding_model, vision_model), timeout_s, max_retries,
 * anthropic_version, moderation_words and prices (per model: input_per_1k
 * and output_per_1k, decimal strings or numbers, for the usage report).
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../common/ailocal.h"
#include "../common/config.h"
#include "../common/crypto.h"
#include "../common/jsonx.h"
#include "../common/log.h"
#include "../common/outhttp.h"
#include "../common/rowjson.h"
#include "ai.h"
#include "replies.h"
#include "routes.h"

#define AI_KEY_MAX 512
#define AI_MODEL_MAX 100
#define AI_WORDS_MAX 200
#define AI_PRICE_DIGITS 9

static const char *const provider_types[] = { "openai", "anthropic", AI_LOCAL, NULL };

/* --- config_json ----------------------------------------------------------- */

static err_t config_fail(req_t *r, const char *member, const char *why)
{
	return req_fail_field(r, E_VALIDATION, arena_printf(r->a, "config_json.%s", member),
			      "config_json.%s %s", member, why);
}

static err_t check_prices(req_t *r, const cJSON *prices)
{
	if (!cJSON_IsObject(prices))
		return config_fail(r, "prices", "must be an object of model: {input_per_1k, output_per_1k}");
	const cJSON *m;
	cJSON_ArrayForEach(m, prices) {
		if (!cJSON_IsObject(m) || strlen(m->string) > AI_MODEL_MAX)
			return config_fail(r, "prices", "must map model names to {input_per_1k, output_per_1k}");
		const cJSON *v;
		cJSON_ArrayForEach(v, m) {
			bool known = !strcmp(v->string, "input_per_1k") || !strcmp(v->string, "output_per_1k");
			bool number = (cJSON_IsNumber(v) && v->valuedouble >= 0 && v->valuedouble < 1e9) ||
				      (cJSON_IsString(v) && v->valuestring[0] &&
				       strspn(v->valuestring, "0123456789.") == strlen(v->valuestring) &&
				       strcspn(v->valuestring, ".") <= AI_PRICE_DIGITS &&
				       strlen(v->valuestring) <= 20 &&
				       strchr(v->valuestring, '.') == strrchr(v->valuestring, '.'));
			if (!known || !number)
				return config_fail(r, "prices",
						   "holds per model input_per_1k and output_per_1k, each a "
						   "price under 10^9 (a decimal string or a number, not negative)");
		}
	}
	return E_OK;
}

static err_t check_words(req_t *r, const cJSON *words)
{
	if (!cJSON_IsArray(words) || cJSON_GetArraySize(words) > AI_WORDS_MAX)
		return config_fail(r, "moderation_words",
				   arena_printf(r->a, "must be an array of at most %d words", AI_WORDS_MAX));
	const cJSON *w;
	cJSON_ArrayForEach(w, words)
		if (!cJSON_IsString(w) || !w->valuestring[0] || strlen(w->valuestring) > 64)
			return config_fail(r, "moderation_words", "holds words of 1 to 64 bytes");
	return E_OK;
}

static err_t check_config(req_t *r, const res_field_t *f, const cJSON *cfg)
{
	(void)f;
	static const char *const models[] = { "chat_model", "embedding_model", "vision_model",
					      "anthropic_version", NULL };
	const cJSON *m;
	cJSON_ArrayForEach(m, cfg) {
		const char *k = m->string;
		bool is_model = false;
		for (const char *const *n = models; *n; n++)
			is_model |= !strcmp(*n, k);
		err_t rc = E_OK;
		if (is_model) {
			if (!cJSON_IsString(m) || !m->valuestring[0] || strlen(m->valuestring) > AI_MODEL_MAX)
				rc = config_fail(r, k, "must be a name of 1 to 100 characters");
		} else if (!strcmp(k, "base_url")) {
			char err[200];
			if (!cJSON_IsString(m) ||
			    outhttp_url_check(m->valuestring, g_config.http_allow_private, err, sizeof(err)))
				rc = config_fail(r, k, cJSON_IsString(m) ? arena_strdup(r->a, err)
									 : "must be a URL");
		} else if (!strcmp(k, "timeout_s") || !strcmp(k, "max_retries")) {
			int hi = !strcmp(k, "timeout_s") ? 300 : 5, lo = hi == 300 ? 1 : 0;
			if (!cJSON_IsNumber(m) || m->valuedouble != (double)(int)m->valuedouble ||
			    m->valuedouble < lo || m->valuedouble > hi)
				rc = config_fail(r, k, arena_printf(r->a, "must be an integer from %d to %d", lo, hi));
		} else if (!strcmp(k, "prices")) {
			rc = check_prices(r, m);
		} else if (!strcmp(k, "moderation_words")) {
			rc = check_words(r, m);
		} else {
			rc = config_fail(r, k, "is not a setting (base_url, chat_model, embedding_model, "
					    "vision_model, timeout_s, max_retries, anthropic_version, "
					    "moderation_words, prices)");
		}
		if (rc)
			return rc;
	}
	return E_OK;
}

/* --- the descriptor ---------------------------------------------------------- */

static const res_field_t provider_fields[] = {
	{ .name = "id", .type = COL_STR },
	{ .name = "name", .type = COL_STR, .in = FT_STRING,
	  .flags = RF_WRITABLE | RF_REQUIRED | RF_UNIQUE | RF_FILTER | RF_SORT, .min = 1, .max = 100 },
	{ .name = "provider_type", .type = COL_STR, .in = FT_STRING,
	  .flags = RF_CREATE | RF_REQUIRED | RF_FILTER, .values = provider_types },
	{ .name = "api_key", .column = "api_key_hint", .type = COL_STR },
	{ .name = "api_key", .in = FT_STRING, .flags = RF_WRITABLE | RF_NULLABLE | RF_INPUT,
	  .min = 1, .max = AI_KEY_MAX },
	{ .name = "config_json", .type = COL_JSON, .in = FT_OBJECT,
	  .flags = RF_WRITABLE | RF_NULLABLE, .check = check_config },
	{ .name = "is_default", .type = COL_BOOL, .in = FT_BOOL, .flags = RF_WRITABLE | RF_FILTER },
	{ .name = "created_by", .type = COL_STR },
	{ .name = "created_at", .type = COL_TIME },
	{ .name = "updated_at", .type = COL_TIME },
	{ NULL },
};

/* "sk-…abcd": the first three and last four characters of a key long
 * enough that they give nothing away; "…" alone for a shorter one. */
static char *key_mask(req_t *r, const char *key)
{
	size_t n = strlen(key);
	if (n < 16)
		return arena_strdup(r->a, "\xe2\x80\xa6");
	return arena_printf(r->a, "%.3s\xe2\x80\xa6%s", key, key + n - 4);
}

/* The key sealed and masked; null removes it.  A provider made the first
 * of its tenant becomes the default. */
static err_t provider_validate(req_t *r, res_ctx_t *c)
{
	const cJSON *key = cJSON_GetObjectItemCaseSensitive(c->body, "api_key");
	if (cJSON_IsString(key)) {
		resource_set(c, "api_key_enc", db_str(secret_seal(r->a, g_config.master_key_bin,
								  key->valuestring,
								  strlen(key->valuestring))));
		resource_set(c, "api_key_hint", db_str(key_mask(r, key->valuestring)));
	} else if (key) {
		resource_set(c, "api_key_enc", db_null());
		resource_set(c, "api_key_hint", db_null());
	}
	if (c->op != OP_CREATE || cJSON_GetObjectItemCaseSensitive(c->body, "is_default"))
		return E_OK;
	db_result *res;
	enum db_status st = db_exec(r->db, r->a, arena_printf(r->a,
		"SELECT COUNT(*) FROM %s WHERE is_default = 1", tenant_table(r, "_ai_providers")),
		NULL, 0, &res);
	if (st)
		return req_db_error(r, st);
	if (strtoll(db_cell(res, 0, 0), NULL, 10) == 0)
		resource_set(c, "is_default", db_int(1));
	return E_OK;
}

/* A new default takes the place of the one before. */
static err_t provider_after_write(req_t *r, res_ctx_t *c)
{
	const cJSON *def = cJSON_GetObjectItemCaseSensitive(c->body, "is_default");
	if (c->op == OP_DELETE || !cJSON_IsTrue(def))
		return E_OK;
	db_param p[] = { db_str(c->id) };
	enum db_status st = db_exec(r->db, r->a, arena_printf(r->a,
		"UPDATE %s SET is_default = 0, updated_at = UTC_TIMESTAMP(3) "
		"WHERE is_default = 1 AND id <> ?", tenant_table(r, "_ai_providers")), p, 1, NULL);
	return st ? req_db_error(r, st) : E_OK;
}

static const res_hooks_t provider_hooks = {
	.validate = provider_validate,
	.after_write = provider_after_write,
};

static const resource_t provider_res = {
	.name = "AI provider",
	.type = "ai_provider",
	.table = "_ai_providers",
	.home = RES_TENANT,
	.id_param = "provider_id",
	.id_prefix = "prov_",
	.fields = provider_fields,
	.order = "created_at",
	.title = "name",
	.del = DEL_ROW,
	.flags = RES_CREATED_BY,
	.hooks = &provider_hooks,
	.example = "{\"name\":\"Local models\",\"provider_type\":\"openai\","
		   "\"api_key\":\"sk-test-0123456789abcdef\","
		   "\"config_json\":{\"base_url\":\"http://127.0.0.1:9/v1\",\"chat_model\":\"llama3\"}}",
};

/* --- choosing a provider and a model ------------------------------------------ */

static void provider_local(ai_provider_t *out)
{
	static cJSON *empty;
	if (!empty)
		empty = cJSON_CreateObject();
	*out = (ai_provider_t){ .id = AI_LOCAL, .name = "Built-in", .type = AI_LOCAL,
				.config = empty, .base_url = "", .timeout_s = 30 };
}

static int config_int(const cJSON *cfg, const char *name, int def)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(cfg, name);
	return cJSON_IsNumber(v) ? v->valueint : def;
}

/* Row i of a provider SELECT as a request uses it (the key opened). */
static err_t provider_read(req_t *r, const db_result *res, ai_provider_t *out)
{
	provider_local(out);
	out->id = db_get(res, 0, "id");
	out->name = db_get(res, 0, "name");
	out->type = db_get(res, 0, "provider_type");
	const char *sealed = db_get(res, 0, "api_key_enc");
	if (sealed && !(out->api_key = secret_open(r->a, g_config.master_key_bin, sealed, NULL))) {
		log_error("%s: the sealed key of AI provider %s does not open", r->request_id, out->id);
		return req_fail(r, E_INTERNAL, "The provider's key cannot be read");
	}
	const char *cfg = db_get(res, 0, "config_json");
	cJSON *c = cfg ? req_own(r, cJSON_Parse(cfg)) : NULL;
	if (cJSON_IsObject(c))
		out->config = c;
	const char *base = json_str_of(out->config, "base_url");
	if (!base)
		base = !strcmp(out->type, "anthropic") ? "https://api.anthropic.com/v1"
							: "https://api.openai.com/v1";
	size_t bl = strlen(base);
	while (bl > 0 && base[bl - 1] == '/')
		bl--;
	out->base_url = arena_strndup(r->a, base, bl);
	out->timeout_s = config_int(out->config, "timeout_s", 60);
	out->max_retries = config_int(out->config, "max_retries", 2);
	return E_OK;
}

err_t ai_provider_pick(req_t *r, const char *id, const char *field, ai_provider_t *out)
{
	if (id && !strcmp(id, AI_LOCAL)) {
		provider_local(out);
		return E_OK;
	}
	db_param p[] = { db_str(id), db_str(id), db_str(id) };
	db_result *res;
	enum db_status st = db_exec(r->db, r->a, arena_printf(r->a,
		"SELECT id, name, provider_type, api_key_enc, config_json FROM %s "
		"WHERE (? IS NULL AND is_default = 1) OR id = ? OR name = ? "
		"ORDER BY created_at LIMIT 1", tenant_table(r, "_ai_providers")), p, 3, &res);
	if (st)
		return req_db_error(r, st);
	if (res->nrows == 0) {
		if (id)
			return req_fail_field(r, E_NOT_FOUND, field, "No AI provider \"%.100s\"", id);
		provider_local(out);
		return E_OK;
	}
	return provider_read(r, res, out);
}

const char *ai_model_for(const ai_provider_t *p, const char *asked, const char *cap)
{
	if (asked)
		return asked;
	char key[32];
	snprintf(key, sizeof(key), "%s_model", cap);
	return json_str_of(p->config, key);
}

err_t ai_embedding_provider(req_t *r, const char *model, ai_provider_t *p, const char **use)
{
	err_t rc = ai_provider_pick(r, NULL, "provider_id", p);
	if (rc)
		return rc;
	if (model && !strcmp(model, AILOCAL_EMBED_MODEL)) {
		provider_local(p);
		*use = AILOCAL_EMBED_MODEL;
		return E_OK;
	}
	const char *m = strcmp(p->type, "openai") ? NULL : ai_model_for(p, model, "embedding");
	if (!m && model)
		return req_fail_field(r, E_VALIDATION, "model",
				      "No provider serves the embedding model \"%.100s\": use %s, or set "
				      "embedding_model on an openai-type default provider",
				      model, AILOCAL_EMBED_MODEL);
	if (!m) {
		provider_local(p);
		m = AILOCAL_EMBED_MODEL;
	}
	*use = m;
	return E_OK;
}

/* --- usage and the budget ----------------------------------------------------- */

err_t ai_budget_check(req_t *r)
{
	db_param p[] = { db_str(r->tenant.id), db_str(r->tenant.id), db_str(r->tenant.plan) };
	db_result *res;
	enum db_status st = db_exec(db_control(r->db), r->a,
		"SELECT (SELECT COALESCE(SUM(input_tokens + output_tokens), 0) FROM ai_usage "
		"WHERE tenant_id = ? AND provider_type <> 'local' "
		"AND day >= DATE_FORMAT(UTC_DATE(), '%Y-%m-01')) AS used, "
		"COALESCE((SELECT JSON_VALUE(settings, '$.ai_tokens_per_month') FROM tenants "
		"WHERE id = ?), (SELECT tokens_per_month FROM ai_plan_budgets WHERE plan_id = ?)) "
		"AS budget", p, 3, &res);
	if (st)
		return req_db_error(r, st);
	const char *budget = db_get(res, 0, "budget");
	long long used = db_get_int(res, 0, "used", 0);
	if (budget && used >= strtoll(budget, NULL, 10))
		return req_fail(r, E_QUOTA_EXCEEDED,
				"This month's AI token budget (%s tokens) is used up (%lld)", budget, used);
	return E_OK;
}

void ai_meter(req_t *r, const ai_provider_t *p, const char *model, long input_tokens,
	      long output_tokens)
{
	db_param v[] = { db_str(r->tenant.id), db_str(p->id), db_str(p->type),
			 db_str(model ? model : "unknown"), db_int(input_tokens), db_int(output_tokens) };
	enum db_status st = db_exec(db_control(r->db), r->a,
		"INSERT INTO ai_usage (tenant_id, day, provider_id, provider_type, model, requests, "
		"input_tokens, output_tokens) VALUES (?, UTC_DATE(), ?, ?, LEFT(?, 100), 1, ?, ?) "
		"ON DUPLICATE KEY UPDATE requests = requests + 1, "
		"input_tokens = input_tokens + VALUES(input_tokens), "
		"output_tokens = output_tokens + VALUES(output_tokens)", v, 6, NULL);
	if (st)
		log_error("%s: AI usage not recorded (%s)", r->request_id, db_last_error(db_control(r->db)));
}

/* The price of n tokens at per_1k (a decimal) in millionths, computed
 * in integers, never in floating point; -1 without a price. */
static long long price_micro(const cJSON *per_1k, long long n)
{
	char buf[64];
	if (cJSON_IsString(per_1k))
		snprintf(buf, sizeof(buf), "%s", per_1k->valuestring);
	else if (cJSON_IsNumber(per_1k))
		json_number_text(buf, sizeof(buf), per_1k->valuedouble);
	else
		return -1;
	/* per_1k as an integer of 1e-9 units (check_prices allows at most
	 * AI_PRICE_DIGITS digits before the point) */
	long long whole = 0, frac = 0;
	int digits = 0;
	const char *s = buf;
	for (int k = 0; *s >= '0' && *s <= '9'; s++)
		if (k++ < AI_PRICE_DIGITS)
			whole = whole * 10 + (*s - '0');
	if (*s == '.')
		for (s++; *s >= '0' && *s <= '9' && digits < 9; s++, digits++)
			frac = frac * 10 + (*s - '0');
	for (; digits < 9; digits++)
		frac *= 10;
	__int128 nano = (__int128)whole * 1000000000 + frac;  /* per 1k tokens */
	__int128 micro = nano / 1000 * n / 1000;               /* millionths */
	return micro > (__int128)1e18 ? (long long)1e18 : (long long)micro;
}

/* The tenant's prices: model -> {input_per_1k, output_per_1k}, merged over
 * its providers (by provider id). */
static err_t usage_prices(req_t *r, cJSON **out)
{
	db_result *res;
	enum db_status st = db_exec(r->db, r->a, arena_printf(r->a,
		"SELECT id, JSON_EXTRACT(config_json, '$.prices') AS prices FROM %s",
		tenant_table(r, "_ai_providers")), NULL, 0, &res);
	if (st)
		return req_db_error(r, st);
	*out = req_own(r, cJSON_CreateObject());
	for (int i = 0; i < res->nrows; i++) {
		const char *pr = db_get(res, i, "prices");
		cJSON *j = pr ? cJSON_Parse(pr) : NULL;
		if (cJSON_IsObject(j))
			cJSON_AddItemToObject(*out, db_get(res, i, "id"), j);
		else
			cJSON_Delete(j);
	}
	return E_OK;
}

/* ?name= as a date (YYYY-MM-DD, or YYYY-MM when month): NULL when absent;
 * 400 naming it when malformed. */
static err_t date_arg(req_t *r, const char *name, bool month, const char **out)
{
	const char *v = *out = req_query(r, name);
	int y, m, d = 1, n = 0;
	if (!v)
		return E_OK;
	bool ok = month ? sscanf(v, "%4d-%2d%n", &y, &m, &n) == 2 && n == 7 && strlen(v) == 7
			: sscanf(v, "%4d-%2d-%2d%n", &y, &m, &d, &n) == 3 && n == 10 && strlen(v) == 10;
	if (!ok || y < 1970 || m < 1 || m > 12 || d < 1 || d > 31)
		return req_fail_field(r, E_VALIDATION, name, "%s must be %s", name,
				      month ? "a month: YYYY-MM" : "a date: YYYY-MM-DD");
	return E_OK;
}

/* GET /v1/ai-usage?period=YYYY-MM (default: this month), or ?from=&to=
 * (dates): rows per day, provider and model with requests, tokens and the
 * cost from the provider's prices, and the totals. */
static err_t ai_usage_get(req_t *r)
{
	const char *period, *from, *to;
	err_t rc;
	if ((rc = date_arg(r, "period", true, &period)) || (rc = date_arg(r, "from", false, &from)) ||
	    (rc = date_arg(r, "to", false, &to)))
		return rc;
	char start[32];
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	if (period)
		snprintf(start, sizeof(start), "%.7s-01", period);
	else
		snprintf(start, sizeof(start), "%04d-%02d-01", tm.tm_year + 1900, tm.tm_mon + 1);
	bool range = from || to;
	db_param p[] = { db_str(r->tenant.id), db_str(range ? (from ? from : "1970-01-01") : start),
			 db_str(range ? (to ? to : "9999-12-31") : NULL), db_str(start) };
	db_result *res;
	enum db_status st = db_exec(db_control(r->db), r->a,
		"SELECT DATE_FORMAT(day, '%Y-%m-%d') AS day, provider_id, provider_type, model, "
		"requests, input_tokens, output_tokens FROM ai_usage WHERE tenant_id = ? "
		"AND day >= ? AND day <= COALESCE(?, LAST_DAY(?)) "
		"ORDER BY day, provider_id, model LIMIT 10000", p, 4, &res);
	if (st)
		return req_db_error(r, st);
	cJSON *prices = NULL;
	rc = usage_prices(r, &prices);
	if (rc)
		return rc;
	cJSON *d = cJSON_CreateObject(), *rows = cJSON_AddArrayToObject(d, "usage");
	long long req_total = 0, in_total = 0, out_total = 0;
	for (int i = 0; i < res->nrows; i++) {
		cJSON *o = cJSON_CreateObject();
		const char *prov = db_get(res, i, "provider_id"), *model = db_get(res, i, "model");
		long long rq = db_get_int(res, i, "requests", 0), in = db_get_int(res, i, "input_tokens", 0);
		long long out = db_get_int(res, i, "output_tokens", 0);
		cJSON_AddStringToObject(o, "day", db_get(res, i, "day"));
		cJSON_AddStringToObject(o, "provider_id", prov);
		cJSON_AddStringToObject(o, "provider_type", db_get(res, i, "provider_type"));
		cJSON_AddStringToObject(o, "model", model);
		cJSON_AddNumberToObject(o, "requests", (double)rq);
		cJSON_AddNumberToObject(o, "input_tokens", (double)in);
		cJSON_AddNumberToObject(o, "output_tokens", (double)out);
		const cJSON *mp = cJSON_GetObjectItemCaseSensitive(
			cJSON_GetObjectItemCaseSensitive(prices, prov), model);
		long long ci = price_micro(cJSON_GetObjectItemCaseSensitive(mp, "input_per_1k"), in);
		long long co = price_micro(cJSON_GetObjectItemCaseSensitive(mp, "output_per_1k"), out);
		if (ci >= 0 || co >= 0) {
			long long sum = (ci > 0 ? ci : 0) + (co > 0 ? co : 0);
			cJSON_AddStringToObject(o, "cost", arena_printf(r->a, "%lld.%06lld", sum / 1000000,
									sum % 1000000));
		} else {
			cJSON_AddNullToObject(o, "cost");
		}
		cJSON_AddItemToArray(rows, o);
		req_total += rq;
		in_total += in;
		out_total += out;
	}
	cJSON *t = cJSON_AddObjectToObject(d, "totals");
	cJSON_AddNumberToObject(t, "requests", (double)req_total);
	cJSON_AddNumberToObject(t, "input_tokens", (double)in_total);
	cJSON_AddNumberToObject(t, "output_tokens", (double)out_total);
	if (!range)
		cJSON_AddStringToObject(d, "period", arena_printf(r->a, "%.7s", start));
	reply_data(r, 200, d);
	return E_OK;
}

const route_t ai_providers_routes[] = {
	CRUD("GET", "/v1/ai-providers", "AI Providers", "*", NULL, 0, provider_res, OP_LIST, "List AI providers"),
	CRUD("POST", "/v1/ai-providers", "AI Providers", "*", NULL, 0, provider_res, OP_CREATE, "Create AI provider"),
	CRUD("GET", "/v1/ai-providers/:provider_id", "AI Providers", "*", NULL, 0, provider_res, OP_GET, "Get AI provider"),
	CRUD("PATCH", "/v1/ai-providers/:provider_id", "AI Providers", "*", NULL, 0, provider_res, OP_UPDATE, "Update AI provider"),
	CRUD("DELETE", "/v1/ai-providers/:provider_id", "AI Providers", "*", NULL, 0, provider_res, OP_DELETE, "Delete AI provider"),
	ROUTE("GET", "/v1/ai-usage", "AI Providers", AUTH_BEARER, "*", NULL, 0, ai_usage_get, NULL, "Get AI usage stats"),
	ROUTES_END,
};
