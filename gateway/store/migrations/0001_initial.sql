-- pushgate schema, version 1: terminals, the append-only event log, the
-- quarantine of lines we could not parse, what each terminal holds, and the
-- sinks' cursors.

-- One row per device serial ever seen (or configured).
CREATE TABLE terminals (
  id            INTEGER PRIMARY KEY,
  sn            TEXT    NOT NULL UNIQUE,
  flavour       TEXT    NOT NULL DEFAULT 'attendance',  -- attendance | access
  state         TEXT    NOT NULL DEFAULT 'accepted',    -- accepted | pending | refused
  push_version  TEXT,
  firmware      TEXT,
  device_type   TEXT,
  ip            TEXT,
  info          TEXT,     -- JSON: the INFO= fields of getrequest
  options       TEXT,     -- JSON: the terminal's pushed options
  last_seq      INTEGER NOT NULL DEFAULT 0,  -- highest events.seq of this terminal
  first_seen_ms INTEGER,
  last_seen_ms  INTEGER
);

-- The event log. Append-only: rows are never updated or deleted by the
-- gateway. (terminal_id, record_key) is the device's own identity of a record,
-- so a re-upload is a no-op.
CREATE TABLE events (
  id          INTEGER PRIMARY KEY,
  terminal_id INTEGER NOT NULL REFERENCES terminals(id),
  seq         INTEGER NOT NULL,   -- per-terminal sequence, gap-free
  record_key  TEXT    NOT NULL,
  kind        INTEGER NOT NULL,   -- pushgate::EventKind
  local_time  TEXT,               -- terminal-local time exactly as sent
  utc_ms      INTEGER,            -- derived from the terminal's zone; NULL if unusable
  pin         TEXT,
  verify_mode INTEGER,
  status      INTEGER,
  work_code   TEXT,
  door        INTEGER,
  event_code  INTEGER,
  raw         TEXT    NOT NULL,
  extra       TEXT,               -- JSON object of other fields
  received_ms INTEGER NOT NULL,
  command_id  INTEGER,            -- the command this record answers
  UNIQUE (terminal_id, record_key)
);

-- Binary content that belongs to an event (attendance photos).
CREATE TABLE event_blobs (
  event_id INTEGER PRIMARY KEY REFERENCES events(id),
  content  BLOB NOT NULL
);

-- Lines a terminal sent that we could not understand, kept byte for byte.
CREATE TABLE quarantine (
  id          INTEGER PRIMARY KEY,
  terminal_sn TEXT,
  received_ms INTEGER NOT NULL,
  endpoint    TEXT,
  table_name  TEXT,
  line_no     INTEGER,
  reason      TEXT NOT NULL,
  raw         BLOB NOT NULL
);

-- The local copy of what each terminal holds (learned from its uploads).
CREATE TABLE terminal_users (
  terminal_id INTEGER NOT NULL REFERENCES terminals(id),
  pin         TEXT    NOT NULL,
  name        TEXT,
  privilege   INTEGER,
  password    TEXT,
  card        TEXT,
  group_id    TEXT,
  timezone    TEXT,
  verify      INTEGER,
  fields      TEXT,   -- JSON: every field as sent
  updated_ms  INTEGER NOT NULL,
  PRIMARY KEY (terminal_id, pin)
) WITHOUT ROWID;

CREATE TABLE terminal_templates (
  terminal_id INTEGER NOT NULL REFERENCES terminals(id),
  pin         TEXT    NOT NULL,
  bio_type    INTEGER NOT NULL,  -- 1 finger, 2 face, ... (BIODATA Type); FP = 1
  bio_no      INTEGER NOT NULL,  -- finger number / face index
  bio_index   INTEGER NOT NULL DEFAULT 0,
  valid       INTEGER,
  duress      INTEGER,
  major_ver   TEXT,
  minor_ver   TEXT,
  format      TEXT,
  size        INTEGER,
  template    TEXT NOT NULL,
  updated_ms  INTEGER NOT NULL,
  PRIMARY KEY (terminal_id, pin, bio_type, bio_no, bio_index)
) WITHOUT ROWID;

CREATE TABLE terminal_photos (
  terminal_id INTEGER NOT NULL REFERENCES terminals(id),
  pin         TEXT    NOT NULL,
  photo_kind  TEXT    NOT NULL,  -- userpic | biophoto
  bio_type    INTEGER NOT NULL DEFAULT 0,
  file_name   TEXT,
  size        INTEGER,
  content     TEXT    NOT NULL,  -- base64 as sent
  updated_ms  INTEGER NOT NULL,
  PRIMARY KEY (terminal_id, pin, photo_kind, bio_type)
) WITHOUT ROWID;

-- Each sink's durable position in the event log.
CREATE TABLE cursors (
  name       TEXT PRIMARY KEY,
  position   INTEGER NOT NULL DEFAULT 0,
  updated_ms INTEGER
);
