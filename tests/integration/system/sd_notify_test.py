#!/usr/bin/env python3
"""pushgated keeps the Type=notify contract pushgate.service relies on.

The test plays systemd's part: it binds the notify socket, starts pushgated
with NOTIFY_SOCKET and WATCHDOG_USEC set, and checks that
- READY=1 comes only once /healthz answers (the unit counts as started);
- WATCHDOG=1 arrives at least every WATCHDOG_USEC, fed by the io_context
  (a stuck loop would stop it and systemd would restart the service);
- SIGHUP is framed by RELOADING=1 and READY=1 (`systemctl reload` waits);
- SIGTERM sends STOPPING=1 and the process exits 0;
- every message comes from the main process (NotifyAccess=main).
"""

import os
import signal
import socket
import struct
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import systest  # noqa: E402
from systest import check, log  # noqa: E402

WATCHDOG_USEC = 1_000_000


class NotifySocket:
    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
        self.path = path

    def receive(self, timeout):
        """(pid, {KEY: value}, arrival time) of one datagram, or None on timeout."""
        self.sock.settimeout(timeout)
        try:
            data, ancdata, _, _ = self.sock.recvmsg(4096, socket.CMSG_SPACE(12))
        except socket.timeout:
            return None
        pid = None
        for level, kind, payload in ancdata:
            if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
                pid, _, _ = struct.unpack("iII", payload[:12])
        fields = dict(line.split("=", 1) for line in data.decode().splitlines() if "=" in line)
        return pid, fields, time.monotonic()

    def expect(self, key, value, timeout, daemon, seen):
        """Waits for KEY=value; every message received on the way goes to `seen`."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            check(left > 0, f"no {key}={value} within {timeout} s; got {[m[1] for m in seen[-5:]]}")
            msg = self.receive(left)
            if msg is None:
                continue
            seen.append(msg)
            pid, fields, at = msg
            check(pid == daemon.pid, f"notification {fields} from pid {pid}, not the main "
                                     f"process {daemon.pid}")
            if fields.get(key) == value:
                return at


def run(workdir, args):
    data_dir = os.path.join(workdir, "data")
    notify = NotifySocket(os.path.join(workdir, "notify.sock"))
    env = {k: v for k, v in os.environ.items() if k not in systest.SYSTEMD_VARIABLES}
    env.update(NOTIFY_SOCKET=notify.path, WATCHDOG_USEC=str(WATCHDOG_USEC))
    daemon = systest.Daemon(args.pushgated, workdir, systest.base_config(data_dir), env=env)
    seen = []

    # Start without waiting for the log, then wait for READY=1 as systemd does.
    daemon.start(wait_ready=False)
    notify.expect("READY", "1", 30, daemon, seen)
    daemon.read_ports()
    check(daemon.api_port, "READY=1 before the REST API logged its port")
    status, _, body = systest.http_get(daemon.api_port, "/healthz")
    check(status == 200, f"/healthz answered {status} right after READY=1: {body}")
    log(f"READY=1 from pid {daemon.pid}; /healthz answers")

    # The watchdog: several pings, none further apart than WATCHDOG_USEC.
    pings = []
    while len(pings) < 4:
        pings.append(notify.expect("WATCHDOG", "1", WATCHDOG_USEC / 1e6 * 3, daemon, seen))
    gaps = [b - a for a, b in zip(pings, pings[1:])]
    check(max(gaps) < WATCHDOG_USEC / 1e6,
          f"watchdog pings {max(gaps) * 1000:.0f} ms apart, WatchdogSec is "
          f"{WATCHDOG_USEC / 1000:.0f} ms")
    log(f"WATCHDOG=1 every {sum(gaps) / len(gaps) * 1000:.0f} ms "
        f"(max {max(gaps) * 1000:.0f} ms, limit {WATCHDOG_USEC / 1000:.0f} ms)")

    daemon.signal(signal.SIGHUP)
    notify.expect("RELOADING", "1", 10, daemon, seen)
    notify.expect("READY", "1", 10, daemon, seen)
    log("SIGHUP: RELOADING=1 then READY=1")

    daemon.signal(signal.SIGTERM)
    notify.expect("STOPPING", "1", 10, daemon, seen)
    status = daemon.wait_exit(30)
    check(status == 0, f"pushgated exited with {status} after SIGTERM")
    log("SIGTERM: STOPPING=1, exit 0")


def main():
    args = systest.common_args(__doc__.splitlines()[0]).parse_args()
    return systest.run_main(run, args, "pushgate-notify-")


if __name__ == "__main__":
    sys.exit(main())
