/*
 * migrate.c - see migrate.h.
 */
#include "migrate.h"

#include <stdio.h>
#include <stdbool.h>
#include <string.h>
#include <strings.h>

#include <mysqld_error.h>

#include "lazytables.h"
#include "log.h"

int ident_ok(const char *name)
{
	size_t n = strlen(name);
	return n > 0 && n <= 64 &&
	       strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789_") == n;
}

/* True for a CREATE TABLE of a table a tenant gets on first use only. */
static bool creates_lazy_table(const char *stmt)
{
	static const char *const heads[] = { "CREATE TABLE IF NOT EXISTS ", "CREATE TABLE " };
	for (size_t i = 0; i < sizeof(heads) / sizeof(heads[0]); i++) {
		size_t n = strlen(heads[i]);
		if (strncasecmp(stmt, heads[i], n) != 0)
			continue;
		char name[65];
		if (sscanf(stmt + n, "%64[a-z0-9_]", name) != 1)
			return false;
		return !lazy_is_core(name);
	}
	return false;
}

/* Runs each statement of a migration (statements end with ';' at the end
 * of a line; our SQL files hold no procedures).  For a tenant whose tables
 * are created on first use (lazy), the tables it does not have yet are
 * left alone: they will come from the template at the latest schema. */
static int run_script(db_t *db, arena_t *a, const char *sql, bool lazy, char *err, size_t errlen)
{
	char *text = arena_strdup(a, sql);
	char *stmt = text;
	for (char *p = text; *p; p++) {
		if (*p != ';' || (p[1] != '\n' && p[1] != '\0' && p[1] != '\r'))
			continue;
		*p = '\0';
		char *s = stmt;
		stmt = p + 1;
		/* skip blank and comment-only statements */
		char *q = s;
		while (*q) {
			while (*q == ' ' || *q == '\n' || *q == '\r' || *q == '\t')
				q++;
			if (q[0] == '-' && q[1] == '-') {
				q = strchr(q, '\n');
				if (!q)
					break;
				continue;
			}
			break;
		}
		if (!q || !*q || (lazy && creates_lazy_table(q)))
			continue;
		if (db_exec_text(db, s) != DB_OK) {
			if (lazy && db_last_errno(db) == ER_NO_SUCH_TABLE)
				continue;
			snprintf(err, errlen, "%s", db_last_error(db));
			return -1;
		}
	}
	return 0;
}

/* Table names are qualified with the database: prepared statements are
 * cached by their text and stay bound to the database they were prepared
 * in, so an unqualified name would reach the wrong schema_migrations once
 * the connection has moved on to another database. */
static int apply(db_t *db, arena_t *a, const char *dbname, enum mig_scope scope, bool lazy,
		 char *err, size_t errlen)
{
	const char *tbl = arena_printf(a, "`%s`.schema_migrations", dbname);
	if (db_exec_text(db, arena_printf(a, "CREATE TABLE IF NOT EXISTS %s ("
			 "version VARCHAR(128) NOT NULL PRIMARY KEY, "
			 "applied_at DATETIME(3) NOT NULL) ENGINE=InnoDB", tbl)) != DB_OK) {
		snprintf(err, errlen, "%s", db_last_error(db));
		return -1;
	}
	int applied = 0;
	for (int i = 0; i < migrations_count; i++) {
		const migration_t *m = &migrations[i];
		if (m->scope != scope)
			continue;
		db_result *res;
		db_param p[] = { db_str(m->name) };
		if (db_exec(db, a, arena_printf(a, "SELECT 1 FROM %s WHERE version = ?", tbl), p, 1, &res)) {
			snprintf(err, errlen, "%s", db_last_error(db));
			return -1;
		}
		if (res->nrows)
			continue;
		if (run_script(db, a, m->sql, lazy, err, errlen))
			return -1;
		if (db_exec(db, a, arena_printf(a, "INSERT INTO %s (version, applied_at) "
			    "VALUES (?, UTC_TIMESTAMP(3))", tbl), p, 1, NULL)) {
			snprintf(err, errlen, "%s", db_last_error(db));
			return -1;
		}
		applied++;
	}
	return applied;
}

static int use_db(db_t *db, arena_t *a, const char *name, bool create, char *err, size_t errlen)
{
	if (!ident_ok(name)) {
		snprintf(err, errlen, "bad database name \"%s\"", name);
		return -1;
	}
	if (create && db_exec_text(db, arena_printf(a,
			"CREATE DATABASE IF NOT EXISTS `%s` CHARACTER SET utf8mb4 "
			"COLLATE utf8mb4_unicode_ci", name)) != DB_OK) {
		snprintf(err, errlen, "%s", db_last_error(db));
		return -1;
	}
	if (db_exec_text(db, arena_printf(a, "USE `%s`", name)) != DB_OK) {
		snprintf(err, errlen, "%s", db_last_error(db));
		return -1;
	}
	return 0;
}

int migrate_control(db_t *db, arena_t *a, const char *db_name, char *err, size_t errlen)
{
	if (use_db(db, a, db_name, true, err, errlen))
		return -1;
	return apply(db, a, db_name, MIG_CONTROL, false, err, errlen);
}

static int migrate_tenant_db(db_t *db, arena_t *a, const char *tenant_db, const char *control_db,
			     bool lazy, char *err, size_t errlen)
{
	if (use_db(db, a, tenant_db, true, err, errlen))
		return -1;
	int n = apply(db, a, tenant_db, MIG_TENANT, lazy, err, errlen);
	if (use_db(db, a, control_db, false, err, errlen))
		return -1;
	return n;
}

int migrate_tenant(db_t *db, arena_t *a, const char *tenant_db, const char *control_db,
		   char *err, size_t errlen)
{
	return migrate_tenant_db(db, a, tenant_db, control_db, true, err, errlen);
}

int migrate_template(db_t *db, arena_t *a, const char *control_db, char *err, size_t errlen)
{
	const char *tpl = lazy_template_name(a, control_db);
	if (!tpl) {
		snprintf(err, errlen, "db_name \"%s\" is too long for the template database", control_db);
		return -1;
	}
	return migrate_tenant_db(db, a, tpl, control_db, false, err, errlen);
}

int migrate_tenant_new(db_t *db, arena_t *a, const char *tenant_db, const char *control_db,
		       char *err, size_t errlen)
{
	if (migrate_template(db, a, control_db, err, errlen) < 0)
		return -1;
	if (use_db(db, a, tenant_db, true, err, errlen) || use_db(db, a, control_db, false, err, errlen))
		return -1;
	int ncore = 0;
	while (lazy_core_tables[ncore])
		ncore++;
	if (lazy_tables_create(db, control_db, tenant_db, lazy_core_tables, ncore, err, errlen) < 0)
		return -1;
	/* The core tables are at the latest schema: every migration counts
	 * as applied (the other tables will be too when they are made). */
	const char *ins = arena_printf(a, "INSERT IGNORE INTO `%s`.schema_migrations (version, "
				       "applied_at) VALUES (?, UTC_TIMESTAMP(3))", tenant_db);
	for (int i = 0; i < migrations_count; i++) {
		if (migrations[i].scope != MIG_TENANT)
			continue;
		db_param p[] = { db_str(migrations[i].name) };
		if (db_exec(db, a, ins, p, 1, NULL)) {
			snprintf(err, errlen, "%s", db_last_error(db));
			return -1;
		}
	}
	return 0;
}
