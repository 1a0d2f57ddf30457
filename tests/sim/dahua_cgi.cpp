// The CGI handlers of the simulated Dahua device: magicBox, global,
// eventManager (attach answer), recordFinder, accessControl, AccessUser,
// AccessCard, recordUpdater. Sources in tests/sim/README.md ("Dahua device").

#include "tests/sim/dahua_cgi.hpp"

#include <boost/beast/http.hpp>

namespace pushgate::sim::dahua {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
using Params = std::map<std::string, std::string>;

int hex_value(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  if (c >= 'A' && c <= 'F') {
    return c - 'A' + 10;
  }
  return -1;
}

std::string url_decode(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && hex_value(s[i + 1]) >= 0 && hex_value(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hex_value(s[i + 1]) * 16 + hex_value(s[i + 2])));
      i += 2;
    } else if (s[i] == '+') {
      out.push_back(' ');
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

void split_target(std::string_view target, std::string& path, Params& params) {
  const auto q = target.find('?');
  path = std::string(target.substr(0, q));
  if (q == std::string_view::npos) {
    return;
  }
  std::string_view rest = target.substr(q + 1);
  while (!rest.empty()) {
    const auto amp = rest.find('&');
    const std::string_view pair = rest.substr(0, amp);
    const auto eq = pair.find('=');
    if (!pair.empty()) {
      params[url_decode(pair.substr(0, eq))] =
          eq == std::string_view::npos ? std::string{} : url_decode(pair.substr(eq + 1));
    }
    rest = amp == std::string_view::npos ? std::string_view{} : rest.substr(amp + 1);
  }
}

std::optional<std::int64_t> to_int(const std::string& s) {
  if (s.empty() || s.size() > 18) {
    return std::nullopt;
  }
  std::int64_t v = 0;
  std::size_t i = 0;
  bool neg = false;
  if (s[0] == '-') {
    neg = true;
    i = 1;
  }
  if (i >= s.size()) {
    return std::nullopt;
  }
  for (; i < s.size(); ++i) {
    if (s[i] < '0' || s[i] > '9') {
      return std::nullopt;
    }
    v = v * 10 + (s[i] - '0');
  }
  return neg ? -v : v;
}

/// A time parameter: epoch seconds or "YYYY-MM-DD HH:MM:SS".
std::optional<std::int64_t> to_time(const std::string& s) {
  if (const auto n = to_int(s)) {
    return n;
  }
  return parse_time(s);
}

Reply error_reply(unsigned status = 400) {
  Reply r;
  r.status = status;
  r.body = status == 404 ? "Error\r\nNot Found!\r\n" : "Error\r\nBad Request!\r\n";
  return r;
}

Reply json_reply(const nlohmann::json& j) {
  Reply r;
  r.body = j.dump();
  r.content_type = "application/json;charset=utf-8";
  return r;
}

std::string param(const Params& p, const std::string& name) {
  const auto it = p.find(name);
  return it == p.end() ? std::string{} : it->second;
}

/// Values of name[0], name[1], ... in index order.
std::vector<std::string> indexed(const Params& p, const std::string& name) {
  std::vector<std::string> out;
  for (std::size_t i = 0; i < 10000; ++i) {
    const auto it = p.find(name + "[" + std::to_string(i) + "]");
    if (it == p.end()) {
      break;
    }
    out.push_back(it->second);
  }
  return out;
}

struct Handlers {
  DahuaDevice::Impl& d;

  Reply magic_box(const std::string& action) {
    const auto& c = d.config;
    if (action == "getSystemInfo") {
      Reply r;
      r.body = "deviceType=" + c.device_type + "\r\nhardwareVersion=1.00\r\nprocessor=SSC335\r\n" +
               "serialNumber=" + c.serial + "\r\nupdateSerial=" + c.device_type + "\r\n";
      return r;
    }
    if (action == "getSerialNo") {
      Reply r;
      r.body = "sn=" + c.serial + "\r\n";
      return r;
    }
    if (action == "getDeviceType") {
      Reply r;
      r.body = "type=" + c.device_type + "\r\n";
      return r;
    }
    if (action == "reboot") {
      Reply r;
      r.reboot_after = true;
      return r;
    }
    return error_reply();
  }

  Reply global(const std::string& action, const Params& p) {
    if (action == "getCurrentTime") {
      Reply r;
      r.body = "result=" + format_time(d.now_locked()) + "\r\n";
      return r;
    }
    if (action == "setCurrentTime") {
      const auto t = parse_time(param(p, "time"));
      if (!t) {
        return error_reply();
      }
      const auto real = std::chrono::duration_cast<std::chrono::seconds>(
          std::chrono::system_clock::now().time_since_epoch());
      d.clock_offset = std::chrono::seconds(*t) - real;
      return Reply{};
    }
    return error_reply();
  }

  Reply attach(const Params& p) {
    std::string codes = param(p, "codes");
    if (codes.size() < 2 || codes.front() != '[' || codes.back() != ']') {
      return error_reply();
    }
    Reply r;
    r.stream = true;
    std::string_view list(codes);
    list = list.substr(1, list.size() - 2);
    while (!list.empty()) {
      const auto comma = list.find(',');
      const std::string code(list.substr(0, comma));
      if (!code.empty()) {
        r.stream_codes.insert(code);
      }
      list = comma == std::string_view::npos ? std::string_view{} : list.substr(comma + 1);
    }
    if (r.stream_codes.empty()) {
      return error_reply();
    }
    if (r.stream_codes.count("All") != 0) {
      r.stream_codes.clear();
    }
    if (const auto hb = p.find("heartbeat"); hb != p.end()) {
      const auto n = to_int(hb->second);
      if (!n || *n < 1 || *n > 300) {
        return error_reply();
      }
      r.heartbeat = d.config.heartbeat_unit * *n;
    }
    return r;
  }

  Reply find_records(const Params& p) {
    const std::string name = param(p, "name");
    const std::vector<Record>* table = nullptr;
    if (name == "AccessControlCardRec") {
      table = &d.access;
    } else if (name == "AccessControlAlarmRecord") {
      table = &d.alarms;
    } else {
      return error_reply();
    }
    const auto pick = [&](const char* key) {
      const std::string v = param(p, key);
      return v.empty() ? param(p, std::string("condition.") + key) : v;
    };
    const std::string start_s = pick("StartTime");
    const std::string end_s = pick("EndTime");
    const std::string count_s = param(p, "count");
    std::int64_t start = 0;
    std::int64_t end = std::numeric_limits<std::int64_t>::max();
    if (!start_s.empty()) {
      const auto t = to_time(start_s);
      if (!t) {
        return error_reply();
      }
      start = *t;
    }
    if (!end_s.empty()) {
      const auto t = to_time(end_s);
      if (!t) {
        return error_reply();
      }
      end = *t;
    }
    std::size_t count = d.config.page_cap;
    if (!count_s.empty()) {
      const auto n = to_int(count_s);
      if (!n || *n < 1) {
        return error_reply();
      }
      count = std::min<std::size_t>(count, static_cast<std::size_t>(*n));
    }
    // Inclusive both ends, in (CreateTime, RecNo) order.
    std::vector<const Record*> matches;
    for (const auto& rec : *table) {
      if (rec.create_time >= start && rec.create_time <= end) {
        matches.push_back(&rec);
      }
    }
    std::stable_sort(matches.begin(), matches.end(), [](const Record* a, const Record* b) {
      return a->create_time != b->create_time ? a->create_time < b->create_time
                                              : a->rec_no < b->rec_no;
    });
    const auto& q = d.finder_quirks;
    const std::size_t found = std::min(count, matches.size());
    std::string body;
    if (q.total_count) {
      body += "totalCount=" + std::to_string(matches.size()) + "\r\n";
    }
    body += "found=" + std::to_string(found) + "\r\n";
    const std::string prefix = q.capital_records ? "Records[" : "records[";
    for (std::size_t i = 0; i < found; ++i) {
      for (const auto& [field, value] : matches[i]->fields) {
        std::string text = value_text(value);
        if (field == "CreateTime" && q.date_string_time) {
          text = format_time(matches[i]->create_time);
        }
        if (text.empty() && q.omit_empty) {
          continue;
        }
        body += prefix + std::to_string(i) + "]." + field + "=" + text + "\r\n";
      }
    }
    Reply r;
    r.body = body;
    return r;
  }

  std::optional<int> channel(const Params& p) {
    const auto n = to_int(param(p, "channel"));
    if (!n || *n < 1 || *n > static_cast<std::int64_t>(d.doors.size())) {
      return std::nullopt;
    }
    return static_cast<int>(*n);
  }

  Reply access_control(const std::string& action, const Params& p) {
    const auto ch = channel(p);
    if (!ch) {
      return error_reply();
    }
    const auto door = static_cast<std::size_t>(*ch - 1);
    if (action == "openDoor") {
      d.doors[door] = "Open";
      Reply r;
      AccessSpec s;
      s.method = 4;  // remote unlocking
      s.door = *ch - 1;
      s.user_id = param(p, "UserID");
      s.card_no.clear();
      s.reader_id.clear();
      r.access_event = s;
      r.door_event = std::make_pair(*ch - 1, std::string("Open"));
      return r;
    }
    if (action == "closeDoor") {
      d.doors[door] = "Close";
      Reply r;
      r.door_event = std::make_pair(*ch - 1, std::string("Close"));
      return r;
    }
    if (action == "getDoorStatus") {
      Reply r;
      r.body = "Info.status=" + d.doors[door] + "\r\n";
      return r;
    }
    return error_reply();
  }

  // AccessUser.cgi (UserList, UserID) and AccessCard.cgi (CardList, CardNo).
  Reply access_list(const std::string& action, const Params& p, const std::string& body,
                    bool user) {
    if (d.old_firmware) {
      return error_reply(d.config.old_firmware_answer == OldFirmwareAnswer::NotFound404 ? 404
                                                                                        : 400);
    }
    auto& table = user ? d.users : d.cards;
    const std::string list_key = user ? "UserList" : "CardList";
    const std::string id_key = user ? "UserID" : "CardNo";
    if (action == "insertMulti" || action == "updateMulti") {
      const auto j = nlohmann::json::parse(body, nullptr, false);
      if (j.is_discarded() || !j.is_object() || !j.contains(list_key) || !j[list_key].is_array() ||
          j[list_key].empty()) {
        return error_reply();
      }
      const bool insert = action == "insertMulti";
      // All or nothing: every entry is checked before any is stored.
      for (const auto& e : j[list_key]) {
        if (!e.is_object() || !e.contains(id_key) || !e[id_key].is_string() ||
            e[id_key].get<std::string>().empty()) {
          return error_reply();
        }
        const bool exists = table.count(e[id_key].get<std::string>()) != 0;
        if (insert == exists) {
          return error_reply();
        }
      }
      for (const auto& e : j[list_key]) {
        auto& stored = table[e[id_key].get<std::string>()];
        if (insert) {
          stored = e;
        } else {
          stored.update(e);
        }
      }
      return Reply{};
    }
    if (action == "removeMulti") {
      const auto ids = indexed(p, id_key + "List");
      if (ids.empty()) {
        return error_reply();
      }
      for (const auto& id : ids) {
        table.erase(id);
      }
      return Reply{};
    }
    if (action == "startFind") {
      std::vector<nlohmann::json> rows;
      const std::string cond_id = param(p, "Condition." + id_key);
      const std::string cond_user = param(p, "Condition.UserID");
      for (const auto& [id, e] : table) {
        if (!cond_id.empty() && id != cond_id) {
          continue;
        }
        if (!user && !cond_user.empty() && e.value("UserID", "") != cond_user) {
          continue;
        }
        rows.push_back(e);
      }
      const std::uint64_t token = d.next_token++;
      const auto total = rows.size();
      d.finds[token] = std::move(rows);
      return json_reply({{"Token", token}, {"Total", total}, {"Caps", 100}});
    }
    if (action == "doFind") {
      const auto token = to_int(param(p, "Token"));
      const auto offset = to_int(param(p, "Offset"));
      const auto count = to_int(param(p, "Count"));
      if (!token || !offset || !count || *offset < 0 || *count < 1) {
        return error_reply();
      }
      const auto it = d.finds.find(static_cast<std::uint64_t>(*token));
      if (it == d.finds.end()) {
        return error_reply();
      }
      nlohmann::json info = nlohmann::json::array();
      const auto begin = static_cast<std::size_t>(*offset);
      for (std::size_t i = begin;
           i < it->second.size() && i < begin + std::min<std::size_t>(100, *count); ++i) {
        info.push_back(it->second[i]);
      }
      const auto found = info.size();
      return json_reply({{"Found", found}, {"Info", std::move(info)}});
    }
    if (action == "stopFind") {
      const auto token = to_int(param(p, "Token"));
      if (!token || d.finds.erase(static_cast<std::uint64_t>(*token)) == 0) {
        return error_reply();
      }
      return Reply{};
    }
    return error_reply();
  }

  Reply record_updater(const std::string& action, const Params& p) {
    if (param(p, "name") != "AccessControlCard") {
      return error_reply();
    }
    std::map<std::string, std::string> fields;
    for (const auto& [k, v] : p) {
      if (k != "action" && k != "name" && k != "recno") {
        fields[k] = v;
      }
    }
    if (action == "insert") {
      if (fields.count("CardNo") == 0 || fields["CardNo"].empty()) {
        return error_reply();
      }
      const std::uint64_t rec = d.next_legacy_rec++;
      d.legacy_cards[rec] = std::move(fields);
      Reply r;
      r.body = "RecNo=" + std::to_string(rec) + "\r\n";
      return r;
    }
    if (action == "update" || action == "remove") {
      const auto rec = to_int(param(p, "recno"));
      if (!rec) {
        return error_reply();
      }
      const auto it = d.legacy_cards.find(static_cast<std::uint64_t>(*rec));
      if (it == d.legacy_cards.end()) {
        return error_reply();
      }
      if (action == "remove") {
        d.legacy_cards.erase(it);
      } else {
        for (auto& [k, v] : fields) {
          it->second[k] = v;
        }
      }
      return Reply{};
    }
    if (action == "clear") {
      d.legacy_cards.clear();
      return Reply{};
    }
    return error_reply();
  }

  Reply route(http::verb method, const std::string& target, const std::string& authorization,
              const std::string& body) {
    std::string path;
    Params p;
    split_target(target, path, p);
    const std::string action = param(p, "action");
    ++d.requests[path + "?action=" + action];
    const AuthDecision auth = d.digest.check(std::string(http::to_string(method)), target,
                                             authorization, std::chrono::steady_clock::now());
    if (auth.verdict != AuthVerdict::Ok) {
      Reply r;
      r.status = 401;
      r.body = auth.verdict == AuthVerdict::Locked ? "Error\r\nAccount locked!\r\n"
                                                   : "Error\r\nUnauthorized!\r\n";
      r.www_authenticate = auth.challenge;
      return r;
    }
    if (path == "/cgi-bin/magicBox.cgi") {
      return magic_box(action);
    }
    if (path == "/cgi-bin/global.cgi") {
      return global(action, p);
    }
    if (path == "/cgi-bin/eventManager.cgi" && action == "attach") {
      return attach(p);
    }
    if (path == "/cgi-bin/recordFinder.cgi" && action == "find") {
      return find_records(p);
    }
    if (path == "/cgi-bin/accessControl.cgi") {
      return access_control(action, p);
    }
    if (path == "/cgi-bin/AccessUser.cgi") {
      return access_list(action, p, body, true);
    }
    if (path == "/cgi-bin/AccessCard.cgi") {
      return access_list(action, p, body, false);
    }
    if (path == "/cgi-bin/recordUpdater.cgi") {
      return record_updater(action, p);
    }
    return error_reply(404);
  }
};

}  // namespace

std::string value_text(const Value& v) {
  if (const auto* n = std::get_if<std::int64_t>(&v)) {
    return std::to_string(*n);
  }
  return std::get<std::string>(v);
}

Reply route_request(DahuaDevice::Impl& d, boost::beast::http::verb method,
                    const std::string& target, const std::string& authorization,
                    const std::string& body) {
  Handlers h{d};
  return h.route(method, target, authorization, body);
}

}  // namespace pushgate::sim::dahua
