// Attendance PUSH devicecmd: the command results (ID=&Return=&CMD=) a terminal posts back.
#include "adapters/zkpush/zkpush_protocol.hpp"
#include "adapters/zkpush/zkpush_text.hpp"

#include <cstdint>
#include <string>
#include <utility>

namespace pushgate::adapters::zkpush {
namespace {

using text::is_blank;
using text::Line;
using text::LineCursor;
using text::make_problem;
using text::parse_integer;
using text::split;

/** The key of the first '&'-separated pair on a line. */
std::string_view first_key(std::string_view line) noexcept {
  const std::size_t end = line.find_first_of("=&");
  if (end == std::string_view::npos || line[end] != '=') {
    return {};
  }
  return line.substr(0, end);
}

struct PendingConfirmation {
  std::size_t line = 0;
  std::size_t begin = 0;  ///< body offset of its first line
  std::size_t end = 0;    ///< body offset just past its last line's text
  std::size_t last_line = 0;
  std::optional<std::string> id;
  std::optional<std::string> return_text;
  std::optional<std::string> cmd;
  KeyValues extra;
};

void set_confirmation_field(PendingConfirmation& pending, std::string_view key,
                            std::string_view value) {
  // The first ID/Return/CMD wins; repeats are kept in extra so nothing the
  // terminal said is lost.
  std::optional<std::string>* slot = nullptr;
  if (iequals(key, "ID")) {
    slot = &pending.id;
  } else if (iequals(key, "Return")) {
    slot = &pending.return_text;
  } else if (iequals(key, "CMD")) {
    slot = &pending.cmd;
  }
  if (slot != nullptr && !slot->has_value()) {
    *slot = std::string(value);
    return;
  }
  pending.extra.push_back(KeyValue{std::string(key), std::string(value)});
}

void finish_confirmation(PendingConfirmation&& pending, std::string_view body,
                         DeviceCmdResult& result) {
  const std::string_view raw = body.substr(pending.begin, pending.end - pending.begin);
  std::string reason;
  std::optional<std::int64_t> code;
  if (!pending.id || pending.id->empty()) {
    reason = "confirmation without ID";
  } else if (!pending.return_text) {
    reason = "confirmation of ID " + text::quoted(*pending.id) + " without Return";
  } else {
    code = parse_integer<std::int64_t>(*pending.return_text);
    if (!code) {
      reason = "Return is not a number: " + text::quoted(*pending.return_text);
    }
  }
  if (!reason.empty() || !code) {
    result.problems.push_back(make_problem(pending.line, std::move(reason), raw));
    return;
  }
  CommandConfirmation confirmation;
  confirmation.line = pending.line;
  confirmation.line_count = pending.last_line - pending.line + 1;
  confirmation.raw = std::string(raw);
  confirmation.id = std::move(*pending.id);
  confirmation.return_code = *code;
  confirmation.cmd = pending.cmd.value_or(std::string());
  confirmation.extra = std::move(pending.extra);
  result.confirmations.push_back(std::move(confirmation));
}
}  // namespace

// ---------------------------------------------------------------------------
// devicecmd
// ---------------------------------------------------------------------------

DeviceCmdResult parse_devicecmd(std::string_view body) {
  DeviceCmdResult result;
  std::optional<PendingConfirmation> pending;
  LineCursor cursor(body);
  Line line;
  while (cursor.next(line)) {
    if (iequals(first_key(line.text), "ID")) {
      if (pending) {
        finish_confirmation(std::move(*pending), body, result);
      }
      pending.emplace();
      pending->line = line.number;
      pending->begin = line.begin;
      pending->end = line.begin + line.text.size();
      pending->last_line = line.number;
      for (std::string_view segment : split(line.text, '&')) {
        if (segment.empty()) {
          continue;
        }
        const std::size_t eq = segment.find('=');
        if (eq == std::string_view::npos) {
          // Not a pair but part of what the terminal answered: keep it.
          pending->extra.push_back(KeyValue{std::string(segment), std::string()});
          continue;
        }
        set_confirmation_field(*pending, segment.substr(0, eq), segment.substr(eq + 1));
      }
      continue;
    }
    if (is_blank(line.text)) {
      continue;
    }
    if (!pending) {
      result.problems.push_back(
          make_problem(line.number, "line outside a command confirmation", line.text));
      continue;
    }
    pending->end = line.begin + line.text.size();
    pending->last_line = line.number;
    const std::size_t eq = line.text.find('=');
    if (eq == std::string_view::npos || eq == 0) {
      // Part of what the terminal answered to this command (its raw bytes
      // hold it too): keep it with the confirmation, like a bare segment on
      // the ID= line.
      pending->extra.push_back(KeyValue{std::string(line.text), std::string()});
      continue;
    }
    const std::string_view key = line.text.substr(0, eq);
    if (iequals(key, "Content")) {
      // GetFile and Shell answers end with Content=<bytes>, which may hold
      // LFs and NULs: it runs to the end of the body.
      const std::size_t value_begin = line.begin + eq + 1;
      pending->extra.push_back(KeyValue{std::string(key), std::string(body.substr(value_begin))});
      pending->end = body.size();
      std::size_t last = line.number;
      while (cursor.next(line)) {
        last = line.number;
      }
      pending->last_line = last;
      break;
    }
    set_confirmation_field(*pending, key, line.text.substr(eq + 1));
  }
  if (pending) {
    finish_confirmation(std::move(*pending), body, result);
  }
  return result;
}

}  // namespace pushgate::adapters::zkpush
