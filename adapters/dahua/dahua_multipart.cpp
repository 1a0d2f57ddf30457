#include "adapters/dahua/dahua_multipart.hpp"

#include <algorithm>

namespace pushgate::adapters::dahua {

namespace {

constexpr std::size_t kRawPreview = 256;

/** True when `before` ends with "data=" (any case, spaces allowed before '{'). */
bool opens_data(std::string_view before) noexcept {
  while (!before.empty() && (before.back() == ' ' || before.back() == '\t')) {
    before.remove_suffix(1);
  }
  return before.size() >= 5 && iequals(before.substr(before.size() - 5), "data=");
}

/**
 * One byte of a record. `record` is the record up to (not including) `c`.
 * Returns true when `c` ends the record: a LF outside data={...}, or the
 * brace that closes data={...}.
 */
struct Scan {
  int depth = 0;
  bool in_string = false;
  bool escape = false;

  bool step(char c, std::string_view record) noexcept {
    if (depth > 0) {
      if (in_string) {
        if (escape) {
          escape = false;
        } else if (c == '\\') {
          escape = true;
        } else if (c == '"') {
          in_string = false;
        }
      } else if (c == '"') {
        in_string = true;
      } else if (c == '{') {
        ++depth;
      } else if (c == '}') {
        // `data` is the last key of an event (parse_event_text reads it to the
        // end), so the brace that closes it ends the record: a device that sends
        // no line end after it is not held until the next part arrives.
        return --depth == 0;
      }
      return false;
    }
    if (c == '{' && opens_data(record)) {
      depth = 1;
      return false;
    }
    return c == '\n';
  }
};

bool is_header_line(std::string_view line) noexcept {
  const std::size_t colon = line.find(':');
  if (colon == 0 || colon == std::string_view::npos) {
    return false;
  }
  return std::all_of(line.begin(), line.begin() + static_cast<std::ptrdiff_t>(colon), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
  });
}

/** Length of the longest suffix of `buf` that is a proper prefix of `marker`. */
std::size_t partial_marker(std::string_view buf, std::string_view marker) noexcept {
  const std::size_t most = std::min(buf.size(), marker.size() - 1);
  for (std::size_t n = most; n > 0; --n) {
    if (buf.substr(buf.size() - n) == marker.substr(0, n)) {
      return n;
    }
  }
  return 0;
}

StreamItem error_item(std::string error, std::string_view raw) {
  StreamItem item;
  item.type = StreamItem::Type::Error;
  item.error = std::move(error);
  item.raw = std::string(raw.substr(0, kRawPreview));
  return item;
}

}  // namespace

std::string multipart_boundary(std::string_view content_type) {
  std::size_t pos = 0;
  while (pos < content_type.size()) {
    const std::size_t semi = content_type.find(';', pos);
    const std::string_view param =
        trim(content_type.substr(pos, semi == std::string_view::npos ? semi : semi - pos));
    const std::size_t eq = param.find('=');
    if (eq != std::string_view::npos && iequals(trim(param.substr(0, eq)), "boundary")) {
      std::string_view value = trim(param.substr(eq + 1));
      if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
        value = value.substr(1, value.size() - 2);
      }
      return std::string(value);
    }
    if (semi == std::string_view::npos) {
      break;
    }
    pos = semi + 1;
  }
  return {};
}

std::vector<std::string> split_event_records(std::string_view text) {
  std::vector<std::string> records;
  Scan scan;
  std::size_t start = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (scan.step(text[i], text.substr(start, i - start))) {
      // The ending byte belongs to the record (the closing brace; a LF is trimmed).
      const std::string_view record = text.substr(start, i + 1 - start);
      if (!trim(record).empty()) {
        records.emplace_back(trim(record));
      }
      start = i + 1;
    }
  }
  if (!trim(text.substr(start)).empty()) {
    records.emplace_back(text.substr(start));
  }
  return records;
}

StreamItem classify_record(std::string_view record) {
  StreamItem item;
  const std::string_view text = trim(record);
  item.raw = std::string(text);
  if (iequals(text, "Heartbeat")) {
    item.type = StreamItem::Type::Heartbeat;
    return item;
  }
  EventParse parsed = parse_event_text(text);
  if (!parsed.event) {
    item.type = StreamItem::Type::Error;
    item.error = std::move(parsed.error);
    return item;
  }
  item.type = StreamItem::Type::Event;
  item.event = std::move(parsed.event);
  return item;
}

EventStreamParser::EventStreamParser(std::string_view boundary, Limits limits) : limits_(limits) {
  boundary = trim(boundary);
  while (boundary.size() > 2 && boundary.substr(0, 2) == "--") {
    boundary.remove_prefix(2);
  }
  marker_ = "--" + std::string(boundary.empty() ? std::string_view("myboundary") : boundary);
  limits_.max_part_bytes = std::max<std::size_t>(limits_.max_part_bytes, marker_.size() + 64);
}

