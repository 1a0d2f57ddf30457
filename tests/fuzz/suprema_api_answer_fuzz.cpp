// Fuzz target: the other BioStar 2 answers — login (body and bs-session-id
// header), any Response, door status, card create. The first byte picks the
// HTTP status; the header value is the first line of the rest. Invariants: a
// login is ok only with a valid session id; not-ok answers say why; the
// session id never holds a separator or control byte.
#include <cstddef>
#include <cstdint>
#include <string>

#include "adapters/suprema/suprema_rest.hpp"
#include "tests/fuzz/zkpush_fuzz_support.hpp"

namespace sp = pushgate::adapters::suprema;
using pushgate::fuzz::require;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) {
    return 0;
  }
  static constexpr int kStatus[] = {200, 201, 400, 401};
  const int status = kStatus[data[0] & 3];
  std::string_view rest = pushgate::fuzz::as_text(data + 1, size - 1);
  const std::size_t nl = rest.find('\n');
  const std::string_view header =
      nl == std::string_view::npos ? std::string_view() : rest.substr(0, nl);
  const std::string_view body = nl == std::string_view::npos ? rest : rest.substr(nl + 1);

  const sp::LoginResult login = sp::read_login(status, header, body);
  require(login.ok == !login.session_id.empty());
  require(login.ok || !login.error.empty());
  if (login.ok) {
    require(sp::is_valid_session_id(login.session_id));
    require(!sp::build_ws_session_message(login.session_id).empty());
  }

  const sp::ApiResult any = sp::read_api_result(status, body, {4096, 8});
  require(any.ok || !any.error.empty());
  require(!(any.ok && any.session_expired));

  sp::SearchLimits limits;
  limits.max_rows = 8;
  const sp::DoorStatusReply doors = sp::read_door_status(status, body, limits);
  require(doors.doors.size() <= limits.max_rows);
  for (const sp::DoorStatus& door : doors.doors) {
    require(door.door_id.has_value());
    if (door.status) {
      require(!sp::door_status_names(*door.status).empty() || *door.status > 0);
    }
  }
  const sp::CardCreateReply cards = sp::read_card_create(status, body);
  require(cards.result.ok || cards.card_ids.empty());
  return 0;
}
