#include "adapters/dahua/dahua_commands.hpp"

#include <algorithm>
#include <utility>

#include "adapters/dahua/dahua_event.hpp"
#include "adapters/dahua/dahua_record_finder.hpp"
#include "gateway/json/bounded_json.hpp"

namespace pushgate::adapters::dahua {

DahuaDeviceProfile make_profile(FirmwareApi api, const std::map<int, int>& door_map,
                                const std::map<std::int64_t, int>& schedules) {
  DahuaDeviceProfile p;
  p.api = api;
  for (const auto& [device_door, door] : door_map) {
    p.doors.channel_of_door[door] = device_door + 1;  // Door is 0-based, the URL channel 1-based
  }
  for (const auto& [zone, schedule] : schedules) {
    p.time_section_of_zone[zone] = schedule;
  }
  return p;
}

namespace {

constexpr std::size_t kMaxReason = 200;
/** Cards of one user read by a sweep (one doFind page; the sim and devices cap a page at 100). */
constexpr std::size_t kMaxCardsSwept = 100;
constexpr JsonLimits kAnswerJsonLimits{kMaxAnswerBytes, 16};
constexpr std::string_view kJsonType = "application/json";  // bodies of the list writes

/** At most kMaxReason printable characters of device text (control bytes become '?'). */
std::string printable(std::string_view text) {
  std::string out;
  for (char ch : text.substr(0, kMaxReason)) {
    const auto c = static_cast<unsigned char>(ch);
    out += c == '\r' || c == '\n' || c == '\t' ? ' ' : (c < 0x20 || c == 0x7F ? '?' : ch);
  }
  if (text.size() > kMaxReason) {
    out += "...";
  }
  return std::string(trim(out));
}

std::string_view bounded(std::string_view body) {
  return body.substr(0, kMaxAnswerBytes);
}

/** The lines of a body, CR stripped, blank lines skipped. */
std::vector<std::string_view> lines_of(std::string_view body) {
  std::vector<std::string_view> out;
  std::size_t pos = 0;
  while (pos < body.size() && out.size() < 4096) {
    const std::size_t lf = body.find('\n', pos);
    std::string_view line =
        body.substr(pos, lf == std::string_view::npos ? std::string_view::npos : lf - pos);
    pos = lf == std::string_view::npos ? body.size() : lf + 1;
    line = trim(line);
    if (!line.empty()) {
      out.push_back(line);
    }
  }
  return out;
}

bool starts_with_ci(std::string_view text, std::string_view prefix) {
  return text.size() >= prefix.size() && iequals(text.substr(0, prefix.size()), prefix);
}

/** "Error\r\nBad Request!" → "Bad Request!"; "" when the body is not an error body. */
std::optional<std::string> device_error_text(std::string_view body) {
  const auto lines = lines_of(body);
  if (lines.empty() || !starts_with_ci(lines.front(), "Error")) {
    return std::nullopt;
  }
  std::string words(trim(lines.front().substr(5)));
  for (std::size_t i = 1; i < lines.size() && i < 3; ++i) {
    words += words.empty() ? "" : " ";
    words += lines[i];
  }
  return printable(words.empty() ? std::string_view("Error") : std::string_view(words));
}

bool is_ok_body(std::string_view body) {
  const auto lines = lines_of(body);
  return lines.size() == 1 && iequals(lines.front(), "OK");
}

std::string first_words(std::string_view body) {
  const auto lines = lines_of(body);
  return lines.empty() ? std::string("an empty body") : "\"" + printable(lines.front()) + "\"";
}

std::string channel_query(int channel) {
  return "&channel=" + std::to_string(channel);
}

bool valid_local_time(std::string_view t) {
  if (t.size() != 19) {
    return false;
  }
  for (std::size_t i = 0; i < t.size(); ++i) {
    const char c = t[i];
    const bool digit = c >= '0' && c <= '9';
    if (i == 4 || i == 7) {
      if (c != '-') {
        return false;
      }
    } else if (i == 10) {
      if (c != ' ') {
        return false;
      }
    } else if (i == 13 || i == 16) {
      if (c != ':') {
        return false;
      }
    } else if (!digit) {
      return false;
    }
  }
  const auto num = [&](std::size_t at, std::size_t n) {
    int v = 0;
    for (std::size_t i = at; i < at + n; ++i) {
      v = v * 10 + (t[i] - '0');
    }
    return v;
  };
  return num(5, 2) >= 1 && num(5, 2) <= 12 && num(8, 2) >= 1 && num(8, 2) <= 31 &&
         num(11, 2) <= 23 && num(14, 2) <= 59 && num(17, 2) <= 59;
}

/** `params[name]` as text (strings as they are, integers in decimal), else "". */
std::string text_param(const nlohmann::json& params, const char* name) {
  if (!params.is_object()) {
    return {};
  }
  const auto it = params.find(name);
  if (it == params.end()) {
    return {};
  }
  if (it->is_string()) {
    return it->get<std::string>();
  }
  if (it->is_number_integer()) {
    return it->dump();
  }
  return {};
}

std::optional<std::int64_t> int_param(const nlohmann::json& params, const char* name) {
  if (!params.is_object()) {
    return std::nullopt;
  }
  const auto it = params.find(name);
  if (it == params.end() || !it->is_number_integer()) {
    return std::nullopt;
  }
  return it->get<std::int64_t>();
}

nlohmann::json user_json(const DahuaUser& u) {
  nlohmann::json j = {{"UserID", u.user_id}};
  if (!u.name.empty()) {
    j["UserName"] = u.name;
  }
  if (u.authority) {
    j["UserType"] = 0;
    j["Authority"] = *u.authority;
  }
  if (!u.password.empty()) {
    j["Password"] = u.password;
  }
  if (u.doors) {
    j["Doors"] = *u.doors;
  }
  if (u.time_sections) {
    j["TimeSections"] = *u.time_sections;
  }
  if (!u.valid_from.empty()) {
    j["ValidFrom"] = u.valid_from;
  }
  if (!u.valid_to.empty()) {
    j["ValidTo"] = u.valid_to;
  }
  return j;
}

nlohmann::json card_json(const DahuaCard& c) {
  return {{"CardNo", c.card_no},
          {"UserID", c.user_id},
          {"CardType", c.card_type},
          {"CardStatus", c.card_status}};
}

template <typename T, typename ToJson, typename IdOf>
std::vector<DahuaRequest> list_requests(std::string_view cgi, std::string_view list_key,
                                        ListAction action, const std::vector<T>& items,
                                        std::size_t max_entries, ToJson to_json, IdOf) {
  std::vector<DahuaRequest> out;
  const std::size_t chunk = std::max<std::size_t>(1, max_entries);
  for (std::size_t at = 0; at < items.size(); at += chunk) {
    nlohmann::json list = nlohmann::json::array();
    for (std::size_t i = at; i < items.size() && i < at + chunk; ++i) {
      list.push_back(to_json(items[i]));
    }
    DahuaRequest r;
    r.method = "POST";
    r.target = "/cgi-bin/" + std::string(cgi) +
               "?action=" + (action == ListAction::Insert ? "insertMulti" : "updateMulti");
    r.content_type = std::string(kJsonType);
    r.body = nlohmann::json{{std::string(list_key), std::move(list)}}.dump(
        -1, ' ', false, nlohmann::json::error_handler_t::replace);
    out.push_back(std::move(r));
  }
  return out;
}

std::vector<DahuaRequest> remove_requests(std::string_view cgi, std::string_view list_key,
                                          const std::vector<std::string>& ids,
                                          std::size_t max_entries) {
  std::vector<DahuaRequest> out;
  const std::size_t chunk = std::max<std::size_t>(1, max_entries);
  for (std::size_t at = 0; at < ids.size(); at += chunk) {
    DahuaRequest r;
    r.target = "/cgi-bin/" + std::string(cgi) + "?action=removeMulti";
    for (std::size_t i = at; i < ids.size() && i < at + chunk; ++i) {
      // The brackets stay literal, as every client writes them.
      r.target +=
          "&" + std::string(list_key) + "[" + std::to_string(i - at) + "]=" + url_encode(ids[i]);
    }
    out.push_back(std::move(r));
  }
  return out;
}

std::string legacy_target(std::string_view action, std::optional<std::int64_t> recno,
                          const std::vector<std::pair<std::string, std::string>>& fields) {
  std::string t =
      "/cgi-bin/recordUpdater.cgi?action=" + std::string(action) + "&name=AccessControlCard";
  if (recno) {
    t += "&recno=" + std::to_string(*recno);
  }
  for (const auto& [k, v] : fields) {
    t += "&" + k + "=" + url_encode(v);
  }
  return t;
}

DahuaStep legacy_lookup(std::string_view field, std::string_view value, DahuaStep::LegacyMode mode,
                        std::vector<std::pair<std::string, std::string>> fields) {
  DahuaStep s;
  s.request.target = "/cgi-bin/recordFinder.cgi?action=find&name=AccessControlCard&condition." +
                     std::string(field) + "=" + url_encode(value);
  s.kind = AnswerKind::Lookup;
  s.legacy_mode = mode;
  s.legacy_fields = std::move(fields);
  return s;
}

DahuaCommandPlan refuse(Outcome outcome, std::string reason) {
  DahuaCommandPlan p;
  p.refused = outcome;
  p.reason = std::move(reason);
  return p;
}

DahuaStep step(DahuaRequest request, AnswerKind kind) {
  DahuaStep s;
  s.request = std::move(request);
  s.kind = kind;
  return s;
}

/** An upsert: insertMulti, and on refusal (the id exists) updateMulti of the same entry. */
DahuaStep upsert_step(DahuaRequest insert, DahuaRequest update, std::string id) {
  DahuaStep s = step(std::move(insert), AnswerKind::ListWrite);
  s.fallback = std::move(update);
  s.entry_ids = {std::move(id)};
  return s;
}

/** Finds the user's cards and removes all but `keep` (the run adds the page and removals). */
DahuaStep card_sweep(const std::string& user_id, std::string keep, std::size_t max_entries) {
  DahuaStep s = step(card_find_request(user_id), AnswerKind::FindStart);
  s.keep_card = std::move(keep);
  s.max_entries = max_entries;
  return s;
}

/** The door of a door verb; absent: door 1. */
std::optional<int> door_channel(const nlohmann::json& params, const DahuaDoors& doors,
                                std::string& why) {
  const auto door = params.is_object() && params.contains("door") ? int_param(params, "door")
                                                                  : std::optional<std::int64_t>(1);
  if (!door || *door < 1 || *door > 255) {
    why = "door must be a number 1..255";
    return std::nullopt;
  }
  const auto ch = doors.channel(static_cast<int>(*door));
  if (!ch) {
    why = "the device has no door " + std::to_string(*door) +
          (doors.door_count > 0 ? " (it has " + std::to_string(doors.door_count) + ")" : "");
  }
  return ch;
}

DahuaCommandPlan plan_user_write(std::string_view verb, const nlohmann::json& params,
                                 const DahuaDeviceProfile& profile) {
  DahuaCommandPlan plan;
  const std::string pin = text_param(params, "pin");
  if (pin.empty()) {
    return refuse(Outcome::Failed, std::string(verb) + " needs a pin");
  }
  if (profile.api == FirmwareApi::Unknown) {
    return refuse(Outcome::RetryLater,
                  "the device's user API is not known yet (firmware probe pending)");
  }
  const bool legacy = profile.api == FirmwareApi::Legacy;
  const std::size_t max = profile.max_entries_per_request;

  if (verb == "upsert_user") {
    const std::string card = text_param(params, "card");
    if (!text_param(params, "group").empty() || !text_param(params, "time_zones").empty()) {
      plan.notes.emplace_back("group and time_zones have no Dahua equivalent: not sent");
    }
    if (legacy) {
      if (card.empty()) {
        return refuse(Outcome::Unsupported,
                      "legacy Dahua firmware (recordUpdater.cgi) stores users only with a card");
      }
      std::vector<std::pair<std::string, std::string>> fields{
          {"CardNo", card},
          {"UserID", pin},
          {"CardName", text_param(params, "name")},
          {"CardStatus", "0"},
          {"CardType", "0"}};
      if (const auto pw = text_param(params, "password"); !pw.empty()) {
        fields.emplace_back("Password", pw);
      }
      if (!text_param(params, "valid_from").empty() || !text_param(params, "valid_until").empty()) {
        plan.notes.emplace_back("legacy firmware: validity period not sent");
      }
      plan.steps.push_back(
          legacy_lookup("CardNo", card, DahuaStep::LegacyMode::Upsert, std::move(fields)));
      return plan;
    }
    DahuaUser u;
    u.user_id = pin;
    u.name = text_param(params, "name");
    u.authority = int_param(params, "privilege").value_or(0) == 14 ? 1 : 2;
    u.password = text_param(params, "password");
    u.valid_from = text_param(params, "valid_from");
    u.valid_to = text_param(params, "valid_until");
    if (u.valid_from.empty()) {
      u.valid_from = "2000-01-01 00:00:00";
    }
    if (u.valid_to.empty()) {
      u.valid_to = "2037-12-31 23:59:59";
    }
    for (const auto* t : {&u.valid_from, &u.valid_to}) {
      if (!valid_local_time(*t)) {
        return refuse(Outcome::Failed, "valid_from / valid_until must be YYYY-MM-DD HH:MM:SS");
      }
    }
    plan.steps.push_back(upsert_step(user_list_requests(ListAction::Insert, {u}, max).front(),
                                     user_list_requests(ListAction::Update, {u}, max).front(),
                                     pin));
    if (!card.empty()) {
      const DahuaCard c{card, pin, 0, 0};
      plan.steps.push_back(upsert_step(card_list_requests(ListAction::Insert, {c}, max).front(),
                                       card_list_requests(ListAction::Update, {c}, max).front(),
                                       card));
    }
    plan.steps.push_back(card_sweep(pin, card, max));
    return plan;
  }

  if (verb == "authorize_user") {
    std::vector<int> doors;
    if (params.contains("doors") && params["doors"].is_array()) {
      for (const auto& d : params["doors"]) {
        if (!d.is_number_integer() || d.get<std::int64_t>() < 1 || d.get<std::int64_t>() > 255) {
          return refuse(Outcome::Failed, "authorize_user doors must be numbers 1..30");
        }
        const auto ch = profile.doors.channel(static_cast<int>(d.get<std::int64_t>()));
        if (!ch) {
          return refuse(Outcome::Failed,
                        "the device has no door " + std::to_string(d.get<std::int64_t>()));
        }
        doors.push_back(*ch - 1);
      }
    }
    if (doors.empty()) {
      return refuse(Outcome::Failed,
                    "authorize_user needs at least one door (deauthorize_user removes them)");
    }
    const std::int64_t zone = int_param(params, "time_zone_id").value_or(1);
    const auto section = profile.time_section_of_zone.find(zone);
    if (section == profile.time_section_of_zone.end()) {
      return refuse(Outcome::Unsupported,
                    "time zone " + std::to_string(zone) +
                        " has no Dahua schedule (TimeSections) mapped for this device");
    }
    if (legacy) {
      std::vector<std::pair<std::string, std::string>> fields;
      for (std::size_t i = 0; i < doors.size(); ++i) {
        fields.emplace_back("Doors[" + std::to_string(i) + "]", std::to_string(doors[i]));
        fields.emplace_back("TimeSections[" + std::to_string(i) + "]",
                            std::to_string(section->second));
      }
      plan.steps.push_back(
          legacy_lookup("UserID", pin, DahuaStep::LegacyMode::UpdateAll, std::move(fields)));
      return plan;
    }
    DahuaUser u;
    u.user_id = pin;
    u.doors = doors;
    u.time_sections = std::vector<int>(doors.size(), section->second);
    DahuaStep s =
        step(user_list_requests(ListAction::Update, {u}, max).front(), AnswerKind::ListWrite);
    s.entry_ids = {pin};
    plan.steps.push_back(std::move(s));
    return plan;
  }

  if (verb == "deauthorize_user") {
    if (legacy) {
      return refuse(Outcome::Unsupported,
                    "legacy Dahua firmware cannot clear a card's doors: use delete_user");
    }
    DahuaUser u;
    u.user_id = pin;
    u.doors = std::vector<int>{};
    u.time_sections = std::vector<int>{};
    DahuaStep s =
        step(user_list_requests(ListAction::Update, {u}, max).front(), AnswerKind::ListWrite);
    s.entry_ids = {pin};
    plan.steps.push_back(std::move(s));
    return plan;
  }

  // delete_user
  if (legacy) {
    plan.steps.push_back(legacy_lookup("UserID", pin, DahuaStep::LegacyMode::RemoveAll, {}));
    return plan;
  }
  plan.steps.push_back(card_sweep(pin, {}, max));
  DahuaStep s = step(remove_users_requests({pin}, max).front(), AnswerKind::ListWrite);
  s.entry_ids = {pin};
  plan.steps.push_back(std::move(s));
  return plan;
}

/** RecNo values of a legacy lookup's rows. */
std::vector<std::int64_t> rec_nos(const RecordFinderReply& reply) {
  std::vector<std::int64_t> out;
  for (const auto& row : reply.records) {
    for (const auto& f : row.fields) {
      if (iequals(f.key, "RecNo")) {
        if (const auto n = parse_int(f.value); n && *n >= 0) {
          out.push_back(*n);
        }
      }
    }
  }
  return out;
}

}  // namespace

std::string_view to_string(FirmwareApi api) noexcept {
  switch (api) {
    case FirmwareApi::Unknown:
      return "unknown";
    case FirmwareApi::Current:
      return "current";
    case FirmwareApi::Legacy:
      return "legacy";
  }
  return "unknown";
}

std::string_view to_string(Outcome outcome) noexcept {
  switch (outcome) {
    case Outcome::Done:
      return "done";
    case Outcome::Failed:
      return "failed";
    case Outcome::RetryLater:
      return "retry_later";
    case Outcome::Unsupported:
      return "unsupported";
  }
  return "failed";
}

std::optional<int> DahuaDoors::channel(int door) const {
  int ch = door;
  if (!channel_of_door.empty()) {
    const auto it = channel_of_door.find(door);
    if (it == channel_of_door.end()) {
      return std::nullopt;
    }
    ch = it->second;
  }
  if (ch < 1 || (door_count > 0 && ch > door_count)) {
    return std::nullopt;
  }
  return ch;
}

DahuaRequest open_door_request(int channel, std::string_view user_id) {
  DahuaRequest r;
  r.target = "/cgi-bin/accessControl.cgi?action=openDoor" + channel_query(channel) + "&Type=Remote";
  if (!user_id.empty()) {
    r.target += "&UserID=" + url_encode(user_id);
  }
  return r;
}

DahuaRequest close_door_request(int channel) {
  DahuaRequest r;
  r.target = "/cgi-bin/accessControl.cgi?action=closeDoor" + channel_query(channel);
  return r;
}

DahuaRequest door_status_request(int channel) {
  DahuaRequest r;
  r.target = "/cgi-bin/accessControl.cgi?action=getDoorStatus" + channel_query(channel);
  return r;
}

std::optional<DahuaRequest> set_time_request(std::string_view local_time) {
  if (!valid_local_time(local_time)) {
    return std::nullopt;
  }
  DahuaRequest r;
  // "%20" for the space, the colons as the documentation writes them.
  std::string t(local_time);
  t.replace(10, 1, "%20");
  r.target = "/cgi-bin/global.cgi?action=setCurrentTime&time=" + t;
  return r;
}

DahuaRequest get_time_request() {
  DahuaRequest r;
  r.target = "/cgi-bin/global.cgi?action=getCurrentTime";
  return r;
}

std::vector<DahuaRequest> user_list_requests(ListAction action, const std::vector<DahuaUser>& users,
                                             std::size_t max_entries) {
  return list_requests("AccessUser.cgi", "UserList", action, users, max_entries, user_json,
                       [](const DahuaUser& u) { return u.user_id; });
}

std::vector<DahuaRequest> card_list_requests(ListAction action, const std::vector<DahuaCard>& cards,
                                             std::size_t max_entries) {
  return list_requests("AccessCard.cgi", "CardList", action, cards, max_entries, card_json,
                       [](const DahuaCard& c) { return c.card_no; });
}

std::vector<DahuaRequest> remove_users_requests(const std::vector<std::string>& user_ids,
                                                std::size_t max_entries) {
  return remove_requests("AccessUser.cgi", "UserIDList", user_ids, max_entries);
}

std::vector<DahuaRequest> remove_cards_requests(const std::vector<std::string>& card_nos,
                                                std::size_t max_entries) {
  return remove_requests("AccessCard.cgi", "CardNoList", card_nos, max_entries);
}

DahuaRequest firmware_probe_request() {
  DahuaRequest r;
  r.target = "/cgi-bin/AccessUser.cgi?action=startFind";
  return r;
}

DahuaRequest card_find_request(std::string_view user_id) {
  DahuaRequest r;
  r.target = "/cgi-bin/AccessCard.cgi?action=startFind&Condition.UserID=" + url_encode(user_id);
  return r;
}

DahuaRequest card_page_request(std::int64_t token, std::size_t count) {
  DahuaRequest r;
  r.target = "/cgi-bin/AccessCard.cgi?action=doFind&Token=" + std::to_string(token) +
             "&Offset=0&Count=" + std::to_string(std::clamp<std::size_t>(count, 1, kMaxCardsSwept));
  return r;
}

DahuaRequest card_stop_find_request(std::int64_t token) {
  DahuaRequest r;
  r.target = "/cgi-bin/AccessCard.cgi?action=stopFind&Token=" + std::to_string(token);
  return r;
}

DahuaRequest stop_find_request(std::int64_t token) {
  DahuaRequest r;
  r.target = "/cgi-bin/AccessUser.cgi?action=stopFind&Token=" + std::to_string(token);
  return r;
}

FirmwareProbe decide_firmware(const DahuaAnswer& answer) {
  FirmwareProbe p;
  const std::string_view body = bounded(answer.body);
  if (answer.status == 404) {
    p.api = FirmwareApi::Legacy;
    p.reason = "AccessUser.cgi answered 404: no AccessUser API";
    return p;
  }
  if (answer.status == 401 || answer.status == 403 || answer.status == 408 ||
      answer.status == 429 || answer.status >= 500 || answer.status < 200) {
    p.reason = "probe answered HTTP " + std::to_string(answer.status) + ": try again later";
    return p;
  }
  if (const auto err = device_error_text(body); err || answer.status == 400) {
    p.api = FirmwareApi::Legacy;
    p.reason = "AccessUser.cgi refused startFind (" + (err ? *err : first_words(body)) +
               "): no AccessUser API";
    return p;
  }
  if (answer.status == 200) {
    const auto parsed = parse_json_bounded(body, kAnswerJsonLimits);
    if (parsed.ok() && parsed.value.is_object()) {
      const auto& j = parsed.value;
      const auto number = [&](const char* key) -> std::optional<std::int64_t> {
        const auto it = j.find(key);
        if (it != j.end() && it->is_number_integer()) {
          return it->get<std::int64_t>();
        }
        return std::nullopt;
      };
      p.token = number("Token");
      p.caps = number("Caps");
      if (p.token || j.contains("Total")) {
        p.api = FirmwareApi::Current;
        p.reason = "AccessUser.cgi startFind answered a find token";
        return p;
      }
    }
  }
  p.reason = "probe answer not understood (HTTP " + std::to_string(answer.status) + ", " +
             first_words(body) + "): try again later";
  return p;
}

AnswerResult read_answer(AnswerKind kind, const DahuaAnswer& answer,
                         const std::vector<std::string>& entry_ids) {
  AnswerResult r;
  const std::string_view body = bounded(answer.body);
  const unsigned s = answer.status;
  // 401/403 reach here only when the Digest layer gave up (auth_failed, or
  // a locked account): the command waits for the device to be usable again,
  // it is not the command's fault. 408, 429, 5xx: the device is busy.
  if (s == 401 || s == 403 || s == 408 || s == 429 || s >= 500 || s < 100) {
    r.outcome = Outcome::RetryLater;
    r.reason = "device answered HTTP " + std::to_string(s);
    if (const auto err = device_error_text(body)) {
      r.reason += " (" + *err + ")";
    }
    return r;
  }
  // No such CGI on this firmware: retrying cannot help.
  if (s == 404) {
    r.outcome = Outcome::Failed;
    r.reason = "device answered HTTP 404: this firmware has no such call";
    return r;
  }
  // "Error\r\nBad Request!" (often with 200): the device understood and
  // refused; its words are the reason, and an upsert's insert may go on as
  // an update.
  if (const auto err = device_error_text(body)) {
    r.outcome = Outcome::Failed;
    r.device_refused = true;
    r.reason = "device refused: " + *err;
    if (s != 200) {
      r.reason += " (HTTP " + std::to_string(s) + ")";
    }
    return r;
  }
  // Any other status (400 without the Error body, 3xx): refused for good.
  if (s != 200) {
    r.outcome = Outcome::Failed;
    r.device_refused = s == 400;
    r.reason = "device answered HTTP " + std::to_string(s) + " with " + first_words(body);
    return r;
  }
  // 200 with a body we cannot read as this request's answer: we cannot tell
  // it was done, so the command fails with the body's first words.
  const auto unexpected = [&]() {
    r.outcome = Outcome::Failed;
    r.reason = "unexpected answer " + first_words(body);
    return r;
  };
  switch (kind) {
    case AnswerKind::Ok:
      if (!is_ok_body(body)) {
        return unexpected();
      }
      r.outcome = Outcome::Done;
      r.value = "OK";
      return r;
    case AnswerKind::DoorStatus:
      for (const auto line : lines_of(body)) {
        const auto eq = line.find('=');
        if (eq != std::string_view::npos && iequals(trim(line.substr(0, eq)), "Info.status")) {
          const std::string_view v = trim(line.substr(eq + 1));
          if (v.empty() || v.size() > 32) {
            return unexpected();
          }
          r.outcome = Outcome::Done;
          r.value = printable(v);
          return r;
        }
      }
      return unexpected();
    case AnswerKind::KeyValues: {
      nlohmann::json j = nlohmann::json::object();
      for (const auto line : lines_of(body)) {
        const auto eq = line.find('=');
        if (eq == std::string_view::npos || eq == 0 || j.size() >= 64) {
          continue;
        }
        j[printable(line.substr(0, std::min<std::size_t>(eq, 64)))] =
            printable(line.substr(eq + 1));
      }
      if (j.empty()) {
        return unexpected();
      }
      r.outcome = Outcome::Done;
      r.value = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
      return r;
    }
    case AnswerKind::RecNo:
      for (const auto line : lines_of(body)) {
        const auto eq = line.find('=');
        if (eq != std::string_view::npos && iequals(trim(line.substr(0, eq)), "RecNo")) {
          if (const auto n = parse_int(line.substr(eq + 1)); n && *n >= 0) {
            r.outcome = Outcome::Done;
            r.value = std::to_string(*n);
            return r;
          }
        }
      }
      return unexpected();
    case AnswerKind::Lookup: {
      const auto reply = parse_record_finder_reply(body);
      if (reply.device_error || !reply.found) {
        return unexpected();
      }
      r.outcome = Outcome::Done;
      return r;
    }
    case AnswerKind::FindStart: {
      const auto parsed = parse_json_bounded(body, kAnswerJsonLimits);
      if (!parsed.ok() || !parsed.value.is_object()) {
        return unexpected();
      }
      const auto token = parsed.value.find("Token");
      if (token == parsed.value.end() || !token->is_number_integer() ||
          token->get<std::int64_t>() < 0) {
        return unexpected();
      }
      r.outcome = Outcome::Done;
      r.value = std::to_string(token->get<std::int64_t>());
      return r;
    }
    case AnswerKind::FindPage: {
      const auto parsed = parse_json_bounded(body, kAnswerJsonLimits);
      if (!parsed.ok() || !parsed.value.is_object()) {
        return unexpected();
      }
      const auto info = parsed.value.find("Info");
      if (info != parsed.value.end() && !info->is_null() && !info->is_array()) {
        return unexpected();
      }
      r.outcome = Outcome::Done;
      if (info == parsed.value.end() || info->is_null()) {
        return r;
      }
      std::size_t n = 0;
      for (const auto& row : *info) {
        if (!row.is_object() || n >= kMaxCardsSwept) {
          continue;
        }
        const auto no = row.find("CardNo");
        if (no == row.end() || !no->is_string()) {
          continue;
        }
        const std::string& card = no->get_ref<const std::string&>();
        if (card.empty() || card.size() > 64 || card.find('\n') != std::string::npos) {
          continue;
        }
        r.value += (r.value.empty() ? "" : "\n") + card;
        ++n;
      }
      return r;
    }
    case AnswerKind::ListWrite: {
      if (is_ok_body(body)) {
        r.outcome = Outcome::Done;
        r.value = "OK";
        return r;
      }
      // Some firmware answers a JSON object: per-entry codes in FailCodes
      // (0 = stored), or an RPC-style {"error":{"code","message"}}.
      const auto parsed = parse_json_bounded(body, kAnswerJsonLimits);
      if (!parsed.ok() || !parsed.value.is_object()) {
        return unexpected();
      }
      const auto& j = parsed.value;
      if (const auto e = j.find("error"); e != j.end() && e->is_object()) {
        r.outcome = Outcome::Failed;
        r.device_refused = true;
        std::string code = e->contains("code") ? (*e)["code"].dump() : std::string("?");
        std::string message = e->contains("message") && (*e)["message"].is_string()
                                  ? (*e)["message"].get<std::string>()
                                  : std::string();
        r.reason = "device refused: error " + printable(code) +
                   (message.empty() ? "" : " " + printable(message));
        return r;
      }
      const auto fc = j.find("FailCodes");
      if (fc == j.end() || !fc->is_array()) {
        return unexpected();
      }
      std::string failures;
      std::size_t failed = 0;
      for (std::size_t i = 0; i < fc->size(); ++i) {
        const auto& code = (*fc)[i];
        if (code.is_number_integer() && code.get<std::int64_t>() == 0) {
          continue;
        }
        ++failed;
        if (failed <= 8) {
          const std::string id = i < entry_ids.size() ? entry_ids[i] : "#" + std::to_string(i);
          failures +=
              (failures.empty() ? "" : ", ") + printable(id) + " (code " +
              printable(code.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)) + ")";
        }
      }
      if (failed == 0) {
        r.outcome = Outcome::Done;
        r.value = "OK";
        return r;
      }
      r.outcome = Outcome::Failed;
      r.device_refused = failed == fc->size();
      r.reason = "device refused " + std::to_string(failed) + " of " + std::to_string(fc->size()) +
                 " entries: " + failures;
      return r;
    }
  }
  return unexpected();
}

