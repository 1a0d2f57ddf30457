-- pushgate schema, version 13: sync at the size of a site (issue 19 item 6).
--
-- The sync plans its commands per terminal as the terminal takes them (at
-- most sync.window open), and a sync command that is done leaves `commands`
-- (with the photo or template it carried): the table holds what is
-- outstanding, not users x terminals x items. sync_progress keeps how many
-- sync commands each terminal has done, for GET /api/v1/sync.
CREATE TABLE sync_progress (
  terminal_sn TEXT    PRIMARY KEY,
  done        INTEGER NOT NULL DEFAULT 0,  -- sync commands done and removed from `commands`
  updated_ms  INTEGER NOT NULL
) WITHOUT ROWID;

-- The done sync commands of earlier versions move into the count.
INSERT INTO sync_progress(terminal_sn, done, updated_ms)
  SELECT terminal_sn, count(*), COALESCE(MAX(finished_ms), 0)
  FROM commands WHERE origin = 'sync' AND state = 'done' GROUP BY terminal_sn;
DELETE FROM commands WHERE origin = 'sync' AND state = 'done';
