// TerminalRegistry: per-terminal settings from the config, the policy for
// unknown serials and the source-network check (terminals.*.networks).
#include "gateway/terminals.hpp"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <vector>

#include "gateway/config/config.hpp"
#include "gateway/config/core_config.hpp"

namespace pushgate {
namespace {

// A Config refers to its schema: the schema outlives every test's config.
const config::Schema& schema() {
  static const config::Schema s = [] {
    config::Schema built;
    config::declare_core_config(built);
    return built;
  }();
  return s;
}

config::Config load(const std::string& toml) {
  auto r = config::Config::load_string(schema(), toml);
  if (!r.ok()) {
    throw std::runtime_error(config::format_errors(r.errors));
  }
  return *r.config;
}

// Timecards are written under gateway.id: that source is never a terminal.
TEST(TerminalIdentity, GatewaysOwnSourceIsNotATerminal) {
  TerminalRegistry t(load("[gateway]\nid = \"site-7\"\n"));
  EXPECT_FALSE(t.is_terminal("site-7"));
  EXPECT_FALSE(t.is_terminal(""));
  EXPECT_TRUE(t.is_terminal("CQZ7232"));
  bool persist = false;
  t.seen("CQZ7232", "192.0.2.7", 1000, persist);
  t.update("site-7", [](TerminalRecord& r) { r.first_seen_ms = 1000; });
  auto all = t.all();
  ASSERT_EQ(all.size(), 1U);
  EXPECT_EQ(all[0].sn, "CQZ7232");
}

// Issue 19: an accepted terminal's polls never wait for a write of its
// last_seen; the gateway's batch stores it once a minute, all at a stop.
TEST(TerminalLastSeen, AcceptedTerminalsLastSeenGoesOutInOneBatch) {
  TerminalRegistry t(load(""));
  bool persist = false;
  t.seen("A1", "10.0.0.1", 1000, persist);
  EXPECT_TRUE(persist) << "first sight is stored with the poll";
  t.seen("A2", "10.0.0.2", 1000, persist);
  EXPECT_TRUE(t.last_seen_batch(1000, true).empty()) << "nothing newer than what was stored";
  t.seen("A1", "10.0.0.1", 2000, persist);
  EXPECT_FALSE(persist);
  EXPECT_EQ(t.last_seen_ms("A1"), 2000);
  EXPECT_EQ(t.last_seen_ms("NOPE"), 0);
  EXPECT_TRUE(t.last_seen_batch(2000, false).empty()) << "stored less than a minute ago";
  t.seen("A1", "10.0.0.1", 70000, persist);
  EXPECT_FALSE(persist) << "a minute later the poll still does not wait for a write";
  t.seen("A2", "10.0.0.2", 70000, persist);
  auto due = t.last_seen_batch(70000, false);
  EXPECT_EQ(due.ops.size(), 1U) << "one op for every terminal due";
  EXPECT_TRUE(t.last_seen_batch(70000, false).empty()) << "taken once";
  t.seen("A1", "10.0.0.1", 71000, persist);
  EXPECT_TRUE(t.last_seen_batch(71000, false).empty());
  EXPECT_FALSE(t.last_seen_batch(71000, true).empty()) << "a clean stop takes everything newer";
}

TEST(TerminalLastSeen, PendingTerminalsKeepTheirOnceAMinutePersist) {
  TerminalRegistry t(load("[gateway]\nunknown_terminals = \"pending\"\n"));
  bool persist = false;
  t.seen("P1", "10.0.0.1", 1000, persist);
  EXPECT_TRUE(persist);
  t.seen("P1", "10.0.0.1", 2000, persist);
  EXPECT_FALSE(persist);
  t.seen("P1", "10.0.0.1", 70000, persist);
  EXPECT_TRUE(persist) << "the tick the refused/pending log lines follow";
}

TEST(TerminalLastSeen, SerialsIfCopiesOnlyTheMatchingSerials) {
  TerminalRegistry t(load(""));
  bool persist = false;
  t.seen("S1", "10.0.0.1", 1000, persist);
  t.seen("S2", "10.0.0.2", 1000, persist);
  t.update("S2", [](TerminalRecord& r) { r.capabilities.user_sync = true; });
  auto sync = t.serials_if([](const TerminalRecord& r) { return r.capabilities.user_sync; });
  ASSERT_EQ(sync.size(), 1U);
  EXPECT_EQ(sync[0], "S2");
  EXPECT_EQ(t.serials_if([](const TerminalRecord&) { return true; }).size(), 2U);
}

TEST(TerminalNetworks, NoNetworksMeansAnySource) {
  TerminalRegistry t(load(""));
  EXPECT_TRUE(t.source_allowed("SN1", "192.0.2.7"));
  EXPECT_TRUE(t.source_allowed("SN1", "2001:db8::1"));
}

TEST(TerminalNetworks, Ipv4PrefixesAndSingleHosts) {
  TerminalRegistry t(load(R"([terminals."SN1"]
networks = ["192.168.1.0/24", "10.1.2.3"]
[terminals."SN2"]
networks = ["172.16.0.0/12"]
)"));
  EXPECT_TRUE(t.source_allowed("SN1", "192.168.1.0"));
  EXPECT_TRUE(t.source_allowed("SN1", "192.168.1.254"));
  EXPECT_FALSE(t.source_allowed("SN1", "192.168.2.1"));
  EXPECT_TRUE(t.source_allowed("SN1", "10.1.2.3"));
  EXPECT_FALSE(t.source_allowed("SN1", "10.1.2.4"));
  // A prefix that does not end on a byte boundary.
  EXPECT_TRUE(t.source_allowed("SN2", "172.31.255.255"));
  EXPECT_FALSE(t.source_allowed("SN2", "172.32.0.1"));
  EXPECT_FALSE(t.source_allowed("SN2", "172.15.255.255"));
  // Another serial's networks do not apply; unlisted serials are free.
  EXPECT_FALSE(t.source_allowed("SN2", "192.168.1.10"));
  EXPECT_TRUE(t.source_allowed("SN3", "192.168.2.1"));
}

TEST(TerminalNetworks, MappedIpv4OnADualStackSocketCounts) {
  TerminalRegistry t(load("[terminals.\"SN1\"]\nnetworks = [\"192.168.1.0/24\"]\n"));
  EXPECT_TRUE(t.source_allowed("SN1", "::ffff:192.168.1.9"));
  EXPECT_FALSE(t.source_allowed("SN1", "::ffff:192.168.9.9"));
}

TEST(TerminalNetworks, Ipv6AndFamiliesDoNotMix) {
  TerminalRegistry t(
      load("[terminals.\"SN1\"]\nnetworks = [\"2001:db8:1::/48\", \"0.0.0.0/0\"]\n"));
  EXPECT_TRUE(t.source_allowed("SN1", "2001:db8:1:ffff::1"));
  EXPECT_FALSE(t.source_allowed("SN1", "2001:db8:2::1"));
  EXPECT_TRUE(t.source_allowed("SN1", "203.0.113.5")) << "0.0.0.0/0 is every IPv4 source";
  TerminalRegistry v6only(load("[terminals.\"SN1\"]\nnetworks = [\"::/0\"]\n"));
  EXPECT_FALSE(v6only.source_allowed("SN1", "203.0.113.5"));
}

TEST(TerminalNetworks, UnreadableSourceIsRefused) {
  TerminalRegistry t(load("[terminals.\"SN1\"]\nnetworks = [\"192.168.1.0/24\"]\n"));
  EXPECT_FALSE(t.source_allowed("SN1", "not-an-address"));
  EXPECT_FALSE(t.source_allowed("SN1", ""));
}

TEST(TerminalNetworks, BadNetworkInTheConfigIsAnErrorNamingIt) {
  for (const char* bad : {"192.168.1.0/33", "192.168.1/24", "gate-1", "10.0.0.0/", "::/129"}) {
    try {
      TerminalRegistry t(load(std::string("[terminals.\"SN1\"]\nnetworks = [\"") + bad + "\"]\n"));
      ADD_FAILURE() << bad << " accepted";
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find("terminals.SN1.networks"), std::string::npos)
          << e.what();
      EXPECT_NE(std::string(e.what()).find(bad), std::string::npos) << e.what();
    }
  }
}

TEST(TerminalSettings, NamesAndUnknownPolicy) {
  TerminalRegistry t(load(R"([gateway]
unknown_terminals = "pending"
[terminals."SN1"]
name = "Gate 1"
)"));
  EXPECT_EQ(t.name_for("SN1"), "Gate 1");
  EXPECT_EQ(t.name_for("SN9"), "");
  bool persist = false;
  EXPECT_EQ(t.seen("SN1", "10.0.0.1", 1000, persist).state, "accepted")
      << "a configured serial is trusted";
  EXPECT_TRUE(persist);
  EXPECT_EQ(t.seen("SN9", "10.0.0.2", 1000, persist).state, "pending");
}

// Issue 18: a name and a zone set over the API win over the config file's,
// null (absent) takes them back, and a zone handed out earlier stays valid
// (adapters keep the reference while they place one upload's times).
TEST(TerminalSettings, SetOverTheApiWinsOverTheConfigAndCanBeTakenBack) {
  TerminalRegistry t(load(R"([gateway]
timezone = "UTC"
[terminals."SN1"]
name = "Gate 1"
timezone = "Asia/Tokyo"
)"));
  EXPECT_EQ(t.zone_for("SN1").name(), "Asia/Tokyo");
  const Zone& before = t.zone_for("SN2");
  EXPECT_EQ(before.name(), "UTC");

  TerminalRegistry::Settings s;
  s.name = "Lobby";
  s.timezone = "Europe/Berlin";
  ASSERT_EQ(t.set_settings("SN1", s), "");
  ASSERT_EQ(t.set_settings("SN2", s), "");
  EXPECT_EQ(t.name_for("SN1"), "Lobby");
  EXPECT_EQ(t.zone_for("SN1").name(), "Europe/Berlin");
  const Zone& berlin = t.zone_for("SN2");
  EXPECT_EQ(&berlin, &t.zone_for("SN1")) << "one interned zone per name";
  EXPECT_EQ(before.name(), "UTC") << "the site's zone is untouched";

  s.timezone = "America/New_York";
  ASSERT_EQ(t.set_settings("SN2", s), "");
  EXPECT_EQ(berlin.name(), "Europe/Berlin") << "a zone handed out is never changed";
  EXPECT_EQ(t.zone_for("SN2").name(), "America/New_York");

  TerminalRegistry::Settings bad;
  bad.timezone = "Mars/Olympus_Mons";
  EXPECT_NE(t.set_settings("SN1", bad), "");
  EXPECT_EQ(t.zone_for("SN1").name(), "Europe/Berlin") << "a refused zone changes nothing";

  ASSERT_EQ(t.set_settings("SN1", {}), "");
  EXPECT_EQ(t.name_for("SN1"), "Gate 1");
  EXPECT_EQ(t.zone_for("SN1").name(), "Asia/Tokyo");
  EXPECT_FALSE(t.settings_for("SN1").name);
  EXPECT_EQ(t.settings_for("SN2").timezone, "America/New_York");
}

TEST(TerminalSettings, StoredSettingsRoundTripAndUnreadableOnesAreReported) {
  TerminalRegistry::Settings s;
  s.name = "Lobby";
  s.timezone = "+05:30";
  auto back = TerminalRegistry::parse_settings_json(TerminalRegistry::settings_json(s));
  ASSERT_TRUE(back);
  EXPECT_EQ(back->name, "Lobby");
  EXPECT_EQ(back->timezone, "+05:30");
  EXPECT_FALSE(TerminalRegistry::parse_settings_json("not json"));
  EXPECT_FALSE(TerminalRegistry::parse_settings_json(R"({"name": 5})"));

  TerminalRegistry t(load("[gateway]\ntimezone = \"UTC\"\n"));
  auto bad = t.load_settings({{"A1", TerminalRegistry::settings_json(s)},
                              {"A2", "{"},
                              {"A3", R"({"timezone": "Nowhere/Land"})"}});
  EXPECT_EQ(bad, (std::vector<std::string>{"A2", "A3"}));
  EXPECT_EQ(t.name_for("A1"), "Lobby");
  EXPECT_EQ(t.zone_for("A1").name(), "+05:30");
  EXPECT_EQ(t.zone_for("A3").name(), "UTC");
}

TEST(TerminalAdmission, RefusedUnknownSerialsAreNotStored) {
  TerminalRegistry t(
      load("[gateway]\nunknown_terminals = \"refuse\"\n[terminals.\"SN1\"]\n"
           "name = \"Gate 1\"\n"));
  bool persist = true;
  auto why = TerminalRegistry::NotAdmitted::No;
  for (int i = 0; i < 1000; ++i) {
    auto r = t.seen("FLOOD" + std::to_string(i), "10.0.0.9", 1000 + i, persist, &why);
    EXPECT_EQ(r.state, "refused");
    EXPECT_FALSE(persist);
    EXPECT_EQ(why, TerminalRegistry::NotAdmitted::Refused);
  }
  EXPECT_FALSE(t.find("FLOOD1"));
  EXPECT_TRUE(t.all().empty());
  // A configured serial is admitted.
  EXPECT_EQ(t.seen("SN1", "10.0.0.1", 5000, persist, &why).state, "accepted");
  EXPECT_EQ(why, TerminalRegistry::NotAdmitted::No);
  EXPECT_EQ(t.all().size(), 1U);
}

TEST(TerminalAdmission, PendingSerialsAreBounded) {
  TerminalRegistry t(
      load("[gateway]\nunknown_terminals = \"pending\"\nmax_pending_terminals = 3\n"));
  bool persist = false;
  auto why = TerminalRegistry::NotAdmitted::No;
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(t.seen("P" + std::to_string(i), "10.0.0.9", 1000, persist, &why).state, "pending");
    EXPECT_TRUE(persist);
    EXPECT_EQ(why, TerminalRegistry::NotAdmitted::No);
  }
  EXPECT_EQ(t.seen("P3", "10.0.0.9", 1000, persist, &why).state, "refused");
  EXPECT_FALSE(persist);
  EXPECT_EQ(why, TerminalRegistry::NotAdmitted::PendingFull);
  EXPECT_EQ(t.seen("P0", "10.0.0.9", 2000, persist, &why).state, "pending") << "known: still seen";
  // Approving one makes room for the next.
  t.update("P0", [](TerminalRecord& r) { r.state = "accepted"; });
  EXPECT_EQ(t.seen("P3", "10.0.0.9", 3000, persist, &why).state, "pending");
  EXPECT_EQ(t.all().size(), 4U);
}

}  // namespace
}  // namespace pushgate
