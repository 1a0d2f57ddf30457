-- pushgate schema, version 3: attendance timecards computed by the gateway
-- (gateway/attendance/), the attendance rules set over REST, and the
-- attendance service's progress. Written only by the attendance service,
-- through the writer like everything else.

-- The latest timecard of each user's attendance day. Each new version is
-- also published as a Timecard event (kind 8) in the event log; `revision`
-- counts the versions and is part of that event's record_key.
CREATE TABLE timecards (
  pin         TEXT    NOT NULL,
  day         TEXT    NOT NULL,   -- the attendance day, YYYY-MM-DD (site local)
  kind        TEXT    NOT NULL,   -- shift | rest | holiday | leave | business_trip | unscheduled
  status      TEXT    NOT NULL,   -- timecard_status(): "normal/late", "early/absent", "rest", ...
  final       INTEGER NOT NULL,   -- 1 once the day's window has closed
  json        TEXT    NOT NULL,   -- timecard_to_json()
  digest      TEXT    NOT NULL,   -- SHA-256 (hex, truncated) of json
  revision    INTEGER NOT NULL,   -- 1 for the first version, +1 for each change
  computed_ms INTEGER NOT NULL,
  PRIMARY KEY (pin, day)
) WITHOUT ROWID;
CREATE INDEX timecards_day ON timecards(day);

-- The rules document set with PUT /api/v1/attendance/rules. At most one row;
-- when present it wins over attendance.rules_file.
CREATE TABLE attendance_rules (
  id         INTEGER PRIMARY KEY CHECK (id = 1),
  json       TEXT    NOT NULL,
  updated_ms INTEGER NOT NULL
);

-- Small named values of the attendance service ("finalized_until": the site
-- wall time up to which closed days were finalised).
CREATE TABLE attendance_state (
  name       TEXT PRIMARY KEY,
  value      TEXT    NOT NULL,
  updated_ms INTEGER NOT NULL
);
