#pragma once

// BioStar 2 "New Local API" (REST, from BioStar 2.7.10): request builders and
// answer readers, no sockets. The adapter sends each ApiRequest with the
// headers `Content-Type: application/json` and, on every call but login,
// `bs-session-id: <id>`. Pure (see suprema_event.hpp). Sources and [doc]/[obs]
// per item in adapters/suprema/README.md.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "adapters/suprema/suprema_event.hpp"

namespace pushgate::adapters::suprema {

/** One HTTP request to the server (target relative to https://host:port). */
struct ApiRequest {
  std::string method;  ///< "POST", "PUT", "DELETE", "GET"
  std::string target;  ///< "/api/login"
  std::string body;    ///< JSON, "" for none
};

/** The header carrying the session, on the login answer and on every later call [doc]. */
inline constexpr std::string_view kSessionHeader = "bs-session-id";

/** The `Response` object most answers carry: {"Response":{"code":"0","message":"…"}}. */
struct ApiStatus {
  std::optional<std::string> code;  ///< Response.code as text ("0" = success)
  std::string message;              ///< Response.message
  bool present = false;             ///< the body had a Response object
};

/** What an answer says, from its HTTP status and body. */
struct ApiResult {
  bool ok = false;               ///< 2xx and Response.code absent or "0"
  bool session_expired = false;  ///< log in again and retry (see is_session_expired())
  int http_status = 0;
  ApiStatus status;
  std::string error;  ///< one sentence when !ok
};

/**
 * Reads any answer. Not ok when the status is not 2xx, the body is not JSON
 * (unless empty), or Response.code is present and not "0".
 */
ApiResult read_api_result(int http_status, std::string_view body, const JsonBounds& bounds = {});

/**
 * The session is gone: HTTP 401, or Response.code "10" / a message saying
 * "login required" (the server's answer to an expired or unknown
 * session: "LOGIN REQUIRED" [doc: Suprema KB 24000028661]).
 */
bool is_session_expired(int http_status, const ApiStatus& status) noexcept;

/** `POST /api/login` with {"User":{"login_id":…,"password":…}} [doc: KB 24000072553]. */
ApiRequest build_login(std::string_view login_id, std::string_view password);

struct LoginResult {
  bool ok = false;
  std::string session_id;  ///< from the bs-session-id header
  ApiResult result;
  std::string error;  ///< one sentence when !ok (no secret in it)
};

/**
 * Reads the login answer: ok needs a 2xx, no error code and a valid
 * `bs-session-id` header value (`session_header` is that header's value, ""
 * when absent).
 */
LoginResult read_login(int http_status, std::string_view session_header, std::string_view body);

/** Condition operators of a search query [doc: KB 24000072557]. */
enum class SearchOperator : int {
  Equal = 0,
  NotEqual = 1,
  Contains = 2,
  Between = 3,
  Like = 4,
  Greater = 5,
  Less = 6
};

/** One page of `POST /api/events/search`. */
struct EventSearch {
  std::int64_t from_ms =
      0;  ///< datetime range, UTC ms, both ends inclusive as the server reads them
  std::int64_t until_ms = 0;
  std::size_t limit = 100;  ///< rows per page [doc]
  std::size_t offset = 0;   ///< rows to skip, sent only when > 0 [obs: unverified server support]
  std::optional<std::int64_t> device_id;  ///< adds a `device_id.id` EQUAL condition when set
};

/**
 * {"Query":{"limit":N,["offset":M,]"conditions":[{"column":"datetime",
 * "operator":3,"values":[from,until]}…],"orders":[{"column":"datetime",
 * "descending":false}]}} (ascending order from BioStar 2.7.14 [doc: KB 24000072558]).
 */
ApiRequest build_event_search(const EventSearch& search);

/** One unusable row of a search answer. */
struct RowProblem {
  std::size_t row = 0;
  std::string reason;
};

struct EventSearchReply {
  ApiResult result;
  std::vector<SupremaEvent> events;   ///< in the server's order
  std::size_t rows = 0;               ///< rows sent (usable or not)
  std::optional<std::int64_t> total;  ///< EventCollection.total when sent
  std::vector<RowProblem> problems;   ///< rows that are no events, rows over the limit
};

/** Bounds of a search answer. */
struct SearchLimits {
  JsonBounds json{};
  std::size_t max_rows = 10000;
};

/**
 * Reads {"EventCollection":{"rows":[…],"total":"N"},"Response":{…}}. A body
 * without EventCollection, or with `rows` absent or null, is a page of zero
 * rows (what the server sends for an empty range [obs]).
 */
EventSearchReply read_event_search(int http_status, std::string_view body,
                                   const SearchLimits& limits = {});

/**
 * `POST /api/events/start` with {"Query":{}}: after the `/wsapi` session
 * message, asks the server to push events on that socket [obs:
 * terryjohndado/WebSocketTest].
 */
ApiRequest build_events_start();

/** Door commands. */
enum class DoorAction { Open, Lock, Unlock, Release };

std::string_view to_string(DoorAction action) noexcept;

/**
 * `POST /api/doors/{open|lock|unlock|release}` with
 * {"DoorCollection":{"rows":[{"id":"1"},…]}} [obs: several clients; the
 * per-door path /api/doors/{id}/open answers 400 on v2.9.8 [obs]; lock,
 * unlock and release share the open form [obs, unverified]]. Empty `target`
 * when `door_ids` is empty.
 */
ApiRequest build_door_command(DoorAction action, std::span<const std::int64_t> door_ids);

/** `POST /api/doors/status` with {"monitoring_permission":true} [doc: KB 24000093861]. */
ApiRequest build_door_status();

/** Door status bits [doc: KB 24000093861 / 24000074005]. */
struct DoorStatus {
  std::optional<std::int64_t> door_id;
  std::optional<bool> opened;
  std::optional<bool> unlocked;
  std::optional<std::int64_t> alarm;  ///< 1 held open, 2 forced open (| status bits)
  std::optional<std::int64_t>
      status;  ///< 1 locked, 2 unlocked, 4 forced-open alarm, 8 held-open alarm, …
  std::optional<std::int64_t> last_open_time;
};

struct DoorStatusReply {
  ApiResult result;
  std::vector<DoorStatus> doors;
  std::vector<RowProblem> problems;
};

/** Reads {"DoorStatusCollection":{"rows":[…]}} (any top key holding `rows`). */
DoorStatusReply read_door_status(int http_status, std::string_view body,
                                 const SearchLimits& limits = {});

/** The names of the set status bits ("locked", "operator_unlocked", …). */
std::vector<std::string_view> door_status_names(std::int64_t status);

/** A user as pushgate's master data holds it, vendor-neutral. */
struct NeutralUser {
  std::string user_id;  ///< BioStar `user_id` (digits, or text on servers set for it)
  std::string name;
  std::optional<std::int64_t> valid_from_ms;   ///< start_datetime (UTC)
  std::optional<std::int64_t> valid_until_ms;  ///< expiry_datetime (UTC)
  std::int64_t user_group_id = 1;              ///< BioStar user group (1 = all users)
  std::vector<std::int64_t> access_group_ids;
  std::vector<std::int64_t> card_ids;  ///< BioStar card *record* ids (from a card create)
};

/** Why a user cannot be sent; "" when it can. */
std::string validate_user(const NeutralUser& user);

/**
 * `POST /api/users` with {"User":{"user_id","name","user_group_id":{"id"},
 * "start_datetime","expiry_datetime","access_groups":[{"id"}],
 * "cards":[{"id"}]}} [doc: quick-start guides 3-4; obs]. Ids are sent as
 * strings, as the server sends them. Empty target when validate_user() fails.
 */
ApiRequest build_user_create(const NeutralUser& user);

/** `PUT /api/users/{user_id}` with the same body (user_id percent-encoded in the path). */
ApiRequest build_user_update(const NeutralUser& user);

/**
 * `DELETE /api/users?id=<a>+<b>` [obs, query shape unverified]. Empty
 * target when `user_ids` is empty or one id is invalid.
 */
ApiRequest build_user_delete(std::span<const std::string> user_ids);

/** Card types of `card_type.id` [doc: KB 24000082780]: 0 CSN, 1 Wiegand, … */
enum class CardType : int { Csn = 0, Wiegand = 1, Secure = 2, Access = 3 };

/**
 * `POST /api/cards` with {"CardCollection":{"rows":[{"card_id":"…",
 * "card_type":{"id":"0"}}]}} [doc: KB 24000091098 step 3 names the fields; body shape obs].
 * `card_id` is the number shown in BioStar (decimal digits). Empty target
 * when there is no card or a number is not 1..32 decimal digits.
 */
ApiRequest build_card_create(std::span<const std::string> card_numbers,
                             CardType type = CardType::Csn);

struct CardCreateReply {
  ApiResult result;
  std::vector<std::int64_t> card_ids;  ///< the record ids to put in NeutralUser::card_ids
  std::vector<RowProblem> problems;
};

/** Reads {"CardCollection":{"rows":[{"id":"12",…}]}}. */
CardCreateReply read_card_create(int http_status, std::string_view body);

/** Percent-encodes all but RFC 3986 unreserved characters. */
std::string url_encode(std::string_view text);

}  // namespace pushgate::adapters::suprema
