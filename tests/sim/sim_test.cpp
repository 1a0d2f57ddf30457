// Tests of the terminal simulator: its pure pieces (formats byte-exact against
// the zk-pushdemo captures, parsers, command line), and whole terminals
// against DemoPushServer, a small Beast server written here that answers like
// ZKTeco's PushDemo in the captures. Neither side uses pushgate's server code.

#include "tests/sim/attendance_terminal.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <spawn.h>
#include <sys/wait.h>
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

namespace pushgate::sim {
namespace {

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

AttendanceTerminalConfig fast_config(const DemoPushServer& server,
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

AttendanceRecord record(std::string pin, const char* time, int verify = 15) {
  AttendanceRecord r;
  r.pin = std::move(pin);
  r.time = *parse_local_time(time);
  r.verify = verify;
  return r;
}

// ---------------------------------------------------------------------------
// Pure pieces: push_protocol

TEST(PushProtocolTest, FormatsAndParsesRecordTime) {
  const auto t = parse_local_time("2020-09-22 15:28:54");
  ASSERT_TRUE(t);
  EXPECT_EQ(format_local_time(*t), "2020-09-22 15:28:54");
  EXPECT_EQ(parse_local_time("2020-09-22T15:28:54"), t);
}

TEST(PushProtocolTest, RejectsImpossibleRecordTimes) {
  EXPECT_FALSE(parse_local_time("2024-13-45 25:61:61"));
  EXPECT_FALSE(parse_local_time("2024-02-30 10:00:00"));
  EXPECT_FALSE(parse_local_time("2020-09-22 15:28"));
  EXPECT_FALSE(parse_local_time("2020-09-22T00:00:00 EndTime=2020-09-23T00:00:00"));
}

TEST(PushProtocolTest, ParsesAndFormatsHttpDate) {
  const auto d = parse_http_date("Tue, 22 Sep 2020 20:24:13 GMT");
  ASSERT_TRUE(d);
  EXPECT_EQ(format_http_date(*d), "Tue, 22 Sep 2020 20:24:13 GMT");
  EXPECT_FALSE(parse_http_date("Tue, 22 Foo 2020 20:24:13 GMT"));
  EXPECT_FALSE(parse_http_date(""));
}

TEST(PushProtocolTest, EncodesQueryValueLikeTheTerminals) {
  EXPECT_EQ(encode_query_value("ZAM170-NF-Ver1.3.5,3,2,6,192.168.1.201,10,58,12,1,11110"),
            "ZAM170-NF-Ver1.3.5,3,2,6,192.168.1.201,10,58,12,1,11110");
  EXPECT_EQ(encode_query_value("Ver 2.0.12&x"), "Ver%202.0.12%26x");
}

TEST(PushProtocolTest, OnlyStatus200WithOkBodyIsAnAcknowledgement) {
  EXPECT_TRUE(is_ok_answer(200, "OK"));
  EXPECT_TRUE(is_ok_answer(200, "OK: 9"));
  EXPECT_FALSE(is_ok_answer(200, "ERROR"));
  EXPECT_FALSE(is_ok_answer(200, " OK"));
  EXPECT_FALSE(is_ok_answer(503, "OK"));
  EXPECT_FALSE(is_ok_answer(200, ""));
}

TEST(PushProtocolTest, ParsesCapturedCommandAnswer) {
  const auto list = parse_command_list(
      "C:1630:DATA QUERY ATTLOG StartTime=2020-09-22T00:00:00 EndTime=2020-09-23T00:00:00\r\n\r\n");
  ASSERT_EQ(list.commands.size(), 1u);
  EXPECT_EQ(list.commands[0].id, "1630");
  EXPECT_EQ(list.commands[0].text,
            "DATA QUERY ATTLOG StartTime=2020-09-22T00:00:00 EndTime=2020-09-23T00:00:00");
  EXPECT_TRUE(list.problems.empty());
}

TEST(PushProtocolTest, ParsesSeveralCommandsAndKeepsGarbageAsProblems) {
  const auto list = parse_command_list(
      "C:1:INFO\nC: 2: CHECK\nhello\nC:3\nC:4:DATA UPDATE USERINFO PIN=1\tName=A\n");
  ASSERT_EQ(list.commands.size(), 3u);
  EXPECT_EQ(list.commands[1].id, "2");
  EXPECT_EQ(list.commands[1].text, "CHECK");
  EXPECT_EQ(list.commands[2].text, "DATA UPDATE USERINFO PIN=1\tName=A");
  ASSERT_EQ(list.problems.size(), 2u);
  EXPECT_EQ(list.problems[0].line, 3u);
  EXPECT_EQ(list.problems[0].raw, "hello");
}

TEST(PushProtocolTest, PlainOkAnswerHasNoCommands) {
  const auto list = parse_command_list("OK\n\n");
  EXPECT_TRUE(list.commands.empty());
  EXPECT_TRUE(list.problems.empty());
}

TEST(PushProtocolTest, SplitsFieldsOnTabOnlyLikeTheFirmware) {
  // C:1638 from the captures: a space after PIN=100 made the real terminal
  // store a second, strange user.
  const Fields f = parse_tab_fields("PIN=100 Name=Jorge Leon\tPri=0\tPasswd=1234\tCard=1234");
  ASSERT_EQ(f.size(), 4u);
  EXPECT_EQ(find_field(f, "PIN"), "100 Name=Jorge Leon");
  EXPECT_EQ(find_field(f, "pin"), "100 Name=Jorge Leon");
  EXPECT_EQ(find_field(f, "Card"), "1234");
  EXPECT_FALSE(find_field(f, "Name"));
}

TEST(PushProtocolTest, FormatsCommandResultAsCaptured) {
  EXPECT_EQ(format_command_result("1630", 0, "DATA"), "ID=1630&Return=0&CMD=DATA");
  EXPECT_EQ(format_command_result("1666", -1004, "DATA"), "ID=1666&Return=-1004&CMD=DATA");
}

// ---------------------------------------------------------------------------
// Pure pieces: attendance_protocol

constexpr std::string_view kCapturedHandshakeAnswer =
    "GET OPTION FROM:CKJF201960996\nStamp=0\nOpStamp=0\nPhotoStamp=0\n"
    "TransFlag=TransData AttLog\tOpLog\tAttPhoto\tEnrollUser\tChgUser\tEnrollFP\tChgFP\tFPImag\t"
    "FACE\tUserPic\tWORKCODE\tBioPhoto\nErrorDelay=120\nDelay=10\nTimeZone=480\nTransTimes=\n"
    "TransInterval=30\nSyncTime=0\nRealtime=1\nServerVer=2.2.14 2020-06-23\nPushProtVer=2.4.1\n"
    "PushOptionsFlag=1\nATTLOGStamp=0\nOPERLOGStamp=0\nATTPHOTOStamp=0\nServerName=Logtime "
    "Server\nMultiBioDataSupport=\n";

TEST(ServerOptionsTest, ParsesCapturedHandshakeAnswer) {
  const auto parsed = parse_server_options(kCapturedHandshakeAnswer);
  ASSERT_TRUE(parsed.ok) << parsed.error;
  const ServerOptions& o = parsed.options;
  EXPECT_EQ(o.serial_number, "CKJF201960996");
  EXPECT_EQ(o.error_delay, 120s);
  EXPECT_EQ(o.delay, 10s);
  EXPECT_EQ(o.time_zone, std::chrono::minutes{480});
  EXPECT_EQ(o.trans_interval, std::chrono::minutes{30});
  EXPECT_TRUE(o.trans_times.empty());
  EXPECT_TRUE(o.realtime);
  EXPECT_TRUE(o.push_options_flag);
  EXPECT_EQ(o.push_prot_ver, "2.4.1");
  EXPECT_EQ(o.values.at("ServerName"), "Logtime Server");
  EXPECT_EQ(o.values.at("Stamp"), "0");
  EXPECT_TRUE(parsed.problems.empty());
}

TEST(ServerOptionsTest, AcceptsSpecSpacingAndReportsBadValues) {
  const auto parsed = parse_server_options(
      "GET OPTION FROM: "
      "0316144680030\r\nATTLOGStamp=None\r\nErrorDelay=abc\r\nDelay=5\r\nnoise\r\n");
  ASSERT_TRUE(parsed.ok);
  EXPECT_EQ(parsed.options.serial_number, "0316144680030");
  EXPECT_EQ(parsed.options.delay, 5s);
  EXPECT_FALSE(parsed.options.error_delay);
  EXPECT_EQ(parsed.problems.size(), 2u);
}

TEST(ServerOptionsTest, RefusesAnswerWithoutGetOptionHeader) {
  EXPECT_FALSE(parse_server_options("Device Unauthorized").ok);
  EXPECT_FALSE(parse_server_options("").ok);
  EXPECT_FALSE(parse_server_options("OK").ok);
}

TEST(ServerOptionsTest, NormalisesTimeZoneToMinutes) {
  EXPECT_EQ(parse_time_zone("8"), std::chrono::minutes{480});
  EXPECT_EQ(parse_time_zone("-5"), std::chrono::minutes{-300});
  EXPECT_EQ(parse_time_zone("330"), std::chrono::minutes{330});
  EXPECT_EQ(parse_time_zone("-300"), std::chrono::minutes{-300});
  EXPECT_FALSE(parse_time_zone("30"));
  EXPECT_FALSE(parse_time_zone("x"));
}

TEST(ServerOptionsTest, ParsesTransTimes) {
  const auto times = parse_trans_times("14:05;00:00;bad;25:00");
  ASSERT_EQ(times.size(), 2u);
  EXPECT_EQ(times[0], std::chrono::minutes{0});
  EXPECT_EQ(times[1], std::chrono::minutes{14 * 60 + 5});
}

TEST(AttlogFormatTest, MatchesCapturedSpeedFaceLine) {
  AttendanceRecord r = record("200", "2020-09-22 11:10:49", 1);
  r.mask = 1;
  r.temperature_tenths = 363;
  r.index = 2;
  EXPECT_EQ(format_attlog_line(r, kSpeedFaceAttlogFields),
            "200\t2020-09-22 11:10:49\t0\t1\t\t0\t0\t1\t36.3\t2");
}

TEST(AttlogFormatTest, KeepsTheConfiguredNumberOfFields) {
  const AttendanceRecord r = record("1452", "2015-07-30 15:16:28", 1);
  EXPECT_EQ(format_attlog_line(r, kSpecAttlogFields), "1452\t2015-07-30 15:16:28\t0\t1\t\t0\t0");
  EXPECT_EQ(format_attlog_line(r, 2), "1452\t2015-07-30 15:16:28");
  EXPECT_EQ(format_attlog_line(r, 99), format_attlog_line(r, kSpeedFaceAttlogFields));
}

TEST(RecordFormatTest, OplogUserAndBiodataLinesMatchCaptures) {
  OperationRecord op;
  op.op_type = 5;
  op.time = *parse_local_time("2020-06-23 13:20:44");
  op.value1 = "DHCP";
  EXPECT_EQ(format_oplog_line(op), "OPLOG 5\t0\t2020-06-23 13:20:44\tDHCP\t0\t0\t0");

  UserInfo u;
  u.pin = "200";
  u.name = "Jose Luis Rivera";
  EXPECT_EQ(format_user_line(u),
            "USER PIN=200\tName=Jose Luis Rivera\tPri=0\tPasswd=\tCard=\tGrp=1\t"
            "TZ=0000000100000000\tVerify=-1\tViceCard=\tStartDatetime=0\tEndDatetime=0");

  BioTemplate t;
  t.pin = "100";
  t.type = 2;
  t.no = 3;
  t.tmp = "WktG";
  EXPECT_EQ(format_biodata_line(t),
            "BIODATA Pin=100\tNo=3\tIndex=0\tValid=1\tDuress=0\tType=2\tMajorVer=0\tMinorVer=\t"
            "Format=ZK\tTmp=WktG");
  t.type = 1;
  EXPECT_EQ(format_fp_line(t), "FP PIN=100\tFID=3\tSize=4\tValid=1\tTMP=WktG");
}

DeviceProfile captured_profile() {
  DeviceProfile p;
  p.language = 101;
  return p;
}

TEST(DeviceReportTest, HandshakeTargetMatchesCapturedFirmware135) {
  EXPECT_EQ(handshake_target(captured_profile(), "CKJF202560310"),
            "/iclock/cdata?SN=CKJF202560310&options=all&language=101&pushver=2.4.1&DeviceType=att"
            "&PushOptionsFlag=1");
}

TEST(DeviceReportTest, OptionsLineMatchesCapture) {
  DeviceCounts c;
  c.attlogs = 20;
  c.users = 3;
  c.fingerprints = 2;
  c.faces = 2;
  EXPECT_EQ(
      format_options_line(captured_profile(), c),
      "~DeviceName=SpeedFace-V5L[TD],MAC=00:17:61:12:fa:f0,TransactionCount=20,~MaxAttLogCount=20,"
      "UserCount=3,~MaxUserCount=100,PhotoFunOn=1,~MaxUserPhotoCount=2500,FingerFunOn=1,"
      "FPVersion=10,~MaxFingerCount=60,FPCount=2,FaceFunOn=1,FaceVersion=58,~MaxFaceCount=6000,"
      "FaceCount=2,FvFunOn=0,FvVersion=3,~MaxFvCount=10,FvCount=0,PvFunOn=1,PvVersion=12,"
      "~MaxPvCount=3000,PvCount=0,Language=101,IPAddress=192.168.1.201,~Platform=ZAM170_TFT,"
      "~OEMVendor=ZKTeco Co., Ltd.,FWVersion=ZAM170-NF-Ver1.3.5,PushVersion=Ver 2.0.32S-20200513,"
      "RegDeviceType=,VisilightFun=1,MultiBioDataSupport=0:1:0:0:0:0:0:0:1:1,"
      "MultiBioPhotoSupport=0:0:0:0:0:0:0:0:0:1,IRTempDetectionFunOn=1,MaskDetectionFunOn=1,"
      "UserPicURLFunOn=,MultiBioVersion=0:10.0:0:0:0:0:0:0:12.0:58.10,"
      "MaxMultiBioDataCount=0:6000:0:0:0:0:0:0:3000:6000,MaxMultiBioPhotoCount=0:0:0:0:0:0:0:0:0:"
      "6000,MultiBioDataCount=0:2:0:0:0:0:0:0:0:2,MultiBioPhotoCount=0:0:0:0:0:0:0:0:0:0");
}

TEST(DeviceReportTest, InfoValueMatchesCapture) {
  DeviceCounts c;
  c.users = 3;
  c.fingerprints = 2;
  c.attlogs = 6;
  c.faces = 1;
  EXPECT_EQ(format_info_value(captured_profile(), c),
            "ZAM170-NF-Ver1.3.5,3,2,6,192.168.1.201,10,58,12,1,11110");
}

// The body of the captured devicecmd POST answering C:1626:INFO
// (Debug_2020-09-22_ServerLog15.txt, Content-Length 1337).
constexpr std::string_view kCapturedInfoReply =
    "ID=1626&Return=0&CMD=INFO\n"
    "~DeviceName=SpeedFace-V5L[TD]\n"
    "MAC=00:17:61:12:fa:f0\n"
    "TransactionCount=6\n"
    "~MaxAttLogCount=20\n"
    "UserCount=3\n"
    "~MaxUserCount=100\n"
    "PhotoFunOn=1\n"
    "~MaxUserPhotoCount=2500\n"
    "FingerFunOn=1\n"
    "~AlgVer=10\n"
    "FPVersion=10\n"
    "~MaxFingerCount=60\n"
    "FPCount=2\n"
    "FaceFunOn=1\n"
    "FaceVersion=58\n"
    "~MaxFaceCount=6000\n"
    "FaceCount=1\n"
    "FvFunOn=0\n"
    "FvVersion=3\n"
    "~MaxFvCount=10\n"
    "FvCount=0\n"
    "PvFunOn=1\n"
    "PvVersion=12\n"
    "~MaxPvCount=3000\n"
    "PvCount=0\n"
    "MainTime=1970-01-01 00:00:00\n"
    "FlashSize=5545568\n"
    "FreeFlashSize=5229512\n"
    "Language=101\n"
    "VOLUME=10\n"
    "DtFmt=9\n"
    "IPAddress=192.168.1.201\n"
    "IsTFT=1\n"
    "~Platform=ZAM170_TFT\n"
    "Brightness=0\n"
    "BackupDev=0\n"
    "~OEMVendor=ZKTeco Co., Ltd.\n"
    "FWVersion=ZAM170-NF-Ver1.3.5\n"
    "PushVersion=Ver 2.0.32S-20200513\n"
    "CardProtFormat=1\n"
    "~ZKFPVersion=10\n"
    "~SerialNumber=CKJF202560310\n"
    "IsSupportNFC=0\n"
    "AccSupportFunList="
    "0010010010101000000000000000000000100011101000000000000000000000000000000000000000000000000000"
    "00\n"
    "~DSTF=1\n"
    "Reader1IOState=0\n"
    "MultiCardInterTimeFunOn=1\n"
    "MachineTZFunOn=1\n"
    "MaxMCUCardBits=\n"
    "authKey=\n"
    "BioPhotoFun=1\n"
    "BioDataFun=\n"
    "VisilightFun=1\n"
    "~MaxBioPhotoCount=6000\n"
    "RegDeviceType=\n"
    "AutoServerFunOn=1\n"
    "MultiBioDataSupport=0:1:0:0:0:0:0:0:1:1\n"
    "MultiBioPhotoSupport=0:0:0:0:0:0:0:0:0:1\n"
    "MultiBioVersion=0:10.0:0:0:0:0:0:0:12.0:58.10\n"
    "MaxMultiBioPhotoCount=0:0:0:0:0:0:0:0:0:6000\n"
    "MaxMultiBioDataCount=0:6000:0:0:0:0:0:0:3000:6000\n"
    "IRTempDetectionFunOn=1\n"
    "MaskDetectionFunOn=1\n"
    "UserPicURLFunOn=\n";

TEST(DeviceReportTest, InfoReplyMatchesCapture) {
  DeviceCounts c;
  c.users = 3;
  c.fingerprints = 2;
  c.attlogs = 6;
  c.faces = 1;
  const std::string body =
      "ID=1626&Return=0&CMD=INFO\n" + format_info_reply(captured_profile(), c, "CKJF202560310", {});
  EXPECT_EQ(body, kCapturedInfoReply);
  EXPECT_EQ(body.size(), 1337u);
}

TEST(CommandParseTest, MapsVerbsToReplyCommands) {
  const auto p = parse_attendance_command("DATA UPDATE USERINFO PIN=1\tName=A");
  EXPECT_EQ(p.verb, CommandVerb::DataUpdate);
  EXPECT_EQ(p.table, "USERINFO");
  EXPECT_EQ(p.argument, "PIN=1\tName=A");
  EXPECT_EQ(p.reply_cmd, "DATA");

  EXPECT_EQ(parse_attendance_command("DATA DELETE USERINFO PIN=1").verb, CommandVerb::DataDelete);
  EXPECT_EQ(parse_attendance_command("DATA QUERY ATTLOG StartTime=x").table, "ATTLOG");
  EXPECT_EQ(parse_attendance_command("CLEAR LOG").reply_cmd, "CLEAR_LOG");
  EXPECT_EQ(parse_attendance_command("CLEAR DATA").verb, CommandVerb::ClearData);
  EXPECT_EQ(parse_attendance_command("SET OPTION Delay=5").argument, "Delay=5");
  EXPECT_EQ(parse_attendance_command("SET OPTION Delay=5").reply_cmd, "SET OPTION");
  EXPECT_EQ(parse_attendance_command("RELOAD OPTIONS").reply_cmd, "RELOAD OPTIONS");
  EXPECT_EQ(parse_attendance_command("REBOOT").verb, CommandVerb::Reboot);
  EXPECT_EQ(parse_attendance_command("INFO").reply_cmd, "INFO");
  EXPECT_EQ(parse_attendance_command("CONTROL DEVICE 01010105").verb, CommandVerb::ControlDevice);
  EXPECT_EQ(parse_attendance_command("VERIFY SUM ATTLOG StartTime=a").reply_cmd, "VERIFY SUM");
  EXPECT_EQ(parse_attendance_command("GetFile attlog.dat").reply_cmd, "GetFile");
  EXPECT_EQ(parse_attendance_command("FROBNICATE now").verb, CommandVerb::Unknown);
  EXPECT_EQ(parse_attendance_command("FROBNICATE now").reply_cmd, "FROBNICATE");
}

// ---------------------------------------------------------------------------
// Record generator, command line, ledger

TEST(RecordGeneratorTest, SameSeedSameRecords) {
  const auto a = RecordGenerator(7, 3).take(200);
  const auto b = RecordGenerator(7, 3).take(200);
  ASSERT_EQ(a.size(), 200u);
  for (std::size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(format_attlog_line(a[i], 10), format_attlog_line(b[i], 10));
  }
  const auto c = RecordGenerator(8, 3).take(1);
  EXPECT_NE(format_attlog_line(a[0], 10), format_attlog_line(c[0], 10));
}

TEST(RecordGeneratorTest, PinAndTimeAreUniqueWithinATerminal) {
  GeneratorConfig gc;
  gc.users = 3;
  const auto records = RecordGenerator(1, 0, gc).take(5000);
  std::set<std::pair<std::string, LocalSeconds>> keys;
  for (std::size_t i = 0; i < records.size(); ++i) {
    EXPECT_TRUE(keys.insert({records[i].pin, records[i].time}).second);
    EXPECT_EQ(records[i].index, i + 1);
    if (i > 0) {
      EXPECT_LT(records[i - 1].time, records[i].time);
    }
    const int pin = std::stoi(records[i].pin);
    EXPECT_GE(pin, 1);
    EXPECT_LE(pin, 3);
  }
}

TEST(SimCliTest, ParsesEveryFlag) {
  const auto p = parse_command_line({"--host",
                                     "10.0.0.5",
                                     "--port=8081",
                                     "--terminals",
                                     "200",
                                     "--records-per-terminal",
                                     "5000",
                                     "--batch",
                                     "500",
                                     "--sn-prefix",
                                     "LOAD",
                                     "--poll-ms",
                                     "1000",
                                     "--error-delay-ms",
                                     "200",
                                     "--duration",
                                     "30",
                                     "--until-acked",
                                     "--ledger",
                                     "/tmp/l",
                                     "--seed",
                                     "42",
                                     "--concurrency",
                                     "64",
                                     "--threads",
                                     "2",
                                     "--attlog-fields",
                                     "7",
                                     "--operlog",
                                     "--fault-drop-every",
                                     "5",
                                     "--fault-lose-ack-every",
                                     "6",
                                     "--fault-duplicate-every",
                                     "7",
                                     "--fault-bad-line-every",
                                     "8",
                                     "--json",
                                     "--ramp-ms",
                                     "2000",
                                     "--users",
                                     "9",
                                     "--request-timeout-ms",
                                     "1500",
                                     "--report-ms",
                                     "0",
                                     "--language",
                                     "101",
                                     "--force-realtime",
                                     "--verbose"});
  ASSERT_TRUE(p.ok) << p.error;
  const LoadConfig& c = p.config;
  EXPECT_EQ(c.host, "10.0.0.5");
  EXPECT_EQ(c.port, 8081);
  EXPECT_EQ(c.terminals, 200u);
  EXPECT_EQ(c.records_per_terminal, 5000u);
  EXPECT_EQ(c.batch, 500u);
  EXPECT_EQ(c.sn_prefix, "LOAD");
  EXPECT_EQ(c.poll, 1000ms);
  EXPECT_EQ(c.error_delay, 200ms);
  EXPECT_EQ(c.duration, 30s);
  EXPECT_TRUE(c.until_acked);
  EXPECT_EQ(c.ledger_path, "/tmp/l");
  EXPECT_EQ(c.seed, 42u);
  EXPECT_EQ(c.concurrency, 64u);
  EXPECT_EQ(c.threads, 2u);
  EXPECT_EQ(c.attlog_fields, 7);
  EXPECT_TRUE(c.operlog);
  EXPECT_EQ(c.faults.drop_mid_request_every, 5u);
  EXPECT_EQ(c.faults.lose_response_every, 6u);
  EXPECT_EQ(c.faults.duplicate_batch_every, 7u);
  EXPECT_EQ(c.faults.bad_line_every, 8u);
  EXPECT_TRUE(c.json);
  EXPECT_EQ(c.ramp, 2000ms);
  EXPECT_EQ(c.users, 9u);
  EXPECT_EQ(c.request_timeout, 1500ms);
  EXPECT_EQ(c.report_interval, 0ms);
  EXPECT_EQ(c.language, 101);
  EXPECT_TRUE(c.force_realtime);
  EXPECT_TRUE(c.verbose);
  EXPECT_EQ(terminal_serial(c, 0), "LOAD00001");
  EXPECT_EQ(terminal_serial(c, 199), "LOAD00200");
}

TEST(SimCliTest, DefaultsToUntilAcked) {
  const auto p = parse_command_line({"--port", "9"});
  ASSERT_TRUE(p.ok);
  EXPECT_TRUE(p.config.until_acked);
  EXPECT_FALSE(p.config.duration);
  EXPECT_FALSE(p.config.poll);
}

TEST(SimCliTest, TimeoutBoundsAnUntilAckedRunAndDurationAPlainOne) {
  const auto timeout = parse_command_line({"--port", "9", "--timeout", "5"});
  ASSERT_TRUE(timeout.ok);
  EXPECT_TRUE(timeout.config.until_acked);
  EXPECT_EQ(timeout.config.duration, 5s);
  const auto duration = parse_command_line({"--port", "9", "--duration", "5"});
  ASSERT_TRUE(duration.ok);
  EXPECT_FALSE(duration.config.until_acked);
  EXPECT_EQ(duration.config.duration, 5s);
}

TEST(SimCliTest, RejectsBadArguments) {
  EXPECT_FALSE(parse_command_line({}).ok);  // no --port
  EXPECT_FALSE(parse_command_line({"--port", "0"}).ok);
  EXPECT_FALSE(parse_command_line({"--port", "70000"}).ok);
  EXPECT_FALSE(parse_command_line({"--port", "1", "--terminals", "-3"}).ok);
  EXPECT_FALSE(parse_command_line({"--port", "1", "--bogus"}).ok);
  EXPECT_FALSE(parse_command_line({"--port", "1", "--batch"}).ok);
  EXPECT_FALSE(parse_command_line({"--port", "1", "--until-acked=yes"}).ok);
  EXPECT_FALSE(parse_command_line({"--port", "1", "--attlog-fields", "11"}).ok);
  const auto p = parse_command_line({"--port", "1", "--terminals", "x"});
  EXPECT_NE(p.error.find("--terminals"), std::string::npos);
}

// Punches dated 2024 fell outside the gateway's attendance window: trying
// attendance with the simulator showed nothing. By default they end at about
// the time of the run; --start fixes the dates for reproducible runs.
TEST(SimCliTest, PunchesAreDatedFromTheClockByDefault) {
  const auto p = parse_command_line({"--port", "9", "--terminals", "3"});
  ASSERT_TRUE(p.ok);
  EXPECT_FALSE(p.config.start);
  const auto now = *parse_local_time("2026-12-05 23:30:00");
  const auto gc = generator_config(p.config, now);
  for (std::uint64_t t = 0; t < p.config.terminals; ++t) {
    const auto records = RecordGenerator(p.config.seed, t, gc).take(p.config.records_per_terminal);
    ASSERT_EQ(records.size(), p.config.records_per_terminal);
    for (const auto& r : records) {
      EXPECT_LE(r.time, now) << format_local_time(r.time);
      EXPECT_GT(r.time, now - std::chrono::hours{48}) << format_local_time(r.time);
    }
  }
  // The host's clock is the default reference.
  const auto before = host_local_now();
  const auto live = generator_config(p.config, host_local_now());
  EXPECT_LT(live.start, before);
  EXPECT_GT(live.start, before - std::chrono::hours{48});
}

TEST(SimCliTest, StartFixesTheDates) {
  const auto p = parse_command_line({"--port", "9", "--start", "2024-01-08 07:00:00"});
  ASSERT_TRUE(p.ok);
  ASSERT_TRUE(p.config.start);
  const auto a = generator_config(p.config, *parse_local_time("2026-12-05 23:30:00"));
  const auto b = generator_config(p.config, *parse_local_time("2031-01-01 00:00:00"));
  EXPECT_EQ(a.start, *parse_local_time("2024-01-08 07:00:00"));
  EXPECT_EQ(format_local_time(RecordGenerator(1, 0, a).next().time),
            format_local_time(RecordGenerator(1, 0, b).next().time));
  EXPECT_EQ(format_local_time(RecordGenerator(1, 0, a).next().time).substr(0, 8), "2024-01-");
  const auto bad = parse_command_line({"--port", "9", "--start", "2024-02-30 07:00:00"});
  EXPECT_FALSE(bad.ok);
  EXPECT_NE(bad.error.find("--start"), std::string::npos);
}

TEST(SimCliTest, HelpNeedsNoPort) {
  const auto p = parse_command_line({"--help"});
  EXPECT_TRUE(p.ok);
  EXPECT_TRUE(p.help);
  EXPECT_NE(usage().find("--until-acked"), std::string::npos);
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

std::vector<std::string> read_lines(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) {
    lines.push_back(line);
  }
  return lines;
}

TEST(LedgerTest, WritesLinesBeforeCompletingOnTheCallersExecutor) {
  const TempDir dir;
  const auto path = dir.file("ledger.txt");
  std::string error;
  auto ledger = Ledger::open(path.string(), error);
  ASSERT_TRUE(ledger) << error;
  net::io_context ioc;
  int completions = 0;
  for (int i = 0; i < 3; ++i) {
    ledger->append("SN1", {"a" + std::to_string(i), "b" + std::to_string(i)}, ioc.get_executor(),
                   [&](boost::system::error_code ec) {
                     EXPECT_FALSE(ec);
                     // The line is on disk before the completion runs.
                     EXPECT_GE(read_lines(path).size(),
                               2u * static_cast<std::size_t>(completions + 1));
                     ++completions;
                   });
  }
  ioc.run();  // returns only after every completion ran (tracked work)
  EXPECT_EQ(completions, 3);
  EXPECT_EQ(ledger->lines_written(), 6u);
  EXPECT_GE(ledger->syncs(), 1u);
  EXPECT_EQ(read_lines(path).front(), "SN1\ta0");
}

TEST(LedgerTest, OpenFailsForMissingDirectory) {
  std::string error;
  EXPECT_FALSE(Ledger::open("/nonexistent-dir/x/ledger", error));
  EXPECT_NE(error.find("cannot open ledger"), std::string::npos);
}

// ---------------------------------------------------------------------------
// One terminal against the demo server

TEST(AttendanceTerminalTest, HandshakeUploadCommandsAndResendAfterNonOk) {
  DemoPushServer server;
  // The first ATTLOG upload is refused with a body that is not OK.
  server.script_attlog({Answer{200, "ERROR: database busy"}});
  IoThread io;
  auto terminal = AttendanceTerminal::create(io.ioc(), fast_config(server));
  terminal->add_records(
      {record("100", "2020-09-22 15:28:54"), record("200", "2020-09-22 17:09:43", 1)});
  terminal->start();

  ASSERT_TRUE(
      terminal->wait_until([](const TerminalStats& s) { return s.records_acked == 2; }, 10s));
  const TerminalStats s = terminal->stats();
  EXPECT_EQ(s.failures_body, 1u);
  EXPECT_EQ(s.attlog_uploads_sent, 2u);
  EXPECT_EQ(s.records_pending, 0u);
  EXPECT_EQ(s.handshakes_ok, 1u);
  EXPECT_EQ(s.options_pushed, 1u);

  // Handshake as the captured terminals send it.
  const auto all = server.requests();
  ASSERT_FALSE(all.empty());
  EXPECT_EQ(all[0].target,
            "/iclock/cdata?SN=CKJF202560310&options=all&language=69&pushver=2.4.1&DeviceType=att"
            "&PushOptionsFlag=1");
  EXPECT_EQ(all[0].headers.at("user-agent"), "iClock Proxy/1.09");
  EXPECT_EQ(all[0].headers.at("connection"), "close");
  EXPECT_EQ(all[0].headers.at("accept"), "*/*");
  EXPECT_EQ(all[0].headers.at("host"), "127.0.0.1:" + std::to_string(server.port()));
  EXPECT_EQ(all[0].headers.count("content-length"), 0u);
  // The PushOptionsFlag=1 answer makes it push its options line next.
  EXPECT_EQ(all[1].target, "/iclock/cdata?SN=CKJF202560310&table=options");
  EXPECT_EQ(all[1].body.rfind("~DeviceName=SpeedFace-V5L[TD],MAC=", 0), 0u);
  EXPECT_EQ(all[1].headers.at("content-type"), "text/plain");

  // The refused batch was sent again, byte for byte.
  const auto uploads = server.requests_to("/iclock/cdata", "ATTLOG");
  ASSERT_EQ(uploads.size(), 2u);
  EXPECT_EQ(uploads[0].body, uploads[1].body);
  EXPECT_EQ(uploads[0].body,
            "100\t2020-09-22 15:28:54\t0\t15\t\t0\t0\t0\t36.5\t1\n"
            "200\t2020-09-22 17:09:43\t0\t1\t\t0\t0\t0\t36.5\t2\n");
  EXPECT_EQ(uploads[0].query.at("Stamp"), "9999");
  EXPECT_EQ(terminal->acked_lines(),
            (std::vector<std::string>{"100\t2020-09-22 15:28:54\t0\t15\t\t0\t0\t0\t36.5\t1",
                                      "200\t2020-09-22 17:09:43\t0\t1\t\t0\t0\t0\t36.5\t2"}));

  // The first getrequest carries INFO=.
  const auto polls = server.requests_to("/iclock/getrequest");
  ASSERT_FALSE(polls.empty());
  EXPECT_EQ(polls[0].query.count("INFO"), 1u);
  EXPECT_EQ(polls[0].query.at("INFO").rfind("ZAM170-NF-Ver1.3.5,0,0,2,", 0), 0u);

  // Two commands in one answer: a user update and INFO.
  const std::string update_id =
      server.queue_command("CKJF202560310",
                           "DATA UPDATE USERINFO PIN=7\tName=Ann "
                           "Lee\tPri=0\tPasswd=\tCard=123\tGrp=1\tTZ=0000000100000000");
  const std::string info_id = server.queue_command("CKJF202560310", "INFO");
  ASSERT_TRUE(terminal->wait_until(
      [](const TerminalStats& st) { return st.command_results_acked == 2; }, 10s));

  const auto users = terminal->users();
  ASSERT_EQ(users.count("7"), 1u);
  EXPECT_EQ(users.at("7").name, "Ann Lee");
  EXPECT_EQ(users.at("7").card, "123");

  const auto commands = terminal->executed_commands();
  ASSERT_EQ(commands.size(), 2u);
  EXPECT_EQ(commands[0].id, update_id);
  EXPECT_EQ(commands[0].return_code, 0);
  EXPECT_TRUE(commands[0].result_acked);
  EXPECT_EQ(commands[1].reply_cmd, "INFO");

  const auto results = server.requests_to("/iclock/devicecmd");
  ASSERT_EQ(results.size(), 2u);
  EXPECT_EQ(results[0].body, "ID=" + update_id + "&Return=0&CMD=DATA\n");
  EXPECT_EQ(results[0].headers.at("content-type"), "application/octet-stream");
  EXPECT_EQ(results[1].body.rfind("ID=" + info_id + "&Return=0&CMD=INFO\n~DeviceName=", 0), 0u);
  EXPECT_NE(results[1].body.find("\nUserCount=1\n"), std::string::npos);
  EXPECT_NE(results[1].body.find("\nTransactionCount=2\n"), std::string::npos);

  terminal->stop();
}

TEST(AttendanceTerminalTest, UnacknowledgedCommandResultIsSentAgain) {
  DemoPushServer server;
  server.script_devicecmd({Answer{500, "Internal Server Error"}, Answer{200, "NOPE"}});
  IoThread io;
  auto terminal = AttendanceTerminal::create(io.ioc(), fast_config(server));
  server.queue_command("CKJF202560310", "CHECK");
  terminal->start();
  ASSERT_TRUE(terminal->wait_until(
      [](const TerminalStats& s) { return s.command_results_acked == 1; }, 10s));
  const auto results = server.requests_to("/iclock/devicecmd");
  ASSERT_EQ(results.size(), 3u);
  EXPECT_EQ(results[0].body, results[2].body);
  EXPECT_EQ(server.devicecmd_lines(), (std::vector<std::string>{"ID=1626&Return=0&CMD=CHECK"}));
  EXPECT_EQ(terminal->stats().failures_status, 1u);
  EXPECT_EQ(terminal->stats().failures_body, 1u);
  terminal->stop();
}

TEST(AttendanceTerminalTest, QueryAttlogUploadsPacksBeforeTheResult) {
  DemoPushServer server;
  IoThread io;
  auto config = fast_config(server);
  config.query_pack_size = 2;
  auto terminal = AttendanceTerminal::create(io.ioc(), config);
  terminal->add_records({record("1", "2020-09-21 23:59:59"), record("1", "2020-09-22 08:00:00"),
                         record("2", "2020-09-22 09:00:00"), record("3", "2020-09-22 10:00:00"),
                         record("4", "2020-09-22 23:59:59"), record("5", "2020-09-23 00:00:01")});
  terminal->start();
  ASSERT_TRUE(
      terminal->wait_until([](const TerminalStats& s) { return s.records_acked == 6; }, 10s));

  const std::string id = server.queue_command(
      "CKJF202560310",
      "DATA QUERY ATTLOG StartTime=2020-09-22 00:00:00\tEndTime=2020-09-22 23:59:59");
  ASSERT_TRUE(terminal->wait_until(
      [](const TerminalStats& s) { return s.command_results_acked == 1; }, 10s));

  std::vector<SeenRequest> answers;
  for (const auto& r : server.requests_to("/iclock/cdata", "ATTLOG")) {
    if (r.query.count("CmdId") != 0) {
      answers.push_back(r);
    }
  }
  ASSERT_EQ(answers.size(), 2u);
  EXPECT_EQ(answers[0].target,
            "/iclock/cdata?SN=CKJF202560310&table=ATTLOG&Stamp=9999&Count=4"
            "&PackCnt=2&PackIdx=1&CmdId=" +
                id);
  EXPECT_EQ(answers[1].query.at("PackIdx"), "2");
  EXPECT_EQ(split_lines(answers[0].body).size() + split_lines(answers[1].body).size(), 4u);
  // The result comes after the last pack.
  const auto all = server.requests();
  std::size_t last_pack = 0;
  std::size_t result = 0;
  for (std::size_t i = 0; i < all.size(); ++i) {
    if (all[i].query.count("CmdId") != 0) {
      last_pack = i;
    }
    if (all[i].path == "/iclock/devicecmd") {
      result = i;
    }
  }
  EXPECT_GT(result, last_pack);
  EXPECT_EQ(server.devicecmd_lines(),
            (std::vector<std::string>{"ID=" + id + "&Return=0&CMD=DATA"}));
  terminal->stop();
}

TEST(AttendanceTerminalTest, UserTemplatesQueriesAndDeletes) {
  DemoPushServer server;
  IoThread io;
  auto terminal = AttendanceTerminal::create(io.ioc(), fast_config(server));
  terminal->start();
  const std::string sn = "CKJF202560310";
  server.queue_command(sn, "DATA UPDATE FINGERTMP PIN=9\tFID=1\tSize=4\tValid=1\tTMP=AAAA");
  server.queue_command(sn, "DATA UPDATE USERINFO PIN=9\tName=Bo");
  server.queue_command(sn, "DATA UPDATE FINGERTMP PIN=9\tFID=1\tSize=5\tValid=1\tTMP=AAAA");
  server.queue_command(sn, "DATA UPDATE FINGERTMP PIN=9\tFID=1\tSize=4\tValid=3\tTMP=AAAA");
  server.queue_command(sn,
                       "DATA UPDATE BIODATA Pin=9\tNo=0\tIndex=0\tValid=1\tDuress=0\tType=9\t"
                       "MajorVer=58\tMinorVer=10\tFormat=ZK\tTmp=BBBB");
  server.queue_command(sn, "DATA UPDATE USERINFO PIN=100 Name=Jorge Leon\tPri=0");
  server.queue_command(sn, "DATA QUERY USERINFO PIN=9");
  server.queue_command(sn, "DATA QUERY FACETMP PIN=9");
  server.queue_command(sn, "FROBNICATE");
  ASSERT_TRUE(terminal->wait_until(
      [](const TerminalStats& s) { return s.command_results_acked == 9; }, 10s));

  std::vector<int> codes;
  for (const auto& c : terminal->executed_commands()) {
    codes.push_back(c.return_code);
  }
  EXPECT_EQ(codes, (std::vector<int>{-10, 0, -9, 0, 0, -1, 0, -1004, -1002}));
  // One devicecmd POST carries all nine results.
  const auto results = server.requests_to("/iclock/devicecmd");
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(split_lines(results[0].body).size(), 9u);

  const auto templates = terminal->templates();
  ASSERT_EQ(templates.size(), 2u);
  EXPECT_EQ(templates[0].type, 1);
  EXPECT_EQ(templates[0].duress, 1);  // Valid=3 is a duress finger

  // The USER line went as OPERLOG, the templates as BIODATA, like the captures.
  const auto operlog = server.requests_to("/iclock/cdata", "OPERLOG");
  ASSERT_EQ(operlog.size(), 1u);
  EXPECT_EQ(operlog[0].body,
            "USER PIN=9\tName=Bo\tPri=0\tPasswd=\tCard=\tGrp=1\tTZ=0000000100000000\tVerify=-1\t"
            "ViceCard=\tStartDatetime=0\tEndDatetime=0\n");
  const auto bio = server.requests_to("/iclock/cdata", "BIODATA");
  ASSERT_EQ(bio.size(), 1u);
  EXPECT_EQ(split_lines(bio[0].body).size(), 2u);

  server.queue_command(sn, "DATA DELETE USERINFO PIN=9");
  ASSERT_TRUE(terminal->wait_until(
      [](const TerminalStats& s) { return s.command_results_acked == 10; }, 10s));
  EXPECT_TRUE(terminal->users().empty());
  EXPECT_TRUE(terminal->templates().empty());
  terminal->stop();
}

TEST(AttendanceTerminalTest, RebootDropsTheSessionAndHandshakesAgain) {
  DemoPushServer server;
  IoThread io;
  auto config = fast_config(server);
  config.boot_operlog = true;
  auto terminal = AttendanceTerminal::create(io.ioc(), config);
  terminal->start();
  ASSERT_TRUE(terminal->wait_until([](const TerminalStats& s) { return s.polls >= 1; }, 10s));
  server.queue_command("CKJF202560310", "REBOOT");
  server.queue_command("CKJF202560310", "INFO");
  ASSERT_TRUE(terminal->wait_until(
      [](const TerminalStats& s) { return s.reboots == 1 && s.handshakes_ok == 2 && s.polls >= 3; },
      10s));
  // The result went out before the reboot; INFO after REBOOT was never run.
  EXPECT_EQ(server.devicecmd_lines(), (std::vector<std::string>{"ID=1626&Return=0&CMD=REBOOT"}));
  EXPECT_EQ(terminal->executed_commands().size(), 1u);
  // Each boot uploads its startup OPLOG line.
  ASSERT_TRUE(
      terminal->wait_until([](const TerminalStats& s) { return s.operlog_lines_acked == 2; }, 10s));
  EXPECT_EQ(terminal->acked_operlog_lines()[0].rfind("OPLOG 0\t0\t", 0), 0u);
  terminal->stop();
}

TEST(AttendanceTerminalTest, ClockFollowsServerDateAndTimeZone) {
  DemoPushServer server;
  const auto date = parse_http_date("Tue, 22 Sep 2020 20:24:13 GMT");
  server.set_date(*date);
  server.set_time_zone("-300");
  IoThread io;
  auto terminal = AttendanceTerminal::create(io.ioc(), fast_config(server));
  terminal->start();
  ASSERT_TRUE(
      terminal->wait_until([](const TerminalStats& s) { return s.handshakes_ok == 1; }, 10s));
  const auto local = terminal->device_now();
  const auto expected = *parse_local_time("2020-09-22 15:24:13");
  EXPECT_LE(std::chrono::abs(local - expected), 5s);
  terminal->punch("42");
  ASSERT_TRUE(
      terminal->wait_until([](const TerminalStats& s) { return s.records_acked == 1; }, 10s));
  EXPECT_EQ(terminal->acked_lines()[0].rfind("42\t2020-09-22 15:2", 0), 0u);
  terminal->stop();
}

TEST(AttendanceTerminalTest, RetriesRefusedHandshakeAfterErrorDelay) {
  DemoPushServer server;
  server.script_handshake({Answer{401, "Device Unauthorized"}, Answer{401, "Device Unauthorized"}});
  IoThread io;
  auto terminal = AttendanceTerminal::create(io.ioc(), fast_config(server));
  terminal->add_records({record("1", "2024-01-01 08:00:00")});
  terminal->start();
  ASSERT_TRUE(
      terminal->wait_until([](const TerminalStats& s) { return s.records_acked == 1; }, 10s));
  EXPECT_EQ(terminal->stats().failures_status, 2u);
  EXPECT_EQ(server.requests_to("/iclock/cdata").front().query.count("options"), 1u);
  terminal->stop();
}

TEST(AttendanceTerminalTest, DroppedRequestKeepsRecordsAndSendsThemAgain) {
  DemoPushServer server;
  IoThread io;
  auto config = fast_config(server);
  config.batch_size = 2;
  config.poll_interval = 500ms;  // the next request after a poll is the upload
  auto terminal = AttendanceTerminal::create(io.ioc(), config);
  terminal->start();
  ASSERT_TRUE(terminal->wait_until([](const TerminalStats& s) { return s.polls >= 1; }, 10s));
  terminal->inject_exchange_faults(1, ExchangeFault::DropMidRequest);
  terminal->add_records({record("1", "2024-01-01 08:00:00"), record("2", "2024-01-01 08:00:01"),
                         record("3", "2024-01-01 08:00:02")});
  ASSERT_TRUE(
      terminal->wait_until([](const TerminalStats& s) { return s.records_acked == 3; }, 10s));
  const TerminalStats s = terminal->stats();
  EXPECT_EQ(s.injected_faults, 1u);
  EXPECT_EQ(s.failures_transport, 1u);
  EXPECT_GE(server.broken_requests(), 1u);
  EXPECT_EQ(server.stored_count(), 3u);
  EXPECT_EQ(server.duplicates(), 0u);
  EXPECT_EQ(terminal->acked_lines().size(), 3u);
  terminal->stop();
}

TEST(AttendanceTerminalTest, LostAnswerMakesTheServerSeeADuplicate) {
  DemoPushServer server;
  IoThread io;
  auto config = fast_config(server);
  config.poll_interval = 500ms;  // the next request after a poll is the upload
  auto terminal = AttendanceTerminal::create(io.ioc(), config);
  terminal->start();
  ASSERT_TRUE(terminal->wait_until([](const TerminalStats& s) { return s.polls >= 1; }, 10s));
  terminal->inject_exchange_faults(1, ExchangeFault::DropBeforeResponse);
  terminal->add_records({record("1", "2024-01-01 08:00:00")});
  ASSERT_TRUE(
      terminal->wait_until([](const TerminalStats& s) { return s.records_acked == 1; }, 10s));
  ASSERT_TRUE(server.wait_for([&] { return server.duplicates() == 1; }, 5s));
  EXPECT_EQ(server.stored_count(), 1u);
  EXPECT_EQ(terminal->acked_lines().size(), 1u);  // counted once by the terminal
  terminal->stop();
}

TEST(AttendanceTerminalTest, BadLineAndDuplicateBatchFaults) {
  DemoPushServer server;
  IoThread io;
  auto config = fast_config(server);
  config.poll_interval = 500ms;  // the next request after a poll is the upload
  auto terminal = AttendanceTerminal::create(io.ioc(), config);
  terminal->start();
  ASSERT_TRUE(terminal->wait_until([](const TerminalStats& s) { return s.polls >= 1; }, 10s));
  terminal->corrupt_next_batch();
  terminal->duplicate_next_batch();
  terminal->add_records({record("1", "2024-01-01 08:00:00"), record("2", "2024-01-01 08:00:01")});
  ASSERT_TRUE(terminal->wait_until(
      [](const TerminalStats& s) { return s.records_acked == 2 && s.duplicate_batches_sent == 1; },
      10s));
  ASSERT_TRUE(server.wait_for([&] { return server.duplicates() == 2; }, 5s));
  const auto uploads = server.requests_to("/iclock/cdata", "ATTLOG");
  ASSERT_EQ(uploads.size(), 2u);
  EXPECT_EQ(uploads[0].body, uploads[1].body);
  const auto lines = split_lines(uploads[0].body);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[1], "BAD\t2024-13-45 25:61:61\t0\t0\t0\t0\t0\t0\t0\t0");
  EXPECT_EQ(server.quarantined(), 2u);
  EXPECT_EQ(terminal->stats().bad_lines_sent, 1u);
  // The bad line is not one of the terminal's records.
  EXPECT_EQ(terminal->acked_lines().size(), 2u);
  terminal->stop();
}

TEST(AttendanceTerminalTest, SurvivesServerKillAndRestart) {
  DemoPushServer server;
  IoThread io;
  auto config = fast_config(server);
  config.batch_size = 10;
  auto terminal = AttendanceTerminal::create(io.ioc(), config);
  terminal->start();
  ASSERT_TRUE(terminal->wait_until([](const TerminalStats& s) { return s.polls >= 1; }, 10s));
  server.kill();
  terminal->add_records(RecordGenerator(5, 0).take(50));
  ASSERT_TRUE(
      terminal->wait_until([](const TerminalStats& s) { return s.failures_transport >= 3; }, 10s));
  EXPECT_FALSE(terminal->stats().online);
  EXPECT_EQ(terminal->stats().records_acked, 0u);
  server.restart();
  ASSERT_TRUE(
      terminal->wait_until([](const TerminalStats& s) { return s.records_acked == 50; }, 10s));
  EXPECT_GE(terminal->stats().handshakes_ok, 2u);
  EXPECT_EQ(server.stored_count(), 50u);
  EXPECT_EQ(terminal->acked_lines().size(), 50u);
  terminal->stop();
}

TEST(AttendanceTerminalTest, StopEndsAllWork) {
  DemoPushServer server;
  auto ioc = std::make_unique<net::io_context>();
  auto terminal = AttendanceTerminal::create(*ioc, fast_config(server));
  terminal->add_records(RecordGenerator(1, 0).take(10));
  terminal->start();
  std::thread th([&] { ioc->run(); });
  ASSERT_TRUE(terminal->wait_until([](const TerminalStats& s) { return s.polls >= 2; }, 10s));
  terminal->stop();
  th.join();  // run() returns: no timer, request or handler is left
  EXPECT_EQ(terminal->stats().records_pending, 0u);
}

// ---------------------------------------------------------------------------
// Load runs

TEST(LoadRunnerTest, EveryLedgerLineIsStoredOnceAcrossServerRestarts) {
  DemoPushServer server;
  const TempDir dir;
  const auto ledger = dir.file("ledger.txt");
  LoadConfig c;
  c.port = server.port();
  c.terminals = 8;
  c.records_per_terminal = 300;
  c.batch = 25;
  c.poll = 50ms;
  c.error_delay = 30ms;
  c.request_timeout = 2s;
  c.until_acked = true;
  c.duration = 60s;
  c.ledger_path = ledger.string();
  c.faults.lose_response_every = 7;
  c.concurrency = 4;
  c.report_interval = 0ms;
  LoadRunner runner(c);

  std::atomic<bool> done{false};
  std::thread chaos([&] {
    for (int i = 0; i < 3 && !done; ++i) {
      std::this_thread::sleep_for(150ms);
      server.kill();
      std::this_thread::sleep_for(100ms);
      server.restart();
    }
  });
  const LoadSummary summary = runner.run(nullptr);
  done = true;
  chaos.join();

  EXPECT_EQ(summary.exit_code, 0) << format_summary(summary);
  EXPECT_TRUE(summary.all_acked);
  EXPECT_EQ(summary.records_acked, 2400u);
  EXPECT_EQ(summary.ledger_lines, 2400u);

  const auto lines = read_lines(ledger);
  ASSERT_EQ(lines.size(), 2400u);
  std::set<std::string> unique(lines.begin(), lines.end());
  EXPECT_EQ(unique.size(), lines.size()) << "a record was counted acknowledged twice";
  const auto stored = server.stored();
  for (const auto& entry : lines) {
    const auto tab = entry.find('\t');
    const std::string sn = entry.substr(0, tab);
    EXPECT_EQ(stored.at(sn).count(entry.substr(tab + 1)), 1u) << entry;
  }
  EXPECT_GT(server.duplicates(), 0u);  // lost answers made terminals resend
}

TEST(SimCliTest, BinaryRunsUntilAckedAgainstDemoServer) {
  DemoPushServer server;
  const TempDir dir;
  const auto out = dir.file("stdout.txt");
  const auto ledger = dir.file("ledger.txt");
  const std::string binary = std::string(PUSHGATE_BINARY_DIR) + "/tests/sim/pushgate-sim";
  std::vector<std::string> args = {binary,
                                   "--port",
                                   std::to_string(server.port()),
                                   "--terminals",
                                   "20",
                                   "--records-per-terminal",
                                   "500",
                                   "--batch",
                                   "100",
                                   "--poll-ms",
                                   "200",
                                   "--error-delay-ms",
                                   "50",
                                   "--until-acked",
                                   "--timeout",
                                   "60",
                                   "--ledger",
                                   ledger.string(),
                                   "--seed",
                                   "7",
                                   "--operlog",
                                   "--report-ms",
                                   "0"};
  std::vector<char*> argv;
  for (auto& a : args) {
    argv.push_back(a.data());
  }
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  pid_t pid = 0;
  ASSERT_EQ(posix_spawn(&pid, binary.c_str(), &actions, nullptr, argv.data(), environ), 0);
  posix_spawn_file_actions_destroy(&actions);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));

