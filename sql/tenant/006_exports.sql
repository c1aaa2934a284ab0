-- Data exports (handlers/dataio.c): one row per file written by
-- POST /v1/data/export.  The file lives under the storage root at `path`
-- (relative to it: <tenant>/exports/<id>.<json|csv>); GET
-- /v1/data/export/:id authorizes the download and nginx streams the file
-- (X-Accel-Redirect).  object_type keeps the type's name at export time for
-- the download's file name, whatever happens to the type afterwards.

CREATE TABLE IF NOT EXISTS _exports (
  id VARCHAR(40) NOT NULL PRIMARY KEY,
  object_type_id VARCHAR(40) NOT NULL,
  object_type VARCHAR(63) NOT NULL,
  format VARCHAR(8) NOT NULL,
  record_count INT NOT NULL,
  path VARCHAR(255) NOT NULL,
  created_by VARCHAR(64) NULL,
  created_at DATETIME(3) NOT NULL,
  KEY ix_exports_type (object_type_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
