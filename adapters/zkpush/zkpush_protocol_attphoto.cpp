// Attendance PUSH ATTPHOTO: the photo upload header/body and the photo file name.
#include "adapters/zkpush/zkpush_protocol.hpp"
#include "adapters/zkpush/zkpush_protocol_detail.hpp"
#include "adapters/zkpush/zkpush_text.hpp"

#include <cstdint>
#include <string>
#include <utility>

namespace pushgate::adapters::zkpush {
namespace {

using detail::parse_compact_time;
using text::is_blank;
using text::make_problem;
using text::parse_integer;
using text::split;
using text::strip_cr;

}  // namespace

// ---------------------------------------------------------------------------
// ATTPHOTO
// ---------------------------------------------------------------------------

AttPhotoResult parse_attphoto(std::string_view body) {
  // The text header is four short lines; looking further would only walk
  // through binary bytes of a body that has no header at all.
  constexpr std::size_t kMaxHeaderLines = 16;
  AttPhotoResult result;
  AttPhoto photo;
  std::optional<std::size_t> data_offset;
  std::size_t pos = 0;
  std::size_t line_number = 0;
  while (pos < body.size()) {
    if (++line_number > kMaxHeaderLines) {
      result.problems.push_back(
          make_problem(line_number, "photo header has no CMD= line",
                       body.substr(pos, std::min<std::size_t>(80, body.size() - pos))));
      break;
    }
    // A header line ends at LF, or at NUL for the CMD= line that precedes the
    // binary part.
    const std::size_t stop = body.find_first_of(std::string_view("\n\0", 2), pos);
    const std::size_t end = stop == std::string_view::npos ? body.size() : stop;
    const std::string_view text = strip_cr(body.substr(pos, end - pos));
    const std::size_t next = stop == std::string_view::npos ? body.size() : stop + 1;
    const bool at_nul = stop != std::string_view::npos && body[stop] == '\0';
    const std::size_t eq = text.find('=');
    if (!text.empty() && eq != std::string_view::npos && eq > 0) {
      const std::string_view key = text.substr(0, eq);
      const std::string_view value = text.substr(eq + 1);
      photo.header.push_back(KeyValue{std::string(key), std::string(value)});
      if (iequals(key, "CMD")) {
        photo.cmd = std::string(value);
        data_offset = next;
        break;
      }
    } else if (!is_blank(text)) {
      result.problems.push_back(
          make_problem(line_number, "photo header line without key=value", text.substr(0, 80)));
    }
    if (at_nul) {
      // No CMD= line: the first NUL still ends the text header.
      data_offset = next;
      break;
    }
    pos = next;
  }
  if (const std::string* pin = find_value(photo.header, "PIN")) {
    photo.file_name = *pin;
  }
  if (const std::string* sn = find_value(photo.header, "SN")) {
    photo.sn = *sn;
  }
  if (const std::string* size = find_value(photo.header, "size")) {
    photo.declared_size = parse_integer<std::int64_t>(*size);
    if (!photo.declared_size) {
      result.problems.push_back(make_problem(1, "photo size is not a number", *size));
    }
  }
  if (photo.file_name.empty()) {
    result.problems.push_back(
        make_problem(1, "photo without PIN= (file name)", body.substr(0, 80)));
    return result;
  }
  if (!data_offset || *data_offset >= body.size()) {
    result.problems.push_back(make_problem(1, "photo without binary part", body.substr(0, 80)));
    return result;
  }
  photo.data_offset = *data_offset;
  photo.data_size = body.size() - *data_offset;
  if (photo.declared_size && *photo.declared_size >= 0 &&
      static_cast<std::uint64_t>(*photo.declared_size) != photo.data_size) {
    // Keep the photo: a short or long upload is still the terminal's photo,
    // but say so, the bytes may be truncated.
    result.problems.push_back(make_problem(1,
                                           "photo size says " +
                                               std::to_string(*photo.declared_size) + " bytes, " +
                                               std::to_string(photo.data_size) + " follow",
                                           photo.file_name));
  }
  result.photo = std::move(photo);
  return result;
}

std::optional<AttPhotoName> parse_attphoto_name(std::string_view file_name) {
  std::string_view stem = file_name;
  constexpr std::string_view kExt = ".jpg";
  if (stem.size() >= kExt.size() && iequals(stem.substr(stem.size() - kExt.size()), kExt)) {
    stem.remove_suffix(kExt.size());
  }
  const std::vector<std::string_view> parts = split(stem, '-');
  if (parts.size() != 2 && parts.size() != 4) {
    return std::nullopt;
  }
  std::optional<DeviceTime> time = parse_compact_time(parts[0]);
  if (!time) {
    return std::nullopt;
  }
  AttPhotoName name;
  name.time = *time;
  if (parts.size() == 2) {
    name.pin = std::string(parts[1]);
    return name;
  }
  name.photo_type = parse_integer<int>(parts[1]);
  if (!name.photo_type) {
    return std::nullopt;
  }
  name.pin = std::string(parts[2]);
  name.id_number = std::string(parts[3]);
  return name;
}

}  // namespace pushgate::adapters::zkpush
