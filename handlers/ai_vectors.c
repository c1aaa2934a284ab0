/*
 * ai_vectors.c - embeddings and vector search over objects: POST
 * /v1/ai/embeddings, /v1/ai/index and /v1/ai/search, and the object text
 * and object access the other AI endpoints share (ai.h).
 *
 * Vectors live in the tenant's _ai_vectors, one per indexed object, as
 * contiguous little-endian float32 arrays, L2-normalised, so cosine
 * similarity is a dot product.  Search is exact: the query is embedded
 * with the model the tenant indexes with (ai_embedding_provider), every
 * stored vector of that model (and type, when asked) is scored in one
 * tight loop, and the best are read back as objects in score order.  An
 * object the caller may not read (an end user's role or row-level
 * policies), deleted since it was indexed, or of another model is simply
 * not a result.  Indexing also records each object's keyword counts
 * (_ai_doc_terms): the document frequencies auto-tag weighs with.
 */
#include <stdlib.h>
#include <string.h>

#include "../common/ailocal.h"
#include "../common/jsonx.h"
#include "../common/log.h"
#include "../common/strbuf.h"
#include "../fcgi/fanout.h"
#include "../fcgi/gate.h"
#include "../fcgi/jobs.h"
#include "ai.h"
#include "objects.h"
#include "policies.h"
#include "routes.h"

#define VEC_OBJ_COLS "id, properties, created_at, updated_at, created_by, version, is_deleted, deleted_at"
#define AI_TEXTS_MAX 100
#define AI_TEXT_MAX (32 * 1024)
#define AI_OBJECT_TEXT_MAX (64 * 1024)
#define AI_SEARCH_MAX 100
#define AI_TERMS_PER_DOC 200

/* --- objects as text --------------------------------------------------------- */

/* Ids ("obj_01…") and dates say nothing a search could use. */
static bool text_worth(const char *v)
{
	size_t n = strlen(v), u = strcspn(v, "_");
	if (n == 0 || (u < n && n - u - 1 == 26 && strspn(v + u + 1, "0123456789ABCDEFGHJKMNPQRSTVWXYZ") == 26))
		return false;
	return !(n >= 10 && strspn(v, "0123456789") == 4 && v[4] == '-');
}

char *ai_object_text(arena_t *a, const cJSON *props, size_t max)
{
	strbuf_t sb = { .max = max };
	const cJSON *v;
	cJSON_ArrayForEach(v, props) {
		if (cJSON_IsString(v) && text_worth(v->valuestring)) {
			sb_printf(&sb, "%s: ", v->string);
			sb_puts(&sb, v->valuestring);
			sb_puts(&sb, "\n");
		} else if (cJSON_IsArray(v) && cJSON_IsString(v->child)) {
			sb_printf(&sb, "%s:", v->string);
			const cJSON *e;
			cJSON_ArrayForEach(e, v)
				if (cJSON_IsString(e)) {
					sb_puts(&sb, " ");
					sb_puts(&sb, e->valuestring);
				}
			sb_puts(&sb, "\n");
		}
	}
	return sb.len ? sb_take(&sb, a) : arena_strdup(a, "");
}

/* Whether an end user's role and read policies let them see the row; API
 * keys see every row. */
static err_t may_read(req_t *r, const cJSON *conds, const cJSON *props,
		      const char *id, const char *created_by, bool *ok)
{
	*ok = true;
	if (!req_end_user(r))
		return E_OK;
	authctx_t a = policy_auth(r);
	const cJSON *c;
	*ok = false;
	cJSON_ArrayForEach(c, conds)
		if (policy_eval(r, c, props, id, created_by, &a, NULL, 0)) {
			*ok = true;
			break;
		}
	return E_OK;
}

/* The read policies of t for the caller (NULL for an API key), and
 * whether their role may read t at all. */
