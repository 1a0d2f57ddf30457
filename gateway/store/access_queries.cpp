#include "gateway/store/access_queries.hpp"

#include <utility>

namespace pushgate::store {
namespace {

/** Prepares `sql`, lets `bind` fill it and runs it. */
template <class Bind>
boost::system::error_code run_sql(WriteContext& ctx, std::string_view sql, Bind&& bind) {
  boost::system::error_code ec;
  auto& st = ctx.statement(sql, ec);
  if (ec) {
    return ec;
  }
  std::forward<Bind>(bind)(st);
  return st.run();
}

std::string_view doc_table_name(AccessDocTable table) noexcept {
  switch (table) {
    case AccessDocTable::TimeZones:
      return "access_timezones";
    case AccessDocTable::Levels:
      return "access_levels";
    case AccessDocTable::Areas:
      return "access_areas";
  }
  return "access_timezones";
}

/** The JSON column of each row `sql` selects, appended to `out`. */
void read_docs(Connection& db, const char* sql, std::vector<std::string>& out,
               boost::system::error_code& ec) {
  auto st = db.prepare(sql, ec);
  if (ec) {
    return;
  }
  while (st.step(ec)) {
    out.push_back(st.column_text(0));
  }
}

}  // namespace

AccessRows read_access_rows(Connection& db, boost::system::error_code& ec) {
  AccessRows out;
  const std::pair<std::vector<std::string>*, const char*> tables[] = {
      {&out.timezones, "SELECT json FROM access_timezones ORDER BY id"},
      {&out.holidays, "SELECT json FROM access_holidays ORDER BY day"},
      {&out.areas, "SELECT json FROM access_areas ORDER BY id"},
      {&out.levels, "SELECT json FROM access_levels ORDER BY id"},
      {&out.doors, "SELECT json FROM access_doors ORDER BY terminal_sn, door"},
      {&out.users, "SELECT json FROM access_users ORDER BY pin"},
  };
  for (const auto& [docs, sql] : tables) {
    read_docs(db, sql, *docs, ec);
    if (ec) {
      return out;
    }
  }
  auto apb = db.prepare("SELECT pin, area, since_ms FROM access_apb", ec);
  if (ec) {
    return out;
  }
  while (apb.step(ec)) {
    out.positions.push_back(AccessPositionRow{
        apb.column_text(0), static_cast<int>(apb.column_int(1)), apb.column_int(2)});
  }
  if (ec) {
    return out;
  }
  auto ds = db.prepare(
      "SELECT t.sn, d.door, COALESCE(d.sensor, '') FROM door_state d"
      " JOIN terminals t ON t.id = d.terminal_id",
      ec);
  if (ec) {
    return out;
  }
  while (ds.step(ec)) {
    out.door_sensors.push_back(
        DoorSensorRow{ds.column_text(0), static_cast<int>(ds.column_int(1)), ds.column_text(2)});
  }
  return out;
}

boost::system::error_code put_access_user(WriteContext& ctx, std::string_view pin,
                                          std::string_view doc, std::string_view source,
                                          const std::vector<AccessCardRow>& cards,
                                          std::int64_t now_ms) {
  boost::system::error_code ec;
  auto& up = ctx.statement(
      "INSERT INTO access_users(pin, json, source, updated_ms) VALUES(?1,?2,?3,?4)"
      " ON CONFLICT(pin) DO UPDATE SET json=excluded.json, source=excluded.source,"
      " updated_ms=excluded.updated_ms",
      ec);
  if (ec) {
    return ec;
  }
  up.bind(1, pin).bind(2, doc);
  up.bind(3, source).bind(4, now_ms);
  if ((ec = up.run())) {
    return ec;
  }
  auto& del = ctx.statement("DELETE FROM access_cards WHERE pin = ?1", ec);
  if (ec) {
    return ec;
  }
  del.bind(1, pin);
  if ((ec = del.run())) {
    return ec;
  }
  for (const auto& c : cards) {
    auto& ins = ctx.statement("INSERT INTO access_cards(card, pin, lost) VALUES(?1,?2,?3)", ec);
    if (ec) {
      return ec;
    }
    ins.bind(1, std::string_view(c.number)).bind(2, pin).bind(3, c.lost ? 1 : 0);
    if ((ec = ins.run())) {
      return ec;
    }
  }
  return {};
}

boost::system::error_code delete_access_user(WriteContext& ctx, std::string_view pin) {
  boost::system::error_code ec;
  for (const char* sql :
       {"DELETE FROM access_cards WHERE pin = ?1", "DELETE FROM access_users WHERE pin = ?1",
        "DELETE FROM access_apb WHERE pin = ?1"}) {
    auto& st = ctx.statement(sql, ec);
    if (ec) {
      return ec;
    }
    st.bind(1, pin);
    if ((ec = st.run())) {
      return ec;
    }
  }
  return {};
}

boost::system::error_code put_access_doc(WriteContext& ctx, AccessDocTable table, std::int64_t id,
                                         std::string_view doc, std::int64_t now_ms) {
  return run_sql(ctx,
                 "INSERT INTO " + std::string(doc_table_name(table)) +
                     "(id, json, updated_ms) VALUES(?1,?2,?3) ON CONFLICT(id) DO UPDATE SET"
                     " json=excluded.json, updated_ms=excluded.updated_ms",
                 [&](Statement& st) { st.bind(1, id).bind(2, doc).bind(3, now_ms); });
}

boost::system::error_code delete_access_doc(WriteContext& ctx, AccessDocTable table,
                                            std::int64_t id) {
  return run_sql(ctx, "DELETE FROM " + std::string(doc_table_name(table)) + " WHERE id = ?1",
                 [&](Statement& st) { st.bind(1, id); });
}

boost::system::error_code put_access_holiday(WriteContext& ctx, std::string_view day,
                                             std::string_view doc, std::int64_t now_ms) {
  return run_sql(ctx,
                 "INSERT INTO access_holidays(day, json, updated_ms) VALUES(?1,?2,?3) ON "
                 "CONFLICT(day) DO UPDATE SET json=excluded.json, updated_ms=excluded.updated_ms",
                 [&](Statement& st) { st.bind(1, day).bind(2, doc).bind(3, now_ms); });
}

boost::system::error_code delete_access_holiday(WriteContext& ctx, std::string_view day) {
  return run_sql(ctx, "DELETE FROM access_holidays WHERE day = ?1",
                 [&](Statement& st) { st.bind(1, day); });
}

boost::system::error_code put_access_door(WriteContext& ctx, std::string_view sn, int door,
                                          std::string_view doc, std::int64_t now_ms) {
  return run_sql(ctx,
                 "INSERT INTO access_doors(terminal_sn, door, json, updated_ms) VALUES(?1,?2,?3,?4)"
                 " ON CONFLICT(terminal_sn, door) DO UPDATE SET json=excluded.json,"
                 " updated_ms=excluded.updated_ms",
                 [&](Statement& st) { st.bind(1, sn).bind(2, door).bind(3, doc).bind(4, now_ms); });
}

boost::system::error_code delete_access_door(WriteContext& ctx, std::string_view sn, int door) {
  return run_sql(ctx, "DELETE FROM access_doors WHERE terminal_sn = ?1 AND door = ?2",
                 [&](Statement& st) { st.bind(1, sn).bind(2, door); });
}

boost::system::error_code put_access_position(WriteContext& ctx, std::string_view pin, int area,
                                              std::int64_t since_ms) {
  return run_sql(
      ctx,
      "INSERT INTO access_apb(pin, area, since_ms) VALUES(?1,?2,?3) ON CONFLICT(pin) DO UPDATE"
      " SET area=excluded.area, since_ms=excluded.since_ms"
      " WHERE excluded.since_ms >= access_apb.since_ms",
      [&](Statement& st) { st.bind(1, pin).bind(2, area).bind(3, since_ms); });
}

boost::system::error_code delete_access_position(WriteContext& ctx, std::string_view pin) {
  return run_sql(ctx, "DELETE FROM access_apb WHERE pin = ?1",
                 [&](Statement& st) { st.bind(1, pin); });
}

boost::system::error_code delete_access_positions(WriteContext& ctx) {
  return run_sql(ctx, "DELETE FROM access_apb", [](Statement&) {});
}

}  // namespace pushgate::store
