// Measured on 2026-12-07 (02:31-02:43 UTC), RelWithDebInfo, on the 2-core
// build machine shared with other work: `outage_bench --minutes 10 --events
// 1000`, exit 0, at main with the BioStar live writer (write_live) and the
// SDK's connect-failure counter. Its stdout verbatim below, one line each
// (stderr, the log's warn lines, left out). An earlier run the same day,
// before those two changes, gave the same counts. The restore -> stored
// times are mostly the reconnect backoff in force at the restore (defaults:
// doubling up to 60 s, +-25% jitter), not the backfill.
// clang-format off
//   outage: links cut for 600 s; 1000 access events per path during the cut, one every 0.60 s on each path (device clock = wall clock); reconnect settings at their defaults
//   dahua       (device rebooting for the whole cut): generated 1000 during the cut (+1 before it), stored 1001 of 1001, missing 0, duplicates 0, unidentified rows 0, in device order (RecNo): yes; offline after 0.3 s; reconnect attempts during the cut 15 (pushgate_dahua_reconnects_total); restore -> last event stored 35.0 s; CPU of this process during the cut 3.2 s (0.53% of one core)
//   biostar2    (BioStar 2 server stopped for the whole cut): generated 1000 during the cut (+1 before it), stored 1001 of 1001, missing 0, duplicates 0, unidentified rows 0, in device order (event id): yes; offline after 0.3 s; reconnect attempts during the cut 16 (pushgate_suprema_reconnects_total); restore -> last event stored 30.3 s; CPU of this process during the cut 3.2 s (0.53% of one core)
//   suprema_sdk (fakesdk_set_link(0) for the whole cut): generated 1000 during the cut (+1 before it), stored 1001 of 1001, missing 0, duplicates 0, unidentified rows 0, in device order (log id): yes; offline after 0.3 s; reconnect attempts during the cut 14 (pushgate_suprema_sdk_connect_failures_total [connects that failed]); restore -> last event stored 3.4 s; CPU of this process during the cut 3.2 s (0.53% of one core)
//   outage: every event stored exactly once, in device order
// clang-format on
//
// The outage figure of issues 16 (Dahua) and 17 (Suprema), literally: "link
// cut for 10 minutes while 1,000 events happen on the device -> after
// reconnect every event is stored exactly once, in device order". The CI
// tests do it with short cuts; this bench does it in real wall time, for the
// three device paths at once, inside ONE in-process gateway (as a mixed site
// runs it), every reconnect setting at its default:
//   dahua        a simulated Dahua controller (tests/sim) in pull mode; the cut
//                is a reboot held for the whole cut: connections refused, the
//                device unreachable, its records kept;
//   biostar2     a simulated BioStar 2 server (tests/sim) over HTTPS with its
//                certificate pinned; the cut is the server stopped for the
//                whole cut (connections refused, sessions gone, log kept);
//   suprema_sdk  a device behind the fake Suprema device SDK (tests/sim/
//                fake_bs_sdk, dlopened by the adapter); the cut is
//                fakesdk_set_link(..., 0).
// Each path first stores one live event (the link works), then the links are
// cut together; --events events per path happen spread evenly over the cut
// (device times advance with the wall clock), then the links come back
// together. Per path: events generated, stored, missing, duplicates, stored
// order (event id) against device order (RecNo / server event id / log id),
// reconnect attempts during the cut (the adapter's metric), seconds from the
// restore until the last event is stored, and the CPU time of this process
// (gateway, simulators, bench) during the cut. Exit 1 on any loss, duplicate,
// unidentified row or order break; nothing asserts a time.
//
// Usage: outage_bench [--minutes 10] [--events 1000] [--wait-s 600]
//   --wait-s: how long after the restore to wait for every event.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <exception>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "gateway/store/sqlite.hpp"
#include "gateway/store/store.hpp"
#include "tests/bench/proc_stats.hpp"
#include "tests/sim/biostar2_server.hpp"
#include "tests/sim/dahua_device.hpp"
#include "tests/sim/fake_bs_sdk/fake_bs_sdk.h"
#include "tests/support/gateway_harness.hpp"
#include "tests/support/processes.hpp"

using namespace pushgate;
using namespace pushgate::test;
namespace dsim = pushgate::sim::dahua;
namespace bsim = pushgate::sim::biostar2;
using Steady = std::chrono::steady_clock;

