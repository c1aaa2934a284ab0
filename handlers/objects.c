/*
 * objects.c - objects of a type: create, get, update (merge, versions,
 * optimistic concurrency), soft delete, restore, trash, list (filters,
 * sort, keyset cursor), batches and version history.
 *
 * An object is a row of its type's table: id, the properties JSON and
 * bookkeeping columns; every defined property is also a generated column,
 * so filters and sorts run on typed, indexable columns.  Every change writes
 * an outbox event in the same transaction.  End-user tokens are refused
 * until row-level policies exist: with no policy, nothing is allowed.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "../common/codec.h"
#include "../common/ids.h"
#include "../common/jsonx.h"
#include "../common/log.h"
#include "../fcgi/securedel.h"
#include "../common/timefmt.h"
#include "objmodel.h"
#include "associations.h"
#include "comments.h"
#include "objects.h"
#include "policies.h"
#include "objquery.h"
#include "views.h"
#include "workflows.h"
#include "routes.h"

#define BATCH_MAX 100
#define LIST_MAX 100

const field_t object_write_body[] = {
	{ "properties", FT_OBJECT, 0, 0, 0 },
	{ "version", FT_INT, 0, 1, 2147483647 },
	{ NULL, 0, 0, 0, 0 },
};

const field_t object_batch_create_body[] = {
	{ "objects", FT_ARRAY, FF_REQUIRED, 0, 0 },
	{ NULL, 0, 0, 0, 0 },
};

const field_t object_batch_read_body[] = {
	{ "object_ids", FT_STRING_ARRAY, FF_REQUIRED, 0, 0 },
	{ NULL, 0, 0, 0, 0 },
};

const field_t object_batch_update_body[] = {
	{ "updates", FT_ARRAY, FF_REQUIRED, 0, 0 },
	{ NULL, 0, 0, 0, 0 },
};

#define OBJ_COLS "id, properties, created_at, updated_at, created_by, version, is_deleted, deleted_at"


/* Narrows w to the rows the caller's row-level policies allow for action
 * (end users only; API keys are not subject to policies). */
static err_t policy_where(req_t *r, const objtype_t *t, const char *action, query_t *w);
static err_t policy_check_row(req_t *r, const objtype_t *t, const char *action,
			      const cJSON *props, const char *id, const char *created_by);


/* Loads the type named in the path. */
static err_t begin(req_t *r, objtype_t **t)
{
	return objtype_load(r, req_param(r, "object_type_id"), t);
}

/* Runs fn on the type named in the path (404 when the tenant has none). */
static err_t on_type(req_t *r, err_t (*fn)(req_t *r, objtype_t *t))
{
	objtype_t *t;
	err_t rc = begin(r, &t);
	return rc ? rc : fn(r, t);
}

/* Parses stored properties JSON (NULL or invalid: {}), numbers exact. */
static cJSON *props_parse(const char *text)
{
	cJSON *props = text ? cJSON_Parse(text) : NULL;
	if (!props)
		props = cJSON_CreateObject();
	json_exact_numbers(props);
	return props;
}

cJSON *object_json(req_t *r, const objtype_t *t, const db_result *res, int row)
{
	char ts[RFC3339_LEN];
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "id", db_get(res, row, "id"));
	cJSON_AddStringToObject(o, "object_type_id", t->id);
	cJSON_AddStringToObject(o, "object_type", t->name);
	cJSON_AddStringToObject(o, "tenant_id", r->tenant.id);
	cJSON_AddItemToObject(o, "properties", props_parse(db_get(res, row, "properties")));
	cJSON_AddStringToObject(o, "created_at", time_from_sql(ts, db_get(res, row, "created_at")));
	cJSON_AddStringToObject(o, "updated_at", time_from_sql(ts, db_get(res, row, "updated_at")));
	const char *by = db_get(res, row, "created_by");
	if (by)
		cJSON_AddStringToObject(o, "created_by", by);
	else
		cJSON_AddNullToObject(o, "created_by");
	cJSON_AddNumberToObject(o, "version", (double)db_get_int(res, row, "version", 1));
	bool deleted = db_get_int(res, row, "is_deleted", 0) != 0;
	cJSON_AddBoolToObject(o, "is_deleted", deleted);
	const char *da = db_get(res, row, "deleted_at");
	if (da)
		cJSON_AddStringToObject(o, "deleted_at", time_from_sql(ts, da));
	else
		cJSON_AddNullToObject(o, "deleted_at");
	return o;
}

const char *obj_actor(const req_t *r)
{
	return r->who.kind == PRINCIPAL_USER ? r->who.user_id : r->who.key_id;
}

/* --- validation ------------------------------------------------------- */

/*
 * Validates in (a JSON object of property values) against t and merges it
 * into base (modified; the new JSON).  A null value removes the property.
 * With is_create, missing properties take their default and required ones
 * must end up present.  where prefixes field names in errors ("objects[3].").
 */
