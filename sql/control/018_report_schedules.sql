-- The saved reports that have a delivery schedule, across tenants: the
-- scheduler reads this index (the report itself lives in the tenant's
-- _saved_reports) and enqueues a saved_report.deliver job per occurrence.
CREATE TABLE IF NOT EXISTS report_schedules (
  tenant_id VARCHAR(40) NOT NULL,
  report_id VARCHAR(40) NOT NULL,
  next_run_at DATETIME(3) NOT NULL,
  PRIMARY KEY (tenant_id, report_id),
  KEY ix_report_schedules_due (next_run_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
