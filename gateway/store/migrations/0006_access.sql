-- pushgate schema, version 6: access-control master data and the
-- anti-passback state (gateway/access/, rules/access/README.md). Written only
-- by the access service, through the writer like everything else; read once
-- at start into memory, where decisions are taken.
--
-- Each entity is kept in its JSON form (rules/access/master_data_json.hpp,
-- the same document the REST API takes), keyed by its identity; cards also
-- get their own table so a card number is unique site-wide in the schema.

-- Users (PIN, name, password, privilege, group, validity, disabled,
-- blacklisted, cards, levels). source: "rest", or "terminal:<sn>" for a user
-- imported from a terminal's upload (REST edits win; see the README).
CREATE TABLE access_users (
  pin        TEXT    PRIMARY KEY,
  json       TEXT    NOT NULL,
  source     TEXT    NOT NULL,
  updated_ms INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE access_cards (
  card TEXT    PRIMARY KEY,
  pin  TEXT    NOT NULL REFERENCES access_users(pin) ON DELETE CASCADE,
  lost INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE INDEX access_cards_pin ON access_cards(pin);

-- The spec's timezone table: three periods per weekday and per holiday type.
CREATE TABLE access_timezones (
  id         INTEGER PRIMARY KEY,
  json       TEXT    NOT NULL,
  updated_ms INTEGER NOT NULL
);

-- Holidays, keyed by date (YYYY-MM-DD); yearly ones match month and day.
CREATE TABLE access_holidays (
  day        TEXT    PRIMARY KEY,
  json       TEXT    NOT NULL,
  updated_ms INTEGER NOT NULL
) WITHOUT ROWID;

-- Access levels: doors (of any terminal) x one time zone.
CREATE TABLE access_levels (
  id         INTEGER PRIMARY KEY,
  json       TEXT    NOT NULL,
  updated_ms INTEGER NOT NULL
);

-- Per-door settings (Appendix 10, first-card and multi-card opening, areas,
-- interlock group).
CREATE TABLE access_doors (
  terminal_sn TEXT    NOT NULL,
  door        INTEGER NOT NULL,
  json        TEXT    NOT NULL,
  updated_ms  INTEGER NOT NULL,
  PRIMARY KEY (terminal_sn, door)
) WITHOUT ROWID;

-- Anti-passback areas.
CREATE TABLE access_areas (
  id         INTEGER PRIMARY KEY,
  json       TEXT    NOT NULL,
  updated_ms INTEGER NOT NULL
);

-- Where anti-passback believes each user is (0: outside), since when. A
-- grant that moves a user is committed here before the terminal hears
-- SUCCESS, so the state survives a crash or a restart.
CREATE TABLE access_apb (
  pin      TEXT    PRIMARY KEY,
  area     INTEGER NOT NULL,
  since_ms INTEGER NOT NULL
) WITHOUT ROWID;