static err_t merge_properties(req_t *r, const objtype_t *t, const cJSON *in, cJSON *base,
			      bool is_create, const char *where)
{
	const cJSON *v;
	cJSON_ArrayForEach(v, in) {
		const prop_t *p = objtype_prop(t, v->string);
		char *field = arena_printf(r->a, "%sproperties.%s", where, v->string);
		if (!p)
			return req_fail_field(r, E_VALIDATION, field, "%s is not a property of %s",
					      v->string, t->name);
		if (cJSON_IsNull(v)) {
			if (p->required)
				return req_fail_field(r, E_VALIDATION, field, "%s is required", p->name);
			cJSON_DeleteItemFromObjectCaseSensitive(base, p->name);
			continue;
		}
		char msg[256];
		cJSON *norm = p->type->check(p, v, msg, sizeof(msg));
		if (!norm)
			return req_fail_field(r, E_VALIDATION, field, "%s", msg);
		bool found;
		err_t rc = prop_target_exists(r, p, norm->valuestring, &found);
		if (!rc && !found)
			rc = req_fail_field(r, E_VALIDATION, field, "%s: no %s %s in this tenant", field,
					    prop_target_noun(p), norm->valuestring);
		if (rc) {
			cJSON_Delete(norm);
			return rc;
		}
		cJSON_DeleteItemFromObjectCaseSensitive(base, p->name);
		cJSON_AddItemToObject(base, p->name, norm);
	}
	for (int i = 0; i < t->nprops; i++) {
		const prop_t *p = &t->props[i];
		if (cJSON_GetObjectItemCaseSensitive(base, p->name))
			continue;
		if (is_create && p->default_value) {
			cJSON_AddItemToObject(base, p->name, cJSON_Duplicate(p->default_value, true));
			continue;
		}
		if (p->required)
			return req_fail_field(r, E_VALIDATION, arena_printf(r->a, "%sproperties.%s", where, p->name),
					      "%s is required", p->name);
	}
	return E_OK;
}

const char *obj_unique_prop(req_t *r, const objtype_t *t)
{
	const char *err = db_last_error(r->db);
	for (int i = 0; i < t->nprops; i++) {
		char ix[64];
		snprintf(ix, sizeof(ix), "ux_%s", t->props[i].id);
		for (char *c = ix; *c; c++)
			*c = (char)(*c >= 'A' && *c <= 'Z' ? *c + 32 : *c);
		if (strstr(err, ix))
			return t->props[i].name;
	}
	return NULL;
}

/* 409 naming the property behind a unique-index violation. */
static err_t unique_conflict(req_t *r, const objtype_t *t, const char *where)
{
	const char *name = obj_unique_prop(r, t);
	if (name)
		return req_fail_field(r, E_CONFLICT, arena_printf(r->a, "%sproperties.%s", where, name),
				      "Another object already has this %s", name);
	return req_fail(r, E_CONFLICT, "The object conflicts with an existing one");
}

static err_t event(req_t *r, const objtype_t *t, const char *name, const char *id, cJSON *obj)
{
	cJSON *payload = req_own(r, cJSON_CreateObject());
	cJSON_AddStringToObject(payload, "object_type_id", t->id);
	cJSON_AddStringToObject(payload, "object_type", t->name);
	cJSON_AddStringToObject(payload, "object_id", id);
	if (obj)
		cJSON_AddItemToObject(payload, "object", cJSON_Duplicate(obj, true));
	return outbox_add(r, name, "object", id, payload);
}

/* --- single objects ---------------------------------------------------- */

/* Reads one object; with action, only if the caller's policies allow
 * that action on it (an object they may not see is simply not found). */
static err_t fetch(req_t *r, const objtype_t *t, const char *id, const char *action,
		   bool for_update, bool include_deleted, db_result **res)
{
	query_t w;
	query_init(r, &w, "id = ?");
	query_bind(r, &w, db_str(id));
	if (!include_deleted)
		query_and(r, &w, "is_deleted = 0");
	err_t rc;
	if (action && (rc = policy_where(r, t, action, &w)))
		return rc;
	enum db_status st = db_exec(r->db, r->a, arena_printf(r->a,
		"SELECT " OBJ_COLS " FROM %s WHERE %s%s", t->table, w.sql,
		for_update ? " FOR UPDATE" : ""), w.p, w.np, res);
	if (st)
		return req_db_error(r, st);
	if ((*res)->nrows == 0)
		return req_fail(r, E_NOT_FOUND, "Object not found");
	return E_OK;
}
/* Inserts one validated object inside the open transaction. */
/* The row just written, as fetch() would return it, without asking the
 * database again. */
static db_result *row_of(req_t *r, const char *const *names, const char *const *values, int n)
{
	db_result *res = arena_calloc(r->a, 1, sizeof(*res));
	res->nrows = 1;
	res->ncols = n;
	res->names = (const char **)names;
	res->cells = arena_calloc(r->a, (size_t)n, sizeof(char *));
	res->lens = arena_calloc(r->a, (size_t)n, sizeof(unsigned long));
	for (int i = 0; i < n; i++)
		res->cells[i] = (char *)values[i];
	return res;
}

cJSON *object_json_new(req_t *r, const objtype_t *t, const char *id, const char *props,
			const char *now)
{
	static const char *const names[] = { "id", "properties", "created_at", "updated_at",
					     "created_by", "version", "is_deleted" };
	const char *values[] = { id, props, now, now, obj_actor(r), "1", "0" };
	return object_json(r, t, row_of(r, names, values, 7), 0);
}

/* Now as MariaDB DATETIME(3) text in UTC. */
char *obj_sql_now(req_t *r)
{
	long long ms = time_now_ms();
	time_t sec = (time_t)(ms / 1000);
	struct tm tm;
	gmtime_r(&sec, &tm);
	return arena_printf(r->a, "%04d-%02d-%02d %02d:%02d:%02d.%03lld", tm.tm_year + 1900,
			    tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms % 1000);
}

