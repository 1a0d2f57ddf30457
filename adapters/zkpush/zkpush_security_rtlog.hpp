#pragma once

// Security PUSH real-time uploads (shared/seeds/003_*.txt): door state
// (§7.3), table=rtlog events (§7.2, §7.13) and table=rtstate rows (§7.3).
// Part of the pure protocol layer (see zkpush_security_protocol.hpp for the
// contract).

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "adapters/zkpush/zkpush_protocol.hpp"

namespace pushgate::adapters::zkpush::security {

// ---------------------------------------------------------------------------
// Door state (§7.3 rtstate; also door rows inside rtlog)
// ---------------------------------------------------------------------------

/** Two sensor bits per door (§7.3). */
enum class DoorSensor {
  None,     ///< 0b00: no door sensor configured
  Closed,   ///< 0b01: door closed
  Open,     ///< 0b10: door open
  Unknown,  ///< 0b11: not defined by the spec
};

std::string_view to_string(DoorSensor sensor) noexcept;

/** One relay bit per door (§7.3: "0b0 ... connected, 0b1 ... disconnected"). */
enum class RelayState {
  Connected,     ///< bit 0
  Disconnected,  ///< bit 1
};

/** The eight alarm bits of a door's alarm byte, least significant first (§7.3). */
enum class DoorAlarm : std::uint8_t {
  AccidentalOpen = 0x01,       ///< first bit: door opened accidentally
  Tamper = 0x02,               ///< second bit
  DuressPassword = 0x04,       ///< third bit
  DuressFingerprint = 0x08,    ///< fourth bit
  DoorSensorTimeout = 0x10,    ///< fifth bit: door left open too long
  MainsPowerFailure = 0x20,    ///< sixth bit
  BatteryPowerFailure = 0x40,  ///< seventh bit
  ReaderDisassembled = 0x80,   ///< eighth bit
};

/** One door's decoded state; a member is empty when its field did not cover that door. */
struct DoorState {
  int door = 0;  ///< 1-based door number
  std::optional<DoorSensor> sensor;
  std::optional<RelayState> relay;
  std::optional<std::uint8_t> alarms;  ///< the door's alarm byte, see DoorAlarm

  bool has_alarm(DoorAlarm alarm) const noexcept {
    return alarms && (*alarms & static_cast<std::uint8_t>(alarm)) != 0;
  }
};

/** The most doors a state row may describe; longer fields are a problem. */
inline constexpr std::size_t kMaxDoors = 64;

/** decode_door_states() output: doors, or why the fields are unusable. */
struct DoorStatesResult {
  std::vector<DoorState> doors;
  std::string error;  ///< empty on success
};

/**
 * Decodes §7.3's fields, each a string of hex byte pairs (absent fields as
 * nullopt; an empty value counts as absent):
 * - sensor "AABB": 2 bits per door, byte 1 = doors 1-4, door 1 in its two
 *   least significant bits;
 * - relay "CC": 1 bit per door, byte 1 = doors 1-8, door 1 least significant;
 * - alarm "DDEE..": 1 byte per door, DD = door 1.
 * With door_count 0 as many doors are returned as the longest field covers
 * (a one-door terminal sending "sensor=00 relay=00 alarm=<16 hex>" yields 8);
 * pass LockCount to cut that down. Odd-length or non-hex fields, or fields
 * covering more than kMaxDoors doors, set `error`.
 */
DoorStatesResult decode_door_states(std::optional<std::string_view> sensor,
                                    std::optional<std::string_view> relay,
                                    std::optional<std::string_view> alarm,
                                    std::size_t door_count = 0);

// ---------------------------------------------------------------------------
// table=rtlog (§7.2, §7.13)
// ---------------------------------------------------------------------------

/**
 * One real-time event: TAB-separated key=value pairs, any order, any subset
 * (firmware differ). Empty values leave the typed member empty.
 */
struct RtlogRecord {
  std::size_t line = 0;
  std::string raw;        ///< the line as sent, without terminator
  std::string time_text;  ///< `time` exactly as sent
  /**
   * `time` as a wall-clock time; empty when it is not YYYY-MM-DD HH:MM:SS.
   * Terminals send such times before NTP has set their clock (e.g.
   * "1971--10--29 -23:-27:-54"): the record is kept, not quarantined.
   */
  std::optional<DeviceTime> time;
  std::string pin;      ///< `pin`; empty for door/device rows ("0" also means none, §10)
  std::string card_no;  ///< `cardno`
  std::optional<std::int64_t> site_code;  ///< `sitecode`
  std::optional<std::int64_t> link_id;    ///< `linkid`: linkage event id
  std::optional<int> event_addr;          ///< `eventaddr`: door id by default
  std::optional<int> event;               ///< `event`: see event_code_name()
  std::optional<int> in_out_status;       ///< `inoutstatus`: 0 in, 1 out (2 seen: none)
  std::string verify_type_text;           ///< `verifytype` as sent
  std::optional<int> verify_mode;         ///< verifytype as an Appendix 3 code
  /** verifytype as a 16-character '0'/'1' NewVFStyles string (§7.2), bit 0 = rightmost. */
  std::optional<std::uint16_t> verify_styles;
  std::optional<std::int64_t> index;  ///< `index`: record id in the terminal (can restart)
  std::optional<int> mask_flag;       ///< `maskflag`: 1 wearing a mask
  std::string temperature;            ///< `temperature`, e.g. "36.2"
  std::string conv_temperature;       ///< `convtemperature`, unit per IRTempUnitTrans
  std::optional<int> bit_count;       ///< `bitCount`: Wiegand bits
  std::optional<int> alarm_type;      ///< `Alarmtype` (§7.13 channel controllers: 200)
  /** Decoded `sensor`/`relay`/`alarm` when a door-state row carries them (their text stays in
   * extra). */
  std::vector<DoorState> doors;
  KeyValues extra;  ///< every other pair, keys as sent

