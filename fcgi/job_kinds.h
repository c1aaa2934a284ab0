/*
 * job_kinds.h - the job handlers other parts of Tessera register in the
 * jobs runner's registry (jobs.c).  Each area declares its handlers here
 * and lists them in job_kinds[]; a handler follows job_fn (jobs.h).
 */
#ifndef TESSERA_JOB_KINDS_H
#define TESSERA_JOB_KINDS_H

#include "jobs.h"

/* events & webhooks */
#include "webhook_send.h"      /* webhook.deliver: wh_deliver_job */

/* files */
int files_job_purge(db_t *db, cache_t *cache, arena_t *a, const char *tenant_id,
		    const cJSON *payload, char *err, size_t errlen);
int files_job_stale(db_t *db, cache_t *cache, arena_t *a, const char *tenant_id,
		    const cJSON *payload, char *err, size_t errlen);

/* identity (mail, sms) */
/* email.send: delivers a built message by SMTP or the .eml file driver
 * (handlers/email.c); sms.send: an SMS by HTTP or the file driver. */
int job_email_send(db_t *db, cache_t *cache, arena_t *a, const char *tenant_id,
		   const cJSON *payload, char *err, size_t errlen);
int job_sms_send(db_t *db, cache_t *cache, arena_t *a, const char *tenant_id,
		 const cJSON *payload, char *err, size_t errlen);
/* Deletes audit log entries past each tenant's audit_retention_days
 * (called by system.cleanup). */
int audit_retention_apply(db_t *db, arena_t *a, char *err, size_t errlen);

#endif
