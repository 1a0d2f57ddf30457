#pragma once

// The acknowledgement ledger of a load run: every ATTLOG line the server
// answered OK for, appended as `<sn>\t<line>\n` and fsync'ed BEFORE the
// terminal counts the record as acknowledged. A crash test that SIGKILLs the
// server compares this file with what the server stored: every ledger line
// must be stored exactly once.
//
// Threading: append() is thread-safe and never blocks on the disk. One
// dedicated writer thread drains the queue, writes every pending job with one
// write() run and one fsync() (group commit), then posts each job's completion
// to the executor it came from. A write or fsync failure is sticky: that job
// and every later one complete with the error.

#include <boost/asio/any_io_executor.hpp>
#include <boost/system/error_code.hpp>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace pushgate::sim {

class Ledger {
 public:
  using Done = std::function<void(boost::system::error_code)>;

  /// Opens (creates, appends to) `path` and starts the writer thread.
  /// Startup only: nullptr and `error` set when the file cannot be opened.
  static std::unique_ptr<Ledger> open(const std::string& path, std::string& error);

  /// Drains every queued job, then stops the thread and closes the file.
  ~Ledger();

  Ledger(const Ledger&) = delete;
  Ledger& operator=(const Ledger&) = delete;

  /// Queues `lines` of terminal `serial_number`; `done` runs on `executor`
  /// after they are on disk (fsync returned) or failed. Keeps `executor`'s
  /// context busy (tracked work) until then.
  void append(std::string serial_number, std::vector<std::string> lines,
              const boost::asio::any_io_executor& executor, Done done);

  /// Lines made durable so far.
  std::uint64_t lines_written() const;
  /// fsync() calls so far (one per group).
  std::uint64_t syncs() const;
  /// True once a write or fsync failed.
  bool failed() const;

 private:
  struct Job {
    std::string serial_number;
    std::vector<std::string> lines;
    boost::asio::any_io_executor executor;
    Done done;
  };

  explicit Ledger(int fd);
  void run();

  int fd_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Job> queue_;
  bool stopping_ = false;
  boost::system::error_code failure_;
  std::uint64_t lines_written_ = 0;
  std::uint64_t syncs_ = 0;
  std::thread thread_;
};

}  // namespace pushgate::sim