DahuaCommandPlan plan_command(std::string_view verb, const nlohmann::json& params,
                              const DahuaDeviceProfile& profile) {
  if (!params.is_object()) {
    return refuse(Outcome::Failed, "params must be a JSON object");
  }
  DahuaCommandPlan plan;
  std::string why;
  if (verb == "open_door" || verb == "close_door" || verb == "door_status" ||
      verb == "normal_open") {
    if (verb == "normal_open") {
      // on defaults to true, as for every terminal (zkpush_commands.cpp).
      const auto on = params.find("on");
      if (on == params.end() || !on->is_boolean() || on->get<bool>()) {
        return refuse(Outcome::Unsupported,
                      "Dahua's HTTP API has no remote normal-open (keep the door unlocked)");
      }
    }
    const auto ch = door_channel(params, profile.doors, why);
    if (!ch) {
      return refuse(Outcome::Failed, why);
    }
    if (verb == "open_door") {
      if (params.contains("seconds")) {
        plan.notes.emplace_back(
            "seconds not sent: the door's own unlock time on the device applies");
      }
      plan.steps.push_back(step(open_door_request(*ch), AnswerKind::Ok));
    } else if (verb == "door_status") {
      plan.steps.push_back(step(door_status_request(*ch), AnswerKind::DoorStatus));
    } else {
      plan.steps.push_back(step(close_door_request(*ch), AnswerKind::Ok));
    }
    return plan;
  }
  if (verb == "set_time") {
    auto r = set_time_request(text_param(params, "time"));
    if (!r) {
      return refuse(Outcome::Failed, "set_time needs time as YYYY-MM-DD HH:MM:SS");
    }
    plan.steps.push_back(step(std::move(*r), AnswerKind::Ok));
    return plan;
  }
  if (verb == "reboot") {
    DahuaRequest r;
    r.target = "/cgi-bin/magicBox.cgi?action=reboot";
    plan.steps.push_back(step(std::move(r), AnswerKind::Ok));
    return plan;
  }
  if (verb == "info") {
    DahuaRequest r;
    r.target = "/cgi-bin/magicBox.cgi?action=getSystemInfo";
    plan.steps.push_back(step(std::move(r), AnswerKind::KeyValues));
    if (params.contains("keys")) {
      plan.notes.emplace_back("keys ignored: getSystemInfo answers every field");
    }
    return plan;
  }
  if (verb == "upsert_user" || verb == "authorize_user" || verb == "deauthorize_user" ||
      verb == "delete_user") {
    return plan_user_write(verb, params, profile);
  }
  return refuse(Outcome::Unsupported, "Dahua terminals cannot do \"" +
                                          printable(verb.substr(0, 64)) + "\" over the HTTP API");
}