static enum db_status insert_row(req_t *r, const objtype_t *t, const char *id, const char *props,
				 const char *now, bool defer)
{
	db_param p[] = { db_str(id), db_str(props), db_str(now), db_str(now), db_str(obj_actor(r)) };
	const char *sql = arena_printf(r->a,
		"INSERT INTO %s (id, properties, created_at, updated_at, created_by, version) "
		"VALUES (?, ?, ?, ?, ?, 1)", t->table);
	return defer ? db_exec_deferred(r->db, r->a, sql, p, 5) : db_exec(r->db, r->a, sql, p, 5, NULL);
}

enum db_status obj_insert_row(req_t *r, const objtype_t *t, const char *id, const char *props,
			      const char *now)
{
	return insert_row(r, t, id, props, now, false);
}

/* True if no property of t is unique: an insert can then fail only on
 * data the server refuses, which needs no answer before the commit. */
static bool no_unique(const objtype_t *t)
{
	for (int i = 0; i < t->nprops; i++)
		if (t->props[i].unique)
			return false;
	return true;
}

/* Inserts one validated object inside the open transaction; *out (if not
 * NULL) receives it as the API renders it.  With defer, and no unique
 * property to name in a 409, the row goes with the COMMIT, as the event's
 * rows do (a create is then one round trip): the caller's commit reports
 * what the server refused. */
static err_t insert_object(req_t *r, const objtype_t *t, const cJSON *in, const char *where,
			   bool defer, char *id, size_t idlen, cJSON **out)
{
	cJSON *props = req_own(r, cJSON_CreateObject());
	err_t rc = merge_properties(r, t, in, props, true, where);
	if (rc)
		return rc;
	id_new(id, idlen, "obj_");
	if ((rc = policy_check_row(r, t, "insert", props, id, obj_actor(r))))
		return rc;
	json_exact_numbers(props);
	char *text = req_json_text(r, props), *now = obj_sql_now(r);
	enum db_status st = insert_row(r, t, id, text, now, defer && no_unique(t));
	if (st == DB_DUPLICATE)
		return unique_conflict(r, t, where);
	if (st)
		return req_db_error(r, st);
	cJSON *obj = req_own(r, object_json_new(r, t, id, text, now));
	if (out)
		*out = obj;
	return event(r, t, "object.created", id, obj);
}

/*
 * List totals are cached in Redis, one hash per type (field: a digest of
 * the filter), because counting a large filtered set on every page would
 * cost more than the page.  Every committed write to the type drops the
 * hash; entries also expire after TOTALS_TTL seconds, which bounds how long
 * a count that raced a write can be off.
 */
#define TOTALS_TTL "10"

static char *totals_key(req_t *r, const objtype_t *t)
{
	return cache_tkey(r->a, "totals", r->tenant.id, "%s", t->id);
}

void obj_totals_drop(req_t *r, const objtype_t *t)
{
	const char *argv[] = { "DEL", totals_key(r, t) };
	if (cache_send(r->cache, 2, argv))
		log_warn("%s: cannot drop the cached totals of %s", r->request_id, t->name);
}

static err_t finish(req_t *r, const objtype_t *t, err_t rc)
{
	if ((rc = req_tx_end(r, rc)))
		return rc;
	obj_totals_drop(r, t);
	return E_OK;
}

static err_t reply_object(req_t *r, const objtype_t *t, const char *id, int status)
{
	db_result *res;
	err_t rc = fetch(r, t, id, NULL, false, true, &res);
	if (rc)
		return rc;
	reply_data(r, status, object_json(r, t, res, 0));
	return E_OK;
}

static err_t create(req_t *r, objtype_t *t)
{
	err_t rc;
	if (cJSON_GetObjectItemCaseSensitive(r->json, "version"))
		return req_fail_field(r, E_VALIDATION, "version", "version is set by the server");
	const cJSON *in = cJSON_GetObjectItemCaseSensitive(r->json, "properties");
	char id[40];
	enum db_status st = db_begin(r->db);
	if (st)
		return req_db_error(r, st);
	cJSON *obj = NULL;
	rc = insert_object(r, t, in, "", true, id, sizeof(id), &obj);
	if ((rc = finish(r, t, rc))) {
		/* A unique property this worker did not know of yet (the row
		 * went with the commit): a 409 as the insert would give. */
		if (rc == E_CONFLICT && !r->err_details)
			return unique_conflict(r, t, "");
		return rc;
	}
	reply_data(r, 201, cJSON_Duplicate(obj, true));
	return E_OK;
}

/* Ends the write's transaction with rc and replies the object as it now
 * is. */
static err_t finish_reply(req_t *r, const objtype_t *t, const char *id, err_t rc)
{
	if ((rc = finish(r, t, rc)))
		return rc;
	return reply_object(r, t, id, 200);
}

err_t objects_create(req_t *r)
{
	return on_type(r, create);
}

static err_t get(req_t *r, objtype_t *t)
{
	err_t rc;
	db_result *res;
	if ((rc = fetch(r, t, req_param(r, "object_id"), "select", false, false, &res)))
		return rc;
	reply_data(r, 200, object_json(r, t, res, 0));
	return E_OK;
}

err_t objects_get(req_t *r)
{
	return on_type(r, get);
}

/* The expected version from If-Match ("3", "\"3\"" or W/"3") or the body. */
static err_t expected_version(req_t *r, const cJSON *body, long long *out)
{
	*out = 0;
	const char *im = req_env(r, "HTTP_IF_MATCH");
	if (im && *im) {
		const char *p = im;
		if (!strncmp(p, "W/", 2))
			p += 2;
		if (*p == '"')
			p++;
		char *end;
		long long v = strtoll(p, &end, 10);
		if (end == p || v < 1 || (*end && *end != '"'))
			return req_fail_field(r, E_VALIDATION, "If-Match", "If-Match must be an object version");
		*out = v;
	}
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(body, "version");
	if (cJSON_IsNumber(v)) {
		if (*out && *out != (long long)v->valuedouble)
			return req_fail_field(r, E_VALIDATION, "version", "version and If-Match disagree");
		*out = (long long)v->valuedouble;
	}
	return E_OK;
}

