#pragma once

// Small helpers shared by the parts of AuthService (auth_service.cpp,
// user_routes.cpp); not an interface of pushgate_auth.

#include <functional>
#include <string>
#include <string_view>
#include <utility>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/post.hpp>

#include "gateway/http/server.hpp"
#include "gateway/store/store.hpp"

namespace pushgate::auth::detail {

/** Where a request came from, for logs and audit events. */
inline std::string address_of(const http::RequestInfo& info) {
  if (info.trusted) {
    return "internal";
  }
  return info.remote.address().to_string();
}

/** The value of cookie `name` in the request's Cookie headers, or "". */
inline std::string cookie_value(const http::Request& req, std::string_view name) {
  auto [first, last] = req.equal_range(boost::beast::http::field::cookie);
  for (auto field = first; field != last; ++field) {
    std::string_view v = field->value();
    while (!v.empty()) {
      auto semi = v.find(';');
      auto pair = v.substr(0, semi);
      v = semi == std::string_view::npos ? std::string_view() : v.substr(semi + 1);
      while (!pair.empty() && pair.front() == ' ') {
        pair.remove_prefix(1);
      }
      auto eq = pair.find('=');
      if (eq != std::string_view::npos && pair.substr(0, eq) == name) {
        return std::string(pair.substr(eq + 1));
      }
    }
  }
  return {};
}

/** Runs `op` on the store's writer; `done(ec)` on `ex`. */
template <class Done>
void write(store::Store& store, std::function<boost::system::error_code(store::Connection&)> op,
           boost::asio::any_io_executor ex, Done done) {
  WriteBatch batch;
  batch.ops.push_back([op = std::move(op)](store::WriteContext& ctx) { return op(ctx.db()); });
  store.append(std::move(batch), [ex, done = std::move(done)](CommitResult r) mutable {
    boost::asio::post(ex, [done = std::move(done), ec = r.ec]() mutable { done(ec); });
  });
}

}  // namespace pushgate::auth::detail
