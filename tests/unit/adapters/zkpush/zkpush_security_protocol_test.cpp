// Included first: proves the header is self-contained.
#include "adapters/zkpush/zkpush_security_protocol.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "tests/support/http_fixture.hpp"

namespace pushgate::adapters::zkpush::security {
namespace {

namespace fs = std::filesystem;
using test::HttpRequestFixture;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::StartsWith;

fs::path security_fixtures_dir() {
  return fs::path(PUSHGATE_SOURCE_DIR) / "tests" / "fixtures" / "zkpush" / "security";
}

/**
 * A request from tests/fixtures/zkpush/security/: the Security PUSH 3.1.2
 * examples (named after their section) and hand-made firmware shapes.
 */
HttpRequestFixture fixture(const std::string& name) {
  return test::load_http_fixture(security_fixtures_dir() / name);
}

QueryResult query_of(const HttpRequestFixture& request) {
  return parse_query(request.query());
}

std::size_t non_blank_lines(std::string_view body) {
  std::size_t count = 0;
  std::size_t pos = 0;
  while (pos < body.size()) {
    std::size_t eol = body.find('\n', pos);
    if (eol == std::string_view::npos) {
      eol = body.size();
    }
    const std::string_view line = body.substr(pos, eol - pos);
    if (line.find_first_not_of(std::string_view(" \t\r\0", 4)) != std::string_view::npos) {
      ++count;
    }
    pos = eol + 1;
  }
  return count;
}

std::vector<std::size_t> problem_lines(const std::vector<ParseProblem>& problems) {
  std::vector<std::size_t> out;
  for (const ParseProblem& problem : problems) {
    out.push_back(problem.line);
  }
  return out;
}

std::vector<std::string> reasons(const std::vector<ParseProblem>& problems) {
  std::vector<std::string> out;
  for (const ParseProblem& problem : problems) {
    out.push_back(problem.reason);
  }
  return out;
}

template <typename Record>
const Record& record_as(const TableEntry& entry) {
  return std::get<Record>(entry.record);
}

// ---------------------------------------------------------------------------
// Endpoints, uploads, handshake request
// ---------------------------------------------------------------------------

TEST(SecurityEndpointTest, ClassifiesTheSecurityEndpoints) {
  EXPECT_EQ(classify_security_endpoint("/iclock/cdata"), SecurityEndpoint::Cdata);
  EXPECT_EQ(classify_security_endpoint("/iclock/registry"), SecurityEndpoint::Registry);
  EXPECT_EQ(classify_security_endpoint("/iclock/push"), SecurityEndpoint::Push);
  EXPECT_EQ(classify_security_endpoint("/iclock/getrequest"), SecurityEndpoint::GetRequest);
  EXPECT_EQ(classify_security_endpoint("/iclock/devicecmd"), SecurityEndpoint::DeviceCmd);
  EXPECT_EQ(classify_security_endpoint("/iclock/ping"), SecurityEndpoint::Ping);
  EXPECT_EQ(classify_security_endpoint("/iclock/querydata"), SecurityEndpoint::QueryData);
  EXPECT_EQ(classify_security_endpoint("/iclock/exchange"), SecurityEndpoint::Exchange);
  EXPECT_EQ(classify_security_endpoint("/ICLOCK/Registry/"), SecurityEndpoint::Registry);
  EXPECT_EQ(classify_security_endpoint("/iclock/fdata"), SecurityEndpoint::Unknown);
  EXPECT_EQ(classify_security_endpoint("/iclock/"), SecurityEndpoint::Unknown);
  EXPECT_EQ(classify_security_endpoint(""), SecurityEndpoint::Unknown);
}

TEST(SecurityEndpointTest, ClassifiesFixtureRequests) {
  EXPECT_EQ(classify_security_endpoint(fixture("registry-4.4-example.http").path()),
            SecurityEndpoint::Registry);
  EXPECT_EQ(classify_security_endpoint(fixture("push-4.5-example.http").path()),
            SecurityEndpoint::Push);
  EXPECT_EQ(classify_security_endpoint(fixture("ping-6-example.http").path()),
            SecurityEndpoint::Ping);
  EXPECT_EQ(classify_security_endpoint(fixture("querydata-user-9.1.4-example.http").path()),
            SecurityEndpoint::QueryData);
}

TEST(SecurityEndpointTest, ClassifiesCdataUploads) {
  EXPECT_EQ(classify_cdata_upload(query_of(fixture("rtlog-7.2-example.http"))), CdataUpload::RtLog);
  EXPECT_EQ(classify_cdata_upload(query_of(fixture("rtstate-7.3-example.http"))),
            CdataUpload::RtState);
  EXPECT_EQ(classify_cdata_upload(query_of(fixture("tabledata-user-7.5-example.http"))),
            CdataUpload::TableData);
  EXPECT_EQ(classify_cdata_upload(query_of(fixture("tabledata-deviceauthorize-5-format.http"))),
            CdataUpload::TableData);
  EXPECT_EQ(classify_cdata_upload(query_of(fixture("options-4.6-example.http"))),
            CdataUpload::Options);
  EXPECT_EQ(classify_cdata_upload(query_of(fixture("remote-auth-10-format.http"))),
            CdataUpload::RemoteAuth);
  EXPECT_EQ(classify_cdata_upload(parse_query("SN=1&table=IRSTATE")), CdataUpload::IrState);
  EXPECT_EQ(classify_cdata_upload(parse_query("SN=1&table=testdata")), CdataUpload::TestData);
  EXPECT_EQ(classify_cdata_upload(parse_query("SN=1&table=ATTLOG")), CdataUpload::Unknown);
  EXPECT_EQ(classify_cdata_upload(parse_query("SN=1&AuthType=user&table=rtlog")),
            CdataUpload::RtLog);
  EXPECT_EQ(classify_cdata_upload(parse_query("SN=1")), CdataUpload::Unknown);
}

TEST(SecurityEndpointTest, ReadsTheHandshakeRequest) {
  const HandshakeRequest request =
      handshake_request(query_of(fixture("handshake-4.1-example.http")));
  EXPECT_EQ(request.sn, "3383154200002");
  EXPECT_EQ(request.pushver, "3.0.1");
  EXPECT_TRUE(request.options_all);
  EXPECT_EQ(request.device_type, "");
  const HandshakeRequest bare = handshake_request(parse_query("sn=X&DeviceType=acc"));
  EXPECT_EQ(bare.sn, "X");
  EXPECT_EQ(bare.pushver, "");
  EXPECT_FALSE(bare.options_all);
  EXPECT_EQ(bare.device_type, "acc");
}

TEST(SecurityEndpointTest, TellsSecurityPushFromPushverWithoutDeviceType) {
  // Face terminals of the current line: pushver 3.x, no DeviceType.
  EXPECT_EQ(announces_security_push(parse_query("SN=1&options=all&pushver=3.1.2")), true);
  EXPECT_EQ(announces_security_push(parse_query("SN=1&options=all&pushver=3.0.1")), true);
  EXPECT_EQ(announces_security_push(parse_query("SN=1&options=all&DeviceType=acc")), true);
  // Attendance firmware keeps its dialect.
  EXPECT_EQ(announces_security_push(parse_query(
                "SN=CKJF202560310&options=all&language=101&pushver=2.4.1&DeviceType=att&"
                "PushOptionsFlag=1")),
            false);
  EXPECT_EQ(announces_security_push(parse_query("SN=1&options=all&pushver=2.4.1")), false);
  EXPECT_EQ(announces_security_push(parse_query("SN=1&pushver=3.1.2&DeviceType=att")), false);
  // Says nothing: the caller keeps what it knows.
  EXPECT_EQ(announces_security_push(parse_query("SN=1&options=all")), std::nullopt);
  EXPECT_EQ(announces_security_push(parse_query("SN=1&pushver=Ver%202.0.22-20161201")),
            std::nullopt);
}

// ---------------------------------------------------------------------------
// Appendix 13 version negotiation
// ---------------------------------------------------------------------------

TEST(VersionNegotiationTest, ParsesProtocolVersions) {
  EXPECT_EQ(parse_protocol_version("3.1.2"), (ProtocolVersion{3, 1, 2}));
  EXPECT_EQ(parse_protocol_version("3.0"), (ProtocolVersion{3, 0, 0}));
  EXPECT_EQ(parse_protocol_version(" V3.1.1 "), (ProtocolVersion{3, 1, 1}));
  EXPECT_EQ(parse_protocol_version("Ver 2.4.1"), (ProtocolVersion{2, 4, 1}));
  for (std::string_view bad : {"", "Ver 2.0.22-20161201", "3..1", "1.2.3.4", "3.1.x", "-3.1.1",
                               "3.1.1 beta", "9999999.1"}) {
    EXPECT_FALSE(parse_protocol_version(bad).has_value()) << bad;
  }
  EXPECT_EQ(format_protocol_version({3, 0, 1}), "3.0.1");
}

TEST(VersionNegotiationTest, AlwaysAnnouncesTheLastPlainTextVersion) {
  const VersionChoice newest = choose_push_prot_ver("3.1.2");
  EXPECT_EQ(newest.announce, "3.0.1");
  EXPECT_EQ(newest.effective, "3.0.1");
  EXPECT_TRUE(newest.terminal_version_known);
  const VersionChoice encrypted = choose_push_prot_ver("3.1.1");
  EXPECT_EQ(encrypted.effective, "3.0.1");
  const VersionChoice future = choose_push_prot_ver("4.0");
  EXPECT_EQ(future.announce, "3.0.1");
  EXPECT_EQ(future.effective, "3.0.1");
}

TEST(VersionNegotiationTest, OlderTerminalKeepsItsOwnVersion) {
  const VersionChoice older = choose_push_prot_ver("2.4.1");
  EXPECT_EQ(older.announce, "3.0.1");
  EXPECT_EQ(older.effective, "2.4.1");
}

TEST(VersionNegotiationTest, MissingOrGarbagePushverMeans301) {
  for (std::string_view pushver : {"", "%s", "Ver 2.0.22-20161201"}) {
    const VersionChoice choice = choose_push_prot_ver(pushver);
    EXPECT_EQ(choice.announce, "3.0.1") << pushver;
    EXPECT_EQ(choice.effective, "3.0.1") << pushver;
    EXPECT_FALSE(choice.terminal_version_known) << pushver;
  }
  const HandshakeRequest request =
      handshake_request(query_of(fixture("handshake-4.1-example.http")));
  EXPECT_EQ(choose_push_prot_ver(request.pushver).effective, "3.0.1");
}

// ---------------------------------------------------------------------------
// Registration (§4.4)
// ---------------------------------------------------------------------------

TEST(RegistryParserTest, ParsesTheSpecExample) {
  const RegistryResult result = parse_registry(fixture("registry-4.4-example.http").body);
  EXPECT_TRUE(result.problems.empty()) << ::testing::PrintToString(reasons(result.problems));
  ASSERT_EQ(result.fields.size(), 65U);  // 64 commas, none inside a value
  EXPECT_EQ(result.fields[0].key, "DeviceType");
  EXPECT_EQ(result.fields[1].key, "~DeviceName");  // kept as sent
  const DeviceRegistration& d = result.device;
  EXPECT_TRUE(d.is_access_control());
  EXPECT_EQ(d.device_type, "acc");
  EXPECT_EQ(d.device_name, "F20/M");
  EXPECT_EQ(d.firmware, "Ver 8.0.1.3-20151229");
  EXPECT_EQ(d.push_version, "Ver 2.0.22-20161201");
  EXPECT_EQ(d.comm_type, "ethernet");
  EXPECT_EQ(d.max_package_size, 2048000);
  EXPECT_EQ(d.lock_count, 1);
  EXPECT_EQ(d.reader_count, 2);
  EXPECT_EQ(d.aux_in_count, 0);
  EXPECT_EQ(d.aux_out_count, 0);
  EXPECT_EQ(d.machine_type, 101);
  EXPECT_EQ(d.max_lock_count, 4);
  EXPECT_EQ(d.max_user_count, 50);
  EXPECT_EQ(d.max_attlog_count, 10);
  EXPECT_EQ(d.ip_address, "192.168.213.221");
  EXPECT_EQ(d.net_mask, "255.255.255.0");
  EXPECT_EQ(d.gateway, "192.168.213.1");
  EXPECT_EQ(d.verify_styles, "ff7f0000");
  EXPECT_THAT(d.event_types, StartsWith("BF0FE03D3"));
  EXPECT_EQ(d.role, ControllerRole::Standalone);
  EXPECT_FALSE(d.cmd_format.has_value());
  EXPECT_TRUE(d.mac.empty());
  // AccSupportFunList=0101010000...: position 1 (RS485 reader encryption) yes, 0 no.
  EXPECT_FALSE(d.acc_supports(0));
  EXPECT_TRUE(d.acc_supports(1));
  EXPECT_FALSE(d.acc_supports(1000));
  // The secret is in the fields for whoever needs it, not in a typed member.
  ASSERT_NE(result.find("authKey"), nullptr);
  EXPECT_EQ(*result.find("authKey"), "dassas");
  EXPECT_EQ(*result.find("MaxUserFingerCount"), "10");  // '~' ignored by find
  EXPECT_EQ(*result.find("~maxuserfingercount"), "10");
}

TEST(RegistryParserTest, ParsesTildeKeysOverSeveralCrlfLines) {
  const RegistryResult result = parse_registry(fixture("registry-tilde-keys.http").body);
  const DeviceRegistration& d = result.device;
  EXPECT_EQ(d.device_name, "SpeedFace-V5L");
  EXPECT_EQ(d.firmware, "ZAM180-NF-Ver1.0.12");
  EXPECT_EQ(d.push_version, "Ver 2.0.33S-20211020");
  EXPECT_EQ(d.mac, "00:17:61:12:fa:f0");
  EXPECT_EQ(d.max_user_count, 10000);
  EXPECT_EQ(*result.find("OEMVendor"), "ZKTeco Co., Ltd.");  // comma inside the value
  EXPECT_EQ(d.cmd_format, 0);
  EXPECT_EQ(d.date_fmt_fun_on, 1);
  EXPECT_EQ(d.role, ControllerRole::Master);
  EXPECT_EQ(d.bio_photo_fun, 1);
  EXPECT_EQ(d.bio_data_fun, 1);
  EXPECT_EQ(d.multi_bio_data_support, "0:1:0:0:0:0:0:0:1:1");
  EXPECT_EQ(d.multi_bio_photo_support, "0:0:0:0:0:0:0:0:0:1:0");
  EXPECT_EQ(d.multi_bio_version, "0:10.0:0:0:0:0:0:0:0:58.10");
  EXPECT_EQ(d.max_multi_bio_data_count, "0:6000:0:0:0:0:0:0:0:6000");
  EXPECT_EQ(d.new_vf_styles, "0000101000011010");
  EXPECT_EQ(d.ir_temp_detection_fun_on, 1);
  EXPECT_EQ(d.mask_detection_fun_on, 1);
  EXPECT_EQ(*result.find("authKey"), "");
  EXPECT_EQ(*result.find("MaxFace7Count"), "x");  // unknown keys are kept, never judged
  // DevNSLevel=L0 is not a number: the field stays, the typed member is empty.
  EXPECT_FALSE(d.dev_ns_level.has_value());
  ASSERT_EQ(result.problems.size(), 1U);
  EXPECT_EQ(result.problems[0].line, 3U);
  EXPECT_EQ(result.problems[0].raw, "DevNSLevel=L0");
  EXPECT_THAT(result.problems[0].reason, HasSubstr("DevNSLevel"));
}

TEST(RegistryParserTest, ReadsControllerRoles) {
  EXPECT_EQ(parse_registry("MultiStageControlFunOn=1,MasterControlOn=0,SubControlOn=1").device.role,
            ControllerRole::Sub);
  EXPECT_EQ(parse_registry("MultiStageControlFunOn=0,MasterControlOn=1,SubControlOn=0").device.role,
            ControllerRole::Standalone);
  EXPECT_EQ(parse_registry("DeviceType=acc").device.role, ControllerRole::Standalone);
}

TEST(RegistryParserTest, ReportsPiecesWithoutKeyValue) {
  const RegistryResult result = parse_registry("DeviceType=acc,LockCount=4\nnonsense\n=x,");
  EXPECT_EQ(result.device.lock_count, 4);
  EXPECT_THAT(problem_lines(result.problems), ElementsAre(2U, 3U));
  EXPECT_EQ(result.problems[0].raw, "nonsense");
}

TEST(RegistryAnswerTest, RendersExactlyTheRegistryCode) {
  const std::string answer = render_registry_answer("Uy47fxftP3");
  EXPECT_EQ(answer, "RegistryCode=Uy47fxftP3");
  EXPECT_EQ(answer.size(), 23U);  // the §4.4 example's Content-Length
  EXPECT_EQ(render_registry_answer("a\r\nb"), "RegistryCode=ab");
}

TEST(RegistryAnswerTest, ValidatesRegistryCodes) {
  EXPECT_TRUE(valid_registry_code("Uy47fxftP3"));
  EXPECT_TRUE(valid_registry_code(std::string(32, 'a')));
  EXPECT_FALSE(valid_registry_code(std::string(33, 'a')));
  EXPECT_FALSE(valid_registry_code(""));
  EXPECT_FALSE(valid_registry_code("ab cd"));
  EXPECT_FALSE(valid_registry_code("ab\n"));
}

// ---------------------------------------------------------------------------
// Server configuration answers (§4.1, §4.5)
// ---------------------------------------------------------------------------

ServerConfig spec_example_config() {
  ServerConfig config;
  config.server_version = "3.0.1";
  config.server_name = "ADMS";
  config.push_prot_ver = "3.0.1";
  config.error_delay = 60;
  config.request_delay = 2;
  config.trans_times = "00:00;14:00";
  config.trans_interval = 1;
  config.trans_tables = "User Transaction";
  config.realtime = true;
  config.session_id = "30BFB04B2C8AECC72C01C03BFD549D15";
  config.timeout_sec = 10;
  return config;
}

TEST(HandshakeAnswerTest, UnregisteredTerminalHearsOk) {
  EXPECT_EQ(render_unregistered_handshake(), "OK");
}

TEST(HandshakeAnswerTest, RendersTheRegisteredAnswerInSpecOrder) {
  RegisteredHandshake answer;
  answer.registry_code = "Uy47fxftP3";
  answer.config = spec_example_config();
  EXPECT_EQ(render_registered_handshake(answer),
            "registry=ok\n"
            "RegistryCode=Uy47fxftP3\n"
            "ServerVersion=3.0.1\n"
            "ServerName=ADMS\n"
            "PushProtVer=3.0.1\n"
            "ErrorDelay=60\n"
            "RequestDelay=2\n"
            "TransTimes=00:00;14:00\n"
            "TransInterval=1\n"
            "TransTables=User Transaction\n"
            "Realtime=1\n"
            "SessionID=30BFB04B2C8AECC72C01C03BFD549D15\n"
            "TimeoutSec=10");
}

TEST(HandshakeAnswerTest, ExtraLinesComeLastAndCannotInjectLines) {
  RegisteredHandshake answer;
  answer.registry_code = "X\r\nregistry=evil";
  answer.config.realtime = false;
  answer.extra = {{"MultiBioDataSupport", "0:1"}};
  const std::string text = render_registered_handshake(answer);
  EXPECT_THAT(text, HasSubstr("RegistryCode=Xregistry=evil\n"));
  EXPECT_THAT(text, HasSubstr("Realtime=0\n"));
  EXPECT_THAT(text, ::testing::EndsWith("\nMultiBioDataSupport=0:1"));
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 13);
}

TEST(PushConfigTest, RendersTheSpecExampleByteForByte) {
  PushConfigAnswer answer;
  answer.config = spec_example_config();
  answer.also_push_prot_ver = false;
  const std::string text = render_push_config(answer);
  EXPECT_EQ(text,
            "ServerVersion=3.0.1\n"
            "ServerName=ADMS\n"
            "PushVersion=3.0.1\n"
            "ErrorDelay=60\n"
            "RequestDelay=2\n"
            "TransTimes=00:00;14:00\n"
            "TransInterval=1\n"
            "TransTables=User Transaction\n"
            "Realtime=1\n"
            "SessionID=30BFB04B2C8AECC72C01C03BFD549D15\n"
            "TimeoutSec=10");
  EXPECT_EQ(text.size(), 218U);  // the §4.5 example's Content-Length
}

TEST(PushConfigTest, AddsPushProtVerAndOptionalKeysInTemplateOrder) {
  PushConfigAnswer answer;
  answer.config.session_id = "S";
  answer.config.push_prot_ver = choose_push_prot_ver("3.1.2").announce;
  answer.multi_bio_photo_support = "0:0:0:0:0:0:0:0:0:1";
  answer.bio_photo_fun = "1";
  answer.new_vf_styles = "0000101000011010";
  answer.extra = {{"Custom", "1"}};
  const std::string text = render_push_config(answer);
  EXPECT_THAT(text, HasSubstr("\nPushVersion=3.0.1\n"));
  EXPECT_THAT(text,
              HasSubstr("\nTimeoutSec=10\nPushProtVer=3.0.1\nBioPhotoFun=1\n"
                        "MultiBioPhotoSupport=0:0:0:0:0:0:0:0:0:1\nNewVFStyles=0000101000011010\n"
                        "Custom=1"));
  EXPECT_EQ(text.back(), '1');
}

TEST(BioSupportTest, SplitsAndIntersectsColonLists) {
  EXPECT_THAT(split_bio_list("0: 1: 1: 0"), ElementsAre("0", "1", "1", "0"));
  EXPECT_TRUE(split_bio_list("").empty());
  // §3.1's example: the terminal does fingerprints and visible-light faces,
  // the server only faces; they settle on faces.
  EXPECT_EQ(intersect_bio_support("0:1:0:0:0:0:0:0:1:0", "0:0:0:0:0:0:0:0:1:0"),
            "0:0:0:0:0:0:0:0:1:0");
  EXPECT_EQ(intersect_bio_support("0:1", "0:1:1"), "0:1:0");
  EXPECT_TRUE(bio_type_listed("0:1:0:0:0:0:0:0:1:0", 8));
  EXPECT_FALSE(bio_type_listed("0:1:0:0:0:0:0:0:1:0", 2));
  EXPECT_FALSE(bio_type_listed("0:1", 9));
  EXPECT_TRUE(bio_type_listed("0: 1", 1));
}

// ---------------------------------------------------------------------------
// Token and cookies
// ---------------------------------------------------------------------------

TEST(TokenTest, IsTheHexMd5OfCodeSerialAndSession) {
  // RFC 1321 test vectors: the three inputs are simply concatenated.
  EXPECT_EQ(compute_token("", "", ""), "d41d8cd98f00b204e9800998ecf8427e");
  EXPECT_EQ(compute_token("a", "b", "c"), "900150983cd24fb0d6963f7d28e17f72");
  EXPECT_EQ(compute_token("ab", "", "c"), compute_token("a", "bc", ""));
  // The §4.4/§4.5 example values (RegistryCode, SN, SessionID). The spec's
  // own example token (9d41643b...) comes from inputs it does not show.
  EXPECT_EQ(compute_token("Uy47fxftP3", "3383154200002", "30BFB04B2C8AECC72C01C03BFD549D15"),
            "a59b6315f78c9a2b8e04ef32a50760e9");
}

TEST(TokenTest, MatchesIgnoringHexCase) {
  EXPECT_TRUE(
      token_matches("a59b6315f78c9a2b8e04ef32a50760e9", "A59B6315F78C9A2B8E04EF32A50760E9"));
  EXPECT_FALSE(
      token_matches("a59b6315f78c9a2b8e04ef32a50760e9", "a59b6315f78c9a2b8e04ef32a50760e8"));
  EXPECT_FALSE(token_matches("a59b", "a59b6315"));
  EXPECT_FALSE(token_matches("", ""));
}

TEST(CookieTest, ReadsTheTokenOfFixtureRequests) {
  EXPECT_EQ(parse_cookie(*fixture("push-4.5-example.http").header("Cookie")).token,
            "9d41643bfba01fe8b49143c21defc20a");
  EXPECT_EQ(parse_cookie(*fixture("ping-6-example.http").header("Cookie")).token,
            "cb386eb5f8219329db63356fb262ddff");
  // §7.4's example sends the bare token.
  EXPECT_EQ(parse_cookie(*fixture("devicecmd-7.4-example.http").header("Cookie")).token,
            "1637f0b091af92b0cc66b8eede0ae48e");
}

TEST(CookieTest, AcceptsCommaAndSemicolonSeparators) {
  const CookieValues spec = parse_cookie("token=abc, timestamp=1704067200");
  EXPECT_EQ(spec.token, "abc");
  EXPECT_EQ(spec.timestamp, "1704067200");
  const CookieValues rfc = parse_cookie("JSESSIONID=30BF; TOKEN=\"DEF\" ;x");
  EXPECT_EQ(rfc.token, "DEF");
  EXPECT_FALSE(rfc.timestamp.has_value());
  EXPECT_FALSE(parse_cookie("").token.has_value());
  EXPECT_FALSE(parse_cookie("notatoken").token.has_value());
  EXPECT_EQ(parse_cookie("token=first; token=second").token, "first");
}

// ---------------------------------------------------------------------------
// Door states and rtstate (§7.3)
// ---------------------------------------------------------------------------

TEST(DoorStateTest, DecodesSensorRelayAndAlarmBits) {
  const DoorStatesResult result = decode_door_states("5A", "05", "0102000000000000", 4);
  ASSERT_TRUE(result.error.empty()) << result.error;
  ASSERT_EQ(result.doors.size(), 4U);
  // 0x5A = 01 01 10 10: doors 4 and 3 closed, 2 and 1 open (door 1 lowest).
  EXPECT_EQ(result.doors[0].sensor, DoorSensor::Open);
  EXPECT_EQ(result.doors[1].sensor, DoorSensor::Open);
  EXPECT_EQ(result.doors[2].sensor, DoorSensor::Closed);
  EXPECT_EQ(result.doors[3].sensor, DoorSensor::Closed);
  // 0x05: relays 1 and 3 disconnected.
  EXPECT_EQ(result.doors[0].relay, RelayState::Disconnected);
  EXPECT_EQ(result.doors[1].relay, RelayState::Connected);
  EXPECT_EQ(result.doors[2].relay, RelayState::Disconnected);
  EXPECT_TRUE(result.doors[0].has_alarm(DoorAlarm::AccidentalOpen));
  EXPECT_FALSE(result.doors[0].has_alarm(DoorAlarm::Tamper));
  EXPECT_TRUE(result.doors[1].has_alarm(DoorAlarm::Tamper));
  EXPECT_EQ(result.doors[3].alarms, 0);
  EXPECT_EQ(result.doors[3].door, 4);
}

TEST(DoorStateTest, CoversAsManyDoorsAsTheLongestField) {
  const DoorStatesResult result = decode_door_states("C0FF", std::nullopt, std::nullopt);
  ASSERT_EQ(result.doors.size(), 8U);
  EXPECT_EQ(result.doors[3].sensor, DoorSensor::Unknown);  // 0b11, undefined
  EXPECT_EQ(result.doors[0].sensor, DoorSensor::None);
  EXPECT_FALSE(result.doors[0].relay.has_value());
  EXPECT_FALSE(result.doors[0].alarms.has_value());
  EXPECT_TRUE(decode_door_states(std::nullopt, std::nullopt, std::nullopt).doors.empty());
  EXPECT_TRUE(decode_door_states("", "", "").doors.empty());
}

TEST(DoorStateTest, RefusesBadHexAndTooManyDoors) {
  EXPECT_THAT(decode_door_states("5", std::nullopt, std::nullopt).error, HasSubstr("sensor"));
  EXPECT_THAT(decode_door_states(std::nullopt, "zz", std::nullopt).error, HasSubstr("relay"));
  EXPECT_THAT(decode_door_states(std::nullopt, std::nullopt, std::string(130, '0')).error,
              HasSubstr("65 doors"));
  const DoorStatesResult many =
      decode_door_states(std::string(34, '0'), std::nullopt, std::nullopt);
  EXPECT_THAT(many.error, HasSubstr("68 doors"));
  EXPECT_TRUE(many.doors.empty());
  EXPECT_TRUE(decode_door_states(std::string(32, '0'), std::nullopt, std::nullopt).error.empty());
}

TEST(RtStateParserTest, ParsesTheSpecExample) {
  const RtStateResult result = parse_rtstate(fixture("rtstate-7.3-example.http").body);
  EXPECT_TRUE(result.problems.empty());
  ASSERT_EQ(result.records.size(), 1U);
  const RtStateRecord& r = result.records[0];
  EXPECT_EQ(r.time, (DeviceTime{2017, 1, 10, 15, 42, 40}));
  EXPECT_EQ(r.sensor, "00");
  EXPECT_EQ(r.relay, "00");
  EXPECT_EQ(r.alarm, "0200000000000000");
  EXPECT_EQ(r.raw, "time=2017-01-10 15:42:40\tsensor=00\trelay=00\talarm=0200000000000000");
  ASSERT_EQ(r.doors.size(), 8U);
  EXPECT_EQ(r.doors[0].sensor, DoorSensor::None);
  EXPECT_EQ(r.doors[0].relay, RelayState::Connected);
  EXPECT_TRUE(r.doors[0].has_alarm(DoorAlarm::Tamper));
  EXPECT_FALSE(r.doors[4].sensor.has_value());  // sensor=00 covers doors 1-4
  // Told the terminal has one door (LockCount=1), only door 1 is reported.
  const RtStateResult one = parse_rtstate(fixture("rtstate-7.3-example.http").body, 1);
  ASSERT_EQ(one.records.size(), 1U);
  EXPECT_EQ(one.records[0].doors.size(), 1U);
}

TEST(RtStateParserTest, QuarantinesRowsItCannotDecode) {
  const RtStateResult result = parse_rtstate(fixture("rtstate-four-doors.http").body, 4);
  ASSERT_EQ(result.records.size(), 2U);
  EXPECT_EQ(result.records[0].line, 1U);
  EXPECT_EQ(result.records[0].doors.size(), 4U);
  EXPECT_EQ(result.records[0].doors[0].sensor, DoorSensor::Open);
  EXPECT_EQ(result.records[1].line, 3U);
  EXPECT_EQ(*find_value(result.records[1].extra, "door"), "all");
  EXPECT_THAT(problem_lines(result.problems), ElementsAre(2U, 4U));
  EXPECT_THAT(result.problems[0].reason, HasSubstr("sensor is not hex"));
  EXPECT_THAT(result.problems[1].reason, HasSubstr("without sensor, relay or alarm"));
  EXPECT_EQ(result.problems[1].raw, "time=2024-03-05 11:00:10\tcount=3");
}

TEST(RtStateParserTest, KeepsUnsetClockAndNeedsTime) {
  const RtStateResult result =
      parse_rtstate("time=1970--01--01 -0:-0:-1\tsensor=01\nsensor=01\n\n");
  ASSERT_EQ(result.records.size(), 1U);
  EXPECT_FALSE(result.records[0].time.has_value());
  EXPECT_EQ(result.records[0].time_text, "1970--01--01 -0:-0:-1");
  ASSERT_EQ(result.problems.size(), 1U);
  EXPECT_EQ(result.problems[0].line, 2U);
}

// ---------------------------------------------------------------------------
// rtlog (§7.2)
// ---------------------------------------------------------------------------

TEST(RtlogParserTest, ParsesTheSpecExample) {
  const RtlogResult result = parse_rtlog(fixture("rtlog-7.2-example.http").body);
  EXPECT_TRUE(result.problems.empty());
  ASSERT_EQ(result.records.size(), 1U);
  const RtlogRecord& r = result.records[0];
  EXPECT_EQ(r.line, 1U);
  EXPECT_EQ(r.raw,
            "time=2017-01-10 11:49:32\tpin=0\tcardno=0\teventaddr=1\tevent=27\tinoutstatus=1\t"
            "verifytype=0\tindex=21");  // CRLF dropped
  EXPECT_EQ(r.time, (DeviceTime{2017, 1, 10, 11, 49, 32}));
  EXPECT_FALSE(r.time_unparsed());
  EXPECT_EQ(r.pin, "0");
  EXPECT_EQ(r.card_no, "0");
  EXPECT_EQ(r.event_addr, 1);
  EXPECT_EQ(r.event, 27);
  EXPECT_EQ(event_code_name(*r.event), "The user is not registered");
  EXPECT_EQ(r.in_out_status, 1);
  EXPECT_EQ(r.verify_mode, 0);
  EXPECT_FALSE(r.verify_styles.has_value());
  EXPECT_EQ(r.index, 21);
  EXPECT_FALSE(r.site_code.has_value());
  EXPECT_TRUE(r.extra.empty());
  EXPECT_FALSE(r.is_door_state_row());
}

TEST(RtlogParserTest, ParsesByKeyWhateverTheOrderCaseAndExtraKeys) {
  const RtlogResult result = parse_rtlog(fixture("rtlog-crlf-extra-keys.http").body);
  EXPECT_TRUE(result.problems.empty()) << ::testing::PrintToString(reasons(result.problems));
  ASSERT_EQ(result.records.size(), 4U);

  const RtlogRecord& thermal = result.records[0];
  EXPECT_EQ(thermal.mask_flag, 1);
  EXPECT_EQ(thermal.temperature, "36.4");
  EXPECT_EQ(thermal.conv_temperature, "97.5");
  EXPECT_EQ(thermal.bit_count, 0);
  EXPECT_EQ(thermal.site_code, 0);
  EXPECT_EQ(thermal.link_id, 0);
  EXPECT_EQ(thermal.verify_mode, 15);
  EXPECT_EQ(verify_mode_name(*thermal.verify_mode), "Face");
  EXPECT_TRUE(thermal.extra.empty());

  const RtlogRecord& styles = result.records[1];
  ASSERT_TRUE(styles.verify_styles.has_value());
  EXPECT_EQ(*styles.verify_styles, std::uint16_t{1 << 11});
  EXPECT_EQ(verify_style_name(11), "Card");
  EXPECT_FALSE(styles.verify_mode.has_value());
  ASSERT_EQ(styles.extra.size(), 2U);  // the trailing TAB adds nothing
  EXPECT_EQ(styles.extra[0].key, "devname");
  EXPECT_EQ(styles.extra[1].value, "20240305081509-1002.jpg");

  const RtlogRecord& mixed_case = result.records[2];
  EXPECT_EQ(mixed_case.line, 4U);  // line 3 is blank
  EXPECT_EQ(mixed_case.card_no, "99887766");
  EXPECT_EQ(mixed_case.event, 27);
  EXPECT_EQ(mixed_case.index, 1206);

  const RtlogRecord& reordered = result.records[3];
  EXPECT_EQ(reordered.time, (DeviceTime{2024, 3, 5, 8, 17, 0}));
  EXPECT_EQ(reordered.event, 4008);
  EXPECT_EQ(event_category(*reordered.event), EventCategory::Normal);
  EXPECT_EQ(reordered.alarm_type, 200);
  EXPECT_EQ(reordered.pin, "");
}

TEST(RtlogParserTest, KeepsDoorStateRowsWithoutPin) {
  const RtlogResult result = parse_rtlog(fixture("rtlog-door-state-row.http").body);
  EXPECT_TRUE(result.problems.empty()) << ::testing::PrintToString(reasons(result.problems));
  ASSERT_EQ(result.records.size(), 4U);
  EXPECT_EQ(result.records[0].pin, "1001");
  EXPECT_EQ(result.records[1].pin, "");
  EXPECT_EQ(event_code_name(*result.records[1].event), "The door is open");
  EXPECT_FALSE(result.records[1].is_door_state_row());
  const RtlogRecord& status = result.records[2];
  EXPECT_EQ(status.event, 255);
  EXPECT_TRUE(status.is_door_state_row());
  EXPECT_EQ(event_category(255), EventCategory::Status);
  const RtlogRecord& sensors = result.records[3];
  EXPECT_TRUE(sensors.is_door_state_row());
  EXPECT_FALSE(sensors.event.has_value());
  ASSERT_EQ(sensors.doors.size(), 8U);
  EXPECT_EQ(sensors.doors[0].sensor, DoorSensor::Closed);
  EXPECT_EQ(sensors.doors[0].relay, RelayState::Connected);
  EXPECT_EQ(sensors.doors[0].alarms, 0);
  EXPECT_EQ(*find_value(sensors.extra, "sensor"), "01");  // text kept, in order
  EXPECT_EQ(sensors.extra[0].key, "sensor");
}

TEST(RtlogParserTest, KeepsEventsStampedBeforeNtp) {
  const RtlogResult result = parse_rtlog(fixture("rtlog-pre-ntp-time.http").body);
  EXPECT_TRUE(result.problems.empty());
  ASSERT_EQ(result.records.size(), 4U);
  const RtlogRecord& boot = result.records[0];
  EXPECT_TRUE(boot.time_unparsed());
  EXPECT_EQ(boot.time_text, "1971--10--29 -23:-27:-54");
  EXPECT_EQ(boot.event, 206);
  EXPECT_EQ(event_code_name(206), "Start the device");
  EXPECT_EQ(result.records[1].event, 102);  // a door forced open is not thrown away
  EXPECT_TRUE(result.records[1].time_unparsed());
  EXPECT_FALSE(result.records[2].time_unparsed());
}

TEST(RtlogParserTest, DedupKeyIncludesTheTimeBecauseIndexRestarts) {
  const std::string body = fixture("rtlog-pre-ntp-time.http").body;
  const RtlogResult result = parse_rtlog(body);
  ASSERT_EQ(result.records.size(), 4U);
  // Records 1 and 4 share index=1 (the log was cleared); the time tells them apart.
  EXPECT_EQ(result.records[0].index, result.records[3].index);
  const std::string first = rtlog_dedup_key("CJDE202260011", result.records[0]);
  EXPECT_NE(first, rtlog_dedup_key("CJDE202260011", result.records[3]));
  EXPECT_NE(first, rtlog_dedup_key("CJDE202260011", result.records[1]));
  EXPECT_NE(first, rtlog_dedup_key("OTHER", result.records[0]));
  // A re-upload of the same bytes gives the same key.
  EXPECT_EQ(first, rtlog_dedup_key("CJDE202260011", parse_rtlog(body).records[0]));
  RtlogRecord moved = result.records[3];
  moved.time_text = "2024-03-05 08:00:04";
  EXPECT_NE(rtlog_dedup_key("S", moved), rtlog_dedup_key("S", result.records[3]));
  // Length prefixes: no value can imitate a separator.
  RtlogRecord a;
  a.pin = "1|2";
  RtlogRecord b;
  b.pin = "1";
  b.card_no = "2";
  EXPECT_NE(rtlog_dedup_key("S", a), rtlog_dedup_key("S", b));
}

TEST(RtlogParserTest, QuarantinesBadLinesAndKeepsTheRest) {
  const RtlogResult result = parse_rtlog(fixture("rtlog-bad-lines.http").body);
  ASSERT_EQ(result.records.size(), 2U);
  EXPECT_EQ(result.records[0].index, 1400);
  EXPECT_EQ(result.records[1].index, 1405);
  EXPECT_EQ(result.records[1].line, 7U);
  EXPECT_THAT(problem_lines(result.problems), ElementsAre(2U, 3U, 4U, 5U, 6U));
  const std::vector<std::string> why = reasons(result.problems);
  EXPECT_THAT(why[0], HasSubstr("without key=value"));
  EXPECT_THAT(why[1], HasSubstr("without time"));
  EXPECT_THAT(why[2], HasSubstr("event is not a number"));
  EXPECT_THAT(why[3], HasSubstr("verifytype"));
  EXPECT_THAT(why[4], HasSubstr("sensor is not hex"));
  EXPECT_EQ(result.problems[1].raw,
            "pin=1003\tcardno=0\teventaddr=1\tevent=0\tinoutstatus=0\tverifytype=1\tindex=1402");
}

TEST(RtlogParserTest, ToleratesNulAndBareCrTerminators) {
  using namespace std::string_literals;
  const RtlogResult nul =
      parse_rtlog("time=2024-01-01 00:00:00\tindex=21\0\r\ntime=2024-01-01 00:00:01\r\n\0"s);
  EXPECT_TRUE(nul.problems.empty());
  ASSERT_EQ(nul.records.size(), 2U);
  EXPECT_EQ(nul.records[0].index, 21);
  EXPECT_TRUE(parse_rtlog("").records.empty());
  EXPECT_TRUE(parse_rtlog("\r\n\t\r\n").problems.empty());
}

TEST(RtlogParserTest, ParsesVerifyStyleStrings) {
  EXPECT_EQ(parse_verify_styles("0000101000000011"), 0x0A03);
  EXPECT_EQ(parse_verify_styles("0000000000000010"), 0x0002);  // face
  EXPECT_FALSE(parse_verify_styles("000010100000001").has_value());
  EXPECT_FALSE(parse_verify_styles("000010100000002x").has_value());
  EXPECT_EQ(verify_style_name(1), "Face");
  EXPECT_EQ(verify_style_name(12), "QR code / health code");
  EXPECT_EQ(verify_style_name(13), "unknown");
}

// ---------------------------------------------------------------------------
// tabledata (§7.5-7.12, §5)
// ---------------------------------------------------------------------------

TEST(TableDataParserTest, ParsesTheUserExample) {
  const HttpRequestFixture request = fixture("tabledata-user-7.5-example.http");
  const TableDataParams params = tabledata_params(query_of(request));
  EXPECT_EQ(params.table_name, "user");
  EXPECT_EQ(params.count, 1);
  const TableDataResult result = parse_tabledata(params.table_name, request.body);
  EXPECT_EQ(result.kind, TableKind::User);
  EXPECT_TRUE(result.problems.empty());
  ASSERT_EQ(result.entries.size(), 1U);
  const TableEntry& entry = result.entries[0];
  EXPECT_EQ(entry.type_word, "user");
  EXPECT_EQ(entry.fields.size(), 11U);
  EXPECT_EQ(entry.fields[0].key, "uid");
  const UserInfoRecord& u = record_as<UserInfoRecord>(entry);
  EXPECT_EQ(u.pin, "4");
  EXPECT_EQ(u.uid, 5);
  EXPECT_EQ(u.card_no, "");
  EXPECT_EQ(u.group, 1);
  EXPECT_EQ(u.start_time, "0");
  EXPECT_EQ(u.end_time, "0");
  EXPECT_EQ(u.privilege, 0);
  EXPECT_EQ(u.disable, 0);
  EXPECT_EQ(u.verify, 0);
  EXPECT_TRUE(u.extra.empty());
  EXPECT_EQ(render_table_count_answer(params.table_name, result.entries.size()), "user=1");
}

TEST(TableDataParserTest, ParsesTheIdentityCardExampleWithEitherKeySpelling) {
  const TableDataResult result =
      parse_tabledata("identitycard", fixture("tabledata-identitycard-7.6-example.http").body);
  EXPECT_TRUE(result.problems.empty());
  ASSERT_EQ(result.entries.size(), 1U);
  const IdentityCardRecord& c = record_as<IdentityCardRecord>(result.entries[0]);
  EXPECT_EQ(c.pin, "1");
  EXPECT_EQ(c.sn_num, "26121292460088826975");
  EXPECT_EQ(c.id_num, "210102199212182xxxx");
  EXPECT_EQ(c.name, "Zhangsan");
  EXPECT_EQ(c.gender, 1);
  EXPECT_EQ(c.nation, 1);
  EXPECT_EQ(c.birthday, "19911218");
  EXPECT_EQ(c.valid_info, "2013091220230912");
  EXPECT_EQ(c.address, "xxxxx, Tangxia Town, Dongguan, Guangdong");
  EXPECT_EQ(c.issuer, "xxx Public Security Bureau");
  EXPECT_THAT(c.fp_template1, StartsWith("QwGIEgEL"));
  EXPECT_THAT(c.fp_template2, StartsWith("QwGIEgEQ"));
  EXPECT_TRUE(c.extra.empty());
  const TableDataResult underscored = parse_tabledata(
      "identitycard",
      "identitycard pin=2\tID_Num=1\tValid_Info=2\tFP_Template1=3\tAdditional_Info=4");
  ASSERT_EQ(underscored.entries.size(), 1U);
  const IdentityCardRecord& u = record_as<IdentityCardRecord>(underscored.entries[0]);
  EXPECT_EQ(u.id_num, "1");
  EXPECT_EQ(u.valid_info, "2");
  EXPECT_EQ(u.fp_template1, "3");
  EXPECT_EQ(u.additional_info, "4");
}

TEST(TableDataParserTest, ParsesFingerprintTemplates) {
  const HttpRequestFixture request = fixture("tabledata-templatev10-7.7-example.http");
  const TableDataResult result = parse_tabledata("templatev10", request.body);
  EXPECT_TRUE(result.problems.empty());
  ASSERT_EQ(result.entries.size(), 2U);
  const auto& first = record_as<FingerprintTemplateRecord>(result.entries[0]);
  EXPECT_EQ(first.pin, "4");
  EXPECT_EQ(first.size, 1808);
  EXPECT_EQ(first.uid, 4);
  EXPECT_EQ(first.finger(), 7);
  EXPECT_FALSE(first.duress());
  EXPECT_THAT(first.template_data, StartsWith("TAItUzIxAAAFSksECAUHCc7Q"));
  EXPECT_EQ(*find_value(first.extra, "resverd"), "");
  EXPECT_EQ(*find_value(first.extra, "endtag"), "");
  const auto& second = record_as<FingerprintTemplateRecord>(result.entries[1]);
  EXPECT_EQ(second.uid, 3);
  EXPECT_EQ(second.finger(), 6);
  EXPECT_EQ(tabledata_params(query_of(request)).count, 2);
  EXPECT_EQ(render_table_count_answer("templatev10", result.entries.size()), "templatev10=2");
  const TableDataResult duress =
      parse_tabledata("templatev10", "templatev10 pin=9\tfingerid=22\tvalid=1\ttemplate=QUJD");
  ASSERT_EQ(duress.entries.size(), 1U);
  EXPECT_TRUE(record_as<FingerprintTemplateRecord>(duress.entries[0]).duress());
  EXPECT_EQ(record_as<FingerprintTemplateRecord>(duress.entries[0]).finger(), 6);
}

TEST(TableDataParserTest, ParsesPhotosAndSnapshots) {
  const TableDataResult snapshot =
      parse_tabledata("ATTPHOTO", fixture("tabledata-attphoto-7.9-example.http").body);
  EXPECT_EQ(snapshot.kind, TableKind::AttPhoto);
  ASSERT_EQ(snapshot.entries.size(), 1U);
  EXPECT_EQ(snapshot.entries[0].type_word, "");  // §7.9 lines have no type word
  const SnapshotRecord& s = record_as<SnapshotRecord>(snapshot.entries[0]);
  EXPECT_EQ(s.file_name, "20181003143617-22.jpg");
  EXPECT_EQ(s.sn, "1809140006");
  EXPECT_EQ(s.size, 22701);
  EXPECT_THAT(s.photo, StartsWith("/9j/4AAQ"));
  const std::optional<AttPhotoName> name = parse_attphoto_name(s.file_name);
  ASSERT_TRUE(name.has_value());
  EXPECT_EQ(name->pin, "22");
  EXPECT_EQ(name->time, (DeviceTime{2018, 10, 3, 14, 36, 17}));

  const TableDataResult userpic =
      parse_tabledata("userpic", fixture("tabledata-userpic-7.10-example.http").body);
  ASSERT_EQ(userpic.entries.size(), 1U);
  const PhotoRecord& p = record_as<PhotoRecord>(userpic.entries[0]);
  EXPECT_EQ(p.pin, "1");
  EXPECT_EQ(p.file_name, "1.jpg");
  EXPECT_EQ(p.size, 22320);
  EXPECT_THAT(p.content, StartsWith("/9j/4AAQ"));

  const TableDataResult biophoto =
      parse_tabledata("biophoto", fixture("tabledata-biophoto-7.8-format.http").body);
  ASSERT_EQ(biophoto.entries.size(), 1U);
  EXPECT_EQ(record_as<PhotoRecord>(biophoto.entries[0]).type, 9);
  const TableDataResult spaced =
      parse_tabledata("biophoto", "biophoto pin=7\tfile name=7.jpg\ttype=9\tsize=4\tcontent=AAAA");
  ASSERT_EQ(spaced.entries.size(), 1U);
  EXPECT_EQ(record_as<PhotoRecord>(spaced.entries[0]).file_name, "7.jpg");
}

TEST(TableDataParserTest, ParsesUnifiedTemplatesAndErrorLogs) {
  const TableDataResult bio =
      parse_tabledata("biodata", fixture("tabledata-biodata-7.11-example.http").body);
  ASSERT_EQ(bio.entries.size(), 1U);
  const TemplateRecord& t = record_as<TemplateRecord>(bio.entries[0]);
  EXPECT_EQ(t.pin, "1");
  EXPECT_EQ(t.number, 0);
  EXPECT_EQ(t.index, 0);
  EXPECT_EQ(t.valid, 1);
  EXPECT_EQ(t.duress, 0);
  EXPECT_EQ(t.type, 8);
  EXPECT_EQ(t.major_ver, 5);
  EXPECT_EQ(t.minor_ver, 0);
  EXPECT_EQ(t.format, "0");
  EXPECT_THAT(t.data, StartsWith("apUBD+cAC44IAAEAAJfKWlBWAQQF"));

  const TableDataResult errors =
      parse_tabledata("errorlog", fixture("tabledata-errorlog-7.12-example.http").body);
  ASSERT_EQ(errors.entries.size(), 1U);
  const ErrorLogRecord& e = record_as<ErrorLogRecord>(errors.entries[0]);
  EXPECT_EQ(e.err_code, "D01E0001");
  EXPECT_EQ(e.err_msg, "");
  EXPECT_EQ(e.data_origin, "cmd");
  EXPECT_EQ(e.cmd_id, "123");
  // §7.12's format has no type word; its example has one. Both parse.
  const TableDataResult bare = parse_tabledata("errorlog", "errcode=D01E0005\tdataorigin=dev");
  ASSERT_EQ(bare.entries.size(), 1U);
  EXPECT_EQ(record_as<ErrorLogRecord>(bare.entries[0]).err_code, "D01E0005");
}

TEST(TableDataParserTest, KeepsOtherTablesAsPairs) {
  const HttpRequestFixture request = fixture("tabledata-deviceauthorize-5-format.http");
  const TableDataResult result =
      parse_tabledata(tabledata_params(query_of(request)).table_name, request.body);
  EXPECT_EQ(result.kind, TableKind::DeviceAuthorize);
  EXPECT_TRUE(result.problems.empty());
  ASSERT_EQ(result.entries.size(), 2U);
  EXPECT_TRUE(std::holds_alternative<std::monostate>(result.entries[0].record));
  EXPECT_EQ(*find_value(result.entries[0].fields, "SN"), "DDG7012017010600049");
  EXPECT_EQ(*find_value(result.entries[1].fields, "AuthorizeInfo"), "F20");
  const TableDataResult aplist =
      parse_tabledata("APlist", "APList ecn=3\tssid=Office WiFi\trssi=-40\tmac=aa:bb");
  EXPECT_EQ(aplist.kind, TableKind::Other);
  ASSERT_EQ(aplist.entries.size(), 1U);
  EXPECT_EQ(*find_value(aplist.entries[0].fields, "ssid"), "Office WiFi");
}

TEST(TableDataParserTest, QuarantinesBadLinesAndKeepsTheRest) {
  const HttpRequestFixture request = fixture("tabledata-user-bad-lines.http");
  const TableDataResult result = parse_tabledata("user", request.body);
  ASSERT_EQ(result.entries.size(), 2U);
  const UserInfoRecord& jorge = record_as<UserInfoRecord>(result.entries[0]);
  EXPECT_EQ(jorge.name, "Jorge Leon");
  EXPECT_EQ(jorge.privilege, 14);
  EXPECT_EQ(parse_card_number(jorge.card_no), 123456789U);
  EXPECT_EQ(decode_old_time(static_cast<std::uint32_t>(std::stoul(jorge.start_time))),
            (DeviceTime{2018, 2, 27, 14, 51, 0}));
  EXPECT_EQ(result.entries[1].line, 6U);
  EXPECT_EQ(result.entries[1].type_word, "");
  EXPECT_EQ(record_as<UserInfoRecord>(result.entries[1]).pin, "5");
  EXPECT_THAT(problem_lines(result.problems), ElementsAre(2U, 3U, 4U, 5U));
  const std::vector<std::string> why = reasons(result.problems);
  EXPECT_THAT(why[0], HasSubstr("without pin"));
  EXPECT_THAT(why[1], HasSubstr("privilege is not a number"));
  EXPECT_THAT(why[2], HasSubstr("not expected in tablename=user"));
  EXPECT_THAT(why[3], HasSubstr("without key=value"));
  // count= covers every line the terminal sent: records plus quarantined ones.
  EXPECT_EQ(static_cast<std::size_t>(*tabledata_params(query_of(request)).count),
            result.entries.size() + result.problems.size());
}

TEST(TableDataParserTest, RequiresTheDataThatMakesARecord) {
  EXPECT_EQ(parse_tabledata("templatev10", "templatev10 pin=1\ttemplate=").problems.size(), 1U);
  EXPECT_EQ(parse_tabledata("biodata", "biodata pin=1\ttmp=").problems.size(), 1U);
  EXPECT_EQ(parse_tabledata("biophoto", "biophoto filename=x.jpg").problems.size(), 1U);
  EXPECT_EQ(parse_tabledata("ATTPHOTO", "sn=1\tsize=3").problems.size(), 1U);
  EXPECT_EQ(parse_tabledata("errorlog", "errorlog errmsg=x").problems.size(), 1U);
  EXPECT_EQ(parse_tabledata("transaction", "transaction pin=1").problems.size(), 1U);
  EXPECT_EQ(parse_tabledata("transaction", "transaction time_second=-1").problems.size(), 1U);
  EXPECT_EQ(parse_tabledata("user", "user").problems.size(), 1U);
  EXPECT_EQ(parse_tabledata("", "anything k=v").entries.size(), 1U);  // no tablename: any word
}

TEST(TableDataParserTest, ClassifiesTableNames) {
  EXPECT_EQ(classify_table_name("USER"), TableKind::User);
  EXPECT_EQ(classify_table_name("identitycard"), TableKind::IdentityCard);
  EXPECT_EQ(classify_table_name("templatev10"), TableKind::TemplateV10);
  EXPECT_EQ(classify_table_name("biophoto"), TableKind::BioPhoto);
  EXPECT_EQ(classify_table_name("attphoto"), TableKind::AttPhoto);
  EXPECT_EQ(classify_table_name("userpic"), TableKind::UserPic);
  EXPECT_EQ(classify_table_name("biodata"), TableKind::BioData);
  EXPECT_EQ(classify_table_name("errorlog"), TableKind::ErrorLog);
  EXPECT_EQ(classify_table_name("transaction"), TableKind::Transaction);
  EXPECT_EQ(classify_table_name("DeviceAuthorize"), TableKind::DeviceAuthorize);
  EXPECT_EQ(classify_table_name("mulcarduser"), TableKind::Other);
  EXPECT_EQ(classify_table_name(""), TableKind::Other);
}

TEST(TableDataParserTest, RendersCountAnswers) {
  EXPECT_EQ(render_table_count_answer("ATTPHOTO", 1), "ATTPHOTO=1");
  EXPECT_EQ(render_table_count_answer("biodata", 0), "biodata=0");
  EXPECT_EQ(render_table_count_answer("user\r\nOK", 3), "userOK=3");
}

TEST(CardNumberTest, ReadsDecimalAndBracketedHex) {
  EXPECT_EQ(parse_card_number("123456789"), 123456789U);
  EXPECT_EQ(parse_card_number("[15CD5B07]"), 123456789U);  // §7.5's example pair
  EXPECT_EQ(parse_card_number("[15cd5b07]"), 123456789U);
  EXPECT_EQ(parse_card_number("[01]"), 1U);
  EXPECT_EQ(parse_card_number("0"), 0U);
  for (std::string_view bad : {"", "[]", "[15CD5B0]", "[GG]", "-1", "+1", "12a", " 1",
                               "18446744073709551616", "[112233445566778899]"}) {
    EXPECT_FALSE(parse_card_number(bad).has_value()) << bad;
  }
}

TEST(OldTimeTest, ConvertsAppendixFiveAndSixSeconds) {
  EXPECT_EQ(decode_old_time(548003688), (DeviceTime{2017, 1, 19, 15, 14, 48}));
  EXPECT_EQ(encode_old_time(DeviceTime{2017, 1, 19, 15, 14, 48}), 548003688U);
  EXPECT_EQ(decode_old_time(0), (DeviceTime{2000, 1, 1, 0, 0, 0}));
  EXPECT_FALSE(encode_old_time(DeviceTime{1999, 12, 31, 23, 59, 59}).has_value());
  EXPECT_FALSE(encode_old_time(DeviceTime{2200, 1, 1, 0, 0, 0}).has_value());
  // Every month has 31 days in the encoding: 30 Feb encodes but is no date.
  const std::optional<std::uint32_t> feb30 = encode_old_time(DeviceTime{2021, 2, 30, 0, 0, 0});
  ASSERT_TRUE(feb30.has_value());
  EXPECT_FALSE(decode_old_time(*feb30).has_value());
}

// ---------------------------------------------------------------------------
// querydata (§9.1.3, §9.1.4, §9.2.1)
// ---------------------------------------------------------------------------

QueryDataResult querydata(const std::string& name) {
  const HttpRequestFixture request = fixture(name);
  return parse_querydata(query_of(request), request.body);
}

TEST(QueryDataParserTest, ParsesUsersWithPaging) {
  const QueryDataResult result = querydata("querydata-user-9.1.4-example.http");
  EXPECT_EQ(result.params.type, "tabledata");
  EXPECT_EQ(result.params.cmd_id, "415");
  EXPECT_EQ(result.params.table_name, "user");
  EXPECT_EQ(result.params.count, 3);
  EXPECT_EQ(result.params.pack_count, 1);
  EXPECT_EQ(result.params.pack_index, 1);
  EXPECT_TRUE(result.params.last_pack());
  EXPECT_TRUE(result.params.problems.empty());
  EXPECT_EQ(result.kind, TableKind::User);
  EXPECT_TRUE(result.problems.empty());
  ASSERT_EQ(result.entries.size(), 3U);
  EXPECT_EQ(record_as<UserInfoRecord>(result.entries[1]).password, "1");
  EXPECT_EQ(record_as<UserInfoRecord>(result.entries[2]).pin, "3");
  EXPECT_EQ(render_table_count_answer(result.params.table_name, result.entries.size()), "user=3");
}

TEST(QueryDataParserTest, ParsesAccessRecordsWithAppendixFiveTimes) {
  const QueryDataResult result = querydata("querydata-transaction-9.1.4-example.http");
  EXPECT_EQ(result.kind, TableKind::Transaction);
  ASSERT_EQ(result.entries.size(), 1U);
  const TransactionRecord& x = record_as<TransactionRecord>(result.entries[0]);
  EXPECT_EQ(x.pin, "0");
  EXPECT_EQ(x.verified, 200);
  EXPECT_EQ(x.door_id, 1);
  EXPECT_EQ(x.event_type, 100);
  EXPECT_EQ(event_code_name(*x.event_type), "Tamper alarm");
  EXPECT_EQ(x.in_out_state, 2);
  EXPECT_EQ(x.time_second, 548003688U);
  EXPECT_EQ(x.time, (DeviceTime{2017, 1, 19, 15, 14, 48}));
  EXPECT_EQ(x.index, 92);
  EXPECT_EQ(x.site_code, 0);
  EXPECT_EQ(x.dev_id, 1);
  EXPECT_EQ(*find_value(x.extra, "sn"), "3383154200002");
}

TEST(QueryDataParserTest, TracksPackagesOfAMultiPackageAnswer) {
  const QueryDataResult first = querydata("querydata-biophoto-9.1.4-example-pack1.http");
  EXPECT_EQ(first.params.pack_count, 2);
  EXPECT_EQ(first.params.pack_index, 1);
  EXPECT_FALSE(first.params.last_pack());
  ASSERT_EQ(first.entries.size(), 1U);
  EXPECT_EQ(record_as<PhotoRecord>(first.entries[0]).pin, "123");
  const QueryDataResult second = querydata("querydata-biophoto-9.1.4-example-pack2.http");
  EXPECT_TRUE(second.params.last_pack());
  EXPECT_EQ(record_as<PhotoRecord>(second.entries[0]).file_name, "124.jpg");
  const QueryDataResult bio = querydata("querydata-biodata-9.1.4-example-pack1.http");
  ASSERT_EQ(bio.entries.size(), 1U);
  EXPECT_EQ(record_as<TemplateRecord>(bio.entries[0]).major_ver, 10);
}

TEST(QueryDataParserTest, ReadsCountAnswers) {
  const QueryDataResult result = querydata("querydata-count-9.1.3-example.http");
  EXPECT_EQ(result.params.type, "count");
  EXPECT_EQ(result.counted, 5);
  EXPECT_TRUE(result.problems.empty());
  EXPECT_TRUE(result.entries.empty());
  const QueryDataResult wrong =
      parse_querydata(parse_query("type=count&tablename=user"), "transaction=5\nuser=x\nuser=2\n");
  EXPECT_EQ(wrong.counted, 2);
  EXPECT_THAT(problem_lines(wrong.problems), ElementsAre(1U, 2U));
  const QueryDataResult twice =
      parse_querydata(parse_query("type=count&tablename=user"), "user=1\nuser=2");
  EXPECT_EQ(twice.counted, 1);
  EXPECT_EQ(twice.problems.size(), 1U);
}

TEST(QueryDataParserTest, ReadsGetOptionsAnswers) {
  const QueryDataResult result = parse_querydata(
      parse_query("SN=1&type=options&cmdid=408&tablename=options&count=1&packcnt=1&packidx=1"),
      "~SerialNumber=3383154200002,FirmVer=AC Ver 4.1.9 3893-05 Oct 17 2013,LockCount=4");
  EXPECT_TRUE(result.problems.empty());
  ASSERT_EQ(result.options.size(), 3U);
  EXPECT_EQ(result.options[1].value, "AC Ver 4.1.9 3893-05 Oct 17 2013");
}

TEST(QueryDataParserTest, QuarantinesArchivesAndUnknownTypesWhole) {
  const HttpRequestFixture request = fixture("querydata-account-9.2.1-example.http");
  const QueryDataResult archive = parse_querydata(query_of(request), request.body);
  EXPECT_EQ(archive.params.datafmt, 3);
  EXPECT_EQ(archive.params.stamp, "9999");
  EXPECT_TRUE(archive.entries.empty());
  ASSERT_EQ(archive.problems.size(), 1U);
  EXPECT_EQ(archive.problems[0].raw, request.body);  // NUL and all
  const QueryDataResult unknown = parse_querydata(parse_query("type=blob"), "x=1");
  ASSERT_EQ(unknown.problems.size(), 1U);
  EXPECT_EQ(unknown.problems[0].raw, "x=1");
  EXPECT_TRUE(parse_querydata(parse_query("type=blob"), "").problems.empty());
}

TEST(QueryDataParserTest, ReportsNonNumericPaging) {
  const QueryDataParams params =
      querydata_params(parse_query("type=tabledata&count=x&packcnt=&packidx=2"));
  EXPECT_FALSE(params.count.has_value());
  EXPECT_FALSE(params.pack_count.has_value());
  EXPECT_EQ(params.pack_index, 2);
  EXPECT_TRUE(params.last_pack());  // without packcnt there is nothing to wait for
  ASSERT_EQ(params.problems.size(), 1U);
  EXPECT_EQ(params.problems[0].raw, "count=x");
}

// ---------------------------------------------------------------------------
// Command results (§7.4, Appendix 15): zkpush::parse_devicecmd
// ---------------------------------------------------------------------------

TEST(SecurityDeviceCmdTest, ParsesTheSpecExample) {
  const DeviceCmdResult result = parse_devicecmd(fixture("devicecmd-7.4-example.http").body);
  EXPECT_TRUE(result.problems.empty());
  ASSERT_EQ(result.confirmations.size(), 1U);
  EXPECT_EQ(result.confirmations[0].id, "1");
  EXPECT_EQ(result.confirmations[0].return_code, 0);
  EXPECT_EQ(result.confirmations[0].cmd, "DATA UPDATE");
  EXPECT_FALSE(sub_controller_sn(result.confirmations[0]).has_value());
}

TEST(SecurityDeviceCmdTest, ParsesLowerCaseReturnAndBareSegments) {
  const DeviceCmdResult result = parse_devicecmd(fixture("devicecmd-9-results-examples.http").body);
  EXPECT_TRUE(result.problems.empty());
  ASSERT_EQ(result.confirmations.size(), 4U);
  EXPECT_EQ(result.confirmations[0].return_code, 3);
  EXPECT_EQ(result.confirmations[0].cmd, "DATA QUERY");
  EXPECT_EQ(result.confirmations[2].cmd, "CONTROL DEVICE");
  const CommandConfirmation& account = result.confirmations[3];
  EXPECT_EQ(account.cmd, "ACCOUNT");
  ASSERT_NE(find_value(account.extra, "transaction"), nullptr);
  EXPECT_EQ(*find_value(account.extra, "transaction"), "");
  EXPECT_EQ(*find_value(account.extra, "RecordSum"), "41");
}

TEST(SecurityDeviceCmdTest, ReadsSubControllerResults) {
  const DeviceCmdResult result =
      parse_devicecmd(fixture("devicecmd-sub-controller-appendix15.http").body);
  EXPECT_TRUE(result.problems.empty());
  ASSERT_EQ(result.confirmations.size(), 4U);
  const CommandConfirmation& queued = result.confirmations[0];
  EXPECT_TRUE(queued_for_sub_controller(queued));
  EXPECT_EQ(sub_controller_sn(queued), "DDG7012017010600049");
  EXPECT_EQ(return_code_name(queued.return_code),
            "Received by the master controller, waiting for the sub-controller");
  EXPECT_FALSE(queued_for_sub_controller(result.confirmations[2]));
  EXPECT_EQ(result.confirmations[2].id, queued.id);  // the final result of the same command
  EXPECT_FALSE(sub_controller_sn(result.confirmations[3]).has_value());
  EXPECT_EQ(return_code_name(result.confirmations[3].return_code),
            "Failed to remotely cancel the alarm");
}

// ---------------------------------------------------------------------------
// CONTROL DEVICE (§9.4) and remote identification (§10)
// ---------------------------------------------------------------------------

TEST(ControlDeviceTest, RendersTheSpecExamples) {
  EXPECT_EQ(render_control_device(open_door(1, 5)), "CONTROL DEVICE 01010105");
  EXPECT_EQ(render_control_device(ControlDevice{2, 1, 0, 0, std::nullopt}),
            "CONTROL DEVICE 02010000");
  EXPECT_EQ(render_control_device(ControlDevice{3, 0, 0, 0, std::nullopt}),
            "CONTROL DEVICE 03000000");
  EXPECT_EQ(render_control_device(ControlDevice{9, 0, 0, 0, 0}), "CONTROL DEVICE 0900000000");
  EXPECT_EQ(render_control_device(ControlDevice{11, 1, 0, 0, std::nullopt}),
            "CONTROL DEVICE 0B010000");
  EXPECT_EQ(render_control_device(ControlDevice{13, 0, 0, 0, std::nullopt}),
            "CONTROL DEVICE 0D000000");
  EXPECT_EQ(static_cast<int>(ControlOperation::SubDeviceStatus), 13);
}

TEST(ControlDeviceTest, RefusesValuesThatDoNotFitAByte) {
  EXPECT_EQ(render_control_device(1, 1, 1, 255), "CONTROL DEVICE 010101FF");
  EXPECT_EQ(render_control_device(4, 16, 1, 0), "CONTROL DEVICE 04100100");
  EXPECT_FALSE(render_control_device(1, 256, 1, 5).has_value());
  EXPECT_FALSE(render_control_device(1, -1, 1, 5).has_value());
  EXPECT_FALSE(render_control_device(300, 1, 1, 5).has_value());
  EXPECT_FALSE(render_control_device(1, 1, 1, 1000).has_value());
}

TEST(RemoteAuthTest, ParsesTheRequestRecord) {
  const HttpRequestFixture request = fixture("remote-auth-10-format.http");
  const RemoteAuthResult result = parse_remote_auth(request.body);
  EXPECT_TRUE(result.problems.empty());
  ASSERT_TRUE(result.request.has_value());
  const RtlogRecord& e = result.request->event;
  EXPECT_EQ(result.request->addr_type, 2);
  EXPECT_EQ(e.time, (DeviceTime{2017, 1, 10, 11, 49, 32}));
  EXPECT_EQ(e.pin, "1");
  EXPECT_EQ(e.card_no, "123456789");
  EXPECT_EQ(e.event_addr, 1);
  EXPECT_EQ(e.event, 0);
  EXPECT_EQ(e.in_out_status, 0);
  EXPECT_EQ(e.verify_mode, 4);
  EXPECT_TRUE(e.extra.empty());  // addrtype is typed, not extra
  EXPECT_EQ(e.raw, request.body);
}

TEST(RemoteAuthTest, QuarantinesExtraAndBadLines) {
  const RemoteAuthResult two =
      parse_remote_auth("time=2024-01-01 00:00:00\tpin=1\r\ntime=2024-01-01 00:00:01\tpin=2\r\n");
  ASSERT_TRUE(two.request.has_value());
  EXPECT_EQ(two.request->event.pin, "1");
  EXPECT_THAT(problem_lines(two.problems), ElementsAre(2U));
  const RemoteAuthResult bad = parse_remote_auth("pin=1\tevent=0");
  EXPECT_FALSE(bad.request.has_value());
  ASSERT_EQ(bad.problems.size(), 1U);
  EXPECT_THAT(bad.problems[0].reason, HasSubstr("without time"));
  const RemoteAuthResult bad_addr = parse_remote_auth("time=x\taddrtype=door");
  EXPECT_FALSE(bad_addr.request.has_value());
  EXPECT_EQ(bad_addr.problems.size(), 1U);
  EXPECT_FALSE(parse_remote_auth("").request.has_value());
}

TEST(RemoteAuthTest, RendersSuccessWithTheDoorCommand) {
  const RemoteAuthResult request = parse_remote_auth(fixture("remote-auth-10-format.http").body);
  ASSERT_TRUE(request.request.has_value());
  RemoteAuthAnswer answer;
  answer.verdict = AuthVerdict::Success;
  answer.event = request.request->event.raw;
  answer.control = open_door(1, 5);
  answer.tips = "Welcome";
  EXPECT_EQ(render_remote_auth_answer(answer),
            "AUTH=SUCCESS\r\n"
            "time=2017-01-10 11:49:32\tpin=1\tcardno=123456789\taddrtype=2\teventaddr=1\tevent=0\t"
            "inoutstatus=0\tverifytype=4\r\n"
            "CONTROL DEVICE 01010105\r\n"
            "TIPS=Welcome");
}

TEST(RemoteAuthTest, FailureNeverCarriesTheDoorCommand) {
  RemoteAuthAnswer answer;
  answer.verdict = AuthVerdict::Failed;
  answer.event = "time=2017-01-10 11:49:32\tpin=1";
  answer.control = open_door(1, 5);
  EXPECT_EQ(render_remote_auth_answer(answer), "AUTH=FAILED\r\ntime=2017-01-10 11:49:32\tpin=1");
  answer.verdict = AuthVerdict::Timeout;
  answer.event.clear();
  answer.tips = "line1\r\nAUTH=SUCCESS";
  EXPECT_EQ(render_remote_auth_answer(answer), "AUTH=TIMEOUT\r\nTIPS=line1AUTH=SUCCESS");
  EXPECT_EQ(to_string(AuthVerdict::Success), "SUCCESS");
}

TEST(RemoteAuthTest, TipsCannotForgeACommandLine) {
  // Fuzz corpus remote_auth_corpus/regression-fuzz-target-nul-joined-control-device.body:
  // removing CR, LF and NUL may join bytes into "CONTROL DEVICE", but only
  // inside the TIPS line, never as a line of its own.
  using namespace std::string_literals;
  RemoteAuthAnswer answer;
  answer.verdict = AuthVerdict::Failed;
  answer.tips = "x\r\nCONTROL DEVI\0CE 01010105"s;
  EXPECT_EQ(render_remote_auth_answer(answer), "AUTH=FAILED\r\nTIPS=xCONTROL DEVICE 01010105");
}

TEST(RemoteAuthTest, EventCodeReplacesOnlyTheEventField) {
  const RemoteAuthResult request = parse_remote_auth(fixture("remote-auth-10-format.http").body);
  ASSERT_TRUE(request.request.has_value());
  EXPECT_EQ(with_event_code(request.request->event.raw, 24),
            "time=2017-01-10 11:49:32\tpin=1\tcardno=123456789\taddrtype=2\teventaddr=1\t"
            "event=24\tinoutstatus=0\tverifytype=4");
  // "eventaddr=" is not "event=", and a record without one gets it appended.
  EXPECT_EQ(with_event_code("pin=1\teventaddr=3", 27), "pin=1\teventaddr=3\tevent=27");
  EXPECT_EQ(with_event_code("", 44), "event=44");
}

// ---------------------------------------------------------------------------
// Names
// ---------------------------------------------------------------------------

TEST(NameTableTest, NamesReturnCodesOfBothFlavours) {
  EXPECT_EQ(return_code_name(0), "success");
  EXPECT_EQ(return_code_name(2048), "success");
  EXPECT_EQ(return_code_name(-1), "Failed to send the command");
  EXPECT_EQ(return_code_name(-1, PushFlavour::Attendance), "The parameter is incorrect");
  EXPECT_EQ(return_code_name(-13), "Incorrect command. The command does not exist");
  EXPECT_EQ(return_code_name(-13, PushFlavour::Attendance),
            "Incorrect command. The command does not exist");  // only Security has it
  EXPECT_EQ(return_code_name(-1002), "Not supported by the equipment");
  EXPECT_EQ(return_code_name(-1004, PushFlavour::Attendance),
            "command not supported by this firmware (The data and equipment configuration are "
            "inconsistent)");
  EXPECT_EQ(return_code_name(-1004), "The data and equipment configuration are inconsistent");
  // The attendance query form sent to access firmware.
  EXPECT_EQ(return_code_name(-629),
            "command not supported by this firmware (Incorrect table name)");
  EXPECT_EQ(return_code_name(-629, PushFlavour::Attendance), "Incorrect table name");
  EXPECT_EQ(return_code_name(-708), "The firmware does not support this command");
  EXPECT_EQ(return_code_name(-801),
            "Incorrect command format. The correct format is cmd:SN:command");
  EXPECT_EQ(return_code_name(-29), "unknown");
  EXPECT_EQ(return_code_name(-99999), "unknown");
}

TEST(NameTableTest, NamesEventCodes) {
  EXPECT_EQ(event_code_name(0), "The door opens normally after verification");
  EXPECT_EQ(event_code_name(8), "Open the door remotely");
  EXPECT_EQ(event_code_name(102), "The door is opened accidentally");
  EXPECT_EQ(event_code_name(254), "Definition of the extended event number");
  EXPECT_EQ(event_code_name(4009), "Video intercom call");
  EXPECT_EQ(event_code_name(5012), "The belt is broken");
  EXPECT_EQ(event_code_name(6010),
            "Using emergency DC power supply, the power battery enters a low voltage state");
  for (int code : {-1, 46, 81, 122, 238, 253, 256, 3999, 4014, 7000}) {
    EXPECT_EQ(event_code_name(code), "unknown") << code;
  }
}

TEST(NameTableTest, ClassifiesEventCodes) {
  EXPECT_EQ(event_category(0), EventCategory::Normal);
  EXPECT_EQ(event_category(19), EventCategory::Normal);
  EXPECT_EQ(event_category(20), EventCategory::Error);
  EXPECT_EQ(event_category(99), EventCategory::Error);
  EXPECT_EQ(event_category(100), EventCategory::Alarm);
  EXPECT_EQ(event_category(199), EventCategory::Alarm);
  EXPECT_EQ(event_category(200), EventCategory::Normal);
  EXPECT_EQ(event_category(253), EventCategory::Normal);
  EXPECT_EQ(event_category(254), EventCategory::Extended);
  EXPECT_EQ(event_category(4999), EventCategory::Normal);
  EXPECT_EQ(event_category(5000), EventCategory::Error);
  EXPECT_EQ(event_category(6999), EventCategory::Alarm);
  EXPECT_EQ(event_category(7000), EventCategory::Unknown);
  EXPECT_EQ(event_category(-5), EventCategory::Unknown);
}

TEST(NameTableTest, NamesVerifyModes) {
  EXPECT_EQ(verify_mode_name(0),
            "Vein, face, fingerprint, card, or password (automatically identified)");
  EXPECT_EQ(verify_mode_name(4), "Card only");
  EXPECT_EQ(verify_mode_name(29), "Palm, fingerprint and face");
  EXPECT_EQ(verify_mode_name(200), "Other: a door or system event (no user verified)");
  EXPECT_EQ(verify_mode_name(1), "Fingerprint only");
  EXPECT_EQ(verify_mode_name(4), "Card only");
  EXPECT_EQ(verify_mode_name(15), "Face");
  EXPECT_EQ(verify_mode_name(30), "unknown");
  EXPECT_EQ(verify_mode_name(-1), "unknown");
}

// ---------------------------------------------------------------------------
// Every fixture
// ---------------------------------------------------------------------------

/** Parses a fixture's body with the parser its endpoint calls for; returns lines accounted. */
std::optional<std::size_t> accounted_lines(const HttpRequestFixture& request) {
  const QueryResult query = query_of(request);
  switch (classify_security_endpoint(request.path())) {
    case SecurityEndpoint::Registry: {
      const RegistryResult r = parse_registry(request.body);
      return r.fields.empty() ? 0 : non_blank_lines(request.body);
    }
    case SecurityEndpoint::DeviceCmd: {
      const DeviceCmdResult r = parse_devicecmd(request.body);
      std::size_t lines = r.problems.size();
      for (const CommandConfirmation& c : r.confirmations) {
        lines += c.line_count;
      }
      return lines;
    }
    case SecurityEndpoint::QueryData: {
      const QueryDataResult r = parse_querydata(query, request.body);
      if (r.params.datafmt == 3 || r.counted) {
        return non_blank_lines(request.body);
      }
      return r.entries.size() + r.problems.size();
    }
    case SecurityEndpoint::Cdata:
      switch (classify_cdata_upload(query)) {
        case CdataUpload::RtLog: {
          const RtlogResult r = parse_rtlog(request.body);
          return r.records.size() + r.problems.size();
        }
        case CdataUpload::RtState: {
          const RtStateResult r = parse_rtstate(request.body);
          return r.records.size() + r.problems.size();
        }
        case CdataUpload::TableData: {
          const TableDataResult r =
              parse_tabledata(tabledata_params(query).table_name, request.body);
          return r.entries.size() + r.problems.size();
        }
        case CdataUpload::RemoteAuth: {
          const RemoteAuthResult r = parse_remote_auth(request.body);
          return (r.request ? 1 : 0) + r.problems.size();
        }
        case CdataUpload::Options:
          return parse_options(request.body).options.empty() ? 0 : 1;
        default:
          return std::nullopt;
      }
    default:
      return std::nullopt;
  }
}

TEST(SecurityFixturesTest, EveryFixtureLoadsAndNoLineIsLost) {
  const std::vector<fs::path> files = test::http_fixture_files(security_fixtures_dir());
  ASSERT_GE(files.size(), 30U);
  std::size_t with_body = 0;
  for (const fs::path& file : files) {
    const HttpRequestFixture request = test::load_http_fixture(file);
    ASSERT_NE(request.header("Host"), nullptr) << request.name;
    EXPECT_NE(classify_security_endpoint(request.path()), SecurityEndpoint::Unknown)
        << request.name;
    if (request.body.empty()) {
      continue;
    }
    ++with_body;
    const std::optional<std::size_t> accounted = accounted_lines(request);
    ASSERT_TRUE(accounted.has_value()) << request.name;
    if (classify_cdata_upload(query_of(request)) == CdataUpload::Options) {
      EXPECT_EQ(*accounted, 1U) << request.name;
    } else {
      EXPECT_EQ(*accounted, non_blank_lines(request.body)) << request.name << " lost a line";
    }
  }
  EXPECT_GE(with_body, 28U);
}

TEST(SecurityFixturesTest, OptionsUploadParsesWithTheAttendanceParser) {
  const OptionsResult result = parse_options(fixture("options-4.6-example.http").body);
  EXPECT_TRUE(result.problems.empty());
  ASSERT_EQ(result.options.size(), 30U);
  EXPECT_EQ(*result.find("DeviceName"), "ProBio");
  EXPECT_EQ(*result.find("OEMVendor"), "ZKTeco Inc. ");
  EXPECT_EQ(*result.find("MaxPvCount"), "");
  EXPECT_EQ(*result.find("PushVersion"), "Ver 2.0.34-20180822");
}

}  // namespace
}  // namespace pushgate::adapters::zkpush::security