/* Applies a merge to one object inside the open transaction; *version gets
 * the new version. */
static err_t update_object(req_t *r, const objtype_t *t, const char *id, const cJSON *in,
			   long long want_version, const char *where, long long *version)
{
	db_result *cur;
	err_t rc = fetch(r, t, id, "update", true, false, &cur);
	if (rc || (rc = workflow_guard(r, id)))
		return rc;
	long long v = db_get_int(cur, 0, "version", 1);
	if (want_version && want_version != v)
		return req_fail_field(r, E_CONFLICT, arena_printf(r->a, "%sversion", where),
				      "Version mismatch: the object is at version %lld", v);
	const char *old = db_get(cur, 0, "properties");
	cJSON *props = req_own(r, cJSON_Parse(old ? old : "{}"));
	if (!props)
		props = req_own(r, cJSON_CreateObject());
	if ((rc = merge_properties(r, t, in, props, false, where)))
		return rc;
	if ((rc = policy_check_row(r, t, "update", props, id, db_get(cur, 0, "created_by"))))
		return rc;
	char vid[40];
	id_new(vid, sizeof(vid), "ver_");
	db_param pv[] = { db_str(vid), db_str(t->id), db_str(id), db_int(v), db_str(old),
			  db_str(obj_actor(r)) };
	enum db_status st = db_exec(r->db, r->a, arena_printf(r->a,
		"INSERT INTO %s (id, object_type_id, object_id, version, properties, changed_by, created_at) "
		"VALUES (?, ?, ?, ?, ?, ?, UTC_TIMESTAMP(3))", tenant_table(r, "_object_versions")),
		pv, 6, NULL);
	if (st)
		return req_db_error(r, st);
	json_exact_numbers(props);
	db_param pu[] = { db_str(req_json_text(r, props)), db_str(id) };
	st = db_exec(r->db, r->a, arena_printf(r->a,
		"UPDATE %s SET properties = ?, version = version + 1, updated_at = UTC_TIMESTAMP(3) "
		"WHERE id = ?", t->table), pu, 2, NULL);
	if (st == DB_DUPLICATE)
		return unique_conflict(r, t, where);
	if (st)
		return req_db_error(r, st);
	*version = v + 1;
	cJSON *changes = req_own(r, cJSON_CreateObject());
	cJSON_AddItemToObject(changes, "properties", cJSON_Duplicate(in, true));
	json_exact_numbers(changes);
	cJSON_AddNumberToObject(changes, "version", (double)*version);
	return event(r, t, "object.updated", id, changes);
}

static err_t update(req_t *r, objtype_t *t)
{
	err_t rc;
	long long want;
	if ((rc = expected_version(r, r->json, &want)))
		return rc;
	const cJSON *in = cJSON_GetObjectItemCaseSensitive(r->json, "properties");
	cJSON *empty = req_own(r, cJSON_CreateObject());
	const char *id = req_param(r, "object_id");
	long long version;
	enum db_status st = db_begin(r->db);
	if (st)
		return req_db_error(r, st);
	return finish_reply(r, t, id, update_object(r, t, id, in ? in : empty, want, "", &version));
}

err_t objects_patch(req_t *r, const objtype_t *t, const char *id, const cJSON *props)
{
	long long version;
	enum db_status st = db_begin(r->db);
	if (st)
		return req_db_error(r, st);
	return finish(r, t, update_object(r, t, id, props, 0, "", &version));
}

err_t objects_update(req_t *r)
{
	return on_type(r, update);
}

static err_t delete(req_t *r, objtype_t *t)
{
	err_t rc;
	const char *id = req_param(r, "object_id");
	const char *force = req_query(r, "force");
	bool permanent = force && !strcmp(force, "true");
	db_result *cur;
	if ((rc = fetch(r, t, id, "delete", false, permanent, &cur)))
		return rc;
	if (permanent) {
		/* Associations and comments hang on an object: deleting it for
		 * good needs the confirm token when it has any. */
		dependency_t deps[] = { { "associations", "Associations", 0 },
					{ "comments", "Comments", 0 } };
		bool cascade;
		if ((rc = associations_count_for(r, id, &deps[0].count)) ||
		    (rc = comments_count_for(r, id, &deps[1].count)) ||
		    (rc = securedel_check(r, "object", id, deps, 2, &cascade)))
			return rc;
	}
	enum db_status st = db_begin(r->db);
	if (st)
		return req_db_error(r, st);
	/* The row changes only if it is still as fetched: of two racing
	 * deletes, one finds nothing to do (404) and writes no event. */
	db_param p[] = { db_str(id) };
	db_result *res;
	st = db_exec(r->db, r->a, permanent
		? arena_printf(r->a, "DELETE FROM %s WHERE id = ?", t->table)
		: arena_printf(r->a, "UPDATE %s SET is_deleted = 1, deleted_at = UTC_TIMESTAMP(3) "
			       "WHERE id = ? AND is_deleted = 0", t->table), p, 1, &res);
	if (st)
		rc = req_db_error(r, st);
	else if (res->affected == 0)
		rc = req_fail(r, E_NOT_FOUND, "Object not found");
	if (!rc && permanent) {
		st = db_exec(r->db, r->a, arena_printf(r->a, "DELETE FROM %s WHERE object_id = ?",
			tenant_table(r, "_object_versions")), p, 1, NULL);
		rc = st ? req_db_error(r, st) : E_OK;
		if (!rc && !(rc = associations_delete_for(r, id)))
			rc = comments_delete_for(r, id);
	}
	if (!rc) {
		cJSON *info = req_own(r, cJSON_CreateObject());
		cJSON_AddBoolToObject(info, "permanent", permanent);
		rc = event(r, t, "object.deleted", id, info);
	}
	if ((rc = finish(r, t, rc)))
		return rc;
	cJSON *d = cJSON_CreateObject();
	cJSON_AddStringToObject(d, "id", id);
	cJSON_AddTrueToObject(d, "deleted");
	cJSON_AddBoolToObject(d, "permanent", permanent);
	reply_data(r, 200, d);
	return E_OK;
}