static err_t read_rules(req_t *r, const objtype_t *t, cJSON **conds, bool *allowed)
{
	*conds = NULL;
	*allowed = true;
	if (!req_end_user(r))
		return E_OK;
	err_t rc = identity_user_may(r, "objects", t->name, t->id, "read", allowed);
	if (rc || !*allowed)
		return rc;
	return policies_for(r, t, "read", conds);
}

/* Live objects of t among ids (n of them), as SELECT VEC_OBJ_COLS rows. */
static err_t objects_fetch(req_t *r, const objtype_t *t, const char *const *ids, int n,
			   db_result **res)
{
	db_param *p = arena_alloc(r->a, (size_t)n * sizeof(*p));
	for (int i = 0; i < n; i++)
		p[i] = db_str(ids[i]);
	enum db_status st = db_exec(r->db, r->a, arena_printf(r->a,
		"SELECT " VEC_OBJ_COLS " FROM %s WHERE is_deleted = 0 AND id IN (%s)", t->table,
		db_placeholders(r->a, n)), p, n, res);
	return st ? req_db_error(r, st) : E_OK;
}

static cJSON *props_of(req_t *r, const db_result *res, int i)
{
	cJSON *j = req_own(r, cJSON_Parse(db_get(res, i, "properties")));
	return cJSON_IsObject(j) ? j : req_own(r, cJSON_CreateObject());
}

err_t ai_object_load(req_t *r, const objtype_t *t, const char *id, const char *field,
		     cJSON **props)
{
	cJSON *conds;
	bool ok;
	db_result *res;
	err_t rc = read_rules(r, t, &conds, &ok);
	if (!rc && ok)
		rc = objects_fetch(r, t, &id, 1, &res);
	if (rc)
		return rc;
	if (ok && res->nrows == 1) {
		*props = props_of(r, res, 0);
		if ((rc = may_read(r, conds, *props, id, db_get(res, 0, "created_by"), &ok)))
			return rc;
	}
	if (!ok || res->nrows != 1)
		return req_fail_field(r, E_NOT_FOUND, field, "Object %.64s of %s not found", id, t->name);
	return E_OK;
}

/* --- embeddings ----------------------------------------------------------------- */

/* The texts of body[field]: a string or an array of 1 to AI_TEXTS_MAX
 * strings, each at most AI_TEXT_MAX bytes. */
static err_t texts_of(req_t *r, const char *field, const char ***texts, int *n)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(r->json, field);
	if (cJSON_IsString(v)) {
		*texts = arena_alloc(r->a, sizeof(**texts));
		(*texts)[0] = v->valuestring;
		*n = 1;
	} else if (cJSON_IsArray(v) && cJSON_GetArraySize(v) >= 1 &&
		   cJSON_GetArraySize(v) <= AI_TEXTS_MAX) {
		*n = cJSON_GetArraySize(v);
		*texts = arena_alloc(r->a, (size_t)*n * sizeof(**texts));
		int i = 0;
		const cJSON *e;
		cJSON_ArrayForEach(e, v) {
			if (!cJSON_IsString(e))
				return req_fail_field(r, E_VALIDATION, field, "%s must hold strings", field);
			(*texts)[i++] = e->valuestring;
		}
	} else {
		return req_fail_field(r, E_VALIDATION, field,
				      "%s must be a string or an array of 1 to %d strings", field,
				      AI_TEXTS_MAX);
	}
	for (int i = 0; i < *n; i++)
		if (strlen((*texts)[i]) > AI_TEXT_MAX)
			return req_fail_field(r, E_VALIDATION, field, "each text is at most %d bytes",
					      AI_TEXT_MAX);
	return E_OK;
}

/* A float as JSON with six decimals at most (the vectors' precision is
 * that of float32 anyway, and the answer stays short). */
static cJSON *vector_json(const float *v, int dims)
{
	cJSON *a = cJSON_CreateArray();
	for (int d = 0; d < dims; d++)
		cJSON_AddItemToArray(a, cJSON_CreateNumber((double)(long long)(v[d] * 1e6 +
							   (v[d] < 0 ? -0.5f : 0.5f)) / 1e6));
	return a;
}

