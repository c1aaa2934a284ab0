-- Plugins (issue 16): a manifest installed in one step, and what it
-- installed (handlers/plugins.c).
--
-- _plugins: manifest_json is the manifest as installed; config_json the
-- tenant's settings, validated against its config_schema and handed to
-- its functions as tessera.config.  Names are unique: installing the same
-- name twice is 409.
CREATE TABLE IF NOT EXISTS _plugins (
  id VARCHAR(40) NOT NULL PRIMARY KEY,
  name VARCHAR(100) NOT NULL,
  version VARCHAR(64) NOT NULL,
  description TEXT NULL,
  manifest_json LONGTEXT NOT NULL CHECK (JSON_VALID(manifest_json)),
  config_json LONGTEXT NULL CHECK (config_json IS NULL OR JSON_VALID(config_json)),
  enabled TINYINT(1) NOT NULL DEFAULT 1,
  created_by VARCHAR(64) NULL,
  created_at DATETIME(3) NOT NULL,
  updated_at DATETIME(3) NOT NULL,
  UNIQUE KEY uq_plugins_name (name)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- One row per thing a plugin installed: its kind (object_type, function,
-- webhook), the id of the row it made and the manifest's name for it.
CREATE TABLE IF NOT EXISTS _plugin_items (
  plugin_id VARCHAR(40) NOT NULL,
  kind VARCHAR(32) NOT NULL,
  item_id VARCHAR(64) NOT NULL,
  item_name VARCHAR(100) NOT NULL,
  created_at DATETIME(3) NOT NULL,
  PRIMARY KEY (plugin_id, kind, item_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
