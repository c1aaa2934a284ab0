-- API request counts per tenant, hour (UTC), route group and status class,
-- rolled up from Redis by the runner's analytics.rollup job (hourly).  The
-- request pipeline only increments a Redis hash (fcgi/usage.c); the rollup
-- renames that hash aside, adds its counts here and records the roll's id
-- in usage_rolls in the same transaction, so a roll that is retried after
-- a crash is never added twice.  Kept in the control DB: the runner rolls
-- every tenant in one pass and plans/usage already live here.
CREATE TABLE IF NOT EXISTS usage_requests (
  tenant_id VARCHAR(40) NOT NULL,
  hour DATETIME NOT NULL,
  grp VARCHAR(64) NOT NULL,
  status_class CHAR(3) NOT NULL,
  requests BIGINT NOT NULL DEFAULT 0,
  PRIMARY KEY (tenant_id, hour, grp, status_class)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS usage_rolls (
  roll_id VARCHAR(40) NOT NULL PRIMARY KEY,
  tenant_id VARCHAR(40) NOT NULL,
  requests BIGINT NOT NULL,
  rolled_at DATETIME(3) NOT NULL,
  KEY ix_usage_rolls_tenant (tenant_id, rolled_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
