/*
 * lazytables.h - a tenant's feature tables are created on first use.
 *
 * A new tenant database holds only the core tables (lazy_core_tables: what
 * every request and every object write reads or writes).  The others
 * (files, webhooks, accounting, auth, ...) are copied from the template
 * database of their server (<db_name>_template, the full tenant schema at
 * the latest migration, kept by `tessera migrate`) the first time a
 * statement needs them: db.c calls lazy_create_missing() when MariaDB
 * answers "table doesn't exist" for a tenant table the template has, and
 * retries the statement.  The DDL runs on a connection of its own (DDL
 * would commit an open transaction) under GET_LOCK('<db>:ddl'), so two
 * workers never race on one table.  See README "Small tenants".
 */
#ifndef TESSERA_LAZYTABLES_H
#define TESSERA_LAZYTABLES_H

#include <stdbool.h>
#include <stddef.h>

#include "arena.h"
#include "db.h"

/* The tables every tenant database starts with (NULL-terminated). */
extern const char *const lazy_core_tables[];

/* True if table is one of lazy_core_tables. */
bool lazy_is_core(const char *table);

/* The template database's name for control database control_db, in a;
 * NULL when the name would not be a valid identifier. */
char *lazy_template_name(arena_t *a, const char *control_db);

/*
 * Creates tables[0..n) in tenant_db from the template of control_db on
 * db's server (each with the tables its foreign keys reference, first),
 * unless they exist.  Runs on a connection of its own, so an open
 * transaction on db is left alone.  Returns the number of tables created,
 * or -1 with a message in err (a table the template does not have is an
 * error).
 */
int lazy_tables_create(db_t *db, const char *control_db, const char *tenant_db,
		       const char *const *tables, int n, char *err, size_t errlen);

/*
 * For db.c: message is MariaDB's ER_NO_SUCH_TABLE text ("Table 'D.T'
 * doesn't exist").  If D is a tenant database of control_db and T a
 * table of the template, creates it (lazy_tables_create) and returns 1;
 * 0 when the table is not one to create; -1 when creating it failed.
 */
int lazy_create_missing(db_t *db, const char *control_db, const char *message);

#endif
