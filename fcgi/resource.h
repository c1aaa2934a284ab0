/*
 * resource.h - the resource engine: one descriptor per plain CRUD resource
 * (its table, id prefix and one field list) and one implementation of
 * list, get, create, update and delete for all of them.
 *
 * A route row names a descriptor and an operation (routes.h); the pipeline
 * then runs resource_handle() instead of a handler.  The engine does, once,
 * what every resource needs: request-body validation against the fields
 * (the body schema is derived from them), tenant scoping (a control-DB
 * table gets `tenant_id = ?` on every statement, a tenant-DB table is
 * qualified with the tenant's database; no descriptor names either), the
 * parent in the path (an object type's views), list with limit, offset,
 * keyset cursor, filters and sort on flagged fields, PATCH semantics, the
 * transaction, the audit entry, the outbox event and the JSON rendering.
 * Hooks, where NULL means "the default", add what is special (the curl
 * protocol handler idea); special actions (rotate, replay, …) stay
 * hand-written next to the descriptor and use the same building blocks
 * (resource_fetch, resource_render).
 */
#ifndef TESSERA_RESOURCE_H
#define TESSERA_RESOURCE_H

#include <stdbool.h>

#include <cJSON.h>

#include "../common/rowjson.h"
#include "../common/schema.h"
#include "query.h"
#include "request.h"

struct resource;
struct res_ctx;

enum res_op { OP_NONE, OP_LIST, OP_GET, OP_CREATE, OP_UPDATE, OP_DELETE };

/* Field flags. */
enum {
	RF_REQUIRED = 1 << 0,   /* required on create */
	RF_CREATE = 1 << 1,     /* a client may set it on create */
	RF_UPDATE = 1 << 2,     /* a client may change it (PATCH) */
	RF_HIDDEN = 1 << 3,     /* never rendered: write-only (hashes, sealed secrets) */
	RF_NULLABLE = 1 << 4,   /* a client may send null */
	RF_FILTER = 1 << 5,     /* ?name=value filters the list */
	RF_SORT = 1 << 6,       /* ?sort=name or ?sort=-name orders the list */
	RF_UNIQUE = 1 << 7,     /* a duplicate is 409 CONFLICT naming this field */
	RF_EXPR = 1 << 8,       /* column is an SQL expression over the row: read-only */
	RF_INPUT = 1 << 9,      /* accepted in the body only, never stored by the engine
				 * (a hook reads it: a password, a plaintext secret) */
};

#define RF_WRITABLE (RF_CREATE | RF_UPDATE)

/*
 * One field: how it is named in JSON and stored, how it renders (type, as
 * in rowjson.h) and what a client may send (in, flags, min/max as in
 * schema.h; values: the allowed strings of an enum, NULL-terminated).
 * check runs on a present, well-shaped value and replies with the problem.
 */
typedef struct res_field {
	const char *name;
	const char *column;            /* column or SQL expression; NULL = name */
	enum col_type type;
	enum field_type in;
	unsigned flags;
	long long min, max;
	const char *const *values;
	err_t (*check)(req_t *r, const struct res_field *f, const cJSON *v);
	const char *alias;             /* another name accepted on input ("name" for "label") */
} res_field_t;

/* Where the rows live: a control-DB table with a tenant_id column (on
 * the tenant's data server, or on the primary for global rows), or a
 * table in each tenant's own database. */
enum res_home { RES_CONTROL, RES_TENANT, RES_PRIMARY };

/* How a delete is done. */
enum res_delete {
	DEL_ROW,        /* DELETE the row */
	DEL_MARK,       /* UPDATE ... SET <delete_set>: the row stays, no longer live */
};

/* The shape of a list's data. */
enum res_list {
	LIST_ARRAY,     /* an array; X-Next-Cursor header when there is more */
	LIST_PAGE,      /* {<list_key>: [...], total, limit, offset} */
	LIST_CURSOR,    /* {<list_key>: [...], next_cursor} */
};

/* Descriptor flags. */
enum {
	RES_EVENTS = 1 << 0,      /* <type>.created/updated/deleted outbox events */
	RES_NO_AUDIT = 1 << 1,    /* no audit entries (data-plane resources) */
	RES_CREATED_BY = 1 << 2,  /* a created_by column holds the actor */
	RES_NO_TIMES = 1 << 3,    /* no created_at/updated_at columns */
	RES_USER_WRITES = 1 << 5, /* only end users write it (comments): the
				   * generic key-driven tests pass it by */
	RES_TOUCH = 1 << 4,       /* an update that sets nothing still writes
				   * updated_at, is audited and emits its event */
	RES_GET_LIVE = 1 << 6,    /* get finds live rows only (a trashed file is
				   * not found), as update and delete do */
	RES_LIST_TOTAL = 1 << 7,  /* a LIST_CURSOR list also says its total */
	RES_UPDATE_DDL = 1 << 8,  /* the ddl hook runs after an update's row too */
	RES_AUDIT_BARE = 1 << 9,  /* audit entries have no details (a JSON null)
				   * unless a hook sets c->audit */
};

