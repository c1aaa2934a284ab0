/*
 * db.h - the MariaDB data-access layer: one persistent connection per
 * process, prepared statements only, and a statement cache keyed by SQL text.
 *
 * Parameters are bound, never spliced: callers pass an array of db_param.
 * Results are materialised as NUL-terminated strings in the caller's arena
 * (NULL for SQL NULL).  A lost connection is reopened on the next call, and a
 * statement that failed because the server went away is retried once when no
 * transaction is open; otherwise the caller gets DB_UNAVAILABLE (503).
 */
#ifndef TESSERA_DB_H
#define TESSERA_DB_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "arena.h"
#include "config.h"

typedef struct db db_t;

enum db_status {
	DB_OK = 0,
	DB_DUPLICATE,     /* unique key violation (ER_DUP_ENTRY) */
	DB_DEADLOCK,      /* deadlock or lock wait timeout: retry the transaction */
	DB_UNAVAILABLE,   /* cannot reach the server */
	DB_TIMEOUT,       /* statement time limit */
	DB_ERROR,         /* anything else: a bug or bad SQL */
};

enum db_ptype { DBP_NULL, DBP_STR, DBP_INT, DBP_DOUBLE };

typedef struct db_param {
	enum db_ptype type;
	const char *s;
	size_t len;
	long long i;
	double d;
} db_param;

/* A NULL string binds SQL NULL. */
static inline db_param db_str(const char *s)
{
	return (db_param){ .type = s ? DBP_STR : DBP_NULL, .s = s, .len = s ? strlen(s) : 0 };
}
static inline db_param db_strn(const char *s, size_t n)
{
	return (db_param){ .type = DBP_STR, .s = s, .len = n };
}
static inline db_param db_int(long long i)
{
	return (db_param){ .type = DBP_INT, .i = i };
}
static inline db_param db_null(void)
{
	return (db_param){ .type = DBP_NULL };
}

typedef struct db_result {
	int nrows;
	int ncols;
	const char **names;       /* column names */
	char **cells;             /* nrows * ncols, row-major; NULL = SQL NULL */
	unsigned long *lens;
	unsigned long long affected;
} db_result;

/* Cell (row, col) or NULL. */
static inline const char *db_cell(const db_result *r, int row, int col)
{
	return (row < r->nrows && col < r->ncols) ? r->cells[row * r->ncols + col] : NULL;
}
/* Cell by column name in row, or NULL. */
const char *db_get(const db_result *r, int row, const char *name);
long long db_get_int(const db_result *r, int row, const char *name, long long def);

/* Creates a handle for cfg's control database; connects lazily. */
db_t *db_new(const config_t *cfg);
/* A new handle on db's server with a connection of its own (for DDL that
 * must not commit db's open transaction); it never creates missing tables
 * (below).  The caller frees it with db_free. */
db_t *db_clone(const db_t *db);
void db_free(db_t *db);

/*
 * Several data servers (db_servers in the config; see README "Scaling").
 * The handle from db_new is the primary: it holds the control DB and keeps
 * one lazily connected handle per other server it was asked for (at most
 * 16; connections idle for a minute are closed).  Every server has a
 * schema named db_name holding the tenant-scoped control tables (outbox,
 * jobs, audit_logs, ...) of its tenants; the global ones (tenants,
 * api_keys, plans, ...) are read and written on the primary only.
 */
/* The handle for server (NULL, "" or the primary's name: the primary), or
 * NULL if db_servers has no such server. */
db_t *db_for_server(db_t *db, const char *server);
/* The primary handle db belongs to (db itself for the primary). */
db_t *db_control(db_t *db);
/* This handle's server name. */
const char *db_server(const db_t *db);
/* Where it connects: *sock (NULL for TCP), else *host and *port. */
void db_address(const db_t *db, const char **sock, const char **host, int *port);
/* 0 if cfg->db_servers parses, else -1 with a message. */
int db_servers_check(const config_t *cfg, char *err, size_t errlen);
/* The primary's name, then db_servers' names (malloc'd); returns the count. */
int db_server_names(const config_t *cfg, char **names, int max);

/*
 * Runs sql with np parameters.  If res is not NULL it receives the result
 * (rows for a SELECT, affected for others), allocated in a.
 *
 * A tenant table not created yet (lazytables.h) is created from the
 * template and the statement run again.  In a transaction that cannot
 * always be done (a read whose snapshot predates the new table, a write
 * queued by db_exec_deferred): the table is created and the caller gets
 * DB_DEADLOCK, to retry the transaction.
 */
enum db_status db_exec(db_t *db, arena_t *a, const char *sql,
		       const db_param *params, int np, db_result **res);
/* Same, for a statement of a background pass over many tenants: a tenant
 * table not created yet is not created; the statement counts as having
 * found no rows (DB_OK, an empty result). */
enum db_status db_exec_present(db_t *db, arena_t *a, const char *sql,
			       const db_param *params, int np, db_result **res);
/* Runs a statement that cannot be prepared (DDL, account management).
 * Its text must be built only from server-generated, validated names. */
enum db_status db_exec_text(db_t *db, const char *sql);

/* "?, ?, …": n placeholders (for IN lists), in a. */
char *db_placeholders(arena_t *a, int n);

/* Inserts rows row0 .. row0 + n - 1 of res into table on dst in one
 * statement: their first ncols columns, by name (res may carry more after
 * them).  ignore: INSERT IGNORE, a row already there (same key) is kept.
 * table is SQL text built from validated names (`db`.`t` or t). */
enum db_status db_rows_insert(db_t *dst, arena_t *a, const char *table, const db_result *res,
			      int row0, int n, int ncols, bool ignore);

/* Inside a transaction: queues a write whose outcome only matters at
 * commit (an INSERT that returns nothing the caller reads); it is sent
 * with the transaction's next statement or with its COMMIT as one
 * compound statement, so its error (if any) is that call's.  Outside a
 * transaction it runs at once.  sql and params are copied into a, which
 * must outlive the transaction. */
enum db_status db_exec_deferred(db_t *db, arena_t *a, const char *sql,
				const db_param *params, int np);

/* A transaction's START TRANSACTION travels with its first statement and
 * deferred writes with its COMMIT (fewer round trips per write). */
enum db_status db_begin(db_t *db);
enum db_status db_commit(db_t *db);
void db_rollback(db_t *db);
bool db_in_transaction(const db_t *db);

/* Connects if needed and pings.  DB_OK if the server answers. */
enum db_status db_ping(db_t *db);
/* The last server error message (for logs, never for clients). */
const char *db_last_error(const db_t *db);
unsigned db_last_errno(const db_t *db);

/* Number of round trips made since creation (diagnostics, benchmarks). */
unsigned long db_queries(const db_t *db);

#endif
