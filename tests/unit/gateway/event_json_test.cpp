// Included first: proves the header is self-contained.
#include "gateway/event_json.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

namespace pushgate {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

// A punch at 2020-09-23 18:01:24 UTC, as a terminal in `local_time` saw it.
Event punch(std::string local_time, std::optional<std::int64_t> utc_ms = 1'600'884'084'000) {
  Event e;
  e.id = 17;
  e.seq = 4;
  e.terminal_sn = "CQZ7224460246";
  e.record_key = "1001/2020-09-23 13:01:24";
  e.kind = EventKind::Attendance;
  e.local_time = std::move(local_time);
  e.utc_ms = utc_ms;
  e.pin = "1001";
  e.raw = "1001\t2020-09-23 13:01:24\t0\t15\t\t0\t0";
  e.received_ms = 1'600'884'085'500;
  return e;
}

TEST(EventJsonTest, TimeCarriesTheTerminalOffsetAndUtcTheSameInstant) {
  auto j = event_to_json(punch("2020-09-23 13:01:24"));
  EXPECT_EQ(j["time"], "2020-09-23T13:01:24-05:00");
  EXPECT_EQ(j["utc"], "2020-09-23T18:01:24.000Z");
  EXPECT_EQ(j["local_time"], "2020-09-23 13:01:24");
  EXPECT_EQ(j["received"], "2020-09-23T18:01:25.500Z");
}

TEST(EventJsonTest, PositiveAndZeroOffsets) {
  EXPECT_EQ(event_to_json(punch("2020-09-23 23:31:24"))["time"], "2020-09-23T23:31:24+05:30");
  EXPECT_EQ(event_to_json(punch("2020-09-23 18:01:24"))["time"], "2020-09-23T18:01:24+00:00");
  EXPECT_EQ(event_to_json(punch("2020-09-24 07:46:24"))["time"], "2020-09-24T07:46:24+13:45");
}

TEST(EventJsonTest, MillisecondsDoNotSkewTheOffset) {
  auto j = event_to_json(punch("2020-09-23 13:01:24", 1'600'884'084'999));
  EXPECT_EQ(j["time"], "2020-09-23T13:01:24-05:00");
  EXPECT_EQ(j["utc"], "2020-09-23T18:01:24.999Z");
}

TEST(EventJsonTest, GarbageTimeIsNullAndKeptAsSent) {
  auto j = event_to_json(punch("1971--10--29 -23:-27:-54", std::nullopt));
  EXPECT_TRUE(j["time"].is_null());
  EXPECT_TRUE(j["utc"].is_null());
  EXPECT_EQ(j["local_time"], "1971--10--29 -23:-27:-54");
}

TEST(EventJsonTest, UnparsableLocalTimeWithUtcGivesNullTimeOnly) {
  auto j = event_to_json(punch("garbage"));
  EXPECT_TRUE(j["time"].is_null());
  EXPECT_EQ(j["utc"], "2020-09-23T18:01:24.000Z");
}

TEST(EventJsonTest, UnsetFieldsAreNull) {
  Event e = punch("2020-09-23 13:01:24");
  e.pin.clear();
  auto j = event_to_json(e);
  for (const char* key :
       {"pin", "verify_mode", "status", "work_code", "door", "event_code", "command_id"}) {
    EXPECT_TRUE(j[key].is_null()) << key;
  }
  EXPECT_EQ(j["id"], 17);
  EXPECT_EQ(j["seq"], 4);
  EXPECT_EQ(j["terminal"], "CQZ7224460246");
  EXPECT_EQ(j["kind"], "attendance");
  EXPECT_EQ(j["record_key"], "1001/2020-09-23 13:01:24");
  EXPECT_EQ(j["extra"], json::object());
}

TEST(EventJsonTest, SetFieldsAreValues) {
  Event e = punch("2020-09-23 13:01:24");
  e.kind = EventKind::DoorState;
  e.verify_mode = 15;
  e.status = 0;
  e.work_code = "12";
  e.door = 1;
  e.event_code = 200;
  e.command_id = 99;
  auto j = event_to_json(e);
  EXPECT_EQ(j["kind"], "door_state");
  EXPECT_EQ(j["verify_mode"], 15);
  EXPECT_EQ(j["status"], 0);
  EXPECT_EQ(j["work_code"], "12");
  EXPECT_EQ(j["door"], 1);
  EXPECT_EQ(j["event_code"], 200);
  EXPECT_EQ(j["command_id"], 99);
  EXPECT_EQ(j["pin"], "1001");
}

TEST(EventJsonTest, ExtraIsParsedAsAnObject) {
  Event e = punch("2020-09-23 13:01:24");
  e.extra_json = R"({"mask":1,"temperature":"36.5"})";
  auto j = event_to_json(e);
  ASSERT_TRUE(j["extra"].is_object());
  EXPECT_EQ(j["extra"]["mask"], 1);
  EXPECT_EQ(j["extra"]["temperature"], "36.5");
}

TEST(EventJsonTest, ExtraThatIsNotJsonIsKeptAsText) {
  Event e = punch("2020-09-23 13:01:24");
  e.extra_json = "{broken";
  auto j = event_to_json(e);
  EXPECT_EQ(j["extra"], "{broken");
}

TEST(EventJsonTest, InvalidUtf8FromDeviceIsReplacedNeverThrown) {
  Event e = punch("2020-09-23 13:01:24");
  e.raw = "1001\t\xff\xfe\xc3(\tname";
  e.pin = "\x80";
  e.extra_json = "\xff";
  json j;
  ASSERT_NO_THROW(j = event_to_json(e));
  EXPECT_EQ(j["raw"], "1001\t\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd(\tname");
  EXPECT_EQ(j["pin"], "\xef\xbf\xbd");
  EXPECT_EQ(j["extra"], "\xef\xbf\xbd");
  EXPECT_EQ(j["terminal"], "CQZ7224460246");
  EXPECT_EQ(dump_json(json{{"a", 1}}, 2), "{\n  \"a\": 1\n}");
  // dump_json itself replaces too, for DOMs built from device text elsewhere.
  EXPECT_THAT(dump_json(json("\xff")), HasSubstr("\xef\xbf\xbd"));
}

// The strings a JSON library writes for `s`, as the reference for ours.
std::string library_escaped(const std::string& s) {
  return json(s).dump(-1, ' ', false, json::error_handler_t::replace);
}

TEST(EventJsonTest, StringEscapingMatchesTheJsonLibraryOnValidText) {
  std::string every_ascii;
  for (int c = 1; c < 128; ++c) {
    every_ascii.push_back(static_cast<char>(c));
  }
  for (const std::string& s :
       {std::string(), std::string("plain"), std::string("quote \" back \\ slash"),
        std::string("tab\tnl\ncr\rbs\bff\f"), std::string("\x01\x1f\x7f"), std::string(1, '\0'),
        every_ascii, std::string("Jos\xc3\xa9 M\xc3\xbcller"),
        std::string("\xe4\xb8\xad\xe6\x96\x87"), std::string("\xf0\x9f\x94\x92 door"),
        std::string("\xef\xbf\xbf\xf4\x8f\xbf\xbf")}) {
    std::string ours;
    append_json_string(ours, s);
    EXPECT_EQ(ours, library_escaped(s)) << json(s).dump();
  }
}

// dump_json copies plain strings itself; its text must stay the library's
// byte for byte (sync digests stored in sync_items are hashes of it).
json random_value(std::mt19937& rng, int depth) {
  const auto pick = [&rng](int n) { return static_cast<int>(rng() % static_cast<unsigned>(n)); };
  const auto text = [&] {
    static const std::vector<std::string> pieces = {
        "a",        "PIN",          "0",
        " ",        "\"",           "\\",
        "\t",       "\n",           "\x01",
        "\x1f",     "\x7f",         "/",
        "\xc3\xa9", "\xc3",         "\xe4\xb8",
        "\xff",     "\xed\xa0\x80", "\xf0\x9f\x94\x92",
        "+=",       "QUJD",         std::string(1, '\0')};
    std::string s;
    for (int i = pick(6); i > 0; --i) {
      s += pieces[static_cast<std::size_t>(pick(static_cast<int>(pieces.size())))];
    }
    return s;
  };
  switch (depth > 3 ? pick(6) : pick(8)) {
    case 0:
      return nullptr;
    case 1:
      return pick(2) == 0;
    case 2:
      return static_cast<std::int64_t>(rng()) - (1LL << 31);
    case 3:
      return static_cast<std::uint64_t>(rng()) << 20;
    case 4:
      return static_cast<double>(static_cast<int>(rng())) / 7.0;
    case 5:
      return text();
    case 6: {
      json a = json::array();
      for (int i = pick(4); i > 0; --i) {
        a.push_back(random_value(rng, depth + 1));
      }
      return a;
    }
    default: {
      json o = json::object();
      for (int i = pick(4); i > 0; --i) {
        o[text()] = random_value(rng, depth + 1);
      }
      return o;
    }
  }
}

TEST(EventJsonTest, DumpJsonIsTheLibrarysTextByteForByte) {
  std::mt19937 rng(20261207);
  for (int i = 0; i < 20000; ++i) {
    const json j = random_value(rng, 0);
    const std::string library = j.dump(-1, ' ', false, json::error_handler_t::replace);
    ASSERT_EQ(dump_json(j), library) << "case " << i;
  }
  const json photo = {{"pin", "1001"}, {"content", std::string(20000, 'Q')}, {"no", 0}};
  EXPECT_EQ(dump_json(photo), photo.dump());
  EXPECT_EQ(dump_json(json::object()), "{}");
  EXPECT_EQ(dump_json(json::array()), "[]");
  EXPECT_EQ(dump_json(photo, 2), photo.dump(2));
}

TEST(EventJsonTest, MalformedUtf8SequencesBecomeOneReplacementPerByte) {
  struct Case {
    std::string in, out;
  };
  const std::string r = "\xef\xbf\xbd";
  for (const auto& [in, out] :
       std::vector<Case>{{"\xc0\xaf", r + r},                  // overlong '/'
                         {"\xe0\x80\xaf", r + r + r},          // overlong, three bytes
                         {"\xed\xa0\x80", r + r + r},          // a UTF-16 surrogate
                         {"\xf4\x90\x80\x80", r + r + r + r},  // above U+10FFFF
                         {"\xe4\xb8", r + r},                  // cut short at the end
                         {"a\xe4\xb8"
                          "b",
                          "a" + r + r + "b"},  // cut short in the middle
                         {"\xf8\x88\x80\x80\x80", r + r + r + r + r}}) {
    std::string ours;
    append_json_string(ours, in);
    EXPECT_EQ(ours, "\"" + out + "\"") << json::parse(ours, nullptr, false).dump();
    EXPECT_TRUE(json::accept(ours));
  }
}

TEST(EventJsonTest, StreamedFormIsTheDomFormPlusTheReplayFlag) {
  Event e = punch("2020-09-23 13:01:24");
  e.kind = EventKind::Access;
  e.door = 2;
  e.event_code = 0;
  e.verify_mode = 4;
  e.status = 1;
  e.command_id = 123456789012;
  e.work_code = "w\"1";
  e.extra_json = R"({"list":[1,2],"mask":1})";  // as dump_json stored it
  for (bool replay : {false, true}) {
    std::string text;
    append_event_json(text, e, replay);
    auto j = json::parse(text);
    EXPECT_EQ(j["replay"], replay);
    j.erase("replay");
    EXPECT_EQ(j, event_to_json(e));
    // Sorted keys, compact: exactly what the JSON library writes for it.
    EXPECT_EQ(text, dump_json(json::parse(text)));
  }
  std::string text;
  append_event_json(text, e, std::nullopt);
  EXPECT_FALSE(json::parse(text).contains("replay"));
  EXPECT_EQ(json::parse(text)["command_id"], 123456789012);
  EXPECT_EQ(json::parse(text)["extra"]["list"], json::array({1, 2}));
}

TEST(EventJsonTest, FormatsUtcWithMilliseconds) {
  EXPECT_EQ(format_utc_iso8601(0), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(format_utc_iso8601(1'600'884'084'007), "2020-09-23T18:01:24.007Z");
  EXPECT_EQ(format_utc_iso8601(-1), "1969-12-31T23:59:59.999Z");
  EXPECT_EQ(format_utc_iso8601(951'782'400'000), "2000-02-29T00:00:00.000Z");
  EXPECT_EQ(format_utc_iso8601(253'402'300'799'999), "9999-12-31T23:59:59.999Z");
  // Outside four-digit years (a terminal clock gone wild) it still answers.
  EXPECT_EQ(format_utc_iso8601(253'402'300'800'000).substr(0, 6), "10000-");
}

}  // namespace
}  // namespace pushgate
