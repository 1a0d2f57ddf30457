#!/usr/bin/env python3
"""The Modbus TCP server against a Modbus client nobody on the team wrote
(pymodbus, Debian's python3-pymodbus), with the real pushgated fed by
simulated terminals: an access-control terminal speaking Security PUSH over
HTTP (registration, rtstate, rtlog, command polls and results, as
tests/integration/zkpush_security_test.cpp does) and an attendance terminal
(pushgate-sim).

1. Every item of the register map (read from register-map.csv, the file
   generated from the one table in modbus_map.cpp) reads what the map says,
   in the flat layout and through each slot's unit id. An item without an
   expectation here fails the test, so the map cannot grow untested.
2. A door-open written to the mailbox reaches the terminal's command poll and
   the terminal's result (Return=) comes back in the mailbox registers; a
   failing result, a rejected command and a command coil too.
3. Writes from an address outside modbus.write_allow (a client bound to
   127.0.0.2) are answered with exception 01 and change nothing.
4. Illegal addresses, functions and unit ids get their Modbus exceptions.
5. A terminal that goes silent reads offline and its doors unknown, never
   the last state seen; slots are kept across a restart.
"""

import calendar
import csv
import http.client
import os
import re
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "system"))
import systest  # noqa: E402
from systest import check, log  # noqa: E402

try:
    from pymodbus.client import ModbusTcpClient
except ImportError as e:
    print(f"pymodbus is missing ({e}); packaging/install-deps.sh installs python3-pymodbus and "
          f"python3-serial-asyncio for Debian's python3; this is {sys.executable}",
          file=sys.stderr)
    sys.exit(1)

MODBUS_PORT_RE = re.compile(r"Modbus TCP server listening on \S+:(\d+) ")
ACC = "ACC0000001"
ATT = "ATT00001"
SLOTS = 4
FLAT = 255
SLOT_BASE = 100
SLOT_SIZE = 64
COILS_PER_SLOT = 8
OFFLINE_AFTER_S = 15
U16 = 0xFFFF
U32 = 0xFFFFFFFF
NO_RC = -32768


# --- a Security PUSH terminal (client side, written from the spec) ----------

class AccessTerminal:
    def __init__(self, port, sn):
        self.port = port
        self.sn = sn

    def request(self, method, target, body=""):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        data = body.encode("utf-8")
        conn.request(method, target, body=data if method == "POST" else None,
                     headers={"User-Agent": "iClock Proxy/1.09",
                              "Content-Type": "application/push;charset=UTF-8"})
        r = conn.getresponse()
        text = r.read().decode("utf-8", errors="replace")
        conn.close()
        return r.status, text

    def register(self):
        # §4.1 handshake, §4.4 registry (LockCount=4: four doors), handshake again.
        st, _ = self.request("GET", f"/iclock/cdata?SN={self.sn}&options=all&pushver=3.1.2"
                                    "&DeviceType=acc")
        check(st == 200, f"handshake answered {st}")
        st, body = self.request(
            "POST", f"/iclock/registry?SN={self.sn}",
            "DeviceType=acc,~DeviceName=F20/M,FirmVer=Ver 8.0.1.3-20151229,"
            "PushVersion=Ver 2.0.22-20161201,CommType=ethernet,LockCount=4,ReaderCount=2,"
            "AuxInCount=0,AuxOutCount=0,MachineType=101,MaxLockCount=4")
        check(st == 200 and body.startswith("RegistryCode="), f"registry answered {st} {body!r}")
        st, body = self.request("GET", f"/iclock/cdata?SN={self.sn}&options=all&pushver=3.1.2")
        check(st == 200 and "registry=ok" in body, f"second handshake answered {st} {body!r}")

    def upload(self, table, lines):
        st, body = self.request("POST", f"/iclock/cdata?SN={self.sn}&table={table}",
                                "".join(line + "\r\n" for line in lines))
        check(st == 200 and body.startswith("OK"), f"{table} upload answered {st} {body!r}")

    def poll(self):
        st, body = self.request("GET", f"/iclock/getrequest?SN={self.sn}")
        check(st == 200, f"getrequest answered {st}")
        return body

    def result(self, cmd_id, code, cmd="CONTROL DEVICE"):
        st, body = self.request("POST", f"/iclock/devicecmd?SN={self.sn}",
                                f"ID={cmd_id}&Return={code}&CMD={cmd}")
        check(st == 200, f"devicecmd answered {st} {body!r}")


