-- Automations and scheduled jobs (handlers/automations.c,
-- handlers/scheduled_jobs.c, handlers/actions.c).

-- How many automation runs led to this event: 0 for a change a client
-- made, n + 1 for one an automation's action made while handling an event
-- of depth n.  Past AUTOMATION_CHAIN_MAX no automation fires on it.
ALTER TABLE outbox
  ADD COLUMN IF NOT EXISTS chain_depth INT NOT NULL DEFAULT 0;

-- An event-driven rule: when trigger_event happens (on object_type_id, if
-- set) and the conditions hold on the event's data, run the actions.
CREATE TABLE IF NOT EXISTS automations (
  id VARCHAR(40) NOT NULL PRIMARY KEY,
  tenant_id VARCHAR(40) NOT NULL,
  name VARCHAR(255) NOT NULL,
  description TEXT NULL,
  trigger_event VARCHAR(64) NOT NULL,
  object_type_id VARCHAR(40) NULL,
  conditions JSON NOT NULL,
  actions JSON NOT NULL,
  enabled TINYINT(1) NOT NULL DEFAULT 1,
  created_by VARCHAR(40) NULL,
  created_at DATETIME(3) NOT NULL,
  updated_at DATETIME(3) NOT NULL,
  KEY ix_automations_trigger (tenant_id, enabled, trigger_event),
  KEY ix_automations_tenant (tenant_id, created_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Cron (or one-time) work: one action of the shared catalogue.
CREATE TABLE IF NOT EXISTS scheduled_jobs (
  id VARCHAR(40) NOT NULL PRIMARY KEY,
  tenant_id VARCHAR(40) NOT NULL,
  name VARCHAR(255) NOT NULL,
  description TEXT NULL,
  cron_expression VARCHAR(200) NULL,
  run_at DATETIME(3) NULL,
  timezone VARCHAR(64) NOT NULL DEFAULT 'UTC',
  action_type VARCHAR(32) NOT NULL,
  action_config JSON NOT NULL,
  enabled TINYINT(1) NOT NULL DEFAULT 1,
  next_run_at DATETIME(3) NULL,
  last_run_at DATETIME(3) NULL,
  last_status VARCHAR(16) NULL,
  created_by VARCHAR(40) NULL,
  created_at DATETIME(3) NOT NULL,
  updated_at DATETIME(3) NOT NULL,
  KEY ix_scheduled_due (enabled, next_run_at),
  KEY ix_scheduled_tenant (tenant_id, created_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- One run of an automation or a scheduled job (source_id says which).
-- (source_id, occurrence) is unique: an event id for an automation, the
-- due time for a scheduled job, the run id for a manual run; so a fan-out
-- or scheduler pass that happens twice starts one run.
CREATE TABLE IF NOT EXISTS action_runs (
  id VARCHAR(40) NOT NULL PRIMARY KEY,
  tenant_id VARCHAR(40) NOT NULL,
  source_id VARCHAR(40) NOT NULL,
  occurrence VARCHAR(64) NOT NULL,
  trigger_kind VARCHAR(16) NOT NULL,
  trigger_event VARCHAR(64) NULL,
  event_id VARCHAR(40) NULL,
  chain_depth INT NOT NULL DEFAULT 0,
  status VARCHAR(16) NOT NULL,
  steps JSON NOT NULL,
  failed_step INT NULL,
  error_code VARCHAR(40) NULL,
  error TEXT NULL,
  created_at DATETIME(3) NOT NULL,
  started_at DATETIME(3) NULL,
  finished_at DATETIME(3) NULL,
  UNIQUE KEY ux_action_runs_occurrence (source_id, occurrence),
  KEY ix_action_runs_source (tenant_id, source_id, created_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
