// Fuzz target: the request target a terminal sends (path, query string with
// percent escapes, INFO=, DATA QUERY paging) and the handshake answer built
// from its serial number, which comes from that query.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>

#include "adapters/zkpush/zkpush_protocol.hpp"
#include "tests/fuzz/zkpush_fuzz_support.hpp"

namespace zk = pushgate::adapters::zkpush;
using pushgate::fuzz::require;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view target = pushgate::fuzz::as_text(data, size);
  const zk::RequestTarget parts = zk::split_target(target);
  require(parts.path.size() + parts.query.size() <= target.size());
  (void)zk::classify_endpoint(parts.path);
  const zk::QueryResult query = zk::parse_query(parts.query);
  for (const zk::KeyValue& param : query.params) {
    require(query.find(param.key) != nullptr);
  }
  (void)zk::query_answer_pack(query);
  if (const std::string* table = query.find("table")) {
    (void)zk::classify_table(*table);
  }
  // INFO= as sent, and the whole input as an INFO value.
  if (const std::string* info = query.find("INFO")) {
    (void)zk::parse_info(*info);
  }
  const zk::InfoResult info = zk::parse_info(target);
  (void)info.info.supports(zk::DeviceFunction::VisibleLightFace);

  // No serial number can add lines to the handshake answer.
  zk::HandshakeOptions options;
  const std::string* sn = query.find("SN");
  options.serial_number = sn != nullptr ? *sn : std::string(target);
  options.attlog_stamp = options.serial_number;
  const std::string body = zk::render_handshake(options);
  zk::HandshakeOptions empty;
  const std::string reference = zk::render_handshake(empty);
  require(std::count(body.begin(), body.end(), '\n') ==
          std::count(reference.begin(), reference.end(), '\n') + 2);
  require(body.find('\r') == std::string::npos);
  return 0;
}