  std::ifstream in(out);
  const std::string output((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::printf("%s", output.c_str());  // the sample run, visible with --gtest_filter
  EXPECT_EQ(WEXITSTATUS(status), 0) << output;
  EXPECT_NE(output.find("10000 generated, 10000 acked (100.0%)"), std::string::npos) << output;
  EXPECT_EQ(read_lines(ledger).size(), 10000u);
  EXPECT_EQ(server.stored_count(), 10000u);
  EXPECT_EQ(server.requests_to("/iclock/cdata", "OPERLOG").size(), 20u);
}

// Not a test: serves the demo server for manual pushgate-sim runs (README):
//   PUSHGATE_SIM_DEMO_PORT=18081 PUSHGATE_SIM_DEMO_SECONDS=60 ./sim_test
//     --gtest_also_run_disabled_tests --gtest_filter='*ServeDemoServer*'
TEST(SimCliTest, DISABLED_ServeDemoServerForManualRuns) {
  const char* port = std::getenv("PUSHGATE_SIM_DEMO_PORT");
  const char* seconds = std::getenv("PUSHGATE_SIM_DEMO_SECONDS");
  DemoPushServer server(static_cast<std::uint16_t>(port != nullptr ? std::atoi(port) : 0));
  std::printf("demo PUSH server on 127.0.0.1:%u\n", server.port());
  std::fflush(stdout);
  std::this_thread::sleep_for(std::chrono::seconds(seconds != nullptr ? std::atoi(seconds) : 60));
  std::printf("stored %zu unique ATTLOG lines, %llu duplicates, %llu quarantined\n",
              server.stored_count(), static_cast<unsigned long long>(server.duplicates()),
              static_cast<unsigned long long>(server.quarantined()));
}

}  // namespace
}  // namespace pushgate::sim
