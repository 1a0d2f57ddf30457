#pragma once
// Dahua events and records → gateway Events (gateway/event.hpp), one mapping
// for the event stream and the recordFinder backfill, so the same record
// from both has the same key and the same fields. Pure: no I/O, no clock.
//
// Access events: kind access; event_code 0 for a granted passage (the
// gateway's neutral "verified open", which anti-passback counts like a
// ZKTeco passage), 1000 + ErrorCode for a refusal (outside the ZKTeco code
// space, never a passage); status 0 entry / 1 exit (the in/out convention of
// the access rules); verify_mode the HTTP-API Method; door the gateway door
// (door map). Alarms: kind alarm with the code in extra; door state changes
// also go to the DoorService (door_report()).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "adapters/dahua/dahua_config.hpp"
#include "adapters/dahua/dahua_event.hpp"
#include "adapters/dahua/dahua_record_finder.hpp"
#include "gateway/doors.hpp"
#include "gateway/event.hpp"
#include "gateway/timezone.hpp"

namespace pushgate::adapters::dahua {

/** event_code of a refused access: kRefusedBase + ErrorCode. */
inline constexpr int kRefusedBase = 1000;
/** event_code of a granted passage. */
inline constexpr int kGranted = 0;

struct MappingContext {
  std::string sn;
  const DeviceConfig* device = nullptr;
  const Zone* zone = nullptr;  ///< the terminal's zone
  std::int64_t received_ms = 0;
  /** Device clock minus gateway clock at connect (getCurrentTime), seconds. */
  std::optional<std::int64_t> drift_s;
};

/** Where a record came from: its key namespace. */
enum class Source { Stream, CardRecord, AlarmRecord };

/**
 * The Event of one stream event. Live events of a code that also has a
 * record table (AccessControl, the alarms) get the key that table's row
 * gets, so stream and backfill store the record once.
 */
Event map_stream_event(const DahuaEvent& event, const MappingContext& ctx);
/** The Event of one AccessControlCardRec row. */
Event map_card_record(const FoundRecord& row, const MappingContext& ctx);
/** The Event of one AccessControlAlarmRecord row (code from Event / AlarmType). */
Event map_alarm_record(const FoundRecord& row, const MappingContext& ctx);

/**
 * The attendance punch a granted passage on a T&A terminal also is
 * (device.attendance, a granted access event with a user): kind attendance,
 * same time, user and raw record, record key "att:" + the passage's (stored
 * once however often the record comes), status the punch state of
 * `AttendanceState` (dahua_codes.hpp; unset when none). nullopt otherwise.
 */
std::optional<Event> attendance_punch(const Event& passage, const AccessFields& fields,
                                      const DeviceConfig& device);

/** What a stream event says about a door (DoorStatus, BreakIn, DoorNotClosed…); nullopt: nothing.
 */
std::optional<DoorState> door_report(const DahuaEvent& event, const DoorState& known);

/** The device time of `fields` in UTC ms under the device's time policy; nullopt when unusable. */
std::optional<std::int64_t> device_utc_ms(const AccessFields& fields, const DeviceConfig& device,
                                          const Zone& zone);

}  // namespace pushgate::adapters::dahua
