-- pushgate schema, version 5: which terminal each Modbus slot shows
-- (adapters/modbus/). A slot, once given to a serial, keeps it across
-- restarts so a BMS's addresses never move; modbus.slots in the config
-- overrides a row here.
CREATE TABLE modbus_slots (
  slot        INTEGER PRIMARY KEY,  -- 1-based; unit id = slot
  sn          TEXT    NOT NULL UNIQUE,
  assigned_ms INTEGER NOT NULL,
  origin      TEXT    NOT NULL      -- config | auto
);
