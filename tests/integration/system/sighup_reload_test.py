#!/usr/bin/env python3
"""SIGHUP applies a changed log level without dropping connections.

A terminal holds one keep-alive connection. Before the reload, log.level is
info and an upload with an unparsable line leaves no debug line. The config
is changed to debug and pushgated gets SIGHUP: the same connection (same
socket, never reconnected) uploads again and the debug line for it appears.
Then a config with an error is written and SIGHUP'd: it is refused with a
warning, the running level stays debug, and the connection still works.
"""

import http.client
import os
import re
import signal
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import systest  # noqa: E402
from systest import check, log  # noqa: E402

SN = "HUP00001"
# One good ATTLOG line and one the parser cannot use: the bad one is
# quarantined and logged at debug level (zkpush_session_uploads.cpp).
GOOD = "{pin}\t2026-11-20 08:0{n}:00\t0\t1\t0\t0\t0\t0\t0\t0\n"
# Numbered: the quarantine keeps one row per terminal and raw line.
BAD = "this is not an attendance record ({n})\n"
QUARANTINE_DEBUG = rf"debug \[zkpush\] \[sn={SN}\] 1 line\(s\) of table=ATTLOG quarantined"


class Terminal:
    """One terminal's keep-alive connection."""

    def __init__(self, port):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        self.conn.connect()
        self.sock = self.conn.sock
        self.local = self.sock.getsockname()
        self.stamp = 0

    def request(self, method, target, body=None):
        headers = {"Connection": "keep-alive"}
        if body is not None:
            headers["Content-Type"] = "text/plain"
        self.conn.request(method, target, body=body, headers=headers)
        r = self.conn.getresponse()
        text = r.read().decode("utf-8", errors="replace")
        # http.client would silently reconnect if the server had closed the
        # socket; the same socket object proves the connection survived.
        check(self.conn.sock is self.sock and self.sock.getsockname() == self.local,
              f"the connection was closed and reopened before {method} {target}")
        check(not r.will_close, f"pushgated closed the keep-alive connection after {target}")
        return r.status, text

    def upload_with_bad_line(self, n):
        self.stamp += 1
        body = GOOD.format(pin=n, n=n) + BAD.format(n=n)
        status, text = self.request(
            "POST", f"/iclock/cdata?SN={SN}&table=ATTLOG&Stamp={self.stamp}", body)
        check(status == 200 and text.startswith("OK"),
              f"upload {n} answered {status} {text!r}, expected OK")


def config(data_dir, level):
    return systest.base_config(data_dir, log_level=level)


def run(workdir, args):
    data_dir = os.path.join(workdir, "data")
    daemon = systest.Daemon(args.pushgated, workdir, config(data_dir, "info")).start()
    log(f"pushgated pid {daemon.pid}, terminals port {daemon.zkpush_port}")

    terminal = Terminal(daemon.zkpush_port)
    status, text = terminal.request("GET", f"/iclock/cdata?SN={SN}&options=all&pushver=2.4.1")
    check(status == 200 and "GET OPTION FROM" in text, f"handshake answered {status} {text!r}")
    terminal.upload_with_bad_line(1)
    # Level info: the debug line must not appear. The upload was answered
    # after its commit and the quarantine log line comes before the answer.
    check(not re.search(QUARANTINE_DEBUG, daemon.log_text()),
          "a debug line was logged at level info")

    # Reload with debug.
    offset = len(daemon.log_text())
    daemon.write_config(config(data_dir, "debug"))
    daemon.signal(signal.SIGHUP)
    daemon.wait_log(r"SIGHUP: configuration reloaded \(log level debug\)", 10, offset)
    terminal.upload_with_bad_line(2)
    daemon.wait_log(QUARANTINE_DEBUG, 10, offset)
    log("after SIGHUP: debug lines appear, same connection "
        f"{terminal.local[0]}:{terminal.local[1]}")

    # A broken config is refused; the running one stays.
    offset = len(daemon.log_text())
    daemon.write_config(config(data_dir, "loud"))
    daemon.signal(signal.SIGHUP)
    daemon.wait_log(r"warn(ing)? \[main\] SIGHUP: config not reloaded, it has errors", 10, offset)
    terminal.upload_with_bad_line(3)
    daemon.wait_log(QUARANTINE_DEBUG, 10, offset)
    check(daemon.proc.poll() is None, "pushgated exited after a bad reload")
    log("a config with errors is refused; level and connection unchanged")

    status, _ = terminal.request("GET", f"/iclock/getrequest?SN={SN}")
    check(status == 200, f"getrequest after the reloads answered {status}")
    terminal.conn.close()
    check(daemon.stop() == 0, "pushgated did not stop cleanly")

    db = systest.open_db(os.path.join(data_dir, "pushgate.db"))
    try:
        # The terminal's events; audit events (kind 12: the first admin, the
        # test's login and token) are the gateway's own.
        (events,) = db.execute("SELECT count(*) FROM events WHERE kind != 12").fetchone()
        (quarantined,) = db.execute("SELECT count(*) FROM quarantine").fetchone()
    finally:
        db.close()
    check(events == 3 and quarantined == 3,
          f"expected 3 events and 3 quarantined lines, found {events} and {quarantined}")


def main():
    args = systest.common_args(__doc__.splitlines()[0]).parse_args()
    return systest.run_main(run, args, "pushgate-sighup-")


if __name__ == "__main__":
    sys.exit(main())
