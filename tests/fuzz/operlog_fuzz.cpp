// Fuzz target: OPERLOG, BIODATA and ERRORLOG upload bodies (one line parser
// with a per-table filter, so one target covers the three tables).
#include <cstddef>
#include <cstdint>
#include <variant>

#include "adapters/zkpush/zkpush_protocol.hpp"
#include "tests/fuzz/zkpush_fuzz_support.hpp"

namespace zk = pushgate::adapters::zkpush;
using pushgate::fuzz::require;

namespace {

void check(const zk::OperlogResult& result, std::string_view body, std::size_t lines) {
  require(result.entries.size() + result.problems.size() == lines);
  for (const zk::OperlogEntry& entry : result.entries) {
    require(entry.line >= 1 && pushgate::fuzz::contains(body, entry.raw));
    switch (entry.kind) {
      case zk::OperlogKind::Oplog: {
        const auto& oplog = std::get<zk::OplogRecord>(entry.record);
        require(zk::format_device_time(oplog.time) == oplog.time_text);
        break;
      }
      case zk::OperlogKind::User:
        require(!std::get<zk::UserRecord>(entry.record).pin.empty());
        break;
      case zk::OperlogKind::Fingerprint:
      case zk::OperlogKind::Face:
      case zk::OperlogKind::FingerVein:
      case zk::OperlogKind::BioData: {
        const auto& tmpl = std::get<zk::TemplateRecord>(entry.record);
        require(!tmpl.pin.empty() && !tmpl.data.empty());
        break;
      }
      case zk::OperlogKind::BioPhoto:
      case zk::OperlogKind::UserPic:
        require(!std::get<zk::PhotoRecord>(entry.record).pin.empty());
        break;
      case zk::OperlogKind::ErrorLog:
        require(!std::get<zk::ErrorLogRecord>(entry.record).err_code.empty());
        break;
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view body = pushgate::fuzz::as_text(data, size);
  const std::size_t lines = pushgate::fuzz::non_blank_lines(body);
  check(zk::parse_operlog(body), body, lines);
  const zk::OperlogResult biodata = zk::parse_biodata(body);
  check(biodata, body, lines);
  for (const zk::OperlogEntry& entry : biodata.entries) {
    require(entry.kind == zk::OperlogKind::BioData);
  }
  const zk::OperlogResult errorlog = zk::parse_errorlog(body);
  check(errorlog, body, lines);
  for (const zk::OperlogEntry& entry : errorlog.entries) {
    require(entry.kind == zk::OperlogKind::ErrorLog);
  }
  return 0;
}
