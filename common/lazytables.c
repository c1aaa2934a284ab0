/*
 * lazytables.c - see lazytables.h.
 */
#include "lazytables.h"

#include <stdio.h>
#include <string.h>

#include "log.h"
#include "migrate.h"

/* What every request reads (the gate: _identity_settings, _roles), what
 * every object write touches (_object_versions, and the feed's _events,
 * written with the COMMIT where a missing table could not be retried),
 * and the schema itself. */
const char *const lazy_core_tables[] = {
	"tenant_meta", "schema_migrations", "_object_types", "_properties",
	"_object_versions", "_events", "_identity_settings", "_roles", NULL,
};

#define FK_DEPTH_MAX 4

bool lazy_is_core(const char *table)
{
	for (int i = 0; lazy_core_tables[i]; i++)
		if (!strcmp(lazy_core_tables[i], table))
			return true;
	return false;
}

char *lazy_template_name(arena_t *a, const char *control_db)
{
	char *name = arena_printf(a, "%s_template", control_db);
	return ident_ok(name) ? name : NULL;
}

struct lazy_ctx {
	db_t *side;            /* the connection the DDL runs on */
	arena_t *a;
	const char *tpl, *dbname;
	int created;
	char *err;
	size_t errlen;
};

static int lazy_fail(struct lazy_ctx *c, const char *what)
{
	snprintf(c->err, c->errlen, "%s: %s", what, db_last_error(c->side));
	return -1;
}

/* The template's CREATE TABLE statement for table, made idempotent. */
static const char *template_ddl(struct lazy_ctx *c, const char *table)
{
	db_result *res;
	if (db_exec(c->side, c->a, arena_printf(c->a, "SHOW CREATE TABLE `%s`.`%s`", c->tpl, table),
		    NULL, 0, &res) || res->nrows != 1 || res->ncols < 2) {
		lazy_fail(c, arena_printf(c->a, "template table %s", table));
		return NULL;
	}
	const char *ddl = db_cell(res, 0, 1);
	if (!ddl || strncmp(ddl, "CREATE TABLE ", 13) != 0) {
		snprintf(c->err, c->errlen, "template table %s: unexpected SHOW CREATE TABLE", table);
		return NULL;
	}
	return arena_printf(c->a, "CREATE TABLE IF NOT EXISTS %s", ddl + 13);
}

/* Creates table (after the tables its foreign keys reference) in c->dbname,
 * selected on c->side, unless it exists. */
static int create_one(struct lazy_ctx *c, const char *table, int depth)
{
	if (!ident_ok(table) || depth > FK_DEPTH_MAX) {
		snprintf(c->err, c->errlen, "cannot create table \"%s\"", table);
		return -1;
	}
	db_result *res;
	db_param p[] = { db_str(c->dbname), db_str(table) };
	if (db_exec(c->side, c->a, "SELECT 1 FROM information_schema.TABLES "
		    "WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?", p, 2, &res))
		return lazy_fail(c, "look up table");
	if (res->nrows)
		return 0;
	const char *ddl = template_ddl(c, table);
	if (!ddl)
		return -1;
	db_param q[] = { db_str(c->tpl), db_str(table) };
	if (db_exec(c->side, c->a, "SELECT DISTINCT REFERENCED_TABLE_NAME FROM "
		    "information_schema.REFERENTIAL_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = ? "
		    "AND TABLE_NAME = ? AND REFERENCED_TABLE_NAME <> TABLE_NAME", q, 2, &res))
		return lazy_fail(c, "look up foreign keys");
	for (int i = 0; i < res->nrows; i++)
		if (create_one(c, db_cell(res, i, 0), depth + 1))
			return -1;
	/* SHOW CREATE TABLE names the table and its references unqualified:
	 * they land in the selected database, the tenant's. */
	if (db_exec_text(c->side, ddl) != DB_OK)
		return lazy_fail(c, arena_printf(c->a, "create %s.%s", c->dbname, table));
	c->created++;
	return 0;
}

/* GET_LOCK names are at most 64 characters: a long database name keeps
 * its end (the tenant's unique part). */
static const char *lock_name(arena_t *a, const char *dbname)
{
	size_t n = strlen(dbname);
	return arena_printf(a, "%s:ddl", n > 60 ? dbname + n - 60 : dbname);
}

int lazy_tables_create(db_t *db, const char *control_db, const char *tenant_db,
		       const char *const *tables, int n, char *err, size_t errlen)
{
	arena_t *a = arena_new(8192);
	struct lazy_ctx c = {
		.side = db_clone(db), .a = a, .tpl = lazy_template_name(a, control_db),
		.dbname = tenant_db, .err = err, .errlen = errlen,
	};
	int rc = -1;
	db_result *res;
	db_param lk[] = { db_str(lock_name(a, tenant_db)) };
	if (!c.tpl || !ident_ok(tenant_db)) {
		snprintf(err, errlen, "bad database name \"%s\"", tenant_db);
		goto out;
	}
	if (db_exec(c.side, a, "SELECT GET_LOCK(?, 10)", lk, 1, &res) || res->nrows != 1 ||
	    !db_cell(res, 0, 0) || strcmp(db_cell(res, 0, 0), "1") != 0) {
		snprintf(err, errlen, "%s: the lock on its tables is busy (%s)", tenant_db,
			 db_last_error(c.side));
		goto out;
	}
	if (db_exec_text(c.side, arena_printf(a, "USE `%s`", tenant_db)) != DB_OK) {
		lazy_fail(&c, "select the tenant database");
		goto out_unlock;
	}
	rc = 0;
	for (int i = 0; i < n && rc == 0; i++)
		rc = create_one(&c, tables[i], 0);
	if (rc == 0)
		rc = c.created;
out_unlock:
	db_exec(c.side, a, "SELECT RELEASE_LOCK(?)", lk, 1, NULL);
out:
	db_free(c.side);
	arena_free(a);
	return rc;
}

int lazy_create_missing(db_t *db, const char *control_db, const char *message)
{
	/* Table 'tessera_t_01abc._files' doesn't exist */
	char dbname[65], table[65];
	if (!control_db || sscanf(message, "Table '%64[a-z0-9_].%64[a-z0-9_]' doesn't exist",
				  dbname, table) != 2)
		return 0;
	size_t cn = strlen(control_db);
	if (strncmp(dbname, control_db, cn) != 0 || strncmp(dbname + cn, "_t_", 3) != 0 ||
	    table[0] != '_')
		return 0;
	char err[512];
	const char *one[] = { table };
	int n = lazy_tables_create(db, control_db, dbname, one, 1, err, sizeof(err));
	if (n < 0) {
		log_error("lazytables: %s", err);
		return strstr(err, "template table") ? 0 : -1;
	}
	log_info("lazytables: %s.%s created on first use (%d table%s)", dbname, table, n,
		 n == 1 ? "" : "s");
	return 1;
}
