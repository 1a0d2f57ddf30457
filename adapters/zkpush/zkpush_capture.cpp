#include "adapters/zkpush/zkpush_capture.hpp"

#include <algorithm>

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

}  // namespace pushgate::adapters::zkpush
