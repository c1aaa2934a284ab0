-- Integrations (issue 16): external data synced into a tenant's objects
-- (handlers/integrations.c), and the log of each sync.
--
-- integrations: auth_enc is the credential sealed under the master key
-- (never rendered), auth_hint its mask.  config_json says where the
-- records are and how they map to an object type's properties.
CREATE TABLE IF NOT EXISTS integrations (
  id VARCHAR(40) NOT NULL PRIMARY KEY,
  tenant_id VARCHAR(40) NOT NULL,
  name VARCHAR(100) NOT NULL,
  provider VARCHAR(32) NOT NULL,
  config_json LONGTEXT NOT NULL CHECK (JSON_VALID(config_json)),
  sync_direction VARCHAR(8) NOT NULL DEFAULT 'pull',
  status VARCHAR(16) NOT NULL DEFAULT 'active',
  auth_enc TEXT NULL,
  auth_hint VARCHAR(16) NULL,
  last_sync_at DATETIME(3) NULL,
  last_status VARCHAR(16) NULL,
  created_by VARCHAR(64) NULL,
  created_at DATETIME(3) NOT NULL,
  updated_at DATETIME(3) NOT NULL,
  UNIQUE KEY uq_integrations_name (tenant_id, name),
  KEY ix_integrations_tenant (tenant_id, created_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- One row per sync: queued, running, ok, error; the counts; where it got
-- to (cursor: the next page or the remote's cursor, so a runner killed
-- mid-sync resumes there); the first errors with the record's key.
CREATE TABLE IF NOT EXISTS integration_runs (
  id VARCHAR(40) NOT NULL PRIMARY KEY,
  tenant_id VARCHAR(40) NOT NULL,
  integration_id VARCHAR(40) NOT NULL,
  job_id VARCHAR(40) NULL,
  status VARCHAR(16) NOT NULL,
  cursor_state VARCHAR(1024) NULL,
  records_read INT NOT NULL DEFAULT 0,
  records_created INT NOT NULL DEFAULT 0,
  records_updated INT NOT NULL DEFAULT 0,
  records_unchanged INT NOT NULL DEFAULT 0,
  records_failed INT NOT NULL DEFAULT 0,
  errors LONGTEXT NULL CHECK (errors IS NULL OR JSON_VALID(errors)),
  started_at DATETIME(3) NULL,
  finished_at DATETIME(3) NULL,
  created_at DATETIME(3) NOT NULL,
  KEY ix_integration_runs (tenant_id, integration_id, created_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
