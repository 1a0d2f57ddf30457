// Fuzz target: the registration handshake. POST /iclock/registry bodies
// (comma/LF separated key=value with '~' keys), plus, on the same bytes, the
// Cookie token reader, the Appendix 13 version choice and the answers whose
// values could come from a terminal.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>

#include "adapters/zkpush/zkpush_security_registry.hpp"
#include "tests/fuzz/zkpush_fuzz_support.hpp"

namespace zk = pushgate::adapters::zkpush;
namespace sec = pushgate::adapters::zkpush::security;
using pushgate::fuzz::require;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view body = pushgate::fuzz::as_text(data, size);
  const sec::RegistryResult result = sec::parse_registry(body);
  std::size_t bytes = 0;
  for (const zk::KeyValue& field : result.fields) {
    require(!field.key.empty());
    require(field.key.find('\n') == std::string::npos);
    require(result.find(field.key) != nullptr);
    bytes += field.key.size() + 1 + field.value.size();
  }
  require(bytes <= body.size());
  for (const zk::ParseProblem& problem : result.problems) {
    require(problem.line >= 1 && !problem.reason.empty());
  }
  (void)result.device.is_access_control();
  (void)result.device.acc_supports(7);
  (void)sec::intersect_bio_support(result.device.multi_bio_data_support, body);

  // Whatever a terminal claims, the negotiated version stays below 3.1.1.
  const sec::VersionChoice choice = sec::choose_push_prot_ver(body);
  const auto effective = sec::parse_protocol_version(choice.effective);
  require(effective.has_value() && *effective < sec::kFirstEncryptedPushProtVer);
  if (const auto version = sec::parse_protocol_version(body)) {
    require(sec::parse_protocol_version(sec::format_protocol_version(*version)) == version);
  }

  const sec::CookieValues cookie = sec::parse_cookie(body);
  if (cookie.token) {
    require(sec::token_matches(*cookie.token, *cookie.token) == !cookie.token->empty());
  }

  // Terminal-supplied text never adds a line to an answer.
  const std::string registry = sec::render_registry_answer(body);
  require(registry.find_first_of("\r\n") == std::string::npos);
  sec::PushConfigAnswer push;
  push.config.session_id = std::string(body);
  push.multi_bio_data_support = std::string(body);
  const std::string config = sec::render_push_config(push);
  require(std::count(config.begin(), config.end(), '\n') == 12);
  require(config.find('\r') == std::string::npos);
  return 0;
}
