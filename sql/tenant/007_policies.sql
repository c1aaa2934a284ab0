-- Row-level policies per object type (handlers/policies.c): for end-user
-- tokens, an action on a type is allowed only where an enabled policy for
-- that action (or "all") and the user's role (or any role) allows the row.
CREATE TABLE IF NOT EXISTS _policies (
  id VARCHAR(40) NOT NULL PRIMARY KEY,
  object_type_id VARCHAR(40) NOT NULL,
  name VARCHAR(255) NOT NULL,
  action ENUM('select','insert','update','delete','all') NOT NULL,
  role VARCHAR(64) NULL,
  condition_json JSON NOT NULL,
  enabled TINYINT(1) NOT NULL DEFAULT 1,
  description TEXT NULL,
  created_at DATETIME(3) NOT NULL,
  updated_at DATETIME(3) NOT NULL,
  UNIQUE KEY uq_policies_name (object_type_id, name),
  KEY ix_policies_type (object_type_id, enabled, action),
  CONSTRAINT fk_policies_type FOREIGN KEY (object_type_id) REFERENCES _object_types (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
