-- Comments on objects (the activity feed): written by end users, listed
-- newest first by id (ids are time-sortable, so (object_id, id) serves both
-- the list and its keyset cursor).  object_type_id is the type's id, so a
-- rename leaves comments in place; handlers/comments.c removes an object's
-- comments when the object is deleted permanently and a type's when the
-- type is dropped.

CREATE TABLE IF NOT EXISTS _comments (
  id VARCHAR(40) NOT NULL PRIMARY KEY,
  object_type_id VARCHAR(40) NOT NULL,
  object_id VARCHAR(40) NOT NULL,
  author_id VARCHAR(64) NOT NULL,
  body TEXT NOT NULL,
  created_at DATETIME(3) NOT NULL,
  updated_at DATETIME(3) NOT NULL,
  KEY ix_comments_object (object_id, id),
  KEY ix_comments_type (object_type_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
