-- Apps and analytics: public forms and their submissions, dashboards and
-- their widgets, saved reports and short URLs.

CREATE TABLE IF NOT EXISTS _forms (
  id VARCHAR(40) NOT NULL PRIMARY KEY,
  name VARCHAR(255) NOT NULL,
  description TEXT NULL,
  object_type_id VARCHAR(40) NOT NULL,
  fields JSON NOT NULL,
  settings JSON NOT NULL,
  status VARCHAR(16) NOT NULL DEFAULT 'draft',
  created_by VARCHAR(64) NULL,
  created_at DATETIME(3) NOT NULL,
  updated_at DATETIME(3) NOT NULL,
  KEY ix_forms_type (object_type_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS _form_submissions (
  id VARCHAR(40) NOT NULL PRIMARY KEY,
  form_id VARCHAR(40) NOT NULL,
  object_id VARCHAR(40) NOT NULL,
  data JSON NOT NULL,
  address_hash CHAR(64) NULL,
  user_agent VARCHAR(512) NULL,
  created_at DATETIME(3) NOT NULL,
  KEY ix_form_submissions_form (form_id, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Views and submissions of each form per UTC day.
CREATE TABLE IF NOT EXISTS _form_stats (
  form_id VARCHAR(40) NOT NULL,
  day DATE NOT NULL,
  views BIGINT NOT NULL DEFAULT 0,
  submissions BIGINT NOT NULL DEFAULT 0,
  PRIMARY KEY (form_id, day)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS _dashboards (
  id VARCHAR(40) NOT NULL PRIMARY KEY,
  name VARCHAR(255) NOT NULL,
  description TEXT NULL,
  layout_json JSON NULL,
  is_public TINYINT(1) NOT NULL DEFAULT 0,
  share_expires_at DATETIME(3) NULL,
  created_by VARCHAR(64) NULL,
  created_at DATETIME(3) NOT NULL,
  updated_at DATETIME(3) NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS _dashboard_widgets (
  id VARCHAR(40) NOT NULL PRIMARY KEY,
  dashboard_id VARCHAR(40) NOT NULL,
  type VARCHAR(16) NOT NULL,
  title VARCHAR(255) NULL,
  config_json JSON NOT NULL,
  position_json JSON NULL,
  created_at DATETIME(3) NOT NULL,
  updated_at DATETIME(3) NOT NULL,
  KEY ix_dashboard_widgets_dashboard (dashboard_id, created_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS _saved_reports (
  id VARCHAR(40) NOT NULL PRIMARY KEY,
  name VARCHAR(255) NOT NULL,
  description TEXT NULL,
  type VARCHAR(16) NOT NULL,
  config_json JSON NOT NULL,
  schedule VARCHAR(128) NULL,
  recipients JSON NULL,
  last_result JSON NULL,
  last_run_at DATETIME(3) NULL,
  last_duration_ms BIGINT NULL,
  created_by VARCHAR(64) NULL,
  created_at DATETIME(3) NOT NULL,
  updated_at DATETIME(3) NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- A short URL's id is its slug (case matters: ascii_bin).
CREATE TABLE IF NOT EXISTS _short_urls (
  id VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL PRIMARY KEY,
  url VARCHAR(2048) NOT NULL,
  title VARCHAR(255) NULL,
  tags JSON NULL,
  expires_at DATETIME(3) NULL,
  max_clicks BIGINT NULL,
  clicks BIGINT NOT NULL DEFAULT 0,
  created_by VARCHAR(64) NULL,
  created_at DATETIME(3) NOT NULL,
  updated_at DATETIME(3) NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS _short_url_clicks (
  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  slug VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  clicked_at DATETIME(3) NOT NULL,
  address_hash CHAR(64) NULL,
  referrer VARCHAR(512) NULL,
  KEY ix_short_url_clicks_slug (slug, clicked_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
