/*
 * tenant_move.h - `tessera tenant move ID --to SERVER`: moves a tenant's
 * data DB, its tenant-scoped control rows (outbox, jobs, audit log, ...)
 * and its MariaDB accounts to another server of db_servers.
 *
 * Phase 1 copies every table of the data DB while the tenant stays
 * writable.  Phase 2 makes the tenant read-only for a lease (the control
 * column tenants.read_only_until: writes answer 503 until then), lets
 * in-flight writes finish, re-copies the tables whose row count or
 * checksum differs, moves the control rows, verifies every table (row
 * counts and checksums identical on both sides), then switches
 * tenants.db_server and ends the read-only lease in one UPDATE, and only
 * then drops the old copy.  A move that dies anywhere leaves the tenant on
 * its old server (writable again once the lease has passed); running it
 * again first drops whatever copy a dead run left on a server the tenant
 * is not on, then moves.
 */
#ifndef TESSERA_TENANT_MOVE_H
#define TESSERA_TENANT_MOVE_H

#include <stdbool.h>
#include <stddef.h>

#include "arena.h"
#include "db.h"

typedef struct tenant_move_hooks {
	/* Makes every worker reload the tenants it cached (the auth
	 * generation); 0, or -1 if that could not be done. */
	int (*invalidate)(void *ctx);
	void *ctx;
} tenant_move_hooks_t;

typedef struct tenant_move_stats {
	bool moved;              /* false: the tenant was already on the server */
	int leftovers;           /* copies a dead run had left, dropped */
	int tables;              /* data tables copied */
	long long rows;          /* their rows */
	int recopied;            /* tables copied again in the catch-up */
	long long control_rows;  /* tenant-scoped control rows moved */
	long long copy_ms;       /* phase 1 */
	long long read_only_ms;  /* from the read-only mark to the switch */
} tenant_move_stats_t;

/* Moves tenant_id to server to (a name from db_servers, or the primary's);
 * db is the primary handle.  0 (stats filled), or -1 with a message in err,
 * the tenant then still served from where it was. */
int tenant_move(db_t *db, arena_t *a, const char *tenant_id, const char *to,
		const tenant_move_hooks_t *hooks, tenant_move_stats_t *stats, char *err,
		size_t errlen);

#endif
