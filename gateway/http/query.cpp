#include "gateway/http/query.hpp"

#include <boost/beast/core/string.hpp>

namespace pushgate::http {

namespace {
int hex_value(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  if (c >= 'A' && c <= 'F') {
    return c - 'A' + 10;
  }
  return -1;
}
}  // namespace

std::string percent_decode(std::string_view s, bool plus_is_space) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '+' && plus_is_space) {
      out += ' ';
    } else if (c == '%' && i + 2 < s.size() && hex_value(s[i + 1]) >= 0 &&
               hex_value(s[i + 2]) >= 0) {
      out += static_cast<char>(hex_value(s[i + 1]) * 16 + hex_value(s[i + 2]));
      i += 2;
    } else {
      out += c;
    }
  }
  return out;
}

Query Query::parse_target(std::string_view target) {
  auto q = target.find('?');
  return parse(q == std::string_view::npos ? std::string_view{} : target.substr(q + 1));
}

Query Query::parse(std::string_view query) {
  Query out;
  while (!query.empty()) {
    auto amp = query.find('&');
    auto item = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    if (item.empty()) {
      continue;
    }
    auto eq = item.find('=');
    if (eq == std::string_view::npos) {
      out.items_.emplace_back(percent_decode(item), std::string());
    } else {
      out.items_.emplace_back(percent_decode(item.substr(0, eq)),
                              percent_decode(item.substr(eq + 1)));
    }
  }
  return out;
}

std::optional<std::string> Query::get(std::string_view key) const {
  for (const auto& [k, v] : items_) {
    if (boost::beast::iequals(k, key)) {
      return v;
    }
  }
  return std::nullopt;
}

std::string Query::get_or(std::string_view key, std::string_view fallback) const {
  auto v = get(key);
  return v ? *v : std::string(fallback);
}

std::string_view target_path(std::string_view target) {
  auto q = target.find('?');
  return q == std::string_view::npos ? target : target.substr(0, q);
}

}  // namespace pushgate::http
