#!/usr/bin/env python3
"""SIGTERM during heavy ingest loses no acknowledged record, and pushgated
exits within gateway.shutdown_timeout_ms.

1. pushgated starts; pushgate-sim runs many terminals uploading ATTLOG
   batches and writes every record answered OK to its ledger (fsynced
   before it counts the record acknowledged).
2. While uploads are in flight, pushgated gets SIGTERM. It must exit with
   status 0 (its guard exits 1 when the bound is hit) within the configured
   time, and every record in the ledger must be in the database.
3. pushgated starts again on the same port; the simulator, which kept
   retrying, finishes. Every record is then stored exactly once: the ones
   committed but not acknowledged before the stop were resent and
   recognised as duplicates.
"""

import os
import signal
import subprocess
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import systest  # noqa: E402
from systest import check, log  # noqa: E402


def run(workdir, args):
    data_dir = os.path.join(workdir, "data")
    db_path = os.path.join(data_dir, "pushgate.db")
    ledger_path = os.path.join(workdir, "ledger.tsv")
    total = args.terminals * args.records_per_terminal
    timeout_ms = args.shutdown_timeout_ms

    config = systest.base_config(data_dir, gateway_extra=f"shutdown_timeout_ms = {timeout_ms}")
    daemon = systest.Daemon(args.pushgated, workdir, config).start()
    port = daemon.zkpush_port
    log(f"pushgated pid {daemon.pid}, terminals port {port}, API port {daemon.api_port}")

    sim = systest.spawn(
        [args.sim, "--host", "127.0.0.1", "--port", str(port),
         "--terminals", str(args.terminals),
         "--records-per-terminal", str(args.records_per_terminal),
         "--batch", str(args.batch), "--ledger", ledger_path, "--until-acked",
         "--timeout", str(args.sim_timeout),
         # Retry fast while the daemon is down instead of the handshake's
         # ErrorDelay (30 s).
         "--error-delay-ms", "200", "--report-ms", "1000"],
        os.path.join(workdir, "sim.log"))

    def ledger_lines():
        try:
            with open(ledger_path, "rb") as f:
                return f.read().count(b"\n")
        except FileNotFoundError:
            return 0

    # Heavy ingest under way: a share of the records acknowledged, most not.
    threshold = max(1, total * args.stop_at_percent // 100)
    systest.wait_until(lambda: ledger_lines() >= threshold or sim.poll() is not None, 120,
                       f"{threshold} acknowledged records")
    check(sim.poll() is None, f"pushgate-sim ended (status {sim.returncode}) before the stop; "
                              "raise --records-per-terminal")
    acked_before = ledger_lines()

    started = time.monotonic()
    daemon.signal(signal.SIGTERM)
    status = daemon.wait_exit(timeout_ms / 1000 + 30)
    elapsed_ms = (time.monotonic() - started) * 1000
    log(f"SIGTERM with {acked_before}/{total} records acknowledged: exit {status} "
        f"after {elapsed_ms:.0f} ms (shutdown_timeout_ms = {timeout_ms})")
    check(acked_before < total, "every record was acknowledged before SIGTERM: not a test of "
                                "a stop during ingest")
    check(status == 0, f"pushgated exited with {status}; 1 means the graceful stop overran "
                       f"{timeout_ms} ms")
    # The guard thread bounds the stop; allow for process teardown only.
    check(elapsed_ms <= timeout_ms + 1000,
          f"pushgated took {elapsed_ms:.0f} ms to exit, more than {timeout_ms} ms")
    check("pushgated stopped" in daemon.log_text(), "no 'pushgated stopped' line in the log")

    # Acknowledgements that were on their way to the ledger's writer land
    # within moments; the simulator now only meets refused connections.
    time.sleep(1.0)
    ledger = systest.read_ledger(ledger_path)
    distinct, stored = systest.verify_ledger_in_db(db_path, ledger)
    log(f"after the stop: {distinct} acknowledged records, all in the database; "
        f"{stored - distinct} more committed without their answer reaching the simulator")
    check(sim.poll() is None, f"pushgate-sim gave up while the daemon was down "
                              f"(status {sim.returncode})")

    # Restart on the same port; the simulator resends what was not answered OK.
    daemon.extra_args = ["--set", f"zkpush.port={port}"]
    daemon.start()
    log(f"restarted as pid {daemon.pid}")
    try:
        sim_status = sim.wait(timeout=args.sim_timeout + 30)
    except subprocess.TimeoutExpired:
        raise systest.TestFailure("pushgate-sim did not finish after the restart")
    check(sim_status == 0, f"pushgate-sim exited with {sim_status}: not all records acknowledged")
    check(daemon.stop(timeout_ms / 1000 + 30) == 0, "pushgated did not stop cleanly at the end")

    ledger = systest.read_ledger(ledger_path)
    distinct, stored = systest.verify_ledger_in_db(db_path, ledger)
    log(f"at the end: {distinct} distinct acknowledged records ({len(ledger)} ledger lines), "
        f"{stored} stored")
    check(distinct == total, f"the ledger holds {distinct} distinct records, expected {total}")
    check(stored == total, f"the database holds {stored} ATTLOG records, expected {total}")


def main():
    p = systest.common_args(__doc__.splitlines()[0], need_sim=True)
    p.add_argument("--terminals", type=int, default=50)
    p.add_argument("--records-per-terminal", type=int, default=2000)
    p.add_argument("--batch", type=int, default=200)
    p.add_argument("--shutdown-timeout-ms", type=int, default=3000,
                   help="gateway.shutdown_timeout_ms for the daemon under test")
    p.add_argument("--stop-at-percent", type=int, default=20,
                   help="send SIGTERM once this share of the records is acknowledged")
    p.add_argument("--sim-timeout", type=int, default=180)
    args = p.parse_args()
    return systest.run_main(run, args, "pushgate-sigterm-")


if __name__ == "__main__":
    sys.exit(main())