err_t objects_delete(req_t *r)
{
	return on_type(r, delete);
}

/* Takes object id out of the trash in the open transaction:
 * object.restored; 404 when it is not in the trash. */
static err_t restore_row(req_t *r, const objtype_t *t, const char *id)
{
	db_param p[] = { db_str(id) };
	db_result *res;
	enum db_status st = db_exec(r->db, r->a, arena_printf(r->a,
		"UPDATE %s SET is_deleted = 0, deleted_at = NULL, updated_at = UTC_TIMESTAMP(3) "
		"WHERE id = ? AND is_deleted = 1", t->table), p, 1, &res);
	if (st == DB_DUPLICATE)
		return unique_conflict(r, t, "");
	if (st)
		return req_db_error(r, st);
	if (res->affected == 0)
		return req_fail(r, E_NOT_FOUND, "No object %s in the trash", id);
	return event(r, t, "object.restored", id, NULL);
}

static err_t restore(req_t *r, objtype_t *t)
{
	err_t rc;
	const char *id = req_param(r, "object_id");
	/* Restoring is an update: an end user needs an update policy that
	 * allows the object. */
	db_result *cur;
	if (req_end_user(r) && (rc = fetch(r, t, id, "update", false, true, &cur)))
		return rc;
	enum db_status st = db_begin(r->db);
	if (st)
		return req_db_error(r, st);
	return finish_reply(r, t, id, restore_row(r, t, id));
}

err_t objects_restore(req_t *r)
{
	return on_type(r, restore);
}

static err_t versions(req_t *r, objtype_t *t)
{
	err_t rc;
	long long limit;
	if ((rc = req_query_int(r, "limit", 20, 1, LIST_MAX, &limit)))
		return rc;
	const char *id = req_param(r, "object_id");
	db_result *res;
	if ((rc = fetch(r, t, id, "select", false, true, &res)))
		return rc;
	db_param p[] = { db_str(id), db_int(limit) };
	enum db_status st = db_exec(r->db, r->a, arena_printf(r->a,
		"SELECT version, properties, changed_by, created_at FROM %s WHERE object_id = ? "
		"ORDER BY version DESC LIMIT ?", tenant_table(r, "_object_versions")), p, 2, &res);
	if (st)
		return req_db_error(r, st);
	cJSON *list = cJSON_CreateArray();
	for (int i = 0; i < res->nrows; i++) {
		char ts[RFC3339_LEN];
		cJSON *v = cJSON_CreateObject();
		cJSON_AddStringToObject(v, "object_id", id);
		cJSON_AddNumberToObject(v, "version", (double)db_get_int(res, i, "version", 0));
		cJSON_AddItemToObject(v, "properties", props_parse(db_get(res, i, "properties")));
		const char *by = db_get(res, i, "changed_by");
		if (by)
			cJSON_AddStringToObject(v, "changed_by", by);
		else
			cJSON_AddNullToObject(v, "changed_by");
		cJSON_AddStringToObject(v, "created_at", time_from_sql(ts, db_get(res, i, "created_at")));
		cJSON_AddItemToArray(list, v);
	}
	reply_data(r, 200, list);
	return E_OK;
}

err_t objects_versions(req_t *r)
{
	return on_type(r, versions);
}

/* --- lists ------------------------------------------------------------- */

/*
 * Compiles a policy condition to SQL with the leaf rules of list filters.
 * Each leaf is made two-valued (COALESCE … 0) so that "not" means what the
 * evaluator in policies.c means; a leaf that cannot hold (an identity the
 * caller lacks, a value that does not fit the property) is false.
 */
