-- Associations: typed, directed links between two objects of the tenant,
-- (from, association_type, to) unique, with optional meta (handlers/
-- associations.c).  Object ids are unique across the tenant's types, so the
-- type ids ride along only to render names and to drop a type's links.
-- Keys serve the list: outgoing by (from_id, association_type, id),
-- incoming by (to_id, association_type) and the primary key InnoDB appends.

CREATE TABLE IF NOT EXISTS _associations (
  id VARCHAR(40) NOT NULL PRIMARY KEY,
  from_type_id VARCHAR(40) NOT NULL,
  from_id VARCHAR(40) NOT NULL,
  association_type VARCHAR(64) NOT NULL,
  to_type_id VARCHAR(40) NOT NULL,
  to_id VARCHAR(40) NOT NULL,
  meta JSON NULL,
  created_at DATETIME(3) NOT NULL,
  updated_at DATETIME(3) NOT NULL,
  UNIQUE KEY uq_associations (from_id, association_type, to_id),
  KEY ix_associations_to (to_id, association_type),
  KEY ix_associations_from (from_id, association_type, id),
  KEY ix_associations_from_type (from_type_id),
  KEY ix_associations_to_type (to_type_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
