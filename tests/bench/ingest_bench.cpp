// Ingest throughput: N simulated terminals (tests/sim) upload a backlog in
// batches over real HTTP to an in-process gateway; every record counts only
// once its terminal heard OK, i.e. after commit (WAL, synchronous=FULL).
// In the same run, the same rows (parsed and normalised exactly as the
// gateway does) are inserted by bare SQLite into the same schema:
//   (a) one transaction per upload batch — what a direct insert per request
//       achieves, the baseline of the acceptance ratio;
//   (b) one transaction for everything — SQLite's ceiling, for reference.
//
// Usage: ingest_bench [--terminals 200] [--records 5000] [--batch 500] [--dir /path]
#include <chrono>
#include <cstdio>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "adapters/zkpush/zkpush_normalize.hpp"
#include "adapters/zkpush/zkpush_protocol.hpp"
#include "gateway/clock.hpp"
#include "gateway/metrics/metrics.hpp"
#include "gateway/store/migrations.hpp"
#include "gateway/store/sqlite.hpp"
#include "tests/sim/load_runner.hpp"
#include "tests/sim/record_generator.hpp"
#include "tests/support/gateway_harness.hpp"

using namespace pushgate;
using Steady = std::chrono::steady_clock;

namespace {

struct Options {
  std::size_t terminals = 200;
  std::size_t records = 5000;  // per terminal
  std::size_t batch = 500;
  std::string dir;
};

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i];
    std::string v = argv[i + 1];
    if (k == "--terminals") {
      o.terminals = std::stoul(v);
    } else if (k == "--records") {
      o.records = std::stoul(v);
    } else if (k == "--batch") {
      o.batch = std::stoul(v);
    } else if (k == "--dir") {
      o.dir = v;
    }
  }
  return o;
}

// The rows the gateway stores for the simulator's records, batch by batch.
std::vector<std::vector<Event>> same_rows(const Options& o, const sim::LoadConfig& lc) {
  std::vector<std::vector<Event>> batches;
  Zone zone = Zone::utc();
  for (std::size_t t = 0; t < o.terminals; ++t) {
    sim::GeneratorConfig gc;
    gc.users = lc.users;
    auto records = sim::RecordGenerator(lc.seed, t, gc).take(o.records);
    std::string sn = sim::terminal_serial(lc, t);
    for (std::size_t i = 0; i < records.size(); i += o.batch) {
      std::string body;
      for (std::size_t j = i; j < std::min(records.size(), i + o.batch); ++j) {
        body += sim::format_attlog_line(records[j], lc.attlog_fields);
        body += '\n';
      }
      adapters::zkpush::UploadContext u;
      u.sn = sn;
      u.zone = &zone;
      u.received_ms = 1;
      u.table = "ATTLOG";
      WriteBatch wb;
      adapters::zkpush::add_attlog(adapters::zkpush::parse_attlog(body), u, wb);
      batches.push_back(std::move(wb.events));
    }
  }
  return batches;
}

double bare_sqlite(const std::string& path, const std::vector<std::vector<Event>>& batches,
                   bool one_transaction) {
  std::filesystem::remove(path);
  std::filesystem::remove(path + "-wal");
  std::filesystem::remove(path + "-shm");
  boost::system::error_code ec;
  store::Connection::Options co;
  auto db = store::Connection::open(path, co, ec);
  std::string err;
  if (ec || store::migrate(db, err)) {
    std::fprintf(stderr, "bare sqlite setup failed: %s %s\n", ec.message().c_str(), err.c_str());
    std::exit(1);
  }
  auto ins = db.prepare(
      "INSERT INTO events(terminal_id, seq, record_key, kind, local_time, utc_ms, pin, verify_mode,"
      " status, work_code, door, event_code, raw, extra, received_ms, command_id)"
      " VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16)"
      " ON CONFLICT(terminal_id, record_key) DO NOTHING",
      ec);
  auto term = db.prepare("INSERT OR IGNORE INTO terminals(sn) VALUES(?1)", ec);
  auto tid = db.prepare("SELECT id FROM terminals WHERE sn = ?1", ec);
  std::map<std::string, std::pair<std::int64_t, std::int64_t>> ids;
  auto start = Steady::now();
  std::size_t rows = 0;
  if (one_transaction) {
    db.exec("BEGIN");
  }
  for (const auto& b : batches) {
    if (!one_transaction) {
      db.exec("BEGIN");
    }
    for (const auto& e : b) {
      auto it = ids.find(e.terminal_sn);
      if (it == ids.end()) {
        term.bind(1, std::string_view(e.terminal_sn)).run();
        tid.bind(1, std::string_view(e.terminal_sn));
        tid.step(ec);
        it = ids.emplace(e.terminal_sn, std::make_pair(tid.column_int(0), std::int64_t{0})).first;
        tid.reset();
      }
      ins.bind(1, it->second.first).bind(2, ++it->second.second);
      ins.bind(3, std::string_view(e.record_key)).bind(4, static_cast<int>(e.kind));
      ins.bind(5, std::string_view(e.local_time)).bind(6, e.utc_ms);
      ins.bind(7, std::string_view(e.pin)).bind(8, e.verify_mode).bind(9, e.status);
      ins.bind_null(10).bind_null(11).bind_null(12);
      ins.bind(13, std::string_view(e.raw));
      if (e.extra_json.empty()) {
        ins.bind_null(14);
      } else {
        ins.bind(14, std::string_view(e.extra_json));
      }
      ins.bind(15, e.received_ms).bind_null(16);
      if (auto rc = ins.run()) {
        std::fprintf(stderr, "insert failed: %s\n", rc.message().c_str());
        std::exit(1);
      }
      ++rows;
    }
    if (!one_transaction) {
      db.exec("COMMIT");
    }
  }
  if (one_transaction) {
    db.exec("COMMIT");
  }
  double secs = std::chrono::duration<double>(Steady::now() - start).count();
  return static_cast<double>(rows) / secs;
}

}  // namespace

