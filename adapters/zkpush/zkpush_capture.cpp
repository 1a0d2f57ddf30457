#include "adapters/zkpush/zkpush_capture.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>

namespace pushgate::adapters::zkpush {
namespace {

char lower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(),
                                            [](char x, char y) { return lower(x) == lower(y); });
}

bool icontains(std::string_view haystack, std::string_view needle) {
  for (std::size_t i = 0; i + needle.size() <= haystack.size(); ++i) {
    if (iequals(haystack.substr(i, needle.size()), needle)) {
      return true;
    }
  }
  return false;
}

bool binary_upload(std::string_view target) {
  const std::string_view path = target.substr(0, target.find('?'));
  const std::string_view query =
      path.size() < target.size() ? target.substr(path.size() + 1) : std::string_view();
  return icontains(path, "/fdata") || icontains(query, "table=ATTPHOTO") ||
         icontains(query, "table=BIOPHOTO");
}

bool redacted_key(std::string_view key) {
  // A field can start with its record type: "FP PIN=1", "biodata pin=1".
  const std::size_t space = key.rfind(' ');
  if (space != std::string_view::npos) {
    key.remove_prefix(space + 1);
  }
  return iequals(key, "tmp") || iequals(key, "content");
}

std::string clean_value(std::string_view value) {
  std::string out(value);
  std::replace(out.begin(), out.end(), '\r', ' ');
  std::replace(out.begin(), out.end(), '\n', ' ');
  return out;
}

}  // namespace

std::string capture_redaction_marker(std::size_t bytes) {
  return "[redacted " + std::to_string(bytes) + " bytes]";
}

std::string redact_capture_body(std::string_view target, std::string_view body) {
  if (body.empty()) {
    return {};
  }
  if (binary_upload(target)) {
    return capture_redaction_marker(body.size());
  }
  std::string out;
  out.reserve(body.size());
  std::size_t pos = 0;
  while (pos < body.size()) {
    const std::size_t end = std::min(body.find_first_of("\t\r\n", pos), body.size());
    const std::string_view field = body.substr(pos, end - pos);
    const std::size_t eq = field.find('=');
    if (eq != std::string_view::npos && redacted_key(field.substr(0, eq))) {
      out.append(field.substr(0, eq + 1));
      out += capture_redaction_marker(field.size() - eq - 1);
    } else {
      out.append(field);
    }
    if (end < body.size()) {
      out += body[end];
    }
    pos = end + 1;
  }
  return out;
}

std::string render_capture_request(std::string_view at, std::string_view method,
                                   std::string_view target, std::string_view version,
                                   const std::vector<CaptureField>& headers,
                                   std::string_view body) {
  std::string out = "Sever Receive Data:  " + std::string(at) + "\n";
  out += clean_value(method) + " " + clean_value(target) + " " + clean_value(version) + "\n";
  bool length_written = false;
  for (const CaptureField& field : headers) {
    if (iequals(field.first, "Content-Length")) {
      out += field.first + ": " + std::to_string(body.size()) + "\n";
      length_written = true;
    } else {
      out += clean_value(field.first) + ": " + clean_value(field.second) + "\n";
    }
  }
  if (!length_written && !body.empty()) {
    out += "Content-Length: " + std::to_string(body.size()) + "\n";
  }
  out += "\n";
  out.append(body);
  out += "\n\n";
  return out;
}

std::string render_capture_response(std::string_view at, int status, std::string_view reason,
                                    const std::vector<CaptureField>& headers,
                                    std::string_view body) {
  std::string out = "Sever Send Data:  " + std::string(at) + "\n";
  out += "HTTP/1.1 " + std::to_string(status) + " " + clean_value(reason) + "\n";
  for (const CaptureField& field : headers) {
    out += clean_value(field.first) + ": " + clean_value(field.second) + "\n";
  }
  out += "\n\n";
  if (!body.empty()) {
    out += "Sever Send Data:  " + std::string(at) + "\n";
    out.append(body);
    out += "\n\n";
  }
  return out;
}

CaptureRegistry::CaptureRegistry(std::filesystem::path directory,
                                 std::vector<std::string> configured, std::uint64_t max_bytes,
                                 bool configured_redact)
    : directory_(std::move(directory)),
      configured_(std::move(configured)),
      max_bytes_(max_bytes),
      configured_redact_(configured_redact) {}

