/*
 * associations.c - typed, directed links between two objects of a tenant.
 * PUT creates (201) or replaces the meta (200) of (from, association_type,
 * to); DELETE removes it; GET lists one object's links by direction and
 * association type, keyset-paged by association id (ids are time-sortable,
 * so a walk sees links made during it in order and each exactly once).
 *
 * Both ends must be live objects (not in the trash) of the types the path
 * names, in this tenant's data DB, so another tenant's ids are simply not
 * found.  The ends are read with a shared lock inside the write's
 * transaction, so a racing delete of either end waits for it (and then
 * cascades through associations_delete_for).  Every change writes an outbox
 * event in the same transaction.  End-user tokens are refused until
 * row-level policies cover associations, as for objects.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../common/codec.h"
#include "../common/ids.h"
#include "../common/jsonx.h"
#include "../common/rowjson.h"
#include "../fcgi/query.h"
#include "associations.h"
#include "objmodel.h"
#include "routes.h"

#define META_MAX 10240      /* bytes of meta, serialised */
#define LIST_MAX 100
#define ASSOC_TYPE_MAX 64

const field_t association_put_body[] = {
	{ "meta", FT_OBJECT, FF_NULLABLE, 0, 0 },
	{ NULL, 0, 0, 0, 0 },
};

/* An association as the API renders it (direction is added by the list). */
static const col_t assoc_cols[] = {
	{ "id", COL_STR, 0 },
	{ "from_type", COL_STR, 0 },
	{ "from_type_id", COL_STR, 0 },
	{ "from_id", COL_STR, 0 },
	{ "association_type", COL_STR, 0 },
	{ "to_type", COL_STR, 0 },
	{ "to_type_id", COL_STR, 0 },
	{ "to_id", COL_STR, 0 },
	{ "meta", COL_JSON, 0 },
	{ "created_at", COL_TIME, 0 },
	{ "updated_at", COL_TIME, 0 },
	{ NULL, 0, 0 },
};

#define ASSOC_COLS "a.id, ft.name AS from_type, a.from_type_id, a.from_id, a.association_type, " \
		   "tt.name AS to_type, a.to_type_id, a.to_id, a.meta, a.created_at, a.updated_at"

static const char *assoc_table(req_t *r)
{
	return tenant_table(r, "_associations");
}

/* The joins that give both ends' type names to rows of `a`. */
static const char *type_joins(req_t *r)
{
	const char *types = tenant_table(r, "_object_types");
	return arena_printf(r->a, "LEFT JOIN %s ft ON ft.id = a.from_type_id "
			    "LEFT JOIN %s tt ON tt.id = a.to_type_id", types, types);
}

static err_t refuse_users(req_t *r)
{
	if (req_end_user(r))
		return req_fail(r, E_FORBIDDEN,
				"No row-level policy allows end users to access associations");
	return E_OK;
}

/* ^[a-z][a-z0-9_]{0,63}$ */
static bool assoc_type_valid(const char *s)
{
	size_t n = s ? strlen(s) : 0;
	return n >= 1 && n <= ASSOC_TYPE_MAX && s[0] >= 'a' && s[0] <= 'z' &&
	       strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_") == n;
}

static err_t check_assoc_type(req_t *r, const char *s)
{
	if (!assoc_type_valid(s))
		return req_fail_field(r, E_VALIDATION, "association_type",
				      "association_type must match ^[a-z][a-z0-9_]{0,63}$");
	return E_OK;
}

/* The object type named by path parameter param (id or name); 404 names it. */
static err_t side_type(req_t *r, const char *param, objtype_t **t)
{
	const char *v = req_param(r, param);
	err_t rc = objtype_load(r, v ? v : "", t);
	if (rc == E_NOT_FOUND)
		return req_fail_field(r, E_NOT_FOUND, param, "%s: object type %.64s not found",
				      param, v ? v : "");
	return rc;
}

/*
 * The live object of type t whose id is path parameter param; *id gets the
 * id as stored.  With lock, the row is share-locked until the transaction
 * ends, so it cannot be trashed or deleted under the write.
 */
