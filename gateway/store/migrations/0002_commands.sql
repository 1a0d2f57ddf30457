-- pushgate schema, version 2: the durable command queue, one per terminal.
-- A command is queued with an origin and an expiry, delivered on the
-- terminal's next getrequest (state sent), matched to its devicecmd result
-- by id (done/failed), re-delivered when no result comes in time, expired
-- when its time runs out. Rows are kept after they finish.
CREATE TABLE commands (
  id           INTEGER PRIMARY KEY,   -- the ID the terminal sees (C:<id>:...)
  terminal_sn  TEXT    NOT NULL,
  origin       TEXT    NOT NULL,      -- rest | mqtt | modbus | rule | sync | gateway
  client_ref   TEXT,                  -- the caller's own id (idempotency)
  verb         TEXT    NOT NULL,      -- open_door, upsert_user, raw, ...
  params       TEXT    NOT NULL DEFAULT '{}',  -- JSON
  state        TEXT    NOT NULL,      -- queued | sent | done | failed | expired | cancelled
  attempts     INTEGER NOT NULL DEFAULT 0,
  max_attempts INTEGER NOT NULL,
  created_ms   INTEGER NOT NULL,
  expires_ms   INTEGER NOT NULL,
  sent_ms      INTEGER,
  finished_ms  INTEGER,
  wire         TEXT,                  -- the line last sent, after C:<id>:
  return_code  INTEGER,
  return_name  TEXT,
  result       TEXT,                  -- the terminal's confirmation, raw
  error        TEXT                   -- why it failed or expired, in words
);
CREATE UNIQUE INDEX commands_client_ref ON commands(origin, client_ref) WHERE client_ref IS NOT NULL;
CREATE INDEX commands_open ON commands(state) WHERE state IN ('queued', 'sent');
CREATE INDEX commands_terminal ON commands(terminal_sn, id);
