-- Resumable uploads (tus, handlers/files_tus.c): a pending file made by
-- POST /v1/files/uploads/tus has tus = 1; upload_size is then the offset
-- received so far, and tus_metadata the Upload-Metadata header as sent
-- (given back on HEAD).
ALTER TABLE _files
  ADD COLUMN IF NOT EXISTS tus TINYINT(1) NOT NULL DEFAULT 0,
  ADD COLUMN IF NOT EXISTS tus_metadata VARCHAR(4096) NULL;
