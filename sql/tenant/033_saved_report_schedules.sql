-- Scheduled delivery of saved reports: the cron schedule's time zone, the
-- attachment's format, the next occurrence and the last delivery.
ALTER TABLE _saved_reports
  ADD COLUMN IF NOT EXISTS timezone VARCHAR(64) NOT NULL DEFAULT 'UTC',
  ADD COLUMN IF NOT EXISTS export_format VARCHAR(8) NOT NULL DEFAULT 'csv',
  ADD COLUMN IF NOT EXISTS next_run_at DATETIME(3) NULL,
  ADD COLUMN IF NOT EXISTS last_sent_at DATETIME(3) NULL;
