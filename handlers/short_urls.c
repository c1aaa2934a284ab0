/*
 * short_urls.c - Tessera's own URL shortener: short URLs are a resource on
 * the engine whose id is the slug (a custom one, [a-zA-Z0-9_-]{3,64}, or
 * seven random base62 characters), and GET /s/:slug on the tenant's public
 * host (its custom domain, or ?tenant_id=) redirects.
 *
 * The redirect is the hot path and writes nothing to MariaDB: the link is
 * read from a Redis cache (SHORT_TTL seconds, dropped when the link
 * changes), clicks are counted with INCR (the count starts from the
 * stored one), and each click is queued in a Redis list.  The queue is
 * moved into _short_url_clicks (and the stored counts) when the tenant's
 * links are read, so the stats are exact when shown.  A link past its
 * expires_at, or whose max_clicks are used up, answers 410 GONE.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <sodium.h>

#include "../common/config.h"
#include "../common/jsonx.h"
#include "../common/log.h"
#include "../common/timefmt.h"
#include "apps.h"
#include "routes.h"

#define SLUG_RANDOM_LEN 7
#define SHORT_TTL "60"
#define DRAIN_BATCH "1000"
#define DRAIN_ROUNDS 20
#define TAGS_MAX 20

static bool slug_valid(const char *s)
{
	static const char ok[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-";
	size_t n = strlen(s);
	return n >= 3 && n <= 64 && strspn(s, ok) == n;
}

static char *cache_key(req_t *r, const char *slug)
{
	return arena_printf(r->a, "surl:u:%s:%s", r->tenant.id, slug);
}

static char *count_key(req_t *r, const char *slug)
{
	return arena_printf(r->a, "surl:n:%s:%s", r->tenant.id, slug);
}

static char *queue_key(req_t *r)
{
	return arena_printf(r->a, "surl:q:%s", r->tenant.id);
}

/* ------------------------------------------------------------- clicks */

/* One queued click into the open transaction. */
static enum db_status click_store(req_t *r, const cJSON *c)
{
	const char *slug = json_str_of(c, "s");
	const cJSON *at = cJSON_GetObjectItemCaseSensitive(c, "t");
	if (!slug || !cJSON_IsNumber(at))
		return DB_OK;
	db_param p[] = { db_str(slug), db_int((long long)at->valuedouble), db_str(json_str_of(c, "a")),
			 db_str(json_str_of(c, "f")) };
	enum db_status st = db_exec(r->db, r->a, arena_printf(r->a,
		"INSERT INTO %s (slug, clicked_at, address_hash, referrer) "
		"VALUES (?, FROM_UNIXTIME(? / 1000), ?, ?)", tenant_table(r, "_short_url_clicks")), p, 4,
		NULL);
	if (!st)
		st = db_exec(r->db, r->a, arena_printf(r->a,
			"UPDATE %s SET clicks = clicks + 1 WHERE id = ?", tenant_table(r, "_short_urls")),
			p, 1, NULL);
	return st;
}

/* Moves the clicks queued by the redirects into MariaDB. */
static err_t clicks_drain(req_t *r)
{
	const char *argv[] = { "LPOP", queue_key(r), DRAIN_BATCH };
	for (int round = 0; round < DRAIN_ROUNDS; round++) {
		redisReply *rep;
		if (cache_cmd(r->cache, r->a, &rep, 3, argv) != CACHE_OK)
			return req_fail(r, E_UNAVAILABLE, "The click queue is unavailable; try again shortly");
		if (rep->type != REDIS_REPLY_ARRAY || rep->elements == 0)
			return E_OK;
		enum db_status st = db_begin(r->db);
		for (size_t i = 0; !st && i < rep->elements; i++) {
			cJSON *c = rep->element[i]->type == REDIS_REPLY_STRING ?
				   cJSON_Parse(rep->element[i]->str) : NULL;
			st = click_store(r, c);
			cJSON_Delete(c);
		}
		err_t rc = req_tx_end(r, st ? req_db_error(r, st) : E_OK);
		if (rc) {
			log_warn("%s: %zu queued clicks lost", r->request_id, rep->elements);
			return rc;
		}
	}
	return E_OK;
}

/* ------------------------------------------------------------ resource */

static err_t check_slug(req_t *r, const res_field_t *f, const cJSON *v)
{
	(void)f;
	if (!slug_valid(v->valuestring))
		return req_fail_field(r, E_VALIDATION, "slug",
				      "slug must be 3 to 64 letters, digits, _ or -");
	return E_OK;
}

