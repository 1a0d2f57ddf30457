-- pushgate schema, version 14: local accounts and API credentials (issue 18,
-- gateway/auth). Nothing secret is stored in clear: passwords as a salted
-- scrypt hash ("scrypt$N$r$p$salt$hash", base64), API tokens and session ids
-- (random 256-bit) as the hex SHA-256 of the value the client holds. Times
-- are UTC ms. Rows are revoked or disabled, not deleted, so the audit trail
-- keeps its names; a removed user is deleted with its sessions.
CREATE TABLE auth_users (
  id            INTEGER PRIMARY KEY,
  name          TEXT    NOT NULL UNIQUE,
  role          TEXT    NOT NULL CHECK (role IN ('viewer', 'operator', 'admin')),
  password_hash TEXT    NOT NULL,
  created_ms    INTEGER NOT NULL,
  disabled      INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE auth_tokens (
  id           INTEGER PRIMARY KEY,
  name         TEXT    NOT NULL,
  role         TEXT    NOT NULL CHECK (role IN ('viewer', 'operator', 'admin')),
  token_hash   TEXT    NOT NULL UNIQUE,
  created_ms   INTEGER NOT NULL,
  created_by   TEXT    NOT NULL,
  last_used_ms INTEGER,
  revoked_ms   INTEGER
);

CREATE TABLE auth_sessions (
  id_hash      TEXT    PRIMARY KEY,
  user_id      INTEGER NOT NULL REFERENCES auth_users(id) ON DELETE CASCADE,
  created_ms   INTEGER NOT NULL,
  last_seen_ms INTEGER NOT NULL,
  expires_ms   INTEGER NOT NULL,   -- absolute expiry
  revoked_ms   INTEGER,
  csrf_token   TEXT    NOT NULL    -- not a secret at rest: it only pairs with the cookie
);
CREATE INDEX auth_sessions_user ON auth_sessions(user_id);
