-- pushgate schema, version 9: a vendor-neutral description of each terminal
-- (issue 14, gateway/terminals.hpp DeviceCapabilities): vendor, model,
-- protocol and what the device can do. The adapter that speaks to a device
-- fills them from what it announces; this migration derives them for the
-- rows written before, from what those rows hold.
--
-- capabilities: JSON {"doors", "readers", "biometrics": [names], "decision":
-- "local"|"gateway", "commands": "poll"|"push", "user_sync": bool}.
ALTER TABLE terminals ADD COLUMN vendor TEXT;
ALTER TABLE terminals ADD COLUMN model TEXT;
ALTER TABLE terminals ADD COLUMN protocol TEXT;
ALTER TABLE terminals ADD COLUMN capabilities TEXT;

-- Every row so far was written by zkpush, except the gateway's own source
-- (timecards, decisions, linkage events), which never spoke a protocol.
-- info/options are JSON written by pushgate; anything else reads as absent.
UPDATE terminals SET
  vendor = 'zkteco',
  protocol = CASE flavour WHEN 'access' THEN 'zkpush-security' ELSE 'zkpush-attendance' END
WHERE vendor IS NULL
  AND (push_version IS NOT NULL OR device_type IS NOT NULL OR info IS NOT NULL
       OR options IS NOT NULL OR flavour = 'access');

-- The model: the name the device gave itself (~DeviceName in its options or
-- its registration), else its DeviceType.
UPDATE terminals SET model = COALESCE(
    NULLIF(json_extract(CASE WHEN json_valid(options) THEN options END, '$."~DeviceName"'), ''),
    NULLIF(json_extract(CASE WHEN json_valid(info) THEN info END,
                        '$.registration."~DeviceName"'), ''),
    NULLIF(device_type, ''))
WHERE protocol IS NOT NULL AND model IS NULL;

-- A flag the device reported as "1", in its options or its registration.
-- (SQLite has no functions of its own: the expressions are spelled out.)
-- The same rules as adapters/zkpush/zkpush_device_model.cpp, plus what the
-- stored templates and door_state rows show.
UPDATE terminals SET capabilities = json_object(
  'doors', MAX(
    COALESCE(CAST(json_extract(CASE WHEN json_valid(info) THEN info END,
                               '$.registration.LockCount') AS INTEGER),
             json_extract(CASE WHEN json_valid(info) THEN info END, '$.lock_count'),
             CAST(json_extract(CASE WHEN json_valid(options) THEN options END, '$.LockCount')
                  AS INTEGER),
             CASE flavour WHEN 'access' THEN 1 ELSE 0 END),
    (SELECT COUNT(*) FROM door_state d WHERE d.terminal_id = terminals.id)),
  'readers', COALESCE(CAST(json_extract(CASE WHEN json_valid(info) THEN info END,
                                        '$.registration.ReaderCount') AS INTEGER), 0),
  'biometrics', json('[' || rtrim(
    CASE WHEN json_extract(CASE WHEN json_valid(options) THEN options END, '$.FingerFunOn') = '1'
           OR json_extract(CASE WHEN json_valid(info) THEN info END,
                           '$.registration.FingerFunOn') = '1'
           OR COALESCE(json_extract(CASE WHEN json_valid(info) THEN info END,
                                    '$.fingerprints'), 0) > 0
           OR EXISTS (SELECT 1 FROM terminal_templates x
                      WHERE x.terminal_id = terminals.id AND x.bio_type = 1)
         THEN '"fingerprint",' ELSE '' END ||
    CASE WHEN json_extract(CASE WHEN json_valid(options) THEN options END, '$.FaceFunOn') = '1'
           OR json_extract(CASE WHEN json_valid(info) THEN info END,
                           '$.registration.FaceFunOn') = '1'
           OR COALESCE(json_extract(CASE WHEN json_valid(info) THEN info END, '$.faces'), 0) > 0
           OR EXISTS (SELECT 1 FROM terminal_templates x
                      WHERE x.terminal_id = terminals.id AND x.bio_type IN (2, 9))
         THEN '"face",' ELSE '' END ||
    CASE WHEN json_extract(CASE WHEN json_valid(options) THEN options END, '$.PvFunOn') = '1'
           OR json_extract(CASE WHEN json_valid(info) THEN info END,
                           '$.registration.PvFunOn') = '1'
           OR EXISTS (SELECT 1 FROM terminal_templates x
                      WHERE x.terminal_id = terminals.id AND x.bio_type IN (6, 8, 10))
         THEN '"palm",' ELSE '' END ||
    CASE WHEN json_extract(CASE WHEN json_valid(options) THEN options END, '$.FvFunOn') = '1'
           OR json_extract(CASE WHEN json_valid(info) THEN info END,
                           '$.registration.FvFunOn') = '1'
           OR EXISTS (SELECT 1 FROM terminal_templates x
                      WHERE x.terminal_id = terminals.id AND x.bio_type = 7)
         THEN '"finger_vein",' ELSE '' END ||
    CASE WHEN EXISTS (SELECT 1 FROM terminal_templates x
                      WHERE x.terminal_id = terminals.id AND x.bio_type = 4)
         THEN '"iris",' ELSE '' END, ',') || ']'),
  'decision', CASE
    WHEN flavour = 'access'
     AND (json_extract(CASE WHEN json_valid(info) THEN info END,
                       '$.registration.AutoServerFunOn') = '1'
          OR json_extract(CASE WHEN json_valid(options) THEN options END,
                          '$.AutoServerFunOn') = '1')
    THEN 'gateway' ELSE 'local' END,
  'commands', 'poll',
  'user_sync', json(CASE flavour WHEN 'access' THEN 'true' ELSE 'false' END))
WHERE protocol IS NOT NULL AND capabilities IS NULL;