static err_t check_url(req_t *r, const res_field_t *f, const cJSON *v)
{
	(void)f;
	const char *s = v->valuestring;
	if ((strncasecmp(s, "http://", 7) && strncasecmp(s, "https://", 8)) || !doc_url_ok(s))
		return req_fail_field(r, E_VALIDATION, "url", "url must be an http or https URL");
	return E_OK;
}

static err_t check_time(req_t *r, const res_field_t *f, const cJSON *v)
{
	time_t t;
	if (time_parse_rfc3339(v->valuestring, &t) != 0 || t <= time(NULL))
		return req_fail_field(r, E_VALIDATION, f->name, "%s must be an RFC 3339 time in the future",
				      f->name);
	return E_OK;
}

/* Seven random base62 characters. */
static char *slug_random(req_t *r)
{
	static const char alphabet[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
	char *s = arena_alloc(r->a, SLUG_RANDOM_LEN + 1);
	for (int i = 0; i < SLUG_RANDOM_LEN; i++)
		s[i] = alphabet[randombytes_uniform(sizeof(alphabet) - 1)];
	s[SLUG_RANDOM_LEN] = '\0';
	return s;
}

/* The slug is the row's id; expires_at is stored as SQL time. */
static err_t short_validate(req_t *r, res_ctx_t *c)
{
	if (c->op == OP_CREATE) {
		const char *slug = json_str_of(c->body, "slug");
		c->id = slug ? slug : slug_random(r);
	}
	const cJSON *exp = cJSON_GetObjectItemCaseSensitive(c->body, "expires_at");
	db_param p = db_null();
	if (cJSON_IsString(exp))
		query_sql_time(r->a, exp->valuestring, &p);
	if (exp)
		resource_set(c, "expires_at", p);
	return E_OK;
}

static err_t short_conflict(req_t *r, res_ctx_t *c)
{
	return req_fail_field(r, E_CONFLICT, "slug", "The slug %s is already taken", c->id);
}

/* A list drains the click queue first, so its counts are current. */
static err_t short_list(req_t *r, res_ctx_t *c)
{
	(void)c;
	return clicks_drain(r);
}

/* The link's clicks: total, unique addresses, per day (the days of
 * the last 30 with clicks) and the top referrers. */
static err_t short_stats(req_t *r, const char *slug, cJSON **out)
{
	static const char *const sql[] = {
		"SELECT COUNT(*) AS total, COUNT(DISTINCT address_hash) AS uniq FROM %s WHERE slug = ?",
		"SELECT DATE_FORMAT(clicked_at, '%%Y-%%m-%%d') AS day, COUNT(*) AS n FROM %s "
		"WHERE slug = ? AND clicked_at >= UTC_DATE() - INTERVAL 29 DAY GROUP BY day ORDER BY day",
		"SELECT referrer, COUNT(*) AS n FROM %s WHERE slug = ? AND referrer IS NOT NULL "
		"GROUP BY referrer ORDER BY n DESC, referrer LIMIT 10",
	};
	db_result *res[3];
	db_param p[] = { db_str(slug) };
	for (int i = 0; i < 3; i++) {
		enum db_status st = db_exec(r->db, r->a, arena_printf(r->a, sql[i],
			tenant_table(r, "_short_url_clicks")), p, 1, &res[i]);
		if (st)
			return req_db_error(r, st);
	}
	*out = cJSON_CreateObject();
	cJSON_AddNumberToObject(*out, "unique", (double)db_get_int(res[0], 0, "uniq", 0));
	cJSON *days = cJSON_AddArrayToObject(*out, "by_day");
	for (int i = 0; i < res[1]->nrows; i++) {
		cJSON *d = cJSON_CreateObject();
		cJSON_AddStringToObject(d, "date", db_get(res[1], i, "day"));
		cJSON_AddNumberToObject(d, "clicks", (double)db_get_int(res[1], i, "n", 0));
		cJSON_AddItemToArray(days, d);
	}
	cJSON *refs = cJSON_AddArrayToObject(*out, "top_referrers");
	for (int i = 0; i < res[2]->nrows; i++) {
		cJSON *d = cJSON_CreateObject();
		cJSON_AddStringToObject(d, "referrer", db_get(res[2], i, "referrer"));
		cJSON_AddNumberToObject(d, "clicks", (double)db_get_int(res[2], i, "n", 0));
		cJSON_AddItemToArray(refs, d);
	}
	return E_OK;
}

/* The link as a visitor follows it: the tenant's custom domain, else the
 * public URL naming the tenant. */
static const char *short_link(req_t *r, res_ctx_t *c, const char *slug)
{
	if (!c->data) {
		db_result *res;
		db_param p[] = { db_str(r->tenant.id) };
		const char *domain = NULL;
		if (db_exec(db_control(r->db), r->a, "SELECT domain FROM tenants WHERE id = ?", p, 1, &res) == DB_OK &&
		    res->nrows)
			domain = db_get(res, 0, "domain");
		c->data = domain ? arena_printf(r->a, "https://%s/s/%%s", domain)
				 : arena_printf(r->a, "%s/s/%%s?tenant_id=%s", g_config.public_url, r->tenant.id);
	}
	return arena_printf(r->a, c->data, slug);
}

/* Every row shows its slug and link; GET drains the queue and adds the
 * click stats. */
static err_t short_render(req_t *r, res_ctx_t *c, cJSON *row)
{
	const char *slug = json_str_of(row, "id");
	cJSON_AddStringToObject(row, "slug", slug);
	cJSON_AddStringToObject(row, "short_url", short_link(r, c, slug));
	if (c->op != OP_GET)
		return E_OK;
	cJSON *stats = NULL;
	err_t rc = clicks_drain(r);
	if (rc || (rc = short_stats(r, slug, &stats)))
		return rc;
	db_result *res;
	db_param p[] = { db_str(slug) };
	enum db_status st = db_exec(r->db, r->a, arena_printf(r->a,
		"SELECT clicks FROM %s WHERE id = ?", tenant_table(r, "_short_urls")), p, 1, &res);
	if (st) {
		cJSON_Delete(stats);
		return req_db_error(r, st);
	}
	long long total = res->nrows ? db_get_int(res, 0, "clicks", 0) : 0;
	cJSON_ReplaceItemInObjectCaseSensitive(row, "clicks", cJSON_CreateNumber((double)total));
	cJSON_AddNumberToObject(stats, "total", (double)total);
	cJSON_AddItemToObject(row, "stats", stats);
	return E_OK;
}

/* A changed or deleted link is read again by the next redirect. */
static void short_committed(req_t *r, res_ctx_t *c)
{
	const char *argv[] = { "DEL", cache_key(r, c->id), count_key(r, c->id) };
	cache_send(r->cache, c->op == OP_DELETE ? 3 : 2, argv);
}

static const res_field_t short_fields[] = {
	{ .name = "id", .type = COL_STR },
	{ .name = "slug", .type = COL_STR, .in = FT_STRING, .flags = RF_CREATE | RF_INPUT, .min = 3,
	  .max = 64, .check = check_slug },
	{ .name = "url", .type = COL_STR, .in = FT_STRING, .flags = RF_WRITABLE | RF_REQUIRED, .min = 1,
	  .max = 2048, .check = check_url },
	{ .name = "title", .type = COL_STR, .in = FT_STRING, .flags = RF_WRITABLE | RF_NULLABLE,
	  .max = 255 },
	{ .name = "tags", .type = COL_JSON, .in = FT_STRING_ARRAY, .flags = RF_WRITABLE | RF_NULLABLE,
	  .max = TAGS_MAX },
	{ .name = "expires_at", .type = COL_TIME, .in = FT_STRING, .flags = RF_WRITABLE | RF_NULLABLE,
	  .max = 40, .check = check_time },
	{ .name = "max_clicks", .type = COL_INT, .in = FT_INT, .flags = RF_WRITABLE | RF_NULLABLE,
	  .min = 1, .max = 1000000000 },
	{ .name = "clicks", .type = COL_INT },
	{ .name = "created_by", .type = COL_STR },
	{ .name = "created_at", .type = COL_TIME },
	{ .name = "updated_at", .type = COL_TIME },
	{ NULL },
};

static const res_hooks_t short_hooks = {
	.validate = short_validate,
	.conflict = short_conflict,
	.list = short_list,
	.render = short_render,
	.after_commit = short_committed,
};

static const resource_t short_res = {
	.name = "Short URL", .type = "short_url", .table = "_short_urls", .home = RES_TENANT,
	.id_param = "slug", .id_prefix = "surl_", .fields = short_fields,
	.order = "created_at DESC", .title = "url", .flags = RES_CREATED_BY, .deleted_id = "slug",
	.list_shape = LIST_PAGE, .list_key = "results", .hooks = &short_hooks,
	.example = "{\"url\":\"https://example.com/launch\",\"title\":\"Launch\",\"tags\":[\"news\"]}",
};

/* ------------------------------------------------------------ redirect */

/* The link of slug: {u: url, e: expiry epoch or 0, m: max clicks or 0},
 * from the cache or MariaDB (then cached, with the click count seeded);
 * NULL when there is none. */
static err_t link_load(req_t *r, const char *slug, cJSON **out)
{
	redisReply *rep;
	const char *get[] = { "GET", cache_key(r, slug) };
	*out = NULL;
	if (cache_cmd(r->cache, r->a, &rep, 2, get) != CACHE_OK)
		return req_fail(r, E_UNAVAILABLE, "The link cache is unavailable; try again shortly");
	if (rep->type == REDIS_REPLY_STRING) {
		*out = req_own(r, cJSON_Parse(rep->str));
		return E_OK;
	}
	db_result *res;
	db_param p[] = { db_str(slug) };
	enum db_status st = db_exec(r->db, r->a, arena_printf(r->a,
		"SELECT url, COALESCE(UNIX_TIMESTAMP(expires_at), 0) AS e, COALESCE(max_clicks, 0) AS m, "
		"clicks FROM %s WHERE id = ?", tenant_table(r, "_short_urls")), p, 1, &res);
	if (st)
		return req_db_error(r, st);
	if (res->nrows == 0)
		return E_OK;
	*out = req_own(r, cJSON_CreateObject());
	cJSON_AddStringToObject(*out, "u", db_get(res, 0, "url"));
	cJSON_AddNumberToObject(*out, "e", (double)db_get_int(res, 0, "e", 0));
	cJSON_AddNumberToObject(*out, "m", (double)db_get_int(res, 0, "m", 0));
	const char *set[] = { "SET", cache_key(r, slug), req_json_text(r, *out), "EX", SHORT_TTL };
	const char *seed[] = { "SET", count_key(r, slug), db_get(res, 0, "clicks"), "NX" };
	cache_send(r->cache, 5, set);
	cache_send(r->cache, 4, seed);
	return E_OK;
}

static err_t short_redirect(req_t *r)
{
	const char *slug = req_param(r, "slug");
	cJSON *link;
	err_t rc = slug_valid(slug) ? link_load(r, slug, &link) : E_OK;
	if (rc)
		return rc;
	if (!slug_valid(slug) || !link)
		return req_fail(r, E_NOT_FOUND, "Short URL not found");
	double e = cJSON_GetObjectItemCaseSensitive(link, "e")->valuedouble;
	double m = cJSON_GetObjectItemCaseSensitive(link, "m")->valuedouble;
	if (e > 0 && e <= (double)time(NULL))
		return req_fail(r, E_GONE, "This short URL has expired");
	cJSON *click = req_own(r, cJSON_CreateObject());
	cJSON_AddStringToObject(click, "s", slug);
	cJSON_AddNumberToObject(click, "t", (double)time_now_ms());
	cJSON_AddStringToObject(click, "a", client_address_hash(r));
	const char *ref = req_env(r, "HTTP_REFERER");
	if (ref && *ref)
		cJSON_AddStringToObject(click, "f", arena_strndup(r->a, ref, strnlen(ref, 512)));
	const char *incr[] = { "INCR", count_key(r, slug) };
	redisReply *n;
	if (cache_cmd(r->cache, r->a, &n, 2, incr) != CACHE_OK || n->type != REDIS_REPLY_INTEGER)
		return req_fail(r, E_UNAVAILABLE, "The click counter is unavailable; try again shortly");
	if (m > 0 && (double)n->integer > m)
		return req_fail(r, E_GONE, "This short URL has reached its click limit");
	const char *push[] = { "RPUSH", queue_key(r), req_json_text(r, click) };
	cache_send(r->cache, 3, push);
	reply_header(r, "Location", json_str_of(link, "u"));
	reply_header(r, "Cache-Control", "no-store");
	reply_raw(r, 302, "text/plain; charset=utf-8", "", 0);
	return E_OK;
}

/* The endpoints this file serves; routes.c assembles the table from
 * every file's rows. */
const route_t short_urls_routes[] = {
	CRUD("GET", "/v1/short-urls", "Short URLs", "read", "short_urls:read", R_USER, short_res, OP_LIST, "List short URLs"),
	CRUD("POST", "/v1/short-urls", "Short URLs", "write", "short_urls:write", R_USER, short_res, OP_CREATE, "Create a short URL"),
	CRUD("GET", "/v1/short-urls/:slug", "Short URLs", "read", "short_urls:read", R_USER, short_res, OP_GET, "Get short URL details"),
	CRUD("PATCH", "/v1/short-urls/:slug", "Short URLs", "write", "short_urls:write", R_USER, short_res, OP_UPDATE, "Update a short URL"),
	CRUD("DELETE", "/v1/short-urls/:slug", "Short URLs", "write", "short_urls:write", R_USER, short_res, OP_DELETE, "Delete a short URL"),
	ROUTE_T("GET", "/s/:slug", "Short URLs", AUTH_NONE, "", NULL, R_EXTENSION, short_redirect, NULL, "Follow a short URL (302)", TENANT_NAMED_OR_HOST, 0),
	ROUTES_END,
};
