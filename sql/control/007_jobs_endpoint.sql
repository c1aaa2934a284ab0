-- The endpoint an HTTP job talks to (a webhook's id): the runner keeps at
-- most jobs_http_per_endpoint of them in flight per endpoint, so one slow
-- receiver cannot take every slot.  Set at enqueue from the kind's
-- endpoint_field; NULL for every other job.
ALTER TABLE jobs
  ADD COLUMN IF NOT EXISTS endpoint VARCHAR(64) NULL;
