-- External identity (handlers/passkeys.c, handlers/oauth.c): the passkeys
-- (WebAuthn credentials) of end users and the identities users hold at
-- OAuth / OpenID Connect providers.

-- credential_id is the base64url credential id the authenticator chose;
-- public_key the COSE key (base64url of its CBOR) and alg its COSE
-- algorithm (-7 ES256, -8 EdDSA, -257 RS256).  user_handle is the random
-- WebAuthn user handle of the user (the same for all their passkeys),
-- never the user id.
CREATE TABLE IF NOT EXISTS _passkeys (
  id VARCHAR(40) NOT NULL PRIMARY KEY,
  user_id VARCHAR(40) NOT NULL,
  credential_id VARCHAR(1400) NOT NULL,
  credential_hash CHAR(64) NOT NULL,
  public_key TEXT NOT NULL,
  alg INT NOT NULL,
  sign_count BIGINT NOT NULL DEFAULT 0,
  transports LONGTEXT NOT NULL DEFAULT '[]' CHECK (JSON_VALID(transports)),
  aaguid CHAR(36) NULL,
  attestation_format VARCHAR(16) NOT NULL,
  user_handle VARCHAR(64) NOT NULL,
  friendly_name VARCHAR(100) NULL,
  backup_eligible TINYINT(1) NOT NULL DEFAULT 0,
  created_at DATETIME(3) NOT NULL,
  updated_at DATETIME(3) NOT NULL,
  last_used_at DATETIME(3) NULL,
  UNIQUE KEY ux_passkeys_credential (credential_hash),
  KEY ix_passkeys_user (user_id, id),
  KEY ix_passkeys_handle (user_handle),
  CONSTRAINT fk_passkeys_user FOREIGN KEY (user_id) REFERENCES _users (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- One row per (provider, subject): the account at the provider that signs
-- in as user_id.  email is what the provider said, when it said it was
-- verified.
CREATE TABLE IF NOT EXISTS _user_identities (
  id VARCHAR(40) NOT NULL PRIMARY KEY,
  user_id VARCHAR(40) NOT NULL,
  provider VARCHAR(32) NOT NULL,
  subject VARCHAR(255) NOT NULL,
  email VARCHAR(320) NULL,
  profile LONGTEXT NOT NULL DEFAULT '{}' CHECK (JSON_VALID(profile)),
  created_at DATETIME(3) NOT NULL,
  last_sign_in_at DATETIME(3) NULL,
  UNIQUE KEY ux_identities_subject (provider, subject),
  KEY ix_identities_user (user_id),
  CONSTRAINT fk_identities_user FOREIGN KEY (user_id) REFERENCES _users (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
