#pragma once

// Shared by the timecard test files: the manual's example day and the DST time zone.

#include <date/tz.h>

namespace pushgate::rules::attendance::test {

inline constexpr const char* kDay = "2022-12-01";

inline const date::time_zone* berlin() {
  return date::locate_zone("Europe/Berlin");
}

}  // namespace pushgate::rules::attendance::test
