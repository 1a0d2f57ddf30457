// Gap backfill (issue 15, item 2): some 2.x attendance firmware does not
// re-upload punches made while the server could not be reached. A simulated
// terminal with that quirk punches while pushgated is down; once pushgated is
// back (same data directory, same port), the gap is queried and nothing is
// lost. A terminal that does re-send them ends with each record stored once.
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "tests/sim/attendance_terminal.hpp"
#include "tests/support/gateway_harness.hpp"
#include "tests/support/io_thread.hpp"
#include "tests/support/processes.hpp"

namespace pushgate::test {
namespace {

using namespace std::chrono_literals;
using sim::AttendanceTerminal;
using sim::AttendanceTerminalConfig;
using sim::TerminalStats;

std::int64_t stored_punches(GatewayHarness& gw, const std::string& sn) {
  return gw.query_int(
      "SELECT count(*) FROM events e JOIN terminals t ON t.id = e.terminal_id"
      " WHERE t.sn = ?1 AND e.kind = 1",
      {sn});
}

void punches_made_while_down_are_kept(bool drops_them) {
  TempDir dir;
  const std::uint16_t port = free_port();
  const std::string sn = drops_them ? "GAPDROP001" : "GAPSEND001";
  const std::vector<std::string> sets = {"zkpush.port=" + std::to_string(port)};
  auto gw = std::make_unique<GatewayHarness>(sets, dir.path());
  IoThread io;
  AttendanceTerminalConfig c;
  c.serial_number = sn;
  c.http.port = port;
  c.http.timeout = 2s;
  c.poll_interval = 30ms;
  c.error_delay = 50ms;
  c.force_realtime = true;
  c.drop_records_while_offline = drops_them;
  auto term = AttendanceTerminal::create(io.ioc(), c);
  term->start();
  ASSERT_TRUE(
      term->wait_until([](const TerminalStats& s) { return s.online && s.polls >= 1; }, 10s));
  term->punch("1");
  term->punch("2");
  ASSERT_TRUE(term->wait_until([](const TerminalStats& s) { return s.records_acked >= 2; }, 10s));

  // pushgated goes away; the terminal notices and punches on.
  gw->stop();
  gw.reset();
  ASSERT_TRUE(term->wait_until([](const TerminalStats& s) { return !s.online; }, 10s));
  term->punch("3");
  term->punch("4");
  term->punch("5");
  if (drops_them) {
    EXPECT_EQ(term->stats().records_dropped, 3u);
  }

  // Back, on the same data: the terminal's records of the gap are queried.
  gw = std::make_unique<GatewayHarness>(sets, dir.path());
  ASSERT_TRUE(wait_for([&] { return stored_punches(*gw, sn) >= 5; }, 15s))
      << "stored " << stored_punches(*gw, sn) << " of 5";
  EXPECT_EQ(gw->query_int("SELECT count(*) FROM commands WHERE verb = 'query_records'"
                          " AND origin = 'gateway'"),
            1);
  ASSERT_TRUE(wait_for(
      [&] {
        return gw->query_int(
                   "SELECT count(*) FROM commands WHERE verb = 'query_records'"
                   " AND state = 'done'") == 1;
      },
      10s));
  EXPECT_EQ(stored_punches(*gw, sn), 5) << "each record once";
  // The gap is in the terminal's status.
  EXPECT_EQ(gw->query_int("SELECT count(*) FROM terminals WHERE sn = ?1"
                          " AND json_extract(info, '$.last_gap.reason') = 'pushgated restarted'",
                          {sn}),
            1);

  // A second quick restart (a crash loop): no second query within
  // gap_backfill_after_s.
  gw->stop();
  gw.reset();
  ASSERT_TRUE(term->wait_until([](const TerminalStats& s) { return !s.online; }, 10s));
  const auto before = term->stats();
  gw = std::make_unique<GatewayHarness>(sets, dir.path());
  // Two polls after the new handshake: a query queued at the handshake
  // would be committed (and delivered) by then.
  ASSERT_TRUE(term->wait_until(
      [&](const TerminalStats& s) {
        return s.online && s.handshakes_ok > before.handshakes_ok && s.polls >= before.polls + 2;
      },
      10s));
  EXPECT_EQ(gw->query_int("SELECT count(*) FROM commands WHERE verb = 'query_records'"), 1);
  term->stop();
}

TEST(GapBackfillTest, PunchesAFirmwareDroppedWhileServerWasDownAreQueried) {
  punches_made_while_down_are_kept(true);
}

TEST(GapBackfillTest, PunchesResentAndQueriedAreStoredOnce) {
  punches_made_while_down_are_kept(false);
}

}  // namespace
}  // namespace pushgate::test
