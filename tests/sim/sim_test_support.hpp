#pragma once

// Simulator test helpers: DemoPushServer (answers like ZKTeco's PushDemo), IoThread, TempDir.

#include "tests/sim/attendance_terminal.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include "tests/sim/attendance_protocol.hpp"
#include "tests/sim/http_client.hpp"
#include "tests/sim/ledger.hpp"
#include "tests/sim/load_runner.hpp"
#include "tests/sim/push_protocol.hpp"
#include "tests/sim/record_generator.hpp"
#include "tests/sim/sim_cli.hpp"

namespace pushgate::sim::test {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;
using namespace std::chrono_literals;

// ---------------------------------------------------------------------------
// DemoPushServer: answers like the PushDemo server in the captures.

/// One scripted answer.
struct Answer {
  unsigned status = 200;
  std::string body = "OK";
};

/// What the server saw of one request.
struct SeenRequest {
  std::string method;
  std::string target;
  std::string path;
  std::map<std::string, std::string> query;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
};

class DemoPushServer {
 public:
  explicit DemoPushServer(std::uint16_t port = 0) : acceptor_(ioc_) {
    listen(port);
    thread_ = std::thread([this] { ioc_.run(); });
  }

  ~DemoPushServer() {
    net::post(ioc_, [this] { close_all(); });
    work_.reset();
    ioc_.stop();
    thread_.join();
  }

  std::uint16_t port() const { return port_; }

  /// Queues `command` for the next getrequest of `sn`; returns its id.
  std::string queue_command(const std::string& sn, const std::string& command) {
    std::lock_guard lock(mutex_);
    const std::string id = std::to_string(next_command_id_++);
    commands_[sn].push_back("C:" + id + ":" + command);
    return id;
  }

  void script_handshake(std::deque<Answer> answers) { set_script(handshake_script_, answers); }
  void script_attlog(std::deque<Answer> answers) { set_script(attlog_script_, answers); }
  void script_devicecmd(std::deque<Answer> answers) { set_script(devicecmd_script_, answers); }
  void set_date(std::chrono::sys_seconds date) {
    std::lock_guard lock(mutex_);
    date_ = date;
  }
  void set_time_zone(std::string tz) {
    std::lock_guard lock(mutex_);
    time_zone_ = std::move(tz);
  }

  std::vector<SeenRequest> requests() const {
    std::lock_guard lock(mutex_);
    return requests_;
  }
  std::vector<SeenRequest> requests_to(std::string_view path, std::string_view table = {}) const {
    std::vector<SeenRequest> out;
    for (auto& r : requests()) {
      if (r.path == path && (table.empty() || r.query["table"] == table)) {
        out.push_back(r);
      }
    }
    return out;
  }
  /// Unique ATTLOG lines stored per SN (a re-upload is not stored twice).
  std::map<std::string, std::set<std::string>> stored() const {
    std::lock_guard lock(mutex_);
    return stored_;
  }
  std::size_t stored_count() const {
    std::lock_guard lock(mutex_);
    std::size_t n = 0;
    for (const auto& [sn, lines] : stored_) {
      n += lines.size();
    }
    return n;
  }
  std::uint64_t duplicates() const {
    std::lock_guard lock(mutex_);
    return duplicates_;
  }
  std::uint64_t quarantined() const {
    std::lock_guard lock(mutex_);
    return quarantined_;
  }
  std::uint64_t broken_requests() const {
    std::lock_guard lock(mutex_);
    return broken_requests_;
  }
  std::vector<std::string> devicecmd_lines() const {
    std::lock_guard lock(mutex_);
    return devicecmd_lines_;
  }

  bool wait_for(const std::function<bool()>& pred, std::chrono::milliseconds timeout) const {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      if (pred()) {
        return true;
      }
      std::this_thread::sleep_for(5ms);
    }
    return pred();
  }

  /// Like a SIGKILL of the server: the listener and every open connection go
  /// away at once. What was stored stays stored.
  void kill() {
    std::promise<void> done;
    net::post(ioc_, [this, &done] {
      close_all();
      done.set_value();
    });
    done.get_future().wait();
  }

  /// Listens again on the same port.
  void restart() {
    std::promise<void> done;
    net::post(ioc_, [this, &done] {
      listen(port_);
      done.set_value();
    });
    done.get_future().wait();
  }

 private:
  class Session : public std::enable_shared_from_this<Session> {
   public:
    Session(tcp::socket socket, DemoPushServer& server)
        : stream_(std::move(socket)), server_(server) {}

