#pragma once

// Pieces every vendor link set shares (a Dahua device per link, a BioStar 2
// server per link, ...): the TLS client context that verifies the peer, the
// gauge of links by state, and the command pusher that hands a serial's
// queued commands to the link that reaches it.

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/ssl/context.hpp>
#include <boost/system/error_code.hpp>

#include "gateway/command_queue.hpp"
#include "gateway/metrics/metrics.hpp"

namespace pushgate {

/**
 * A TLS client context (OpenSSL's default protocol versions). `verify`: the peer's certificate is
 * checked against `ca_file` (PEM; the CA or the device's own certificate), or the system's trust
 * store when it is empty. Without `verify` nothing is checked (the caller says so loudly). `ec` is
 * set when the CA file cannot be loaded.
 */
std::shared_ptr<boost::asio::ssl::context> tls_client_context(const std::string& ca_file,
                                                              bool verify,
                                                              boost::system::error_code& ec);

/**
 * `name{state="..."}`: how many of `links` are in each state (the index of
 * `states` is the value of `Link::state()`). Held weakly: the registry
 * outlives the adapter and the io_context its links' timers belong to.
 */
template <class Link, std::size_t N>
void register_link_states(metrics::Registry& m, const std::string& name, const std::string& help,
                          const std::vector<std::shared_ptr<Link>>& links,
                          const char* const (&states)[N]) {
  const std::vector<std::weak_ptr<Link>> weak(links.begin(), links.end());
  for (std::size_t s = 0; s < N; ++s) {
    m.callback_gauge(name, help,
                     [weak, s] {
                       double n = 0;
                       for (const auto& w : weak) {
                         if (auto l = w.lock(); l && static_cast<std::size_t>(l->state()) == s) {
                           n += 1;
                         }
                       }
                       return n;
                     },
                     {{"state", states[s]}});
  }
}

/**
 * The command pusher of a set of links: `sn`'s commands belong to the links
 * whose `owns(sn)` is true, and their `commands_ready(sn)` is told when some
 * are queued (or come back for another attempt). Links held weakly.
 */
template <class Link>
CommandQueue::Pusher link_pusher(const std::vector<std::shared_ptr<Link>>& links) {
  const std::vector<std::weak_ptr<Link>> weak(links.begin(), links.end());
  CommandQueue::Pusher pusher;
  pusher.owns = [weak](std::string_view sn) {
    for (const auto& w : weak) {
      if (auto l = w.lock(); l && l->owns(sn)) {
        return true;
      }
    }
    return false;
  };
  pusher.ready = [weak](const std::string& sn) {
    for (const auto& w : weak) {
      if (auto l = w.lock(); l && l->owns(sn)) {
        l->commands_ready(sn);
      }
    }
  };
  return pusher;
}

}  // namespace pushgate