static err_t cond_sql(req_t *r, const objtype_t *t, query_t *w, const cJSON *c,
		      const authctx_t *a, char **out)
{
	if (cJSON_IsBool(c)) {
		*out = arena_strdup(r->a, cJSON_IsTrue(c) ? "1 = 1" : "1 = 0");
		return E_OK;
	}
	const cJSON *and = cJSON_GetObjectItemCaseSensitive(c, "and");
	const cJSON *or = cJSON_GetObjectItemCaseSensitive(c, "or");
	const cJSON *not = cJSON_GetObjectItemCaseSensitive(c, "not");
	err_t rc;
	if (and || or) {
		char *sql = arena_strdup(r->a, "");
		const cJSON *list = and ? and : or, *it;
		cJSON_ArrayForEach(it, list) {
			char *part;
			if ((rc = cond_sql(r, t, w, it, a, &part)))
				return rc;
			sql = arena_printf(r->a, "%s%s(%s)", sql, *sql ? (and ? " AND " : " OR ") : "", part);
		}
		*out = *sql ? arena_printf(r->a, "(%s)", sql) : arena_strdup(r->a, and ? "1 = 1" : "1 = 0");
		return E_OK;
	}
	if (not) {
		char *part;
		if ((rc = cond_sql(r, t, w, not, a, &part)))
			return rc;
		*out = arena_printf(r->a, "NOT (%s)", part);
		return E_OK;
	}
	const cJSON *op = cJSON_GetObjectItemCaseSensitive(c, "operator");
	bool needs_value = cJSON_IsString(op) && strcmp(op->valuestring, "is_null") &&
			   strcmp(op->valuestring, "is_not_null");
	const cJSON *v = policy_value(r, cJSON_GetObjectItemCaseSensitive(c, "value"), a);
	if (needs_value && (!v || cJSON_IsNull(v))) {
		*out = arena_strdup(r->a, "1 = 0");
		return E_OK;
	}
	cJSON *leaf = req_own(r, cJSON_Duplicate(c, true));
	if (needs_value)
		cJSON_ReplaceItemInObjectCaseSensitive(leaf, "value", cJSON_Duplicate(v, true));
	int np = w->np;
	char *clause = NULL;
	if (query_filter(r, t, w, leaf, "policy", 0, &clause) != E_OK) {
		/* The policy's value does not fit the property: never true. */
		r->err_message = NULL;
		r->err_details = NULL;
		w->np = np;
		*out = arena_strdup(r->a, "1 = 0");
		return E_OK;
	}
	*out = arena_printf(r->a, "COALESCE((%s), 0)", clause);
	return E_OK;
}

/* The conditions of the caller's policies for action and the identity
 * they read; *conds stays NULL for an API key, which they do not bind. */
static err_t user_policies(req_t *r, const objtype_t *t, const char *action, cJSON **conds,
			   authctx_t *a)
{
	*conds = NULL;
	if (!req_end_user(r))
		return E_OK;
	err_t rc = policies_for(r, t, action, conds);
	if (!rc)
		*a = policy_auth(r);
	return rc;
}

static err_t policy_where(req_t *r, const objtype_t *t, const char *action, query_t *w)
{
	cJSON *conds;
	authctx_t a;
	err_t rc = user_policies(r, t, action, &conds, &a);
	if (rc || !conds)
		return rc;
	char *any = arena_strdup(r->a, "");
	const cJSON *c;
	cJSON_ArrayForEach(c, conds) {
		char *part;
		if ((rc = cond_sql(r, t, w, c, &a, &part)))
			return rc;
		any = arena_printf(r->a, "%s%s%s", any, *any ? " OR " : "", part);
	}
	/* No policy for the action: nothing is allowed (as in PostgreSQL). */
	query_and(r, w, *any ? arena_printf(r->a, "(%s)", any) : "1 = 0");
	return E_OK;
}

/* For end users: does any policy for action allow the row (new values of
 * an insert or update)?  403 when none does. */
static err_t policy_check_row(req_t *r, const objtype_t *t, const char *action,
			      const cJSON *props, const char *id, const char *created_by)
{
	cJSON *conds;
	authctx_t a;
	err_t rc = user_policies(r, t, action, &conds, &a);
	if (rc || !conds)
		return rc;
	const cJSON *c;
	cJSON_ArrayForEach(c, conds)
		if (policy_eval(r, c, props, id, created_by, &a, NULL, 0))
			return E_OK;
	if (cJSON_GetArraySize(conds) == 0)
		return req_fail(r, E_FORBIDDEN,
				"No policy of %s allows end users to %s rows: end users can do nothing "
				"with a type until an administrator adds a policy "
				"(POST /v1/object-types/%s/policies)", t->name, action, t->name);
	return req_fail(r, E_FORBIDDEN, "The row violates the %s policies of %s", action, t->name);
}

/* A digest of the WHERE clause and its parameters: the filter's identity. */
static char *where_digest(req_t *r, const query_t *w)
{
	crypto_hash_sha256_state st;
	crypto_hash_sha256_init(&st);
	crypto_hash_sha256_update(&st, (const unsigned char *)w->sql, strlen(w->sql) + 1);
	for (int i = 0; i < w->np; i++) {
		const db_param *p = &w->p[i];
		char buf[64];
		int n = p->type == DBP_INT ? snprintf(buf, sizeof(buf), "i%lld", p->i)
			: p->type == DBP_DOUBLE ? snprintf(buf, sizeof(buf), "d%.17g", p->d)
			: snprintf(buf, sizeof(buf), "%c%zu:", p->type == DBP_NULL ? 'n' : 's', p->len);
		crypto_hash_sha256_update(&st, (const unsigned char *)buf, (size_t)n);
		if (p->type == DBP_STR)
			crypto_hash_sha256_update(&st, (const unsigned char *)p->s, p->len);
	}
	unsigned char h[crypto_hash_sha256_BYTES];
	crypto_hash_sha256_final(&st, h);
	char *hex = arena_alloc(r->a, 65);
	hex_encode(hex, 65, h, 32);
	return hex;
}

static err_t count_filtered(req_t *r, const objtype_t *t, const query_t *w, long long *total)
{
	char *key = totals_key(r, t), *field = where_digest(r, w);
	redisReply *rep;
	const char *get[] = { "HGET", key, field };
	if (cache_cmd(r->cache, r->a, &rep, 3, get) == CACHE_OK && rep->type == REDIS_REPLY_STRING) {
		*total = strtoll(rep->str, NULL, 10);
		return E_OK;
	}
	err_t rc = query_count(r, t->table, w, total);
	if (rc)
		return rc;
	const char *set[] = { "HSET", key, field, arena_printf(r->a, "%lld", *total) };
	const char *exp[] = { "EXPIRE", key, TOTALS_TTL, "NX" };
	const char **argvs[] = { set, exp };
	int argcs[] = { 4, 4 };
	redisReply *reps[2];
	cache_pipeline(r->cache, r->a, 2, argcs, argvs, reps);
	return E_OK;
}