int main(int argc, char** argv) {
  auto o = parse(argc, argv);
  test::TempDir tmp;
  std::filesystem::path dir = o.dir.empty() ? tmp.path() : std::filesystem::path(o.dir);
  std::filesystem::create_directories(dir);
  const std::size_t total = o.terminals * o.records;
  std::printf("ingest_bench: %zu terminals x %zu records = %zu records, batches of %zu\n",
              o.terminals, o.records, total, o.batch);

  double gateway_rate = 0;
  sim::LoadSummary summary;
  sim::LoadConfig lc;
  {
    test::GatewayHarness h(
        // Every simulated terminal is on 127.0.0.1: no per-address limit.
        {"gateway.io_threads=1", "zkpush.commit_timeout_ms=60000", "zkpush.max_connections=4096",
         "zkpush.max_connections_per_address=0"},
        dir / "gateway");
    lc.port = h.zkpush_port();
    lc.terminals = o.terminals;
    lc.records_per_terminal = o.records;
    lc.batch = o.batch;
    lc.until_acked = true;
    lc.poll = std::chrono::milliseconds(60000);
    lc.error_delay = std::chrono::milliseconds(200);
    lc.report_interval = std::chrono::milliseconds(0);
    lc.duration = std::chrono::seconds(600);
    lc.threads = 1;
    sim::LoadRunner runner(lc);
    summary = runner.run(nullptr);
    auto stored = h.query_int("SELECT COUNT(*) FROM events");
    gateway_rate = summary.records_per_second;
    std::printf(
        "gateway: %llu records acked (stored %lld) in %.2f s = %.0f records/s committed;"
        " upload latency p50 %.1f ms p99 %.1f ms; failures %llu\n",
        static_cast<unsigned long long>(summary.records_acked), static_cast<long long>(stored),
        summary.elapsed_seconds, gateway_rate, summary.latency_p50_ms, summary.latency_p99_ms,
        static_cast<unsigned long long>(summary.failures_transport + summary.failures_status +
                                        summary.failures_body));
    if (!summary.all_acked || stored != static_cast<std::int64_t>(total)) {
      std::printf("FAILED: not every record was acknowledged and stored\n");
      return 1;
    }
    std::printf("group commit: %.0f commits, %.1f requests per commit on average\n",
                h.gateway().metrics().value("pushgate_store_commits_total"),
                summary.uploads_acked /
                    std::max(1.0, h.gateway().metrics().value("pushgate_store_commits_total")));
  }
  auto rows = same_rows(o, lc);
  double per_batch = bare_sqlite((dir / "bare.db").string(), rows, false);
  double one_tx = bare_sqlite((dir / "bare1.db").string(), rows, true);
  std::printf("bare SQLite, one transaction per %zu-row batch (synchronous=FULL): %.0f records/s\n",
              o.batch, per_batch);
  std::printf("bare SQLite, one transaction for all rows (ceiling): %.0f records/s\n", one_tx);
  std::printf("ratio gateway / bare per-batch: %.2f\n", gateway_rate / per_batch);
  std::printf("ratio gateway / bare one-transaction: %.2f\n", gateway_rate / one_tx);
  return 0;
}
