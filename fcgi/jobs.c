/* placeholder replaced by the jobs runner implementation */
#include "jobs.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../common/config.h"
#include "../common/ids.h"

enum db_status jobs_enqueue(db_t *db, arena_t *a, const char *tenant_id, const char *kind,
			    const cJSON *payload, int max_attempts, long delay_ms, char *id)
{
	id_new(id, 40, "job_");
	char *pj = payload ? cJSON_PrintUnformatted(payload) : NULL;
	char *p = arena_strdup(a, pj ? pj : "{}");
	cJSON_free(pj);
	db_param prm[] = { db_str(id), db_str(tenant_id), db_str(kind), db_str(p),
			   db_int(max_attempts > 0 ? max_attempts : g_config.jobs_max_attempts),
			   db_int(delay_ms) };
	return db_exec(db, a, "INSERT INTO jobs (id, tenant_id, kind, payload, max_attempts, run_at, "
		       "created_at, updated_at) VALUES (?, ?, ?, ?, ?, "
		       "UTC_TIMESTAMP(3) + INTERVAL ? * 1000 MICROSECOND, UTC_TIMESTAMP(3), UTC_TIMESTAMP(3))",
		       prm, 6, NULL);
}

long jobs_backoff_ms(int attempts, long base_ms, int jitter)
{
	(void)jitter;
	long d = base_ms;
	for (int i = 1; i < attempts && d < 3600000; i++)
		d *= 2;
	return d > 3600000 ? 3600000 : d;
}

int jobs_run(void)
{
	pause();
	return 0;
}
