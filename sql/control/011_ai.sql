-- AI usage metering (handlers/ai_usage.c): one row per tenant, day,
-- provider and model; every AI call adds its request and tokens.
-- provider_id is "local" for the built-in models.
CREATE TABLE IF NOT EXISTS ai_usage (
  tenant_id VARCHAR(40) NOT NULL,
  day DATE NOT NULL,
  provider_id VARCHAR(40) NOT NULL,
  provider_type VARCHAR(16) NOT NULL,
  model VARCHAR(100) NOT NULL,
  requests BIGINT NOT NULL DEFAULT 0,
  input_tokens BIGINT NOT NULL DEFAULT 0,
  output_tokens BIGINT NOT NULL DEFAULT 0,
  PRIMARY KEY (tenant_id, day, provider_id, model)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- The monthly token budget of each plan (input plus output tokens of
-- provider calls; the built-in models cost none).  A tenant's settings may
-- hold its own (ai_tokens_per_month).  A table of its own rather than a
-- column of plans, whose first migration inserts rows by position.
CREATE TABLE IF NOT EXISTS ai_plan_budgets (
  plan_id VARCHAR(32) NOT NULL PRIMARY KEY,
  tokens_per_month BIGINT NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

INSERT IGNORE INTO ai_plan_budgets VALUES
  ('free', 1000000), ('pro', 50000000), ('enterprise', 1000000000);
