"""Shared pieces of the system tests: run the real pushgated binary the way
an operator or systemd does (a config file, signals, its log on stderr) and
talk to it over loopback.

Every test gets its own temporary directory and lets the daemon bind port 0;
the ports it got are read from its startup log lines. Every wait has a
deadline, so a hung daemon fails the test instead of hanging CI.
"""

import argparse
import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import tempfile
import time
import urllib.request

# The startup lines that name the bound ports and readiness (gateway.cpp,
# zkpush_adapter.cpp, main.cpp). A changed message fails here, loudly.
API_PORT_RE = re.compile(r"REST API on http://\S+:(\d+)/")
ZKPUSH_PORT_RE = re.compile(r"PUSH server listening on \S+:(\d+)\s")
READY_RE = re.compile(r"pushgated \S+ ready \(data in ")


SYSTEMD_VARIABLES = ("NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID", "JOURNAL_STREAM",
                     "INVOCATION_ID", "STATE_DIRECTORY")

# Every process a test started; run_main kills what is left.
_spawned = []

# The API token http_get sends to each API port (api.auth = "required" is
# the default): Daemon.start() makes one with the first admin's password.
_api_tokens = {}


def spawn(argv, log_path, **kwargs):
    """Starts argv with stdout and stderr appended to log_path."""
    with open(log_path, "ab") as logfile:
        proc = subprocess.Popen(argv, stdout=logfile, stderr=subprocess.STDOUT, **kwargs)
    _spawned.append(proc)
    return proc


class TestFailure(Exception):
    pass


def check(condition, message):
    if not condition:
        raise TestFailure(message)


def log(message):
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def wait_until(predicate, timeout, what, interval=0.05):
    """Polls predicate() until it returns a truthy value; fails after timeout."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TestFailure(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


class Daemon:
    """One pushgated process with a config file in `workdir`."""

    def __init__(self, binary, workdir, config_text, env=None):
        self.binary = binary
        self.workdir = workdir
        self.config_path = os.path.join(workdir, "pushgated.toml")
        self.log_path = os.path.join(workdir, "pushgated.log")
        self.extra_args = []
        self.env = env
        self.proc = None
        self.log_offset = 0
        self.api_port = None
        self.zkpush_port = None
        self.write_config(config_text)

    def write_config(self, text):
        # Replace atomically: a SIGHUP must never read a half-written file.
        tmp = self.config_path + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, self.config_path)

    def start(self, timeout=30, wait_ready=True):
        """Starts pushgated; by default waits for its 'ready' line and reads its ports."""
        # Not under systemd (plain timestamps, no notify socket) unless a
        # test passes that environment on purpose.
        env = dict(self.env) if self.env is not None else {
            k: v for k, v in os.environ.items() if k not in SYSTEMD_VARIABLES}
        # A restarted daemon appends to the same log: look past the old run.
        self.log_offset = len(self.log_text())
        self.proc = spawn([self.binary, "--config", self.config_path, *self.extra_args],
                          self.log_path, env=env, cwd=self.workdir)
        if not wait_ready:
            return self

        def ready():
            if self.proc.poll() is not None:
                raise TestFailure(f"pushgated exited with {self.proc.returncode} during startup:\n"
                                  + self.log_text()[-4000:])
            return READY_RE.search(self.log_text(), self.log_offset)

        wait_until(ready, timeout, "pushgated to log 'ready'")
        self.read_ports()
        self.authenticate()
        return self

    def data_dir(self):
        """gateway.data_dir of the config file (relative: from the workdir)."""
        with open(self.config_path, encoding="utf-8") as f:
            m = re.search(r'^data_dir\s*=\s*"([^"]*)"', f.read(), re.M)
        return os.path.join(self.workdir, m.group(1)) if m else None

    def authenticate(self):
        """With a first admin's password file in the data directory: logs in,
        creates an admin API token once (it outlives restarts, in the
        database) and has http_get send it to this run's API port."""
        if self.api_port is None:
            return
        if getattr(self, "api_token", None) is None:
            data_dir = self.data_dir()
            path = os.path.join(data_dir, "initial-admin-password") if data_dir else None
            if path is None or not os.path.exists(path):
                return  # api.auth = "off": no account was made
            with open(path, encoding="utf-8") as f:
                name, password = f.read().split()
            self.api_token = login_api_token(self.api_port, name, password)
        _api_tokens[self.api_port] = self.api_token

    def read_ports(self):
        """The ports this run logged that it bound (0 in the config: the kernel chose)."""
        text = self.log_text()[self.log_offset:]
        api = API_PORT_RE.findall(text)
        zk = ZKPUSH_PORT_RE.findall(text)
        self.api_port = int(api[-1]) if api else None
        self.zkpush_port = int(zk[-1]) if zk else None

    @property
    def pid(self):
        return self.proc.pid

    def log_text(self):
        try:
            with open(self.log_path, "r", encoding="utf-8", errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def wait_log(self, pattern, timeout, start=0):
        """Waits for `pattern` (a regex) in the log after offset `start`."""
        rx = re.compile(pattern)
        return wait_until(lambda: rx.search(self.log_text(), start), timeout,
                          f"log line /{pattern}/")

    def signal(self, sig):
        self.proc.send_signal(sig)

    def wait_exit(self, timeout):
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise TestFailure(f"pushgated still running {timeout:.0f} s later")

    def stop(self, timeout=30):
        """SIGTERM and wait; returns the exit status."""
        if self.proc is None or self.proc.poll() is not None:
            return None if self.proc is None else self.proc.returncode
        self.signal(signal.SIGTERM)
        return self.wait_exit(timeout)


def base_config(data_dir, log_level="info", gateway_extra="", extra=""):
    """A config for tests: loopback only, ports chosen by the kernel."""
    return f"""# written by a pushgate system test
[gateway]
data_dir = "{data_dir}"
{gateway_extra}

[log]
level = "{log_level}"

[api]
listen = "127.0.0.1"
port = 0

[zkpush]
listen = "127.0.0.1"
port = 0
{extra}
"""


def api_headers(port):
    """{"Authorization": "Bearer ..."} for an API port Daemon.authenticate() knows, else {}."""
    return {"Authorization": "Bearer " + _api_tokens[port]} if port in _api_tokens else {}


def http_get(port, path, timeout=10):
    """GET with the API token registered for `port` (Daemon.authenticate), if any."""
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers=api_headers(port))
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return r.status, dict(r.headers), r.read().decode("utf-8", errors="replace")


