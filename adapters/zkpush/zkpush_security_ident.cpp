#include "adapters/zkpush/zkpush_security_ident.hpp"
#include "adapters/zkpush/zkpush_text.hpp"

#include <utility>

namespace pushgate::adapters::zkpush::security {
namespace {

using text::is_blank;
using text::joined;
using text::Line;
using text::LineCursor;
using text::LineEnd;
using text::make_problem;
using text::sanitized;

}  // namespace

RemoteAuthResult parse_remote_auth(std::string_view body) {
  RemoteAuthResult result;
  bool seen_record_line = false;
  LineCursor cursor(body, LineEnd::CrNul);
  Line line;
  while (cursor.next(line)) {
    if (is_blank(line.text)) {
      continue;
    }
    if (seen_record_line) {
      // §10 asks about one event; the answer echoes one. A second line is
      // kept for the quarantine rather than silently answered for.
      result.problems.push_back(make_problem(
          line.number, "more than one record in a remote identification request", line.text));
      continue;
    }
    seen_record_line = true;
    detail::EventOutcome outcome = detail::parse_event_line(line.text, true);
    if (!outcome.record) {
      result.problems.push_back(make_problem(line.number, std::move(outcome.reason), line.text));
      continue;
    }
    outcome.record->line = line.number;
    outcome.record->raw = std::string(line.text);
    result.request = RemoteAuthRequest{std::move(*outcome.record), outcome.addr_type};
  }
  return result;
}

std::string_view to_string(AuthVerdict verdict) noexcept {
  switch (verdict) {
    case AuthVerdict::Success:
      return "SUCCESS";
    case AuthVerdict::Timeout:
      return "TIMEOUT";
    case AuthVerdict::Failed:
      break;
  }
  return "FAILED";
}

std::string with_event_code(std::string_view record, int code) {
  std::string out;
  bool replaced = false;
  std::size_t start = 0;
  while (true) {
    auto tab = record.find('\t', start);
    auto field = record.substr(start, tab == std::string_view::npos ? record.npos : tab - start);
    if (start != 0) {
      out += '\t';
    }
    if (!replaced && field.substr(0, 6) == "event=") {
      out += "event=" + std::to_string(code);
      replaced = true;
    } else {
      out += field;
    }
    if (tab == std::string_view::npos) {
      break;
    }
    start = tab + 1;
  }
  if (!replaced) {
    out += (out.empty() ? "event=" : "\tevent=") + std::to_string(code);
  }
  return out;
}

std::string render_remote_auth_answer(const RemoteAuthAnswer& answer) {
  std::vector<std::string> lines;
  lines.push_back("AUTH=" + std::string(to_string(answer.verdict)));
  if (!answer.event.empty()) {
    lines.push_back(sanitized(answer.event));
  }
  // The door command rides only on a success (§10: "the controller command
  // after successful verification"): a FAILED or TIMEOUT answer that opened
  // a door would be the worst possible bug, so a stray `control` is dropped.
  if (answer.verdict == AuthVerdict::Success && answer.control) {
    lines.push_back(render_control_device(*answer.control));
  }
  if (!answer.tips.empty()) {
    lines.push_back("TIPS=" + sanitized(answer.tips));
  }
  return joined(lines, "\r\n");
}

}  // namespace pushgate::adapters::zkpush::security