namespace {

struct Options {
  double minutes = 10;
  std::size_t events = 1000;  // per path
  double wait_s = 600;
};

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string k = argv[i];
    if (i + 1 >= argc) {
      std::fprintf(stderr, "outage_bench: %s needs a value\n", k.c_str());
      std::exit(2);
    }
    const std::string v = argv[++i];
    if (k == "--minutes") {
      o.minutes = std::stod(v);
    } else if (k == "--events") {
      o.events = std::stoul(v);
    } else if (k == "--wait-s") {
      o.wait_s = std::stod(v);
    } else {
      std::fprintf(stderr, "outage_bench: unknown option %s\n", k.c_str());
      std::exit(2);
    }
  }
  if (o.minutes <= 0 || o.events == 0 || o.wait_s <= 0) {
    std::fprintf(stderr, "outage_bench: --minutes, --events and --wait-s must be positive\n");
    std::exit(2);
  }
  return o;
}

std::int64_t epoch_s() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

/** One device path: its simulator, the keys that configure it, its cut. */
class Path {
 public:
  virtual ~Path() = default;
  virtual const char* name() const = 0;
  /** How the link is cut, for the report. */
  virtual const char* cut_how() const = 0;
  virtual std::vector<std::string> keys() const = 0;
  /** The terminal serial its events are stored under. */
  virtual std::string sn() const = 0;
  virtual bool online(const metrics::Registry& m) const = 0;
  /** One access event on the device now (device clock = wall clock). */
  virtual void generate() = 0;
  virtual void cut() = 0;
  virtual void restore() = 0;
  /** The device's own ids of its events, in device order. */
  virtual std::vector<std::int64_t> device_log() const = 0;
  /** Where the stored event carries the device's id (json_extract path on extra). */
  virtual const char* id_path() const = 0;
  virtual const char* id_name() const = 0;
  /** The adapter's counter of reconnect attempts, and what it counts. */
  virtual const char* reconnect_metric() const = 0;
  virtual const char* reconnect_note() const { return ""; }
};

class DahuaPath final : public Path {
 public:
  DahuaPath() : device_(config()) {}
  const char* name() const override { return "dahua"; }
  const char* cut_how() const override { return "device rebooting for the whole cut"; }
  std::vector<std::string> keys() const override {
    return {"dahua.enabled=true", "dahua.devices.door1.host=127.0.0.1",
            "dahua.devices.door1.port=" + std::to_string(device_.port()),
            "dahua.devices.door1.user=admin", "dahua.devices.door1.password=admin123"};
  }
  std::string sn() const override { return device_.serial(); }
  bool online(const metrics::Registry& m) const override {
    return m.value("pushgate_dahua_devices", {{"state", "online"}}) == 1;
  }
  void generate() override {
    dsim::AccessSpec spec;
    spec.user_id = std::to_string(1 + n_++ % 500);
    device_.generate_access(spec);  // CreateTime: the device clock now
  }
  void cut() override { device_.reboot(); }  // down until power_on()
  void restore() override { device_.power_on(); }
  std::vector<std::int64_t> device_log() const override {
    std::vector<std::int64_t> out;
    for (const auto& r : device_.records(dsim::Table::Access)) {
      out.push_back(static_cast<std::int64_t>(r.rec_no));
    }
    return out;
  }
  const char* id_path() const override { return "$.rec_no"; }
  const char* id_name() const override { return "RecNo"; }
  const char* reconnect_metric() const override { return "pushgate_dahua_reconnects_total"; }

 private:
  static dsim::DahuaDeviceConfig config() {
    dsim::DahuaDeviceConfig c;
    c.serial = "DHOUTAGE01";
    return c;
  }
  dsim::DahuaDevice device_;
  std::size_t n_ = 0;
};

