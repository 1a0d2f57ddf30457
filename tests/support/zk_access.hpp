#pragma once

// A simulated ZKTeco Security PUSH terminal (tests/sim) for tests that need
// one beside other devices: started against the gateway's zkpush port and
// registered, and a remote identification asked from it (§10).

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <utility>

#include "tests/sim/access_terminal.hpp"
#include "tests/support/io_thread.hpp"

namespace pushgate::test {

/**
 * A started access terminal `sn` polling `port` quickly. `log_passages`: it
 * logs and uploads its remote-identification passages (rtlog 222). Returns
 * once it has polled: verdicts go to registered terminals only.
 */
inline std::shared_ptr<sim::AccessTerminal> start_zk_access_terminal(IoThread& io,
                                                                     std::uint16_t port,
                                                                     std::string sn,
                                                                     bool log_passages = false) {
  using namespace std::chrono_literals;
  sim::AccessTerminalConfig c;
  c.serial_number = std::move(sn);
  c.log_remote_auth_passages = log_passages;
  c.http.port = port;
  c.http.timeout = 5s;
  c.poll_interval = 50ms;
  c.error_delay = 50ms;
  auto term = sim::AccessTerminal::create(io.ioc(), c);
  term->start();
  EXPECT_TRUE(term->wait_until([](const auto& s) { return s.polls >= 1; }, 10s))
      << c.serial_number << " never came online";
  return term;
}

/** `pin` asks at `t` to pass (in_out 0 = entry, 1 = exit) by remote identification. */
inline sim::RemoteAuthResult remote_identify(sim::AccessTerminal& t, const std::string& pin,
                                             int in_out) {
  using namespace std::chrono_literals;
  sim::RemoteAuthRequest req;
  req.pin = pin;
  req.inoutstatus = in_out;
  req.verifytype = 1;
  return t.identify_sync(req, 10s);
}

/** The `event=` of the record a remote identification's answer echoes: the reason code. */
inline std::string remote_event_of(const sim::RemoteAuthResult& r) {
  return sim::find_field(r.answer.event, "event").value_or("<none>");
}

}  // namespace pushgate::test
