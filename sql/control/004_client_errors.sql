-- Errors reported by client apps (POST /v1/errors/report).
CREATE TABLE IF NOT EXISTS client_errors (
  id VARCHAR(40) NOT NULL PRIMARY KEY,
  tenant_id VARCHAR(40) NOT NULL,
  level ENUM('debug','info','warning','error','fatal') NOT NULL DEFAULT 'error',
  message TEXT NOT NULL,
  stack MEDIUMTEXT NULL,
  source VARCHAR(255) NULL,
  path VARCHAR(2048) NULL,
  metadata JSON NULL,
  reporter_type VARCHAR(16) NOT NULL,
  reporter_id VARCHAR(64) NULL,
  ip_address VARCHAR(45) NULL,
  user_agent VARCHAR(512) NULL,
  request_id VARCHAR(64) NULL,
  created_at DATETIME(3) NOT NULL,
  KEY ix_client_errors_tenant (tenant_id, created_at),
  KEY ix_client_errors_level (tenant_id, level, created_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