static err_t side_object(req_t *r, const objtype_t *t, const char *param, bool lock,
			 const char **id)
{
	const char *want = req_param(r, param);
	db_result *res;
	db_param p[] = { db_str(want ? want : "") };
	enum db_status st = db_exec(r->db, r->a, arena_printf(r->a,
		"SELECT id, is_deleted FROM %s WHERE id = ?%s", t->table,
		lock ? " LOCK IN SHARE MODE" : ""), p, 1, &res);
	if (st)
		return req_db_error(r, st);
	if (res->nrows == 0)
		return req_fail_field(r, E_NOT_FOUND, param, "%s: no %s object %.64s", param,
				      t->name, want ? want : "");
	if (db_get_int(res, 0, "is_deleted", 0))
		return req_fail_field(r, E_NOT_FOUND, param, "%s: object %.64s is in the trash",
				      param, want);
	*id = db_get(res, 0, "id");
	return E_OK;
}

/* The path of PUT and DELETE, checked: type name first, then both types. */
typedef struct link {
	const char *type;
	objtype_t *from_t, *to_t;
} link_t;

static err_t link_parse(req_t *r, link_t *l)
{
	err_t rc = refuse_users(r);
	if (rc)
		return rc;
	l->type = req_param(r, "association_type");
	if ((rc = check_assoc_type(r, l->type)))
		return rc;
	if ((rc = side_type(r, "from_type", &l->from_t)))
		return rc;
	return side_type(r, "to_type", &l->to_t);
}

/* One association rendered, by id; NULL if there is none. */
static err_t assoc_render(req_t *r, const char *id, cJSON **out)
{
	db_result *res;
	db_param p[] = { db_str(id) };
	enum db_status st = db_exec(r->db, r->a, arena_printf(r->a,
		"SELECT " ASSOC_COLS " FROM %s a %s WHERE a.id = ?", assoc_table(r), type_joins(r)),
		p, 1, &res);
	if (st)
		return req_db_error(r, st);
	*out = res->nrows ? req_own(r, row_to_json(assoc_cols, res, 0)) : NULL;
	return E_OK;
}

static err_t event(req_t *r, const char *name, const cJSON *assoc)
{
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(assoc, "id");
	return outbox_add(r, name, "association", cJSON_IsString(id) ? id->valuestring : "", assoc);
}

/*
 * Inserts (from, type, to) or replaces its meta, in one statement so that
 * racing PUTs of the same link cannot both insert.  The link is new when
 * the row that is there afterwards carries the id just made.
 */
static err_t upsert(req_t *r, const link_t *l, const char *from_id, const char *to_id,
		    const char *meta, cJSON **out, bool *created)
{
	char id[40];
	id_new(id, sizeof(id), "assoc_");
	db_param p[] = { db_str(id), db_str(l->from_t->id), db_str(from_id), db_str(l->type),
			 db_str(l->to_t->id), db_str(to_id), db_str(meta) };
	enum db_status st = db_exec(r->db, r->a, arena_printf(r->a,
		"INSERT INTO %s (id, from_type_id, from_id, association_type, to_type_id, to_id, meta, "
		"created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, UTC_TIMESTAMP(3), UTC_TIMESTAMP(3)) "
		"ON DUPLICATE KEY UPDATE meta = VALUES(meta), updated_at = VALUES(updated_at)",
		assoc_table(r)), p, 7, NULL);
	if (st)
		return req_db_error(r, st);
	db_result *res;
	db_param k[] = { db_str(from_id), db_str(l->type), db_str(to_id) };
	st = db_exec(r->db, r->a, arena_printf(r->a,
		"SELECT id FROM %s WHERE from_id = ? AND association_type = ? AND to_id = ?",
		assoc_table(r)), k, 3, &res);
	if (st)
		return req_db_error(r, st);
	if (res->nrows == 0)
		return req_fail(r, E_INTERNAL, "association vanished after its upsert");
	*created = strcmp(db_get(res, 0, "id"), id) == 0;
	err_t rc = assoc_render(r, db_get(res, 0, "id"), out);
	if (!rc && !*out)
		rc = req_fail(r, E_INTERNAL, "association vanished after its upsert");
	return rc;
}

