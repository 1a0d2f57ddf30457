// Dahua commands (adapters/dahua/dahua_commands.hpp): the requests each verb
// becomes, the answers read from the fixtures of tests/fixtures/dahua/
// (answer-*), the firmware probe and the step-by-step run.

#include "adapters/dahua/dahua_commands.hpp"

#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/unit/adapters/dahua/dahua_test_support.hpp"

namespace pushgate::adapters::dahua {
namespace {

using test_support::fixture;
using json = nlohmann::json;

DahuaDeviceProfile profile(FirmwareApi api = FirmwareApi::Current) {
  DahuaDeviceProfile p;
  p.api = api;
  p.doors.door_count = 2;
  return p;
}

DahuaAnswer ok() {
  return {200, fixture("answer-ok.txt")};
}
DahuaAnswer bad_request() {
  return {400, fixture("answer-error-bad-request.txt")};
}

TEST(DahuaCommands, OpenDoorUsesTheChannelOfTheDoorMap) {
  DahuaDeviceProfile p = profile();
  p.doors.channel_of_door = {{1, 2}, {7, 1}};
  const auto plan = plan_command("open_door", json{{"door", 7}, {"seconds", 5}}, p);
  ASSERT_FALSE(plan.refused) << plan.reason;
  ASSERT_EQ(plan.steps.size(), 1U);
  EXPECT_EQ(plan.steps[0].request.method, "GET");
  EXPECT_EQ(plan.steps[0].request.target,
            "/cgi-bin/accessControl.cgi?action=openDoor&channel=1&Type=Remote");
  ASSERT_EQ(plan.notes.size(), 1U);  // seconds: the device's unlock time applies
  EXPECT_NE(plan.notes[0].find("seconds"), std::string::npos);

  // A door the map does not name is refused, not sent to channel = door.
  const auto missing = plan_command("open_door", json{{"door", 3}}, p);
  ASSERT_TRUE(missing.refused);
  EXPECT_EQ(*missing.refused, Outcome::Failed);
  EXPECT_NE(missing.reason.find("no door 3"), std::string::npos);
}

TEST(DahuaCommands, DoorDefaultsToOneAndIsBoundedByTheDoorCount) {
  const auto plan = plan_command("open_door", json::object(), profile());
  ASSERT_EQ(plan.steps.size(), 1U);
  EXPECT_EQ(plan.steps[0].request.target,
            "/cgi-bin/accessControl.cgi?action=openDoor&channel=1&Type=Remote");
  const auto beyond = plan_command("open_door", json{{"door", 3}}, profile());
  ASSERT_TRUE(beyond.refused);
  EXPECT_NE(beyond.reason.find("it has 2"), std::string::npos);
  const auto wrong_type = plan_command("open_door", json{{"door", "two"}}, profile());
  ASSERT_TRUE(wrong_type.refused);
  EXPECT_EQ(*wrong_type.refused, Outcome::Failed);
}

TEST(DahuaCommands, CloseDoorAndDoorStatus) {
  auto close = plan_command("close_door", json{{"door", 2}}, profile());
  ASSERT_EQ(close.steps.size(), 1U);
  EXPECT_EQ(close.steps[0].request.target, "/cgi-bin/accessControl.cgi?action=closeDoor&channel=2");
  auto end_open = plan_command("normal_open", json{{"door", 2}, {"on", false}}, profile());
  ASSERT_EQ(end_open.steps.size(), 1U);
  EXPECT_EQ(end_open.steps[0].request.target, close.steps[0].request.target);
  auto status = plan_command("door_status", json{{"door", 1}}, profile());
  ASSERT_EQ(status.steps.size(), 1U);
  EXPECT_EQ(status.steps[0].request.target,
            "/cgi-bin/accessControl.cgi?action=getDoorStatus&channel=1");

  DahuaCommandRun run(std::move(status));
  ASSERT_NE(run.next(), nullptr);
  run.accept({200, fixture("answer-door-status.txt")});
  ASSERT_TRUE(run.finished());
  EXPECT_EQ(run.outcome().outcome, Outcome::Done);
  EXPECT_EQ(run.outcome().result, "Close");
}

TEST(DahuaCommands, UnsupportedVerbsAreRefusedWithAReason) {
  for (const char* verb : {"cancel_alarm", "lock_door", "upsert_template", "upsert_photo",
                           "query_records", "set_option", "raw", "no_such_verb"}) {
    const auto plan = plan_command(verb, json::object(), profile());
    ASSERT_TRUE(plan.refused) << verb;
    EXPECT_EQ(*plan.refused, Outcome::Unsupported) << verb;
    EXPECT_NE(plan.reason.find(verb), std::string::npos) << plan.reason;
    DahuaCommandRun run(plan);
    EXPECT_TRUE(run.finished());
    EXPECT_EQ(run.next(), nullptr);
    EXPECT_EQ(run.outcome().outcome, Outcome::Unsupported);
    EXPECT_EQ(run.sent(), 0U);
  }
  for (const json& params : {json{{"on", true}}, json{{"door", 1}}}) {  // on defaults to true
    const auto keep_open = plan_command("normal_open", params, profile());
    ASSERT_TRUE(keep_open.refused) << params;
    EXPECT_EQ(*keep_open.refused, Outcome::Unsupported);
  }
}

TEST(DahuaCommands, SetTimeEncodesTheSpaceAndRefusesOtherForms) {
  const auto plan = plan_command("set_time", json{{"time", "2026-12-06 13:47:05"}}, profile());
  ASSERT_EQ(plan.steps.size(), 1U);
  EXPECT_EQ(plan.steps[0].request.target,
            "/cgi-bin/global.cgi?action=setCurrentTime&time=2026-12-06%2013:47:05");
  for (const char* bad : {"2026-12-06", "2026-13-06 10:00:00", "2026-12-06T13:47:05",
                          "2026-12-06 13:47:05&x", "2026-12-06 24:00:00"}) {
    const auto refused = plan_command("set_time", json{{"time", bad}}, profile());
    ASSERT_TRUE(refused.refused) << bad;
    EXPECT_EQ(*refused.refused, Outcome::Failed);
  }
}

TEST(DahuaCommands, UpsertUserIsInsertWithUpdateFallbackThenTheCard) {
  const json params{{"pin", "101"},       {"name", "Ana Lúcia"}, {"privilege", 14},
                    {"password", "4321"}, {"card", "12EA3004"},  {"group", 2}};
  auto plan = plan_command("upsert_user", params, profile());
  ASSERT_FALSE(plan.refused) << plan.reason;
  ASSERT_EQ(plan.steps.size(), 3U);  // user, card, then the sweep of the user's other cards
  const auto& user = plan.steps[0];
  EXPECT_EQ(user.request.method, "POST");
  EXPECT_EQ(user.request.target, "/cgi-bin/AccessUser.cgi?action=insertMulti");
  EXPECT_EQ(user.request.content_type, "application/json");
  const json body = json::parse(user.request.body);
  ASSERT_EQ(body["UserList"].size(), 1U);
  EXPECT_EQ(body["UserList"][0]["UserID"], "101");
  EXPECT_EQ(body["UserList"][0]["UserName"], "Ana Lúcia");
  EXPECT_EQ(body["UserList"][0]["Authority"], 1);  // privilege 14: administrator
  EXPECT_EQ(body["UserList"][0]["Password"], "4321");
  EXPECT_EQ(body["UserList"][0]["ValidTo"], "2037-12-31 23:59:59");
  ASSERT_TRUE(user.fallback);
  EXPECT_EQ(user.fallback->target, "/cgi-bin/AccessUser.cgi?action=updateMulti");
  EXPECT_EQ(user.fallback->body, user.request.body);
  const json card = json::parse(plan.steps[1].request.body);
  EXPECT_EQ(card, json::parse(R"({"CardList":[{"CardNo":"12EA3004","UserID":"101",
                                  "CardType":0,"CardStatus":0}]})"));
  EXPECT_FALSE(plan.notes.empty());  // group has no Dahua equivalent: said, not dropped silently

