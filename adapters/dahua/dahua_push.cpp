#include "adapters/dahua/dahua_push.hpp"

#include <algorithm>
#include <array>
#include <cstdint>

#include <boost/beast/zlib/error.hpp>
#include <boost/beast/zlib/inflate_stream.hpp>
#include <boost/crc.hpp>

#include "adapters/dahua/dahua_multipart.hpp"
#include "gateway/json/bounded_json.hpp"

namespace pushgate::adapters::dahua {

namespace zlib = boost::beast::zlib;

namespace {

std::uint8_t byte_at(std::string_view s, std::size_t i) noexcept {
  return static_cast<std::uint8_t>(s[i]);
}

bool gzip_magic(std::string_view body) noexcept {
  return body.size() >= 2 && byte_at(body, 0) == 0x1F && byte_at(body, 1) == 0x8B;
}

bool zlib_header(std::string_view body) noexcept {
  if (body.size() < 2) {
    return false;
  }
  const unsigned cmf = byte_at(body, 0);
  const unsigned flg = byte_at(body, 1);
  return (cmf & 0x0F) == 8 && (cmf >> 4) <= 7 && ((cmf << 8) | flg) % 31 == 0;
}

/**
 * ASI1212 firmware labels plain bodies deflate (bolkonskiy/dahua-acs-ha
 * webhook_payload.py). Only used when the body does not inflate: a JSON or
 * `Code=` text is taken as it is.
 */
bool looks_plain(std::string_view body) noexcept {
  const std::string_view t = trim(body);
  return !t.empty() && (t.front() == '{' || t.front() == '[' || t.substr(0, 2) == "--" ||
                        (t.size() >= 5 && iequals(t.substr(0, 5), "Code=")));
}

/** Raw deflate of `in` into `out` (at most `cap` bytes); sets `consumed`. Error text or "". */
std::string inflate_raw(std::string_view in, std::size_t cap, std::string& out,
                        std::size_t& consumed) {
  zlib::inflate_stream stream;
  zlib::z_params zs;
  zs.next_in = in.data();
  zs.avail_in = in.size();
  std::array<char, 16384> chunk{};
  for (;;) {
    zs.next_out = chunk.data();
    zs.avail_out = chunk.size();
    const std::size_t avail_before = zs.avail_in;
    boost::system::error_code ec;
    stream.write(zs, zlib::Flush::sync, ec);
    const std::size_t produced = chunk.size() - zs.avail_out;
    if (out.size() + produced > cap) {
      return "inflated body larger than " + std::to_string(cap) + " bytes";
    }
    out.append(chunk.data(), produced);
    if (ec == zlib::error::end_of_stream) {
      consumed = in.size() - zs.avail_in;
      return {};
    }
    if (ec && ec != zlib::error::need_buffers) {
      return "compressed body is invalid: " + ec.message();
    }
    if (produced == 0 && zs.avail_in == avail_before) {
      return "compressed body is truncated";
    }
  }
}

std::uint32_t read_be32(std::string_view s, std::size_t at) noexcept {
  return (std::uint32_t{byte_at(s, at)} << 24) | (std::uint32_t{byte_at(s, at + 1)} << 16) |
         (std::uint32_t{byte_at(s, at + 2)} << 8) | std::uint32_t{byte_at(s, at + 3)};
}

std::uint32_t read_le32(std::string_view s, std::size_t at) noexcept {
  return std::uint32_t{byte_at(s, at)} | (std::uint32_t{byte_at(s, at + 1)} << 8) |
         (std::uint32_t{byte_at(s, at + 2)} << 16) | (std::uint32_t{byte_at(s, at + 3)} << 24);
}

std::uint32_t adler32(std::string_view s) noexcept {
  std::uint32_t a = 1;
  std::uint32_t b = 0;
  for (char c : s) {
    a = (a + static_cast<unsigned char>(c)) % 65521U;
    b = (b + a) % 65521U;
  }
  return (b << 16) | a;
}

void decode_zlib(std::string_view body, std::size_t cap, DecodedBody& out) {
  out.coding = "deflate-zlib";
  if ((byte_at(body, 1) & 0x20) != 0) {
    out.error = "zlib body needs a preset dictionary";
    return;
  }
  std::size_t consumed = 0;
  out.error = inflate_raw(body.substr(2), cap, out.bytes, consumed);
  if (!out.ok()) {
    return;
  }
  const std::size_t trailer = 2 + consumed;
  if (body.size() >= trailer + 4 && read_be32(body, trailer) != adler32(out.bytes)) {
    out.error = "zlib body fails its Adler-32 check";
  }
}

void decode_gzip(std::string_view body, std::size_t cap, DecodedBody& out) {
  out.coding = "gzip";
  // RFC 1952 §2.3: ID1 ID2 CM FLG MTIME(4) XFL OS [FEXTRA] [FNAME] [FCOMMENT] [FHCRC]
  if (body.size() < 10 || byte_at(body, 2) != 8) {
    out.error = "gzip header is invalid";
    return;
  }
  const unsigned flags = byte_at(body, 3);
  std::size_t pos = 10;
  if ((flags & 0x04) != 0) {  // FEXTRA
    if (body.size() < pos + 2) {
      out.error = "gzip header is truncated";
      return;
    }
    pos += 2 + (std::size_t{byte_at(body, pos)} | (std::size_t{byte_at(body, pos + 1)} << 8));
  }
  for (unsigned bit : {0x08U, 0x10U}) {  // FNAME, FCOMMENT: zero-terminated
    if ((flags & bit) != 0) {
      const std::size_t zero = pos < body.size() ? body.find('\0', pos) : std::string_view::npos;
      if (zero == std::string_view::npos) {
        out.error = "gzip header is truncated";
        return;
      }
      pos = zero + 1;
    }
  }
  if ((flags & 0x02) != 0) {  // FHCRC
    pos += 2;
  }
  if (pos > body.size()) {
    out.error = "gzip header is truncated";
    return;
  }
  std::size_t consumed = 0;
  out.error = inflate_raw(body.substr(pos), cap, out.bytes, consumed);
  if (!out.ok()) {
    return;
  }
  const std::size_t trailer = pos + consumed;
  if (body.size() >= trailer + 8) {
    boost::crc_32_type crc;
    crc.process_bytes(out.bytes.data(), out.bytes.size());
    if (read_le32(body, trailer) != crc.checksum() ||
        read_le32(body, trailer + 4) != static_cast<std::uint32_t>(out.bytes.size())) {
      out.error = "gzip body fails its CRC-32 / size check";
    }
  }
}

std::string lower_ascii(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') {
      c = static_cast<char>(c - 'A' + 'a');
    }
  }
  return out;
}

