#pragma once

// Power-cut test helpers: scale, fixed clock, scratch dirs, the oracle and the image checks.

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "gateway/command.hpp"
#include "gateway/command_queue.hpp"
#include "gateway/logging.hpp"
#include "gateway/metrics/metrics.hpp"
#include "gateway/store/sink_ports_impl.hpp"
#include "gateway/store/sqlite.hpp"
#include "gateway/store/store.hpp"
#include "gateway/store/write_context.hpp"
#include "tests/powercut/powercut_store_check.hpp"
#include "tests/powercut/powercut_vfs.hpp"

namespace pushgate::powercut {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr auto kDeadline = 30s;

/**
 * Workload size. Under ASan+UBSan (a Debug build) the same phases run with
 * fewer rounds: about 90 commits and 150 cuts instead of 320 and 540.
 */
struct Scale {
  int first_rounds;   ///< rounds before the clean close
  int second_rounds;  ///< rounds after the reopen
  int seeded;         ///< seeded torn images per cut
};
#ifdef PUSHGATE_POWERCUT_SMALL
constexpr Scale kScale{30, 15, 3};
#else
constexpr Scale kScale{110, 50, 3};
#endif
constexpr int kTerminals = 12;
constexpr int kAutocheckpointPages = 24;

/** $TMPDIR, else /tmp. */
inline std::string temp_root() {
  const char* tmp = std::getenv("TMPDIR");
  return tmp != nullptr && *tmp != '\0' ? tmp : "/tmp";
}

/**
 * Where images are written and checked: /dev/shm when there is one (an
 * image lives for milliseconds; tmpfs spares the disk thousands of file
 * creations), else $TMPDIR. Failed images are copied to $TMPDIR to stay.
 */
inline std::string scratch_root() {
  std::error_code ec;
  if (std::getenv("TMPDIR") == nullptr && fs::is_directory("/dev/shm", ec) &&
      ::access("/dev/shm", W_OK) == 0) {
    return "/dev/shm";
  }
  return temp_root();
}

class TempDir {
 public:
  explicit TempDir(const char* prefix, std::string root = temp_root()) {
    std::string tmpl = root + "/" + prefix + "-XXXXXX";
    if (mkdtemp(tmpl.data()) == nullptr) {
      throw std::runtime_error("mkdtemp failed");
    }
    path_ = fs::canonical(tmpl);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

inline std::optional<std::uint64_t> env_number(const char* name) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') {
    return std::nullopt;
  }
  return std::strtoull(v, nullptr, 10);
}

/** What was submitted and what was acknowledged: the oracle. */
struct Oracle {
  std::map<std::string, std::string> submitted;  ///< record_key -> raw
  std::set<std::string> acked;
  std::set<std::string> commands_submitted;  ///< client_ref
  std::set<std::string> commands_acked;
  std::int64_t cursor_acked = -1;
  std::int64_t cursor_max = -1;
};

constexpr const char* kCursorName = "powercut";

struct Failure {
  std::uint64_t cut = 0;
  std::uint64_t seed = 0;
  std::string variant;
  std::string what;
  std::string files;
  std::string image_dir;
  std::string test;  ///< Suite.Name of the test that saw it
};

// ---- image checks -------------------------------------------------------------

/** Runs `sql` and returns its rows, columns joined by '|'. */
inline std::vector<std::string> rows(sqlite3* db, const std::string& sql, std::string& error) {
  std::vector<std::string> out;
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr) != SQLITE_OK) {
    error = sql + ": " + sqlite3_errmsg(db);
    return out;
  }
  int rc = 0;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    std::string row;
    for (int i = 0; i < sqlite3_column_count(st); ++i) {
      if (i != 0) {
        row += '|';
      }
      auto* t = sqlite3_column_text(st, i);
      row += t != nullptr ? reinterpret_cast<const char*>(t) : "NULL";
    }
    out.push_back(std::move(row));
  }
  if (rc != SQLITE_DONE) {
    error = sql + ": " + sqlite3_errmsg(db);
  }
  sqlite3_finalize(st);
  return out;
}