  // The user exists: insert refused, update done; the card is new.
  DahuaCommandRun run(std::move(plan));
  EXPECT_EQ(run.next()->target, "/cgi-bin/AccessUser.cgi?action=insertMulti");
  run.accept(bad_request());
  ASSERT_FALSE(run.finished());
  EXPECT_EQ(run.next()->target, "/cgi-bin/AccessUser.cgi?action=updateMulti");
  run.accept(ok());
  EXPECT_EQ(run.next()->target, "/cgi-bin/AccessCard.cgi?action=insertMulti");
  run.accept(ok());
  // The card the user had before stops opening doors.
  EXPECT_EQ(run.next()->target, "/cgi-bin/AccessCard.cgi?action=startFind&Condition.UserID=101");
  run.accept({200, fixture("answer-startfind.json")});
  EXPECT_EQ(run.next()->target, "/cgi-bin/AccessCard.cgi?action=doFind&Token=1&Offset=0&Count=100");
  run.accept({200, fixture("answer-card-dofind.json")});
  EXPECT_EQ(run.next()->target,
            "/cgi-bin/AccessCard.cgi?action=removeMulti&CardNoList[0]=0A1B2C3D");
  run.accept(ok());
  EXPECT_EQ(run.next()->target, "/cgi-bin/AccessCard.cgi?action=stopFind&Token=1");
  run.accept(bad_request());  // an open find expires on the device: not the command's failure
  ASSERT_TRUE(run.finished());
  EXPECT_EQ(run.outcome().outcome, Outcome::Done) << run.outcome().reason;
  EXPECT_EQ(run.sent(), 7U);
}