/* Embeds texts with the tenant's embedding model (or the one body names),
 * metering the call. */
static err_t embed_metered(req_t *r, const char *model, const char *const *texts, int n,
			   float **vecs, int *dims, const char **used)
{
	ai_provider_t p;
	err_t rc = ai_embedding_provider(r, model, &p, used);
	if (!rc && strcmp(p.type, AI_LOCAL))
		rc = ai_budget_check(r);
	long tokens = 0;
	if (!rc)
		rc = ai_embed(r, &p, *used, texts, n, vecs, dims, &tokens);
	if (rc)
		return rc;
	if (!tokens)
		for (int i = 0; i < n; i++)
			tokens += (long)(strlen(texts[i]) + 3) / 4;
	ai_meter(r, &p, *used, tokens, 0);
	return E_OK;
}

static const field_t embeddings_body[] = {
	{ "text", FT_ANY, FF_REQUIRED, 0, 0 },
	{ "model", FT_STRING, FF_NULLABLE, 1, 100 },
	{ NULL, 0, 0, 0, 0 },
};

static err_t ai_embeddings(req_t *r)
{
	const char **texts = NULL, *used = NULL;
	int n = 0, dims = 0;
	float *vecs = NULL;
	err_t rc = texts_of(r, "text", &texts, &n);
	if (!rc)
		rc = embed_metered(r, json_str_of(r->json, "model"), texts, n, &vecs, &dims, &used);
	if (rc)
		return rc;
	cJSON *d = cJSON_CreateObject(), *all = cJSON_AddArrayToObject(d, "embeddings");
	for (int i = 0; i < n; i++)
		cJSON_AddItemToArray(all, vector_json(vecs + (size_t)i * (size_t)dims, dims));
	cJSON_AddStringToObject(d, "model", used);
	cJSON_AddNumberToObject(d, "dimensions", dims);
	reply_data(r, 200, d);
	return E_OK;
}

/* --- index ------------------------------------------------------------------------ */

static const field_t index_body[] = {
	{ "object_type_id", FT_STRING, FF_REQUIRED, 1, 100 },
	{ "object_ids", FT_STRING_ARRAY, FF_REQUIRED, 0, AI_TEXTS_MAX },
	{ NULL, 0, 0, 0, 0 },
};

/* Raises the index's generation (see ai_search's cache). */
static enum db_status index_bump(db_t *db, arena_t *a, const char *db_name)
{
	return db_exec(db, a, arena_printf(a, "INSERT INTO `%s`.`_ai_index_state` (id, gen) "
		"VALUES (1, 1) ON DUPLICATE KEY UPDATE gen = gen + 1", db_name), NULL, 0, NULL);
}

/* Stores the vector and keyword counts of object id of type type_id in
 * the tenant database db_name (in the open transaction), replacing what
 * it had. */
