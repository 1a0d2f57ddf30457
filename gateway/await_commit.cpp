#include "gateway/await_commit.hpp"

#include <memory>
#include <optional>

#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace pushgate {

namespace net = boost::asio;

net::awaitable<CommitResult> await_commit(EventLog* log, WriteBatch batch,
                                          net::any_io_executor ex) {
  if (log == nullptr) {
    CommitResult r;
    r.ec = boost::system::errc::make_error_code(boost::system::errc::not_supported);
    co_return r;
  }
  // The completion runs on the writer thread and may outlive this frame's
  // wait in theory (it never does: the loop below waits for it), so what it
  // writes lives in a shared block.
  struct Wait {
    explicit Wait(const net::any_io_executor& e) : timer(e) {}
    net::steady_timer timer;
    std::optional<CommitResult> result;
  };
  auto wait = std::make_shared<Wait>(ex);
  wait->timer.expires_at(net::steady_timer::time_point::max());
  log->append(std::move(batch), [wait, ex](CommitResult r) {
    net::post(ex, [wait, r = std::move(r)]() mutable {
      wait->result = std::move(r);
      wait->timer.cancel();
    });
  });
  boost::system::error_code ec;
  while (!wait->result) {
    co_await wait->timer.async_wait(net::redirect_error(net::use_awaitable, ec));
  }
  co_return std::move(*wait->result);
}

}  // namespace pushgate