TEST(DahuaCommands, InsertAndUpdateBothRefusedFailsWithTheDevicesWords) {
  DahuaCommandRun run(plan_command("upsert_user", json{{"pin", "7"}}, profile()));
  run.accept(bad_request());
  run.accept({400, "Error\r\nUser not exist!\r\n"});
  ASSERT_TRUE(run.finished());
  EXPECT_EQ(run.outcome().outcome, Outcome::Failed);
  EXPECT_EQ(run.outcome().reason,
            "insert: device refused: Bad Request! (HTTP 400); update: device refused: User not "
            "exist! (HTTP 400)");
  EXPECT_NE(run.outcome().reason.find("Bad Request!"), std::string::npos) << run.outcome().reason;
}

TEST(DahuaCommands, UserWritesWaitForTheProbe) {
  const auto plan = plan_command("upsert_user", json{{"pin", "7"}}, profile(FirmwareApi::Unknown));
  ASSERT_TRUE(plan.refused);
  EXPECT_EQ(*plan.refused, Outcome::RetryLater);
  // Door commands need no probe.
  EXPECT_FALSE(plan_command("open_door", json::object(), profile(FirmwareApi::Unknown)).refused);
}

TEST(DahuaCommands, AuthorizeMapsDoorsAndZonesAndNeverWidensAZone) {
  DahuaDeviceProfile p = profile();
  p.doors.channel_of_door = {{1, 1}, {2, 2}};
  p.time_section_of_zone[3] = 4;
  auto plan = plan_command("authorize_user",
                           json{{"pin", "101"}, {"doors", {1, 2}}, {"time_zone_id", 3}}, p);
  ASSERT_EQ(plan.steps.size(), 1U);
  EXPECT_EQ(plan.steps[0].request.target, "/cgi-bin/AccessUser.cgi?action=updateMulti");
  const json u = json::parse(plan.steps[0].request.body)["UserList"][0];
  EXPECT_EQ(u["Doors"], json({0, 1}));  // event Door numbers: channel - 1
  EXPECT_EQ(u["TimeSections"], json({4, 4}));

  const auto unmapped =
      plan_command("authorize_user", json{{"pin", "101"}, {"doors", {1}}, {"time_zone_id", 9}}, p);
  ASSERT_TRUE(unmapped.refused);
  EXPECT_EQ(*unmapped.refused, Outcome::Unsupported);
  const auto no_doors = plan_command("authorize_user", json{{"pin", "101"}}, p);
  ASSERT_TRUE(no_doors.refused);

  const auto deauth = plan_command("deauthorize_user", json{{"pin", "101"}}, p);
  ASSERT_EQ(deauth.steps.size(), 1U);
  EXPECT_EQ(json::parse(deauth.steps[0].request.body)["UserList"][0]["Doors"], json::array());
}

