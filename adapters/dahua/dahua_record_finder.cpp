#include "adapters/dahua/dahua_record_finder.hpp"

#include <map>

namespace pushgate::adapters::dahua {

namespace {

/** "records[12].CardNo" → (12, "CardNo"); "Records[3].Doors[0]" → (3, "Doors[0]"). */
bool split_record_key(std::string_view key, std::size_t& index, std::string_view& field) {
  if (key.size() < 11 || !iequals(key.substr(0, 8), "records[")) {
    return false;
  }
  const std::size_t close = key.find(']', 8);
  if (close == std::string_view::npos || close == 8 || close > 8 + 9 || close + 1 >= key.size() ||
      key[close + 1] != '.') {
    return false;
  }
  const auto parsed = parse_int(key.substr(8, close - 8));
  if (!parsed || *parsed < 0 || key.substr(8, close - 8).front() == '+') {
    return false;
  }
  index = static_cast<std::size_t>(*parsed);
  field = key.substr(close + 2);
  return !field.empty();
}

}  // namespace

RecordFinderReply parse_record_finder_reply(std::string_view body,
                                            const RecordFinderLimits& limits) {
  RecordFinderReply reply;
  std::map<std::size_t, FoundRecord> rows;
  std::size_t line_no = 0;
  std::size_t pos = 0;
  while (pos <= body.size()) {
    const std::size_t lf = body.find('\n', pos);
    std::string_view line =
        body.substr(pos, lf == std::string_view::npos ? std::string_view::npos : lf - pos);
    pos = lf == std::string_view::npos ? body.size() + 1 : lf + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r') {
      line.remove_suffix(1);
    }
    if (trim(line).empty()) {
      continue;
    }
    const auto problem = [&](std::string reason) {
      reply.problems.push_back(
          {line_no, std::move(reason), std::string(line.substr(0, limits.max_line_bytes))});
    };
    if (line.size() > limits.max_line_bytes) {
      problem("line longer than " + std::to_string(limits.max_line_bytes) + " bytes");
      continue;
    }
    const std::size_t eq = line.find('=');
    if (eq == std::string_view::npos) {
      const std::string_view word = trim(line);
      if (iequals(word, "Error") || iequals(word, "Bad Request!") || iequals(word, "Bad Request")) {
        reply.device_error = true;
      }
      problem("line without '='");
      continue;
    }
    const std::string_view key = trim(line.substr(0, eq));
    const std::string_view value = line.substr(eq + 1);
    std::size_t index = 0;
    std::string_view field;
    if (iequals(key, "found")) {
      if (auto n = parse_int(value); n && *n >= 0) {
        reply.found = n;
      } else {
        problem("found is not a count");
      }
    } else if (iequals(key, "totalCount")) {
      if (auto n = parse_int(value); n && *n >= 0) {
        reply.total_count = n;
      } else {
        problem("totalCount is not a count");
      }
    } else if (split_record_key(key, index, field)) {
      if (index >= limits.max_records) {
        problem("record index above " + std::to_string(limits.max_records));
        continue;
      }
      FoundRecord& row = rows[index];
      row.index = index;
      row.fields.push_back({std::string(field), std::string(value)});
      apply_field(row.access, field, value);
      if (!row.raw.empty()) {
        row.raw += '\n';
      }
      row.raw.append(line);
    } else {
      problem("unknown key");
    }
  }
  reply.records.reserve(rows.size());
  for (auto& [index, row] : rows) {
    reply.records.push_back(std::move(row));
  }
  if (reply.found && static_cast<std::size_t>(*reply.found) < reply.records.size()) {
    reply.problems.push_back({0,
                              "found=" + std::to_string(*reply.found) + " but " +
                                  std::to_string(reply.records.size()) + " records",
                              ""});
  }
  return reply;
}

std::string url_encode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 0x0F];
    }
  }
  return out;
}

std::string build_record_finder_target(const FindRequest& request) {
  return "/cgi-bin/recordFinder.cgi?action=find&name=" + url_encode(request.name) +
         "&StartTime=" + url_encode(request.start_time) +
         "&EndTime=" + url_encode(request.end_time) + "&count=" + std::to_string(request.count);
}

RecordPager::RecordPager(FindRequest first) : request_(std::move(first)) {
  if (request_.count == 0) {
    request_.count = 1;
  }
}

RecordPager::Page RecordPager::accept(const RecordFinderReply& reply) {
  Page page;
  if (done_ || reply.device_error) {
    return page;
  }
  const auto key_of = [&](const FoundRecord& row) { return record_key(request_.name, row.access); };
  for (const FoundRecord& row : reply.records) {
    if (boundary_keys_.count(key_of(row)) == 0) {
      page.fresh.push_back(row);
    }
  }
  const std::size_t returned = reply.records.size();
  if (returned < request_.count) {
    done_ = true;
    return page;
  }
  // A full page: continue from its last CreateTime.
  const FoundRecord* last = nullptr;
  for (auto it = reply.records.rbegin(); it != reply.records.rend(); ++it) {
    if (it->access.create_time && it->access.create_time->usable()) {
      last = &*it;
      break;
    }
  }
  if (last == nullptr) {
    page.skipped_warning = "a full page without a usable CreateTime: cannot page further";
    done_ = true;
    return page;
  }
  const DeviceTime& last_time = *last->access.create_time;
  if (last_time.text == request_.start_time) {
    if (!page.fresh.empty()) {
      for (const FoundRecord& row : page.fresh) {
        boundary_keys_.insert(key_of(row));
      }
      return page;
    }
    // Nothing new in a full page at one second: step on or give up.
    if (!last_time.epoch) {
      page.skipped_warning = "more than count records at " + last_time.text +
                             " (device-local time): the rest of that second cannot be paged";
      done_ = true;
      return page;
    }
    page.skipped_warning = "more than " + std::to_string(request_.count) + " records at " +
                           last_time.text + ": the rest of that second may be missing";
    request_.start_time = std::to_string(*last_time.epoch + 1);
    boundary_keys_.clear();
  } else {
    request_.start_time = last_time.text;
    boundary_keys_.clear();
    for (const FoundRecord& row : reply.records) {
      if (row.access.create_time && row.access.create_time->text == last_time.text) {
        boundary_keys_.insert(key_of(row));
      }
    }
  }
  const auto start = parse_int(request_.start_time);
  const auto end = parse_int(request_.end_time);
  if (start && end && *start > *end) {
    done_ = true;
  }
  return page;
}

}  // namespace pushgate::adapters::dahua