static cJSON *object_row(req_t *r, const db_result *res, int i, const void *t)
{
	return object_json(r, t, res, i);
}

static err_t list_objects(req_t *r, bool trash)
{
	objtype_t *t;
	err_t rc = begin(r, &t);
	if (rc)
		return rc;
	long long limit;
	if ((rc = req_query_int(r, "limit", 20, 1, LIST_MAX, &limit)))
		return rc;
	/* A saved view gives its filters (ANDed with any in the request) and
	 * its order (unless the request names one). */
	cJSON *view_filters = NULL;
	const char *view_sort = NULL, *view_order = NULL;
	const char *view_id = req_query(r, "view_id");
	if (view_id && *view_id &&
	    (rc = views_get_for_list(r, t, view_id, &view_filters, &view_sort, &view_order)))
		return rc;
	query_order_t o;
	if ((rc = query_object_order(r, t, view_sort, view_order, &o)))
		return rc;
	query_t w;
	query_init(r, &w, trash ? "is_deleted = 1" : "is_deleted = 0");
	if ((rc = policy_where(r, t, "select", &w)) ||
	    (view_filters && (rc = query_filters(r, t, &w, view_filters, "filter", 0))))
		return rc;
	const char *filter = req_query(r, "filter");
	if (filter && *filter &&
	    (rc = query_filters(r, t, &w, req_own(r, cJSON_Parse(filter)), "filter", 0)))
		return rc;
	/* total counts the filtered set, before the cursor narrows it. */
	long long total = 0;
	if ((rc = count_filtered(r, t, &w, &total)))
		return rc;
	db_result *res;
	if ((rc = query_rows(r, arena_printf(r->a, OBJ_COLS ", `%s` AS _sortv", o.col), t->table, &w,
			     &o, req_query(r, "cursor"), limit, 0, &res)))
		return rc;
	reply_data(r, 200, query_page(r, &o, res, limit, total, "_sortv", object_row, t));
	return E_OK;
}

err_t objects_list(req_t *r)
{
	return list_objects(r, false);
}

err_t objects_trash(req_t *r)
{
	return list_objects(r, true);
}

/* --- batches ----------------------------------------------------------- */

static err_t batch_size(req_t *r, const cJSON *arr, const char *field)
{
	int n = cJSON_GetArraySize(arr);
	if (n == 0 || n > BATCH_MAX)
		return req_fail_field(r, E_VALIDATION, field, "%s must hold 1 to %d items (got %d)",
				      field, BATCH_MAX, n);
	return E_OK;
}

/*
 * Runs one write per item of the batch array `field` in one transaction:
 * all succeed or none do, and the error names the failing item
 * ("objects[3].…").  Each item's result is appended to out.
 */
typedef err_t (*batch_item_fn)(req_t *r, const objtype_t *t, const cJSON *item,
			       const char *where, cJSON *out);

static err_t batch_run(req_t *r, const char *field, batch_item_fn fn, int status,
		       cJSON *(*shape)(cJSON *out))
{
	objtype_t *t;
	err_t rc = begin(r, &t);
	if (rc)
		return rc;
	const cJSON *items = cJSON_GetObjectItemCaseSensitive(r->json, field);
	if ((rc = batch_size(r, items, field)))
		return rc;
	cJSON *out = req_own(r, cJSON_CreateArray());
	enum db_status st = db_begin(r->db);
	if (st)
		return req_db_error(r, st);
	int i = 0;
	const cJSON *it;
	cJSON_ArrayForEach(it, items)
		if ((rc = fn(r, t, it, arena_printf(r->a, "%s[%d].", field, i++), out)))
			break;
	if ((rc = finish(r, t, rc)))
		return rc;
	reply_data(r, status, shape(cJSON_Duplicate(out, true)));
	return E_OK;
}

static err_t batch_create_item(req_t *r, const objtype_t *t, const cJSON *o, const char *where,
			       cJSON *out)
{
	const cJSON *in = cJSON_GetObjectItemCaseSensitive(o, "properties");
	if (!cJSON_IsObject(o) || !cJSON_IsObject(in))
		return req_fail_field(r, E_VALIDATION, arena_printf(r->a, "%sproperties", where),
				      "each item is {\"properties\": {…}}");
	char id[40];
	err_t rc = insert_object(r, t, in, where, false, id, sizeof(id), NULL);
	if (!rc)
		cJSON_AddItemToArray(out, cJSON_CreateString(id));
	return rc;
}

/* {created, ids} from the list of ids. */
static cJSON *created_shape(cJSON *ids)
{
	cJSON *d = cJSON_CreateObject();
	cJSON_AddNumberToObject(d, "created", cJSON_GetArraySize(ids));
	cJSON_AddItemToObject(d, "ids", ids);
	return d;
}

err_t objects_batch_create(req_t *r)
{
	return batch_run(r, "objects", batch_create_item, 201, created_shape);
}