DahuaCommandRun::DahuaCommandRun(DahuaCommandPlan plan) : steps_(std::move(plan.steps)) {
  if (plan.refused) {
    finish(*plan.refused, std::move(plan.reason));
  } else if (steps_.empty()) {
    finish(Outcome::Failed, "nothing to send");
  }
}

const DahuaRequest* DahuaCommandRun::next() const noexcept {
  if (finished_ || index_ >= steps_.size()) {
    return nullptr;
  }
  const DahuaStep& s = steps_[index_];
  return on_fallback_ && s.fallback ? &*s.fallback : &s.request;
}

void DahuaCommandRun::finish(Outcome outcome, std::string reason) {
  finished_ = true;
  outcome_.outcome = outcome;
  outcome_.reason = std::move(reason);
  if (outcome == Outcome::Done) {
    std::string result;
    for (const auto& v : values_) {
      if (!v.empty() && v != "OK") {
        result += (result.empty() ? "" : "; ") + v;
      }
    }
    outcome_.result = result.empty() ? "OK" : result;
  }
}

void DahuaCommandRun::advance() {
  on_fallback_ = false;
  ++index_;
  if (index_ >= steps_.size()) {
    finish(Outcome::Done, {});
  }
}

void DahuaCommandRun::transport_failed(std::string_view why) {
  if (!finished_) {
    ++sent_;
    finish(Outcome::RetryLater, "device not reached: " + printable(why));
  }
}

