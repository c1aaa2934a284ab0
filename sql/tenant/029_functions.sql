-- Custom functions (issue 16): Lua code the tenant runs in the sandbox
-- (handlers/functions.c, common/luabox.c), and the log of their runs.
--
-- _functions: scopes are what the function's own identity may do
-- (space-separated, as API keys'); env_enc is its secrets, a JSON object
-- sealed under the master key (never rendered); env_keys their names.
-- plugin_id tags a function a plugin installed.
CREATE TABLE IF NOT EXISTS _functions (
  id VARCHAR(40) NOT NULL PRIMARY KEY,
  name VARCHAR(100) NOT NULL,
  description TEXT NULL,
  trigger_type VARCHAR(16) NOT NULL DEFAULT 'http',
  runtime VARCHAR(16) NOT NULL DEFAULT 'lua',
  code MEDIUMTEXT NOT NULL,
  enabled TINYINT(1) NOT NULL DEFAULT 1,
  timeout_s INT NOT NULL DEFAULT 10,
  memory_mb INT NOT NULL DEFAULT 64,
  scopes VARCHAR(100) NOT NULL DEFAULT 'read write',
  env_enc MEDIUMTEXT NULL,
  env_keys TEXT NULL,
  plugin_id VARCHAR(40) NULL,
  created_by VARCHAR(64) NULL,
  created_at DATETIME(3) NOT NULL,
  updated_at DATETIME(3) NOT NULL,
  UNIQUE KEY uq_functions_name (name),
  KEY ix_functions_plugin (plugin_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- One row per run: how it ended (ok, error, timeout, memory), how long it
-- took, its log lines and its error with the code's line.
CREATE TABLE IF NOT EXISTS _function_runs (
  id VARCHAR(40) NOT NULL PRIMARY KEY,
  function_id VARCHAR(40) NOT NULL,
  status VARCHAR(16) NOT NULL,
  trigger_type VARCHAR(16) NOT NULL,
  duration_ms INT NOT NULL,
  logs LONGTEXT NULL CHECK (logs IS NULL OR JSON_VALID(logs)),
  error TEXT NULL,
  error_line INT NULL,
  created_at DATETIME(3) NOT NULL,
  KEY ix_function_runs_function (function_id, created_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
