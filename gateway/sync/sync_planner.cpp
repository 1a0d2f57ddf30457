#include "gateway/sync/sync_planner.hpp"

#include <algorithm>
#include <cstdio>

#include <nlohmann/json.hpp>

#include "gateway/event_json.hpp"

namespace pushgate::sync {

namespace {

std::string trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
    s.remove_suffix(1);
  }
  return std::string(s);
}

std::string local_text(const std::optional<date::local_seconds>& t) {
  if (!t) {
    return {};
  }
  return date::format("%Y-%m-%d %H:%M:%S", *t);
}

CommandRequest request(const std::string& sn, std::string verb, nlohmann::json params) {
  CommandRequest r;
  r.terminal_sn = sn;
  r.origin = "sync";
  r.verb = std::move(verb);
  r.params = std::move(params);
  return r;
}

Planned planned(const std::string& sn, std::string item, std::vector<CommandRequest> requests) {
  Planned p;
  p.terminal_sn = sn;
  p.item = std::move(item);
  p.digest = digest_of(requests);
  p.requests = std::move(requests);
  return p;
}

Planned deletion(const std::string& sn, std::string item, std::vector<CommandRequest> requests) {
  Planned p;
  p.terminal_sn = sn;
  p.item = std::move(item);
  p.requests = std::move(requests);
  return p;  // digest "": a delete
}

std::string day_text(date::year_month_day d) {
  return date::format("%Y%m%d", d);
}

std::string user_item(const std::string& pin) {
  return "user/" + pin;
}

commands::User user_row(const ra::User& u) {
  commands::User c;
  c.pin = u.pin;
  c.name = u.name;
  c.privilege = u.privilege;
  c.password = u.password;
  for (const auto& card : u.cards) {
    if (!card.lost) {
      c.card = card.number;
      break;
    }
  }
  c.group = u.group;
  c.valid_from = local_text(u.valid_from);
  c.valid_until = local_text(u.valid_until);
  return c;
}

/** The row as `t` takes it: without the card or password it cannot store. */
commands::User row_for(const Target& t, commands::User row) {
  if (!t.takes(SyncWrite::Cards)) {
    row.card.clear();
  }
  if (!t.takes(SyncWrite::Passwords)) {
    row.password.clear();
  }
  return row;
}

/** time zone id -> doors of `sn` the user may open. */
std::map<int, std::set<int>> rights_on(const ra::MasterData& data, const ra::User& u,
                                       const std::string& sn) {
  std::map<int, std::set<int>> out;
  if (u.disabled || u.blacklisted) {
    return out;
  }
  for (int level_id : u.levels) {
    auto it = data.levels.find(level_id);
    if (it == data.levels.end()) {
      continue;
    }
    for (const auto& door : it->second.doors) {
      if (door.sn == sn) {
        out[it->second.timezone].insert(door.door);
      }
    }
  }
  return out;
}

}  // namespace

bool Target::supports_data(int type) const {
  return type >= 0 && static_cast<std::size_t>(type) < bio_data.size() &&
         bio_data[static_cast<std::size_t>(type)];
}

bool Target::supports_photo(int type) const {
  return type >= 0 && static_cast<std::size_t>(type) < bio_photo.size() &&
         bio_photo[static_cast<std::size_t>(type)];
}

std::vector<bool> parse_support_list(std::string_view list) {
  std::vector<bool> out;
  if (trim(list).empty()) {
    return out;
  }
  std::size_t start = 0;
  while (true) {
    const std::size_t colon = list.find(':', start);
    out.push_back(trim(list.substr(start, colon == std::string_view::npos ? std::string_view::npos
                                                                          : colon - start)) == "1");
    if (colon == std::string_view::npos) {
      break;
    }
    start = colon + 1;
  }
  return out;
}

std::vector<Target> targets_of(const std::vector<TerminalRecord>& terminals) {
  std::vector<Target> out;
  for (const auto& t : terminals) {
    if (t.state != "accepted" || !t.capabilities.user_sync) {
      continue;
    }
    Target target;
    target.sn = t.sn;
    target.writes = t.capabilities.sync_writes;
    target.shared_users = t.capabilities.shared_users;
    const auto info = nlohmann::json::parse(t.info_json, nullptr, false);
    if (info.is_object()) {
      target.bio_data = parse_support_list(info.value("multi_bio_data_support", std::string()));
      target.bio_photo = parse_support_list(info.value("multi_bio_photo_support", std::string()));
    }
    out.push_back(std::move(target));
  }
  std::sort(out.begin(), out.end(), [](const Target& a, const Target& b) { return a.sn < b.sn; });
  return out;
}

