-- Tenant data DB: what the tenant defines and owns.  The data-plane issue
-- adds object-type tables, versions, associations and comments.

CREATE TABLE IF NOT EXISTS tenant_meta (
  k VARCHAR(64) NOT NULL PRIMARY KEY,
  v TEXT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
