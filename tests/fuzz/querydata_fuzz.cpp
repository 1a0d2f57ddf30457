// Fuzz target: POST /iclock/querydata uploads. The first input line is the
// query string (type, cmdid, tablename, count, packcnt, packidx, datafmt),
// the rest the body: tabledata/vmtable records, a count or options.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "adapters/zkpush/zkpush_security_protocol.hpp"
#include "tests/fuzz/zkpush_fuzz_support.hpp"

namespace zk = pushgate::adapters::zkpush;
namespace sec = pushgate::adapters::zkpush::security;
using pushgate::fuzz::require;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input = pushgate::fuzz::as_text(data, size);
  const std::size_t lf = input.find('\n');
  const std::string_view query_text = lf == std::string_view::npos ? input : input.substr(0, lf);
  const std::string_view body =
      lf == std::string_view::npos ? std::string_view() : input.substr(lf + 1);
  const zk::QueryResult query = zk::parse_query(query_text);
  const sec::QueryDataResult result = sec::parse_querydata(query, body);
  (void)result.params.last_pack();
  (void)sec::classify_cdata_upload(query);
  (void)sec::tabledata_params(query);
  (void)sec::handshake_request(query);
  const std::size_t lines = pushgate::fuzz::non_blank_lines(body);
  if (zk::iequals(result.params.type, "tabledata") || zk::iequals(result.params.type, "vmtable")) {
    if (result.params.datafmt != 3) {
      require(result.entries.size() + result.problems.size() == lines);
    }
  }
  require(result.entries.empty() || result.options.empty());
  for (const sec::TableEntry& entry : result.entries) {
    require(pushgate::fuzz::contains(body, entry.raw));
  }
  for (const zk::ParseProblem& problem : result.problems) {
    require(problem.line >= 1 && !problem.reason.empty());
  }
  for (const zk::ParseProblem& problem : result.params.problems) {
    require(problem.line == 1 && !problem.reason.empty());
  }
  return 0;
}