# --- reading the map ----------------------------------------------------------

def load_map():
    path = os.path.join(HERE, "..", "..", "adapters", "modbus", "register-map.csv")
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    check(rows, "register-map.csv is empty")
    for r in rows:
        for k in ("address", "block_offset", "words"):
            r[k] = int(r[k])
    return rows


def ok(rr, what):
    check(not rr.isError(), f"{what}: {rr}")
    return rr


def decode(row, words):
    t = row["type"]
    if t == "uint16":
        return words[0]
    if t == "int16":
        return words[0] - 0x10000 if words[0] & 0x8000 else words[0]
    if t == "uint32":
        return (words[0] << 16) | words[1]  # high word first
    if t == "ascii":
        raw = b"".join(w.to_bytes(2, "big") for w in words)
        return raw.rstrip(b"\0").decode("ascii", errors="replace")
    raise AssertionError(f"unknown type {t}")


def read_item(client, row, slot, unit):
    """One item, for `slot` (flat layout) or, with unit = slot, at the slot 1 address."""
    addr = row["address"]
    if row["scope"] == "slot" and unit == FLAT:
        addr += (slot - 1) * (COILS_PER_SLOT if row["table"] == "coil" else SLOT_SIZE)
    n = row["words"]
    what = f"{row['name']} (slot {slot}, unit {unit}, address {addr})"
    if row["table"] == "input_register":
        return decode(row, ok(client.read_input_registers(addr, n, slave=unit), what).registers)
    if row["table"] == "holding_register":
        return decode(row, ok(client.read_holding_registers(addr, n, slave=unit), what).registers)
    if row["table"] == "discrete_input":
        return bool(ok(client.read_discrete_inputs(addr, 1, slave=unit), what).bits[0])
    if row["table"] == "coil":
        return bool(ok(client.read_coils(addr, 1, slave=unit), what).bits[0])
    raise AssertionError(f"unknown table {row['table']}")


def mismatches(client, rows, expect):
    """Every item against its expectation; returns the list of differences."""
    out = []
    for row in rows:
        name = row["name"]
        check(name in expect, f"map item {name} has no expectation in this test")
        targets = range(1, SLOTS + 1) if row["scope"] == "slot" else [None]
        for slot in targets:
            want = expect[name](slot) if row["scope"] == "slot" else expect[name]
            units = [FLAT, slot] if slot else [FLAT]
            for unit in units:
                got = read_item(client, row, slot, unit)
                good = want(got) if callable(want) else got == want
                if not good:
                    out.append(f"{name} slot {slot} unit {unit}: read {got!r}, expected "
                               f"{'a value passing a check' if callable(want) else repr(want)}")
    return out


def wait_match(client, rows, expect, timeout=10):
    deadline = time.monotonic() + timeout
    while True:
        bad = mismatches(client, rows, expect)
        if not bad:
            return
        if time.monotonic() > deadline:
            raise systest.TestFailure("registers differ from the map's meaning:\n  "
                                      + "\n  ".join(bad[:40]))
        time.sleep(0.2)


def ir(client, addr, n, unit):
    return ok(client.read_input_registers(addr, n, slave=unit), f"IR {addr}+{n}").registers


