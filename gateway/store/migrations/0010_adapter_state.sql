-- pushgate schema, version 10: adapters' own small records (gateway/
-- adapter_state.hpp), so an adapter needs no table of its own. The Modbus
-- slot assignments move here: key "slot/<5-digit slot>", value
-- {"sn":…,"origin":"config"|"auto","assigned_ms":…}; the keys keep the slot order.
CREATE TABLE adapter_state (
  adapter    TEXT    NOT NULL,
  key        TEXT    NOT NULL,
  value      TEXT    NOT NULL,
  updated_ms INTEGER NOT NULL,
  PRIMARY KEY (adapter, key)
) WITHOUT ROWID;

INSERT INTO adapter_state(adapter, key, value, updated_ms)
  SELECT 'modbus', printf('slot/%05d', slot),
         json_object('sn', sn, 'origin', origin, 'assigned_ms', assigned_ms), assigned_ms
    FROM modbus_slots;

DROP TABLE modbus_slots;