static enum db_status vector_store(db_t *db, arena_t *a, const char *db_name, const char *type_id,
				   const char *id, const char *model, const float *v, int dims,
				   const char *text)
{
	db_param p[] = { db_str(id), db_str(type_id), db_str(model), db_int(dims),
			 db_strn((const char *)v, (size_t)dims * sizeof(float)) };
	enum db_status st = index_bump(db, a, db_name);
	if (!st)
		st = db_exec(db, a, arena_printf(a,
			"REPLACE INTO `%s`.`_ai_vectors` (object_id, object_type_id, model, dims, vec, "
			"updated_at) VALUES (?, ?, ?, ?, ?, UTC_TIMESTAMP(3))", db_name), p, 5, NULL);
	if (!st)
		st = db_exec(db, a, arena_printf(a, "DELETE FROM `%s`.`_ai_doc_terms` WHERE object_id = ?",
			db_name), p, 1, NULL);
	if (!st)
		st = db_exec(db, a, arena_printf(a, "DELETE FROM `%s`.`_ai_dropped` WHERE object_id = ?",
			db_name), p, 1, NULL);
	ailocal_term_t *terms;
	int n = ailocal_terms(a, text, strlen(text), AI_TERMS_PER_DOC, &terms);
	if (st || n == 0)
		return st;
	db_param *q = arena_alloc(a, (size_t)n * 3 * sizeof(*q));
	strbuf_t sql = { 0 };
	sb_printf(&sql, "INSERT INTO `%s`.`_ai_doc_terms` (object_id, term, n) VALUES ", db_name);
	for (int i = 0; i < n; i++) {
		sb_puts(&sql, i ? ", (?, ?, ?)" : "(?, ?, ?)");
		q[3 * i] = db_str(id);
		q[3 * i + 1] = db_str(terms[i].term);
		q[3 * i + 2] = db_int(terms[i].count);
	}
	return db_exec(db, a, sb_take(&sql, a), q, 3 * n, NULL);
}

/* Drops what object id had in the index, remembering its type and model
 * (_ai_dropped) for a restore. */
static enum db_status vector_drop(db_t *db, arena_t *a, const char *db_name, const char *id)
{
	db_param p[] = { db_str(id) };
	enum db_status st = index_bump(db, a, db_name);
	if (!st)
		st = db_exec(db, a, arena_printf(a,
			"INSERT INTO `%s`.`_ai_dropped` (object_id, object_type_id, model, dropped_at) "
			"SELECT object_id, object_type_id, model, UTC_TIMESTAMP(3) FROM `%s`.`_ai_vectors` "
			"WHERE object_id = ? ON DUPLICATE KEY UPDATE model = VALUES(model), "
			"dropped_at = VALUES(dropped_at)", db_name, db_name), p, 1, NULL);
	if (!st)
		st = db_exec(db, a, arena_printf(a,
			"DELETE FROM `%s`.`_ai_vectors` WHERE object_id = ?", db_name), p, 1, NULL);
	return st ? st : db_exec(db, a, arena_printf(a,
		"DELETE FROM `%s`.`_ai_doc_terms` WHERE object_id = ?", db_name), p, 1, NULL);
}

static err_t ai_index(req_t *r)
{
	objtype_t *t;
	err_t rc = objtype_load(r, json_str_of(r->json, "object_type_id"), &t);
	if (rc == E_NOT_FOUND)
		return req_fail_field(r, E_NOT_FOUND, "object_type_id", "Object type not found");
	if (rc)
		return rc;
	const cJSON *ids = cJSON_GetObjectItemCaseSensitive(r->json, "object_ids");
	int n = cJSON_GetArraySize(ids);
	if (n == 0)
		return req_fail_field(r, E_VALIDATION, "object_ids", "object_ids must name 1 to %d objects",
				      AI_TEXTS_MAX);
	const char **texts = arena_alloc(r->a, (size_t)n * sizeof(*texts));
	const char **idv = arena_alloc(r->a, (size_t)n * sizeof(*idv));
	int i = 0;
	const cJSON *e;
	cJSON_ArrayForEach(e, ids) {
		cJSON *props;
		for (int k = 0; k < i; k++)
			if (!strcmp(idv[k], e->valuestring))
				return req_fail_field(r, E_VALIDATION, "object_ids",
						      "object %.64s is listed twice", e->valuestring);
		if ((rc = ai_object_load(r, t, e->valuestring, "object_ids", &props)))
			return rc;
		idv[i] = e->valuestring;
		texts[i++] = ai_object_text(r->a, props, AI_OBJECT_TEXT_MAX);
	}
	float *vecs;
	int dims;
	const char *model;
	if ((rc = embed_metered(r, NULL, texts, n, &vecs, &dims, &model)))
		return rc;
	enum db_status st = db_begin(r->db);
	if (st)
		return req_db_error(r, st);
	for (i = 0; i < n && !st; i++)
		st = vector_store(r->db, r->a, r->tenant.db_name, t->id, idv[i], model,
				  vecs + (size_t)i * (size_t)dims, dims, texts[i]);
	if ((rc = req_tx_end(r, st ? req_db_error(r, st) : E_OK)))
		return rc;
	cJSON *d = cJSON_CreateObject();
	cJSON_AddNumberToObject(d, "indexed", n);
	cJSON_AddStringToObject(d, "model", model);
	cJSON_AddNumberToObject(d, "dimensions", dims);
	cJSON_AddStringToObject(d, "object_type_id", t->id);
	reply_data(r, 200, d);
	return E_OK;
}

