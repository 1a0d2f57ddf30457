-- pushgate schema, version 7: synchronisation down to terminals and linkage
-- rules (issue 7 part B).
--
-- sync_items: what each terminal was last sent by the sync (or holds from its
-- own upload, so it is never sent back), per item ("user/42",
-- "template/42/1/6/0", "photo/42/biophoto/9", "authorize/42", "timezone/3",
-- "holiday/20241225"). `digest` identifies the content; '' means a delete was
-- sent. The commands themselves are in `commands` with origin 'sync'.
CREATE TABLE sync_items (
  terminal_sn TEXT    NOT NULL,
  item        TEXT    NOT NULL,
  digest      TEXT    NOT NULL,
  command_id  INTEGER,            -- the last command queued for it (NULL: none, e.g. the source)
  updated_ms  INTEGER NOT NULL,
  PRIMARY KEY (terminal_sn, item)
) WITHOUT ROWID;

-- linkage_rules: the rules document put over REST (one row); absent: the
-- rules come from linkage.rules_file.
CREATE TABLE linkage_rules (
  id         INTEGER PRIMARY KEY CHECK (id = 1),
  document   TEXT    NOT NULL,    -- JSON {"rules": [...]}, validated before it is stored
  updated_ms INTEGER NOT NULL
);
