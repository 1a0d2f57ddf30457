#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include <date/date.h>
#include <date/tz.h>

namespace pushgate::rules::attendance {

/**
 * Time vocabulary of the attendance rules.
 *
 * Everything the rules decide is decided in the site's local wall time, the
 * time printed on the terminal: shift start 09:00 means 09:00 on the wall
 * clock whatever the UTC offset is that day. Durations (worked hours,
 * overtime, late and early minutes) are real elapsed time: with a zone a
 * night shift 22:00-06:00 lasts 7 h on the spring-forward night and 9 h on
 * the fall-back night; without a zone (nullptr) the wall clock difference
 * (8 h) is used.
 *
 * Pure functions; safe to call from any thread.
 */

/** Minutes after local midnight, 0..1439, as written "HH:MM" in the config. */
using TimeOfDay = std::chrono::minutes;

/** "HH:MM" with 00 <= HH <= 23 and 00 <= MM <= 59; nullopt otherwise. */
std::optional<TimeOfDay> parse_time_of_day(std::string_view text);
std::string format_time_of_day(TimeOfDay time);

/** "YYYY-MM-DD", a valid calendar date; nullopt otherwise. */
std::optional<date::local_days> parse_date(std::string_view text);
std::string format_date(date::local_days day);

/** "YYYY-MM-DDTHH:MM:SS" (a space instead of the T is accepted). */
std::optional<date::local_seconds> parse_local_time(std::string_view text);
std::string format_local_time(date::local_seconds time);

/**
 * The UTC instant of a site wall time.
 * - zone == nullptr: the wall time is taken as UTC (wall-clock arithmetic).
 * - Ambiguous wall time (the repeated hour of a fall-back night): the earlier
 *   instant. A punch carries no offset, so the first occurrence is the
 *   documented choice.
 * - Non-existent wall time (the skipped hour of a spring-forward night): the
 *   transition instant, so 02:30 on that night counts as 03:00 and the
 *   mapping is monotonic (durations never run backwards).
 */
std::chrono::sys_seconds to_sys(date::local_seconds time, const date::time_zone* zone);

/** Real elapsed time from `from` to `to` (negative if `to` is earlier). */
std::chrono::seconds elapsed(date::local_seconds from, date::local_seconds to,
                             const date::time_zone* zone);

/** The site wall time of a UTC instant (UTC itself when zone == nullptr). */
date::local_seconds to_local(std::chrono::sys_seconds time, const date::time_zone* zone);

}  // namespace pushgate::rules::attendance
