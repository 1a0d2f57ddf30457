// Fuzz target: the device's answers to commands (dahua_commands.hpp). The
// first byte picks the HTTP status, the rest is the body; every answer kind,
// the firmware probe and a whole legacy run read it.
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "adapters/dahua/dahua_commands.hpp"
#include "tests/fuzz/zkpush_fuzz_support.hpp"

namespace dh = pushgate::adapters::dahua;
using pushgate::fuzz::require;

namespace {

constexpr std::array<unsigned, 8> kStatuses{200, 200, 200, 400, 401, 404, 500, 503};

void check(const dh::AnswerResult& r) {
  require(r.outcome != dh::Outcome::Unsupported);
  require((r.outcome == dh::Outcome::Done) == r.reason.empty());
  require(r.reason.size() < 1200);
  require(r.value.size() < 64 * 1024);
  for (char c : r.reason) {
    require(static_cast<unsigned char>(c) >= 0x20 && c != 0x7F);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) {
    return 0;
  }
  const dh::DahuaAnswer answer{kStatuses[data[0] % kStatuses.size()],
                               std::string(pushgate::fuzz::as_text(data + 1, size - 1))};
  for (const auto kind : {dh::AnswerKind::Ok, dh::AnswerKind::DoorStatus, dh::AnswerKind::KeyValues,
                          dh::AnswerKind::ListWrite, dh::AnswerKind::RecNo, dh::AnswerKind::Lookup,
                          dh::AnswerKind::FindStart, dh::AnswerKind::FindPage}) {
    check(dh::read_answer(kind, answer, {"1", "2"}));
  }
  const dh::FirmwareProbe probe = dh::decide_firmware(answer);
  require(!probe.reason.empty());
  require(probe.api != dh::FirmwareApi::Current || answer.status == 200);

  // A run fed the same answer at every step ends within a bounded
  // number of requests, with a result (legacy lookups and card sweeps
  // expand into further requests).
  dh::DahuaDeviceProfile profile;
  profile.api = dh::FirmwareApi::Legacy;
  for (const auto api : {dh::FirmwareApi::Legacy, dh::FirmwareApi::Current}) {
    profile.api = api;
    for (const char* verb : {"upsert_user", "delete_user"}) {
      dh::DahuaCommandRun run(
          dh::plan_command(verb, nlohmann::json{{"pin", "101"}, {"card", "12EA3004"}}, profile));
      std::size_t steps = 0;
      while (run.next() != nullptr) {
        require(++steps <= 70);
        run.accept(answer);
      }
      require(run.finished());
      require(run.outcome().outcome == dh::Outcome::Done || !run.outcome().reason.empty());
    }
  }
  return 0;
}
