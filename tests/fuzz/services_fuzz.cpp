// Fuzz target: the service layer behind the parsers, fed with device records
// of arbitrary bytes. The first byte picks the terminal's encoding, the rest
// is a body parsed as every attendance and Security PUSH record table. What
// the door hands on (after text::to_utf8) must be valid UTF-8 everywhere, and
// none of the code the services run on it may throw: the sync planner's
// digest (nlohmann dump), access master-data JSON, linkage rule matching,
// the event JSON of the REST API and MQTT. The raw bytes are also fed to the
// same code unconverted: a dump of invalid UTF-8 must replace, never throw.
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "adapters/zkpush/zkpush_normalize.hpp"
#include "adapters/zkpush/zkpush_protocol.hpp"
#include "adapters/zkpush/zkpush_security_protocol.hpp"
#include "gateway/command.hpp"
#include "gateway/device_text.hpp"
#include "gateway/event_json.hpp"
#include "gateway/sync/sync_planner.hpp"
#include "rules/access/master_data_json.hpp"
#include "rules/linkage/linkage.hpp"
#include "tests/fuzz/zkpush_fuzz_support.hpp"

namespace zk = pushgate::adapters::zkpush;
namespace sec = pushgate::adapters::zkpush::security;
namespace text = pushgate::text;
using pushgate::fuzz::require;

namespace {

constexpr std::array<const char*, 4> kEncodings = {"utf-8", "latin-1", "cp1252", "gbk"};

void require_utf8(std::string_view s) {
  require(text::is_valid_utf8(s));
}

// The sync planner and the access master data on one uploaded user.
void plan_user(const std::string& pin, const std::string& name, const std::string& card) {
  pushgate::sync::Enrolment enrolment;
  enrolment.source_sn = "SRC";
  enrolment.pin = pin.empty() ? "1" : pin;
  pushgate::commands::User u;
  u.pin = enrolment.pin;
  u.name = name;
  u.card = card;
  enrolment.user = u;
  std::vector<pushgate::sync::Target> targets(2);
  targets[0].sn = "SRC";
  targets[1].sn = "DST";
  std::vector<pushgate::sync::Planned> source_items;
  auto planned = pushgate::sync::plan_enrolment(enrolment, targets, {}, &source_items);
  for (const auto& p : planned) {
    (void)pushgate::sync::digest_of(p.requests);
  }
  nlohmann::json user = {{"pin", enrolment.pin}, {"name", name}};
  auto parsed = pushgate::rules::access::user_from_json(user);
  if (parsed.ok()) {
    (void)pushgate::dump_json(pushgate::rules::access::to_json(*parsed.value));
  }
}

// Linkage: a rule naming the terminal and kind of the event, matched on its facts.
void link(const pushgate::Event& e) {
  nlohmann::json rule_json = {
      {"id", "r1"},
      {"match", {{"terminals", {e.terminal_sn}}, {"kinds", {std::string(to_string(e.kind))}}}},
      {"actions", {{{"type", "alert"}, {"severity", "info"}, {"message", e.pin}}}}};
  nlohmann::json doc = {{"rules", {rule_json}}};
  auto parsed = pushgate::rules::linkage::parse_rules(doc);
  pushgate::rules::linkage::EventFacts facts;
  facts.terminal_sn = e.terminal_sn;
  facts.kind = std::string(to_string(e.kind));
  facts.pin = e.pin;
  facts.door = e.door;
  facts.event_code = e.event_code;
  for (const auto& rule : parsed.rules) {
    (void)pushgate::rules::linkage::matches(rule.match, facts);
  }
  (void)pushgate::dump_json(pushgate::rules::linkage::to_json(parsed.rules));
}

void check_batch(const pushgate::WriteBatch& batch, bool converted) {
  for (const auto& e : batch.events) {
    if (converted) {
      require_utf8(e.pin);
      require_utf8(e.local_time);
      require_utf8(e.extra_json);
      require_utf8(e.record_key);
      require_utf8(e.work_code);
    }
    // What the REST API and MQTT write: always valid JSON, whatever raw holds.
    std::string out;
    pushgate::append_event_json(out, e, std::nullopt);
    require(nlohmann::json::accept(out));
    require_utf8(out);
    link(e);
  }
}

void run(std::string_view body, bool converted) {
  pushgate::Zone zone = pushgate::Zone::utc();
  zk::UploadContext ctx;
  ctx.sn = "FUZZ01";
  ctx.zone = &zone;
  ctx.received_ms = 1'700'000'000'000;

  pushgate::WriteBatch batch;
  (void)zk::add_attlog(zk::parse_attlog(body), ctx, batch);
  const zk::OperlogResult operlog = zk::parse_operlog(body);
  (void)zk::add_operlog(operlog, ctx, batch);
  for (const auto& entry : operlog.entries) {
    if (const auto* user = std::get_if<zk::UserRecord>(&entry.record)) {
      if (converted) {
        require_utf8(user->name);
        require_utf8(zk::user_fields_json(*user));
      }
      plan_user(user->pin, user->name, user->card);
    }
  }
  for (const char* table : {"user", "userauthorize", "biodata", "transaction", "errorlog"}) {
    const sec::TableDataResult result = sec::parse_tabledata(table, body);
    for (const auto& entry : result.entries) {
      for (const auto& field : entry.fields) {
        if (converted) {
          require_utf8(field.value);
        }
      }
      if (const auto* rec = std::get_if<sec::UserInfoRecord>(&entry.record)) {
        zk::UserRecord user;
        user.pin = rec->pin;
        user.name = rec->name;
        user.card = rec->card_no;
        user.extra = rec->extra;
        zk::add_user_record(user, zk::user_fields_json(user), entry.raw, ctx, batch);
        plan_user(user.pin, user.name, user.card);
      }
    }
  }
  for (const auto& rec : sec::parse_rtlog(body).records) {
    pushgate::Event e = zk::make_event(ctx, pushgate::EventKind::Access, rec.raw);
    e.pin = rec.pin;
    e.local_time = rec.time_text;
    if (rec.time) {
      e.utc_ms = zk::utc_of_device_time(*rec.time, ctx);
    }
    batch.events.push_back(std::move(e));
  }
  check_batch(batch, converted);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) {
    return 0;
  }
  const char* encoding = kEncodings[data[0] % kEncodings.size()];
  const std::string_view raw = pushgate::fuzz::as_text(data + 1, size - 1);
  const std::string body = text::to_utf8(raw, encoding);
  require_utf8(body);
  run(body, true);
  run(raw, false);
  // Whatever a device sends, a log line about it stays one line.
  const std::string logged = text::log_escape(raw);
  require(logged.find('\n') == std::string::npos && logged.find('\r') == std::string::npos);
  return 0;
}
