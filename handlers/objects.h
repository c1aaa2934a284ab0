/*
 * objects.h - what import/export and other handlers share with objects.c:
 * rendering, the actor of a write, timestamps, unique-conflict lookup and
 * the cached list totals.
 */
#ifndef TESSERA_OBJECTS_H
#define TESSERA_OBJECTS_H

#include "../common/db.h"
#include "../fcgi/query.h"
#include "objmodel.h"

/* Row `row` of a SELECT of an object table as the API renders it. */
cJSON *object_json(req_t *r, const objtype_t *t, const db_result *res, int row);
/* An object just inserted (version 1) with properties text props, created
 * now (DATETIME text) by the request's actor, as the API renders it. */
cJSON *object_json_new(req_t *r, const objtype_t *t, const char *id, const char *props,
			const char *now);
/* Inserts the object row id (properties JSON text props, version 1,
 * created now by the request's actor) in the open transaction;
 * DB_DUPLICATE when a unique property is taken. */
enum db_status obj_insert_row(req_t *r, const objtype_t *t, const char *id, const char *props,
			      const char *now);
/* Who writes: the end user, or the API key. */
const char *obj_actor(const req_t *r);
/* Now as MariaDB DATETIME(3) text in UTC. */
char *obj_sql_now(req_t *r);
/* The property behind the last duplicate-key error, or NULL. */
const char *obj_unique_prop(req_t *r, const objtype_t *t);
/* Merges props (a JSON object of property values) into object id of t as
 * a PATCH does: validated, the caller's update policies applied, a new
 * version, the object.updated event, in one transaction.  Replies only
 * on failure. */
err_t objects_patch(req_t *r, const objtype_t *t, const char *id, const cJSON *props);
/* The route handlers of one object (path parameters object_type_id and
 * object_id, the body in r->json), for automations' actions, which run
 * them on a request of the runner's own. */
err_t objects_create(req_t *r);
err_t objects_update(req_t *r);
err_t objects_delete(req_t *r);
/* Drops the type's cached list totals (after a committed write). */
void obj_totals_drop(req_t *r, const objtype_t *t);
/* Narrows w to the rows of t the caller's row-level policies allow for
 * action ("select", …): end users only, API keys see every row. */
err_t objects_policy_where(req_t *r, const objtype_t *t, const char *action, query_t *w);
/* Validates props (a JSON object of property values, errors naming
 * "properties.<name>") and inserts the object in the open transaction
 * with its object.created event; its id into id, *out (if not NULL) the
 * object as the API renders it.  The caller commits and then drops the
 * type's totals (obj_totals_drop). */
err_t objects_insert(req_t *r, const objtype_t *t, const cJSON *props, char *id, size_t idlen,
		     cJSON **out);

#endif