class BioStarPath final : public Path {
 public:
  explicit BioStarPath(const std::filesystem::path& dir) : server_(bsim::BioStar2Config{}) {
    cert_ = dir / "biostar2.pem";
    std::ofstream(cert_) << server_.certificate_pem();
  }
  const char* name() const override { return "biostar2"; }
  const char* cut_how() const override { return "BioStar 2 server stopped for the whole cut"; }
  std::vector<std::string> keys() const override {
    return {"suprema.enabled=true",
            "suprema.servers.main.host=127.0.0.1",
            "suprema.servers.main.port=" + std::to_string(server_.port()),
            "suprema.servers.main.ca_file=" + cert_.string(),
            "suprema.servers.main.user=admin",
            "suprema.servers.main.password=" + bsim::BioStar2Config{}.password};
  }
  std::string sn() const override { return std::to_string(bsim::BioStar2Config{}.first_device_id); }
  bool online(const metrics::Registry& m) const override {
    return m.value("pushgate_suprema_servers", {{"state", "online"}}) == 1;
  }
  void generate() override {
    bsim::EventSpec e;  // granted, card; datetime: now
    e.user_id = std::to_string(1 + n_++ % 500);
    server_.inject(e);
  }
  void cut() override { server_.stop(); }  // refused until start()
  void restore() override { server_.start(); }
  std::vector<std::int64_t> device_log() const override {
    std::vector<std::int64_t> out;
    for (const auto& e : server_.events()) {
      out.push_back(static_cast<std::int64_t>(e.id));
    }
    return out;
  }
  const char* id_path() const override { return "$.event_id"; }
  const char* id_name() const override { return "event id"; }
  const char* reconnect_metric() const override { return "pushgate_suprema_reconnects_total"; }

 private:
  bsim::BioStar2Server server_;
  std::filesystem::path cert_;
  std::size_t n_ = 0;
};

class SdkPath final : public Path {
 public:
  static constexpr std::uint16_t kPort = 41311;  // only a key in the fake's state directory
  static constexpr std::uint32_t kDevice = 541000001;
  static constexpr std::uint16_t kVerifySuccessCard = 0x1006;

  explicit SdkPath(std::filesystem::path dir) : dir_(std::move(dir)) {
    std::filesystem::create_directories(dir_);
    // The SDK the adapter loads reads its state directory when its context is made.
    ::setenv("FAKE_BS_SDK_DIR", dir_.c_str(), 1);
    if (fakesdk_add_device(dir_.c_str(), kPort, kDevice) != 1) {
      throw std::runtime_error("fakesdk_add_device failed in " + dir_.string());
    }
  }
  const char* name() const override { return "suprema_sdk"; }
  const char* cut_how() const override { return "fakesdk_set_link(0) for the whole cut"; }
  std::vector<std::string> keys() const override {
    return {"suprema_sdk.enabled=true", std::string("suprema_sdk.library=") + FAKE_BS_SDK_PATH,
            "suprema_sdk.devices.gate1.host=127.0.0.1",
            "suprema_sdk.devices.gate1.port=" + std::to_string(kPort),
            "suprema_sdk.devices.gate1.device_id=" + std::to_string(kDevice)};
  }
  std::string sn() const override { return std::to_string(kDevice); }
  bool online(const metrics::Registry& m) const override {
    return m.value("pushgate_suprema_sdk_devices", {{"state", "online"}}) == 1;
  }
  void generate() override {
    // The device's wall clock (the terminal's zone is the gateway's, UTC).
    const auto user = std::to_string(1001 + n_++ % 500);
    if (fakesdk_append_events(dir_.c_str(), kDevice, 1, kVerifySuccessCard,
                              static_cast<std::uint32_t>(epoch_s()), user.c_str(), 0) == 0) {
      throw std::runtime_error("fakesdk_append_events failed");
    }
  }
  void cut() override { link(0); }
  void restore() override { link(1); }
  std::vector<std::int64_t> device_log() const override {
    std::vector<std::int64_t> out;
    const auto n = fakesdk_event_count(dir_.c_str(), kDevice);
    for (std::uint32_t id = 1; id <= n; ++id) {  // the log's ids are 1, 2, ... (fake_bs_sdk.h)
      out.push_back(id);
    }
    return out;
  }
  const char* id_path() const override { return "$.event_id"; }
  const char* id_name() const override { return "log id"; }
  const char* reconnect_metric() const override {
    return "pushgate_suprema_sdk_connect_failures_total";
  }
  const char* reconnect_note() const override { return " [connects that failed]"; }

 private:
  void link(int up) {
    if (fakesdk_set_link(dir_.c_str(), kDevice, up) != 1) {
      throw std::runtime_error("fakesdk_set_link failed");
    }
  }
  std::filesystem::path dir_;
  std::size_t n_ = 0;
};