/* The most parameters a scope hook binds. */
#define RES_SCOPE_MAX 4

/*
 * Hooks, each optional.  c carries the operation's state (below).  A hook
 * that returns an error has replied through req_fail; inside a transaction
 * the engine rolls it back.
 */
typedef struct res_hooks {
	/* Resolves the parent named in the path (404 if absent); sets
	 * c->parent_id (bound to the descriptor's parent column). */
	err_t (*parent)(req_t *r, struct res_ctx *c);
	/* Every statement on the rows (list, get, update, delete): a
	 * condition that narrows them to the ones the caller may reach (an
	 * end user's own files), fixed SQL whose parameters (at most
	 * RES_SCOPE_MAX) it stores in p and counts in *np; NULL for none. */
	const char *(*scope)(req_t *r, const struct res_ctx *c, db_param *p, int *np);
	/* Create and update, after the field checks and before the row is
	 * read (an update's 404 comes after): checks of the body alone, in
	 * the hook's own order. */
	err_t (*check)(req_t *r, struct res_ctx *c);
	/* Create and update, after the field checks and before the
	 * transaction: meaning checks across fields, quotas; may add columns
	 * to write with resource_set(). */
	err_t (*validate)(req_t *r, struct res_ctx *c);
	/* List: adds conditions from the query string to c->list, which
	 * holds the scope already (query.h: query_and_bind()). */
	err_t (*list)(req_t *r, struct res_ctx *c);
	/* Delete, before the transaction: dependents (409), protections. */
	err_t (*before_delete)(req_t *r, struct res_ctx *c);
	/* Create (and update, with RES_UPDATE_DDL): statements no
	 * transaction may hold (DDL, which MariaDB commits implicitly), run
	 * after the row was written and committed on its own (so that its
	 * unique keys have decided) and before the audit entry; an error
	 * deletes a created row again (an update's hook restores what it
	 * must itself), with no audit entry and no event.  The rest of the
	 * write follows in its transaction. */
	err_t (*ddl)(req_t *r, struct res_ctx *c);
	/* In the transaction, after the row was written or deleted. */
	err_t (*after_write)(req_t *r, struct res_ctx *c);
	/* After the commit: caches to drop.  After a ddl hook's write also
	 * when it failed once its row had committed on its own. */
	void (*after_commit)(req_t *r, struct res_ctx *c);
	/* Adjusts one rendered row (list and get and writes); an error ends
	 * the read (and rolls a write back). */
	err_t (*render)(req_t *r, struct res_ctx *c, cJSON *row);
	/* Replaces the 409 of a unique key refused by the database (create
	 * and update). */
	err_t (*conflict)(req_t *r, struct res_ctx *c);
	/* Replaces the reply of a write (create: {key, token}); c->row is the
	 * row as rendered after the write (NULL after a DEL_ROW delete). */
	err_t (*reply)(req_t *r, struct res_ctx *c);
} res_hooks_t;

typedef struct resource {
	const char *name;            /* "API key": messages */
	const char *type;            /* "api_key": audit resource type, event prefix */
	const char *table;           /* "api_keys" or "_webhooks" */
	enum res_home home;
	const char *id_param;        /* path parameter of the row id: "key_id" */
	const char *id_prefix;       /* "key_" */
	const res_field_t *fields;   /* ends with { NULL } */
	const char *parent_param;    /* path parameter of the parent, or NULL */
	const char *parent_column;   /* its column: "object_type_id" */
	const char *order;           /* default list order: "created_at DESC" (id breaks ties) */
	const char *live;            /* condition a row must meet to be listed, changed
				      * or deleted ("revoked_at IS NULL"), or NULL */
	const char *show_all;        /* query flag that lists rows that are not live too */
	enum res_delete del;
	const char *delete_set;      /* DEL_MARK: "revoked_at = UTC_TIMESTAMP(3)" */
	const char *deleted_verb;    /* audit verb of a delete; NULL = "deleted" */
	const char *deleted_id;      /* a delete answers {<deleted_id>: id, deleted: true},
				      * not the row, even one still there ("file_id") */
	const char *title;           /* field that names a row in audit details ("name") */
	unsigned flags;
	int list_max;                /* most rows a page may ask for; 0 = 100 */
	int list_default;            /* rows when no limit is given; 0 = list_max */
	enum res_list list_shape;
	const char *list_key;        /* LIST_PAGE, LIST_CURSOR: the array's member */
	const char *version_column;  /* optimistic concurrency: If-Match against it */
	const res_hooks_t *hooks;
	const char *example;         /* a valid create body (JSON): the docs show it and
				      * the tests create rows with it */
} resource_t;

