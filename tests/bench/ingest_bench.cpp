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
//
// History dimension (issue 19): `--history 0,1000000,10000000` runs the real
// pushgated (--daemon, default the one built with this bench; --before-daemon
// a second binary measured in the same run) on a database already holding
// that many events stored BY THE SAME terminals (prefilled with SQL in the
// daemon's own schema), then 50 terminals x 40,000 records in 100-record
// batches by default. Prints pushgated's CPU per record (utime+stime of
// /proc/<pid>/stat), the bytes it passed to write calls per record (WAL,
// checkpoints; /proc/<pid>/io), throughput, upload p50/p99, and bare SQLite
// inserting the same rows into a copy of the same database, one transaction
// per batch, synchronous=FULL.
//
// Memory (issue 19): `--rss` floods the real pushgated with --terminals x
// --batch (default 200 x 500) and prints its peak resident size during the
// flood and its resident size a minute after.
#include <signal.h>
#include <sqlite3.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "adapters/zkpush/zkpush_normalize.hpp"
#include "adapters/zkpush/zkpush_protocol.hpp"
#include "gateway/clock.hpp"
#include "gateway/metrics/metrics.hpp"
#include "gateway/store/migrations.hpp"
#include "gateway/store/record_keys.hpp"
#include "gateway/store/sqlite.hpp"
#include "tests/bench/proc_stats.hpp"
#include "tests/sim/load_runner.hpp"
#include "tests/sim/record_generator.hpp"
#include "tests/support/gateway_harness.hpp"
#include "tests/support/processes.hpp"

using namespace pushgate;
using Steady = std::chrono::steady_clock;