/** The device ids of a terminal's stored access events, in storage (event id) order; -1: none. */
std::vector<std::int64_t> stored_ids(GatewayHarness& h, const Path& p) {
  const std::string sn = p.sn();
  const std::string path = p.id_path();
  return h.gateway().store().read([&](store::Connection& db) {
    std::vector<std::int64_t> out;
    boost::system::error_code ec;
    auto q = db.prepare(
        "SELECT COALESCE(CAST(json_extract(e.extra, ?) AS INTEGER), -1) FROM events e JOIN "
        "terminals t ON t.id = e.terminal_id WHERE t.sn = ? AND e.kind = 2 ORDER BY e.id",
        ec);
    if (ec) {
      throw std::runtime_error("prepare: " + db.last_error_message());
    }
    q.bind(1, std::string_view(path));
    q.bind(2, std::string_view(sn));
    while (q.step(ec)) {
      out.push_back(q.column_int(0));
    }
    if (ec) {
      throw std::runtime_error("step: " + db.last_error_message());
    }
    return out;
  });
}

std::int64_t stored_count(GatewayHarness& h, const Path& p) {
  return h.query_int(
      "SELECT COUNT(*) FROM events e JOIN terminals t ON t.id = e.terminal_id WHERE t.sn = ? AND "
      "e.kind = 2",
      {p.sn()});
}

struct Figures {
  double reconnects_at_cut = 0;
  double reconnects_at_restore = 0;
  std::optional<double> offline_after_s;  // from the cut until the gateway saw it
  std::optional<double> stored_after_s;   // from the restore until the last event is stored
};

/** The per-path line; false on loss, duplicate, unidentified row or order break. */
bool report(const Path& p, const Figures& f, std::size_t during, double cpu, double cut_s,
            const std::vector<std::int64_t>& log, const std::vector<std::int64_t>& stored) {
  const std::set<std::int64_t> on_device(log.begin(), log.end());
  std::set<std::int64_t> seen;
  std::size_t duplicates = 0;
  std::size_t unidentified = 0;  // no device id, or one the device never logged
  bool in_order = true;
  std::int64_t last = -1;
  for (auto id : stored) {
    if (id < 0 || on_device.count(id) == 0) {
      ++unidentified;
      continue;
    }
    if (!seen.insert(id).second) {
      ++duplicates;
      continue;
    }
    in_order = in_order && id > last;
    last = std::max(last, id);
  }
  // Device order is the log's order: its ids ascend (checked, not assumed).
  const bool log_ascending =
      std::is_sorted(log.begin(), log.end()) && on_device.size() == log.size();
  in_order = in_order && log_ascending;
  const std::size_t missing = on_device.size() - seen.size();
  char offline[32] = "never seen";
  if (f.offline_after_s) {
    std::snprintf(offline, sizeof offline, "after %.1f s", *f.offline_after_s);
  }
  char restored[48] = "NOT ALL STORED";
  if (f.stored_after_s) {
    std::snprintf(restored, sizeof restored, "%.1f s", *f.stored_after_s);
  }
  std::printf(
      "%-11s (%s): generated %zu during the cut (+%zu before it), stored %zu of %zu, missing %zu, "
      "duplicates %zu, unidentified rows %zu, in device order (%s): %s; offline %s; reconnect "
      "attempts during the cut %.0f (%s%s); restore -> last event stored %s; CPU of this process "
      "during the cut %.1f s (%.2f%% of one core)\n",
      p.name(), p.cut_how(), during, log.size() - during, seen.size(), log.size(), missing,
      duplicates, unidentified, p.id_name(), in_order ? "yes" : "NO", offline,
      f.reconnects_at_restore - f.reconnects_at_cut, p.reconnect_metric(), p.reconnect_note(),
      restored, cpu, 100.0 * cpu / cut_s);
  std::fflush(stdout);
  return missing == 0 && duplicates == 0 && unidentified == 0 && in_order &&
         f.stored_after_s.has_value();
}

