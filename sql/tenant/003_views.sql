-- Saved views: named filter/sort/column presets of an object type
-- (handlers/views.c).  filters use the list endpoint's filter syntax and
-- were valid for the type when saved; a view goes with its type.

CREATE TABLE IF NOT EXISTS _views (
  id VARCHAR(40) NOT NULL PRIMARY KEY,
  object_type_id VARCHAR(40) NOT NULL,
  name VARCHAR(255) NOT NULL,
  filters JSON NOT NULL,
  `sort` JSON NULL,
  `columns` JSON NULL,
  created_by VARCHAR(64) NULL,
  created_at DATETIME(3) NOT NULL,
  updated_at DATETIME(3) NOT NULL,
  UNIQUE KEY uq_views_name (object_type_id, name),
  CONSTRAINT fk_views_type FOREIGN KEY (object_type_id) REFERENCES _object_types (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