    void run() {
      parser_.body_limit(64 * 1024 * 1024);
      stream_.expires_after(10s);
      http::async_read(stream_, buffer_, parser_,
                       beast::bind_front_handler(&Session::on_read, shared_from_this()));
    }

    void close() {
      beast::error_code ignored;
      stream_.socket().close(ignored);
    }

   private:
    void on_read(beast::error_code ec, std::size_t) {
      if (ec) {
        server_.note_broken();
        return;
      }
      res_ = server_.handle(parser_.get());
      http::async_write(stream_, res_,
                        beast::bind_front_handler(&Session::on_write, shared_from_this()));
    }

    void on_write(beast::error_code, std::size_t) {
      beast::error_code ignored;
      stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    }

    beast::tcp_stream stream_;
    DemoPushServer& server_;
    beast::flat_buffer buffer_;
    http::request_parser<http::string_body> parser_;
    http::response<http::string_body> res_;
  };

  void set_script(std::deque<Answer>& script, std::deque<Answer>& answers) {
    std::lock_guard lock(mutex_);
    script = std::move(answers);
  }

  void listen(std::uint16_t port) {
    const tcp::endpoint ep(net::ip::make_address("127.0.0.1"), port);
    acceptor_.open(ep.protocol());
    acceptor_.set_option(net::socket_base::reuse_address(true));
    acceptor_.bind(ep);
    acceptor_.listen();
    port_ = acceptor_.local_endpoint().port();
    do_accept();
  }

  void do_accept() {
    acceptor_.async_accept(net::make_strand(ioc_), [this](beast::error_code ec, tcp::socket s) {
      if (ec) {
        return;  // closed by kill()
      }
      auto session = std::make_shared<Session>(std::move(s), *this);
      sessions_.push_back(session);
      session->run();
      do_accept();
    });
  }

  void close_all() {
    beast::error_code ignored;
    acceptor_.close(ignored);
    for (auto& weak : sessions_) {
      if (auto s = weak.lock()) {
        s->close();
      }
    }
    sessions_.clear();
  }

  void note_broken() {
    std::lock_guard lock(mutex_);
    ++broken_requests_;
  }

  static std::optional<Answer> pop(std::deque<Answer>& script) {
    if (script.empty()) {
      return std::nullopt;
    }
    Answer a = script.front();
    script.pop_front();
    return a;
  }