namespace {

struct Options {
  std::size_t terminals = 200;
  std::size_t records = 5000;  // per terminal
  std::size_t batch = 500;
  std::string dir;
  std::vector<std::size_t> history;  // events already stored per level
  bool rss = false;
  std::string daemon = PUSHGATED_PATH;
  std::string before_daemon;
  std::size_t users = 50;
  bool terminals_set = false, records_set = false, batch_set = false;
};

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string k = argv[i];
    if (k == "--rss") {
      o.rss = true;
      continue;
    }
    if (i + 1 >= argc) {
      break;
    }
    std::string v = argv[++i];
    if (k == "--terminals") {
      o.terminals = std::stoul(v);
      o.terminals_set = true;
    } else if (k == "--records") {
      o.records = std::stoul(v);
      o.records_set = true;
    } else if (k == "--batch") {
      o.batch = std::stoul(v);
      o.batch_set = true;
    } else if (k == "--dir") {
      o.dir = v;
    } else if (k == "--daemon") {
      o.daemon = v;
    } else if (k == "--before-daemon") {
      o.before_daemon = v;
    } else if (k == "--users") {
      o.users = std::stoul(v);
    } else if (k == "--history") {
      std::stringstream ss(v);
      std::string item;
      while (std::getline(ss, item, ',')) {
        o.history.push_back(std::stoul(item));
      }
    }
  }
  if (!o.history.empty()) {
    // The shape: 50 terminals, 100-record batches.
    o.terminals = o.terminals_set ? o.terminals : 50;
    o.batch = o.batch_set ? o.batch : 100;
    // 2M records a level, about 13 s at 150k/s: with 100k (0.6 s) or 500k
    // the same binary varied by +-15% from run to run on this 2-core VM.
    o.records = o.records_set ? o.records : 40000;
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
    if (lc.start) {
      gc.start = *lc.start;
    }
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

// The record_key column as the daemon under test stores it.
using KeyForm = std::string (*)(const std::string&);
std::string same_key(const std::string& k) {
  return k;
}

double bare_sqlite(const std::string& path, const std::vector<std::vector<Event>>& batches,
                   bool one_transaction, bool keep_existing = false, KeyForm key_form = same_key,
                   double* cpu_us_per_record = nullptr) {
  if (!keep_existing) {
    std::filesystem::remove(path);
  }
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
  int hit = 0;
  int miss = 0;
  int write = 0;
  int hw = 0;
  sqlite3_db_status(db.handle(), SQLITE_DBSTATUS_CACHE_HIT, &hit, &hw, 1);
  sqlite3_db_status(db.handle(), SQLITE_DBSTATUS_CACHE_MISS, &miss, &hw, 1);
  sqlite3_db_status(db.handle(), SQLITE_DBSTATUS_CACHE_WRITE, &write, &hw, 1);
  rusage ru0{};
  getrusage(RUSAGE_THREAD, &ru0);
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
      std::string key = key_form(e.record_key);
      ins.bind(1, it->second.first).bind(2, ++it->second.second);
      ins.bind(3, std::string_view(key)).bind(4, static_cast<int>(e.kind));
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
  rusage ru1{};
  getrusage(RUSAGE_THREAD, &ru1);
  if (cpu_us_per_record != nullptr) {
    // Where the cost goes: page-cache misses (a read() each) and pages
    // written to the WAL, per record.
    sqlite3_db_status(db.handle(), SQLITE_DBSTATUS_CACHE_HIT, &hit, &hw, 0);
    sqlite3_db_status(db.handle(), SQLITE_DBSTATUS_CACHE_MISS, &miss, &hw, 0);
    sqlite3_db_status(db.handle(), SQLITE_DBSTATUS_CACHE_WRITE, &write, &hw, 0);
    double n = static_cast<double>(std::max<std::size_t>(rows, 1));
    std::printf("  bare SQLite page cache per record: %.2f hits, %.2f misses, %.2f pages written\n",
                hit / n, miss / n, write / n);
    auto us = [](const timeval& t) { return t.tv_sec * 1e6 + static_cast<double>(t.tv_usec); };
    double cpu = us(ru1.ru_utime) - us(ru0.ru_utime) + us(ru1.ru_stime) - us(ru0.ru_stime);
    *cpu_us_per_record = cpu / static_cast<double>(std::max<std::size_t>(rows, 1));
  }
  return static_cast<double>(rows) / secs;
}

// ---- the real pushgated -------------------------------------------------

struct Daemon {
  pid_t pid = -1;
  std::uint16_t port = 0;
  std::uint16_t api = 0;
};

const std::vector<std::string> kDaemonSets = {
    // Every simulated terminal is on 127.0.0.1: no per-address limit.
    "zkpush.commit_timeout_ms=60000", "zkpush.max_connections=4096",
    "zkpush.max_connections_per_address=0"};

Daemon start_daemon(const std::string& bin, const std::filesystem::path& data) {
  Daemon d;
  d.port = test::free_port();
  d.api = test::free_port();
  d.pid = test::spawn_process(
      test::pushgated_argv(bin, std::string(PUSHGATE_SOURCE_DIR) + "/config/pushgate.toml",
                           data.string(), d.port, d.api, kDaemonSets),
      (data / "pushgated.log").string());
  if (d.pid < 0 || !test::wait_http_ready(d.api, std::chrono::seconds(600))) {
    std::fprintf(stderr, "pushgated %s did not become ready (log in %s)\n", bin.c_str(),
                 data.c_str());
    std::exit(1);
  }
  return d;
}

void stop_daemon(Daemon& d) {
  if (d.pid > 0) {
    ::kill(d.pid, SIGTERM);
    int st = 0;
    ::waitpid(d.pid, &st, 0);
    d.pid = -1;
  }
}

sim::LoadConfig load_config(const Options& o, std::uint16_t port) {
  sim::LoadConfig lc;
  lc.port = port;
  lc.terminals = o.terminals;
  lc.records_per_terminal = o.records;
  lc.batch = o.batch;
  lc.users = o.users;
  lc.until_acked = true;
  lc.poll = std::chrono::milliseconds(60000);
  lc.error_delay = std::chrono::milliseconds(200);
  lc.report_interval = std::chrono::milliseconds(0);
  lc.duration = std::chrono::seconds(1800);
  lc.threads = 1;
  // Uploads are dated after every prefilled record.
  lc.start = sim::LocalSeconds{
      std::chrono::sys_days{std::chrono::year{2026} / std::chrono::January / 1}.time_since_epoch()};
  return lc;
}

int schema_version(store::Connection& db) {
  boost::system::error_code ec;
  auto st = db.prepare("SELECT COALESCE(MAX(version), 0) FROM schema_migrations", ec);
  return !ec && st.step(ec) ? static_cast<int>(st.column_int(0)) : 0;
}

KeyForm key_form_for(int version);

// `history` events by the terminals the load then uses, dated before it,
// inserted into the daemon's schema (which the daemon created) the way the
// daemon stores them: ids, per-terminal seq and last_seq, record keys.
void prefill(const std::filesystem::path& db_path, const Options& o, const sim::LoadConfig& lc,
             std::size_t history) {
  boost::system::error_code ec;
  store::Connection::Options co;
  co.synchronous = "OFF";  // the prefill only
  auto db = store::Connection::open(db_path.string(), co, ec);
  if (ec) {
    std::fprintf(stderr, "prefill: cannot open %s\n", db_path.c_str());
    std::exit(1);
  }
  KeyForm key_form = key_form_for(schema_version(db));
  db.exec("PRAGMA cache_size=-1000000");
  auto ins = db.prepare(
      "INSERT INTO events(terminal_id, seq, record_key, kind, local_time, utc_ms, pin, verify_mode,"
      " status, work_code, door, event_code, raw, extra, received_ms, command_id)"
      " VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,NULL)",
      ec);
  auto term = db.prepare("INSERT OR IGNORE INTO terminals(sn) VALUES(?1)", ec);
  auto tid = db.prepare("SELECT id FROM terminals WHERE sn = ?1", ec);
  auto last = db.prepare("UPDATE terminals SET last_seq = ?1 WHERE id = ?2", ec);
  const std::size_t per = history / o.terminals;
  const std::chrono::seconds gap{30};
  struct T {
    std::string sn;
    std::int64_t id = 0;
    std::int64_t seq = 0;
    std::unique_ptr<sim::RecordGenerator> gen;
  };
  std::vector<T> ts(o.terminals);
  for (std::size_t t = 0; t < o.terminals; ++t) {
    ts[t].sn = sim::terminal_serial(lc, t);
    term.bind(1, std::string_view(ts[t].sn)).run();
    tid.bind(1, std::string_view(ts[t].sn));
    tid.step(ec);
    ts[t].id = tid.column_int(0);
    tid.reset();
    sim::GeneratorConfig gc;
    gc.users = lc.users;
    gc.max_gap = gap;
    // Ends a day before the uploads begin.
    gc.start = *lc.start - std::chrono::days{1} - gap * static_cast<std::int64_t>(per);
    ts[t].gen = std::make_unique<sim::RecordGenerator>(lc.seed + 1000003, t, gc);
  }
  Zone zone = Zone::utc();
  // Received now: history the daemon keeps (store.retain_days). Dated in
  // 1970 it was all past retention, and the daemon's first retention pass
  // deleted it while the terminals uploaded.
  const std::int64_t received_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                                       std::chrono::system_clock::now().time_since_epoch())
                                       .count();
  auto started = Steady::now();
  std::size_t rows = 0;
  db.exec("BEGIN");
  for (std::size_t done = 0; done < per;) {
    std::size_t chunk = std::min<std::size_t>(1000, per - done);
    for (auto& t : ts) {
      std::string body;
      for (const auto& r : t.gen->take(chunk)) {
        body += sim::format_attlog_line(r, lc.attlog_fields);
        body += '\n';
      }
      adapters::zkpush::UploadContext u;
      u.sn = t.sn;
      u.zone = &zone;
      u.received_ms = received_ms;
      u.table = "ATTLOG";
      WriteBatch wb;
      adapters::zkpush::add_attlog(adapters::zkpush::parse_attlog(body), u, wb);
      for (const auto& e : wb.events) {
        std::string key = key_form(e.record_key);
        ins.bind(1, t.id).bind(2, ++t.seq).bind(3, std::string_view(key));
        ins.bind(4, static_cast<int>(e.kind)).bind(5, std::string_view(e.local_time));
        ins.bind(6, e.utc_ms).bind(7, std::string_view(e.pin)).bind(8, e.verify_mode);
        ins.bind(9, e.status).bind_null(10).bind_null(11).bind_null(12);
        ins.bind(13, std::string_view(e.raw));
        if (e.extra_json.empty()) {
          ins.bind_null(14);
        } else {
          ins.bind(14, std::string_view(e.extra_json));
        }
        ins.bind(15, e.received_ms);
        if (auto rc = ins.run()) {
          std::fprintf(stderr, "prefill insert failed: %s\n", rc.message().c_str());
          std::exit(1);
        }
        if (++rows % 100000 == 0) {
          db.exec("COMMIT");
          db.exec("BEGIN");
        }
      }
    }
    done += chunk;
  }
  for (auto& t : ts) {
    last.bind(1, t.seq).bind(2, t.id).run();
  }
  db.exec("COMMIT");
  db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
  std::printf("  prefill: %zu events by the %zu uploading terminals in %.1f s\n", rows, ts.size(),
              std::chrono::duration<double>(Steady::now() - started).count());
}

