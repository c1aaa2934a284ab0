-- Identity administration (handlers/identity_settings.c, roles.c,
-- notifications.c): the tenant's auth config and governance documents,
-- roles with inherited permissions and their assignment to end users,
-- in-app notifications and per-channel notification preferences.

-- One JSON document per name: 'auth_config' and 'governance'.  Absent
-- members take the built-in defaults when read.
CREATE TABLE IF NOT EXISTS _identity_settings (
  name VARCHAR(32) NOT NULL PRIMARY KEY,
  value LONGTEXT NOT NULL CHECK (JSON_VALID(value)),
  updated_at DATETIME(3) NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- permissions is a JSON array of permission strings (see roles.c for the
-- vocabulary); a role inherits every permission of its parent chain.
CREATE TABLE IF NOT EXISTS _roles (
  id VARCHAR(40) NOT NULL PRIMARY KEY,
  name VARCHAR(64) NOT NULL,
  description VARCHAR(1000) NULL,
  parent_role_id VARCHAR(40) NULL,
  permissions LONGTEXT NOT NULL DEFAULT '[]' CHECK (JSON_VALID(permissions)),
  created_at DATETIME(3) NOT NULL,
  updated_at DATETIME(3) NOT NULL,
  UNIQUE KEY ux_roles_name (name),
  KEY ix_roles_parent (parent_role_id),
  CONSTRAINT fk_roles_parent FOREIGN KEY (parent_role_id) REFERENCES _roles (id) ON DELETE SET NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS _user_roles (
  user_id VARCHAR(40) NOT NULL,
  role_id VARCHAR(40) NOT NULL,
  created_at DATETIME(3) NOT NULL,
  PRIMARY KEY (user_id, role_id),
  KEY ix_user_roles_role (role_id),
  CONSTRAINT fk_user_roles_user FOREIGN KEY (user_id) REFERENCES _users (id) ON DELETE CASCADE,
  CONSTRAINT fk_user_roles_role FOREIGN KEY (role_id) REFERENCES _roles (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- type is the notification's category ("system", "security", …).
CREATE TABLE IF NOT EXISTS _notifications (
  id VARCHAR(40) NOT NULL PRIMARY KEY,
  user_id VARCHAR(40) NOT NULL,
  type VARCHAR(64) NOT NULL,
  title VARCHAR(500) NOT NULL,
  body TEXT NULL,
  metadata LONGTEXT NULL CHECK (metadata IS NULL OR JSON_VALID(metadata)),
  is_read TINYINT(1) NOT NULL DEFAULT 0,
  read_at DATETIME(3) NULL,
  created_at DATETIME(3) NOT NULL,
  KEY ix_notifications_user (user_id, id),
  KEY ix_notifications_unread (user_id, is_read),
  CONSTRAINT fk_notifications_user FOREIGN KEY (user_id) REFERENCES _users (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- categories: JSON array of the categories the channel carries; [] = all.
CREATE TABLE IF NOT EXISTS _notification_prefs (
  user_id VARCHAR(40) NOT NULL,
  channel VARCHAR(16) NOT NULL,
  enabled TINYINT(1) NOT NULL DEFAULT 1,
  categories LONGTEXT NOT NULL DEFAULT '[]' CHECK (JSON_VALID(categories)),
  updated_at DATETIME(3) NOT NULL,
  PRIMARY KEY (user_id, channel),
  CONSTRAINT fk_notification_prefs_user FOREIGN KEY (user_id) REFERENCES _users (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