TEST(DahuaCommands, DeleteUserRemovesItsCardsThenTheUser) {
  const auto plan = plan_command("delete_user", json{{"pin", "a b&c"}}, profile());
  ASSERT_EQ(plan.steps.size(), 2U);
  EXPECT_EQ(plan.steps[0].request.target,
            "/cgi-bin/AccessCard.cgi?action=startFind&Condition.UserID=a%20b%26c");
  EXPECT_EQ(plan.steps[1].request.target,
            "/cgi-bin/AccessUser.cgi?action=removeMulti&UserIDList[0]=a%20b%26c");

  DahuaCommandRun run(plan);
  run.accept({200, fixture("answer-startfind.json")});
  run.accept({200, fixture("answer-card-dofind.json")});
  ASSERT_NE(run.next(), nullptr);
  EXPECT_EQ(
      run.next()->target,
      "/cgi-bin/AccessCard.cgi?action=removeMulti&CardNoList[0]=12EA3004&CardNoList[1]=0A1B2C3D");
  run.accept(ok());
  run.accept(ok());  // stopFind
  EXPECT_EQ(run.next()->target, plan.steps[1].request.target);
  run.accept(ok());
  EXPECT_EQ(run.outcome().outcome, Outcome::Done);

  // A find the device cannot start fails the command: the user stays, nothing half-done.
  DahuaCommandRun refused(plan);
  refused.accept(bad_request());
  EXPECT_EQ(refused.outcome().outcome, Outcome::Failed);
  EXPECT_EQ(refused.sent(), 1U);
}

TEST(DahuaCommands, ListsAreChunkedToTheLimit) {
  std::vector<DahuaUser> users(23);
  for (std::size_t i = 0; i < users.size(); ++i) {
    users[i].user_id = std::to_string(i);
  }
  const auto requests = user_list_requests(ListAction::Insert, users, 10);
  ASSERT_EQ(requests.size(), 3U);
  EXPECT_EQ(json::parse(requests[0].body)["UserList"].size(), 10U);
  EXPECT_EQ(json::parse(requests[2].body)["UserList"].size(), 3U);
  EXPECT_EQ(json::parse(requests[2].body)["UserList"][2]["UserID"], "22");

  std::vector<std::string> ids;
  for (int i = 0; i < 12; ++i) {
    ids.push_back(std::to_string(i));
  }
  const auto removes = remove_cards_requests(ids, 10);
  ASSERT_EQ(removes.size(), 2U);
  EXPECT_EQ(removes[1].target,
            "/cgi-bin/AccessCard.cgi?action=removeMulti&CardNoList[0]=10&CardNoList[1]=11");
  EXPECT_EQ(user_list_requests(ListAction::Update, {}, 10).size(), 0U);
}

TEST(DahuaCommands, FirmwareProbe) {
  EXPECT_EQ(firmware_probe_request().target, "/cgi-bin/AccessUser.cgi?action=startFind");
  const auto current = decide_firmware({200, fixture("answer-startfind.json")});
  EXPECT_EQ(current.api, FirmwareApi::Current);
  ASSERT_TRUE(current.token);
  EXPECT_EQ(stop_find_request(*current.token).target,
            "/cgi-bin/AccessUser.cgi?action=stopFind&Token=1");
  EXPECT_EQ(current.caps, 100);

  EXPECT_EQ(decide_firmware({404, fixture("answer-error-not-found.txt")}).api, FirmwareApi::Legacy);
  EXPECT_EQ(decide_firmware(bad_request()).api, FirmwareApi::Legacy);
  EXPECT_EQ(decide_firmware({200, fixture("answer-error-bad-request.txt")}).api,
            FirmwareApi::Legacy);
  // Not an answer about the API: probe again later, never guess.
  for (const DahuaAnswer& a :
       {DahuaAnswer{401, "Error\r\nUnauthorized!\r\n"}, DahuaAnswer{503, ""},
        DahuaAnswer{200, "<html>login</html>"}, DahuaAnswer{200, fixture("answer-ok.txt")}}) {
    const auto p = decide_firmware(a);
    EXPECT_EQ(p.api, FirmwareApi::Unknown) << a.status << " " << a.body;
    EXPECT_FALSE(p.reason.empty());
  }
}

