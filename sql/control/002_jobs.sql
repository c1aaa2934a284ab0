-- Jobs runner: indexes for looking up a job's dead letter (jobs show, DLQ
-- replay) and for the hourly system.cleanup deletes.

CREATE INDEX IF NOT EXISTS ix_dlq_job ON dead_letters (job_id);
CREATE INDEX IF NOT EXISTS ix_dlq_created ON dead_letters (created_at);
CREATE INDEX IF NOT EXISTS ix_jobs_finished ON jobs (status, finished_at);