struct LevelResult {
  double cpu_us = 0;
  double written = 0;  // bytes pushgated wrote (write calls: WAL, checkpoints) per record
  double rate = 0;
  double p50 = 0;
  double p99 = 0;
  double bare_rate = 0;
  double bare_cpu_us = 0;
  bool ok = false;
};

LevelResult run_level(const Options& o, const std::string& bin, const std::filesystem::path& dir,
                      std::size_t history) {
  LevelResult r;
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir / "data");
  {
    // The daemon creates its own schema; the history goes into it.
    auto d = start_daemon(bin, dir / "data");
    stop_daemon(d);
  }
  auto db_path = dir / "data" / "pushgate.db";
  auto lc0 = load_config(o, 0);
  if (history > 0) {
    prefill(db_path, o, lc0, history);
  }
  KeyForm key_form = same_key;
  {
    boost::system::error_code ec;
    auto db = store::Connection::open(db_path.string(), {}, ec);
    key_form = key_form_for(schema_version(db));
  }
  // Bare SQLite gets a copy of the same database holding the same history.
  std::filesystem::copy_file(db_path, dir / "bare.db");
  auto d = start_daemon(bin, dir / "data");
  auto lc = load_config(o, d.port);
  double cpu0 = bench::cpu_seconds(d.pid);
  double wchar0 = bench::io_counter(d.pid, "wchar");
  sim::LoadRunner runner(lc);
  auto summary = runner.run(nullptr);
  double cpu1 = bench::cpu_seconds(d.pid);
  double wchar1 = bench::io_counter(d.pid, "wchar");
  stop_daemon(d);
  const double total = static_cast<double>(o.terminals * o.records);
  r.ok = summary.all_acked;
  r.cpu_us = (cpu1 - cpu0) * 1e6 / total;
  r.written = (wchar1 - wchar0) / total;
  r.rate = summary.records_per_second;
  r.p50 = summary.latency_p50_ms;
  r.p99 = summary.latency_p99_ms;
  auto rows = same_rows(o, lc);
  r.bare_rate =
      bare_sqlite((dir / "bare.db").string(), rows, false, true, key_form, &r.bare_cpu_us);
  std::filesystem::remove_all(dir);
  return r;
}

