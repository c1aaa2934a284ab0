-- Buckets: optional rules for a folder and the folders under it (the
-- longest matching name wins), checked on every upload into them.
CREATE TABLE IF NOT EXISTS _buckets (
  id VARCHAR(40) NOT NULL PRIMARY KEY,
  name VARCHAR(255) NOT NULL,
  public TINYINT(1) NOT NULL DEFAULT 0,
  allowed_mime_types JSON NULL,
  max_file_size BIGINT NULL,
  max_total_bytes BIGINT NULL,
  created_at DATETIME(3) NOT NULL,
  updated_at DATETIME(3) NOT NULL,
  UNIQUE KEY uq_buckets_name (name)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