/** The value of `name="..."` (or unquoted) in a Content-Disposition header. */
std::string disposition_param(std::string_view header, std::string_view name) {
  std::size_t pos = 0;
  while (pos < header.size()) {
    const std::size_t semi = header.find(';', pos);
    const std::string_view param =
        trim(header.substr(pos, semi == std::string_view::npos ? semi : semi - pos));
    const std::size_t eq = param.find('=');
    if (eq != std::string_view::npos && iequals(trim(param.substr(0, eq)), name)) {
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

void add_event(PushBody& out, EventParse parsed, const PushLimits& limits) {
  if (out.events.size() >= limits.max_events) {
    if (++out.refused_events == 1) {
      out.problems.push_back("more than " + std::to_string(limits.max_events) +
                             " events in one body; the rest refused");
    }
    return;
  }
  out.events.push_back(std::move(parsed));
}

void parse_json_events(PushBody& out, std::string_view text, const PushLimits& limits) {
  const JsonParseResult parsed =
      parse_json_bounded(text, JsonLimits{limits.max_inflated_bytes, kMaxEventJsonDepth});
  if (!parsed.ok()) {
    out.problems.push_back("body is not usable JSON: " + parsed.error);
    return;
  }
  const nlohmann::json& value = parsed.value;
  const auto each = [&](const nlohmann::json& array) {
    for (const auto& item : array) {
      add_event(out,
                decode_event_object(
                    item, item.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)),
                limits);
    }
  };
  if (value.is_array()) {
    each(value);
    return;
  }
  if (!value.is_object()) {
    out.problems.push_back("JSON body is neither an object nor an array");
    return;
  }
  const nlohmann::json* events = nullptr;
  for (const auto& [key, item] : value.items()) {
    if (iequals(key, "Events") && item.is_array()) {
      events = &item;
    } else if (iequals(key, "Channel") && item.is_number_integer()) {
      const auto channel = item.get<std::int64_t>();
      if (channel >= 0 && channel <= 1 << 20) {
        out.channel = static_cast<int>(channel);
      }
    }
  }
  if (events != nullptr) {
    each(*events);
    return;
  }
  add_event(out, decode_event_object(value, std::string(trim(text))), limits);
}

void parse_text_events(PushBody& out, std::string_view text, const PushLimits& limits) {
  for (const std::string& record : split_event_records(text)) {
    add_event(out, parse_event_text(record), limits);
  }
}

enum class Form { Json, Text, Multipart };

Form sniff(std::string_view content_type, std::string_view body) {
  const std::string type = lower_ascii(content_type);
  if (type.find("multipart/") != std::string::npos) {
    return Form::Multipart;
  }
  if (type.find("json") != std::string::npos) {
    return Form::Json;
  }
  const std::string_view t = trim(body);
  if (!t.empty() && (t.front() == '{' || t.front() == '[')) {
    return Form::Json;
  }
  if (t.size() >= 2 && t.substr(0, 2) == "--") {
    return Form::Multipart;
  }
  return Form::Text;
}

void parse_form(PushBody& out, std::string_view content_type, std::string_view body,
                const PushLimits& limits, int nesting);

void parse_multipart(PushBody& out, std::string_view content_type, std::string_view body,
                     const PushLimits& limits, int nesting) {
  std::string boundary = multipart_boundary(content_type);
  if (boundary.empty()) {
    // No boundary parameter: take it from the first line ("--boundary").
    const std::string_view t = trim(body);
    const std::size_t eol = t.find_first_of("\r\n");
    boundary = std::string(t.substr(2, eol == std::string_view::npos ? eol : eol - 2));
  }
  if (boundary.empty()) {
    out.problems.push_back("multipart body without a boundary");
    return;
  }
  const std::string marker = "--" + boundary;
  std::size_t pos = body.find(marker);
  std::size_t parts = 0;
  while (pos != std::string_view::npos) {
    std::size_t start = pos + marker.size();
    if (body.substr(start, 2) == "--") {
      break;  // the closing delimiter
    }
    const std::size_t line_end = body.find('\n', start);
    if (line_end == std::string_view::npos) {
      break;
    }
    start = line_end + 1;
    const std::size_t next = body.find(marker, start);
    std::string_view part =
        body.substr(start, next == std::string_view::npos ? std::string_view::npos : next - start);
    if (++parts > limits.max_parts) {
      out.problems.push_back("more than " + std::to_string(limits.max_parts) +
                             " multipart parts; the rest ignored");
      break;
    }
    // The CRLF before the next delimiter belongs to the delimiter (RFC 2046 §5.1.1).
    if (part.size() >= 2 && part.substr(part.size() - 2) == "\r\n") {
      part.remove_suffix(2);
    } else if (!part.empty() && part.back() == '\n') {
      part.remove_suffix(1);
    }
    std::string type;
    std::string disposition;
    std::string part_encoding;
    std::size_t cursor = 0;
    for (;;) {
      const std::size_t lf = part.find('\n', cursor);
      if (lf == std::string_view::npos) {
        cursor = part.size();
        break;
      }
      std::string_view line = part.substr(cursor, lf - cursor);
      cursor = lf + 1;
      if (!line.empty() && line.back() == '\r') {
        line.remove_suffix(1);
      }
      if (line.empty()) {
        break;
      }
      const std::size_t colon = line.find(':');
      if (colon == std::string_view::npos) {
        continue;
      }
      const std::string_view name = trim(line.substr(0, colon));
      const std::string_view value = trim(line.substr(colon + 1));
      if (iequals(name, "Content-Type")) {
        type = std::string(value);
      } else if (iequals(name, "Content-Disposition")) {
        disposition = std::string(value);
      } else if (iequals(name, "Content-Encoding")) {
        part_encoding = std::string(value);
      }
    }
    const std::string_view payload = part.substr(std::min(cursor, part.size()));
    const std::string name = disposition_param(disposition, "name");
    const std::string lower_type = lower_ascii(type);
    const bool image =
        lower_type.rfind("image/", 0) == 0 || lower_type.find("octet-stream") != std::string::npos;
    if (!image && (iequals(name, "info") || lower_type.find("json") != std::string::npos ||
                   lower_type.rfind("text/", 0) == 0 || type.empty())) {
      const DecodedBody decoded =
          decode_content_encoding(part_encoding, payload, limits.max_inflated_bytes);
      if (!decoded.ok()) {
        out.problems.push_back("part " + name + ": " + decoded.error);
      } else {
        parse_form(out, type, decoded.bytes, limits, nesting + 1);
      }
    } else {
      PushImage picture;
      picture.name = name;
      picture.filename = disposition_param(disposition, "filename");
      picture.content_type = type;
      picture.size = payload.size();
      const std::size_t kept_count = static_cast<std::size_t>(std::count_if(
          out.images.begin(), out.images.end(), [](const PushImage& i) { return i.kept; }));
      if (payload.size() <= limits.max_image_bytes && kept_count < limits.max_images) {
        picture.kept = true;
        picture.bytes = std::string(payload);
      }
      out.images.push_back(std::move(picture));
    }
    pos = next;
  }
}

void parse_form(PushBody& out, std::string_view content_type, std::string_view body,
                const PushLimits& limits, int nesting) {
  switch (sniff(content_type, body)) {
    case Form::Json:
      parse_json_events(out, body, limits);
      return;
    case Form::Text:
      parse_text_events(out, body, limits);
      return;
    case Form::Multipart:
      if (nesting > 0) {
        out.problems.push_back("nested multipart refused");
        return;
      }
      parse_multipart(out, content_type, body, limits, nesting);
      return;
  }
}

}  // namespace

DecodedBody decode_content_encoding(std::string_view content_encoding, std::string_view body,
                                    std::size_t max_inflated_bytes) {
  DecodedBody out;
  const std::string coding = lower_ascii(trim(content_encoding));
  if (coding.empty() || coding == "identity") {
    out.coding = "identity";
  } else if (coding == "gzip" || coding == "x-gzip" || coding == "deflate") {
    if (gzip_magic(body)) {
      decode_gzip(body, max_inflated_bytes, out);
      return out;
    }
    if (coding == "deflate" && zlib_header(body)) {
      decode_zlib(body, max_inflated_bytes, out);
      if (out.ok() || !looks_plain(body)) {
        return out;
      }
    } else if (coding == "deflate") {
      out.coding = "deflate-raw";
      std::size_t consumed = 0;
      out.error = inflate_raw(body, max_inflated_bytes, out.bytes, consumed);
      if (out.ok() && !trim(body.substr(consumed)).empty()) {
        out.error = "bytes after the end of the deflate stream";
      }
      if (out.ok() || !looks_plain(body)) {
        return out;
      }
    } else if (!looks_plain(body)) {
      out.error = "body labelled " + coding + " has no gzip header";
      return out;
    }
    out = DecodedBody{};
    out.coding = "plain-labelled-" + coding;
  } else {
    out.error =
        "unsupported Content-Encoding: " + std::string(trim(content_encoding)).substr(0, 64);
    return out;
  }
  if (body.size() > max_inflated_bytes) {
    out.error = "body larger than " + std::to_string(max_inflated_bytes) + " bytes";
    return out;
  }
  out.bytes = std::string(body);
  return out;
}

bool PushBody::usable() const noexcept {
  for (const EventParse& parsed : events) {
    if (parsed.event) {
      return true;
    }
  }
  return false;
}

PushBody parse_push_body(std::string_view content_type, std::string_view content_encoding,
                         std::string_view body, const PushLimits& limits) {
  PushBody out;
  const DecodedBody decoded =
      decode_content_encoding(content_encoding, body, limits.max_inflated_bytes);
  out.coding = decoded.coding;
  if (!decoded.ok()) {
    out.problems.push_back(decoded.error);
    return out;
  }
  parse_form(out, content_type, decoded.bytes, limits, 0);
  return out;
}

bool is_push_keepalive(std::string_view target) noexcept {
  const std::size_t query = target.find('?');
  std::string_view path = target.substr(0, query);
  while (!path.empty() && path.back() == '/') {
    path.remove_suffix(1);
  }
  return path.size() >= 10 && iequals(path.substr(path.size() - 10), "/keepalive");
}

}  // namespace pushgate::adapters::dahua
