// Fuzz target: Security PUSH table=tabledata bodies. The first input line is
// the tablename= value, the rest the body; the body is also parsed as every
// typed table. Card numbers and Appendix 5/6 times ride along.
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>
#include <variant>

#include "adapters/zkpush/zkpush_security_tables.hpp"
#include "tests/fuzz/zkpush_fuzz_support.hpp"

namespace zk = pushgate::adapters::zkpush;
namespace sec = pushgate::adapters::zkpush::security;
using pushgate::fuzz::require;

namespace {

void check(std::string_view table, std::string_view body) {
  const sec::TableDataResult result = sec::parse_tabledata(table, body);
  require(result.kind == sec::classify_table_name(table));
  require(result.entries.size() + result.problems.size() == pushgate::fuzz::non_blank_lines(body));
  for (const sec::TableEntry& entry : result.entries) {
    require(!entry.fields.empty());
    require(pushgate::fuzz::contains(body, entry.raw));
    require(table.empty() || entry.type_word.empty() || zk::iequals(entry.type_word, table));
    const bool typed = !std::holds_alternative<std::monostate>(entry.record);
    require(typed == (result.kind != sec::TableKind::Other &&
                      result.kind != sec::TableKind::DeviceAuthorize));
    for (const zk::KeyValue& field : entry.fields) {
      require(!field.key.empty() && field.key.find('\t') == std::string::npos);
      (void)sec::parse_card_number(field.value);
    }
    if (const auto* fp = std::get_if<sec::FingerprintTemplateRecord>(&entry.record)) {
      require(!fp->pin.empty() && !fp->template_data.empty());
      (void)fp->duress();
      (void)fp->finger();
    }
    if (const auto* x = std::get_if<sec::TransactionRecord>(&entry.record)) {
      if (x->time) {
        require(sec::encode_old_time(*x->time) == x->time_second);
      }
    }
  }
  for (const zk::ParseProblem& problem : result.problems) {
    require(problem.line >= 1 && !problem.reason.empty());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input = pushgate::fuzz::as_text(data, size);
  const std::size_t lf = input.find('\n');
  const std::string_view table = lf == std::string_view::npos ? input : input.substr(0, lf);
  const std::string_view body =
      lf == std::string_view::npos ? std::string_view() : input.substr(lf + 1);
  check(table, body);
  static constexpr std::array<std::string_view, 12> kTables = {
      "",        "user",    "identitycard", "templatev10", "biophoto",        "ATTPHOTO",
      "userpic", "biodata", "errorlog",     "transaction", "DeviceAuthorize", "APList"};
  for (std::string_view name : kTables) {
    check(name, body);
  }
  (void)sec::render_table_count_answer(table, size);
  // Appendix 6 then 5 gives the seconds back whenever 6 yields a date.
  if (size >= 4) {
    std::uint32_t seconds = 0;
    std::memcpy(&seconds, data, sizeof seconds);
    if (const auto time = sec::decode_old_time(seconds)) {
      require(sec::encode_old_time(*time) == seconds);
    }
  }
  return 0;
}