/* --- search ------------------------------------------------------------------------ */

static const field_t search_body[] = {
	{ "query", FT_STRING, FF_REQUIRED, 1, AI_TEXT_MAX },
	{ "limit", FT_INT, FF_NULLABLE, 1, AI_SEARCH_MAX },
	{ "object_type_id", FT_STRING, FF_NULLABLE, 1, 100 },
	{ "min_score", FT_NUMBER, FF_NULLABLE, 0, 0 },
	{ NULL, 0, 0, 0, 0 },
};

/*
 * The vectors of one model of one tenant as a search scans them: n rows of
 * dims contiguous floats with their object and type ids.  Each worker
 * keeps the last set it loaded (AI_CACHE_MAX bytes at most) and reads the
 * table again only when _ai_index_state's generation has moved.
 */
#define AI_CACHE_MAX (512u << 20)
#define AI_ID_LEN 41

typedef struct vec_set {
	char *key;               /* "<db>/<model>", malloc'd */
	long long gen;
	int n, dims;
	float *vecs;
	char *ids, *types;       /* n * AI_ID_LEN each */
} vec_set_t;

static vec_set_t vcache;

static void vec_set_free(vec_set_t *s)
{
	free(s->key);
	free(s->vecs);
	free(s->ids);
	free(s->types);
	memset(s, 0, sizeof(*s));
}

static void vec_set_release(void *p)
{
	vec_set_free(p);
	free(p);
}

static err_t vec_set_load(req_t *r, const char *model, int dims, vec_set_t *s)
{
	db_param p[] = { db_str(model) };
	db_result *res;
	enum db_status st = db_exec(r->db, r->a, arena_printf(r->a,
		"SELECT object_id, object_type_id, vec FROM %s WHERE model = ? AND dims = %d",
		tenant_table(r, "_ai_vectors"), dims), p, 1, &res);
	if (st)
		return req_db_error(r, st);
	size_t want = (size_t)dims * sizeof(float), n = (size_t)res->nrows;
	s->vecs = malloc(n * want + 1);
	s->ids = calloc(n + 1, AI_ID_LEN);
	s->types = calloc(n + 1, AI_ID_LEN);
	if (!s->vecs || !s->ids || !s->types)
		abort();
	s->dims = dims;
	for (int i = 0; i < res->nrows; i++) {
		if (res->lens[i * res->ncols + 2] != want)
			continue;
		memcpy(s->vecs + (size_t)s->n * (size_t)dims, db_cell(res, i, 2), want);
		snprintf(s->ids + (size_t)s->n * AI_ID_LEN, AI_ID_LEN, "%s", db_cell(res, i, 0));
		snprintf(s->types + (size_t)s->n * AI_ID_LEN, AI_ID_LEN, "%s", db_cell(res, i, 1));
		s->n++;
	}
	return E_OK;
}

/* The vectors of model for this request: the worker's cached set when
 * its generation is current, else a new read (cached when small enough). */