CaptureRegistry::~CaptureRegistry() {
  for (auto& [sn, c] : captures_) {
    if (c.file != nullptr) {
      std::fclose(c.file);
    }
  }
}

std::string CaptureRegistry::utc_stamp(std::int64_t ms, bool for_file) {
  const std::time_t seconds = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char text[40];
  std::strftime(text, sizeof text, for_file ? "%Y%m%dT%H%M%SZ" : "%Y-%m-%dT%H:%M:%SZ", &tm);
  return text;
}

void CaptureRegistry::stop_locked(Capture& c, std::string why) {
  if (c.file != nullptr) {
    std::fclose(c.file);
    c.file = nullptr;
  }
  c.status.active = false;
  c.status.stopped = std::move(why);
}

std::string CaptureRegistry::open_locked(const std::string& sn, std::int64_t now_ms,
                                         std::int64_t until_ms, bool redact) {
  Capture& c = captures_[sn];
  stop_locked(c, "restarted");
  c.status = CaptureStatus{};
  c.status.until_ms = until_ms;
  c.status.redact = redact;
  std::error_code ec;
  std::filesystem::create_directories(directory_, ec);
  const std::filesystem::path path = directory_ / (sn + "-" + utc_stamp(now_ms, true) + ".log");
  c.status.file = path.string();
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) {
    std::string why = "cannot open " + path.string() + ": " + std::strerror(errno);
    c.status.stopped = why;
    return why;
  }
  c.file = ::fdopen(fd, "a");
  if (c.file == nullptr) {
    ::close(fd);
    std::string why = "cannot open " + path.string();
    c.status.stopped = why;
    return why;
  }
  c.status.bytes = static_cast<std::uint64_t>(::lseek(fd, 0, SEEK_END));
  c.status.active = true;
  return {};
}

std::string CaptureRegistry::start(const std::string& sn, std::int64_t now_ms,
                                   std::int64_t until_ms, bool redact) {
  std::lock_guard lock(mutex_);
  return open_locked(sn, now_ms, until_ms, redact);
}

bool CaptureRegistry::wants(std::string_view sn, std::int64_t now_ms) {
  std::lock_guard lock(mutex_);
  auto it = captures_.find(sn);
  if (it == captures_.end()) {
    if (sn.empty() || std::find(configured_.begin(), configured_.end(), sn) == configured_.end()) {
      return false;
    }
    return open_locked(std::string(sn), now_ms, 0, configured_redact_).empty();
  }
  Capture& c = it->second;
  if (c.status.active && c.status.until_ms != 0 && now_ms >= c.status.until_ms) {
    stop_locked(c, "expired");
  }
  return c.status.active;
}

std::string CaptureRegistry::write(std::string_view sn, std::int64_t now_ms,
                                   const CaptureExchange& x) {
  std::lock_guard lock(mutex_);
  auto it = captures_.find(sn);
  if (it == captures_.end() || !it->second.status.active) {
    return {};
  }
  Capture& c = it->second;
  const std::string at = utc_stamp(now_ms, false);
  std::string text;
  if (c.status.redact) {
    text = render_capture_request(at, x.method, x.target, x.version, x.headers,
                                  redact_capture_body(x.target, x.body));
  } else {
    text = render_capture_request(at, x.method, x.target, x.version, x.headers, x.body);
  }
  text += render_capture_response(at, x.status, x.reason, x.answer_headers, x.answer_body);
  if (c.status.bytes + text.size() > max_bytes_) {
    stop_locked(c, "max_bytes");
    return {};
  }
  if (std::fwrite(text.data(), 1, text.size(), c.file) != text.size() || std::fflush(c.file) != 0) {
    std::string why = "cannot write " + c.status.file + ": " + std::strerror(errno);
    stop_locked(c, why);
    return why;
  }
  c.status.bytes += text.size();
  return {};
}

std::optional<CaptureStatus> CaptureRegistry::status(std::string_view sn, std::int64_t now_ms) {
  std::lock_guard lock(mutex_);
  auto it = captures_.find(sn);
  if (it == captures_.end()) {
    return std::nullopt;
  }
  Capture& c = it->second;
  if (c.status.active && c.status.until_ms != 0 && now_ms >= c.status.until_ms) {
    stop_locked(c, "expired");
  }
  return c.status;
}

}  // namespace pushgate::adapters::zkpush