/* meta as stored: NULL when absent or null (PUT replaces it), else JSON
 * text of at most META_MAX bytes. */
static err_t meta_text(req_t *r, char **out)
{
	*out = NULL;
	const cJSON *meta = cJSON_GetObjectItemCaseSensitive(r->json, "meta");
	if (!cJSON_IsObject(meta))
		return E_OK;
	cJSON *exact = req_own(r, cJSON_Duplicate(meta, true));
	json_exact_numbers(exact);
	char *s = cJSON_PrintUnformatted(exact);
	if (!s)
		return req_fail(r, E_INTERNAL, "cannot serialise meta");
	size_t n = strlen(s);
	*out = arena_strdup(r->a, s);
	cJSON_free(s);
	if (n > META_MAX)
		return req_fail_field(r, E_PAYLOAD_TOO_LARGE, "meta",
				      "meta is %zu bytes serialised; at most %d are allowed", n, META_MAX);
	return E_OK;
}

err_t associations_put(req_t *r)
{
	link_t l;
	err_t rc = link_parse(r, &l);
	if (rc)
		return rc;
	char *meta;
	if ((rc = meta_text(r, &meta)))
		return rc;
	enum db_status st = db_begin(r->db);
	if (st)
		return req_db_error(r, st);
	const char *from_id = NULL, *to_id = NULL;
	cJSON *assoc = NULL;
	bool created = false;
	rc = side_object(r, l.from_t, "from_id", true, &from_id);
	if (!rc)
		rc = side_object(r, l.to_t, "to_id", true, &to_id);
	if (!rc)
		rc = upsert(r, &l, from_id, to_id, meta, &assoc, &created);
	if (!rc)
		rc = event(r, created ? "association.created" : "association.updated", assoc);
	if ((rc = req_tx_end(r, rc)))
		return rc;
	reply_data(r, created ? 201 : 200, cJSON_Duplicate(assoc, true));
	return E_OK;
}

err_t associations_delete(req_t *r)
{
	link_t l;
	err_t rc = link_parse(r, &l);
	if (rc)
		return rc;
	/* Either end may be in the trash: its links can still be removed. */
	db_param p[] = { db_str(req_param(r, "from_id")), db_str(l.type),
			 db_str(req_param(r, "to_id")), db_str(l.from_t->id), db_str(l.to_t->id) };
	enum db_status st = db_begin(r->db);
	if (st)
		return req_db_error(r, st);
	db_result *res;
	cJSON *assoc = NULL;
	st = db_exec(r->db, r->a, arena_printf(r->a,
		"SELECT id FROM %s WHERE from_id = ? AND association_type = ? AND to_id = ? "
		"AND from_type_id = ? AND to_type_id = ? FOR UPDATE", assoc_table(r)), p, 5, &res);
	if (st)
		rc = req_db_error(r, st);
	else if (res->nrows == 0)
		rc = req_fail(r, E_NOT_FOUND, "Association not found");
	if (!rc)
		rc = assoc_render(r, db_get(res, 0, "id"), &assoc);
	if (!rc) {
		db_param q[] = { db_str(db_get(res, 0, "id")) };
		st = db_exec(r->db, r->a, arena_printf(r->a, "DELETE FROM %s WHERE id = ?",
						       assoc_table(r)), q, 1, NULL);
		rc = st ? req_db_error(r, st) : event(r, "association.deleted", assoc);
	}
	if ((rc = req_tx_end(r, rc)))
		return rc;
	cJSON *d = cJSON_CreateObject();
	cJSON_AddStringToObject(d, "id", db_get(res, 0, "id"));
	cJSON_AddTrueToObject(d, "deleted");
	reply_data(r, 200, d);
	return E_OK;
}

/* --- the list ---------------------------------------------------------- */

enum direction { DIR_OUT = 1, DIR_IN = 2, DIR_BOTH = 3 };

