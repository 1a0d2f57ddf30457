#pragma once
// An io_context run by one background thread for the life of the object:
// where integration tests run simulated terminals and other clients.
// Test support only; never linked into pushgated.

#include <optional>
#include <thread>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

namespace pushgate::test {

class IoThread {
 public:
  IoThread() : thread_([this] { ioc_.run(); }) {}
  ~IoThread() {
    work_.reset();
    ioc_.stop();
    thread_.join();
  }
  IoThread(const IoThread&) = delete;
  IoThread& operator=(const IoThread&) = delete;

  boost::asio::io_context& ioc() noexcept { return ioc_; }

 private:
  boost::asio::io_context ioc_;
  // Built before the thread starts (members initialise in this order), so
  // run() never returns early for want of work.
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_{
      ioc_.get_executor()};
  std::thread thread_;
};

}  // namespace pushgate::test