std::vector<StreamItem> EventStreamParser::feed(std::string_view bytes) {
  std::vector<StreamItem> out;
  buf_.append(bytes);
  run(out, false);
  return out;
}

std::vector<StreamItem> EventStreamParser::finish() {
  std::vector<StreamItem> out;
  run(out, true);
  if (state_ == State::Body && !trim(buf_).empty()) {
    if (depth_ > 0) {
      out.push_back(error_item("stream ended inside an event's data={...}", buf_));
    } else {
      out.push_back(classify_record(buf_));
    }
  }
  buf_.clear();
  reset_record();
  state_ = State::Preamble;
  return out;
}

void EventStreamParser::reset_record() noexcept {
  scan_ = 0;
  depth_ = 0;
  in_string_ = false;
  escape_ = false;
}

void EventStreamParser::end_record(std::vector<StreamItem>& out, std::size_t end) {
  const std::string_view record(buf_.data(), end);
  if (!trim(record).empty()) {
    out.push_back(classify_record(record));
  }
  buf_.erase(0, end);
  part_bytes_ += end;
  reset_record();
}

bool EventStreamParser::over_cap(std::vector<StreamItem>& out) {
  out.push_back(error_item("multipart part larger than " + std::to_string(limits_.max_part_bytes) +
                               " bytes; skipped to the next boundary",
                           buf_));
  reset_record();
  state_ = State::Skip;
  return true;
}

void EventStreamParser::run(std::vector<StreamItem>& out, bool at_end) {
  for (;;) {
    switch (state_) {
      case State::Preamble:
      case State::Skip:
      case State::Closed: {
        const std::size_t pos = buf_.find(marker_);
        if (pos == std::string::npos) {
          buf_.erase(0, buf_.size() - partial_marker(buf_, marker_));
          return;
        }
        buf_.erase(0, pos + marker_.size());
        part_bytes_ = marker_.size();
        ++parts_;
        state_ = State::MarkerLine;
        break;
      }
      case State::MarkerLine:
      case State::Headers: {
        if (state_ == State::Headers && buf_.compare(0, marker_.size(), marker_) == 0) {
          // An empty part: the next marker came before any body.
          state_ = State::Skip;
          break;
        }
        const std::size_t lf = buf_.find('\n');
        const std::size_t line_end = lf == std::string::npos ? buf_.size() : lf + 1;
        if (part_bytes_ + line_end > limits_.max_part_bytes) {
          over_cap(out);
          break;
        }
        if (lf == std::string::npos) {
          return;  // wait for the line end (bounded by the cap above)
        }
        std::string_view line(buf_.data(), lf);
        if (!line.empty() && line.back() == '\r') {
          line.remove_suffix(1);
        }
        if (state_ == State::MarkerLine) {
          // "--boundary--" closes the multipart body; anything else is padding.
          const bool closing = line.substr(0, 2) == "--";
          buf_.erase(0, line_end);
          part_bytes_ += line_end;
          state_ = closing ? State::Closed : State::Headers;
          break;
        }
        if (trim(line).empty()) {
          buf_.erase(0, line_end);
          part_bytes_ += line_end;
          reset_record();
          state_ = State::Body;
          break;
        }
        if (is_header_line(line)) {
          buf_.erase(0, line_end);
          part_bytes_ += line_end;
          break;
        }
        // No blank line after the headers: the body starts here.
        reset_record();
        state_ = State::Body;
        break;
      }
      case State::Body: {
        const std::size_t marker = buf_.find(marker_, scan_);
        const std::size_t limit = marker != std::string::npos ? marker
                                  : at_end                    ? buf_.size()
                                           : buf_.size() - partial_marker(buf_, marker_);
        Scan scan{depth_, in_string_, escape_};
        bool ended = false;
        for (std::size_t i = scan_; i < limit; ++i) {
          if (part_bytes_ + i + 1 > limits_.max_part_bytes) {
            over_cap(out);
            ended = true;
            break;
          }
          if (scan.step(buf_[i], std::string_view(buf_.data(), i))) {
            end_record(out, i + 1);
            ended = true;
            break;
          }
        }
        if (ended) {
          break;
        }
        depth_ = scan.depth;
        in_string_ = scan.in_string;
        escape_ = scan.escape;
        scan_ = limit;
        if (marker == std::string::npos) {
          return;
        }
        if (depth_ > 0 && !trim(std::string_view(buf_.data(), marker)).empty()) {
          out.push_back(
              error_item("part ended inside an event's data={...}", buf_.substr(0, marker)));
          buf_.erase(0, marker);
          reset_record();
        } else {
          end_record(out, marker);
        }
        state_ = State::Skip;
        break;
      }
    }
  }
}

}  // namespace pushgate::adapters::dahua
