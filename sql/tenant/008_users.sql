-- End users of the tenant's app (issue: end-user identity).  Created by the
-- auth flows (sign-up, anonymous, magic link, phone OTP) and by the admin
-- Users API.  password_hash is argon2id (libsodium's crypto_pwhash_str);
-- NULL for users without a password (anonymous, magic link, phone only).
-- email and phone are unique when present.  A banned user has banned_at
-- set and cannot log in or refresh.

CREATE TABLE IF NOT EXISTS _users (
  id VARCHAR(40) NOT NULL PRIMARY KEY,
  email VARCHAR(320) NULL,
  phone VARCHAR(20) NULL,
  password_hash VARCHAR(255) NULL,
  role VARCHAR(64) NOT NULL DEFAULT 'authenticated',
  is_anonymous TINYINT(1) NOT NULL DEFAULT 0,
  email_verified_at DATETIME(3) NULL,
  phone_verified_at DATETIME(3) NULL,
  user_metadata LONGTEXT NOT NULL DEFAULT '{}' CHECK (JSON_VALID(user_metadata)),
  app_metadata LONGTEXT NOT NULL DEFAULT '{}' CHECK (JSON_VALID(app_metadata)),
  banned_at DATETIME(3) NULL,
  ban_reason VARCHAR(500) NULL,
  last_sign_in_at DATETIME(3) NULL,
  created_at DATETIME(3) NOT NULL,
  updated_at DATETIME(3) NOT NULL,
  UNIQUE KEY ux_users_email (email),
  UNIQUE KEY ux_users_phone (phone),
  KEY ix_users_role (role),
  KEY ix_users_created (created_at, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