  bool time_unparsed() const noexcept { return !time.has_value(); }
  /** A door/device state row: event 255 ("Door status", Appendix 2) or sensor fields. */
  bool is_door_state_row() const noexcept { return (event && *event == 255) || !doors.empty(); }
};

struct RtlogResult {
  std::vector<RtlogRecord> records;
  std::vector<ParseProblem> problems;
};

/**
 * Parses a table=rtlog body. A line is a problem when a TAB field is not
 * key=value (empty fields from doubled or trailing TABs are skipped), when it
 * has no `time` key, when a numeric key holds a non-integer, when verifytype
 * is neither a number nor a 16-bit style string, or when door-state fields
 * are not hex. A time that does not parse is not a problem.
 */
RtlogResult parse_rtlog(std::string_view body);

/**
 * A key that identifies an access event across re-uploads: serial number,
 * time as sent, index, eventaddr, event, pin, cardno, inoutstatus and
 * verifytype, each length-prefixed ("<len>:<bytes>|...") so no value can
 * imitate a separator. The time is part of it because index restarts after
 * a terminal's log is cleared.
 */
std::string rtlog_dedup_key(std::string_view sn, const RtlogRecord& record);

/** 16 characters of '0'/'1' (NewVFStyles, new-style verifytype) as bits; bit 0 = last one. */
std::optional<std::uint16_t> parse_verify_styles(std::string_view text) noexcept;

// ---------------------------------------------------------------------------
// table=rtstate (§7.3)
// ---------------------------------------------------------------------------

/** `time=..\tsensor=AABB\trelay=CC\talarm=DDEEFFGGHHIIJJKK`. */
struct RtStateRecord {
  std::size_t line = 0;
  std::string raw;
  std::string time_text;
  std::optional<DeviceTime> time;  ///< empty when not YYYY-MM-DD HH:MM:SS (kept, as in rtlog)
  std::string sensor;              ///< as sent, empty when absent
  std::string relay;
  std::string alarm;
  std::vector<DoorState> doors;  ///< see decode_door_states
  KeyValues extra;
};

struct RtStateResult {
  std::vector<RtStateRecord> records;
  std::vector<ParseProblem> problems;
};

/**
 * Parses a table=rtstate body. A line without any of sensor/relay/alarm, with
 * a field that is not key=value or with undecodable hex is a problem.
 * `door_count` as in decode_door_states.
 */
RtStateResult parse_rtstate(std::string_view body, std::size_t door_count = 0);

namespace detail {

/**
 * Internal to adapters/zkpush: one rtlog-style event line, shared by
 * parse_rtlog and parse_remote_auth (§10 requests carry the same record plus
 * `addrtype`, which is taken out of extra only when `remote_auth`).
 */
struct EventOutcome {
  std::optional<RtlogRecord> record;
  std::optional<int> addr_type;
  std::string reason;  ///< why the line is a problem, when record is empty
};

EventOutcome parse_event_line(std::string_view text, bool remote_auth);

}  // namespace detail

}  // namespace pushgate::adapters::zkpush::security
