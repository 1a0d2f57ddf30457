// Fuzz target: §10 remote identification (POST /iclock/cdata?AuthType=device)
// bodies and the AUTH answer that echoes the record back.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>

#include "adapters/zkpush/zkpush_security_ident.hpp"
#include "tests/fuzz/zkpush_fuzz_support.hpp"

namespace zk = pushgate::adapters::zkpush;
namespace sec = pushgate::adapters::zkpush::security;
using pushgate::fuzz::require;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view body = pushgate::fuzz::as_text(data, size);
  const sec::RemoteAuthResult result = sec::parse_remote_auth(body);
  require((result.request ? 1U : 0U) + result.problems.size() ==
          pushgate::fuzz::non_blank_lines(body));
  for (const zk::ParseProblem& problem : result.problems) {
    require(problem.line >= 1 && !problem.reason.empty());
  }
  sec::RemoteAuthAnswer answer;
  answer.verdict = sec::AuthVerdict::Success;
  answer.event = result.request ? result.request->event.raw : std::string(body);
  answer.control = sec::open_door(1, 5);
  answer.tips = std::string(body);
  const std::string text = sec::render_remote_auth_answer(answer);
  // Exactly the CRLFs between its parts: nothing from the terminal adds lines.
  std::size_t lfs = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\n') {
      require(i > 0 && text[i - 1] == '\r');
      ++lfs;
    } else if (text[i] == '\r') {
      require(i + 1 < text.size() && text[i + 1] == '\n');
    }
  }
  require(lfs == (answer.event.empty() ? 2U : 3U) - (answer.tips.empty() ? 1U : 0U));
  // A failure never carries the door command: it is exactly verdict, event
  // and tips, each with CR, LF and NUL removed.
  answer.verdict = sec::AuthVerdict::Failed;
  std::string expected = "AUTH=FAILED";
  for (const std::string* part : {&answer.event, &answer.tips}) {
    if (part->empty()) {
      continue;
    }
    expected += part == &answer.tips ? "\r\nTIPS=" : "\r\n";
    for (char c : *part) {
      if (c != '\r' && c != '\n' && c != '\0') {
        expected += c;
      }
    }
  }
  require(sec::render_remote_auth_answer(answer) == expected);
  // The reason code replaces the record's event= and nothing else.
  const std::string record = result.request ? result.request->event.raw : std::string(body);
  const std::string coded = sec::with_event_code(record, 24);
  require(coded.find("event=24") != std::string::npos);
  const auto tabs = [](const std::string& s) { return std::count(s.begin(), s.end(), '\t'); };
  require(tabs(coded) == tabs(record) || tabs(coded) == tabs(record) + 1);
  require(sec::with_event_code(coded, 24) == coded);
  return 0;
}