def mailbox(client, unit):
    r = ir(client, 32, 8, unit)
    rc = r[2] - 0x10000 if r[2] & 0x8000 else r[2]
    return {"seq": r[0], "status": r[1], "rc": rc, "reason": r[3],
            "id": (r[4] << 16) | r[5], "code": r[6], "slot": r[7]}


def wait_mailbox(client, unit, status, timeout=10):
    return systest.wait_until(
        lambda: (lambda m: m if m["status"] == status else None)(mailbox(client, unit)),
        timeout, f"mailbox of unit {unit} to reach status {status} (now {mailbox(client, unit)})")


def exception_code(rr):
    check(rr.isError(), f"expected a Modbus exception, got {rr}")
    code = getattr(rr, "exception_code", None)
    check(code is not None, f"expected an exception response, got {rr!r}")
    return code


# --- the test -------------------------------------------------------------------

def config(data_dir, slots):
    return systest.base_config(
        data_dir, gateway_extra='timezone = "+00:00"',
        extra=f"""
[outputs]
names = ["siren", "strobe"]

[modbus]
enabled = true
listen = "127.0.0.1"
port = 0
slot_count = {SLOTS}
slots = [{", ".join(f'"{s}"' for s in slots)}]
writes_enabled = true
write_allow = ["127.0.0.1"]
coils_enabled = true
coil_open_seconds = 5
refresh_ms = 200
offline_after_s = {OFFLINE_AFTER_S}
""")


def start(daemon):
    daemon.start()
    ports = MODBUS_PORT_RE.findall(daemon.log_text()[daemon.log_offset:])
    check(ports, "pushgated did not log the Modbus port")
    client = ModbusTcpClient("127.0.0.1", port=int(ports[-1]), timeout=5)
    check(client.connect(), "pymodbus cannot connect")
    return int(ports[-1]), client


def db_rows(db_path, sql, *params):
    db = systest.open_db(db_path)
    try:
        return db.execute(sql, params).fetchall()
    finally:
        db.close()


def last_event(db_path, sn):
    rows = db_rows(db_path,
                   "SELECT e.seq, e.utc_ms, e.kind, e.event_code, e.status, e.door, e.pin"
                   " FROM events e JOIN terminals t ON t.id = e.terminal_id"
                   " WHERE t.sn = ? AND e.kind IN (1, 2) ORDER BY e.id DESC LIMIT 1", sn)
    check(rows, f"no access or attendance event stored for {sn}")
    return rows[0]


def count(db_path, sn, kind):
    return db_rows(db_path, "SELECT COUNT(*) FROM events e JOIN terminals t"
                            " ON t.id = e.terminal_id WHERE t.sn = ? AND e.kind = ?",
                   sn, kind)[0][0]


