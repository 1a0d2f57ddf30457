#!/usr/bin/env python3
"""Hostile device text is stored and the daemon survives restarts on it.

The real pushgated takes, over HTTP, what Latin-1 and GBK terminals send
(a Security PUSH tabledata user and an attendance OPERLOG USER named
"Jos\\xe9", a registry with a Latin-1 device name, an rtlog and ATTLOG with
invalid bytes) and serials firmware never sends (%FF%FE, CR/LF, too long).
Then it is stopped and started against the same data directory several
times, as systemd does on a restart: every start must reach 'ready' (never
abort), GET /api/v1/sync and the terminal endpoints keep answering, the
stored names are valid UTF-8, raw keeps the bytes sent, no bad serial was
stored, and no log line was forged by a CR/LF in a serial.
"""

import http.client
import os
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import systest  # noqa: E402
from systest import check, log  # noqa: E402

ACC = "HOSTILEACC01"
ATT = "HOSTILEATT01"
RESTARTS = 3
BAD_SERIALS = ["%FF%FE", "AB%0D%0A2026-12-05T00:00:00.000+00:00%20info%20[main]%20forged",
               "A%20B", "X" * 40]


def send(port, method, target, body=b""):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request(method, target, body=body, headers={"Connection": "close"})
        r = conn.getresponse()
        return r.status, r.read()
    finally:
        conn.close()


def upload_hostile(port):
    ok = lambda s, what: check(s[0] == 200, f"{what} answered {s[0]} {s[1][:200]!r}")  # noqa: E731
    ok(send(port, "GET", f"/iclock/cdata?SN={ACC}&options=all&pushver=3.1.2&DeviceType=acc"),
       "access handshake")
    ok(send(port, "POST", f"/iclock/registry?SN={ACC}",
            b"DeviceType=acc,~DeviceName=Gate\xe9,FirmVer=AC Ver 5.7\xff,LockCount=1\n"),
       "registry")
    ok(send(port, "POST", f"/iclock/cdata?SN={ACC}&table=tabledata&tablename=user&count=1",
            b"user uid=5\tcardno=\tpin=4\tpassword=\tgroup=1\tstarttime=0\tendtime=0\t"
            b"name=Jos\xe9\tprivilege=0\tdisable=0\tverify=0\r\n"), "tabledata user")
    ok(send(port, "POST", f"/iclock/cdata?SN={ACC}&table=rtlog",
            b"time=2024-03-05 08:00:03\tpin=4\tcardno=\xff\xfe\teventaddr=1\tevent=0\t"
            b"inoutstatus=0\tverifytype=1\tindex=1\n"), "rtlog")
    ok(send(port, "GET", f"/iclock/cdata?SN={ATT}&options=all&pushver=2.4.1"),
       "attendance handshake")
    ok(send(port, "POST", f"/iclock/cdata?SN={ATT}&table=OPERLOG&Stamp=9999",
            b"USER PIN=7\tName=Jos\xe9\tPri=0\tPasswd=\tCard=\tGrp=1\tTZ=0000000000000000\t"
            b"Verify=0\tViceCard=\n"), "OPERLOG USER")
    ok(send(port, "POST", f"/iclock/cdata?SN={ATT}&table=ATTLOG&Stamp=9999",
            b"7\t2024-03-05 08:00:03\t0\t1\t\xe9\xff\n"), "ATTLOG")
    for sn in BAD_SERIALS:
        status, _ = send(port, "GET", f"/iclock/cdata?SN={sn}&options=all&pushver=3.1.2")
        check(status == 400, f"serial {sn[:20]!r} answered {status}, expected 400")


def check_serving(daemon):
    status, _, body = systest.http_get(daemon.api_port, "/api/v1/sync")
    check(status == 200, f"GET /api/v1/sync answered {status}")
    status, _, body = systest.http_get(daemon.api_port, "/api/v1/terminals")
    check(status == 200 and ACC in body, f"GET /api/v1/terminals answered {status}")
    check(send(daemon.zkpush_port, "GET", f"/iclock/getrequest?SN={ATT}")[0] == 200,
          "getrequest after a restart failed")


def run(workdir, args):
    data_dir = os.path.join(workdir, "data")
    os.makedirs(data_dir)
    daemon = systest.Daemon(args.pushgated, workdir, systest.base_config(data_dir))
    daemon.start()
    upload_hostile(daemon.zkpush_port)
    check_serving(daemon)
    check(daemon.stop() == 0, "pushgated did not stop cleanly")
    log("hostile text stored; restarting against the same data")

    for i in range(RESTARTS):
        daemon.start()
        check_serving(daemon)
        upload_hostile(daemon.zkpush_port)  # resent, as terminals do
        check_serving(daemon)
        check(daemon.proc.poll() is None, f"pushgated exited during run {i + 2}")
        check(daemon.stop() == 0, f"pushgated did not stop cleanly after restart {i + 1}")
        log(f"restart {i + 1}: ready, serving, clean stop")

    text = daemon.log_text()
    check("terminate called" not in text and "type_error" not in text,
          "the log shows an uncaught exception")
    check("\n2026-12-05T00:00:00.000+00:00 info [main] forged" not in text,
          "a serial with CR/LF forged a log line")

    db = systest.open_db(os.path.join(data_dir, "pushgate.db"))
    db.text_factory = bytes
    try:
        names = [r[0] for r in db.execute("SELECT name FROM terminal_users")]
        # Audit events (the first admin's creation, API logins) belong to the
        # gateway itself, under gateway.id ("pushgate"): not a terminal.
        sns = [r[0] for r in db.execute("SELECT sn FROM terminals WHERE sn != 'pushgate'")]
        raws = [r[0] for r in db.execute("SELECT CAST(raw AS BLOB) FROM events")]
    finally:
        db.close()
    check(len(names) == 2, f"expected 2 users, found {names}")
    for name in names:
        name.decode("utf-8")  # raises (fails the test) on invalid UTF-8
        check(name == "Jos\ufffd".encode(), f"stored name {name!r}")
    check(sorted(sns) == sorted([ACC.encode(), ATT.encode()]), f"stored serials {sns}")
    check(any(b"name=Jos\xe9\t" in r for r in raws), "raw lost the bytes the terminal sent")


def main():
    args = systest.common_args(__doc__.splitlines()[0]).parse_args()
    return systest.run_main(run, args, "pushgate-hostile-")


if __name__ == "__main__":
    sys.exit(main())
