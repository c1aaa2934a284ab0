-- AI (issue 18): providers, conversations, vectors (handlers/ai*.c).
--
-- _ai_providers: the tenant's configured providers.  api_key_enc is the
-- key sealed under the master key (never rendered); api_key_hint its last
-- four characters, for the masked "sk-…abcd".  At most one row is the
-- default (is_default), which requests that name no provider use.
CREATE TABLE IF NOT EXISTS _ai_providers (
  id VARCHAR(40) NOT NULL PRIMARY KEY,
  name VARCHAR(100) NOT NULL,
  provider_type VARCHAR(16) NOT NULL,
  api_key_enc TEXT NULL,
  api_key_hint VARCHAR(8) NULL,
  config_json LONGTEXT NULL CHECK (config_json IS NULL OR JSON_VALID(config_json)),
  is_default TINYINT(1) NOT NULL DEFAULT 0,
  created_by VARCHAR(64) NULL,
  created_at DATETIME(3) NOT NULL,
  updated_at DATETIME(3) NOT NULL,
  UNIQUE KEY uq_ai_providers_name (name),
  KEY ix_ai_providers_default (is_default)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Conversations and their messages.  owner_id is the end user who made
-- one (NULL for an API key's); end users see only their own.
CREATE TABLE IF NOT EXISTS _ai_conversations (
  id VARCHAR(40) NOT NULL PRIMARY KEY,
  title VARCHAR(200) NULL,
  model VARCHAR(100) NULL,
  provider_id VARCHAR(40) NULL,
  system_prompt TEXT NULL,
  owner_id VARCHAR(64) NULL,
  message_count INT NOT NULL DEFAULT 0,
  created_by VARCHAR(64) NULL,
  created_at DATETIME(3) NOT NULL,
  updated_at DATETIME(3) NOT NULL,
  KEY ix_ai_conversations_owner (owner_id, created_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS _ai_messages (
  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  conversation_id VARCHAR(40) NOT NULL,
  role VARCHAR(16) NOT NULL,
  content MEDIUMTEXT NOT NULL,
  model VARCHAR(100) NULL,
  input_tokens INT NULL,
  output_tokens INT NULL,
  created_at DATETIME(3) NOT NULL,
  KEY ix_ai_messages_conversation (conversation_id, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- One vector per indexed object: model and dims say what made it, vec is
-- dims little-endian float32 values, L2-normalised (cosine = dot product).
CREATE TABLE IF NOT EXISTS _ai_vectors (
  object_id VARCHAR(40) NOT NULL PRIMARY KEY,
  object_type_id VARCHAR(40) NOT NULL,
  model VARCHAR(100) NOT NULL,
  dims INT NOT NULL,
  vec MEDIUMBLOB NOT NULL,
  updated_at DATETIME(3) NOT NULL,
  KEY ix_ai_vectors_type (object_type_id, model),
  KEY ix_ai_vectors_model (model)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- What a deleted object had in the index (its vector is dropped with the
-- delete): restoring the object embeds it again with the same model.
CREATE TABLE IF NOT EXISTS _ai_dropped (
  object_id VARCHAR(40) NOT NULL PRIMARY KEY,
  object_type_id VARCHAR(40) NOT NULL,
  model VARCHAR(100) NOT NULL,
  dropped_at DATETIME(3) NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- A counter every change to _ai_vectors raises (in its transaction):
-- workers keep the vectors they searched in memory and read them again
-- only when it moved.
CREATE TABLE IF NOT EXISTS _ai_index_state (
  id TINYINT NOT NULL PRIMARY KEY,
  gen BIGINT NOT NULL
) ENGINE=InnoDB;

-- The keywords of each indexed object and their counts: document
-- frequencies for TF-IDF tagging (auto-tag) against the indexed corpus.
CREATE TABLE IF NOT EXISTS _ai_doc_terms (
  object_id VARCHAR(40) NOT NULL,
  term VARCHAR(64) NOT NULL,
  n INT NOT NULL,
  PRIMARY KEY (object_id, term),
  KEY ix_ai_doc_terms_term (term)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
