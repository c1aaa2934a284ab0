/*
 * migrate.h - schema migrations for the control DB and every tenant DB.
 *
 * Migrations are sql/control/NNN_name.sql and sql/tenant/NNN_name.sql,
 * embedded in the binary at build time, applied in order and recorded in a
 * schema_migrations table in each database.  Re-running is a no-op.
 */
#ifndef TESSERA_MIGRATE_H
#define TESSERA_MIGRATE_H

#include <stddef.h>

#include "arena.h"
#include "db.h"

enum mig_scope { MIG_CONTROL, MIG_TENANT };

typedef struct migration {
	enum mig_scope scope;
	const char *name;
	const char *sql;
} migration_t;

extern const migration_t migrations[];
extern const int migrations_count;

/* True if name is safe to splice as a database or account identifier:
 * [a-z0-9_], 1..64 characters. */
int ident_ok(const char *name);

/* Creates the control database if needed and applies its pending
 * migrations; leaves it selected.  Returns the number applied, or -1. */
int migrate_control(db_t *db, arena_t *a, const char *db_name, char *err, size_t errlen);
/* Applies pending tenant migrations to tenant_db, then re-selects
 * control_db.  Returns the number applied, or -1.  The tables the tenant
 * does not have yet (lazytables.h) are left alone: CREATE TABLE of a
 * table outside the core is skipped, and so is a statement that fails
 * because its table does not exist. */
int migrate_tenant(db_t *db, arena_t *a, const char *tenant_db, const char *control_db,
		   char *err, size_t errlen);
/* Applies pending tenant migrations in full to the template database of
 * control_db on db's server (created if missing), then re-selects
 * control_db.  Returns the number applied, or -1. */
int migrate_template(db_t *db, arena_t *a, const char *control_db, char *err, size_t errlen);
/* A new tenant database: brings the template up to date, creates
 * tenant_db with the core tables only and records every tenant migration
 * as applied.  Returns 0, or -1 with a message in err. */
int migrate_tenant_new(db_t *db, arena_t *a, const char *tenant_db, const char *control_db,
		       char *err, size_t errlen);

#endif
