-- pushgate schema, version 11: retention with a disk budget (issue 19,
-- gateway/store/retention.hpp). Events are deleted once they are older than
-- store.retain_days and every enabled sink has them, or, oldest first, when
-- the database reaches store.max_db_size.
--
-- retention_horizons: per terminal, the newest device time (UTC ms) among its
-- deleted events, capped at the newest receive time among them (a terminal
-- whose clock ran ahead cannot push the horizon into the future). A record
-- that terminal uploads again dated at or before its horizon is one retention
-- already deleted: the trigger below drops it, and the store counts it as a
-- duplicate, as it would have been before the deletion. floor_ms is the
-- oldest such time: a record dated before it cannot be one retention deleted
-- (a terminal whose clock was reset to its epoch after a dead RTC battery
-- uploads new punches dated years back; they are stored, not dropped). The
-- gateway's own events (timecards, alerts) get no horizon.
CREATE TABLE retention_horizons (
  terminal_id INTEGER PRIMARY KEY REFERENCES terminals(id),
  horizon_ms  INTEGER NOT NULL,
  floor_ms    INTEGER NOT NULL,             -- oldest device time among them
  deleted     INTEGER NOT NULL DEFAULT 0,   -- events of this terminal deleted so far
  updated_ms  INTEGER NOT NULL
);

CREATE TRIGGER events_retention_horizon BEFORE INSERT ON events
WHEN NEW.utc_ms IS NOT NULL
 AND EXISTS (SELECT 1 FROM retention_horizons WHERE terminal_id = NEW.terminal_id
             AND NEW.utc_ms BETWEEN floor_ms AND horizon_ms)
BEGIN
  SELECT RAISE(IGNORE);
END;

-- retention_losses: per sink, events deleted (store.max_db_size) before that
-- sink acknowledged them. `unreported` is committed with the deletion and
-- cleared in the transaction that stores the alert event reporting it, so a
-- crash in between cannot lose the report.
CREATE TABLE retention_losses (
  sink       TEXT    PRIMARY KEY,
  unreported INTEGER NOT NULL DEFAULT 0,
  total      INTEGER NOT NULL DEFAULT 0,
  updated_ms INTEGER NOT NULL
) WITHOUT ROWID;
