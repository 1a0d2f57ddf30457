#pragma once

// Text that devices send: converted to valid UTF-8 once, at the edge, and
// escaped before it goes into a log line. Pure, no I/O, never throws on
// device bytes.

#include <optional>
#include <string>
#include <string_view>

namespace pushgate::text {

/**
 * The canonical name of a supported device encoding ("utf-8", "latin-1",
 * "cp1252", "gbk"), for a configured name in any usual spelling
 * ("UTF8", "iso-8859-1", "windows-1252", "gb2312", "GB18030"...); nullopt
 * when not supported.
 */
std::optional<std::string> canonical_encoding(std::string_view name);

/** Whether `bytes` is well-formed UTF-8 (no overlongs, surrogates or code points past U+10FFFF). */
bool is_valid_utf8(std::string_view bytes) noexcept;

/**
 * `bytes` in `encoding` (a canonical name) as valid UTF-8. Bytes that are not
 * valid in the encoding each become U+FFFD; nothing is dropped, so a line
 * keeps its separators (TAB, LF, '=' are the same byte in every supported
 * encoding). An unknown encoding is read as UTF-8. `replaced`, when given,
 * grows by the number of replacements made.
 */
std::string to_utf8(std::string_view bytes, std::string_view encoding,
                    std::size_t* replaced = nullptr);

/** Whether to_utf8(bytes, encoding) would return `bytes` unchanged (ASCII, or valid UTF-8 read as
 * UTF-8): the common case, checked without copying. */
bool unchanged_by_conversion(std::string_view bytes, std::string_view encoding) noexcept;

/**
 * to_utf8() in place; returns whether anything changed. `replaced`, when
 * given, grows by the number of bytes that became U+FFFD (a U+FFFD the
 * device itself sent is not one of them).
 */
bool make_utf8(std::string& text, std::string_view encoding, std::size_t* replaced = nullptr);

/**
 * Device-controlled text made safe for one log line: printable ASCII and
 * valid UTF-8 stay, '\\' doubles, CR/LF/TAB become \r \n \t, every other
 * control or invalid byte becomes \xNN; longer than `max_chars` input is cut
 * and marked "...". A forged "\n2026-... info [zkpush] ..." stays one line.
 */
std::string log_escape(std::string_view text, std::size_t max_chars = 200);

/** The longest serial number accepted from a terminal. */
inline constexpr std::size_t kMaxSerialLength = 32;

/**
 * Whether a terminal serial number is acceptable: 1 to kMaxSerialLength
 * characters of [A-Za-z0-9_-], what ZKTeco firmware sends ("CJDE193560303",
 * "DDG7012017010600049"). Anything else is refused at the door.
 */
bool valid_serial(std::string_view sn) noexcept;

}  // namespace pushgate::text