  http::response<http::string_body> handle(const http::request<http::string_body>& req) {
    SeenRequest seen;
    seen.method = std::string(req.method_string());
    seen.target = std::string(req.target());
    const auto q = seen.target.find('?');
    seen.path = seen.target.substr(0, q);
    if (q != std::string::npos) {
      std::string_view rest = std::string_view(seen.target).substr(q + 1);
      while (!rest.empty()) {
        const auto amp = rest.find('&');
        const auto kv = rest.substr(0, amp);
        const auto eq = kv.find('=');
        seen.query[std::string(kv.substr(0, eq))] =
            eq == std::string_view::npos ? "" : std::string(kv.substr(eq + 1));
        if (amp == std::string_view::npos) {
          break;
        }
        rest.remove_prefix(amp + 1);
      }
    }
    for (const auto& field : req) {
      std::string name(field.name_string());
      for (auto& c : name) {
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      }
      seen.headers[name] = std::string(field.value());
    }
    seen.body = req.body();
    const std::string sn = seen.query["SN"];

    std::lock_guard lock(mutex_);
    requests_.push_back(seen);
    Answer answer;
    if (seen.path == "/iclock/cdata" && seen.query.count("options") != 0) {
      answer = pop(handshake_script_).value_or(Answer{200, handshake_body(sn)});
    } else if (seen.path == "/iclock/cdata" && seen.query["table"] == "ATTLOG") {
      answer = pop(attlog_script_).value_or(Answer{});
      // Store only what is answered OK, as a server that commits first would.
      if (answer.status == 200 && answer.body.rfind("OK", 0) == 0 &&
          seen.query.count("CmdId") == 0) {
        for (const auto line : split_lines(seen.body)) {
          const auto tab = line.find('\t');
          if (tab == std::string_view::npos || !parse_local_time(line.substr(tab + 1, 19))) {
            ++quarantined_;
            continue;
          }
          if (!stored_[sn].insert(std::string(line)).second) {
            ++duplicates_;
          }
        }
      }
    } else if (seen.path == "/iclock/cdata") {
      answer = Answer{};
    } else if (seen.path == "/iclock/getrequest") {
      auto& queue = commands_[sn];
      if (queue.empty()) {
        answer = Answer{200, "OK\n\n"};  // the demo answered "OK" plus blank line
      } else {
        answer.body.clear();
        for (const auto& c : queue) {
          answer.body += c + "\n";
        }
        queue.clear();
      }
    } else if (seen.path == "/iclock/devicecmd") {
      answer = pop(devicecmd_script_).value_or(Answer{});
      if (answer.status == 200 && answer.body.rfind("OK", 0) == 0) {
        for (const auto line : split_lines(seen.body)) {
          devicecmd_lines_.emplace_back(line);
        }
      }
    } else {
      answer = Answer{404, "Not Found"};
    }

    http::response<http::string_body> res{static_cast<http::status>(answer.status), 11};
    res.set(http::field::content_type, "text/plain");
    res.set(http::field::accept_ranges, "bytes");
    res.set(http::field::date,
            format_http_date(date_.value_or(
                std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now()))));
    res.body() = answer.body;
    res.keep_alive(false);
    res.prepare_payload();
    return res;
  }

  std::string handshake_body(const std::string& sn) const {
    // The demo's answer from Release_2020-06-23_ServerLog13.txt.
    return "GET OPTION FROM:" + sn +
           "\nStamp=0\nOpStamp=0\nPhotoStamp=0\nTransFlag=TransData "
           "AttLog\tOpLog\tAttPhoto\tEnrollUser\tChgUser\tEnrollFP\tChgFP\tFPImag\tFACE\tUserPic\t"
           "WORKCODE\tBioPhoto\nErrorDelay=120\nDelay=10\nTimeZone=" +
           time_zone_ +
           "\nTransTimes=\nTransInterval=30\nSyncTime=0\nRealtime=1\nServerVer=2.2.14 "
           "2020-06-23\nPushProtVer=2.4.1\nPushOptionsFlag=1\nATTLOGStamp=0\nOPERLOGStamp=0\n"
           "ATTPHOTOStamp=0\nServerName=Logtime Server\nMultiBioDataSupport=\n";
  }

  net::io_context ioc_;
  std::optional<net::executor_work_guard<net::io_context::executor_type>> work_{
      ioc_.get_executor()};
  tcp::acceptor acceptor_;
  std::uint16_t port_ = 0;
  std::vector<std::weak_ptr<Session>> sessions_;
  std::thread thread_;

  mutable std::mutex mutex_;
  std::map<std::string, std::vector<std::string>> commands_;
  int next_command_id_ = 1626;
  std::deque<Answer> handshake_script_;
  std::deque<Answer> attlog_script_;
  std::deque<Answer> devicecmd_script_;
  std::optional<std::chrono::sys_seconds> date_;
  std::string time_zone_ = "480";
  std::vector<SeenRequest> requests_;
  std::map<std::string, std::set<std::string>> stored_;
  std::uint64_t duplicates_ = 0;
  std::uint64_t quarantined_ = 0;
  std::uint64_t broken_requests_ = 0;
  std::vector<std::string> devicecmd_lines_;
};

/// Runs an io_context on a background thread for the terminals of one test.
class IoThread {
 public:
  IoThread() : thread_([this] { ioc_.run(); }) {}
  // Stops even when a failed ASSERT left terminals running; pending handlers
  // (and the terminals they hold) are destroyed with the io_context.
  ~IoThread() {
    work_.reset();
    ioc_.stop();
    thread_.join();
  }
  net::io_context& ioc() { return ioc_; }

 private:
  net::io_context ioc_;
  std::optional<net::executor_work_guard<net::io_context::executor_type>> work_{
      ioc_.get_executor()};
  std::thread thread_;
};

inline AttendanceTerminalConfig fast_config(const DemoPushServer& server,
                                            std::string sn = "CKJF202560310") {
  AttendanceTerminalConfig c;
  c.serial_number = std::move(sn);
  c.http.port = server.port();
  c.http.timeout = 5s;
  c.poll_interval = 30ms;
  c.error_delay = 50ms;
  c.default_error_delay = 50ms;
  return c;
}

inline AttendanceRecord record(std::string pin, const char* time, int verify = 15) {
  AttendanceRecord r;
  r.pin = std::move(pin);
  r.time = *parse_local_time(time);
  r.verify = verify;
  return r;
}

/// A scratch directory for one test, removed with everything in it.
class TempDir {
 public:
  TempDir() {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    path_ = std::filesystem::temp_directory_path() /
            ("pushgate-sim-" + std::string(info->name()) + "-" + std::to_string(::getpid()));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  std::filesystem::path file(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

inline std::vector<std::string> read_lines(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) {
    lines.push_back(line);
  }
  return lines;
}

}  // namespace pushgate::sim::test
