// Included first: proves the header is self-contained.
#include "adapters/zkpush/zkpush_security_registry.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <optional>
#include <string>
#include <string_view>

#include "tests/unit/adapters/zkpush/zkpush_security_test_support.hpp"

namespace pushgate::adapters::zkpush::security {
namespace {

using test_support::fixture;
using test_support::problem_lines;
using test_support::query_of;
using test_support::reasons;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::StartsWith;

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

}  // namespace
}  // namespace pushgate::adapters::zkpush::security
