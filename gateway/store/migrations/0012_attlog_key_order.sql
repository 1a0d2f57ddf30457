-- pushgate schema, version 12: ATTLOG records are stored time first
-- (events.record_key "ATTLOG@<time>\t<PIN>", gateway/store/record_keys.hpp),
-- so a terminal's uploads go in at the right edge of the unique index and
-- the ingest cost no longer grows with its history (issue 19). Rows already
-- stored keep their key; this notes, per terminal, the latest punch among
-- them, so a resent old record is still found under its old key. One read
-- of the event log, no row rewritten: safe on a big database and a small disk.
CREATE TABLE attlog_legacy_keys (
  terminal_id INTEGER PRIMARY KEY REFERENCES terminals(id),
  max_time    TEXT    NOT NULL  -- the latest <time> of its "ATTLOG\t<PIN>\t<time>" keys
);

INSERT INTO attlog_legacy_keys(terminal_id, max_time)
  SELECT terminal_id, MAX(substr(record_key, 8 + instr(substr(record_key, 8), char(9))))
    FROM events
   WHERE substr(record_key, 1, 7) = 'ATTLOG' || char(9)
     AND instr(substr(record_key, 8), char(9)) > 0
   GROUP BY terminal_id;
