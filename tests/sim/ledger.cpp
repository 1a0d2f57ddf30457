#include "tests/sim/ledger.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <boost/asio/execution.hpp>
#include <boost/asio/post.hpp>
#include <cerrno>
#include <cstring>

namespace pushgate::sim {

namespace net = boost::asio;
using boost::system::error_code;

std::unique_ptr<Ledger> Ledger::open(const std::string& path, std::string& error) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) {
    error = "cannot open ledger " + path + ": " + std::strerror(errno);
    return nullptr;
  }
  return std::unique_ptr<Ledger>(new Ledger(fd));
}

Ledger::Ledger(int fd) : fd_(fd) {
  thread_ = std::thread([this] { run(); });
}

Ledger::~Ledger() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_one();
  thread_.join();
  ::close(fd_);
}

void Ledger::append(std::string serial_number, std::vector<std::string> lines,
                    const net::any_io_executor& executor, Done done) {
  {
    std::lock_guard lock(mutex_);
    queue_.push_back({std::move(serial_number), std::move(lines),
                      net::prefer(executor, net::execution::outstanding_work.tracked),
                      std::move(done)});
  }
  wake_.notify_one();
}

std::uint64_t Ledger::lines_written() const {
  std::lock_guard lock(mutex_);
  return lines_written_;
}

std::uint64_t Ledger::syncs() const {
  std::lock_guard lock(mutex_);
  return syncs_;
}

bool Ledger::failed() const {
  std::lock_guard lock(mutex_);
  return static_cast<bool>(failure_);
}

void Ledger::run() {
  std::deque<Job> batch;
  std::string buffer;
  for (;;) {
    error_code failure;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) {
        return;  // stopping_ and drained
      }
      batch.swap(queue_);
      failure = failure_;
    }

    std::uint64_t line_count = 0;
    if (!failure) {
      buffer.clear();
      for (const Job& job : batch) {
        for (const std::string& line : job.lines) {
          buffer.append(job.serial_number).append("\t").append(line).append("\n");
          ++line_count;
        }
      }
      // Short writes and EINTR are retried; anything else fails the ledger.
      std::size_t off = 0;
      while (off < buffer.size()) {
        const ssize_t n = ::write(fd_, buffer.data() + off, buffer.size() - off);
        if (n < 0) {
          if (errno == EINTR) {
            continue;
          }
          failure = error_code(errno, boost::system::system_category());
          break;
        }
        off += static_cast<std::size_t>(n);
      }
      // The point of the ledger: the line is durable before anyone counts it
      // acknowledged, so a crash of the simulator never overstates acks.
      if (!failure && ::fsync(fd_) != 0) {
        failure = error_code(errno, boost::system::system_category());
      }
    }

    {
      std::lock_guard lock(mutex_);
      if (failure) {
        failure_ = failure;
      } else {
        lines_written_ += line_count;
        ++syncs_;
      }
    }
    for (Job& job : batch) {
      net::post(job.executor, [done = std::move(job.done), failure] { done(failure); });
    }
    batch.clear();
  }
}

}  // namespace pushgate::sim