static err_t vec_set_get(req_t *r, const char *model, int dims, vec_set_t **out)
{
	db_result *res;
	enum db_status st = db_exec(r->db, r->a, arena_printf(r->a,
		"SELECT gen FROM %s WHERE id = 1", tenant_table(r, "_ai_index_state")), NULL, 0, &res);
	if (st)
		return req_db_error(r, st);
	long long gen = res->nrows ? strtoll(db_cell(res, 0, 0), NULL, 10) : 0;
	char *key = arena_printf(r->a, "%s/%s", r->tenant.db_name, model);
	if (vcache.key && !strcmp(vcache.key, key) && vcache.gen == gen && vcache.dims == dims) {
		*out = &vcache;
		return E_OK;
	}
	vec_set_t *s = calloc(1, sizeof(*s));
	if (!s)
		abort();
	err_t rc = vec_set_load(r, model, dims, s);
	if (!rc && (size_t)s->n * (size_t)dims * sizeof(float) <= AI_CACHE_MAX) {
		vec_set_free(&vcache);
		vcache = *s;
		free(s);
		vcache.key = strdup(key);
		vcache.gen = gen;
		*out = &vcache;
		return E_OK;
	}
	arena_defer(r->a, vec_set_release, s);
	*out = s;
	return rc;
}

/* One result, if the caller may read the object: {object_id,
 * object_type_id, score, object}. */
static err_t search_take(req_t *r, const objtype_t *t, const char *id, float score, cJSON *out,
			 bool *taken)
{
	*taken = false;
	cJSON *conds;
	bool ok;
	db_result *res;
	err_t rc = read_rules(r, t, &conds, &ok);
	if (rc || !ok)
		return rc;
	if ((rc = objects_fetch(r, t, &id, 1, &res)) || res->nrows != 1)
		return rc;
	if ((rc = may_read(r, conds, props_of(r, res, 0), id, db_get(res, 0, "created_by"), &ok)) ||
	    !ok)
		return rc;
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "object_id", id);
	cJSON_AddStringToObject(o, "object_type_id", t->id);
	cJSON_AddStringToObject(o, "object_type", t->name);
	cJSON_AddNumberToObject(o, "score", (double)(long long)(score * 1e6f + 0.5f) / 1e6);
	cJSON_AddItemToObject(o, "object", object_json(r, t, res, 0));
	cJSON_AddItemToArray(out, o);
	*taken = true;
	return E_OK;
}

/* The candidates a search reads objects for before ordering the rest:
 * enough for the results after some are hidden from the caller. */
static int search_batch(int limit)
{
	return limit * 4 > 64 ? limit * 4 : 64;
}

static err_t ai_search(req_t *r)
{
	const char *type_arg = json_str_of(r->json, "object_type_id");
	const cJSON *lim = cJSON_GetObjectItemCaseSensitive(r->json, "limit");
	const cJSON *min = cJSON_GetObjectItemCaseSensitive(r->json, "min_score");
	int limit = cJSON_IsNumber(lim) ? lim->valueint : 10;
	double min_score = cJSON_IsNumber(min) ? min->valuedouble : -1.0;
	objtype_t *only = NULL;
	err_t rc;
	if (type_arg && (rc = objtype_load(r, type_arg, &only)))
		return rc == E_NOT_FOUND ? req_fail_field(r, E_NOT_FOUND, "object_type_id",
							  "Object type not found") : rc;
	const char *query = json_str_of(r->json, "query"), *model;
	float *q = NULL;
	int dims = 0;
	vec_set_t *set = NULL;
	if ((rc = embed_metered(r, NULL, &query, 1, &q, &dims, &model)) ||
	    (rc = vec_set_get(r, model, dims, &set)))
		return rc;
	bool *keep = NULL;
	if (only) {
		keep = arena_alloc(r->a, (size_t)set->n + 1);
		for (int i = 0; i < set->n; i++)
			keep[i] = !strcmp(set->types + (size_t)i * AI_ID_LEN, only->id);
	}
	ailocal_hit_t *h = arena_alloc(r->a, ((size_t)set->n + 1) * sizeof(*h));
	int batch = search_batch(limit);
	int nhits = ailocal_rank(set->vecs, set->n, set->dims, q, keep, batch, h);
	cJSON *d = cJSON_CreateObject(), *out = cJSON_AddArrayToObject(d, "results");
	req_own(r, d);
	int found = 0;
	for (int i = 0; i < nhits && found < limit && h[i].score >= min_score; i++) {
		if (i == batch)
			ailocal_rank_rest(h, batch, nhits);
		const char *tid = set->types + (size_t)h[i].row * AI_ID_LEN;
		objtype_t *t = only;
		if (!t && (rc = objtype_load(r, tid, &t)) == E_NOT_FOUND) {
			r->err_message = NULL;
			r->err_details = NULL;
			continue;   /* the type was deleted since */
		}
		bool taken;
		if (rc || (rc = search_take(r, t, set->ids + (size_t)h[i].row * AI_ID_LEN, h[i].score,
					    out, &taken)))
			return rc;
		found += taken;
	}
	cJSON_AddStringToObject(d, "model", model);
	cJSON_AddNumberToObject(d, "dimensions", dims);
	reply_data(r, 200, cJSON_Duplicate(d, true));
	return E_OK;
}