int run_history(const Options& o, const std::filesystem::path& dir) {
  std::printf(
      "ingest_bench history: %zu terminals x %zu records in %zu-record batches (%zu users each),"
      " on 0..N events already stored by the same terminals\n",
      o.terminals, o.records, o.batch, o.users);
  std::vector<std::pair<std::string, std::string>> bins;
  if (!o.before_daemon.empty()) {
    bins.emplace_back("before", o.before_daemon);
  }
  bins.emplace_back("after", o.daemon);
  std::map<std::string, LevelResult> at_zero;
  bool ok = true;
  for (auto h : o.history) {
    for (const auto& [label, bin] : bins) {
      auto r = run_level(o, bin, dir / ("h" + std::to_string(h) + "-" + label), h);
      if (h == o.history.front()) {
        at_zero[label] = r;
      }
      const auto& z = at_zero[label];
      std::printf(
          "%-6s history %9zu: pushgated %.2f us CPU/record (x%.2f of first level), %.0f"
          " B written/record, %.0f records/s, upload p50 %.1f ms p99 %.1f ms | bare SQLite %.0f"
          " records/s (%.2f us CPU/record), gateway/bare %.2f%s\n",
          label.c_str(), h, r.cpu_us, r.cpu_us / std::max(z.cpu_us, 1e-9), r.written, r.rate, r.p50,
          r.p99, r.bare_rate, r.bare_cpu_us, r.rate / std::max(r.bare_rate, 1e-9),
          r.ok ? "" : "  FAILED: not every record acknowledged");
      std::fflush(stdout);
      ok = ok && r.ok;
    }
  }
  return ok ? 0 : 1;
}