std::vector<std::string> items_of(const std::string& verb, const nlohmann::json& params) {
  std::vector<std::string> out;
  if (!params.is_object()) {
    return out;
  }
  if (verb == "batch") {
    const auto it = params.find("commands");
    if (it != params.end() && it->is_array()) {
      for (const auto& c : *it) {
        if (c.is_object() && c.contains("params")) {
          for (auto& item : items_of(c.value("verb", std::string()), c["params"])) {
            out.push_back(std::move(item));
          }
        }
      }
    }
    return out;
  }
  const auto text = [&params](const char* key) {
    const auto it = params.find(key);
    if (it == params.end()) {
      return std::string();
    }
    return it->is_string() ? it->get<std::string>() : it->dump();
  };
  if (verb == "upsert_user" || verb == "delete_user") {
    out.push_back(user_item(text("pin")));
  } else if (verb == "authorize_user" || verb == "deauthorize_user") {
    out.push_back("authorize/" + text("pin"));
  } else if (verb == "upsert_template") {
    out.push_back("template/" + text("pin") + "/" + text("bio_type") + "/" + text("no") + "/" +
                  text("index"));
  } else if (verb == "upsert_biophoto") {
    out.push_back("photo/" + text("pin") + "/biophoto/" + text("bio_type"));
  } else if (verb == "upsert_photo") {
    out.push_back("photo/" + text("pin") + "/userpic/0");
  } else if (verb == "upsert_timezone" || verb == "delete_timezone") {
    out.push_back("timezone/" + text("id"));
  } else if (verb == "upsert_holiday" || verb == "delete_holiday") {
    out.push_back("holiday/" + text("day"));
  }
  return out;
}