TEST(DahuaCommands, AnswersToResults) {
  EXPECT_EQ(read_answer(AnswerKind::Ok, ok()).outcome, Outcome::Done);
  const auto refused = read_answer(AnswerKind::Ok, bad_request());
  EXPECT_EQ(refused.outcome, Outcome::Failed);
  EXPECT_TRUE(refused.device_refused);
  EXPECT_EQ(refused.reason, "device refused: Bad Request! (HTTP 400)");
  EXPECT_EQ(read_answer(AnswerKind::Ok, {404, fixture("answer-error-not-found.txt")}).outcome,
            Outcome::Failed);
  for (unsigned status : {401U, 403U, 429U, 500U, 503U}) {
    EXPECT_EQ(read_answer(AnswerKind::Ok, {status, ""}).outcome, Outcome::RetryLater) << status;
  }
  EXPECT_EQ(read_answer(AnswerKind::Ok, {200, "Maybe\r\n"}).outcome, Outcome::Failed);

  const auto rec =
      read_answer(AnswerKind::RecNo, {200, fixture("answer-recordupdater-insert.txt")});
  EXPECT_EQ(rec.outcome, Outcome::Done);
  EXPECT_EQ(rec.value, "12");

  const auto info = read_answer(AnswerKind::KeyValues, {200, fixture("answer-systeminfo.txt")});
  EXPECT_EQ(info.outcome, Outcome::Done);
  EXPECT_EQ(json::parse(info.value)["serialNumber"], "6G0123PAZ00001");

  const auto partial = read_answer(AnswerKind::ListWrite,
                                   {200, fixture("answer-insertmulti-failcodes.json")}, {"1", "2"});
  EXPECT_EQ(partial.outcome, Outcome::Failed);
  EXPECT_FALSE(partial.device_refused);  // one of two stored: no blind retry as update
  EXPECT_EQ(partial.reason, "device refused 1 of 2 entries: 2 (code 286064926)");
  EXPECT_EQ(read_answer(AnswerKind::ListWrite, {200, R"({"FailCodes":[0,0]})"}).outcome,
            Outcome::Done);
  const auto rpc = read_answer(AnswerKind::ListWrite, {200, fixture("answer-rpc-error.json")});
  EXPECT_EQ(rpc.outcome, Outcome::Failed);
  EXPECT_EQ(rpc.reason, "device refused: error 268959743 Unknown error");
}

TEST(DahuaCommands, HostileAnswersAreBoundedAndPrintable) {
  std::string huge = "Error\r\n" + std::string(1 << 20, '\x01');
  const auto r = read_answer(AnswerKind::Ok, {400, huge});
  EXPECT_EQ(r.outcome, Outcome::Failed);
  EXPECT_LT(r.reason.size(), 260U);
  for (char c : r.reason) {
    EXPECT_GE(static_cast<unsigned char>(c), 0x20);
  }
  const std::string deep = std::string(10000, '[') + std::string(10000, ']');
  EXPECT_EQ(read_answer(AnswerKind::ListWrite, {200, deep}).outcome, Outcome::Failed);
  EXPECT_EQ(decide_firmware({200, deep}).api, FirmwareApi::Unknown);
  EXPECT_EQ(
      read_answer(AnswerKind::DoorStatus, {200, "Info.status=" + std::string(100, 'x')}).outcome,
      Outcome::Failed);
}