int run(const Options& o) {
  TempDir tmp;
  std::vector<std::unique_ptr<Path>> paths;
  paths.push_back(std::make_unique<DahuaPath>());
  paths.push_back(std::make_unique<BioStarPath>(tmp.path()));
  paths.push_back(std::make_unique<SdkPath>(tmp.path() / "fake-sdk"));
  std::vector<std::string> keys = {"gateway.id=outage", "gateway.timezone=UTC"};
  for (const auto& p : paths) {
    auto more = p->keys();
    keys.insert(keys.end(), more.begin(), more.end());
  }
  GatewayHarness h(keys);  // destroyed before the simulators it talks to
  auto& m = h.gateway().metrics();

  // Online, and one live event stored on each path: the link works before the cut.
  for (const auto& p : paths) {
    if (!wait_for([&] { return p->online(m); }, std::chrono::seconds(60))) {
      std::printf("%s: not online within 60 s\n", p->name());
      return 1;
    }
    p->generate();
  }
  for (const auto& p : paths) {
    if (!wait_for([&] { return stored_count(h, *p) == 1; }, std::chrono::seconds(30))) {
      std::printf("%s: the live event before the cut was not stored within 30 s\n", p->name());
      return 1;
    }
  }

  const double cut_s = o.minutes * 60.0;
  const auto period = std::chrono::duration<double>(cut_s / static_cast<double>(o.events));
  std::printf(
      "outage: links cut for %.0f s; %zu access events per path during the cut, one every %.2f s "
      "on each path (device clock = wall clock); reconnect settings at their defaults\n",
      cut_s, o.events, period.count());
  std::fflush(stdout);

  std::vector<Figures> figures(paths.size());
  const auto cpu0 = bench::cpu_seconds(::getpid());
  const auto t_cut = Steady::now();
  for (std::size_t i = 0; i < paths.size(); ++i) {
    figures[i].reconnects_at_cut = m.value(paths[i]->reconnect_metric());
    paths[i]->cut();
  }
  const auto note_offline = [&] {
    for (std::size_t i = 0; i < paths.size(); ++i) {
      if (!figures[i].offline_after_s && !paths[i]->online(m)) {
        figures[i].offline_after_s = std::chrono::duration<double>(Steady::now() - t_cut).count();
      }
    }
  };
  // Event i of each path at (i + 1/2) periods into the cut: spread evenly.
  for (std::size_t i = 0; i < o.events; ++i) {
    const auto at = t_cut + std::chrono::duration_cast<Steady::duration>(
                                period * (static_cast<double>(i) + 0.5));
    while (Steady::now() < at) {  // wake at least once a second to see the gateway notice the cut
      std::this_thread::sleep_until(std::min(at, Steady::now() + std::chrono::seconds(1)));
      note_offline();
    }
    for (const auto& p : paths) {
      p->generate();
    }
  }
  const auto t_end =
      t_cut + std::chrono::duration_cast<Steady::duration>(std::chrono::duration<double>(cut_s));
  while (Steady::now() < t_end) {
    std::this_thread::sleep_until(std::min(t_end, Steady::now() + std::chrono::seconds(1)));
    note_offline();
  }
  note_offline();
  for (std::size_t i = 0; i < paths.size(); ++i) {
    figures[i].reconnects_at_restore = m.value(paths[i]->reconnect_metric());
  }
  const double cpu = bench::cpu_seconds(::getpid()) - cpu0;
  const auto t_restore = Steady::now();
  for (const auto& p : paths) {
    p->restore();
  }

  // Until every path holds all its events (or --wait-s passes).
  const auto expected = static_cast<std::int64_t>(o.events) + 1;
  const auto limit = t_restore + std::chrono::duration_cast<Steady::duration>(
                                     std::chrono::duration<double>(o.wait_s));
  for (;;) {
    bool all = true;
    for (std::size_t i = 0; i < paths.size(); ++i) {
      if (figures[i].stored_after_s) {
        continue;
      }
      if (stored_count(h, *paths[i]) >= expected) {
        figures[i].stored_after_s =
            std::chrono::duration<double>(Steady::now() - t_restore).count();
      } else {
        all = false;
      }
    }
    if (all || Steady::now() > limit) {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  // A late duplicate (a live copy after the backfill, say) has time to show.
  std::this_thread::sleep_for(std::chrono::seconds(3));

  bool ok = true;
  for (std::size_t i = 0; i < paths.size(); ++i) {
    const auto log = paths[i]->device_log();
    ok = report(*paths[i], figures[i], o.events, cpu, cut_s, log, stored_ids(h, *paths[i])) && ok;
  }
  std::printf("outage: %s\n",
              ok ? "every event stored exactly once, in device order"
                 : "FAILED: loss, duplicate, unidentified row or order break (see above)");
  std::fflush(stdout);
  return ok ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  const auto o = parse(argc, argv);
  try {
    return run(o);
  } catch (const std::exception& e) {
    std::printf("outage: %s\n", e.what());
    return 1;
  }
}
