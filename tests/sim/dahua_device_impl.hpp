#pragma once

// Private state of DahuaDevice, shared by dahua_device.cpp (server, state,
// event source) and dahua_push.cpp (EventHttpUpload client). Not for tests.

#include <utility>  // before asio: Boost 1.74 awaitable.hpp uses std::exchange

// GCC 12 reports the frame allocator of Boost 1.74's awaitable as a
// new/delete mismatch (awaitable_frame_base defines both operators; a false
// positive of the coroutine lowering). Silenced for the files using it.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

#include <boost/asio/awaitable.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <deque>
#include <nlohmann/json.hpp>
#include <random>
#include <set>

#include "tests/sim/dahua_device.hpp"
#include "tests/sim/ledger.hpp"

namespace pushgate::sim::dahua {

namespace net = boost::asio;
using tcp = net::ip::tcp;

/// One open eventManager stream. Device thread only.
struct Stream {
  explicit Stream(std::shared_ptr<tcp::socket> s)
      : socket(std::move(s)), wake(socket->get_executor()) {}
  std::shared_ptr<tcp::socket> socket;
  std::set<std::string> codes;             // empty: All
  std::chrono::milliseconds heartbeat{0};  // 0: none
  /// Events to write, each with the quirks in force when it happened.
  std::deque<std::pair<Record, StreamQuirks>> pending;
  net::steady_timer wake;
  bool closed = false;
};

struct DahuaDevice::Impl {
  explicit Impl(DahuaDevice& owner, const DahuaDeviceConfig& config);

  // Declared first: destroyed last, after every socket and timer below.
  net::io_context ioc;
  DahuaDevice& owner;
  DahuaDeviceConfig config;
  tcp::acceptor acceptor;
  std::uint16_t port = 0;  // the HTTP server (behind the TLS front with HTTPS)
  // HTTPS: a TLS front on the public port handing each connection, once its
  // handshake is done, to the HTTP server above (dahua_tls.cpp).
  std::unique_ptr<net::ssl::context> tls;
  tcp::acceptor tls_acceptor;
  std::uint16_t tls_port = 0;

  // Shared state, guarded by `mu`.
  mutable std::mutex mu;
  DigestServer digest;
  std::vector<Record> access;
  std::vector<Record> alarms;
  std::uint64_t next_access_rec = 1;
  std::uint64_t next_alarm_rec = 1;
  std::chrono::seconds clock_offset{0};
  StreamQuirks stream_quirks;
  FinderQuirks finder_quirks;
  bool old_firmware = false;
  std::vector<std::string> doors;
  std::map<std::string, nlohmann::json> users;
  std::map<std::string, nlohmann::json> cards;
  std::map<std::uint64_t, std::vector<nlohmann::json>> finds;  // token -> rows
  std::uint64_t next_token = 1;
  std::map<std::uint64_t, std::map<std::string, std::string>> legacy_cards;
  std::uint64_t next_legacy_rec = 1;
  std::map<std::string, std::uint64_t> requests;
  std::deque<Record> push_queue;
  PushStats push;

  // Device thread only.
  /// The stream quirks as the device thread sees them: updated by a handler
  /// posted from set_stream_quirks(), so a change orders after the events
  /// generated before it.
  StreamQuirks io_quirks;
  std::vector<std::weak_ptr<tcp::socket>> connections;
  std::set<std::shared_ptr<Stream>> streams;
  net::steady_timer generator_timer;
  net::steady_timer push_wake;
  net::steady_timer reboot_timer;
  std::mt19937_64 generator_rng;
  std::atomic<std::size_t> generator_remaining{0};
  std::uint64_t generator_alarm_every = 0;
  std::chrono::nanoseconds generator_period{0};
  std::uint64_t generator_epoch = 0;  // bumps on stop: old loops end
  std::unique_ptr<Ledger> ledger;
  bool stopping = false;               // the destructor began: loops end
  tcp::socket* push_socket = nullptr;  // the push exchange in flight, if any

  std::optional<net::executor_work_guard<net::io_context::executor_type>> work;
  std::thread thread;

  // dahua_device.cpp
  std::int64_t now_locked() const;   // device clock; `mu` held
  Record add_record(Record record);  // `mu` not held; stores, ledgers, queues, streams
  void start_accepting();
  void do_reboot(std::optional<std::chrono::milliseconds> down_for);
  void do_power_on();
  net::awaitable<void> accept_loop();
  net::awaitable<void> session(std::shared_ptr<tcp::socket> socket);
  net::awaitable<void> run_stream(std::shared_ptr<Stream> stream);
  net::awaitable<void> run_generator(std::uint64_t epoch);

  // dahua_tls.cpp
  void start_tls();  // throws on unreadable certificate / key or bind failure (startup only)
  void start_tls_accepting();
  net::awaitable<void> tls_accept_loop();
  net::awaitable<void> tls_session(tcp::socket socket);
  void deliver(const Record& record, const StreamQuirks& quirks);  // device thread

  // dahua_push.cpp
  net::awaitable<void> run_push();
};

}  // namespace pushgate::sim::dahua
