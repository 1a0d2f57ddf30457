#include "gateway/device_text.hpp"

#include <iconv.h>

#include <array>
#include <cerrno>
#include <map>
#include <memory>

namespace pushgate::text {

namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

char lower(char c) noexcept {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

// "ISO_8859-1" -> "iso88591": spellings differ only in case and punctuation.
std::string squeeze(std::string_view name) {
  std::string out;
  for (char c : name) {
    if (c != '-' && c != '_' && c != ' ' && c != '.') {
      out += lower(c);
    }
  }
  return out;
}

bool all_ascii(std::string_view bytes) noexcept {
  for (unsigned char c : bytes) {
    if (c >= 0x80) {
      return false;
    }
  }
  return true;
}

// Length of the well-formed UTF-8 sequence at `i`, or 0 when the byte there
// does not start one (RFC 3629 table, as in Unicode 3.9 D92).
std::size_t utf8_sequence(std::string_view s, std::size_t i) noexcept {
  const auto at = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = at(i);
  const std::size_t left = s.size() - i;
  const auto cont = [&](std::size_t k, unsigned char lo = 0x80, unsigned char hi = 0xBF) {
    return k < s.size() && at(k) >= lo && at(k) <= hi;
  };
  if (c < 0x80) {
    return 1;
  }
  if (c >= 0xC2 && c <= 0xDF) {
    return left >= 2 && cont(i + 1) ? 2 : 0;
  }
  if (c >= 0xE0 && c <= 0xEF) {
    const unsigned char lo = c == 0xE0 ? 0xA0 : 0x80;
    const unsigned char hi = c == 0xED ? 0x9F : 0xBF;
    return left >= 3 && cont(i + 1, lo, hi) && cont(i + 2) ? 3 : 0;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    const unsigned char lo = c == 0xF0 ? 0x90 : 0x80;
    const unsigned char hi = c == 0xF4 ? 0x8F : 0xBF;
    return left >= 4 && cont(i + 1, lo, hi) && cont(i + 2) && cont(i + 3) ? 4 : 0;
  }
  return 0;
}

std::string repair_utf8(std::string_view bytes, std::size_t* replaced) {
  std::string out;
  out.reserve(bytes.size() + 8);
  std::size_t i = 0;
  while (i < bytes.size()) {
    const std::size_t n = utf8_sequence(bytes, i);
    if (n == 0) {
      out += kReplacement;
      if (replaced != nullptr) {
        ++*replaced;
      }
      ++i;
    } else {
      out.append(bytes.substr(i, n));
      i += n;
    }
  }
  return out;
}

std::string latin1_to_utf8(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    if (c < 0x80) {
      out += static_cast<char>(c);
    } else {
      out += static_cast<char>(0xC0 | (c >> 6));
      out += static_cast<char>(0x80 | (c & 0x3F));
    }
  }
  return out;
}

struct IconvCloser {
  void operator()(void* cd) const noexcept { iconv_close(static_cast<iconv_t>(cd)); }
};

// One converter per thread and source encoding: iconv_t is not thread-safe
// and opening one costs a gconv lookup.
iconv_t converter(const char* from) {
  thread_local std::map<std::string, std::unique_ptr<void, IconvCloser>> cache;
  auto it = cache.find(from);
  if (it == cache.end()) {
    iconv_t cd = iconv_open("UTF-8", from);
    if (cd == reinterpret_cast<iconv_t>(-1)) {
      return cd;
    }
    it = cache.emplace(from, std::unique_ptr<void, IconvCloser>(cd)).first;
  }
  return static_cast<iconv_t>(it->second.get());
}

std::string iconv_to_utf8(std::string_view bytes, const char* from, std::size_t* replaced) {
  iconv_t cd = converter(from);
  if (cd == reinterpret_cast<iconv_t>(-1)) {
    return repair_utf8(bytes, replaced);
  }
  iconv(cd, nullptr, nullptr, nullptr, nullptr);
  std::string out;
  out.reserve(bytes.size() * 2);
  std::array<char, 4096> buffer{};
  char* in = const_cast<char*>(bytes.data());
  std::size_t in_left = bytes.size();
  while (in_left > 0) {
    char* o = buffer.data();
    std::size_t o_left = buffer.size();
    const std::size_t r = iconv(cd, &in, &in_left, &o, &o_left);
    out.append(buffer.data(), buffer.size() - o_left);
    if (r != static_cast<std::size_t>(-1)) {
      continue;
    }
    if (errno == E2BIG) {
      continue;
    }
    // EILSEQ (a byte the encoding does not define) or EINVAL (a sequence cut
    // off at the end): one replacement for one byte, then go on.
    out += kReplacement;
    if (replaced != nullptr) {
      ++*replaced;
    }
    ++in;
    --in_left;
    iconv(cd, nullptr, nullptr, nullptr, nullptr);
  }
  // Belt and braces: whatever iconv wrote must itself be valid.
  return is_valid_utf8(out) ? out : repair_utf8(out, replaced);
}

}  // namespace

