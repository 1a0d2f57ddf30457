// bounds_bench: memory does not follow the clients. N terminals upload one
// large ATTLOG body each, all at once, to an in-process gateway over
// loopback HTTP; an upload answered 503 (the in-flight body budget is full)
// is sent again after a short pause, as a terminal does after ErrorDelay.
// Prints the process's peak RSS (VmHWM) and checks that every upload was
// answered OK in the end and that the store holds every line sent.
//
// Each terminal connects from its own loopback address (127.0.0.1-50), as
// terminals on a site LAN do. The client shares one body text between all
// uploads (the serial number tells them apart), so the peak is the gateway's.
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>

#include "tests/bench/proc_stats.hpp"
#include "tests/support/gateway_harness.hpp"

namespace {

namespace net = boost::asio;
namespace bhttp = boost::beast::http;
using tcp = net::ip::tcp;

struct Options {
  std::size_t uploads = 100;
  std::size_t bytes = 2000000;  // under the default 2 MiB body limit
  std::size_t max_rss_mb = 200;
  std::string dir;
};

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i];
    std::string v = argv[i + 1];
    if (k == "--uploads") {
      o.uploads = std::stoul(v);
    } else if (k == "--bytes") {
      o.bytes = std::stoul(v);
    } else if (k == "--max-rss-mb") {
      o.max_rss_mb = std::stoul(v);
    } else if (k == "--dir") {
      o.dir = v;
    } else {
      std::fprintf(stderr,
                   "usage: bounds_bench [--uploads N] [--bytes B] [--max-rss-mb M] [--dir D]\n");
      std::exit(2);
    }
  }
  return o;
}

/** ATTLOG lines up to `bytes`: distinct (PIN, time) keys. Sets `lines`. */
std::string attlog_body(std::size_t bytes, std::size_t& lines) {
  std::string out;
  out.reserve(bytes);
  lines = 0;
  for (;;) {
    std::size_t s = lines;
    char line[96];
    // One punch a second from 2024-01-01 00:00:00: every time is distinct.
    int n =
        std::snprintf(line, sizeof line, "%zu\t2024-01-%02zu %02zu:%02zu:%02zu\t0\t1\t0\t0\t0\n",
                      1000 + s % 500, 1 + (s / 86400) % 28, (s / 3600) % 24, (s / 60) % 60, s % 60);
    if (out.size() + static_cast<std::size_t>(n) > bytes) {
      return out;
    }
    out.append(line, static_cast<std::size_t>(n));
    ++lines;
  }
}

struct Tally {
  std::atomic<std::size_t> ok{0};
  std::atomic<std::size_t> busy{0};    // 503 answers, retried
  std::atomic<std::size_t> broken{0};  // connection errors, retried
  std::atomic<std::size_t> wrong{0};   // any other answer: a failure
};

// One terminal: sends its upload until it is answered OK.
void upload(std::uint16_t port, std::size_t index, const std::string& body, std::size_t lines,
            Tally& tally) {
  const std::string sn = "BOUNDS" + std::to_string(1000 + index);
  const std::string head = "POST /iclock/cdata?SN=" + sn +
                           "&table=ATTLOG&Stamp=1 HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                           "Content-Length: " +
                           std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n";
  const std::string expected = "OK: " + std::to_string(lines);
  const auto source = net::ip::make_address_v4("127.0.0." + std::to_string(1 + index % 50));
  for (;;) {
    try {
      net::io_context ioc;
      tcp::socket socket(ioc);
      socket.open(tcp::v4());
      socket.bind(tcp::endpoint(source, 0));
      socket.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
      std::vector<net::const_buffer> request{net::buffer(head), net::buffer(body)};
      net::write(socket, request);
      boost::beast::flat_buffer buffer;
      bhttp::response<bhttp::string_body> res;
      bhttp::read(socket, buffer, res);
      if (res.result_int() == 200 && res.body() == expected) {
        tally.ok.fetch_add(1);
        return;
      }
      if (res.result_int() != 503) {
        std::fprintf(stderr, "%s: unexpected answer %u %s\n", sn.c_str(), res.result_int(),
                     res.body().c_str());
        tally.wrong.fetch_add(1);
        return;
      }
      tally.busy.fetch_add(1);
    } catch (const std::exception&) {
      tally.broken.fetch_add(1);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

}  // namespace

int main(int argc, char** argv) {
  Options o = parse(argc, argv);
  std::size_t lines = 0;
  const std::string body = attlog_body(o.bytes, lines);
  pushgate::test::TempDir tmp;
  std::filesystem::path dir = o.dir.empty() ? tmp.path() : std::filesystem::path(o.dir);
  std::filesystem::create_directories(dir);
  std::printf("bounds_bench: %zu uploads of %zu bytes (%zu ATTLOG lines) at once\n", o.uploads,
              body.size(), lines);

  Tally tally;
  double before_mb = 0;
  double peak_mb = 0;
  double after_mb = 0;
  std::int64_t stored = 0;
  double seconds = 0;
  {
    pushgate::test::GatewayHarness h({"zkpush.commit_timeout_ms=60000"}, dir / "gateway");
    before_mb = pushgate::bench::status_mb(::getpid(), "VmRSS");
    auto start = std::chrono::steady_clock::now();
    std::vector<std::thread> terminals;
    for (std::size_t i = 0; i < o.uploads; ++i) {
      terminals.emplace_back(upload, h.zkpush_port(), i, std::cref(body), lines, std::ref(tally));
    }
    for (auto& t : terminals) {
      t.join();
    }
    seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    peak_mb = pushgate::bench::status_mb(::getpid(), "VmHWM");
    after_mb = pushgate::bench::status_mb(::getpid(), "VmRSS");
    stored = h.query_int("SELECT COUNT(*) FROM events");
  }
  const auto sent = static_cast<std::int64_t>(o.uploads * lines);
  std::printf(
      "peak RSS %.0f MB (before uploads %.0f MB, after %.0f MB); %zu uploads OK, %zu answers 503"
      " retried, %zu connection errors retried, %zu wrong answers; %lld lines sent, %lld stored;"
      " %.1f s\n",
      peak_mb, before_mb, after_mb, tally.ok.load(), tally.busy.load(), tally.broken.load(),
      tally.wrong.load(), static_cast<long long>(sent), static_cast<long long>(stored), seconds);
  bool pass = tally.ok.load() == o.uploads && tally.wrong.load() == 0 && stored == sent &&
              peak_mb < static_cast<double>(o.max_rss_mb);
  std::printf("%s (peak RSS limit %zu MB)\n", pass ? "PASS" : "FAIL", o.max_rss_mb);
  return pass ? 0 : 1;
}
