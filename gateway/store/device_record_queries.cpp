#include "gateway/store/device_record_queries.hpp"

#include <charconv>

#include <nlohmann/json.hpp>

#include "gateway/store/write_context.hpp"

namespace pushgate::store {

namespace {

void bind_opt(Statement& st, int index, const std::optional<int>& v) {
  if (v) {
    st.bind(index, *v);
  } else {
    st.bind_null(index);
  }
}

void bind_text_or_null(Statement& st, int index, const std::string& v) {
  if (v.empty()) {
    st.bind_null(index);
  } else {
    st.bind(index, std::string_view(v));
  }
}

std::optional<int> opt_int(const Statement& st, int index) {
  if (st.column_is_null(index)) {
    return std::nullopt;
  }
  return static_cast<int>(st.column_int(index));
}

std::optional<int> int_of_text(const std::string& s) {
  int n = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
  if (s.empty() || ec != std::errc{} || end != s.data() + s.size()) {
    return std::nullopt;
  }
  return n;
}

}  // namespace

WriteOp upsert_device_user(std::string sn, DeviceUser user) {
  return [sn = std::move(sn), u = std::move(user)](WriteContext& ctx) -> boost::system::error_code {
    boost::system::error_code ec;
    auto tid = ctx.terminal_id(sn, ec);
    if (ec) {
      return ec;
    }
    auto& st = ctx.statement(
        "INSERT INTO terminal_users(terminal_id, pin, name, privilege, password, card, group_id,"
        " timezone, verify, fields, updated_ms) VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11)"
        " ON CONFLICT(terminal_id, pin) DO UPDATE SET name=excluded.name,"
        " privilege=excluded.privilege, password=excluded.password, card=excluded.card,"
        " group_id=excluded.group_id, timezone=excluded.timezone, verify=excluded.verify,"
        " fields=excluded.fields, updated_ms=excluded.updated_ms",
        ec);
    if (ec) {
      return ec;
    }
    st.bind(1, tid).bind(2, std::string_view(u.pin)).bind(3, std::string_view(u.name));
    bind_opt(st, 4, u.privilege);
    st.bind(5, std::string_view(u.password)).bind(6, std::string_view(u.card));
    if (u.group) {
      st.bind(7, std::to_string(*u.group));
    } else {
      st.bind_null(7);
    }
    st.bind(8, std::string_view(u.time_zones));
    bind_opt(st, 9, u.verify);
    st.bind(10, std::string_view(u.fields_json)).bind(11, ctx.now_ms());
    return st.run();
  };
}

WriteOp upsert_device_template(std::string sn, DeviceTemplate tmpl) {
  return [sn = std::move(sn), t = std::move(tmpl)](WriteContext& ctx) -> boost::system::error_code {
    boost::system::error_code ec;
    auto tid = ctx.terminal_id(sn, ec);
    if (ec) {
      return ec;
    }
    auto& st = ctx.statement(
        "INSERT INTO terminal_templates(terminal_id, pin, bio_type, bio_no, bio_index, valid,"
        " duress, major_ver, minor_ver, format, size, template, updated_ms)"
        " VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13)"
        " ON CONFLICT(terminal_id, pin, bio_type, bio_no, bio_index) DO UPDATE SET"
        " valid=excluded.valid, duress=excluded.duress, major_ver=excluded.major_ver,"
        " minor_ver=excluded.minor_ver, format=excluded.format, size=excluded.size,"
        " template=excluded.template, updated_ms=excluded.updated_ms",
        ec);
    if (ec) {
      return ec;
    }
    st.bind(1, tid).bind(2, std::string_view(t.pin)).bind(3, t.type);
    st.bind(4, t.number).bind(5, t.index);
    bind_opt(st, 6, t.valid);
    bind_opt(st, 7, t.duress);
    bind_text_or_null(st, 8, t.major_ver);
    bind_text_or_null(st, 9, t.minor_ver);
    st.bind(10, std::string_view(t.format));
    bind_opt(st, 11, t.size);
    st.bind(12, std::string_view(t.data)).bind(13, ctx.now_ms());
    return st.run();
  };
}

WriteOp upsert_device_photo(std::string sn, DevicePhoto photo) {
  return
      [sn = std::move(sn), p = std::move(photo)](WriteContext& ctx) -> boost::system::error_code {
        boost::system::error_code ec;
        auto tid = ctx.terminal_id(sn, ec);
        if (ec) {
          return ec;
        }
        auto& st = ctx.statement(
            "INSERT INTO terminal_photos(terminal_id, pin, photo_kind, bio_type, file_name, size,"
            " content, updated_ms) VALUES(?1,?2,?3,?4,?5,?6,?7,?8)"
            " ON CONFLICT(terminal_id, pin, photo_kind, bio_type) DO UPDATE SET"
            " file_name=excluded.file_name, size=excluded.size, content=excluded.content,"
            " updated_ms=excluded.updated_ms",
            ec);
        if (ec) {
          return ec;
        }
        st.bind(1, tid).bind(2, std::string_view(p.pin)).bind(3, to_string(p.kind));
        st.bind(4, p.type).bind(5, std::string_view(p.file_name));
        if (p.size) {
          st.bind(6, *p.size);
        } else {
          st.bind_null(6);
        }
        st.bind(7, std::string_view(p.content)).bind(8, ctx.now_ms());
        return st.run();
      };
}

WriteOp delete_device_user(std::string sn, std::string pin) {
  return [sn = std::move(sn),
          pin = std::move(pin)](WriteContext& ctx) -> boost::system::error_code {
    boost::system::error_code ec;
    auto tid = ctx.terminal_id(sn, ec);
    if (ec) {
      return ec;
    }
    for (const char* sql : {"DELETE FROM terminal_templates WHERE terminal_id = ?1 AND pin = ?2",
                            "DELETE FROM terminal_photos WHERE terminal_id = ?1 AND pin = ?2",
                            "DELETE FROM terminal_users WHERE terminal_id = ?1 AND pin = ?2"}) {
      auto& st = ctx.statement(sql, ec);
      if (ec) {
        return ec;
      }
      st.bind(1, tid).bind(2, std::string_view(pin));
      if (auto run = st.run()) {
        return run;
      }
    }
    return {};
  };
}

std::vector<std::pair<std::string, std::string>> read_device_user_keys(
    Connection& db, boost::system::error_code& ec) {
  std::vector<std::pair<std::string, std::string>> out;
  auto st = db.prepare(
      "SELECT t.sn, u.pin FROM terminal_users u JOIN terminals t ON t.id = u.terminal_id "
      "ORDER BY t.sn, u.pin",
      ec);
  while (!ec && st.step(ec)) {
    out.emplace_back(st.column_text(0), st.column_text(1));
  }
  return out;
}

DeviceEnrolment read_device_enrolment(Connection& db, const std::string& sn, const std::string& pin,
                                      boost::system::error_code& ec) {
  DeviceEnrolment e;
  e.sn = sn;
  e.pin = pin;
  auto u = db.prepare(
      "SELECT u.name, u.privilege, u.password, u.card, u.group_id, u.timezone, u.verify, u.fields "
      "FROM terminal_users u "
      "JOIN terminals t ON t.id = u.terminal_id WHERE t.sn = ?1 AND u.pin = ?2",
      ec);
  if (ec) {
    return e;
  }
  u.bind(1, std::string_view(sn)).bind(2, std::string_view(pin));
  if (u.step(ec)) {
    DeviceUser user;
    user.pin = pin;
    user.name = u.column_text(0);
    user.privilege = opt_int(u, 1);
    user.password = u.column_text(2);
    user.card = u.column_text(3);
    user.group = int_of_text(u.column_text(4));
    user.time_zones = u.column_text(5);
    user.verify = opt_int(u, 6);
    user.fields_json = u.column_is_null(7) ? "{}" : u.column_text(7);
    const auto fields = nlohmann::json::parse(user.fields_json, nullptr, false);
    if (fields.is_object()) {
      const auto vice = fields.find("vice_card");
      if (vice != fields.end() && vice->is_string() &&
          !vice->get_ref<const std::string&>().empty()) {
        user.other_cards.push_back(vice->get<std::string>());
      }
    }
    e.user = std::move(user);
  }
  if (ec) {
    return e;
  }
  auto t = db.prepare(
      "SELECT x.bio_type, x.bio_no, x.bio_index, x.valid, x.duress, x.major_ver, "
      "x.minor_ver, x.format, x.size, x.template FROM terminal_templates x "
      "JOIN terminals t ON t.id = x.terminal_id WHERE t.sn = ?1 AND x.pin = ?2 "
      "ORDER BY x.bio_type, x.bio_no, x.bio_index",
      ec);
  if (ec) {
    return e;
  }
  t.bind(1, std::string_view(sn)).bind(2, std::string_view(pin));
  while (t.step(ec)) {
    DeviceTemplate tmpl;
    tmpl.pin = pin;
    tmpl.type = static_cast<int>(t.column_int(0));
    tmpl.number = static_cast<int>(t.column_int(1));
    tmpl.index = static_cast<int>(t.column_int(2));
    tmpl.valid = opt_int(t, 3);
    tmpl.duress = opt_int(t, 4);
    tmpl.major_ver = t.column_text(5);
    tmpl.minor_ver = t.column_text(6);
    tmpl.format = t.column_text(7);
    tmpl.size = opt_int(t, 8);
    tmpl.data = t.column_text(9);
    e.templates.push_back(std::move(tmpl));
  }
  if (ec) {
    return e;
  }
  auto p = db.prepare(
      "SELECT x.photo_kind, x.bio_type, x.file_name, x.size, x.content FROM terminal_photos x "
      "JOIN terminals t ON t.id = x.terminal_id WHERE t.sn = ?1 AND x.pin = ?2 "
      "ORDER BY x.photo_kind, x.bio_type",
      ec);
  if (ec) {
    return e;
  }
  p.bind(1, std::string_view(sn)).bind(2, std::string_view(pin));
  while (p.step(ec)) {
    auto kind = parse_photo_kind(p.column_text(0));
    if (!kind) {
      continue;
    }
    DevicePhoto photo;
    photo.pin = pin;
    photo.kind = *kind;
    photo.type = static_cast<int>(p.column_int(1));
    photo.file_name = p.column_text(2);
    if (!p.column_is_null(3)) {
      photo.size = p.column_int(3);
    }
    photo.content = p.column_text(4);
    e.photos.push_back(std::move(photo));
  }
  return e;
}

}  // namespace pushgate::store
