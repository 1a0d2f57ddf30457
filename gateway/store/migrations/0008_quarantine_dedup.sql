-- pushgate schema, version 8: the quarantine is idempotent per terminal and
-- raw line (issue 12), as events are per record key: a terminal that resends
-- a batch (it did not hear OK, or resends by design) does not quarantine its
-- bad lines twice.
--
-- raw_key: hex SHA-256 of `raw`, set by the writer; NULL for rows written
-- before version 8 (never equal, so they are kept as they are).
ALTER TABLE quarantine ADD COLUMN raw_key TEXT;
CREATE UNIQUE INDEX quarantine_terminal_raw ON quarantine(terminal_sn, raw_key);
