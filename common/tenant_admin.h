/*
 * tenant_admin.h - provisioning used by the `tessera tenant` and `token`
 * commands: create a tenant (control row, data DB, MariaDB accounts, admin
 * key), list, suspend and resume, and mint end-user tokens.
 */
#ifndef TESSERA_TENANT_ADMIN_H
#define TESSERA_TENANT_ADMIN_H

#include <stddef.h>

#include <cJSON.h>

#include "arena.h"
#include "db.h"

typedef struct tenant_new {
	const char *name;
	const char *plan;
	const char *email;     /* owner email, may be NULL */
	const char *server;    /* data server (db_servers); NULL: the one with fewest tenants */
} tenant_new_t;

/* Creates a tenant.  On success *tenant_id and *api_key (scope `*`, shown
 * once) are allocated in a; returns 0, or -1 with a message in err. */
int tenant_create(db_t *db, arena_t *a, const tenant_new_t *t, char **tenant_id,
		  char **api_key, char *err, size_t errlen);
/* Makes a tenant's two MariaDB accounts on db's server: ro (SELECT on
 * dbname) and rw (row writes), with the given passwords.  0, or -1 with a
 * message in err. */
int tenant_accounts_create(db_t *db, arena_t *a, const char *dbname, const char *ro,
			   const char *ro_pw, const char *rw, const char *rw_pw, char *err,
			   size_t errlen);
/* Drops a tenant's accounts and data DB on db's server (each if it exists). */
void tenant_db_drop(db_t *db, arena_t *a, const char *dbname, const char *ro, const char *rw);
/* Returns a JSON array of {tenant_id, name, plan, status, created_at}. */
cJSON *tenant_list(db_t *db, arena_t *a);
/* Sets status to "active" or "suspended".  0, or -1 if no such tenant. */
int tenant_set_status(db_t *db, arena_t *a, const char *id, const char *status);
/* Applies pending tenant migrations to every tenant DB; returns count or -1. */
int tenant_migrate_all(db_t *db, arena_t *a, char *err, size_t errlen);

/*
 * Mints an HS256 end-user JWT for user_id in tenant with role, valid ttl
 * seconds, with a fresh session id.  Returns the token (arena) or NULL with
 * a message in err.  *session_id receives the session id.
 */
char *token_mint(db_t *db, arena_t *a, const char *tenant, const char *user_id,
		 const char *role, long ttl, char **session_id, char *err, size_t errlen);

#endif
