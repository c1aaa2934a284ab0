-- Apps: dashboard share tokens (a public dashboard is found by its token
-- alone, before any tenant is known) and tenant branding.

CREATE TABLE IF NOT EXISTS dashboard_shares (
  token_hash CHAR(64) NOT NULL PRIMARY KEY,
  tenant_id VARCHAR(40) NOT NULL,
  dashboard_id VARCHAR(40) NOT NULL,
  expires_at DATETIME(3) NULL,
  created_at DATETIME(3) NOT NULL,
  revoked_at DATETIME(3) NULL,
  KEY ix_dashboard_shares_dashboard (tenant_id, dashboard_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS branding (
  tenant_id VARCHAR(40) NOT NULL PRIMARY KEY,
  brand_name VARCHAR(100) NULL,
  logo_url VARCHAR(2048) NULL,
  favicon_url VARCHAR(2048) NULL,
  primary_color VARCHAR(7) NULL,
  secondary_color VARCHAR(7) NULL,
  footer_text VARCHAR(1000) NULL,
  custom_css MEDIUMTEXT NULL,
  updated_at DATETIME(3) NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Billing: the Stripe customer and subscription of each tenant, and the
-- webhook events already handled (Stripe delivers at least once).
CREATE TABLE IF NOT EXISTS billing_accounts (
  tenant_id VARCHAR(40) NOT NULL PRIMARY KEY,
  stripe_customer_id VARCHAR(255) NOT NULL,
  stripe_subscription_id VARCHAR(255) NULL,
  subscription_status VARCHAR(32) NULL,
  price_id VARCHAR(255) NULL,
  updated_at DATETIME(3) NOT NULL,
  UNIQUE KEY uq_billing_customer (stripe_customer_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS stripe_events (
  id VARCHAR(255) NOT NULL PRIMARY KEY,
  type VARCHAR(100) NOT NULL,
  tenant_id VARCHAR(40) NULL,
  received_at DATETIME(3) NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
