-- End-user sessions, refresh tokens, TOTP factors, recovery codes and the
-- one-time tokens of the email/SMS flows (handlers/auth_*.c).
--
-- Every secret is stored hashed (SHA-256 of a high-entropy token) or sealed
-- (TOTP seeds, under the server's master key).  A session is revoked by
-- revoked_at here and by the Redis key revoked:sess:<tenant>:<id>, which the
-- bearer check reads on every request.

CREATE TABLE IF NOT EXISTS _sessions (
  id VARCHAR(40) NOT NULL PRIMARY KEY,
  user_id VARCHAR(40) NOT NULL,
  aal VARCHAR(8) NOT NULL DEFAULT 'aal1',
  amr VARCHAR(200) NOT NULL DEFAULT 'password',
  ip VARCHAR(64) NULL,
  user_agent VARCHAR(500) NULL,
  created_at DATETIME(3) NOT NULL,
  last_active_at DATETIME(3) NOT NULL,
  expires_at DATETIME(3) NOT NULL,
  revoked_at DATETIME(3) NULL,
  revoke_reason VARCHAR(40) NULL,
  KEY ix_sessions_user (user_id, revoked_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- One row per refresh token ever issued; rotated_at is set when it was
-- exchanged, so a second use of it is recognised (reuse detection).
CREATE TABLE IF NOT EXISTS _refresh_tokens (
  id VARCHAR(40) NOT NULL PRIMARY KEY,
  session_id VARCHAR(40) NOT NULL,
  user_id VARCHAR(40) NOT NULL,
  token_hash CHAR(64) NOT NULL,
  created_at DATETIME(3) NOT NULL,
  rotated_at DATETIME(3) NULL,
  UNIQUE KEY ux_refresh_hash (token_hash),
  KEY ix_refresh_session (session_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS _mfa_factors (
  id VARCHAR(40) NOT NULL PRIMARY KEY,
  user_id VARCHAR(40) NOT NULL,
  type VARCHAR(16) NOT NULL DEFAULT 'totp',
  friendly_name VARCHAR(100) NULL,
  secret_enc VARCHAR(255) NOT NULL,
  status VARCHAR(16) NOT NULL DEFAULT 'unverified',
  last_step BIGINT NOT NULL DEFAULT 0,
  created_at DATETIME(3) NOT NULL,
  updated_at DATETIME(3) NOT NULL,
  verified_at DATETIME(3) NULL,
  KEY ix_mfa_user (user_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS _mfa_recovery_codes (
  id VARCHAR(40) NOT NULL PRIMARY KEY,
  user_id VARCHAR(40) NOT NULL,
  code_hash CHAR(64) NOT NULL,
  created_at DATETIME(3) NOT NULL,
  used_at DATETIME(3) NULL,
  KEY ix_recovery_user (user_id),
  KEY ix_recovery_hash (code_hash)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- One-time tokens: kind is signup (email verification), email_change,
-- recovery (password reset), magic_link or sms_otp.  target is the email or
-- phone the token was sent to; for email_change it is the new address.
-- token_hash is SHA-256 of the token (for sms_otp, of phone and code).
CREATE TABLE IF NOT EXISTS _auth_tokens (
  id VARCHAR(40) NOT NULL PRIMARY KEY,
  kind VARCHAR(16) NOT NULL,
  user_id VARCHAR(40) NULL,
  target VARCHAR(320) NOT NULL,
  token_hash CHAR(64) NOT NULL,
  attempts INT NOT NULL DEFAULT 0,
  created_at DATETIME(3) NOT NULL,
  expires_at DATETIME(3) NOT NULL,
  used_at DATETIME(3) NULL,
  UNIQUE KEY ux_auth_tokens_hash (token_hash),
  KEY ix_auth_tokens_target (kind, target),
  KEY ix_auth_tokens_user (user_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