def login_api_token(port, name, password, timeout=30):
    """POST /api/v1/login, then POST /api/v1/tokens with that session: a new
    admin API token (shown once)."""
    base = f"http://127.0.0.1:{port}/api/v1"
    login = urllib.request.Request(
        base + "/login", data=json.dumps({"name": name, "password": password}).encode(),
        headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(login, timeout=timeout) as r:
        cookie = r.headers["Set-Cookie"].split(";")[0]
        csrf = json.loads(r.read())["csrf_token"]
    made = urllib.request.Request(
        base + "/tokens", data=json.dumps({"name": "system-test", "role": "admin"}).encode(),
        headers={"Content-Type": "application/json", "Cookie": cookie, "X-CSRF-Token": csrf},
        method="POST")
    with urllib.request.urlopen(made, timeout=timeout) as r:
        return json.loads(r.read())["token"]


def open_db(path):
    """A read-only connection; the daemon may still hold the file."""
    return sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)


def read_ledger(path):
    """The simulator's ledger: one '<sn>\\t<ATTLOG line>' per acknowledged record."""
    entries = []
    with open(path, "r", encoding="utf-8", newline="\n") as f:
        for n, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if not line:
                continue
            sn, sep, record = line.partition("\t")
            check(sep == "\t", f"ledger line {n} has no tab: {line!r}")
            entries.append((sn, record))
    return entries


def attlog_key(record):
    """The events.record_key column of an ATTLOG line: 'ATTLOG@<time>\\t<pin>'.

    The store keeps ATTLOG keys time first so a terminal's punches go in at the
    right edge of the unique index (gateway/store/record_keys.hpp); the key it
    publishes is still 'ATTLOG\\t<pin>\\t<time>'.
    """
    fields = record.split("\t")
    check(len(fields) >= 2, f"ATTLOG line with fewer than 2 fields: {record!r}")
    return f"ATTLOG@{fields[1].strip()}\t{fields[0].strip()}"


def verify_ledger_in_db(db_path, ledger):
    """Each acknowledged record is stored exactly once, byte for byte.

    Returns the number of distinct acknowledged records.
    """
    db = open_db(db_path)
    try:
        stored = {}
        dupes = []
        for sn, key, raw in db.execute(
                "SELECT t.sn, e.record_key, e.raw FROM events e "
                "JOIN terminals t ON t.id = e.terminal_id WHERE e.record_key LIKE 'ATTLOG%'"):
            if (sn, key) in stored:
                dupes.append((sn, key))
            stored[(sn, key)] = raw
        # The UNIQUE (terminal_id, record_key) index makes this impossible;
        # checked anyway because it is the property under test.
        check(not dupes, f"{len(dupes)} records stored twice, e.g. {dupes[:3]}")
        by_raw = db.execute(
            "SELECT t.sn, e.raw, count(*) FROM events e JOIN terminals t ON t.id = e.terminal_id "
            "GROUP BY t.sn, e.raw HAVING count(*) > 1 LIMIT 5").fetchall()
        check(not by_raw, f"identical raw lines stored more than once: {by_raw}")
    finally:
        db.close()
    missing = []
    changed = []
    distinct = set()
    for sn, record in ledger:
        key = (sn, attlog_key(record))
        distinct.add(key)
        raw = stored.get(key)
        if raw is None:
            missing.append(key)
        elif raw.rstrip("\r") != record.rstrip("\r"):
            changed.append((key, raw, record))
    check(not missing, f"{len(missing)} acknowledged records are not in the database, "
                       f"e.g. {missing[:5]}")
    check(not changed, f"{len(changed)} records stored with other bytes, e.g. {changed[:2]}")
    return len(distinct), len(stored)


def common_args(description, need_sim=False):
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--pushgated", required=True, help="path of the pushgated binary")
    if need_sim:
        p.add_argument("--sim", required=True, help="path of the pushgate-sim binary")
    p.add_argument("--keep", action="store_true", help="keep the temporary directory")
    return p


def run_main(test, args, prefix):
    """Runs test(workdir, args) with a temporary directory; exit status for CTest."""
    workdir = tempfile.mkdtemp(prefix=prefix)
    ok = False
    try:
        test(workdir, args)
        ok = True
        log("PASS")
        return 0
    except TestFailure as e:
        log(f"FAIL: {e}")
        for name in sorted(os.listdir(workdir)):
            if name.endswith(".log"):
                with open(os.path.join(workdir, name), "r", errors="replace") as f:
                    tail = f.read()[-3000:]
                print(f"--- tail of {name}:\n{tail}", flush=True)
        return 1
    finally:
        for proc in _spawned:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        if ok and not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            log(f"files kept in {workdir}")
