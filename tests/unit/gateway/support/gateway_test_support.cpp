#include "tests/unit/gateway/support/gateway_test_support.hpp"

#include <cstdlib>
#include <stdexcept>
#include <system_error>
#include <utility>

#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/error.hpp>

namespace pushgate::test {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;

TempDir::TempDir() {
  std::string tmpl = "/tmp/pushgate-unit-XXXXXX";
  if (::mkdtemp(tmpl.data()) == nullptr) {
    throw std::system_error(errno, std::generic_category(), "mkdtemp");
  }
  path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

IoThread::IoThread() : work_(net::make_work_guard(ioc_)), thread_([this] { ioc_.run(); }) {}

IoThread::~IoThread() {
  stop();
}

void IoThread::stop() {
  work_.reset();
  ioc_.stop();
  if (thread_.joinable()) {
    thread_.join();
  }
}

Event make_event(std::string sn, std::string record_key, EventKind kind) {
  Event e;
  e.terminal_sn = std::move(sn);
  e.record_key = std::move(record_key);
  e.kind = kind;
  e.local_time = "2020-09-23 13:01:24";
  e.raw = "raw " + e.record_key;
  e.received_ms = 1'600'000'000'000;
  return e;
}

boost::system::error_code HttpTestClient::connect(std::uint16_t port) {
  boost::system::error_code result = net::error::would_block;
  stream_.expires_after(deadline_);
  stream_.async_connect(net::ip::tcp::endpoint(net::ip::make_address("127.0.0.1"), port),
                        [&result](boost::system::error_code ec) { result = ec; });
  ioc_.restart();
  ioc_.run();
  return result;
}

boost::system::error_code HttpTestClient::write_raw(std::string_view bytes) {
  return run([&](auto handler) {
    net::async_write(stream_, net::buffer(bytes.data(), bytes.size()), std::move(handler));
  });
}

boost::system::error_code HttpTestClient::write(Request& request) {
  return run([&](auto handler) { bhttp::async_write(stream_, request, std::move(handler)); });
}

boost::system::error_code HttpTestClient::read(Response& response) {
  bhttp::response_parser<bhttp::string_body> parser;
  parser.body_limit(64 * 1024 * 1024);
  auto ec =
      run([&](auto handler) { bhttp::async_read(stream_, buffer_, parser, std::move(handler)); });
  if (!ec) {
    response = parser.release();
  }
  return ec;
}

boost::system::error_code HttpTestClient::request(bhttp::verb method, std::string_view target,
                                                  Response& response, std::string body,
                                                  std::string_view content_type) {
  Request req{method, target, 11};
  req.set(bhttp::field::host, "127.0.0.1");
  if (!content_type.empty()) {
    req.set(bhttp::field::content_type, content_type);
  }
  req.body() = std::move(body);
  req.prepare_payload();
  if (auto ec = write(req)) {
    return ec;
  }
  return read(response);
}

bool HttpTestClient::wait_closed_by_peer(std::chrono::milliseconds deadline) {
  // Discards whatever the server still sends until it closes.
  char scratch[4096];
  stream_.expires_after(deadline);
  for (;;) {
    boost::system::error_code result = net::error::would_block;
    stream_.async_read_some(net::buffer(scratch),
                            [&result](boost::system::error_code ec, std::size_t) { result = ec; });
    ioc_.restart();
    ioc_.run();
    if (!result) {
      continue;
    }
    return result == net::error::eof || result == net::error::connection_reset ||
           result == bhttp::error::end_of_stream;
  }
}

}  // namespace pushgate::test
