-- Approval workflows (handlers/workflows.c): a workflow per object type
-- (one enabled at a time) with ordered stages; an object's reviews, and
-- what happened in each (who submitted, approved or rejected, when, with
-- which comment or reason).  A workflow goes with its type.

CREATE TABLE IF NOT EXISTS _workflows (
  id VARCHAR(40) NOT NULL PRIMARY KEY,
  object_type_id VARCHAR(40) NOT NULL,
  name VARCHAR(255) NOT NULL,
  stages JSON NOT NULL,
  enabled TINYINT(1) NOT NULL DEFAULT 1,
  created_by VARCHAR(64) NULL,
  created_at DATETIME(3) NOT NULL,
  updated_at DATETIME(3) NOT NULL,
  KEY ix_workflows_type (object_type_id, enabled),
  CONSTRAINT fk_workflows_type FOREIGN KEY (object_type_id) REFERENCES _object_types (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- One review of an object; status in_review, approved or rejected.  The
-- newest review of an object is its workflow status.
CREATE TABLE IF NOT EXISTS _workflow_reviews (
  id VARCHAR(40) NOT NULL PRIMARY KEY,
  object_id VARCHAR(40) NOT NULL,
  object_type_id VARCHAR(40) NOT NULL,
  workflow_id VARCHAR(40) NOT NULL,
  status VARCHAR(16) NOT NULL,
  stage INT NOT NULL DEFAULT 0,
  submitted_by VARCHAR(64) NULL,
  submitted_at DATETIME(3) NOT NULL,
  updated_at DATETIME(3) NOT NULL,
  KEY ix_reviews_object (object_id, submitted_at),
  KEY ix_reviews_workflow (workflow_id, status)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS _workflow_history (
  id VARCHAR(40) NOT NULL PRIMARY KEY,
  review_id VARCHAR(40) NOT NULL,
  object_id VARCHAR(40) NOT NULL,
  stage INT NOT NULL,
  action VARCHAR(24) NOT NULL,
  actor VARCHAR(64) NULL,
  comment TEXT NULL,
  created_at DATETIME(3) NOT NULL,
  KEY ix_history_review (review_id, stage, action)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