typedef struct listq {
	const char *object_id;   /* as stored */
	enum direction dir;
	const char *type;        /* association_type filter or NULL */
	const char *after;       /* cursor: the last id seen, or NULL */
	long long limit;
} listq_t;

static err_t parse_direction(req_t *r, enum direction *dir)
{
	const char *d = req_query(r, "direction");
	*dir = DIR_BOTH;
	if (!d || !*d || !strcmp(d, "both"))
		return E_OK;
	if (!strcmp(d, "outgoing"))
		*dir = DIR_OUT;
	else if (!strcmp(d, "incoming"))
		*dir = DIR_IN;
	else
		return req_fail_field(r, E_VALIDATION, "direction",
				      "direction must be outgoing, incoming or both");
	return E_OK;
}

/* Bound parameters in order of their "?". */
typedef struct params {
	db_param p[12];
	int n;
} params_t;

static void bind(params_t *ps, db_param v)
{
	if (ps->n < (int)(sizeof(ps->p) / sizeof(ps->p[0])))
		ps->p[ps->n++] = v;
}

/* The ids of one page of one direction: (SELECT id … ORDER BY id LIMIT ?). */
static char *side_page(req_t *r, const listq_t *q, const char *col, params_t *ps)
{
	bind(ps, db_str(q->object_id));
	if (q->type)
		bind(ps, db_str(q->type));
	if (q->after)
		bind(ps, db_str(q->after));
	bind(ps, db_int(q->limit + 1));
	return arena_printf(r->a, "(SELECT id FROM %s WHERE %s = ?%s%s ORDER BY id LIMIT ?)",
			    assoc_table(r), col, q->type ? " AND association_type = ?" : "",
			    q->after ? " AND id > ?" : "");
}

/* total: every link of the object in the direction and type asked. */
static err_t list_total(req_t *r, const listq_t *q, long long *total)
{
	params_t ps = { .n = 0 };
	const char *tf = q->type ? " AND association_type = ?" : "";
	char *sql;
	if (q->dir == DIR_BOTH) {
		/* Two indexed counts; a link of the object to itself counts once. */
		bind(&ps, db_str(q->object_id));
		if (q->type)
			bind(&ps, db_str(q->type));
		bind(&ps, db_str(q->object_id));
		bind(&ps, db_str(q->object_id));
		if (q->type)
			bind(&ps, db_str(q->type));
		sql = arena_printf(r->a, "SELECT (SELECT COUNT(*) FROM %s WHERE from_id = ?%s) + "
				   "(SELECT COUNT(*) FROM %s WHERE to_id = ? AND from_id <> ?%s)",
				   assoc_table(r), tf, assoc_table(r), tf);
	} else {
		bind(&ps, db_str(q->object_id));
		if (q->type)
			bind(&ps, db_str(q->type));
		sql = arena_printf(r->a, "SELECT COUNT(*) FROM %s WHERE %s = ?%s", assoc_table(r),
				   q->dir == DIR_OUT ? "from_id" : "to_id", tf);
	}
	db_result *res;
	enum db_status st = db_exec(r->db, r->a, sql, ps.p, ps.n, &res);
	if (st)
		return req_db_error(r, st);
	const char *c = db_cell(res, 0, 0);
	*total = c ? strtoll(c, NULL, 10) : 0;
	return E_OK;
}

static err_t list_page(req_t *r, const listq_t *q, db_result **res)
{
	params_t ps = { .n = 0 };
	const char *ids;
	if (q->dir == DIR_OUT)
		ids = side_page(r, q, "from_id", &ps);
	else if (q->dir == DIR_IN)
		ids = side_page(r, q, "to_id", &ps);
	else {
		const char *out = side_page(r, q, "from_id", &ps);
		ids = arena_printf(r->a, "(%s UNION %s)", out, side_page(r, q, "to_id", &ps));
	}
	bind(&ps, db_int(q->limit + 1));
	/* The page's ids first: at most 2 × (limit + 1) rows to join. */
	enum db_status st = db_exec(r->db, r->a, arena_printf(r->a,
		"SELECT " ASSOC_COLS " FROM %s k STRAIGHT_JOIN %s a ON a.id = k.id %s "
		"ORDER BY a.id LIMIT ?",
		ids, assoc_table(r), type_joins(r)), ps.p, ps.n, res);
	return st ? req_db_error(r, st) : E_OK;
}