// The flood of issue 19: pushgated's resident size during and a minute after.
int run_rss(const Options& o, const std::filesystem::path& dir) {
  std::vector<std::pair<std::string, std::string>> bins;
  if (!o.before_daemon.empty()) {
    bins.emplace_back("before", o.before_daemon);
  }
  bins.emplace_back("after", o.daemon);
  bool ok = true;
  for (const auto& [label, bin] : bins) {
    auto data = dir / ("rss-" + label);
    std::filesystem::remove_all(data);
    std::filesystem::create_directories(data);
    auto d = start_daemon(bin, data);
    double idle = bench::rss_mb(d.pid);
    auto lc = load_config(o, d.port);
    lc.start.reset();  // dated from now, as real terminals
    sim::LoadSummary summary;
    std::atomic<bool> done{false};
    std::thread load([&] {
      sim::LoadRunner runner(lc);
      summary = runner.run(nullptr);
      done = true;
    });
    double peak = idle;
    while (!done) {
      peak = std::max(peak, bench::rss_mb(d.pid));
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    load.join();
    double at_end = bench::rss_mb(d.pid);
    double after_minute = at_end;
    for (int s = 0; s < 60; ++s) {
      std::this_thread::sleep_for(std::chrono::seconds(1));
      after_minute = bench::rss_mb(d.pid);
      peak = std::max(peak, after_minute);
    }
    stop_daemon(d);
    std::printf(
        "%-6s flood %zu terminals x %zu records in %zu-record batches: %.0f records/s;"
        " RSS idle %.1f MB, peak %.1f MB, at the end %.1f MB, a minute later %.1f MB"
        " (ceiling 64 MB: peak %s, a minute later %s)%s\n",
        label.c_str(), o.terminals, o.records, o.batch, summary.records_per_second, idle, peak,
        at_end, after_minute, peak < 64 ? "under" : "OVER", after_minute < 64 ? "under" : "OVER",
        summary.all_acked ? "" : "  FAILED: not every record acknowledged");
    std::fflush(stdout);
    ok = ok && summary.all_acked;
    std::filesystem::remove_all(data);
  }
  return ok ? 0 : 1;
}

std::string time_first(const std::string& k) {
  return store::stored_record_key(k);
}

// Schema 12 stores ATTLOG keys time first; a daemon built before keeps them as sent.
KeyForm key_form_for(int version) {
  return version >= 12 ? time_first : same_key;
}

}  // namespace

int main(int argc, char** argv) {
  auto o = parse(argc, argv);
  test::TempDir tmp;
  std::filesystem::path dir = o.dir.empty() ? tmp.path() : std::filesystem::path(o.dir);
  std::filesystem::create_directories(dir);
  if (!o.history.empty()) {
    return run_history(o, dir);
  }
  if (o.rss) {
    return run_rss(o, dir);
  }
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