#define RES_SET_MAX 16

/* The state of one operation, shared with the hooks. */
typedef struct res_ctx {
	const resource_t *res;
	enum res_op op;
	const char *id;              /* the row (the new id on create) */
	const char *parent_id;       /* set by the parent hook */
	void *parent;                /* whatever the parent hook loaded */
	const cJSON *body;           /* the request body (create, update) */
	cJSON *before;               /* update, delete: the row as it was (rendered) */
	cJSON *row;                  /* the row as rendered after the write */
	cJSON *audit;                /* audit details; the engine fills defaults;
				      * a JSON null records none */
	cJSON *changed;              /* update: names of the fields written */
	int nset;                    /* extra columns set by hooks */
	const char *set_cols[RES_SET_MAX];
	const char *set_exprs[RES_SET_MAX];  /* NULL: the bound value */
	int set_first[RES_SET_MAX], set_count[RES_SET_MAX];
	db_param set_vals[RES_SET_MAX * 2];
	int nvals;
	int status;                  /* reply status of a write */
	const char *verb;            /* audit and event verb of this write, set by a hook
				      * (an update that is an action of its own:
				      * "permissions_set"); NULL = the operation's */
	bool cascade;                /* delete: confirmed cascade (secure delete) */
	bool in_tx;                  /* a write inside the caller's open transaction (a
				      * batch): no commit, no after_commit, no reply */
	void *data;                  /* the hooks' own state for this operation */
	query_t *list;               /* list: the rows listed (the list hook narrows it) */
} res_ctx_t;

/* Dispatches the route's operation on the route's descriptor. */
err_t resource_handle(req_t *r);

/* One operation of res (for handlers that wrap the engine). */
err_t resource_op(req_t *r, const resource_t *res, enum res_op op);

/* The operation c->op on a context of resource_ctx (a hand-written
 * action's, c->id, c->body and c->in_tx set as it needs). */
err_t resource_run(req_t *r, res_ctx_t *c);

/* Adds column = value to the row written by this create or update (a hook
 * computing a hash, a sealed secret, a normalised value); replaces an
 * earlier value of the same column. */
void resource_set(res_ctx_t *c, const char *column, db_param v);

/* Sets column to an SQL expression fixed by the descriptor's code (never
 * input) over the row's columns, with np bound parameters:
 * resource_set_expr(c, "metadata", "JSON_MERGE_PATCH(metadata, ?)", &p, 1). */
void resource_set_expr(res_ctx_t *c, const char *column, const char *expr, const db_param *p,
		       int np);

/* The engine's own reply to a write: the row, or {id, deleted} (for a
 * reply hook that changes only some operations); see deleted_id. */
err_t resource_reply_default(req_t *r, res_ctx_t *c);

/* Row row of res (selected with the descriptor's fields) as the API shows
 * it, through the render hook, into *out (the caller's); an error of the
 * hook (which has replied) leaves *out NULL. */
err_t resource_render(req_t *r, res_ctx_t *c, const db_result *res, int row, cJSON **out);

/* The rendered row id of res (under c->parent_id), live rows only if
 * live_only; 404 "<name> not found" otherwise.  *out is owned by r. */
err_t resource_fetch(req_t *r, res_ctx_t *c, const char *id, bool live_only, cJSON **out);

/* A context for a hand-written action on res: resolves the parent. */
err_t resource_ctx(req_t *r, const resource_t *res, enum res_op op, res_ctx_t *c);

/* The fully qualified table of res for this request's tenant. */
const char *resource_table(req_t *r, const resource_t *res);

/* The columns that render a row of res: its rendered fields, named as
 * the API names them (for a hand-written query of its rows); static. */
const col_t *resource_cols(const resource_t *res);

/* The request-body schema of op (OP_CREATE, OP_UPDATE) derived from the
 * fields; built once per descriptor, static after. */
const field_t *resource_schema(const resource_t *res, enum res_op op);

/* What `tessera routes --json` says of a CRUD row: the resource's type,
 * the operation, its id parameter, its parent parameter and example. */
cJSON *resource_json(const resource_t *res, enum res_op op);

/* Checks a descriptor's consistency (start-up): 0, or -1 with a message
 * on stderr. */
int resource_check(const resource_t *res);

#endif
