// The access terminal's commands (§9) and remote identification (§10); same class, same strand.

#include "tests/sim/access_terminal.hpp"

#include <algorithm>
#include <boost/asio/post.hpp>
#include <future>

namespace pushgate::sim {

namespace net = boost::asio;
using boost::system::error_code;

namespace {

std::string field_or(const Fields& f, std::string_view key, std::string fallback = {}) {
  auto v = find_field(f, key);
  return v ? *v : std::move(fallback);
}

int int_field_or(const Fields& f, std::string_view key, int fallback) {
  const auto v = find_field(f, key);
  if (!v) {
    return fallback;
  }
  const auto n = parse_int(*v);
  return n ? static_cast<int>(*n) : fallback;
}

// A DELETE condition "*" or nothing means every row of the table.
bool deletes_all(std::string_view argument) {
  const std::string_view a = trim(argument);
  return a.empty() || a == "*";
}

}  // namespace

// ---------------------------------------------------------------------------
// Commands (§9)

int AccessTerminal::execute(const std::string& id, const AccessCommand& command,
                            std::string& reply_cmd) {
  switch (command.verb) {
    case AccessVerb::DataUpdate:
      return update_data(command);
    case AccessVerb::DataDelete:
      return delete_data(command);
    case AccessVerb::ControlDevice:
      return control_device(id, command);
    case AccessVerb::SetOptions: {
      const std::size_t eq = command.argument.find('=');
      if (eq == std::string::npos) {
        note_problem("SET OPTIONS without '=': " + command.argument);
        return access_return::kIncorrectParameter;
      }
      const std::string key(trim(command.argument.substr(0, eq)));
      const auto& ignored = config_.ignored_options;
      if (std::find(ignored.begin(), ignored.end(), key) != ignored.end()) {
        return access_return::kOk;  // accepted, not applied
      }
      std::lock_guard lock(mutex_);
      options_[key] = command.argument.substr(eq + 1);
      return access_return::kOk;
    }
    case AccessVerb::GetOptions: {
      // §9.5.2: the values go up in a querydata upload, then the result.
      std::string body;
      std::size_t start = 0;
      const std::string& list = command.argument;
      while (start <= list.size()) {
        std::size_t comma = list.find(',', start);
        const std::string key(trim(std::string_view(list).substr(
            start, comma == std::string::npos ? std::string::npos : comma - start)));
        if (!key.empty()) {
          std::lock_guard lock(mutex_);
          auto it = options_.find(key);
          body += (body.empty() ? "" : ",") + key + "=" +
                  (it != options_.end() ? it->second : std::string());
        }
        if (comma == std::string::npos) {
          break;
        }
        start = comma + 1;
      }
      Outbound up;
      up.target = "/iclock/querydata?" + sn_query() + "&type=options&cmdid=" + id +
                  "&tablename=options&count=1&packcnt=1&packidx=1";
      up.body = body + "\n";
      up.ok_prefix = "options=";
      command_uploads_.push_back(std::move(up));
      return access_return::kOk;
    }
    case AccessVerb::DataQuery:
    case AccessVerb::DataCount:
    case AccessVerb::Other:
      break;
  }
  // Queries and everything else are outside what this simulator models.
  reply_cmd = command.reply_cmd.empty() ? "UNKNOWN" : command.reply_cmd;
  note_problem("command not simulated: " + reply_cmd + " " + command.table);
  return access_return::kNoSuchCommand;
}

int AccessTerminal::update_data(const AccessCommand& command) {
  if (config_.refuse_update && config_.refuse_update(command.table, command.argument)) {
    return access_return::kIncorrectParameter;
  }
  // Several records, one per line after the first (§9.1.1 "${LF} is used to
  // connect multiple records"); one result for all: the first failure.
  if (command.argument.find('\n') == std::string::npos) {
    return update_record(command);
  }
  int rc = access_return::kOk;
  std::size_t start = 0;
  while (start <= command.argument.size()) {
    const std::size_t end = command.argument.find('\n', start);
    AccessCommand one = command;
    one.argument = command.argument.substr(start, end == std::string::npos ? end : end - start);
    if (!one.argument.empty()) {
      const int r = update_record(one);
      rc = rc == access_return::kOk ? r : rc;
    }
    if (end == std::string::npos) {
      break;
    }
    start = end + 1;
  }
  return rc;
}

int AccessTerminal::update_record(const AccessCommand& command) {
  const Fields f = parse_tab_fields(command.argument);
  const std::string& table = command.table;
  const std::string pin = field_or(f, "Pin");
  std::lock_guard lock(mutex_);
  const auto bad = [&](std::string why, int rc = access_return::kIncorrectParameter) {
    ++stats_.protocol_problems;
    if (problems_.size() < kMaxProblems) {
      problems_.push_back("DATA UPDATE " + table + ": " + why);
    }
    return rc;
  };
  if (table == "user") {
    if (pin.empty() || pin.find(' ') != std::string::npos) {
      return bad("missing or odd Pin in '" + command.argument + "'");
    }
    AccessUser u;
    u.pin = pin;
    u.card = field_or(f, "CardNo");
    u.password = field_or(f, "Password");
    u.group = field_or(f, "Group", "1");
    u.start_time = field_or(f, "StartTime", "0");
    u.end_time = field_or(f, "EndTime", "0");
    u.name = field_or(f, "Name");
    u.privilege = field_or(f, "Privilege", "0");
    u.disable = field_or(f, "Disable", "0");
    u.verify = field_or(f, "Verify", "0");
    users_[pin] = u;
    return access_return::kOk;
  }
  if (table == "userauthorize") {
    if (pin.empty()) {
      return bad("missing Pin");
    }
    AccessAuthorization a{pin, field_or(f, "AuthorizeTimezoneId"), field_or(f, "AuthorizeDoorId"),
                          field_or(f, "DevID")};
    authorizations_[{pin, a.timezone_id}] = a;
    return access_return::kOk;
  }
  if (table == "timezone") {
    const std::string id = field_or(f, "TimezoneId");
    if (id.empty()) {
      return bad("missing TimezoneId");
    }
    timezones_[id] = f;
    return access_return::kOk;
  }
  if (table == "holiday") {
    const std::string day = field_or(f, "Holiday");
    if (day.size() != 8) {
      return bad("Holiday is not YYYYMMDD: '" + day + "'");
    }
    holidays_[day] = f;
    return access_return::kOk;
  }
  if (table == "templatev10" || table == "biodata") {
    AccessTemplate t;
    t.pin = pin;
    if (table == "templatev10") {
      t.type = bio_type::kFingerprint;
      t.no = int_field_or(f, "FingerID", -1);
      t.valid = int_field_or(f, "Valid", 1);
      t.duress = t.valid == 3 ? 1 : 0;
      t.tmp = field_or(f, "Template");
      const auto size = find_field(f, "Size");
      if (size && parse_int(*size) != static_cast<std::int64_t>(t.tmp.size())) {
        return bad("Size " + *size + " but " + std::to_string(t.tmp.size()) + " characters",
                   access_return::kLengthMismatch);
      }
    } else {
      t.type = int_field_or(f, "Type", -1);
      t.no = int_field_or(f, "No", 0);
      t.index = int_field_or(f, "Index", 0);
      t.valid = int_field_or(f, "Valid", 1);
      t.duress = int_field_or(f, "Duress", 0);
      t.major_ver = field_or(f, "MajorVer");
      t.minor_ver = field_or(f, "MinorVer");
      t.format = field_or(f, "Format");
      t.tmp = field_or(f, "Tmp");
    }
    if (pin.empty() || t.tmp.empty() || t.no < 0 || t.type < 0) {
      return bad("incomplete template '" + command.argument.substr(0, 80) + "'");
    }
    if (!bio_supported(data_support_, t.type)) {
      return bad("biometric type " + std::to_string(t.type) +
                 " is not in this terminal's MultiBioDataSupport");
    }
    if (users_.find(pin) == users_.end()) {
      return bad("template for unknown user " + pin, access_return::kNoSuchUser);
    }
    if (config_.keep_digests) {
      t.tmp = content_digest(t.tmp);
    }
    templates_[{t.pin, t.type, t.no, t.index}] = t;
    return access_return::kOk;
  }
  if (table == "biophoto" || table == "userpic") {
    AccessPhoto p;
    p.pin = pin;
    p.table = table;
    p.type = table == "biophoto" ? int_field_or(f, "Type", -1) : 0;
    p.content = field_or(f, "Content");
    if (pin.empty() || p.content.empty() || p.type < 0) {
      return bad("incomplete photo for '" + pin + "'");
    }
    const auto size = find_field(f, "Size");
    if (size && parse_int(*size) != static_cast<std::int64_t>(p.content.size())) {
      return bad("Size " + *size + " but " + std::to_string(p.content.size()) + " characters",
                 access_return::kLengthMismatch);
    }
    if (table == "biophoto" && !bio_supported(photo_support_, p.type)) {
      return bad("photo type " + std::to_string(p.type) +
                 " is not in this terminal's MultiBioPhotoSupport");
    }
    if (config_.keep_digests) {
      p.content = content_digest(p.content);
    }
    photos_[{p.pin, p.table, p.type}] = p;
    return access_return::kOk;
  }
  // Other tables (extuser, firstcard, DoorProperty, ...) are kept by the
  // firmware; the simulator accepts them without modelling them.
  return access_return::kOk;
}

int AccessTerminal::delete_data(const AccessCommand& command) {
  const Fields f = parse_tab_fields(command.argument);
  const std::string& table = command.table;
  const bool all = deletes_all(command.argument);
  const std::string pin = field_or(f, "Pin");
  std::lock_guard lock(mutex_);
  const auto erase_if = [](auto& map, auto pred) {
    for (auto it = map.begin(); it != map.end();) {
      it = pred(*it) ? map.erase(it) : std::next(it);
    }
  };
  if (!all && pin.empty() && table != "timezone" && table != "holiday") {
    ++stats_.protocol_problems;
    problems_.push_back("DATA DELETE " + table + " without a condition: '" + command.argument +
                        "'");
    return access_return::kIncorrectParameter;
  }
  if (table == "user") {
    // The firmware drops everything of the user with it.
    erase_if(users_, [&](const auto& kv) { return all || kv.first == pin; });
    erase_if(authorizations_, [&](const auto& kv) { return all || kv.first.first == pin; });
    erase_if(templates_, [&](const auto& kv) { return all || std::get<0>(kv.first) == pin; });
    erase_if(photos_, [&](const auto& kv) { return all || std::get<0>(kv.first) == pin; });
  } else if (table == "userauthorize") {
    erase_if(authorizations_, [&](const auto& kv) { return all || kv.first.first == pin; });
  } else if (table == "templatev10" || table == "biodata") {
    const bool v10 = table == "templatev10";
    const int type = v10 ? bio_type::kFingerprint : int_field_or(f, "Type", -1);
    const int no = int_field_or(f, v10 ? "FingerID" : "No", -1);
    erase_if(templates_, [&](const auto& kv) {
      const auto& [p, t, n, i] = kv.first;
      return (all || p == pin) && (type < 0 || t == type) && (no < 0 || n == no);
    });
  } else if (table == "biophoto" || table == "userpic") {
    const int type = int_field_or(f, "Type", -1);
    erase_if(photos_, [&](const auto& kv) {
      const auto& [p, tbl, t] = kv.first;
      return tbl == table && (all || p == pin) && (type < 0 || t == type);
    });
  } else if (table == "timezone") {
    const std::string id = field_or(f, "TimezoneId");
    erase_if(timezones_, [&](const auto& kv) { return all || kv.first == id; });
  } else if (table == "holiday") {
    const std::string day = field_or(f, "Holiday");
    erase_if(holidays_, [&](const auto& kv) { return all || kv.first == day; });
  }
  return access_return::kOk;
}

int AccessTerminal::control_device(const std::string& id, const AccessCommand& command) {
  const auto c = parse_control_device(command.argument);
  if (!c) {
    note_problem("CONTROL DEVICE with an unreadable argument '" + command.argument + "'");
    return access_return::kIncorrectParameter;
  }
  std::lock_guard lock(mutex_);
  door_actions_.push_back({"command", id, *c});
  ++stats_.door_actions;
  return access_return::kOk;
}

// ---------------------------------------------------------------------------
// Remote identification (§10), on its own connection

void AccessTerminal::next_auth() {
  if (auth_busy_ || auth_queue_.empty()) {
    return;
  }
  auth_busy_ = true;
  HttpRequest req;
  req.method = boost::beast::http::verb::post;
  req.target = "/iclock/cdata?" + sn_query() + "&AuthType=device";
  req.body = format_remote_auth_body(auth_queue_.front().request);
  add_headers(req);
  req.content_type = "application/push;charset=UTF-8";
  {
    std::lock_guard lock(mutex_);
    ++stats_.remote_auth_sent;
    ++stats_.requests_sent;
  }
  const auto started = Clock::now();
  auth_client_.async_request(
      std::move(req), ExchangeFault::None, [self = shared_from_this(), started](HttpResult r) {
        PendingAuth pending = std::move(self->auth_queue_.front());
        self->auth_queue_.pop_front();
        self->auth_busy_ = false;
        RemoteAuthResult out;
        out.latency = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - started);
        out.ec = r.ec;
        out.status = r.status;
        out.body = std::move(r.body);
        if (!out.ec) {
          out.answer = parse_remote_auth_answer(out.body);
          if (out.status == 200 && out.answer.ok) {
            std::lock_guard lock(self->mutex_);
            ++self->stats_.remote_auth_answered;
          } else {
            self->note_problem("remote identification answered HTTP " + std::to_string(out.status) +
                               " '" + out.body.substr(0, 60) + "'");
          }
          if (out.answer.auth == "SUCCESS" && !out.answer.control_device.empty()) {
            const auto c = parse_control_device(out.answer.control_device);
            if (c) {
              {
                std::lock_guard lock(self->mutex_);
                self->door_actions_.push_back({"remote_auth", {}, *c});
                ++self->stats_.door_actions;
              }
              if (self->config_.log_remote_auth_passages) {
                const auto& q = pending.request;
                RtLogEvent passage;
                passage.time = q.time;
                passage.pin = q.pin;
                passage.cardno = q.cardno;
                passage.eventaddr = q.eventaddr;
                passage.event = 222;  // remote identification is successful
                passage.inoutstatus = q.inoutstatus;
                passage.verifytype = q.verifytype;
                self->add_rtlog(passage);
              }
            } else {
              self->note_problem("remote identification CONTROL DEVICE unreadable: " +
                                 out.answer.control_device);
            }
          }
        } else {
          std::lock_guard lock(self->mutex_);
          ++self->stats_.failures_transport;
        }
        self->notify();
        pending.done(std::move(out));
        if (!self->stopped_) {
          self->next_auth();
        } else {
          while (!self->auth_queue_.empty()) {
            RemoteAuthResult aborted;
            aborted.ec = net::error::operation_aborted;
            auto done = std::move(self->auth_queue_.front().done);
            self->auth_queue_.pop_front();
            done(std::move(aborted));
          }
        }
      });
}

}  // namespace pushgate::sim
