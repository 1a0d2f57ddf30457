// The simulated Dahua access controller: HTTP server, shared state, event
// source, stream, reboot. See dahua_device.hpp; sources of every behaviour
// are in tests/sim/README.md ("Dahua device").

#include "tests/sim/dahua_device.hpp"

#include "tests/sim/dahua_cgi.hpp"
#include "tests/sim/dahua_device_impl.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <future>
#include <stdexcept>

namespace pushgate::sim::dahua {
namespace {
namespace beast = boost::beast;
namespace http = beast::http;
using boost::system::error_code;

constexpr auto kAwait = net::use_awaitable;

}  // namespace

// ---------------------------------------------------------------------------
// Construction, threads, lifetime

DahuaDevice::Impl::Impl(DahuaDevice& o, const DahuaDeviceConfig& c)
    : owner(o),
      config(c),
      acceptor(ioc),
      tls_acceptor(ioc),
      digest(DigestPolicy{c.realm.empty() ? "Login to " + c.serial : c.realm, c.user, c.password,
                          c.nonce_lifetime, c.nonce_max_uses, c.lock_after_failures,
                          c.lock_duration}),
      clock_offset(c.clock_offset),
      old_firmware(c.old_firmware),
      doors(static_cast<std::size_t>(std::max(1, c.doors)), "Close"),
      generator_timer(ioc),
      push_wake(ioc),
      reboot_timer(ioc),
      work(ioc.get_executor()) {}

DahuaDevice::DahuaDevice(DahuaDeviceConfig config) : config_(std::move(config)) {
  impl_ = std::make_unique<Impl>(*this, config_);
  if (!config_.ledger_path.empty()) {
    std::string error;
    impl_->ledger = Ledger::open(config_.ledger_path, error);
    if (!impl_->ledger) {
      throw std::runtime_error(error);
    }
  }
  const bool https = !config_.tls_cert_file.empty() && !config_.tls_key_file.empty();
  impl_->port = https ? 0 : config_.port;
  impl_->start_accepting();  // throws on bind failure (startup only)
  port_ = impl_->port;
  if (https) {
    impl_->tls_port = config_.port;
    impl_->start_tls();
    port_ = impl_->tls_port;
  }
  up_ = true;
  boots_ = 1;
  if (config_.push) {
    net::co_spawn(impl_->ioc, impl_->run_push(), net::detached);
  }
  impl_->thread = std::thread([this] { impl_->ioc.run(); });
}

DahuaDevice::~DahuaDevice() {
  // Closes every socket and timer so each coroutine ends by itself, then
  // lets the device thread drain: no coroutine frame outlives the objects
  // it refers to.
  net::post(impl_->ioc, [this] {
    auto& i = *impl_;
    i.stopping = true;
    error_code ec;
    i.acceptor.close(ec);
    i.tls_acceptor.close(ec);
    for (auto& weak : i.connections) {
      if (auto s = weak.lock()) {
        s->shutdown(tcp::socket::shutdown_both, ec);
        s->close(ec);
      }
    }
    for (const auto& s : i.streams) {
      s->closed = true;
      s->socket->close(ec);
      s->wake.cancel();
    }
    ++i.generator_epoch;
    i.generator_remaining = 0;
    i.generator_timer.cancel();
    i.push_wake.cancel();
    i.reboot_timer.cancel();
    if (i.push_socket != nullptr) {
      i.push_socket->close(ec);
    }
  });
  impl_->work.reset();
  impl_->thread.join();
  impl_->ledger.reset();
}

void DahuaDevice::Impl::start_accepting() {
  const tcp::endpoint ep(net::ip::make_address("127.0.0.1"), port);
  acceptor.open(ep.protocol());
  acceptor.set_option(tcp::acceptor::reuse_address(true));
  acceptor.bind(ep);
  acceptor.listen();
  port = acceptor.local_endpoint().port();
  net::co_spawn(ioc, accept_loop(), net::detached);
}

net::awaitable<void> DahuaDevice::Impl::accept_loop() {
  for (;;) {
    auto socket = std::make_shared<tcp::socket>(ioc);
    error_code ec;
    co_await acceptor.async_accept(*socket, net::redirect_error(kAwait, ec));
    if (ec) {
      if (!acceptor.is_open()) {
        co_return;
      }
      continue;
    }
    socket->set_option(tcp::no_delay(true), ec);
    std::erase_if(connections, [](const auto& w) { return w.expired(); });
    connections.push_back(socket);
    net::co_spawn(ioc, session(socket), net::detached);
  }
}

// ---------------------------------------------------------------------------
// Reboot

void DahuaDevice::Impl::do_reboot(std::optional<std::chrono::milliseconds> down_for) {
  error_code ec;
  acceptor.close(ec);
  tls_acceptor.close(ec);
  for (auto& weak : connections) {
    if (auto s = weak.lock()) {
      s->shutdown(tcp::socket::shutdown_both, ec);
      s->close(ec);
    }
  }
  connections.clear();
  for (const auto& s : streams) {
    s->closed = true;
    s->wake.cancel();
  }
  {
    std::lock_guard lock(mu);
    digest.forget_nonces();
    finds.clear();
  }
  owner.up_ = false;
  push_wake.cancel();
  // A reboot asked for by a request whose answer was still being written
  // when the device was destroyed must not power it on again: the armed
  // timer would keep the device thread from ever ending.
  if (down_for && !stopping) {
    reboot_timer.expires_after(*down_for);
    reboot_timer.async_wait([this](error_code wait_ec) {
      if (!wait_ec) {
        do_power_on();
      }
    });
  }
}

void DahuaDevice::Impl::do_power_on() {
  if (owner.up_ || stopping) {
    return;
  }
  reboot_timer.cancel();
  try {
    start_accepting();
    if (tls) {
      start_tls_accepting();
    }
  } catch (const std::exception&) {
    // The port was taken while the device was down: it stays down (a test
    // would see connection refused and fail on its own terms).
    return;
  }
  owner.up_ = true;
  ++owner.boots_;
  push_wake.cancel();
}

void DahuaDevice::reboot(std::optional<std::chrono::milliseconds> down_for) {
  std::promise<void> done;
  net::post(impl_->ioc, [this, down_for, &done] {
    impl_->do_reboot(down_for);
    done.set_value();
  });
  done.get_future().wait();
}

void DahuaDevice::power_on() {
  std::promise<void> done;
  net::post(impl_->ioc, [this, &done] {
    impl_->do_power_on();
    done.set_value();
  });
  done.get_future().wait();
}

void DahuaDevice::drop_streams() {
  std::promise<void> done;
  net::post(impl_->ioc, [this, &done] {
    error_code ec;
    for (const auto& s : impl_->streams) {
      s->closed = true;
      s->socket->shutdown(tcp::socket::shutdown_both, ec);
      s->socket->close(ec);
      s->wake.cancel();
    }
    done.set_value();
  });
  done.get_future().wait();
}

// ---------------------------------------------------------------------------
// Records and the event source

std::int64_t DahuaDevice::Impl::now_locked() const {
  const auto real = std::chrono::duration_cast<std::chrono::seconds>(
      std::chrono::system_clock::now().time_since_epoch());
  return (real + clock_offset).count();
}

Record DahuaDevice::Impl::add_record(Record record) {
  {
    std::lock_guard lock(mu);
    if (record.create_time == 0) {
      record.create_time = now_locked();
    }
    record.rec_no = record.table == Table::Access ? next_access_rec++ : next_alarm_rec++;
    record.fields["RecNo"] = static_cast<std::int64_t>(record.rec_no);
    record.fields["CreateTime"] = record.create_time;
    if (record.table == Table::Access) {
      record.fields["UTC"] = record.create_time;
    }
    (record.table == Table::Access ? access : alarms).push_back(record);
    if (config.push) {
      push_queue.push_back(record);
    }
    if (ledger) {
      std::string line = std::string(table_name(record.table)) + "\t" +
                         std::to_string(record.rec_no) + "\t" + std::to_string(record.create_time) +
                         "\t" + record.code + "\t";
      if (const auto it = record.fields.find("UserID"); it != record.fields.end()) {
        line += value_text(it->second);
      }
      ledger->append(config.serial, {line}, ioc.get_executor(), [](error_code) {});
    }
  }
  StreamQuirks quirks;
  {
    std::lock_guard lock(mu);
    quirks = stream_quirks;
  }
  net::post(ioc, [this, record, quirks] {
    deliver(record, quirks);
    push_wake.cancel();
  });
  return record;
}

Record DahuaDevice::generate_access(const AccessSpec& spec) {
  Record r;
  r.table = Table::Access;
  r.code = "AccessControl";
  r.action = "Pulse";
  r.index = spec.door;
  r.create_time = spec.create_time.value_or(0);
  r.fields = {
      {"AttendanceState", static_cast<std::int64_t>(spec.attendance_state)},
      {"CardName", spec.card_name},
      {"CardNo", spec.card_no},
      {"CardType", std::int64_t{0}},
      {"Door", static_cast<std::int64_t>(spec.door)},
      {"ErrorCode", static_cast<std::int64_t>(spec.granted ? 0 : spec.error_code)},
      {"Method", static_cast<std::int64_t>(spec.method)},
      {"ReaderID", spec.reader_id},
      {"Status", std::int64_t{spec.granted ? 1 : 0}},
      {"Type", spec.type},
      {"UserID", spec.user_id},
      {"UserType", std::int64_t{0}},
  };
  return impl_->add_record(std::move(r));
}

Record DahuaDevice::generate_alarm(const AlarmSpec& spec) {
  Record r;
  r.table = Table::Alarm;
  r.code = spec.code;
  r.action = spec.action;
  r.index = spec.door;
  r.create_time = spec.create_time.value_or(0);
  r.fields = {
      {"Door", static_cast<std::int64_t>(spec.door)},
      {"Event", spec.code},
      {"Action", spec.action},
      {"UserID", spec.user_id},
  };
  return impl_->add_record(std::move(r));
}

net::awaitable<void> DahuaDevice::Impl::run_generator(std::uint64_t epoch) {
  auto next = std::chrono::steady_clock::now();
  std::uint64_t n = 0;
  while (generator_remaining > 0 && epoch == generator_epoch) {
    next += generator_period;
    generator_timer.expires_at(next);
    error_code ec;
    co_await generator_timer.async_wait(net::redirect_error(kAwait, ec));
    if (epoch != generator_epoch || generator_remaining == 0) {
      co_return;
    }
    ++n;
    if (generator_alarm_every != 0 && n % generator_alarm_every == 0) {
      static const char* kAlarms[] = {"BreakIn", "DoorNotClosed", "Duress", "ChassisIntruded",
                                      "AlarmLocal"};
      AlarmSpec a;
      a.code = kAlarms[generator_rng() % 5];
      a.action = a.code == std::string("Duress") ? "Pulse" : "Start";
      a.door = static_cast<int>(generator_rng() % doors.size());
      owner.generate_alarm(a);
    } else {
      AccessSpec s;
      s.granted = generator_rng() % 5 != 0;
      s.error_code = s.granted ? 0 : 16;
      static const int kMethods[] = {1, 6, 15, 0};
      s.method = kMethods[generator_rng() % 4];
      s.door = static_cast<int>(generator_rng() % doors.size());
      s.reader_id = std::to_string(s.door * 2 + 1 + static_cast<int>(generator_rng() % 2));
      s.user_id = std::to_string(1 + generator_rng() % 50);
      char card[16];
      std::snprintf(card, sizeof card, "%08llX",
                    static_cast<unsigned long long>(generator_rng() & 0xFFFFFFFF));
      s.card_no = card;
      s.type = generator_rng() % 2 == 0 ? "Entry" : "Exit";
      s.attendance_state = static_cast<int>(generator_rng() % 4);
      owner.generate_access(s);
    }
    --generator_remaining;
  }
}

void DahuaDevice::start_generator(double per_second, std::size_t count, std::uint64_t seed,
                                  std::size_t alarm_every) {
  impl_->generator_remaining = count;  // visible to the caller at once
  net::post(impl_->ioc, [this, per_second, count, seed, alarm_every] {
    auto& i = *impl_;
    ++i.generator_epoch;
    i.generator_timer.cancel();
    i.generator_rng.seed(seed);
    i.generator_remaining = count;
    i.generator_alarm_every = alarm_every;
    i.generator_period =
        std::chrono::nanoseconds(static_cast<std::int64_t>(1e9 / std::max(per_second, 0.001)));
    net::co_spawn(i.ioc, i.run_generator(i.generator_epoch), net::detached);
  });
}

void DahuaDevice::stop_generator() {
  net::post(impl_->ioc, [this] {
    ++impl_->generator_epoch;
    impl_->generator_remaining = 0;
    impl_->generator_timer.cancel();
  });
}

std::size_t DahuaDevice::generator_remaining() const {
  return impl_->generator_remaining.load();
}

std::vector<Record> DahuaDevice::records(Table table) const {
  std::lock_guard lock(impl_->mu);
  return table == Table::Access ? impl_->access : impl_->alarms;
}

// ---------------------------------------------------------------------------
// Small accessors

std::string DahuaDevice::realm() const {
  std::lock_guard lock(impl_->mu);
  return impl_->digest.policy().realm;
}

std::int64_t DahuaDevice::device_now() const {
  std::lock_guard lock(impl_->mu);
  return impl_->now_locked();
}

void DahuaDevice::set_clock_offset(std::chrono::seconds offset) {
  std::lock_guard lock(impl_->mu);
  impl_->clock_offset = offset;
}

std::chrono::seconds DahuaDevice::clock_offset() const {
  std::lock_guard lock(impl_->mu);
  return impl_->clock_offset;
}

void DahuaDevice::set_stream_quirks(const StreamQuirks& quirks) {
  {
    std::lock_guard lock(impl_->mu);
    impl_->stream_quirks = quirks;
  }
  net::post(impl_->ioc, [this, quirks] {
    impl_->io_quirks = quirks;
    for (const auto& s : impl_->streams) {
      s->wake.cancel();
    }
  });
}

void DahuaDevice::set_finder_quirks(const FinderQuirks& quirks) {
  std::lock_guard lock(impl_->mu);
  impl_->finder_quirks = quirks;
}

void DahuaDevice::set_old_firmware(bool old) {
  std::lock_guard lock(impl_->mu);
  impl_->old_firmware = old;
}

AuthStats DahuaDevice::auth_stats() const {
  std::lock_guard lock(impl_->mu);
  return impl_->digest.stats(std::chrono::steady_clock::now());
}

void DahuaDevice::expire_nonces() {
  std::lock_guard lock(impl_->mu);
  impl_->digest.expire_nonces();
}

void DahuaDevice::unlock_account() {
  std::lock_guard lock(impl_->mu);
  impl_->digest.unlock();
}

void DahuaDevice::set_password(const std::string& password) {
  std::lock_guard lock(impl_->mu);
  auto policy = impl_->digest.policy();
  policy.password = password;
  impl_->digest.set_policy(policy);
}

std::string DahuaDevice::door_status(int door) const {
  std::lock_guard lock(impl_->mu);
  if (door < 0 || static_cast<std::size_t>(door) >= impl_->doors.size()) {
    return {};
  }
  return impl_->doors[static_cast<std::size_t>(door)];
}

void DahuaDevice::set_door_status(int door, const std::string& status) {
  std::lock_guard lock(impl_->mu);
  if (door >= 0 && static_cast<std::size_t>(door) < impl_->doors.size()) {
    impl_->doors[static_cast<std::size_t>(door)] = status;
  }
}

std::map<std::string, std::string> DahuaDevice::users() const {
  std::lock_guard lock(impl_->mu);
  std::map<std::string, std::string> out;
  for (const auto& [id, j] : impl_->users) {
    out[id] = j.dump();
  }
  return out;
}

std::map<std::string, std::string> DahuaDevice::cards() const {
  std::lock_guard lock(impl_->mu);
  std::map<std::string, std::string> out;
  for (const auto& [no, j] : impl_->cards) {
    out[no] = j.dump();
  }
  return out;
}

std::map<std::uint64_t, std::map<std::string, std::string>> DahuaDevice::legacy_cards() const {
  std::lock_guard lock(impl_->mu);
  return impl_->legacy_cards;
}

std::uint64_t DahuaDevice::requests_seen(const std::string& key) const {
  std::lock_guard lock(impl_->mu);
  const auto it = impl_->requests.find(key);
  return it == impl_->requests.end() ? 0 : it->second;
}

PushStats DahuaDevice::push_stats() const {
  std::lock_guard lock(impl_->mu);
  PushStats out = impl_->push;
  out.queued = impl_->push_queue.size();
  return out;
}

// ---------------------------------------------------------------------------
// Sessions and the stream

net::awaitable<void> DahuaDevice::Impl::session(std::shared_ptr<tcp::socket> socket) {
  beast::flat_buffer buffer;
  for (;;) {
    http::request_parser<http::string_body> parser;
    parser.header_limit(16 * 1024);
    parser.body_limit(4 * 1024 * 1024);
    error_code ec;
    co_await http::async_read(*socket, buffer, parser, net::redirect_error(kAwait, ec));
    if (ec) {
      co_return;
    }
    const auto& req = parser.get();
    Reply reply;
    {
      std::lock_guard lock(mu);
      reply = route_request(*this, req.method(), std::string(req.target()),
                            std::string(req[http::field::authorization]), req.body());
    }
    if (reply.access_event) {
      owner.generate_access(*reply.access_event);
    }
    if (reply.door_event) {
      // DoorStatus goes to the stream only; it is no record of either table.
      Record r;
      r.table = Table::Access;
      r.code = "DoorStatus";
      r.action = "Pulse";
      r.index = reply.door_event->first;
      {
        std::lock_guard lock(mu);
        r.create_time = now_locked();
      }
      r.fields = {{"Door", static_cast<std::int64_t>(r.index)},
                  {"Status", reply.door_event->second},
                  {"UTC", r.create_time}};
      StreamQuirks quirks;
      {
        std::lock_guard lock(mu);
        quirks = stream_quirks;
      }
      deliver(r, quirks);
    }
    if (reply.stream) {
      auto stream = std::make_shared<Stream>(socket);
      stream->codes = std::move(reply.stream_codes);
      stream->heartbeat = reply.heartbeat;
      co_await run_stream(std::move(stream));
      co_return;
    }
    http::response<http::string_body> res{static_cast<http::status>(reply.status), req.version()};
    res.set(http::field::server, "Webs");
    res.set(http::field::content_type, reply.content_type);
    if (!reply.www_authenticate.empty()) {
      res.set(http::field::www_authenticate, reply.www_authenticate);
    }
    res.keep_alive(req.keep_alive() && !reply.reboot_after);
    res.body() = std::move(reply.body);
    res.prepare_payload();
    co_await http::async_write(*socket, res, net::redirect_error(kAwait, ec));
    if (reply.reboot_after) {
      do_reboot(std::chrono::milliseconds(config.heartbeat_unit * 5));
      co_return;
    }
    if (ec || !res.keep_alive()) {
      socket->shutdown(tcp::socket::shutdown_send, ec);
      co_return;
    }
  }
}

void DahuaDevice::Impl::deliver(const Record& record, const StreamQuirks& quirks) {
  if (quirks.stall) {
    return;  // a stalled device sends nothing: the event is only in the record table
  }
  for (const auto& s : streams) {
    if (!s->closed && (s->codes.empty() || s->codes.count(record.code) != 0)) {
      s->pending.emplace_back(record, quirks);
      s->wake.cancel();
    }
  }
}

net::awaitable<void> DahuaDevice::Impl::run_stream(std::shared_ptr<Stream> s) {
  streams.insert(s);
  ++owner.streams_open_;
  error_code ec;
  const std::string header =
      "HTTP/1.1 200 OK\r\nServer: Webs\r\nContent-Type: multipart/x-mixed-replace; "
      "boundary=myboundary\r\nConnection: close\r\n\r\n";
  co_await net::async_write(*s->socket, net::buffer(header), net::redirect_error(kAwait, ec));
  // The client never sends on a stream; a read ending is the client leaving.
  net::co_spawn(
      ioc,
      [s]() -> net::awaitable<void> {
        char scratch[256];
        error_code read_ec;
        while (!read_ec) {
          co_await s->socket->async_read_some(net::buffer(scratch),
                                              net::redirect_error(kAwait, read_ec));
        }
        s->closed = true;
        s->wake.cancel();
      },
      net::detached);
  std::mt19937_64 split_rng;
  std::uint64_t seeded = 0;
  const auto write_part = [&](std::string body,
                              const StreamQuirks& q) -> net::awaitable<error_code> {
    std::string part = "--myboundary\r\nContent-Type: text/plain\r\n";
    if (q.content_length == StreamQuirks::Length::Correct) {
      part += "Content-Length: " + std::to_string(body.size()) + "\r\n";
    } else if (q.content_length == StreamQuirks::Length::Wrong) {
      part += "Content-Length: " + std::to_string(body.size() / 2) + "\r\n";
    }
    part += "\r\n" + body + "\r\n\r\n";
    if (q.split_seed != 0 && seeded != q.split_seed) {
      split_rng.seed(q.split_seed);
      seeded = q.split_seed;
    }
    error_code wec;
    std::size_t at = 0;
    while (at < part.size() && !wec) {
      std::size_t n = part.size() - at;
      if (q.split_chunk != 0) {
        n = q.split_seed != 0 ? 1 + split_rng() % q.split_chunk : q.split_chunk;
        n = std::min(n, part.size() - at);
      }
      co_await net::async_write(*s->socket, net::buffer(part.data() + at, n),
                                net::redirect_error(kAwait, wec));
      ++owner.stream_writes_;
      at += n;
    }
    co_return wec;
  };
  auto next_heartbeat = std::chrono::steady_clock::now() + s->heartbeat;
  while (!ec && !s->closed) {
    const StreamQuirks q = io_quirks;
    if (q.stall) {
      s->pending.clear();  // a stalled device sends nothing, live events are lost
    }
    // Heartbeats keep their period whatever the event traffic.
    const auto now = std::chrono::steady_clock::now();
    if (!q.hold && s->heartbeat.count() > 0 && now >= next_heartbeat) {
      next_heartbeat = now + s->heartbeat;
      if (!q.stall) {
        ec = co_await write_part("Heartbeat", q);
        if (!ec) {
          ++owner.heartbeats_;
        }
      }
      continue;
    }
    if (!q.hold && !s->pending.empty()) {
      std::vector<std::pair<Record, StreamQuirks>> batch(s->pending.begin(), s->pending.end());
      s->pending.clear();
      for (std::size_t i = 0; i < batch.size() && !ec;) {
        const StreamQuirks& part_quirks = batch[i].second;
        std::string body = event_text(batch[i].first, part_quirks);
        ++i;
        if (part_quirks.two_codes_per_part && i < batch.size()) {
          body += "\r\n" + event_text(batch[i].first, part_quirks);
          ++i;
        }
        ec = co_await write_part(std::move(body), part_quirks);
      }
      continue;
    }
    if (!q.hold && s->heartbeat.count() > 0) {
      s->wake.expires_at(next_heartbeat);
    } else {
      s->wake.expires_after(std::chrono::hours(24));
    }
    error_code wait_ec;
    co_await s->wake.async_wait(net::redirect_error(kAwait, wait_ec));
  }
  streams.erase(s);
  --owner.streams_open_;
  s->socket->close(ec);
}

}  // namespace pushgate::sim::dahua
