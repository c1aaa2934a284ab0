/*
 * files_jobs.c - the runner's side of Files (job kinds registered in
 * fcgi/jobs.c): files.purge removes a soft-deleted file's rows and bytes
 * once its time in the trash (files_trash_days) is over, and
 * files.stale_cleanup removes a presigned upload still pending 24 h after
 * upload-url.  Both are enqueued by the request that starts the clock and
 * check again when they run (a restored or completed file stays), so they
 * are idempotent.  Freed bytes are given back to the tenant's quota.
 */
#include <stdio.h>
#include <string.h>

#include "../common/config.h"
#include "../common/jsonx.h"
#include "../common/storage.h"
#include "../fcgi/jobs.h"
#include "files.h"

/* The tenant's data DB name, or NULL when the tenant is gone. */
static const char *tenant_db(db_t *db, arena_t *a, const char *tenant_id, enum db_status *st)
{
	db_result *res;
	db_param p[] = { db_str(tenant_id) };
	*st = db_exec(db_control(db), a, "SELECT db_name FROM tenants WHERE id = ?", p, 1, &res);
	return *st || res->nrows == 0 ? NULL : db_get(res, 0, "db_name");
}

/* Deletes the rows of a trashed file past its retention; 1 if it did. */
static int purge(db_t *db, arena_t *a, const char *tenant_id, const char *dbn, const char *id)
{
	db_result *res, *del;
	db_param p[] = { db_str(id) };
	if (db_begin(db))
		return -1;
	enum db_status st = db_exec(db, a, arena_printf(a,
		"SELECT stored_bytes FROM `%s`.`_files` WHERE id = ? AND is_deleted = 1 AND "
		"deleted_at <= UTC_TIMESTAMP(3) - INTERVAL %d DAY FOR UPDATE", dbn,
		g_config.files_trash_days), p, 1, &res);
	if (!st && res->nrows)
		st = db_exec(db, a, arena_printf(a, "DELETE FROM `%s`.`_files` WHERE id = ?", dbn),
			     p, 1, &del);
	if (!st && res->nrows)
		st = db_exec(db, a, arena_printf(a, "DELETE FROM `%s`.`_file_versions` WHERE file_id = ?",
						 dbn), p, 1, NULL);
	if (!st && res->nrows)
		st = files_usage_release(db, a, tenant_id, db_get_int(res, 0, "stored_bytes", 0));
	if (st) {
		db_rollback(db);
		return -1;
	}
	if (db_commit(db))
		return -1;
	return res->nrows ? 1 : 0;
}

static int files_job_purge(db_t *db, cache_t *cache, arena_t *a, const char *tenant_id,
		    const cJSON *payload, char *err, size_t errlen)
{
	(void)cache;
	const char *id = json_str_of(payload, "file_id");
	enum db_status st;
	const char *dbn = tenant_id && id ? tenant_db(db, a, tenant_id, &st) : NULL;
	if (!dbn)
		return 0;
	int n = purge(db, a, tenant_id, dbn, id);
	if (n < 0) {
		snprintf(err, errlen, "purging %s: %s", id, db_last_error(db));
		return -1;
	}
	if (n > 0 && storage_remove_file(a, tenant_id, id) != 0) {
		snprintf(err, errlen, "removing the bytes of %s failed", id);
		return -1;
	}
	return 0;
}

static int files_job_stale(db_t *db, cache_t *cache, arena_t *a, const char *tenant_id,
		    const cJSON *payload, char *err, size_t errlen)
{
	(void)cache;
	const char *id = json_str_of(payload, "file_id");
	enum db_status st;
	const char *dbn = tenant_id ? tenant_db(db, a, tenant_id, &st) : NULL;
	if (!dbn)
		return 0;
	if (files_stale_cleanup(db, a, tenant_id, dbn, id) < 0) {
		snprintf(err, errlen, "stale cleanup: %s", db_last_error(db));
		return -1;
	}
	return 0;
}

/* Jobs this file registers (handlers/routes.c assembles the table). */
const job_kind_t files_jobs[] = {
	{ .name = "files.purge", .run = files_job_purge },
	{ .name = "files.stale_cleanup", .run = files_job_stale },
	{ .name = NULL },
};
