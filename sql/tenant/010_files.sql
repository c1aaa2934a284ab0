-- Files: one row per file (its current version's facts) and one per
-- version.  The bytes live in the storage root (common/storage.h):
-- <root>/<tenant>/files/<file id>/<version>.  A file is `pending` from
-- POST /v1/files/upload-url until upload-complete makes it `ready`;
-- size_bytes then is the declared size (reserved against the quota) and
-- upload_size/upload_sha256 what upload-put received.  Soft-deleted files
-- keep their rows and bytes (trash) until the runner purges them.
-- folder is NULL at the root; object_type_id/object_id link a data object.

CREATE TABLE IF NOT EXISTS _files (
  id VARCHAR(40) NOT NULL PRIMARY KEY,
  filename VARCHAR(255) NOT NULL,
  mime_type VARCHAR(127) NOT NULL,
  category VARCHAR(16) NOT NULL,
  size_bytes BIGINT NOT NULL DEFAULT 0,
  checksum_sha256 CHAR(64) NULL,
  access ENUM('private','public') NOT NULL DEFAULT 'private',
  status ENUM('pending','ready') NOT NULL DEFAULT 'ready',
  folder VARCHAR(255) NULL,
  meta JSON NULL,
  object_type_id VARCHAR(40) NULL,
  object_id VARCHAR(40) NULL,
  version INT NOT NULL DEFAULT 1,
  stored_bytes BIGINT NOT NULL DEFAULT 0,
  upload_size BIGINT NULL,
  upload_sha256 CHAR(64) NULL,
  upload_mime VARCHAR(127) NULL,
  expected_sha256 CHAR(64) NULL,
  created_by VARCHAR(64) NULL,
  created_at DATETIME(3) NOT NULL,
  updated_at DATETIME(3) NOT NULL,
  is_deleted TINYINT(1) NOT NULL DEFAULT 0,
  deleted_at DATETIME(3) NULL,
  KEY ix_files_list (is_deleted, status, id),
  KEY ix_files_folder (folder, is_deleted),
  KEY ix_files_object (object_id),
  KEY ix_files_created (created_at),
  KEY ix_files_size (size_bytes),
  KEY ix_files_filename (filename),
  KEY ix_files_owner (created_by)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS _file_versions (
  file_id VARCHAR(40) NOT NULL,
  version INT NOT NULL,
  filename VARCHAR(255) NOT NULL,
  mime_type VARCHAR(127) NOT NULL,
  size_bytes BIGINT NOT NULL,
  checksum_sha256 CHAR(64) NOT NULL,
  created_by VARCHAR(64) NULL,
  created_at DATETIME(3) NOT NULL,
  PRIMARY KEY (file_id, version)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