inline bool has_table(sqlite3* db, const std::string& name, std::string& error) {
  auto r = rows(db, "SELECT count(*) FROM sqlite_master WHERE type='table' AND name='" + name + "'",
                error);
  return !r.empty() && r[0] == "1";
}

/** The content checks with the stock VFS. Returns why the image is wrong, or "". */
inline std::string check_content(const std::string& db_path, const Oracle& o) {
  sqlite3* db = nullptr;
  int rc =
      sqlite3_open_v2(db_path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, "unix");
  std::unique_ptr<sqlite3, int (*)(sqlite3*)> guard(db, sqlite3_close_v2);
  if (rc != SQLITE_OK) {
    return std::string("open with the stock VFS failed: ") + sqlite3_errstr(rc);
  }
  std::string error;
  // The check's own close checkpoints the image: no fsync needed for that.
  rows(db, "PRAGMA synchronous=OFF", error);
  auto ic = rows(db, "PRAGMA integrity_check", error);
  if (!error.empty()) {
    return error;
  }
  if (ic.size() != 1 || ic[0] != "ok") {
    return "integrity_check: " + (ic.empty() ? std::string("no answer") : ic[0]);
  }
  auto fk = rows(db, "PRAGMA foreign_key_check", error);
  if (!error.empty()) {
    return error;
  }
  if (!fk.empty()) {
    return "foreign_key_check: " + fk[0];
  }
  // Events.
  std::map<std::string, std::pair<int, std::string>> seen;  // key -> (count, raw)
  if (has_table(db, "events", error)) {
    for (const auto& r : rows(db, "SELECT record_key, raw FROM events", error)) {
      auto bar = r.find('|');
      auto& e = seen[r.substr(0, bar)];
      ++e.first;
      e.second = r.substr(bar + 1);
    }
  }
  if (!error.empty()) {
    return error;
  }
  for (const auto& [key, e] : seen) {
    auto it = o.submitted.find(key);
    if (it == o.submitted.end()) {
      return "event " + key + " was never submitted";
    }
    if (e.first != 1) {
      return "event " + key + " is present " + std::to_string(e.first) + " times";
    }
    if (e.second != it->second) {
      return "event " + key + " has another payload than the one submitted";
    }
  }
  std::size_t lost = 0;
  std::string first_lost;
  for (const auto& key : o.acked) {
    if (!seen.contains(key)) {
      if (lost++ == 0) {
        first_lost = key;
      }
    }
  }
  if (lost != 0) {
    return std::to_string(lost) + " acknowledged event(s) lost, e.g. " + first_lost;
  }
  // Commands.
  std::map<std::string, int> cmds;
  if (has_table(db, "commands", error)) {
    for (const auto& r : rows(db, "SELECT client_ref FROM commands", error)) {
      ++cmds[r];
    }
  }
  if (!error.empty()) {
    return error;
  }
  for (const auto& [ref, n] : cmds) {
    if (!o.commands_submitted.contains(ref)) {
      return "command " + ref + " was never submitted";
    }
    if (n != 1) {
      return "command " + ref + " is present " + std::to_string(n) + " times";
    }
  }
  for (const auto& ref : o.commands_acked) {
    if (!cmds.contains(ref)) {
      return "acknowledged command " + ref + " lost";
    }
  }
  // The sink cursor: at least what was acknowledged, never beyond what was asked.
  std::int64_t cursor = -1;
  if (has_table(db, "cursors", error)) {
    auto r = rows(db, std::string("SELECT position FROM cursors WHERE name='") + kCursorName + "'",
                  error);
    if (!r.empty()) {
      cursor = std::stoll(r[0]);
    }
  }
  if (!error.empty()) {
    return error;
  }
  if (cursor < o.cursor_acked) {
    return "acknowledged cursor " + std::to_string(o.cursor_acked) + " lost (image has " +
           std::to_string(cursor) + ")";
  }
  if (cursor > o.cursor_max) {
    return "cursor " + std::to_string(cursor) + " was never submitted";
  }
  return {};
}

}  // namespace pushgate::powercut
