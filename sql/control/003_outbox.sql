-- Events written in the same transaction as the change that caused them
-- (object.created, object.updated, …); the runner fans them out to
-- webhooks, automations and realtime.
CREATE TABLE IF NOT EXISTS outbox (
  id VARCHAR(40) NOT NULL PRIMARY KEY,
  tenant_id VARCHAR(40) NOT NULL,
  event VARCHAR(64) NOT NULL,
  resource_type VARCHAR(64) NOT NULL,
  resource_id VARCHAR(64) NOT NULL,
  payload JSON NOT NULL,
  created_at DATETIME(3) NOT NULL,
  processed_at DATETIME(3) NULL,
  KEY ix_outbox_pending (processed_at, id),
  KEY ix_outbox_tenant (tenant_id, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
