-- Webhooks, their delivery log and custom events (issue 6).
--
-- _webhooks: one endpoint of the tenant.  events is a JSON array of event
-- types (GET /events/types), "custom.<name>", "custom.*" or "*";
-- object_types a JSON array of object type ids (NULL: every type).  The
-- signing secret is sealed under the master key (secret_enc); after a
-- rotation the previous one stays valid until old_secret_expires_at and
-- deliveries carry both signatures.
CREATE TABLE IF NOT EXISTS _webhooks (
  id VARCHAR(40) NOT NULL PRIMARY KEY,
  url VARCHAR(2048) NOT NULL,
  events LONGTEXT NOT NULL CHECK (JSON_VALID(events)),
  object_types LONGTEXT NULL CHECK (object_types IS NULL OR JSON_VALID(object_types)),
  status ENUM('active','paused','disabled') NOT NULL DEFAULT 'active',
  disabled_reason VARCHAR(255) NULL,
  secret_enc TEXT NOT NULL,
  old_secret_enc TEXT NULL,
  old_secret_expires_at DATETIME(3) NULL,
  created_by VARCHAR(64) NULL,
  created_at DATETIME(3) NOT NULL,
  updated_at DATETIME(3) NOT NULL,
  KEY ix_webhooks_status (status)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- One row per delivery attempt (event deliveries, retries, tests and
-- replays).  payload is the event as sent (the body), kept so that a
-- delivery can be retried; response_excerpt is at most 1 KB of the answer.
CREATE TABLE IF NOT EXISTS _webhook_deliveries (
  id VARCHAR(40) NOT NULL PRIMARY KEY,
  webhook_id VARCHAR(40) NOT NULL,
  event_id VARCHAR(40) NOT NULL,
  event_type VARCHAR(128) NOT NULL,
  `trigger` ENUM('event','retry','test','replay') NOT NULL,
  attempt INT NOT NULL,
  status ENUM('succeeded','failed') NOT NULL,
  status_code INT NULL,
  duration_ms INT NOT NULL,
  response_excerpt TEXT NULL,
  error VARCHAR(1000) NULL,
  payload LONGTEXT NOT NULL CHECK (JSON_VALID(payload)),
  created_at DATETIME(3) NOT NULL,
  KEY ix_whd_webhook (webhook_id, id),
  KEY ix_whd_event (event_id),
  KEY ix_whd_status (status, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Custom events tracked with POST /v1/events (fanned out as
-- "custom.<event_type>").  actor_type/actor_id: the API key or end user.
CREATE TABLE IF NOT EXISTS _events (
  id VARCHAR(40) NOT NULL PRIMARY KEY,
  event_type VARCHAR(100) NOT NULL,
  data LONGTEXT NOT NULL CHECK (JSON_VALID(data)),
  actor_type ENUM('api_key','user') NOT NULL,
  actor_id VARCHAR(64) NULL,
  created_at DATETIME(3) NOT NULL,
  KEY ix_events_type (event_type, id),
  KEY ix_events_actor (actor_id, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
