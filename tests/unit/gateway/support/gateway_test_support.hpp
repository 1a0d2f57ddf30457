#pragma once

// Helpers shared by the core's unit tests (tests/unit/gateway/): a temporary
// directory, a fake clock, bounded polling, an io_context on its own thread,
// and a small HTTP/1.1 client over loopback whose every operation has a
// deadline, so a broken server fails a test instead of hanging it.
//
// Test support only; never linked into pushgated.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <thread>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include "gateway/clock.hpp"
#include "gateway/event.hpp"

namespace pushgate::test {

/** How long any wait in a unit test may take before the test fails. Generous: CI is shared. */
inline constexpr std::chrono::seconds kDeadline{20};

/** A directory made with mkdtemp under /tmp, removed with its contents on destruction. */
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const noexcept { return path_; }
  /** A path inside the directory. */
  std::string file(std::string_view name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

/** A Clock the test moves by hand. Thread-safe. */
class FakeClock final : public Clock {
 public:
  explicit FakeClock(std::int64_t now_ms = 1'600'000'000'000) : now_ms_(now_ms) {}
  std::chrono::system_clock::time_point now() const override {
    return std::chrono::system_clock::time_point(std::chrono::milliseconds(now_ms_.load()));
  }
  std::chrono::steady_clock::time_point monotonic() const override {
    return std::chrono::steady_clock::time_point(std::chrono::milliseconds(now_ms_.load()));
  }
  void set_ms(std::int64_t ms) noexcept { now_ms_ = ms; }
  void advance_ms(std::int64_t ms) noexcept { now_ms_ += ms; }

 private:
  std::atomic<std::int64_t> now_ms_;
};

/**
 * Polls `pred` until it holds or `deadline` passes; returns its last value.
 * The short pause between polls only saves CPU: correctness never depends on
 * how long anything takes, only on the condition becoming true.
 */
template <class Pred>
bool wait_until(Pred pred, std::chrono::milliseconds deadline = kDeadline) {
  auto until = std::chrono::steady_clock::now() + deadline;
  while (!pred()) {
    if (std::chrono::steady_clock::now() >= until) {
      return pred();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

/** An io_context run by one background thread until destruction (or stop()). */
class IoThread {
 public:
  IoThread();
  ~IoThread();
  IoThread(const IoThread&) = delete;
  IoThread& operator=(const IoThread&) = delete;

  boost::asio::io_context& ioc() noexcept { return ioc_; }
  /** Lets the pending work finish, stops the context and joins the thread. */
  void stop();

 private:
  boost::asio::io_context ioc_;
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_;
  std::thread thread_;
};

/** An event with the fields the store requires; the rest left unset. */
Event make_event(std::string sn, std::string record_key, EventKind kind = EventKind::Attendance);

/**
 * A blocking HTTP/1.1 client for tests. Every call is bounded by the
 * deadline given at construction: it runs the client's own io_context with
 * a tcp_stream timeout, and a call that times out returns
 * `boost::beast::error::timeout`.
 */
class HttpTestClient {
 public:
  using Request = boost::beast::http::request<boost::beast::http::string_body>;
  using Response = boost::beast::http::response<boost::beast::http::string_body>;

  explicit HttpTestClient(std::chrono::milliseconds deadline = kDeadline)
      : stream_(ioc_), deadline_(deadline) {}

  boost::system::error_code connect(std::uint16_t port);
  boost::system::error_code write_raw(std::string_view bytes);
  boost::system::error_code write(Request& request);
  boost::system::error_code read(Response& response);

  /** Reads any message (e.g. an interim `100 Continue` into an empty_body response). */
  template <class Message>
  boost::system::error_code read_message(Message& message) {
    return run([&](auto handler) {
      boost::beast::http::async_read(stream_, buffer_, message, std::move(handler));
    });
  }

  /** One request, one response: a convenience for GETs and small POSTs. */
  boost::system::error_code request(boost::beast::http::verb method, std::string_view target,
                                    Response& response, std::string body = {},
                                    std::string_view content_type = {});

  /**
   * True when the server closes the connection (EOF or reset) before the
   * deadline; any bytes it still sends are discarded. False while it stays open.
   */
  bool wait_closed_by_peer(std::chrono::milliseconds deadline = kDeadline);

  boost::beast::tcp_stream& stream() noexcept { return stream_; }

 private:
  // Starts `op(handler)` and runs the client's io_context until it completes.
  template <class Op>
  boost::system::error_code run(Op op) {
    boost::system::error_code result = boost::asio::error::would_block;
    stream_.expires_after(deadline_);
    op([&result](boost::system::error_code ec, std::size_t) { result = ec; });
    ioc_.restart();
    ioc_.run();
    return result;
  }

  boost::asio::io_context ioc_;
  boost::beast::tcp_stream stream_;
  boost::beast::flat_buffer buffer_;
  std::chrono::milliseconds deadline_;
};

}  // namespace pushgate::test
