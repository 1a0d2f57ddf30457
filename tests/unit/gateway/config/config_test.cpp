// Included first: proves the header is self-contained.
#include "gateway/config/config.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "gateway/adapter.hpp"
#include "gateway/config/core_config.hpp"

namespace pushgate::config {
namespace {

using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::UnorderedElementsAre;

// The reasons given for `key`, so a test can say which key failed and why.
std::vector<std::string> reasons_for(const Config::LoadResult& r, const std::string& key) {
  std::vector<std::string> out;
  for (const auto& e : r.errors) {
    if (e.key == key) {
      out.push_back(e.reason);
    }
  }
  return out;
}

Schema core_schema() {
  Schema s;
  declare_core_config(s);
  return s;
}

// A small schema exercising every value type, a range and choices.
Schema toy_schema() {
  Schema s;
  s.add({"net.port",
         ValueType::Int,
         std::int64_t{80},
         "Port.",
         std::int64_t{1},
         std::int64_t{65535},
         {},
         false});
  s.add({"net.ratio", ValueType::Double, 0.5, "Ratio.", {}, {}, {}, false});
  s.add({"net.names",
         ValueType::StringList,
         std::vector<std::string>{"a"},
         "Names.",
         {},
         {},
         {},
         false});
  s.add({"net.mode",
         ValueType::String,
         std::string("fast"),
         "Mode.",
         {},
         {},
         {"fast", "safe"},
         true});
  s.add({"net.on", ValueType::Bool, false, "On.", {}, {}, {}, false});
  s.add({"dev.*.label", ValueType::String, std::string(""), "Label.", {}, {}, {}, false});
  return s;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

TEST(ConfigTest, EmptyFileYieldsDeclaredDefaults) {
  auto schema = core_schema();
  auto r = Config::load_string(schema, "");
  ASSERT_TRUE(r.ok()) << format_errors(r.errors);
  const auto& cfg = *r.config;
  EXPECT_EQ(cfg.get_string("gateway.id"), "pushgate");
  EXPECT_EQ(cfg.get_string("gateway.unknown_terminals"), "accept");
  EXPECT_EQ(cfg.get_int("gateway.io_threads"), 2);
  EXPECT_EQ(cfg.get_int("api.port"), 8090);
  EXPECT_TRUE(cfg.get_bool("api.enabled"));
  EXPECT_EQ(cfg.get_string("store.file"), "pushgate.db");
  EXPECT_FALSE(cfg.is_set("api.port"));
  // Every concrete key has its default; wildcard keys answer their default too.
  for (const auto& k : schema.keys()) {
    if (k.path.find('*') != std::string::npos) {
      continue;
    }
    auto it = cfg.values().find(k.path);
    ASSERT_NE(it, cfg.values().end()) << k.path;
    EXPECT_EQ(it->second, k.default_value) << k.path;
  }
  EXPECT_EQ(cfg.get_string("terminals.NEVERSEEN.timezone"), "");
  EXPECT_TRUE(cfg.table_names("terminals").empty());
}

TEST(ConfigTest, FileValuesOverrideDefaultsAndAreMarkedSet) {
  auto schema = core_schema();
  auto r = Config::load_string(schema,
                               "[api]\nport = 9001\nenabled = false\n"
                               "[log]\nlevel = \"debug\"\n");
  ASSERT_TRUE(r.ok()) << format_errors(r.errors);
  EXPECT_EQ(r.config->get_int("api.port"), 9001);
  EXPECT_FALSE(r.config->get_bool("api.enabled"));
  EXPECT_EQ(r.config->get_string("log.level"), "debug");
  EXPECT_TRUE(r.config->is_set("api.port"));
  EXPECT_FALSE(r.config->is_set("api.listen"));
}

TEST(ConfigTest, UnknownKeyIsRejectedByName) {
  auto schema = core_schema();
  auto r = Config::load_string(schema, "[api]\nprot = 9001\n");
  EXPECT_FALSE(r.ok());
  EXPECT_FALSE(r.config.has_value());
  EXPECT_THAT(reasons_for(r, "api.prot"), ElementsAre(HasSubstr("unknown key")));
  EXPECT_THAT(format_errors(r.errors), HasSubstr("api.prot: unknown key"));
}

TEST(ConfigTest, UnknownTopLevelKeyIsRejectedByName) {
  auto schema = core_schema();
  auto r = Config::load_string(schema, "port = 1\n");
  EXPECT_FALSE(r.ok());
  EXPECT_THAT(reasons_for(r, "port"), ElementsAre(HasSubstr("unknown key")));
}

TEST(ConfigTest, UnknownSectionIsRejectedByName) {
  auto schema = core_schema();
  auto r = Config::load_string(schema, "[mqqt]\nhost = \"broker\"\n");
  EXPECT_FALSE(r.ok());
  EXPECT_THAT(reasons_for(r, "mqqt"), ElementsAre(HasSubstr("unknown section")));
}

TEST(ConfigTest, UnknownKeyInsideWildcardTableIsRejectedByName) {
  auto schema = core_schema();
  auto r = Config::load_string(schema, "[terminals.ABC123]\nnmae = \"Gate\"\n");
  EXPECT_FALSE(r.ok());
  EXPECT_THAT(reasons_for(r, "terminals.ABC123.nmae"), ElementsAre(HasSubstr("unknown key")));
}

TEST(ConfigTest, EveryBadKeyIsReportedNotJustTheFirst) {
  auto schema = core_schema();
  auto r = Config::load_string(schema, "[api]\nport = \"x\"\nbogus = 1\n[log]\nlevel = \"loud\"\n");
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.errors.size(), 3U) << format_errors(r.errors);
}

TEST(ConfigTest, WrongTypeIsRejectedWithExpectedType) {
  auto schema = core_schema();
  auto r = Config::load_string(schema, "[api]\nport = \"8090\"\nenabled = \"yes\"\n");
  EXPECT_FALSE(r.ok());
  EXPECT_THAT(reasons_for(r, "api.port"), ElementsAre(HasSubstr("expected an integer")));
  EXPECT_THAT(reasons_for(r, "api.enabled"), ElementsAre(HasSubstr("expected true or false")));
}

TEST(ConfigTest, IntegerOutsideRangeIsRejectedWithBounds) {
  auto schema = core_schema();
  auto high = Config::load_string(schema, "[api]\nport = 70000\n");
  EXPECT_THAT(reasons_for(high, "api.port"), ElementsAre(HasSubstr("at most 65535")));
  auto low = Config::load_string(schema, "[gateway]\nio_threads = 0\n");
  EXPECT_THAT(reasons_for(low, "gateway.io_threads"), ElementsAre(HasSubstr("at least 1")));
  auto edge = Config::load_string(schema, "[api]\nport = 65535\n");
  EXPECT_TRUE(edge.ok()) << format_errors(edge.errors);
}

TEST(ConfigTest, StringOutsideChoicesIsRejectedListingThem) {
  auto schema = core_schema();
  auto r = Config::load_string(schema, "[gateway]\nunknown_terminals = \"maybe\"\n");
  EXPECT_THAT(reasons_for(r, "gateway.unknown_terminals"),
              ElementsAre(AllOf(HasSubstr("\"accept\""), HasSubstr("\"pending\""),
                                HasSubstr("\"maybe\""))));
}

TEST(ConfigTest, SyntaxErrorNamesTheLine) {
  auto schema = core_schema();
  auto r = Config::load_string(schema, "[api]\nport = 9001\nlisten = \n");
  EXPECT_FALSE(r.ok());
  ASSERT_EQ(r.errors.size(), 1U);
  EXPECT_THAT(r.errors[0].reason, HasSubstr("line 3"));
}

TEST(ConfigTest, MissingFileIsAnErrorNotAnException) {
  auto schema = core_schema();
  auto r = Config::load_file(schema, "/nonexistent/pushgate-test.toml");
  EXPECT_FALSE(r.ok());
  ASSERT_EQ(r.errors.size(), 1U);
  EXPECT_THAT(r.errors[0].reason, HasSubstr("/nonexistent/pushgate-test.toml"));
}

TEST(ConfigTest, SetOverridesFileAndDefaults) {
  auto schema = core_schema();
  auto r = Config::load_string(schema, "[api]\nport = 9001\n",
                               {"api.port=9002", "api.enabled=off", "log.level=warn"});
  ASSERT_TRUE(r.ok()) << format_errors(r.errors);
  EXPECT_EQ(r.config->get_int("api.port"), 9002);
  EXPECT_FALSE(r.config->get_bool("api.enabled"));
  EXPECT_EQ(r.config->get_string("log.level"), "warn");
  EXPECT_TRUE(r.config->is_set("log.level"));
}

TEST(ConfigTest, SetReachesWildcardTerminalKeys) {
  auto schema = core_schema();
  auto r = Config::load_string(
      schema, "",
      {"terminals.CQZ7224460246.timezone=Europe/Berlin", "terminals.CQZ7224460246.name=Gate 1"});
  ASSERT_TRUE(r.ok()) << format_errors(r.errors);
  EXPECT_EQ(r.config->get_string("terminals.CQZ7224460246.timezone"), "Europe/Berlin");
  EXPECT_EQ(r.config->get_string("terminals.CQZ7224460246.name"), "Gate 1");
  EXPECT_THAT(r.config->table_names("terminals"), ElementsAre("CQZ7224460246"));
}

TEST(ConfigTest, BadSetIsRejectedByName) {
  auto schema = core_schema();
  auto no_equals = Config::load_string(schema, "", {"api.port"});
  EXPECT_THAT(reasons_for(no_equals, "api.port"), ElementsAre(HasSubstr("section.key=value")));
  auto no_key = Config::load_string(schema, "", {"=9000"});
  EXPECT_THAT(reasons_for(no_key, "=9000"), ElementsAre(HasSubstr("section.key=value")));
  auto unknown = Config::load_string(schema, "", {"api.prot=1"});
  EXPECT_THAT(reasons_for(unknown, "api.prot"), ElementsAre(HasSubstr("unknown key")));
  auto not_int = Config::load_string(schema, "", {"api.port=80x"});
  EXPECT_THAT(reasons_for(not_int, "api.port"), ElementsAre(HasSubstr("expected an integer")));
  auto empty_int = Config::load_string(schema, "", {"api.port="});
  EXPECT_THAT(reasons_for(empty_int, "api.port"), ElementsAre(HasSubstr("expected an integer")));
  auto range = Config::load_string(schema, "", {"api.port=65536"});
  EXPECT_THAT(reasons_for(range, "api.port"), ElementsAre(HasSubstr("at most 65535")));
  auto choice = Config::load_string(schema, "", {"log.level=loud"});
  EXPECT_THAT(reasons_for(choice, "log.level"), ElementsAre(HasSubstr("must be one of")));
  auto boolean = Config::load_string(schema, "", {"api.enabled=maybe"});
  EXPECT_THAT(reasons_for(boolean, "api.enabled"), ElementsAre(HasSubstr("true or false")));
  auto empty_serial = Config::load_string(schema, "", {"terminals..timezone=UTC"});
  EXPECT_THAT(reasons_for(empty_serial, "terminals..timezone"),
              ElementsAre(HasSubstr("unknown key")));
}

TEST(ConfigTest, SetConvertsDoublesAndLists) {
  auto schema = toy_schema();
  auto r = Config::load_string(schema, "", {"net.ratio=2.25", "net.names=x,,y", "net.on=yes"});
  ASSERT_TRUE(r.ok()) << format_errors(r.errors);
  EXPECT_DOUBLE_EQ(r.config->get_double("net.ratio"), 2.25);
  EXPECT_THAT(r.config->get_list("net.names"), ElementsAre("x", "y"));
  EXPECT_TRUE(r.config->get_bool("net.on"));
  // The TOML form works on the command line too.
  auto toml_list = Config::load_string(schema, "", {R"(net.names=["a,b", "c"])"});
  ASSERT_TRUE(toml_list.ok()) << format_errors(toml_list.errors);
  EXPECT_THAT(toml_list.config->get_list("net.names"), ElementsAre("a,b", "c"));
  EXPECT_THAT(reasons_for(Config::load_string(schema, "", {"net.names=[1, 2]"}), "net.names"),
              ElementsAre(HasSubstr("list of strings")));
  EXPECT_THAT(reasons_for(Config::load_string(schema, "", {"net.names=[\"a\""}), "net.names"),
              ElementsAre(HasSubstr("list of strings")));
  auto bad = Config::load_string(schema, "", {"net.ratio=1.5x"});
  EXPECT_THAT(reasons_for(bad, "net.ratio"), ElementsAre(HasSubstr("expected a number")));
  auto inf = Config::load_string(schema, "", {"net.ratio=inf"});
  EXPECT_THAT(reasons_for(inf, "net.ratio"), ElementsAre(HasSubstr("expected a number")));
}

TEST(ConfigTest, TomlIntegerIsAcceptedForNumberButNotListOfMixedTypes) {
  auto schema = toy_schema();
  auto ok = Config::load_string(schema, "[net]\nratio = 3\nnames = [\"p\", \"q\"]\n");
  ASSERT_TRUE(ok.ok()) << format_errors(ok.errors);
  EXPECT_DOUBLE_EQ(ok.config->get_double("net.ratio"), 3.0);
  EXPECT_THAT(ok.config->get_list("net.names"), ElementsAre("p", "q"));
  auto mixed = Config::load_string(schema, "[net]\nnames = [\"p\", 2]\n");
  EXPECT_THAT(reasons_for(mixed, "net.names"), ElementsAre(HasSubstr("list of strings")));
}

TEST(ConfigTest, TableNamesListsEachConfiguredSerialOnce) {
  auto schema = core_schema();
  auto r = Config::load_string(schema,
                               "[terminals.A1]\nname = \"Gate\"\ntimezone = \"UTC\"\n"
                               "[terminals.\"B 2\"]\ntimezone = \"+05:30\"\n",
                               {"terminals.C3.name=Side door"});
  ASSERT_TRUE(r.ok()) << format_errors(r.errors);
  EXPECT_THAT(r.config->table_names("terminals"), UnorderedElementsAre("A1", "B 2", "C3"));
  EXPECT_EQ(r.config->get_string("terminals.B 2.timezone"), "+05:30");
  EXPECT_EQ(r.config->get_string("terminals.A1.name"), "Gate");
  EXPECT_TRUE(r.config->table_names("gateway").empty());
}

TEST(ConfigTest, NestedTableBelowWildcardIsAnUnknownSection) {
  auto schema = core_schema();
  auto r = Config::load_string(schema, "[terminals.A1.extra]\nname = \"x\"\n");
  EXPECT_THAT(reasons_for(r, "terminals.A1.extra"), ElementsAre(HasSubstr("unknown section")));
}

TEST(SchemaTest, FindMatchesWildcardSegmentsOnly) {
  auto schema = core_schema();
  ASSERT_NE(schema.find("terminals.SN1.timezone"), nullptr);
  EXPECT_EQ(schema.find("terminals.SN1.timezone")->path, "terminals.*.timezone");
  EXPECT_EQ(schema.find("terminals.timezone"), nullptr);
  EXPECT_EQ(schema.find("terminals.SN1.timezone.x"), nullptr);
  EXPECT_EQ(schema.find("api.port")->path, "api.port");
}

TEST(SchemaTest, RenderedDefaultFileLoadsAsAllDefaults) {
  auto schema = build_schema();
  auto text = schema.render_default_file();
  auto r = Config::load_string(schema, text, {}, "rendered");
  ASSERT_TRUE(r.ok()) << format_errors(r.errors);
  auto defaults = Config::load_string(schema, "");
  ASSERT_TRUE(defaults.ok());
  EXPECT_EQ(r.config->values(), defaults.config->values());
  for (const auto& k : schema.keys()) {
    EXPECT_FALSE(r.config->is_set(k.path)) << k.path;
  }
}

TEST(SchemaTest, UncommentedDefaultFileLoadsEveryKeyAtItsDefault) {
  // Uncommenting every `#key = value` and `#[table]` line must give a valid
  // file that sets each key to exactly its default: the shown values are real.
  auto schema = build_schema();
  std::istringstream in(schema.render_default_file());
  std::ostringstream out;
  const std::regex commented_key(R"(^#([A-Za-z_][A-Za-z0-9_]*) = (.*)$)");
  const std::regex commented_table(R"(^#(\[.*\])$)");
  std::string line;
  std::size_t uncommented = 0;
  while (std::getline(in, line)) {
    std::smatch m;
    if (std::regex_match(line, m, commented_key)) {
      out << m[1] << " = " << m[2] << "\n";
      ++uncommented;
    } else if (std::regex_match(line, m, commented_table)) {
      out << m[1] << "\n";
    } else {
      out << line << "\n";
    }
  }
  EXPECT_EQ(uncommented, schema.keys().size());
  auto r = Config::load_string(schema, out.str(), {}, "uncommented");
  ASSERT_TRUE(r.ok()) << format_errors(r.errors) << out.str();
  for (const auto& k : schema.keys()) {
    std::string path = k.path;
    if (auto star = path.find('*'); star != std::string::npos) {
      path.replace(star, 1, "SERIAL");
    }
    EXPECT_TRUE(r.config->is_set(path)) << path;
    EXPECT_EQ(r.config->values().at(path), k.default_value) << path;
  }
  EXPECT_THAT(r.config->table_names("terminals"), ElementsAre("SERIAL"));
}

TEST(SchemaTest, RenderedFileDocumentsRangesChoicesAndReload) {
  auto schema = toy_schema();
  schema.describe_section("net", "[net] — the network.\n\nSecond paragraph.");
  auto text = schema.render_default_file();
  EXPECT_THAT(text, HasSubstr("\n# [net] — the network.\n#\n# Second paragraph.\n[net]\n"));
  EXPECT_THAT(text, HasSubstr("\n# Port.\n# Range: 1..65535.\n#port = 80\n"));
  EXPECT_THAT(text, HasSubstr("\n# Ratio.\n#ratio = 0.5\n"));
  EXPECT_THAT(text, HasSubstr("\n# Names.\n#names = [\"a\"]\n"));
  EXPECT_THAT(text, HasSubstr("\n# Mode.\n# One of: fast safe. (reload)\n#mode = \"fast\"\n"));
  EXPECT_THAT(text, HasSubstr("\n# On.\n#on = false\n"));
  EXPECT_THAT(text, HasSubstr("\n#[dev.\"SERIAL\"]\n\n# Label.\n#label = \"\"\n"));
}

TEST(SchemaTest, ShippedConfigIsTheRenderedDefault) {
  // config/pushgate.toml must be exactly `pushgated --print-default-config`;
  // regenerate it with that command when a key changes.
  auto shipped = read_file(std::string(PUSHGATE_SOURCE_DIR) + "/config/pushgate.toml");
  ASSERT_FALSE(shipped.empty());
  EXPECT_EQ(shipped, build_schema().render_default_file());
}

// Issue 17 item 4: pushgate may sit beside a BioStar 1 server, so no port it
// listens on or dials by default is one of BioStar 1's (TCP 1470, 1471,
// 1480; UDP 51110: shared/seeds/002).
TEST(SchemaTest, NoDefaultPortIsABioStar1Port) {
  const auto schema = build_schema();
  auto loaded =
      Config::load_file(schema, std::string(PUSHGATE_SOURCE_DIR) + "/config/pushgate.toml");
  ASSERT_TRUE(loaded.config);
  std::vector<std::string> ports;
  for (const auto& k : schema.keys()) {
    const auto name = k.path.substr(k.path.rfind('.') + 1);
    if (k.type != ValueType::Int || (name != "port" && !name.ends_with("_port"))) {
      continue;
    }
    ports.push_back(k.path);
    // A device table's key (…devices.*.port): its default; any other: the shipped file's value.
    const auto* d = std::get_if<std::int64_t>(&k.default_value);
    ASSERT_NE(d, nullptr) << k.path;
    const auto v = k.path.find('*') != std::string::npos ? *d : loaded.config->get_int(k.path);
    for (std::int64_t biostar1 : {1470, 1471, 1480, 51110}) {
      EXPECT_NE(v, biostar1) << k.path;
    }
  }
  // The listeners and the ports a device or a broker is reached on by default.
  EXPECT_THAT(ports, testing::IsSupersetOf({"zkpush.port", "api.port", "suprema_sdk.server_port",
                                            "dahua.push_port", "suprema_sdk.devices.*.port"}));
}

// Issue 13 item 9: a type error shows the value given and how to fix it.
TEST(ConfigErrorTest, TypeErrorShowsTheValueAndReadsWell) {
  auto schema = core_schema();
  auto r = Config::load_string(schema, "[api]\nport = \"80x\"\nenabled = \"true\"\n");
  EXPECT_THAT(reasons_for(r, "api.port"), ElementsAre("expected an integer, got string \"80x\""));
  EXPECT_THAT(reasons_for(r, "api.enabled"),
              ElementsAre("expected true or false, got string \"true\"; remove the quotes: "
                          "enabled = true"));
}

TEST(ConfigErrorTest, NumberForAStringKeySaysToQuoteIt) {
  auto schema = build_schema();
  auto r = Config::load_string(schema, "[mqtt]\nprotocol_version = 5\n");
  EXPECT_THAT(reasons_for(r, "mqtt.protocol_version"),
              ElementsAre("expected a string, got integer 5; quote it: protocol_version = \"5\""));
}

TEST(ConfigErrorTest, QuotedNumberForAnIntegerKeySaysToUnquoteIt) {
  auto schema = core_schema();
  auto r = Config::load_string(schema, "[api]\nport = \"8090\"\n");
  EXPECT_THAT(reasons_for(r, "api.port"),
              ElementsAre("expected an integer, got string \"8090\"; remove the quotes: "
                          "port = 8090"));
}

TEST(ConfigErrorTest, MistypedKeySuggestsTheNearestOne) {
  auto schema = build_schema();
  auto r = Config::load_string(schema,
                               "[zkpush]\nprot = 8081\n[terminals.ABC]\ntimezon = \"UTC\"\n"
                               "[mqqt]\nenabled = true\n");
  EXPECT_THAT(reasons_for(r, "zkpush.prot"), ElementsAre("unknown key; did you mean zkpush.port?"));
  EXPECT_THAT(reasons_for(r, "terminals.ABC.timezon"),
              ElementsAre("unknown key; did you mean terminals.ABC.timezone?"));
  EXPECT_THAT(reasons_for(r, "mqqt"), ElementsAre("unknown section; did you mean mqtt?"));
  auto set = Config::load_string(schema, "", {"zkpush.prot=1"});
  EXPECT_THAT(reasons_for(set, "zkpush.prot"),
              ElementsAre("unknown key; did you mean zkpush.port? (from --set)"));
}

TEST(ConfigErrorTest, FarOffKeyGetsNoSuggestion) {
  auto schema = core_schema();
  auto r = Config::load_string(schema, "[api]\ncolour = \"blue\"\n");
  EXPECT_THAT(reasons_for(r, "api.colour"), ElementsAre("unknown key"));
}

// Issue 13 item 2: a type error must not hide what the later checks find.
TEST(ConfigErrorTest, ErrorsKeepTheGoodKeysForTheLaterChecks) {
  auto schema = core_schema();
  auto r = Config::load_string(schema, "[api]\nport = \"x\"\n[gateway]\nid = \"site a/1\"\n");
  EXPECT_FALSE(r.ok());
  ASSERT_TRUE(r.partial.has_value());
  EXPECT_EQ(r.partial->get_string("gateway.id"), "site a/1");
  EXPECT_EQ(r.partial->get_int("api.port"),
            std::get<std::int64_t>(schema.find("api.port")->default_value));
}

// Issue 13 item 7: SIGHUP names the restart-only keys that changed.
TEST(RestartOnlyChangesTest, NamesEachChangedKeyWithoutReloadOnly) {
  auto schema = toy_schema();
  auto running = Config::load_string(schema, "[net]\nport = 8081\n");
  auto loaded =
      Config::load_string(schema, "[net]\nport = 8082\nmode = \"safe\"\nnames = [\"b\"]\n");
  ASSERT_TRUE(running.ok() && loaded.ok());
  EXPECT_THAT(restart_only_changes(schema, *running.config, *loaded.config),
              ElementsAre("net.names changed from [\"a\"] to [\"b\"]: takes effect after a restart",
                          "net.port changed from 8081 to 8082: takes effect after a restart"));
  EXPECT_TRUE(restart_only_changes(schema, *running.config, *running.config).empty());
}

}  // namespace
}  // namespace pushgate::config
