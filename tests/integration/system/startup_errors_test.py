#!/usr/bin/env python3
"""A start that cannot work ends at once with one clear line and a non-zero
status, never an abort, and `--check-config` says the same.

Each case runs the real pushgated twice: `--config FILE` (it must exit by
itself, non-zero, not by SIGABRT/134, and its log must hold the expected
line) and `--check-config FILE` (non-zero, the same line on stderr).

Cases: each listener on a port another process holds (zkpush.port,
api.port, modbus.port), and each config the schema accepts but the start
refused (issue 13 item 2): a missing or broken attendance.rules_file, a
missing linkage.rules_file, an mqtt.server_uri without a scheme, a
modbus.write_allow entry that is no address, a gateway.id that is no topic
level, and a type error that must not hide the error after it.
"""

import os
import signal
import socket
import subprocess
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import systest  # noqa: E402
from systest import check, log  # noqa: E402


def held_port():
    """A loopback port held in LISTEN by this process for the whole test."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    s.listen(1)
    return s, s.getsockname()[1]


def config(data_dir, extra_sections="", gateway_extra="", api_port=0, zkpush_port=0):
    return f"""# written by startup_errors_test.py
[gateway]
data_dir = "{data_dir}"
{gateway_extra}

[log]
level = "info"

[api]
listen = "127.0.0.1"
port = {api_port}

[zkpush]
listen = "127.0.0.1"
port = {zkpush_port}