void DahuaCommandRun::accept(const DahuaAnswer& answer) {
  if (finished_ || index_ >= steps_.size()) {
    return;
  }
  ++sent_;
  DahuaStep& s = steps_[index_];
  const AnswerResult r = read_answer(s.kind, answer, s.entry_ids);
  if (r.outcome != Outcome::Done && s.best_effort) {
    advance();  // a find left open expires on the device
    return;
  }
  if (r.outcome != Outcome::Done) {
    if (r.device_refused && s.fallback && !on_fallback_) {
      on_fallback_ = true;  // insertMulti of an existing id: updateMulti it
      first_refusal_ = r.reason;
      return;
    }
    // Both refused: the insert's reason may be the one that matters (a bad field).
    finish(r.outcome,
           on_fallback_ ? "insert: " + first_refusal_ + "; update: " + r.reason : r.reason);
    return;
  }
  if (s.kind == AnswerKind::FindStart || s.kind == AnswerKind::FindPage) {
    std::vector<DahuaStep> more;
    if (s.kind == AnswerKind::FindStart) {
      const auto token = parse_int(r.value).value_or(0);
      DahuaStep page = step(card_page_request(token, kMaxCardsSwept), AnswerKind::FindPage);
      page.keep_card = s.keep_card;
      page.max_entries = s.max_entries;
      DahuaStep stop = step(card_stop_find_request(token), AnswerKind::Ok);
      stop.best_effort = true;
      more.push_back(std::move(page));
      more.push_back(std::move(stop));
    } else {
      std::vector<std::string> stale;
      std::size_t pos = 0;
      while (pos < r.value.size()) {
        const auto lf = r.value.find('\n', pos);
        std::string card =
            r.value.substr(pos, lf == std::string::npos ? std::string::npos : lf - pos);
        pos = lf == std::string::npos ? r.value.size() : lf + 1;
        if (card != s.keep_card) {
          stale.push_back(std::move(card));
        }
      }
      for (std::size_t at = 0; at < stale.size(); at += std::max<std::size_t>(1, s.max_entries)) {
        const std::vector<std::string> chunk(
            stale.begin() + static_cast<std::ptrdiff_t>(at),
            stale.begin() + static_cast<std::ptrdiff_t>(std::min(
                                stale.size(), at + std::max<std::size_t>(1, s.max_entries))));
        DahuaStep remove =
            step(remove_cards_requests(chunk, chunk.size()).front(), AnswerKind::ListWrite);
        remove.entry_ids = chunk;
        more.push_back(std::move(remove));
      }
    }
    const auto at = steps_.begin() + static_cast<std::ptrdiff_t>(index_) + 1;
    steps_.insert(at, std::make_move_iterator(more.begin()), std::make_move_iterator(more.end()));
    advance();
    return;
  }
  if (s.kind != AnswerKind::Lookup) {
    values_.push_back(r.value);
    advance();
    return;
  }
  // Legacy lookup: turn the RecNos found into the writes.
  const auto found = rec_nos(parse_record_finder_reply(bounded(answer.body)));
  std::vector<DahuaStep> writes;
  using Mode = DahuaStep::LegacyMode;
  if (s.legacy_mode == Mode::Upsert) {
    if (found.empty()) {
      writes.push_back(step({"GET", legacy_target("insert", std::nullopt, s.legacy_fields), {}, {}},
                            AnswerKind::RecNo));
    } else {
      writes.push_back(
          step({"GET", legacy_target("update", found.front(), s.legacy_fields), {}, {}},
               AnswerKind::Ok));
    }
  } else if (found.empty()) {
    if (s.legacy_mode == Mode::UpdateAll) {
      finish(Outcome::Failed, "the device holds no card of this user");
      return;
    }
  } else {
    const bool remove = s.legacy_mode == Mode::RemoveAll;
    for (std::size_t i = 0; i < found.size() && i < 64; ++i) {
      writes.push_back(step({"GET",
                             legacy_target(remove ? "remove" : "update", found[i],
                                           remove ? decltype(s.legacy_fields){} : s.legacy_fields),
                             {},
                             {}},
                            AnswerKind::Ok));
    }
  }
  const auto at = steps_.begin() + static_cast<std::ptrdiff_t>(index_) + 1;
  steps_.insert(at, std::make_move_iterator(writes.begin()), std::make_move_iterator(writes.end()));
  advance();
}

}  // namespace pushgate::adapters::dahua