static err_t batch_read(req_t *r, objtype_t *t)
{
	err_t rc;
	const cJSON *ids = cJSON_GetObjectItemCaseSensitive(r->json, "object_ids");
	if ((rc = batch_size(r, ids, "object_ids")))
		return rc;
	query_t w;
	query_init(r, &w, "is_deleted = 0");
	if ((rc = policy_where(r, t, "select", &w)))
		return rc;
	char *list = arena_strdup(r->a, "");
	const cJSON *it;
	cJSON_ArrayForEach(it, ids) {
		query_bind(r, &w, db_str(it->valuestring));
		list = arena_printf(r->a, "%s%s?", list, *list ? ", " : "");
	}
	db_result *res;
	enum db_status st = db_exec(r->db, r->a, arena_printf(r->a,
		"SELECT " OBJ_COLS " FROM %s WHERE %s AND id IN (%s)", t->table, w.sql, list),
		w.p, w.np, &res);
	if (st)
		return req_db_error(r, st);
	/* In the order asked for; ids that do not exist are left out. */
	cJSON *out = cJSON_CreateArray();
	cJSON_ArrayForEach(it, ids)
		for (int i = 0; i < res->nrows; i++)
			if (!strcmp(db_get(res, i, "id"), it->valuestring)) {
				cJSON_AddItemToArray(out, object_json(r, t, res, i));
				break;
			}
	reply_data(r, 200, out);
	return E_OK;
}

err_t objects_batch_read(req_t *r)
{
	return on_type(r, batch_read);
}

static err_t batch_update_item(req_t *r, const objtype_t *t, const cJSON *u, const char *where,
			       cJSON *out)
{
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(u, "object_id");
	const cJSON *in = cJSON_GetObjectItemCaseSensitive(u, "properties");
	const cJSON *ver = cJSON_GetObjectItemCaseSensitive(u, "version");
	const char *bad = !cJSON_IsString(id) ? "object_id" : !cJSON_IsObject(in) ? "properties"
			: ver && !cJSON_IsNumber(ver) ? "version" : NULL;
	if (bad)
		return req_fail_field(r, E_VALIDATION, arena_printf(r->a, "%s%s", where, bad),
				      "each item is {\"object_id\", \"properties\": {…}, \"version\"?}");
	long long version;
	err_t rc = update_object(r, t, id->valuestring, in, ver ? (long long)ver->valuedouble : 0,
				 where, &version);
	if (rc == E_NOT_FOUND)
		return req_fail_field(r, E_NOT_FOUND, arena_printf(r->a, "%sobject_id", where),
				      "%sobject_id: object not found", where);
	if (rc)
		return rc;
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "object_id", id->valuestring);
	cJSON_AddNumberToObject(o, "version", (double)version);
	cJSON_AddItemToArray(out, o);
	return E_OK;
}

static cJSON *as_is(cJSON *out)
{
	return out;
}

err_t objects_batch_update(req_t *r)
{
	return batch_run(r, "updates", batch_update_item, 200, as_is);
}

/* The endpoints this file serves; routes.c assembles the table from
 * every file's rows. */
const route_t objects_routes[] = {
	ROUTE("POST", "/v1/objects/:object_type_id/batch/create", "Objects", AUTH_BEARER, "write", "objects:{type}:write", R_USER, objects_batch_create, object_batch_create_body, "Batch create objects"),
	ROUTE("POST", "/v1/objects/:object_type_id", "Objects", AUTH_BEARER, "write", "objects:{type}:write", R_USER, objects_create, object_write_body, "Create object"),
	ROUTE("GET", "/v1/objects/:object_type_id/:object_id", "Objects", AUTH_BEARER, "read", "objects:{type}:read", R_USER, objects_get, NULL, "Get object"),
	ROUTE("PATCH", "/v1/objects/:object_type_id/:object_id", "Objects", AUTH_BEARER, "write", "objects:{type}:write", R_USER, objects_update, object_write_body, "Update object"),
	ROUTE("DELETE", "/v1/objects/:object_type_id/:object_id", "Objects", AUTH_BEARER, "write", "objects:{type}:write", R_USER, objects_delete, NULL, "Delete object"),
	ROUTE("GET", "/v1/objects/:object_type_id/list", "Objects", AUTH_BEARER, "read", "objects:{type}:read", R_USER, objects_list, NULL, "List objects"),
	ROUTE("POST", "/v1/objects/:object_type_id/batch/read", "Objects", AUTH_BEARER, "read", "objects:{type}:read", R_USER, objects_batch_read, object_batch_read_body, "Batch read objects"),
	ROUTE("POST", "/v1/objects/:object_type_id/batch/update", "Objects", AUTH_BEARER, "write", "objects:{type}:write", R_USER, objects_batch_update, object_batch_update_body, "Batch update objects"),
	ROUTE("GET", "/v1/objects/:object_type_id/trash", "Objects", AUTH_BEARER, "read", "objects:{type}:read", R_USER, objects_trash, NULL, "List trashed objects"),
	ROUTE("POST", "/v1/objects/:object_type_id/:object_id/restore", "Objects", AUTH_BEARER, "write", "objects:{type}:write", R_USER, objects_restore, NULL, "Restore deleted object"),
	ROUTE("GET", "/v1/objects/:object_type_id/:object_id/versions", "Versions", AUTH_BEARER, "read", "objects:{type}:read", R_USER, objects_versions, NULL, "List object version history"),
	ROUTES_END,
};

/* --- for other handlers (reports, forms) ---------------------------------- */

err_t objects_policy_where(req_t *r, const objtype_t *t, const char *action, query_t *w)
{
	return policy_where(r, t, action, w);
}

err_t objects_insert(req_t *r, const objtype_t *t, const cJSON *props, char *id, size_t idlen,
		     cJSON **out)
{
	return insert_object(r, t, props, "", false, id, idlen, out);
}
