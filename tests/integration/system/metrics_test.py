#!/usr/bin/env python3
"""/metrics parses as Prometheus text format and its counters move as
terminals upload.

Scrapes /metrics of an idle pushgated, then repeatedly while pushgate-sim
uploads, then after it finished. Every scrape must parse with the reference
parser (python3-prometheus-client), every family must carry HELP and TYPE,
no counter may ever go down, and at the end the ingest counters must have
moved by exactly what the simulator had acknowledged.
"""

import os
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import systest  # noqa: E402
from systest import check, log  # noqa: E402

try:
    from prometheus_client.parser import text_string_to_metric_families
except ImportError:
    print("python3-prometheus-client is missing (packaging/install-deps.sh installs it); "
          f"this is {sys.executable}", file=sys.stderr)
    sys.exit(1)

TERMINALS = 5
RECORDS = 400
BATCH = 50


def scrape(port):
    status, headers, text = systest.http_get(port, "/metrics")
    check(status == 200, f"/metrics answered {status}")
    content_type = headers.get("Content-Type", "")
    check(content_type.startswith("text/plain") and "version=0.0.4" in content_type,
          f"/metrics Content-Type is {content_type!r}, expected text/plain; version=0.0.4")
    samples = {}
    types = {}
    try:
        families = list(text_string_to_metric_families(text))
    except Exception as e:  # the parser raises ValueError and friends
        raise systest.TestFailure(f"/metrics does not parse: {e}\n{text[:2000]}")
    for family in families:
        check(family.type != "unknown", f"metric family {family.name} has no TYPE line")
        check(family.documentation, f"metric family {family.name} has no HELP text")
        for s in family.samples:
            key = (s.name, tuple(sorted(s.labels.items())))
            check(key not in samples, f"sample {key} appears twice")
            samples[key] = s.value
            types[key] = family.type
    return samples, types


def total(samples, name, **labels):
    """Sum of the samples called `name` whose labels include `labels`."""
    return sum(v for (n, ls), v in samples.items()
               if n == name and all(dict(ls).get(k) == want for k, want in labels.items()))


def monotonic_counters(before, after, types):
    """Counters and histogram series (buckets, count, sum of durations) never go down."""
    for key, value in before.items():
        if types.get(key) in ("counter", "histogram") and key in after:
            check(after[key] >= value, f"{key} went down: {value} -> {after[key]}")


def run(workdir, args):
    data_dir = os.path.join(workdir, "data")
    daemon = systest.Daemon(args.pushgated, workdir, systest.base_config(data_dir)).start()
    api = daemon.api_port
    first, types = scrape(api)
    log(f"idle scrape: {len(first)} samples")

    sim = systest.spawn(
        [args.sim, "--host", "127.0.0.1", "--port", str(daemon.zkpush_port),
         "--terminals", str(TERMINALS), "--records-per-terminal", str(RECORDS),
         "--batch", str(BATCH), "--until-acked", "--timeout", "120", "--report-ms", "0",
         # Spread the run out so some scrapes land in the middle of it.
         "--concurrency", "2"],
        os.path.join(workdir, "sim.log"))

    scrapes = [first]
    deadline = time.monotonic() + 150
    while sim.poll() is None:
        check(time.monotonic() < deadline, "pushgate-sim did not finish in time")
        samples, more_types = scrape(api)
        types.update(more_types)
        monotonic_counters(scrapes[-1], samples, types)
        scrapes.append(samples)
        time.sleep(0.05)
    check(sim.returncode == 0, f"pushgate-sim exited with {sim.returncode}")
    last, more_types = scrape(api)
    types.update(more_types)
    monotonic_counters(scrapes[-1], last, types)
    scrapes.append(last)

    records = TERMINALS * RECORDS
    ingested = (total(last, "pushgate_records_ingested_total", kind="attendance")
                - total(first, "pushgate_records_ingested_total", kind="attendance"))
    uploads = (total(last, "pushgate_zkpush_uploads_total")
               - total(first, "pushgate_zkpush_uploads_total"))
    commits = (total(last, "pushgate_store_commits_total")
               - total(first, "pushgate_store_commits_total"))
    requests = (total(last, "pushgate_http_requests_total")
                - total(first, "pushgate_http_requests_total"))
    commit_count = (total(last, "pushgate_store_commit_seconds_count")
                    - total(first, "pushgate_store_commit_seconds_count"))
    moving = sum(1 for s in scrapes[1:-1]
                 if 0 < total(s, "pushgate_records_ingested_total") < records)
    log(f"{len(scrapes)} scrapes ({moving} mid-run): records_ingested +{ingested:.0f}, "
        f"zkpush_uploads +{uploads:.0f}, store_commits +{commits:.0f}, "
        f"http_requests +{requests:.0f}")

    check(ingested == records,
          f"pushgate_records_ingested_total{{kind=\"attendance\"}} moved by {ingested}, "
          f"expected {records}")
    check(uploads >= records // BATCH,
          f"pushgate_zkpush_uploads_total moved by {uploads}, expected >= {records // BATCH}")
    check(commits >= 1, "pushgate_store_commits_total did not move")
    check(commit_count == commits, "the commit-time histogram did not count every commit")
    check(requests >= uploads, "pushgate_http_requests_total moved less than the uploads")
    online = total(last, "pushgate_terminals_online")
    check(online == TERMINALS, f"pushgate_terminals_online is {online}, expected {TERMINALS}")
    check(daemon.stop() == 0, "pushgated did not stop cleanly")


def main():
    args = systest.common_args(__doc__.splitlines()[0], need_sim=True).parse_args()
    return systest.run_main(run, args, "pushgate-metrics-")


if __name__ == "__main__":
    sys.exit(main())