static const char *direction_of(const listq_t *q, const char *from_id)
{
	if (q->dir == DIR_OUT)
		return "outgoing";
	if (q->dir == DIR_IN)
		return "incoming";
	return from_id && !strcasecmp(from_id, q->object_id) ? "outgoing" : "incoming";
}

/* A link as listed: its direction seen from the object of the list. */
static cJSON *assoc_row(req_t *r, const db_result *res, int i, const void *ctx)
{
	(void)r;
	cJSON *a = row_to_json(assoc_cols, res, i);
	cJSON_AddStringToObject(a, "direction", direction_of(ctx, db_get(res, i, "from_id")));
	return a;
}

err_t associations_list(req_t *r)
{
	err_t rc = refuse_users(r);
	if (rc)
		return rc;
	listq_t q = { .dir = DIR_BOTH };
	if ((rc = req_query_int(r, "limit", 20, 1, LIST_MAX, &q.limit)))
		return rc;
	if ((rc = parse_direction(r, &q.dir)))
		return rc;
	q.type = req_query(r, "association_type");
	if (q.type && !*q.type)
		q.type = NULL;
	if (q.type && (rc = check_assoc_type(r, q.type)))
		return rc;
	if ((rc = query_id_cursor(r, NULL, "assoc_", &q.after)))
		return rc;
	objtype_t *t;
	if ((rc = side_type(r, "type", &t)))
		return rc;
	if ((rc = side_object(r, t, "id", false, &q.object_id)))
		return rc;
	long long total;
	if ((rc = list_total(r, &q, &total)))
		return rc;
	db_result *res;
	if ((rc = list_page(r, &q, &res)))
		return rc;
	reply_data(r, 200, query_id_page(r, res, q.limit, total, NULL, "assoc_", assoc_row, &q));
	return E_OK;
}

/* --- for other handlers (associations.h) -------------------------------- */

err_t associations_count_for(req_t *r, const char *object_id, long long *n)
{
	listq_t q = { .object_id = object_id, .dir = DIR_BOTH };
	return list_total(r, &q, n);
}

/* Runs DELETE FROM _associations WHERE <col> = ? for each column. */
static err_t delete_where(req_t *r, const char *const *cols, int ncols, const char *value)
{
	db_param p[] = { db_str(value) };
	for (int i = 0; i < ncols; i++) {
		enum db_status st = db_exec(r->db, r->a, arena_printf(r->a,
			"DELETE FROM %s WHERE %s = ?", assoc_table(r), cols[i]), p, 1, NULL);
		if (st)
			return req_db_error(r, st);
	}
	return E_OK;
}

err_t associations_delete_for(req_t *r, const char *object_id)
{
	static const char *const cols[] = { "from_id", "to_id" };
	return delete_where(r, cols, 2, object_id);
}

err_t associations_delete_for_type(req_t *r, const char *object_type_id)
{
	static const char *const cols[] = { "from_type_id", "to_type_id" };
	return delete_where(r, cols, 2, object_type_id);
}

/* The endpoints this file serves; routes.c assembles the table from
 * every file's rows. */
const route_t associations_routes[] = {
	ROUTE("PUT", "/v1/objects/:from_type/:from_id/associations/:association_type/:to_type/:to_id", "Associations", AUTH_BEARER, "write", "objects:{type}:write", R_USER, associations_put, association_put_body, "Create or update association"),
	ROUTE("DELETE", "/v1/objects/:from_type/:from_id/associations/:association_type/:to_type/:to_id", "Associations", AUTH_BEARER, "write", "objects:{type}:write", R_USER, associations_delete, NULL, "Delete association"),
	ROUTE("GET", "/v1/objects/:type/:id/associations", "Associations", AUTH_BEARER, "read", "objects:{type}:read", R_USER, associations_list, NULL, "List associations"),
	ROUTES_END,
};
