-- Object types and their properties: the tenant's schema.  Each object type
-- has its own table in this database, named like the type (handlers/
-- object_types.c creates, renames and drops it); each property is a VIRTUAL
-- generated column named like the property, computed from the row's JSON
-- and indexed when asked (handlers/properties.c).  Tessera's own tables
-- here start with "_", which type names cannot.

CREATE TABLE IF NOT EXISTS _object_types (
  id VARCHAR(40) NOT NULL PRIMARY KEY,
  name VARCHAR(63) NOT NULL,
  display_name VARCHAR(255) NOT NULL,
  description TEXT NULL,
  created_at DATETIME(3) NOT NULL,
  updated_at DATETIME(3) NOT NULL,
  UNIQUE KEY uq_object_types_name (name)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS _properties (
  id VARCHAR(40) NOT NULL PRIMARY KEY,
  object_type_id VARCHAR(40) NOT NULL,
  name VARCHAR(63) NOT NULL,
  display_name VARCHAR(255) NOT NULL,
  data_type VARCHAR(16) NOT NULL,
  is_required TINYINT(1) NOT NULL DEFAULT 0,
  is_unique TINYINT(1) NOT NULL DEFAULT 0,
  is_indexed TINYINT(1) NOT NULL DEFAULT 0,
  is_sortable TINYINT(1) NOT NULL DEFAULT 0,
  default_value JSON NULL,
  enum_values JSON NULL,
  description TEXT NULL,
  created_at DATETIME(3) NOT NULL,
  updated_at DATETIME(3) NOT NULL,
  UNIQUE KEY uq_properties_name (object_type_id, name),
  CONSTRAINT fk_properties_type FOREIGN KEY (object_type_id) REFERENCES _object_types (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS _object_versions (
  id VARCHAR(40) NOT NULL PRIMARY KEY,
  object_type_id VARCHAR(40) NOT NULL,
  object_id VARCHAR(40) NOT NULL,
  version INT NOT NULL,
  properties JSON NOT NULL,
  changed_by VARCHAR(64) NULL,
  created_at DATETIME(3) NOT NULL,
  UNIQUE KEY uq_versions (object_id, version)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Every object id of the tenant with its type, so that a reference property
-- (and associations) can check that an id exists whatever its type.
CREATE TABLE IF NOT EXISTS _objects (
  id VARCHAR(40) NOT NULL PRIMARY KEY,
  object_type_id VARCHAR(40) NOT NULL,
  KEY ix_objects_type (object_type_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
