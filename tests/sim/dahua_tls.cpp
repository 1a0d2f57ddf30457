// HTTPS for the simulated Dahua device: a device with HTTPS enabled serves
// the same CGI API over TLS on 443 with its self-signed or an uploaded
// certificate [assumed: tests/sim/README.md, "Dahua device"]. Here a
// TLS front on the device's public port does the server handshake with the
// configured certificate and then relays the bytes both ways to the device's
// own HTTP server on an internal loopback port: every request, stream and
// quirk is the same as over HTTP. Device thread only.

#include "tests/sim/dahua_device_impl.hpp"  // first: <utility> before asio (see there)

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <array>

namespace pushgate::sim::dahua {
namespace {

using boost::system::error_code;
namespace ssl = net::ssl;
using TlsStream = ssl::stream<tcp::socket>;

constexpr auto kAwait = net::use_awaitable;

/** Client to device: bytes read from TLS written to the HTTP server, until either side ends. */
net::awaitable<void> relay_up(std::shared_ptr<TlsStream> tls, std::shared_ptr<tcp::socket> inner) {
  std::array<char, 16 * 1024> buf{};
  for (;;) {
    error_code ec;
    const auto n = co_await tls->async_read_some(net::buffer(buf), net::redirect_error(kAwait, ec));
    if (n > 0) {
      error_code wec;
      co_await net::async_write(*inner, net::buffer(buf.data(), n),
                                net::redirect_error(kAwait, wec));
      if (wec) {
        break;
      }
    }
    if (ec) {
      break;
    }
  }
  error_code ignored;
  inner->shutdown(tcp::socket::shutdown_send, ignored);  // the client is done sending
}

}  // namespace

void DahuaDevice::Impl::start_tls() {
  tls = std::make_unique<ssl::context>(ssl::context::tls_server);
  tls->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                   ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
  tls->use_certificate_chain_file(config.tls_cert_file);  // throws: startup only
  tls->use_private_key_file(config.tls_key_file, ssl::context::pem);
  start_tls_accepting();
}

void DahuaDevice::Impl::start_tls_accepting() {
  const tcp::endpoint ep(net::ip::make_address("127.0.0.1"), tls_port);
  tls_acceptor.open(ep.protocol());
  tls_acceptor.set_option(tcp::acceptor::reuse_address(true));
  tls_acceptor.bind(ep);
  tls_acceptor.listen();
  tls_port = tls_acceptor.local_endpoint().port();
  net::co_spawn(ioc, tls_accept_loop(), net::detached);
}

net::awaitable<void> DahuaDevice::Impl::tls_accept_loop() {
  for (;;) {
    tcp::socket socket(ioc);
    error_code ec;
    co_await tls_acceptor.async_accept(socket, net::redirect_error(kAwait, ec));
    if (ec) {
      if (!tls_acceptor.is_open()) {
        co_return;
      }
      continue;
    }
    socket.set_option(tcp::no_delay(true), ec);
    net::co_spawn(ioc, tls_session(std::move(socket)), net::detached);
  }
}

net::awaitable<void> DahuaDevice::Impl::tls_session(tcp::socket socket) {
  auto stream = std::make_shared<TlsStream>(std::move(socket), *tls);
  // Known to reboot and the destructor like every other connection.
  std::erase_if(connections, [](const auto& w) { return w.expired(); });
  connections.push_back(std::shared_ptr<tcp::socket>(stream, &stream->next_layer()));
  ++owner.tls_handshakes_;
  error_code ec;
  {
    // A client that never finishes the handshake does not hold the device.
    net::steady_timer limit(ioc);
    limit.expires_after(std::chrono::seconds(10));
    limit.async_wait([stream](error_code wait_ec) {
      if (!wait_ec) {
        error_code ignored;
        stream->next_layer().close(ignored);
      }
    });
    co_await stream->async_handshake(ssl::stream_base::server, net::redirect_error(kAwait, ec));
    limit.cancel();
  }
  if (ec) {
    ++owner.tls_failures_;
    error_code ignored;
    stream->next_layer().close(ignored);
    co_return;
  }
  auto inner = std::make_shared<tcp::socket>(ioc);
  co_await inner->async_connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port),
                                net::redirect_error(kAwait, ec));
  if (ec || stopping) {
    error_code ignored;
    stream->next_layer().close(ignored);
    co_return;
  }
  inner->set_option(tcp::no_delay(true), ec);
  connections.push_back(inner);
  net::co_spawn(ioc, relay_up(stream, inner), net::detached);
  // Device to client, until the HTTP server closes (a response with
  // Connection: close, a stream cut, a reboot).
  std::array<char, 16 * 1024> buf{};
  for (;;) {
    const auto n =
        co_await inner->async_read_some(net::buffer(buf), net::redirect_error(kAwait, ec));
    if (n > 0) {
      error_code wec;
      co_await net::async_write(*stream, net::buffer(buf.data(), n),
                                net::redirect_error(kAwait, wec));
      if (wec) {
        break;
      }
    }
    if (ec) {
      break;
    }
  }
  // The server closed: so does the TLS side, without close_notify (every
  // answer before it had its length or its last chunk; a cut stream is cut).
  error_code ignored;
  inner->close(ignored);
  stream->next_layer().close(ignored);
}

}  // namespace pushgate::sim::dahua