TEST(DahuaCommands, RunStopsAtTheFirstFailureAndOnTransportErrors) {
  DahuaCommandRun run(
      plan_command("upsert_user", json{{"pin", "101"}, {"card", "12EA3004"}}, profile()));
  run.accept({503, ""});
  ASSERT_TRUE(run.finished());
  EXPECT_EQ(run.outcome().outcome, Outcome::RetryLater);
  EXPECT_EQ(run.next(), nullptr);

  DahuaCommandRun cut(plan_command("open_door", json::object(), profile()));
  cut.transport_failed("connection refused");
  EXPECT_EQ(cut.outcome().outcome, Outcome::RetryLater);
  EXPECT_NE(cut.outcome().reason.find("connection refused"), std::string::npos);
}

TEST(DahuaCommands, LegacyUpsertLooksUpTheCardThenUpdatesOrInserts) {
  const json params{{"pin", "101"}, {"name", "Ana"}, {"card", "12EA3004"}};
  const auto plan = plan_command("upsert_user", params, profile(FirmwareApi::Legacy));
  ASSERT_EQ(plan.steps.size(), 1U);
  EXPECT_EQ(
      plan.steps[0].request.target,
      "/cgi-bin/recordFinder.cgi?action=find&name=AccessControlCard&condition.CardNo=12EA3004");

  DahuaCommandRun found(plan);
  found.accept({200, fixture("answer-legacy-card-find.txt")});
  ASSERT_NE(found.next(), nullptr);
  EXPECT_EQ(found.next()->target,
            "/cgi-bin/recordUpdater.cgi?action=update&name=AccessControlCard&recno=12&CardNo="
            "12EA3004&UserID=101&CardName=Ana&CardStatus=0&CardType=0");
  found.accept(ok());
  EXPECT_EQ(found.outcome().outcome, Outcome::Done);

  DahuaCommandRun fresh(plan);
  fresh.accept({200, fixture("recordfinder-empty.txt")});
  ASSERT_NE(fresh.next(), nullptr);
  EXPECT_EQ(fresh.next()->target.rfind("/cgi-bin/recordUpdater.cgi?action=insert&", 0), 0U);
  fresh.accept({200, fixture("answer-recordupdater-insert.txt")});
  EXPECT_EQ(fresh.outcome().outcome, Outcome::Done);
  EXPECT_EQ(fresh.outcome().result, "12");

  const auto no_card =
      plan_command("upsert_user", json{{"pin", "101"}}, profile(FirmwareApi::Legacy));
  ASSERT_TRUE(no_card.refused);
  EXPECT_EQ(*no_card.refused, Outcome::Unsupported);
}

TEST(DahuaCommands, LegacyDeleteRemovesEveryRowOfTheUser) {
  DahuaCommandRun run(
      plan_command("delete_user", json{{"pin", "101"}}, profile(FirmwareApi::Legacy)));
  EXPECT_EQ(run.next()->target,
            "/cgi-bin/recordFinder.cgi?action=find&name=AccessControlCard&condition.UserID=101");
  run.accept({200, fixture("answer-legacy-card-find.txt")});
  ASSERT_NE(run.next(), nullptr);
  EXPECT_EQ(run.next()->target,
            "/cgi-bin/recordUpdater.cgi?action=remove&name=AccessControlCard&recno=12");
  run.accept(ok());
  EXPECT_EQ(run.outcome().outcome, Outcome::Done);

  DahuaCommandRun none(
      plan_command("delete_user", json{{"pin", "101"}}, profile(FirmwareApi::Legacy)));
  none.accept({200, fixture("recordfinder-empty.txt")});
  EXPECT_EQ(none.outcome().outcome, Outcome::Done);  // nothing to remove

  DahuaCommandRun error(
      plan_command("delete_user", json{{"pin", "101"}}, profile(FirmwareApi::Legacy)));
  error.accept({200, fixture("recordfinder-error.txt")});
  EXPECT_EQ(error.outcome().outcome, Outcome::Failed);
}

}  // namespace
}  // namespace pushgate::adapters::dahua