/* --- following changes through the outbox ------------------------------------- */

/* A change to an object that has a vector: the re-embed job follows it. */
static bool reembed_follows(db_t *db, arena_t *a, const char *db_name, const char *event,
			    const cJSON *data)
{
	bool restored = !strcmp(event, "object.restored");
	if (strcmp(event, "object.updated") && strcmp(event, "object.deleted") && !restored)
		return false;
	const char *id = json_str_of(data, "object_id");
	db_param p[] = { db_str(id) };
	db_result *res;
	return id && db_exec(db, a, arena_printf(a, "SELECT 1 FROM `%s`.`%s` WHERE object_id = ?",
		db_name, restored ? "_ai_dropped" : "_ai_vectors"), p, 1, &res) == DB_OK &&
	       res->nrows == 1;
}

static void json_free(void *j)
{
	cJSON_Delete(j);
}

static int job_db_error(db_t *db, char *err, size_t errlen)
{
	snprintf(err, errlen, "%s", db_last_error(db));
	return -1;
}

/*
 * text embedded again with model in the runner: the built-in model right
 * here, a provider's through the same client as requests (a request of
 * the runner's own, without a client, carries the tenant).  1: the model
 * is no longer the tenant's embedding model (the vector stays as it is);
 * -1 with err: the provider failed (the job is retried).
 */
static int job_embed(db_t *db, cache_t *cache, arena_t *a, const char *tenant_id,
		     const char *db_name, const char *model, const char *text, float **vec,
		     int *dims, char *err, size_t errlen)
{
	req_t r;
	req_job_init(&r, a, db, cache, "job_ai_reembed");
	r.tenant.id = arena_strdup(a, tenant_id);
	r.tenant.db_name = arena_strdup(a, db_name);
	ai_provider_t p;
	const char *use;
	long tokens = 0;
	db_param t[] = { db_str(tenant_id) };
	db_result *res;
	if (db_exec(db_control(db), a, "SELECT plan FROM tenants WHERE id = ?", t, 1, &res) || res->nrows == 0)
		return job_db_error(db, err, errlen);
	r.tenant.plan = arena_strdup(a, db_cell(res, 0, 0));
	err_t rc = ai_embedding_provider(&r, model, &p, &use);
	if (rc || strcmp(use, model))
		return rc == E_VALIDATION || !rc ? 1 : -1;
	/* Past the month's budget a provider's vector stays as it was. */
	if (strcmp(p.type, AI_LOCAL) && (rc = ai_budget_check(&r)))
		return rc == E_QUOTA_EXCEEDED ? 1 : -1;
	if ((rc = ai_embed(&r, &p, use, &text, 1, vec, dims, &tokens))) {
		snprintf(err, errlen, "%s", r.err_message ? r.err_message : err_message(rc));
		return -1;
	}
	if (strcmp(p.type, AI_LOCAL))
		ai_meter(&r, &p, use, tokens, 0);
	return 0;
}