def run(workdir, args):
    data_dir = os.path.join(workdir, "data")
    db_path = os.path.join(data_dir, "pushgate.db")
    daemon = systest.Daemon(args.pushgated, workdir, config(data_dir, [ACC]))
    port, client = start(daemon)
    rows = load_map()
    log(f"Modbus on port {port}; map: {len(rows)} items")

    # Feed: an attendance terminal (pushgate-sim), then the access terminal.
    sim = systest.spawn([args.sim, "--host", "127.0.0.1", "--port", str(daemon.zkpush_port),
                         "--terminals", "1", "--records-per-terminal", "6", "--batch", "3",
                         "--sn-prefix", "ATT", "--until-acked", "--timeout", "60",
                         # Fixed dates, before the access events below.
                         "--start", "2024-01-08 07:00:00",
                         "--report-ms", "0"], os.path.join(workdir, "sim.log"))
    check(sim.wait(timeout=90) == 0, f"pushgate-sim exited with {sim.returncode}")
    acc = AccessTerminal(daemon.zkpush_port, ACC)
    acc.register()
    # Door 1 closed, 2 open, 3 no sensor, 4 undefined (0b11); relays 0 1 0 1;
    # alarm bytes 00 02 10 00 (§7.3).
    acc.upload("rtstate", ["time=2024-03-05 10:58:00\tsensor=C9\trelay=0A"
                           "\talarm=0002100000000000"])
    acc.upload("rtlog", [
        "time=2024-03-05 10:59:00\tpin=0\tcardno=0\teventaddr=3\tevent=205\tinoutstatus=2"
        "\tverifytype=200\tindex=1",
        "time=2024-03-05 10:59:30\tpin=0\tcardno=0\teventaddr=1\tevent=101\tinoutstatus=2"
        "\tverifytype=200\tindex=2",
        "time=2024-03-05 11:00:00\tpin=1001\tcardno=0\teventaddr=2\tevent=0\tinoutstatus=0"
        "\tverifytype=1\tindex=3",
    ])
    acc.poll()

    # 1. Every item of the map.
    att_last = last_event(db_path, ATT)
    acc_last = last_event(db_path, ACC)
    check(acc_last[2] == 2 and acc_last[6] == "1001", f"unexpected last access event {acc_last}")
    free = os.statvfs(data_dir)
    free_mib = free.f_bavail * free.f_frsize // (1024 * 1024)
    slot_sn = {1: ACC, 2: ATT, 3: "", 4: ""}

    def per_slot(acc_value, att_value, empty_value):
        return lambda slot: {1: acc_value, 2: att_value}.get(slot, empty_value)

    def door(acc_values, empty=U16):
        # An attendance terminal has no doors: unknown, like an empty slot.
        return [lambda slot, v=v: v if slot == 1 else empty for v in acc_values]

    expect = {
        "marker": "PGMB", "map_version": 1, "slot_count": SLOTS, "slot_block_size": SLOT_SIZE,
        "slot_base": SLOT_BASE, "doors_per_slot": 4, "view_slot": 0,
        "heartbeat": lambda v: v > 0, "terminals_online": 2, "terminals_known": 2,
        "backlog_events": U32,  # no MQTT sink in this config
        "disk_free_mib": lambda v: abs(v - free_mib) <= max(64, free_mib // 20),
        "uptime_s": lambda v: 0 <= v < 600, "outputs_declared": 2, "outputs_bits": 0,
        "writes_enabled": 1, "coils_enabled": 1,
        "mailbox_seq": 0, "mailbox_status": 0, "mailbox_return_code": NO_RC,
        "mailbox_reason": 0, "mailbox_command_id": 0, "mailbox_code": 0, "mailbox_slot": 0,
        "command_code": 0, "command_slot": 0, "command_door": 0, "command_argument": 0,
        "command_seq": 0,
        "slot_state": per_slot(2, 2, 0),
        "seconds_since_seen": lambda slot: (lambda v: v <= OFFLINE_AFTER_S) if slot <= 2 else U16,
        "serial": lambda slot: slot_sn[slot],
        "last_event_seq": per_slot(acc_last[0], att_last[0], 0),
        "last_event_time": per_slot(calendar.timegm((2024, 3, 5, 11, 0, 0)),
                                    att_last[1] // 1000 if att_last[1] is not None else U32, U32),
        "last_event_kind": per_slot(2, 1, U16),
        "last_event_code": per_slot(0, att_last[4] if att_last[4] is not None else U16, U16),
        "last_event_door": per_slot(2, att_last[5] if att_last[5] is not None else U16, U16),
        "last_event_pin": per_slot(1001, int(att_last[6]), U32),
        "access_events": per_slot(count(db_path, ACC, 2), 0, 0),
        "attendance_events": per_slot(0, 6, 0),
        "alarm_events": per_slot(count(db_path, ACC, 3), 0, 0),
        "door_changes": per_slot(count(db_path, ACC, 4), 0, 0),
        "coil_status": 0, "coil_return_code": NO_RC,
        "cancel_alarm": False,
    }
    expect["coil_status"] = lambda slot: 0
    expect["coil_return_code"] = lambda slot: NO_RC
    expect["cancel_alarm"] = lambda slot: False
    for i, f in enumerate(door([0, 1, 2, 3]), 1):
        expect[f"door{i}_contact"] = f
    for i, f in enumerate(door([0, 1, 0, 1]), 1):
        expect[f"door{i}_relay"] = f
    for i, f in enumerate(door([0, 2, 16, 0]), 1):
        expect[f"door{i}_alarm"] = f
    for i, f in enumerate(door([U16, U16, 1, U16]), 1):  # event 205 on door 3
        expect[f"door{i}_normal_open"] = f
    for i in range(1, 33):
        expect[f"output_{i}"] = False
    for i in range(1, 5):
        expect[f"open_door{i}"] = lambda slot: False
    check(acc_last[0] > 0 and count(db_path, ACC, 3) == 1 and count(db_path, ACC, 4) >= 4,
          "the access terminal's events are not all stored")
    wait_match(client, rows, expect)
    for unit in range(1, SLOTS + 1):
        check(ir(client, 7, 1, unit)[0] == unit, f"view_slot of unit {unit}")
    # Registers inside a block that no map item covers are reserved and read 0.
    covered = set()
    for row in rows:
        if row["table"] != "input_register":
            continue
        for slot in (range(1, SLOTS + 1) if row["scope"] == "slot" else [1]):
            base = row["address"] + ((slot - 1) * SLOT_SIZE if row["scope"] == "slot" else 0)
            covered.update(range(base, base + row["words"]))
    end = SLOT_BASE + SLOTS * SLOT_SIZE
    table = []
    for a in range(0, end, 125):
        table += ir(client, a, min(125, end - a), FLAT)
    reserved = [a for a in range(end) if a not in covered and table[a] != 0]
    check(not reserved, f"reserved input registers read non-zero: {reserved[:10]}")
    beat = ir(client, 8, 2, FLAT)
    time.sleep(0.5)
    check(ir(client, 8, 2, FLAT) != beat, "the heartbeat does not move")
    log(f"all {len(rows)} map items read as the map says, flat and per unit id")

    # 2. A door-open through the mailbox of unit 1 (slot 0 = this unit's slot).
    ok(client.write_registers(0, [1, 0, 2, 7, 41], slave=1), "mailbox write")
    m = wait_mailbox(client, 1, 2)
    check(m["seq"] == 41 and m["code"] == 1 and m["slot"] == 1 and m["id"] > 0, f"mailbox {m}")
    body = acc.poll()
    check(body.strip() == f"C:{m['id']}:CONTROL DEVICE 01020107",
          f"the terminal's poll got {body!r}, expected the door-open command {m['id']}")
    wait_mailbox(client, 1, 3)
    acc.result(m["id"], 0)
    m = wait_mailbox(client, 1, 4)
    check(m["rc"] == 0 and m["seq"] == 41, f"mailbox after the result: {m}")
    _, cmd = daemon_json(daemon, f"/api/v1/commands/{m['id']}")
    check(cmd["state"] == "done" and cmd["origin"] == "modbus" and cmd["verb"] == "open_door",
          f"REST shows the command as {cmd}")
    log(f"door open: mailbox -> command {m['id']} -> terminal -> Return=0 -> status done")

    # A failing command on the flat unit: the terminal's negative Return comes back.
    ok(client.write_registers(0, [2, 1, 1, 1, 42], slave=FLAT), "mailbox write")
    m = wait_mailbox(client, FLAT, 2)
    body = acc.poll()
    check(body.strip() == f"C:{m['id']}:CONTROL DEVICE 010101FF", f"poll got {body!r}")
    acc.result(m["id"], -616)
    m = wait_mailbox(client, FLAT, 5)
    check(m["rc"] == -616, f"failed command's return code: {m}")
    # The same sequence number again takes nothing.
    before = len(daemon_json(daemon, "/api/v1/commands?limit=1000")[1]["commands"])
    ok(client.write_register(4, 42, slave=FLAT), "same seq")
    time.sleep(0.5)
    check(len(daemon_json(daemon, "/api/v1/commands?limit=1000")[1]["commands"]) == before,
          "rewriting the same sequence number queued a command")
    check(acc.poll().strip() == "OK", "a command went out for a repeated sequence number")
    # Unknown command code: rejected with a reason, nothing queued.
    ok(client.write_registers(0, [9, 1, 1, 0, 43], slave=FLAT), "mailbox write")
    m = wait_mailbox(client, FLAT, 8)
    check(m["reason"] == 1 and m["seq"] == 43, f"rejected command: {m}")
    # Empty slot.
    ok(client.write_registers(0, [1, 3, 1, 5, 44], slave=FLAT), "mailbox write")
    m = wait_mailbox(client, FLAT, 8)
    check(m["reason"] == 3, f"command for an empty slot: {m}")
    # A command coil: open door 1 of slot 1 for coil_open_seconds.
    ok(client.write_coil(0, True, slave=FLAT), "coil write")
    systest.wait_until(lambda: ir(client, SLOT_BASE + 49, 1, FLAT)[0] == 2, 10, "coil queued")
    body = acc.poll()
    cid = re.match(r"C:(\d+):CONTROL DEVICE 01010105$", body.strip())
    check(cid, f"coil command poll got {body!r}")
    acc.result(cid.group(1), 0)
    systest.wait_until(lambda: ir(client, SLOT_BASE + 49, 2, 1) == [4, 0], 10, "coil done")
    check(ok(client.read_coils(0, 8, slave=1), "coils").bits[:8] == [False] * 8,
          "coils are not self-clearing")
    log("mailbox failures, repeats, rejections and the command coil behave")

    # 3. Writes from a client outside write_allow: exception 01, nothing changes.
    hr_before = ok(client.read_holding_registers(0, 5, slave=FLAT), "HR").registers
    mb_before = mailbox(client, FLAT)
    n_before = len(daemon_json(daemon, "/api/v1/commands?limit=1000")[1]["commands"])
    other = ModbusTcpClient("127.0.0.1", port=port, timeout=5, source_address=("127.0.0.2", 0))
    check(other.connect(), "cannot connect from 127.0.0.2")
    check(ok(other.read_input_registers(0, 3, slave=FLAT), "read from 127.0.0.2").registers
          == [0x5047, 0x4D42, 1], "reads are open to any client")
    check(exception_code(other.write_registers(0, [1, 1, 1, 5, 99], slave=FLAT)) == 1,
          "write_registers from 127.0.0.2 must be exception 01")
    check(exception_code(other.write_register(4, 100, slave=1)) == 1, "FC 06 from 127.0.0.2")
    check(exception_code(other.write_coil(0, True, slave=FLAT)) == 1, "FC 05 from 127.0.0.2")
    check(exception_code(other.write_coils(0, [True] * 5, slave=FLAT)) == 1,
          "FC 15 from 127.0.0.2")
    other.close()
    time.sleep(0.5)
    check(ok(client.read_holding_registers(0, 5, slave=FLAT), "HR").registers == hr_before,
          "a refused write changed the mailbox registers")
    check(mailbox(client, FLAT) == mb_before, "a refused write changed the mailbox status")
    check(len(daemon_json(daemon, "/api/v1/commands?limit=1000")[1]["commands"]) == n_before,
          "a refused write queued a command")
    check(acc.poll().strip() == "OK", "a refused write reached the terminal")
    check(re.search(r"\[client=127\.0\.0\.2\] write refused", daemon.log_text()),
          "refused writes are not logged with the client address")
    _, metrics = systest.http_get(daemon.api_port, "/metrics")[0:3:2]
    check('pushgate_modbus_writes_total{result="refused"} 4' in metrics,
          "refused writes are not counted")
    log("writes from 127.0.0.2 refused with exception 01, nothing changed, logged and counted")

    # 4. Illegal addresses, functions and unit ids.
    end = SLOT_BASE + SLOTS * SLOT_SIZE
    check(exception_code(client.read_input_registers(end, 1, slave=FLAT)) == 2, "past the map")
    check(exception_code(client.read_input_registers(end - 1, 2, slave=FLAT)) == 2, "across end")
    check(exception_code(client.read_input_registers(SLOT_BASE + SLOT_SIZE, 1, slave=1)) == 2,
          "past a unit's one slot block")
    check(exception_code(client.read_holding_registers(5, 1, slave=FLAT)) == 2, "past mailbox")
    check(exception_code(client.write_register(5, 1, slave=FLAT)) == 2, "write past mailbox")
    check(exception_code(client.write_coil(SLOTS * COILS_PER_SLOT, True, slave=FLAT)) == 2,
          "coil past the map")
    check(exception_code(client.write_coil(6, True, slave=FLAT)) == 2, "reserved coil")
    check(exception_code(client.mask_write_register(0, 0xFFFF, 0x0001, slave=FLAT)) == 1,
          "mask write (FC 22) must not bypass the mailbox")
    check(exception_code(client.read_input_registers(0, 1, slave=SLOTS + 1)) == 0x0A,
          "a unit id with no slot")
    check(ir(client, 0, 2, FLAT) == [0x5047, 0x4D42], "the connection survives exceptions")
    log("exceptions 01, 02 and 0A answered where the map says")

    # 5. The access terminal goes silent: offline, doors unknown (not "closed").
    check(db_rows(db_path, "SELECT COUNT(*) FROM door_state d JOIN terminals t"
                           " ON t.id = d.terminal_id WHERE t.sn = ? AND d.sensor = 'closed'",
                  ACC)[0][0] == 1, "door 1 is stored as closed")
    systest.wait_until(lambda: ir(client, SLOT_BASE, 1, FLAT)[0] == 1, OFFLINE_AFTER_S + 10,
                       "slot 1 to read offline")
    doors = ir(client, SLOT_BASE + 16, 16, FLAT)
    check(doors == [U16] * 16, f"an offline terminal's doors read {doors}, expected all 0xFFFF")
    check(ir(client, 10, 1, FLAT)[0] == 0, "terminals_online with both terminals silent")
    log("a silent terminal reads offline with every door unknown")

    # Restart without modbus.slots: both terminals keep their slots.
    client.close()
    check(daemon.stop() == 0, "pushgated did not stop cleanly")
    daemon.write_config(config(data_dir, []))
    port, client = start(daemon)
    systest.wait_until(lambda: ir(client, 3, 1, FLAT)[0] == SLOTS, 5, "the image")
    serials = [decode({"type": "ascii"}, ir(client, SLOT_BASE + (s - 1) * SLOT_SIZE + 2, 10, FLAT))
               for s in range(1, SLOTS + 1)]
    check(serials == [ACC, ATT, "", ""], f"slots after a restart: {serials}")
    acc.port = daemon.zkpush_port
    acc.poll()
    systest.wait_until(lambda: ir(client, SLOT_BASE, 1, FLAT)[0] == 2, 5, "slot 1 online again")
    check(ir(client, SLOT_BASE + 16, 1, FLAT)[0] == 0, "door 1 reads closed once online again")
    client.close()
    log("slot assignments kept across a restart")
    check(daemon.stop() == 0, "pushgated did not stop cleanly")


def daemon_json(daemon, path):
    import json
    status, _, text = systest.http_get(daemon.api_port, path)
    return status, json.loads(text)


def main():
    p = systest.common_args(__doc__.splitlines()[0], need_sim=True)
    args = p.parse_args()
    return systest.run_main(run, args, "pushgate-modbus-")


if __name__ == "__main__":
    sys.exit(main())