{extra_sections}
"""


def run_daemon(binary, workdir, name, text, timeout=20):
    path = os.path.join(workdir, f"{name}.toml")
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    env = {k: v for k, v in os.environ.items() if k not in systest.SYSTEMD_VARIABLES}
    try:
        run = subprocess.run([binary, "--config", path], capture_output=True, text=True,
                             timeout=timeout, env=env, cwd=workdir)
    except subprocess.TimeoutExpired:
        raise systest.TestFailure(f"{name}: pushgated did not exit within {timeout} s")
    checked = subprocess.run([binary, "--check-config", path], capture_output=True, text=True,
                             timeout=timeout, env=env, cwd=workdir)
    with open(os.path.join(workdir, f"{name}.log"), "w", encoding="utf-8") as f:
        f.write(f"--config exit {run.returncode}\n{run.stdout}{run.stderr}"
                f"--check-config exit {checked.returncode}\n{checked.stdout}{checked.stderr}")
    return run, checked


def expect_refused(binary, workdir, name, text, lines):
    run, checked = run_daemon(binary, workdir, name, text)
    out = run.stdout + run.stderr
    check(run.returncode not in (0, 134, -6),
          f"{name}: pushgated exited with {run.returncode} (want non-zero, no abort):\n{out}")
    check("terminate called" not in out and "future_error" not in out,
          f"{name}: pushgated aborted:\n{out}")
    check("did not close in time" not in out, f"{name}: a listener waited for a timeout:\n{out}")
    for line in lines:
        check(line in out, f"{name}: pushgated did not say {line!r}:\n{out}")
    check(checked.returncode != 0,
          f"{name}: --check-config said OK ({checked.returncode}) where the start fails:\n"
          f"{checked.stdout}{checked.stderr}")
    for line in lines:
        check(line in checked.stderr,
              f"{name}: --check-config did not say {line!r}:\n{checked.stderr}")
    log(f"{name}: exit {run.returncode}, --check-config exit {checked.returncode}")


def test(workdir, args):
    binary = args.pushgated
    data = os.path.join(workdir, "data")

    # 1. Every listener on a port another process holds.
    holder, port = held_port()
    try:
        expect_refused(binary, workdir, "zkpush-port-taken", config(data, zkpush_port=port),
                       [f"zkpush.port: cannot listen on 127.0.0.1:{port}: Address already in use"])
        expect_refused(binary, workdir, "api-port-taken", config(data, api_port=port),
                       [f"api.port: cannot listen on 127.0.0.1:{port}: Address already in use"])
        expect_refused(binary, workdir, "modbus-port-taken",
                       config(data, f'[modbus]\nenabled = true\nlisten = "127.0.0.1"\n'
                                    f"port = {port}\n"),
                       [f"modbus.port: cannot listen on 127.0.0.1:{port}: Address already in use"])
    finally:
        holder.close()

    # 2. What the schema accepts and the start refused.
    missing = os.path.join(workdir, "no-such-rules.json")
    broken = os.path.join(workdir, "broken-rules.json")
    with open(broken, "w", encoding="utf-8") as f:
        f.write('{\n  "periods": [\n    {"id": x}\n  ]\n}\n')
    expect_refused(binary, workdir, "attendance-rules-missing",
                   config(data, f'[attendance]\nrules_file = "{missing}"\n'),
                   [f'attendance.rules_file: cannot read "{missing}": No such file or directory'])
    expect_refused(binary, workdir, "attendance-rules-broken",
                   config(data, f'[attendance]\nrules_file = "{broken}"\n'),
                   ["attendance.rules_file: ", f"{broken}:line 3, column"])
    expect_refused(binary, workdir, "linkage-rules-missing",
                   config(data, f'[linkage]\nrules_file = "{missing}"\n'),
                   [f"linkage.rules_file: {missing}: cannot be read: No such file or directory"])
    expect_refused(binary, workdir, "mqtt-uri-without-scheme",
                   config(data, '[mqtt]\nenabled = true\nserver_uri = "127.0.0.1:1883"\n'),
                   ['mqtt.server_uri: must start with tcp:// or ssl://, got "127.0.0.1:1883"'])
    expect_refused(binary, workdir, "modbus-write-allow",
                   config(data, '[modbus]\nenabled = true\nlisten = "127.0.0.1"\nport = 0\n'
                                'write_allow = ["10.0.0.300"]\n'),
                   ['modbus.write_allow: "10.0.0.300" is not an IP address or CIDR network'])
    expect_refused(binary, workdir, "gateway-id",
                   config(data, gateway_extra='id = "site a/1"'),
                   ['gateway.id: must be letters, digits, - and _', 'got "site a/1"'])
    # A type error does not hide the errors after it, nor the start's own checks.
    expect_refused(binary, workdir, "type-error-first",
                   config(data, '[mqtt]\nenabled = true\nprotocol_version = 5\n'
                                'server_uri = "127.0.0.1:1883"\n',
                          gateway_extra='id = "site a/1"'),
                   ['mqtt.protocol_version: expected a string, got integer 5; '
                    'quote it: protocol_version = "5"',
                    'mqtt.server_uri: must start with tcp:// or ssl://',
                    'gateway.id: must be letters, digits, - and _'])

    # And a good config still starts (the checks refuse nothing valid).
    daemon = systest.Daemon(binary, workdir, systest.base_config(data)).start()
    # Issue 13 item 7: SIGHUP with a changed restart-only key says it did not apply.
    offset = len(daemon.log_text())
    daemon.write_config(systest.base_config(data).replace(
        '[zkpush]\nlisten = "127.0.0.1"\nport = 0', '[zkpush]\nlisten = "127.0.0.1"\nport = 8082'))
    daemon.signal(signal.SIGHUP)
    daemon.wait_log(r"zkpush\.port changed from 0 to 8082: takes effect after a restart", 20,
                    offset)
    daemon.wait_log(r"configuration reloaded .*1 changed key\(s\) need a restart", 20, offset)
    check(daemon.stop() == 0, "pushgated did not stop cleanly")
    run_ok = subprocess.run([binary, "--check-config", daemon.config_path], capture_output=True,
                            text=True, timeout=20)
    check(run_ok.returncode == 0, f"--check-config refused a good config:\n{run_ok.stderr}")


def main():
    args = systest.common_args(__doc__).parse_args()
    return systest.run_main(test, args, "pushgate-startup-")


if __name__ == "__main__":
    sys.exit(main())