/* Embeds the object again from what it now is, with the model of its
 * vector (or of the vector it had before it was deleted, once restored),
 * or drops the vector once the object is deleted. */
static int reembed_run(db_t *db, cache_t *cache, arena_t *a, const char *tenant_id,
		       const cJSON *payload, char *err, size_t errlen)
{
	const cJSON *data = cJSON_GetObjectItemCaseSensitive(payload, "data");
	const char *id = json_str_of(data, "object_id"), *type = json_str_of(data, "object_type");
	const char *db_name;
	if (!id || !type || strspn(type, "abcdefghijklmnopqrstuvwxyz0123456789_") != strlen(type)) {
		snprintf(err, errlen, "the event names no object");
		return -1;
	}
	if (tenant_db_of(db, a, tenant_id, &db_name))
		return job_db_error(db, err, errlen);
	if (!db_name)
		return 0;   /* the tenant is gone */
	db_param p[] = { db_str(id) };
	db_result *v, *o;
	if (db_exec(db, a, arena_printf(a, "SELECT model, 1 FROM `%s`.`_ai_vectors` WHERE object_id = ? "
		    "UNION ALL SELECT model, 0 FROM `%s`.`_ai_dropped` WHERE object_id = ?",
		    db_name, db_name), (db_param[]){ p[0], p[0] }, 2, &v) ||
	    db_exec(db, a, arena_printf(a, "SELECT properties FROM `%s`.`%s` WHERE id = ? AND "
		    "is_deleted = 0", db_name, type), p, 1, &o))
		return job_db_error(db, err, errlen);
	if (v->nrows == 0)
		return 0;
	enum db_status st = DB_OK;
	if (o->nrows == 0) {
		if (strcmp(db_cell(v, 0, 1), "1"))
			return 0;   /* deleted, and dropped already */
		if (!(st = db_begin(db)))
			st = vector_drop(db, a, db_name, id);
		st = st ? st : db_commit(db);
		if (st && db_in_transaction(db))
			db_rollback(db);
	} else {
		cJSON *props = cJSON_Parse(db_cell(o, 0, 0));
		arena_defer(a, json_free, props);
		char *text = ai_object_text(a, props, AI_OBJECT_TEXT_MAX);
		const char *model = arena_strdup(a, db_cell(v, 0, 0));
		float *vec;
		int dims, rc = job_embed(db, cache, a, tenant_id, db_name, model, text, &vec, &dims,
					 err, errlen);
		if (rc)
			return rc < 0 ? -1 : 0;
		if (!(st = db_begin(db))) {
			st = vector_store(db, a, db_name, json_str_of(data, "object_type_id"), id, model,
					  vec, dims, text);
			st = st ? st : db_commit(db);
		}
		if (st && db_in_transaction(db))
			db_rollback(db);
	}
	return st ? job_db_error(db, err, errlen) : 0;
}

const job_kind_t ai_jobs[] = {
	{ .name = "ai.reembed", .run = reembed_run, .follows = reembed_follows },
	{ NULL },
};

const route_t ai_vectors_routes[] = {
	ROUTE("POST", "/v1/ai/embeddings", "AI", AUTH_BEARER, "ai", "ai:use", R_USER, ai_embeddings, embeddings_body, "Generate embeddings"),
	ROUTE("POST", "/v1/ai/index", "AI", AUTH_BEARER, "ai", "ai:use", R_USER, ai_index, index_body, "Index objects for vector search"),
	ROUTE("POST", "/v1/ai/search", "AI", AUTH_BEARER, "ai", "ai:use", R_USER, ai_search, search_body, "Vector similarity search"),
	ROUTES_END,
};