std::optional<std::string> canonical_encoding(std::string_view name) {
  const std::string n = squeeze(name);
  if (n == "utf8") {
    return "utf-8";
  }
  if (n == "latin1" || n == "iso88591" || n == "l1") {
    return "latin-1";
  }
  if (n == "cp1252" || n == "windows1252") {
    return "cp1252";
  }
  if (n == "gbk" || n == "gb2312" || n == "gb18030" || n == "cp936") {
    return "gbk";
  }
  return std::nullopt;
}

bool is_valid_utf8(std::string_view bytes) noexcept {
  std::size_t i = 0;
  while (i < bytes.size()) {
    const std::size_t n = utf8_sequence(bytes, i);
    if (n == 0) {
      return false;
    }
    i += n;
  }
  return true;
}

std::string to_utf8(std::string_view bytes, std::string_view encoding, std::size_t* replaced) {
  // Every supported encoding is ASCII below 0x80: the common case is free.
  if (all_ascii(bytes)) {
    return std::string(bytes);
  }
  if (encoding == "latin-1") {
    return latin1_to_utf8(bytes);
  }
  if (encoding == "cp1252") {
    return iconv_to_utf8(bytes, "CP1252", replaced);
  }
  if (encoding == "gbk") {
    // GB18030 is the superset of GB2312 and GBK that terminals actually use.
    return iconv_to_utf8(bytes, "GB18030", replaced);
  }
  if (is_valid_utf8(bytes)) {
    return std::string(bytes);
  }
  return repair_utf8(bytes, replaced);
}

bool unchanged_by_conversion(std::string_view bytes, std::string_view encoding) noexcept {
  if (all_ascii(bytes)) {
    return true;
  }
  return encoding != "latin-1" && encoding != "cp1252" && encoding != "gbk" && is_valid_utf8(bytes);
}

bool make_utf8(std::string& text, std::string_view encoding, std::size_t* replaced) {
  if (unchanged_by_conversion(text, encoding)) {
    return false;
  }
  std::string converted = to_utf8(text, encoding, replaced);
  if (converted == text) {
    return false;
  }
  text = std::move(converted);
  return true;
}

std::string log_escape(std::string_view text, std::size_t max_chars) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(std::min(text.size(), max_chars) + 8);
  std::size_t i = 0;
  std::size_t chars = 0;
  while (i < text.size()) {
    if (chars >= max_chars) {
      out += "...";
      break;
    }
    const auto c = static_cast<unsigned char>(text[i]);
    ++chars;
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else if (c >= 0x80) {
      const std::size_t n = utf8_sequence(text, i);
      // U+0080..U+009F (C1 controls) and invalid bytes are escaped.
      if (n >= 2 && !(c == 0xC2 && static_cast<unsigned char>(text[i + 1]) < 0xA0)) {
        out.append(text.substr(i, n));
        i += n;
        continue;
      }
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 0xf];
    } else {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 0xf];
    }
    ++i;
  }
  return out;
}

bool valid_serial(std::string_view sn) noexcept {
  if (sn.empty() || sn.size() > kMaxSerialLength) {
    return false;
  }
  for (char c : sn) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '-';
    if (!ok) {
      return false;
    }
  }
  return true;
}

}  // namespace pushgate::text
