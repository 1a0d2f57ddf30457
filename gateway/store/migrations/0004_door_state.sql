-- pushgate schema, version 4: the current state of each door of an
-- access-control terminal (Security PUSH table=rtstate, §7.3). One row per
-- door, upserted by the zkpush adapter through the writer; changes are also
-- DoorState events (kind 4) in the event log.
CREATE TABLE door_state (
  terminal_id INTEGER NOT NULL REFERENCES terminals(id),
  door        INTEGER NOT NULL,   -- 1-based door number
  sensor      TEXT,               -- none | closed | open | unknown; NULL: not reported
  relay       TEXT,               -- connected | disconnected; NULL: not reported
  alarm       INTEGER,            -- the door's alarm byte (§7.3 bits); NULL: not reported
  updated_ms  INTEGER NOT NULL,   -- when pushgate stored this state
  PRIMARY KEY (terminal_id, door)
) WITHOUT ROWID;