std::string validity_from_upload(std::string_view value, bool end) {
  const std::string v = trim(value);
  if (v.size() != 8 ||
      !std::all_of(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return {};
  }
  const date::year_month_day day{date::year{std::stoi(v.substr(0, 4))},
                                 date::month{static_cast<unsigned>(std::stoi(v.substr(4, 2)))},
                                 date::day{static_cast<unsigned>(std::stoi(v.substr(6, 2)))}};
  if (!day.ok()) {
    return {};
  }
  return date::format("%Y-%m-%d", day) + (end ? " 23:59:59" : " 00:00:00");
}

std::vector<Planned> plan_enrolment(const Enrolment& e, const std::vector<Target>& targets,
                                    const Kinds& kinds, std::vector<Planned>* source_items) {
  std::vector<Planned> out;
  const auto for_each_target = [&](auto&& add) {
    for (const auto& t : targets) {
      if (t.sn != e.source_sn) {
        add(t, out);
      }
    }
    if (source_items != nullptr) {
      Target source;  // takes everything it uploaded
      source.sn = e.source_sn;
      source.bio_data.assign(32, true);
      source.bio_photo.assign(32, true);
      add(source, *source_items);
    }
  };
  if (kinds.users && e.user) {
    for_each_target([&](const Target& t, std::vector<Planned>& into) {
      // The row carries the templates and photos; a target that stores none
      // gets its users from the master data only (plan_user).
      if (t.takes(SyncWrite::Users) && t.takes(SyncWrite::Templates)) {
        into.push_back(
            planned(t.sn, user_item(e.pin), {commands::upsert_user(t.sn, row_for(t, *e.user))}));
      }
    });
  }
  if (kinds.templates) {
    for (const auto& tmpl : e.templates) {
      const std::string item = "template/" + e.pin + "/" + std::to_string(tmpl.bio_type) + "/" +
                               std::to_string(tmpl.no) + "/" + std::to_string(tmpl.index);
      for_each_target([&](const Target& t, std::vector<Planned>& into) {
        if (t.takes(SyncWrite::Templates) && t.supports_data(tmpl.bio_type)) {
          into.push_back(planned(t.sn, item, {commands::upsert_template(t.sn, tmpl)}));
        }
      });
    }
  }
  if (kinds.photos) {
    for (const auto& photo : e.photos) {
      const bool userpic = photo.kind == "userpic";
      const std::string item =
          "photo/" + e.pin + "/" + photo.kind + "/" + std::to_string(userpic ? 0 : photo.bio_type);
      for_each_target([&](const Target& t, std::vector<Planned>& into) {
        if (!t.takes(SyncWrite::Photos)) {
          return;
        }
        if (userpic) {
          into.push_back(planned(t.sn, item, {commands::upsert_photo(t.sn, e.pin, photo.data)}));
        } else if (t.supports_photo(photo.bio_type)) {
          into.push_back(planned(
              t.sn, item,
              {request(t.sn, "upsert_biophoto",
                       {{"pin", e.pin}, {"bio_type", photo.bio_type}, {"data", photo.data}})}));
        }
      });
    }
  }
  for (auto& p : out) {
    for (auto& r : p.requests) {
      r.origin = "sync";
    }
  }
  return out;
}

std::vector<Planned> plan_user(const ra::MasterData& data, const std::string& pin,
                               const std::vector<Target>& targets, const Kinds& kinds,
                               const std::string& skip_user_row_sn) {
  std::vector<Planned> out;
  if (!kinds.users) {
    return out;
  }
  const ra::User* u = data.find_user(pin);
  for (const auto& t : targets) {
    const bool rows = t.takes(SyncWrite::Users);
    const bool keeps_rights = t.takes(SyncWrite::DoorRights);
    if (u == nullptr) {
      if (keeps_rights) {
        out.push_back(deletion(t.sn, "authorize/" + pin, {}));
      }
      if (rows) {
        out.push_back(
            deletion(t.sn, user_item(pin), {request(t.sn, "delete_user", {{"pin", pin}})}));
      }
      continue;
    }
    const auto rights = rights_on(data, *u, t.sn);
    // Where the user's row belongs: with the doors it opens; on a shared
    // store without rights (BioStar), wherever the user is enabled.
    const bool active = !u->disabled && !u->blacklisted;
    const bool row_wanted = !keeps_rights && t.shared_users ? active : !rights.empty();
    if (rows && row_wanted && t.sn != skip_user_row_sn) {
      CommandRequest row = commands::upsert_user(t.sn, row_for(t, user_row(*u)));
      row.origin = "sync";
      out.push_back(planned(t.sn, user_item(pin), {std::move(row)}));
    }
    if (!keeps_rights) {
      // It keeps no door rights the gateway may write (see the adapter's
      // README): the row is the right. Not wanted there any more: the row
      // goes, where it was sent.
      if (rows && !row_wanted && t.sn != skip_user_row_sn) {
        out.push_back(
            deletion(t.sn, user_item(pin), {request(t.sn, "delete_user", {{"pin", pin}})}));
      }
      continue;
    }
    // The rights as a whole: clear, then one userauthorize per time zone.
    std::vector<CommandRequest> auth;
    auth.push_back(request(t.sn, "deauthorize_user", {{"pin", pin}}));
    for (const auto& [tz, doors] : rights) {
      auth.push_back(request(t.sn, "authorize_user",
                             {{"pin", pin},
                              {"doors", std::vector<int>(doors.begin(), doors.end())},
                              {"time_zone_id", tz}}));
    }
    if (rights.empty()) {
      // No door here (any more): a delete of rights it may have been given.
      out.push_back(deletion(t.sn, "authorize/" + pin, std::move(auth)));
    } else {
      out.push_back(planned(t.sn, "authorize/" + pin, std::move(auth)));
    }
  }
  return out;
}

CommandRequest timezone_request(const std::string& sn, const ra::TimeZone& tz) {
  nlohmann::json periods = nlohmann::json::array();
  for (const auto& day : tz.days) {
    for (const auto& p : day) {
      periods.push_back(ra::encode_period(p));
    }
  }
  for (const auto& hol : tz.holidays) {
    for (const auto& p : hol) {
      periods.push_back(ra::encode_period(p));
    }
  }
  return request(sn, "upsert_timezone", {{"id", tz.id}, {"periods", std::move(periods)}});
}

std::vector<Planned> plan_timezone(const ra::MasterData& data, int id,
                                   const std::vector<Target>& targets, const Kinds& kinds) {
  std::vector<Planned> out;
  if (!kinds.timezones) {
    return out;
  }
  const auto it = data.timezones.find(id);
  const std::string item = "timezone/" + std::to_string(id);
  for (const auto& t : targets) {
    if (!t.takes(SyncWrite::TimeZones)) {
      continue;
    }
    if (it == data.timezones.end()) {
      out.push_back(deletion(t.sn, item, {request(t.sn, "delete_timezone", {{"id", id}})}));
    } else {
      out.push_back(planned(t.sn, item, {timezone_request(t.sn, it->second)}));
    }
    for (auto& r : out.back().requests) {
      r.origin = "sync";
    }
  }
  return out;
}

std::vector<Planned> plan_holiday(const ra::MasterData& data, date::year_month_day day,
                                  const std::vector<Target>& targets, const Kinds& kinds) {
  std::vector<Planned> out;
  if (!kinds.timezones) {
    return out;
  }
  const auto it = data.holidays.find(day);
  const std::string item = "holiday/" + day_text(day);
  for (const auto& t : targets) {
    if (!t.takes(SyncWrite::TimeZones)) {
      continue;
    }
    if (it == data.holidays.end()) {
      out.push_back(
          deletion(t.sn, item, {request(t.sn, "delete_holiday", {{"day", day_text(day)}})}));
    } else {
      out.push_back(planned(t.sn, item,
                            {request(t.sn, "upsert_holiday",
                                     {{"day", day_text(day)},
                                      {"type", it->second.type},
                                      {"yearly", it->second.yearly}})}));
    }
    for (auto& r : out.back().requests) {
      r.origin = "sync";
    }
  }
  return out;
}

std::vector<Planned> plan_terminal(const ra::MasterData& data, const Target& target,
                                   const Kinds& kinds) {
  std::vector<Planned> out;
  const std::vector<Target> one{target};
  for (const auto& [id, tz] : data.timezones) {
    auto p = plan_timezone(data, id, one, kinds);
    out.insert(out.end(), p.begin(), p.end());
  }
  for (const auto& [day, h] : data.holidays) {
    auto p = plan_holiday(data, day, one, kinds);
    out.insert(out.end(), p.begin(), p.end());
  }
  for (const auto& [pin, u] : data.users) {
    auto p = plan_user(data, pin, one, kinds);
    out.insert(out.end(), p.begin(), p.end());
  }
  return out;
}

std::string digest_of(const std::vector<CommandRequest>& requests) {
  std::uint64_t h = 14695981039346656037ULL;
  const auto mix = [&h](std::string_view s) {
    for (unsigned char c : s) {
      h ^= c;
      h *= 1099511628211ULL;
    }
    h ^= 0xFF;  // separator
    h *= 1099511628211ULL;
  };
  for (const auto& r : requests) {
    mix(r.verb);
    mix(dump_json(r.params));
  }
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

std::vector<Planned> SentLedger::filter(std::vector<Planned> plan) const {
  std::vector<Planned> out;
  for (auto& p : plan) {
    const auto have = get(p.terminal_sn, p.item);
    if (p.digest.empty()) {
      // A delete goes only where something was put (and not deleted since);
      // one without commands only marks the item gone (see plan_user).
      if (!have || have->empty()) {
        continue;
      }
    } else if (have && *have == p.digest) {
      continue;  // the terminal has exactly this
    }
    out.push_back(std::move(p));
  }
  return out;
}

void SentLedger::record(const std::string& sn, const std::string& item, const std::string& digest) {
  sent_[{sn, item}] = digest;
}

void SentLedger::forget(const std::string& sn, const std::string& item) {
  sent_.erase({sn, item});
}

std::optional<std::string> SentLedger::get(const std::string& sn, const std::string& item) const {
  auto it = sent_.find({sn, item});
  if (it == sent_.end()) {
    return std::nullopt;
  }
  return it->second;
}

std::vector<std::string> SentLedger::items_with_prefix(const std::string& sn,
                                                       const std::string& prefix) const {
  std::vector<std::string> out;
  for (auto it = sent_.lower_bound({sn, prefix});
       it != sent_.end() && it->first.first == sn && it->first.second.rfind(prefix, 0) == 0; ++it) {
    if (!it->second.empty()) {
      out.push_back(it->first.second);
    }
  }
  return out;
}

}  // namespace pushgate::sync
