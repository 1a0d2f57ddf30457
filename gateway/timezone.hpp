#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace date {
class time_zone;
}

namespace pushgate {

/** A wall-clock time as a terminal sends it ("2020-09-23 13:01:24"), not yet placed in a zone. */
struct LocalDateTime {
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  friend bool operator==(const LocalDateTime&, const LocalDateTime&) = default;
};

/**
 * Parses "YYYY-MM-DD HH:MM:SS" (also with 'T'). Fails on anything else,
 * including impossible dates and the garbage pre-NTP clocks send
 * ("1971--10--29 -23:-27:-54"); such records are kept with no UTC time.
 */
std::optional<LocalDateTime> parse_local_date_time(std::string_view text) noexcept;

/** "YYYY-MM-DD HH:MM:SS". */
std::string format_local_date_time(const LocalDateTime& t);

/**
 * The time zone of a terminal (or of the site): an IANA name from the
 * system's tzdata ("Europe/Berlin"), "UTC", a fixed offset ("+05:30",
 * "-03:00"), or "" for the system's own zone.
 */
class Zone {
 public:
  static std::optional<Zone> parse(std::string_view spec, std::string& error);
  static Zone utc();

  /** UTC milliseconds for a local wall time; for a time a DST change skips or repeats, the earlier
   * instant. */
  std::int64_t to_utc_ms(const LocalDateTime& local) const;
  /** The zone's offset from UTC at an instant, in minutes. */
  int offset_minutes_at(std::chrono::system_clock::time_point t) const;
  /** The local wall time at an instant. */
  LocalDateTime to_local(std::chrono::system_clock::time_point t) const;
  const std::string& name() const noexcept { return name_; }

 private:
  Zone() = default;
  const date::time_zone* tz_ = nullptr;  // tzdata zone, or nullptr for a fixed offset
  int fixed_offset_minutes_ = 0;
  std::string name_;
};

}  // namespace pushgate
