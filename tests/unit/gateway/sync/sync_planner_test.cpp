// gateway/sync/sync_planner: what goes to whom (targets, biometric support,
// never back to the source, rights per terminal, deletes only where sent,
// nothing twice) and in which dialect (the planned commands rendered by the
// zkpush renderer exactly as an access terminal receives them).
#include "gateway/sync/sync_planner.hpp"

#include <gtest/gtest.h>

#include <algorithm>

#include "adapters/zkpush/zkpush_commands.hpp"

namespace pushgate::sync {
namespace {

using adapters::zkpush::Dialect;
using adapters::zkpush::render_command;

TerminalRecord terminal(std::string sn, std::string flavour, std::string state,
                        std::string data = "0:1:0:0:0:0:0:0:0:1",
                        std::string photo = "0:0:0:0:0:0:0:0:0:1") {
  TerminalRecord t;
  t.sn = std::move(sn);
  t.flavour = std::move(flavour);
  t.capabilities.user_sync = t.flavour == "access";  // as zkpush describes the flavour
  t.capabilities.sync_writes = t.capabilities.user_sync ? kAllSyncWrites : 0;
  t.state = std::move(state);
  t.info_json =
      nlohmann::json{{"multi_bio_data_support", data}, {"multi_bio_photo_support", photo}}.dump();
  return t;
}

std::string wire(const CommandRequest& r, Dialect d = Dialect::Access) {
  CommandRecord c;
  c.id = 1;
  c.terminal_sn = r.terminal_sn;
  c.verb = r.verb;
  c.params = r.params;
  const auto rendered = render_command(c, d);
  return rendered.error.empty() ? rendered.line : "ERROR: " + rendered.error;
}

std::vector<std::string> to(const std::vector<Planned>& plan, const std::string& sn) {
  std::vector<std::string> items;
  for (const auto& p : plan) {
    if (p.terminal_sn == sn) {
      items.push_back(p.item);
    }
  }
  return items;
}

Enrolment enrolment() {
  Enrolment e;
  e.source_sn = "A";
  e.pin = "42";
  commands::User u;
  u.pin = "42";
  u.name = "Ada";
  u.card = "99";
  e.user = u;
  commands::Template finger;
  finger.pin = "42";
  finger.bio_type = 1;
  finger.no = 6;
  finger.major_ver = "10";
  finger.data = "RklOR0VS";
  commands::Template face = finger;
  face.bio_type = 9;
  face.no = 0;
  face.major_ver = "39";
  face.data = "RkFDRQ==";
  e.templates = {finger, face};
  e.photos = {{"biophoto", 9, "/9j/PHOTO"}, {"userpic", 0, "/9j/USERPIC"}};
  return e;
}

TEST(SyncTargets, AcceptedAccessTerminalsWithTheirSupport) {
  const auto targets =
      targets_of({terminal("C", "access", "accepted", "0:1", ""),
                  terminal("A", "access", "accepted"), terminal("P", "access", "pending"),
                  terminal("R", "access", "refused"), terminal("T", "attendance", "accepted")});
  ASSERT_EQ(targets.size(), 2u);
  EXPECT_EQ(targets[0].sn, "A");
  EXPECT_TRUE(targets[0].supports_data(1));
  EXPECT_TRUE(targets[0].supports_data(9));
  EXPECT_FALSE(targets[0].supports_data(2));
  EXPECT_TRUE(targets[0].supports_photo(9));
  EXPECT_EQ(targets[1].sn, "C");
  EXPECT_TRUE(targets[1].supports_data(1));
  EXPECT_FALSE(targets[1].supports_data(9));  // past the end of its list
  EXPECT_FALSE(targets[1].supports_photo(9));
  EXPECT_FALSE(targets[1].supports_data(-1));
  EXPECT_EQ(parse_support_list(" 0: 1 :0"), (std::vector<bool>{false, true, false}));
}

TEST(SyncEnrolment, ValidityAsUploaded) {
  EXPECT_EQ(validity_from_upload("20260301", false), "2026-03-01 00:00:00");
  EXPECT_EQ(validity_from_upload("20261231", true), "2026-12-31 23:59:59");
  EXPECT_EQ(validity_from_upload("0", false), "");
  EXPECT_EQ(validity_from_upload("", true), "");
  EXPECT_EQ(validity_from_upload("583512660", false), "");  // Appendix 5 seconds: not sent
  EXPECT_EQ(validity_from_upload("20260230", false), "");   // no such day
  EXPECT_EQ(validity_from_upload("2026AB01", false), "");
}

TEST(SyncEnrolment, ToEveryOtherTerminalThatSupportsTheType) {
  const auto targets =
      targets_of({terminal("A", "access", "accepted"), terminal("B", "access", "accepted"),
                  terminal("C", "access", "accepted", "0:1:0:0", "0")});
  std::vector<Planned> source;
  const auto plan = plan_enrolment(enrolment(), targets, Kinds{}, &source);
  EXPECT_TRUE(to(plan, "A").empty());  // never back
  EXPECT_EQ(to(plan, "B"),
            (std::vector<std::string>{"user/42", "template/42/1/6/0", "template/42/9/0/0",
                                      "photo/42/biophoto/9", "photo/42/userpic/0"}));
  EXPECT_EQ(to(plan, "C"),
            (std::vector<std::string>{"user/42", "template/42/1/6/0", "photo/42/userpic/0"}));
  // The source holds all of it: recorded so that it is never sent there.
  EXPECT_EQ(to(source, "A").size(), 5u);
  for (const auto& p : plan) {
    ASSERT_EQ(p.requests.size(), 1u);
    EXPECT_EQ(p.requests[0].origin, "sync");
    EXPECT_EQ(p.requests[0].terminal_sn, p.terminal_sn);
    EXPECT_EQ(p.digest.size(), 16u);
  }
  // Kinds switched off are left out.
  Kinds no_photos;
  no_photos.photos = false;
  const auto fewer = plan_enrolment(enrolment(), targets, no_photos, nullptr);
  EXPECT_EQ(to(fewer, "B").size(), 3u);
}

TEST(SyncEnrolment, InTheAccessDialect) {
  const auto targets = targets_of({terminal("B", "access", "accepted")});
  const auto plan = plan_enrolment(enrolment(), targets, Kinds{}, nullptr);
  ASSERT_EQ(plan.size(), 5u);
  EXPECT_EQ(wire(plan[0].requests[0]),
            "DATA UPDATE user CardNo=99\tPin=42\tPassword=\tGroup=1\tStartTime=0\tEndTime=0\t"
            "Name=Ada\tPrivilege=0");
  EXPECT_EQ(wire(plan[1].requests[0]),
            "DATA UPDATE biodata Pin=42\tNo=6\tIndex=0\tValid=1\tDuress=0\tType=1\tMajorVer=10\t"
            "MinorVer=\tFormat=0\tTmp=RklOR0VS");
  EXPECT_EQ(wire(plan[3].requests[0]),
            "DATA UPDATE biophoto PIN=42\tType=9\tSize=9\tContent=/9j/PHOTO\tFormat=0");
  EXPECT_EQ(wire(plan[4].requests[0]), "DATA UPDATE userpic Pin=42\tSize=11\tContent=/9j/USERPIC");
  // The same requests in the attendance 2.x dialect (if such a terminal
  // were a target): its own table names; a table it lacks fails with why.
  EXPECT_EQ(wire(plan[0].requests[0], Dialect::Attendance).rfind("DATA UPDATE USERINFO PIN=42", 0),
            0u);
  EXPECT_EQ(wire(plan[3].requests[0], Dialect::Attendance).rfind("ERROR: ", 0), 0u);
}

ra::MasterData site() {
  ra::MasterData d;
  ra::TimeZone tz;
  tz.id = 2;
  tz.days[1][0] = ra::Period{8 * 60 + 30, 12 * 60};
  tz.holidays[0][0] = ra::Period{10 * 60, 11 * 60};
  d.timezones[2] = tz;
  ra::Holiday h;
  h.day = date::year{2026} / 12 / 25;
  h.type = 1;
  h.yearly = true;
  d.holidays[h.day] = h;
  ra::Level front;
  front.id = 1;
  front.timezone = 2;
  front.doors = {{"B", 1}, {"B", 2}};
  d.levels[1] = front;
  ra::Level back;
  back.id = 3;
  back.timezone = 5;
  back.doors = {{"C", 4}};
  d.levels[3] = back;
  ra::User u;
  u.pin = "500";
  u.name = "Ada";
  u.cards = {{"111", true}, {"222", false}};
  u.valid_from = date::local_days{date::year{2026} / 1 / 1};
  u.levels = {1};
  d.set_user(u);
  return d;
}

TEST(SyncMasterData, UserAndRightsWhereItsLevelsHaveDoors) {
  const auto data = site();
  const auto targets =
      targets_of({terminal("B", "access", "accepted"), terminal("C", "access", "accepted")});
  const auto plan = plan_user(data, "500", targets, Kinds{});
  EXPECT_EQ(to(plan, "B"), (std::vector<std::string>{"user/500", "authorize/500"}));
  EXPECT_EQ(to(plan, "C"), (std::vector<std::string>{"authorize/500"}));
  const Planned& user_b = plan[0];
  EXPECT_EQ(wire(user_b.requests[0]),
            "DATA UPDATE user CardNo=222\tPin=500\tPassword=\tGroup=1\tStartTime=20260101\t"
            "EndTime=0\tName=Ada\tPrivilege=0");
  const Planned& rights_b = plan[1];
  ASSERT_EQ(rights_b.requests.size(), 2u);
  EXPECT_EQ(wire(rights_b.requests[0]), "DATA DELETE userauthorize Pin=500");
  EXPECT_EQ(wire(rights_b.requests[1]),
            "DATA UPDATE userauthorize Pin=500\tAuthorizeTimezoneId=2\tAuthorizeDoorId=3\tDevID=1");
  // C: no door there, so the rights are a delete (sent only if it ever had some).
  EXPECT_TRUE(plan[2].digest.empty());
  SentLedger ledger;
  EXPECT_EQ(ledger.filter(plan).size(), 2u);
  ledger.record("C", "authorize/500", "0123456789abcdef");
  EXPECT_EQ(ledger.filter(plan).size(), 3u);

  // Blacklisted: the row stays, the rights go.
  auto black = data;
  auto u = *black.find_user("500");
  u.blacklisted = true;
  black.set_user(u);
  EXPECT_EQ(to(plan_user(black, "500", targets, Kinds{}), "B"),
            (std::vector<std::string>{"authorize/500"}));
  // Imported from B: B has the row already.
  EXPECT_EQ(to(plan_user(data, "500", targets, Kinds{}, "B"), "B"),
            (std::vector<std::string>{"authorize/500"}));
  // Deleted from the master data: deletes everywhere, filtered to where it was sent.
  auto gone = data;
  gone.erase_user("500");
  const auto del = plan_user(gone, "500", targets, Kinds{});
  ledger.record("B", "user/500", "aaaaaaaaaaaaaaaa");
  const auto sent = ledger.filter(del);
  ASSERT_EQ(sent.size(), 2u);  // B's row (delete_user) and C's recorded rights (no command)
  EXPECT_EQ(sent[0].terminal_sn, "B");
  EXPECT_EQ(wire(sent[0].requests[0]), "DATA DELETE user Pin=500");
  EXPECT_TRUE(sent[1].requests.empty());
}

TEST(SyncMasterData, TimeZonesAndHolidaysInTheSpecEncoding) {
  const auto data = site();
  const auto targets = targets_of({terminal("B", "access", "accepted")});
  const auto tz = plan_timezone(data, 2, targets, Kinds{});
  ASSERT_EQ(tz.size(), 1u);
  const std::string line = wire(tz[0].requests[0]);
  EXPECT_EQ(line.rfind("DATA UPDATE timezone TimezoneId=2\tSunTime1=0\tSunTime2=0\tSunTime3=0\t"
                       "MonTime1=" +
                           std::to_string((830 << 16) + 1200) + "\tMonTime2=0",
                       0),
            0u)
      << line;
  EXPECT_NE(line.find("\tHol1Time1=" + std::to_string((1000 << 16) + 1100) + "\t"),
            std::string::npos);
  EXPECT_NE(line.find("\tHol3Time3=0"), std::string::npos);
  EXPECT_EQ(std::count(line.begin(), line.end(), '\t'), 30);
  const auto h = plan_holiday(data, date::year{2026} / 12 / 25, targets, Kinds{});
  ASSERT_EQ(h.size(), 1u);
  EXPECT_EQ(wire(h[0].requests[0]), "DATA UPDATE holiday Holiday=20261225\tHolidayType=1\tLoop=1");
  // Deleted: the delete commands.
  const auto tz_gone = plan_timezone(ra::MasterData{}, 2, targets, Kinds{});
  EXPECT_EQ(wire(tz_gone[0].requests[0]), "DATA DELETE timezone TimezoneId=2");
  const auto h_gone = plan_holiday(ra::MasterData{}, date::year{2026} / 12 / 25, targets, Kinds{});
  EXPECT_EQ(wire(h_gone[0].requests[0]), "DATA DELETE holiday Holiday=20261225");
  Kinds no_tz;
  no_tz.timezones = false;
  EXPECT_TRUE(plan_timezone(data, 2, targets, no_tz).empty());
}

/** A terminal on door B/1 of site() that takes only `writes`. */
TerminalRecord taking(std::uint32_t writes) {
  auto t = terminal("B", "access", "accepted");
  t.capabilities.sync_writes = writes;
  return t;
}

std::vector<std::string> verbs_of(const std::vector<Planned>& plan) {
  std::vector<std::string> out;
  for (const auto& p : plan) {
    for (const auto& r : p.requests) {
      out.push_back(r.verb);
    }
  }
  return out;
}

TEST(SyncCapabilities, OnlyWhatATargetTakesIsPlanned) {
  const auto data = site();
  const auto users = sync_bit(SyncWrite::Users);
  const auto cards = sync_bit(SyncWrite::Cards);
  const auto passwords = sync_bit(SyncWrite::Passwords);
  const auto doors = sync_bit(SyncWrite::DoorRights);
  auto with_password = data;
  auto ada = *with_password.find_user("500");
  ada.password = "77";
  with_password.set_user(ada);

  // As a Dahua device: user rows with card and password, door rights; no tables, no templates.
  auto dahua = targets_of({taking(users | cards | passwords | doors)});
  ASSERT_EQ(dahua.size(), 1u);
  EXPECT_TRUE(dahua[0].takes(SyncWrite::DoorRights));
  EXPECT_FALSE(dahua[0].takes(SyncWrite::TimeZones));
  auto plan = plan_user(with_password, "500", dahua, Kinds{});
  EXPECT_EQ(verbs_of(plan),
            (std::vector<std::string>{"upsert_user", "deauthorize_user", "authorize_user"}));
  EXPECT_EQ(plan[0].requests[0].params.at("card"), "222");
  EXPECT_EQ(plan[0].requests[0].params.at("password"), "77");
  EXPECT_TRUE(plan_timezone(data, 2, dahua, Kinds{}).empty());
  EXPECT_TRUE(plan_holiday(data, date::year{2026} / 12 / 25, dahua, Kinds{}).empty());
  EXPECT_EQ(verbs_of(plan_terminal(with_password, dahua[0], Kinds{})),
            (std::vector<std::string>{"upsert_user", "deauthorize_user", "authorize_user"}));
  // An enrolment uploaded elsewhere: nothing for a target without templates
  // (its users come from the master data); the row and its templates where
  // it takes them, without photos unless it takes those.
  EXPECT_TRUE(
      plan_enrolment(enrolment(), targets_of({taking(users | cards)}), Kinds{}, nullptr).empty());
  const auto e = plan_enrolment(
      enrolment(), targets_of({taking(users | sync_bit(SyncWrite::Templates))}), Kinds{}, nullptr);
  EXPECT_EQ(verbs_of(e),
            (std::vector<std::string>{"upsert_user", "upsert_template", "upsert_template"}));
  EXPECT_EQ(e[0].requests[0].params.value("card", ""), "");

  // As a Suprema device: user rows with cards, no password, no rights (where
  // a level gives the user a door there), deleted with the master data.
  const auto suprema = targets_of({taking(users | cards)});
  plan = plan_user(with_password, "500", suprema, Kinds{});
  ASSERT_EQ(verbs_of(plan), (std::vector<std::string>{"upsert_user"}));
  EXPECT_EQ(plan[0].item, "user/500");
  EXPECT_EQ(plan[0].requests[0].params.at("card"), "222");
  EXPECT_EQ(plan[0].requests[0].params.value("password", ""), "");
  // Without cards the row goes without its card (and so has another digest).
  const auto bare = plan_user(with_password, "500", targets_of({taking(users)}), Kinds{});
  ASSERT_EQ(bare.size(), 1u);
  EXPECT_EQ(bare[0].requests[0].params.value("card", ""), "");
  EXPECT_NE(bare[0].digest, plan[0].digest);
  // No door of its levels there (any more), or blacklisted: the row is the
  // right, so it is deleted where it was sent.
  auto elsewhere = with_password;
  ada.levels = {3};
  elsewhere.set_user(ada);
  auto moved = plan_user(elsewhere, "500", suprema, Kinds{});
  ASSERT_EQ(verbs_of(moved), (std::vector<std::string>{"delete_user"}));
  EXPECT_TRUE(moved[0].digest.empty());
  SentLedger ledger;
  EXPECT_TRUE(ledger.filter(moved).empty());  // never sent: nothing to delete
  ledger.record("B", "user/500", plan[0].digest);
  EXPECT_EQ(ledger.filter(moved).size(), 1u);
  auto black = with_password;
  auto blacklisted = *black.find_user("500");
  blacklisted.blacklisted = true;
  black.set_user(blacklisted);
  EXPECT_EQ(verbs_of(plan_user(black, "500", suprema, Kinds{})),
            (std::vector<std::string>{"delete_user"}));
  // Deleted: delete_user only (no rights item it could never have had).
  auto gone = data;
  gone.erase_user("500");
  const auto del = plan_user(gone, "500", suprema, Kinds{});
  ASSERT_EQ(del.size(), 1u);
  EXPECT_EQ(del[0].item, "user/500");
  EXPECT_EQ(verbs_of(del), (std::vector<std::string>{"delete_user"}));

  // A terminal that takes nothing is served nothing.
  const auto none = targets_of({taking(0)});
  EXPECT_TRUE(plan_user(data, "500", none, Kinds{}).empty());
  EXPECT_TRUE(plan_terminal(data, none[0], Kinds{}).empty());
  EXPECT_TRUE(plan_enrolment(enrolment(), none, Kinds{}, nullptr).empty());
  // One that takes everything (a ZKTeco access terminal) gets what it got before.
  EXPECT_EQ(plan_user(data, "500", targets_of({taking(kAllSyncWrites)}), Kinds{}).size(), 2u);
}

// A BioStar 2 server's users serve all its readers: a reader losing its doors
// must not delete the user the server's other readers still need.
TEST(SyncCapabilities, ASharedUserStoreKeepsTheRowWhileTheUserIsEnabled) {
  auto data = site();
  auto biostar = taking(sync_bit(SyncWrite::Users) | sync_bit(SyncWrite::Cards));
  biostar.capabilities.shared_users = true;
  const auto targets = targets_of({biostar});
  ASSERT_EQ(targets.size(), 1u);
  EXPECT_TRUE(targets[0].shared_users);
  EXPECT_EQ(verbs_of(plan_user(data, "500", targets, Kinds{})),
            (std::vector<std::string>{"upsert_user"}));
  // No level gives the user a door of this reader any more: the row stays
  // (still wanted by the server's other readers), nothing is deleted.
  auto ada = *data.find_user("500");
  ada.levels = {3};
  data.set_user(ada);
  EXPECT_EQ(verbs_of(plan_user(data, "500", targets, Kinds{})),
            (std::vector<std::string>{"upsert_user"}));
  ada.levels = {};
  data.set_user(ada);
  EXPECT_EQ(verbs_of(plan_user(data, "500", targets, Kinds{})),
            (std::vector<std::string>{"upsert_user"}));
  // Disabled, blacklisted or deleted: the row goes.
  ada.disabled = true;
  data.set_user(ada);
  EXPECT_EQ(verbs_of(plan_user(data, "500", targets, Kinds{})),
            (std::vector<std::string>{"delete_user"}));
  ada.disabled = false;
  ada.blacklisted = true;
  data.set_user(ada);
  EXPECT_EQ(verbs_of(plan_user(data, "500", targets, Kinds{})),
            (std::vector<std::string>{"delete_user"}));
  data.erase_user("500");
  EXPECT_EQ(verbs_of(plan_user(data, "500", targets, Kinds{})),
            (std::vector<std::string>{"delete_user"}));
  // The flag is stored with the terminal.
  nlohmann::json j = biostar.capabilities;
  EXPECT_EQ(j.at("shared_users"), true);
  EXPECT_TRUE(j.get<DeviceCapabilities>().shared_users);
}

TEST(SyncLedger, NothingTwiceAndChangesAgain) {
  const auto targets = targets_of({terminal("B", "access", "accepted")});
  const auto data = site();
  SentLedger ledger;
  auto first = ledger.filter(plan_timezone(data, 2, targets, Kinds{}));
  ASSERT_EQ(first.size(), 1u);
  ledger.record(first[0].terminal_sn, first[0].item, first[0].digest);
  EXPECT_TRUE(ledger.filter(plan_timezone(data, 2, targets, Kinds{})).empty());
  auto changed = data;
  changed.timezones[2].days[2][0] = ra::Period{9 * 60, 10 * 60};
  const auto again = ledger.filter(plan_timezone(changed, 2, targets, Kinds{}));
  ASSERT_EQ(again.size(), 1u);
  EXPECT_NE(again[0].digest, first[0].digest);
  EXPECT_EQ(ledger.items_with_prefix("B", "timezone/"), std::vector<std::string>{"timezone/2"});
  // A full sync of one terminal: every time zone, holiday and user it needs.
  const auto full = plan_terminal(data, targets[0], Kinds{});
  EXPECT_EQ(to(full, "B"), (std::vector<std::string>{"timezone/2", "holiday/20261225", "user/500",
                                                     "authorize/500"}));
  // The digest is stable (it is persisted).
  EXPECT_EQ(digest_of({}), "cbf29ce484222325");
}

TEST(SyncItems, EveryPlannedRequestNamesItsItem) {
  // What a failed command leaves a terminal without is read back from the
  // command itself: each request names the item it was planned for.
  const auto targets = targets_of({terminal("B", "access", "accepted")});
  std::vector<Planned> plan = plan_enrolment(enrolment(), targets, Kinds{}, nullptr);
  const auto data = site();
  for (auto& p : plan_user(data, "500", targets, Kinds{})) {
    plan.push_back(std::move(p));
  }
  for (auto& p : plan_timezone(data, 2, targets, Kinds{})) {
    plan.push_back(std::move(p));
  }
  for (auto& p : plan_holiday(data, date::year{2026} / 12 / 25, targets, Kinds{})) {
    plan.push_back(std::move(p));
  }
  for (auto& p : plan_user(ra::MasterData{}, "500", targets, Kinds{})) {
    plan.push_back(std::move(p));  // deleted: delete_user
  }
  ASSERT_GE(plan.size(), 10u);
  nlohmann::json batch = {{"commands", nlohmann::json::array()}};
  std::vector<std::string> all;
  for (const auto& p : plan) {
    for (const auto& r : p.requests) {
      EXPECT_EQ(items_of(r.verb, r.params), std::vector<std::string>{p.item}) << r.verb;
      batch["commands"].push_back({{"verb", r.verb}, {"params", r.params}});
      all.push_back(p.item);
    }
  }
  EXPECT_EQ(items_of("batch", batch), all);
  EXPECT_TRUE(items_of("reboot", nlohmann::json::object()).empty());
  EXPECT_TRUE(items_of("batch", nlohmann::json::array()).empty());
}

}  // namespace
}  // namespace pushgate::sync
