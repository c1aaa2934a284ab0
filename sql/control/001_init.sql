-- Control DB: platform tables shared by all tenants, every row keyed by tenant_id.

CREATE TABLE IF NOT EXISTS plans (
  id VARCHAR(32) NOT NULL PRIMARY KEY,
  name VARCHAR(64) NOT NULL,
  rate_limit_per_minute INT NOT NULL,
  max_storage_bytes BIGINT NOT NULL,
  max_file_size_bytes BIGINT NOT NULL,
  max_api_keys INT NOT NULL,
  max_objects BIGINT NOT NULL,
  max_users BIGINT NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

INSERT IGNORE INTO plans VALUES
  ('free',       'Free',       600,     1073741824,    26214400,   10,  10000,    1000),
  ('pro',        'Pro',        6000,    107374182400,  104857600,  100, 1000000,  100000),
  ('enterprise', 'Enterprise', 1000000, 10995116277760, 5368709120, 1000, 100000000, 10000000);

CREATE TABLE IF NOT EXISTS tenants (
  id VARCHAR(40) NOT NULL PRIMARY KEY,
  name VARCHAR(255) NOT NULL,
  brand_name VARCHAR(255) NULL,
  owner_email VARCHAR(254) NULL,
  domain VARCHAR(253) NULL,
  plan VARCHAR(32) NOT NULL,
  status ENUM('active','suspended') NOT NULL DEFAULT 'active',
  db_name VARCHAR(64) NOT NULL,
  jwt_secret_enc TEXT NOT NULL,
  sql_ro_user VARCHAR(80) NULL,
  sql_ro_password_enc TEXT NULL,
  sql_rw_user VARCHAR(80) NULL,
  sql_rw_password_enc TEXT NULL,
  used_storage_bytes BIGINT NOT NULL DEFAULT 0,
  settings JSON NULL,
  created_at DATETIME(3) NOT NULL,
  updated_at DATETIME(3) NOT NULL,
  UNIQUE KEY uq_tenants_db (db_name),
  UNIQUE KEY uq_tenants_domain (domain),
  KEY ix_tenants_owner_email (owner_email),
  CONSTRAINT fk_tenants_plan FOREIGN KEY (plan) REFERENCES plans (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS api_keys (
  id VARCHAR(40) NOT NULL PRIMARY KEY,
  tenant_id VARCHAR(40) NOT NULL,
  label VARCHAR(100) NOT NULL,
  key_prefix VARCHAR(16) NOT NULL,
  key_hash CHAR(64) NOT NULL,
  scopes VARCHAR(128) NOT NULL,
  ip_allowlist JSON NULL,
  rate_limit INT NULL,
  expires_at DATETIME(3) NULL,
  revoked_at DATETIME(3) NULL,
  last_used_at DATETIME(3) NULL,
  created_by VARCHAR(64) NULL,
  rotated_from VARCHAR(40) NULL,
  created_at DATETIME(3) NOT NULL,
  updated_at DATETIME(3) NOT NULL,
  UNIQUE KEY uq_api_keys_hash (key_hash),
  KEY ix_api_keys_tenant (tenant_id, revoked_at),
  CONSTRAINT fk_api_keys_tenant FOREIGN KEY (tenant_id) REFERENCES tenants (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS audit_logs (
  id VARCHAR(40) NOT NULL PRIMARY KEY,
  tenant_id VARCHAR(40) NOT NULL,
  actor_type VARCHAR(16) NOT NULL,
  actor_id VARCHAR(64) NULL,
  action VARCHAR(64) NOT NULL,
  resource_type VARCHAR(64) NOT NULL,
  resource_id VARCHAR(64) NULL,
  details JSON NULL,
  ip_address VARCHAR(45) NULL,
  request_id VARCHAR(64) NULL,
  created_at DATETIME(3) NOT NULL,
  KEY ix_audit_tenant_time (tenant_id, created_at),
  KEY ix_audit_tenant_action (tenant_id, action, created_at),
  KEY ix_audit_tenant_rtype (tenant_id, resource_type, created_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS jobs (
  id VARCHAR(40) NOT NULL PRIMARY KEY,
  tenant_id VARCHAR(40) NULL,
  kind VARCHAR(64) NOT NULL,
  payload JSON NULL,
  status ENUM('queued','running','done','dead') NOT NULL DEFAULT 'queued',
  attempts INT NOT NULL DEFAULT 0,
  max_attempts INT NOT NULL DEFAULT 5,
  run_at DATETIME(3) NOT NULL,
  locked_by VARCHAR(64) NULL,
  locked_until DATETIME(3) NULL,
  last_error TEXT NULL,
  dedupe_key VARCHAR(191) NULL,
  created_at DATETIME(3) NOT NULL,
  updated_at DATETIME(3) NOT NULL,
  finished_at DATETIME(3) NULL,
  UNIQUE KEY uq_jobs_dedupe (dedupe_key),
  KEY ix_jobs_claim (status, run_at),
  KEY ix_jobs_tenant (tenant_id, status)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS dead_letters (
  id VARCHAR(40) NOT NULL PRIMARY KEY,
  job_id VARCHAR(40) NOT NULL,
  tenant_id VARCHAR(40) NULL,
  kind VARCHAR(64) NOT NULL,
  payload JSON NULL,
  attempts INT NOT NULL,
  last_error TEXT NULL,
  created_at DATETIME(3) NOT NULL,
  replayed_at DATETIME(3) NULL,
  KEY ix_dlq_tenant (tenant_id, created_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
