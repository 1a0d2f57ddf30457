// Fuzz target: Security PUSH table=rtstate bodies (door sensor, relay and
// alarm hex bit fields) and the door-state decoder on its own.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "adapters/zkpush/zkpush_security_rtlog.hpp"
#include "tests/fuzz/zkpush_fuzz_support.hpp"

namespace zk = pushgate::adapters::zkpush;
namespace sec = pushgate::adapters::zkpush::security;
using pushgate::fuzz::require;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view body = pushgate::fuzz::as_text(data, size);
  for (std::size_t door_count : {std::size_t{0}, std::size_t{1}, std::size_t{4}}) {
    const sec::RtStateResult result = sec::parse_rtstate(body, door_count);
    require(result.records.size() + result.problems.size() ==
            pushgate::fuzz::non_blank_lines(body));
    for (const sec::RtStateRecord& record : result.records) {
      require(pushgate::fuzz::contains(body, record.raw));
      require(!record.sensor.empty() || !record.relay.empty() || !record.alarm.empty());
      require(record.doors.size() <= sec::kMaxDoors);
      require(door_count == 0 || record.doors.size() <= door_count);
      for (std::size_t i = 0; i < record.doors.size(); ++i) {
        require(record.doors[i].door == static_cast<int>(i + 1));
        (void)sec::to_string(record.doors[i].sensor.value_or(sec::DoorSensor::Unknown));
        (void)record.doors[i].has_alarm(sec::DoorAlarm::Tamper);
      }
    }
    for (const zk::ParseProblem& problem : result.problems) {
      require(problem.line >= 1 && !problem.reason.empty());
    }
  }
  // The decoder on the raw input split in three.
  const std::string_view a = body.substr(0, size / 3);
  const std::string_view b = body.substr(size / 3, size / 3);
  const std::string_view c = body.substr(2 * (size / 3));
  const sec::DoorStatesResult states = sec::decode_door_states(a, b, c);
  require(states.error.empty() || states.doors.empty());
  require(states.doors.size() <= sec::kMaxDoors);
  return 0;
}
