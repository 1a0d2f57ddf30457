// AttendanceService: rules changes and the queries the REST endpoints ask (timecard, report).
#include "gateway/attendance/attendance_service.hpp"

#include <utility>

#include "gateway/event_json.hpp"
#include "gateway/json_error.hpp"
#include "gateway/logging.hpp"
#include "gateway/store/event_queries.hpp"
#include "gateway/store/store.hpp"
#include "gateway/store/write_context.hpp"
#include "rules/attendance/attendance_config.hpp"

namespace pushgate::attendance {

std::size_t AttendanceService::apply_rules(std::shared_ptr<const ra::Rules> rules,
                                           RulesSource source) {
  rules_ = std::move(rules);
  source_ = rules_ ? source : RulesSource::None;
  if (!rules_) {
    accepting_ = false;
    engine_.reset();
    punches_held_.set(0);
    return 0;
  }
  std::vector<ra::DayKey> days;
  if (engine_) {
    days = engine_->replace_rules(rules_);
  } else {
    // Forward live punches from now on, then read what is stored: a punch
    // committed in between arrives twice and counts once.
    accepting_ = true;
    if (!load_engine(days)) {
      rebuild_pending_ = true;
      return 0;
    }
  }
  // Stored days without punches (absences) change with the rules too.
  for (const auto& [key, stored] : stored_) {
    days.push_back(key);
  }
  return recompute(std::move(days), false);
}

// ---------------------------------------------------------------------------
// Queries and rules changes: posted to the worker.
// ---------------------------------------------------------------------------

void AttendanceService::rules_info(std::function<void(RulesInfo)> done) {
  post(inbox_, [done = std::move(done)](AttendanceService& s) { done(s.info()); });
}

void AttendanceService::replace_rules(std::string document, std::function<void(RulesUpdate)> done) {
  post(inbox_, [document = std::move(document), done = std::move(done)](AttendanceService& s) {
    auto parsed = ra::parse_rules(document);
    if (!parsed.ok()) {
      RulesUpdate u;
      u.errors = std::move(parsed.errors);
      u.info = s.info();
      done(std::move(u));
      return;
    }
    auto rules = std::make_shared<const ra::Rules>(std::move(*parsed.rules));
    // The normalised form: rules_from_json(rules_to_json(r)) gives r back.
    std::string json = dump_json(ra::rules_to_json(*rules));
    const auto now_ms = s.clock_.now_ms();
    WriteBatch batch;
    batch.ops.push_back([json, now_ms](store::WriteContext& ctx) -> boost::system::error_code {
      boost::system::error_code ec;
      auto& st = ctx.statement(
          "INSERT INTO attendance_rules(id, json, updated_ms) VALUES(1, ?1, ?2)"
          " ON CONFLICT(id) DO UPDATE SET json=excluded.json, updated_ms=excluded.updated_ms",
          ec);
      if (ec) {
        return ec;
      }
      st.bind(1, std::string_view(json)).bind(2, now_ms);
      return st.run();
    });
    s.in_flight_.fetch_add(1);
    // Applied only once stored, so a restart never runs other rules than
    // the ones GET showed.
    s.store_.append(std::move(batch), [inbox = s.inbox_, rules, now_ms, done](CommitResult r) {
      post(inbox, [ec = r.ec, rules, now_ms, done](AttendanceService& self) {
        self.in_flight_.fetch_sub(1);
        RulesUpdate u;
        if (ec) {
          u.ec = ec;
          u.info = self.info();
          done(std::move(u));
          return;
        }
        self.rest_rules_ = RulesLoad{rules, now_ms};
        u.changed = self.apply_rules(rules, RulesSource::Rest);
        u.info = self.info();
        self.log_->info("attendance rules replaced over REST; {} timecards changed", u.changed);
        done(std::move(u));
      });
    });
  });
}

void AttendanceService::clear_rules(std::function<void(RulesUpdate)> done) {
  post(inbox_, [done = std::move(done)](AttendanceService& s) {
    WriteBatch batch;
    batch.ops.push_back([](store::WriteContext& ctx) -> boost::system::error_code {
      boost::system::error_code ec;
      auto& st = ctx.statement("DELETE FROM attendance_rules", ec);
      return ec ? ec : st.run();
    });
    s.in_flight_.fetch_add(1);
    s.store_.append(std::move(batch), [inbox = s.inbox_, done](CommitResult r) {
      post(inbox, [ec = r.ec, done](AttendanceService& self) {
        self.in_flight_.fetch_sub(1);
        RulesUpdate u;
        if (ec) {
          u.ec = ec;
          u.info = self.info();
          done(std::move(u));
          return;
        }
        self.rest_rules_ = RulesLoad{};
        u.changed = self.apply_rules(self.file_rules_.rules, RulesSource::File);
        u.info = self.info();
        self.log_->info("attendance rules over REST removed, now {}; {} timecards changed",
                        to_string(self.source_), u.changed);
        done(std::move(u));
      });
    });
  });
}

const ra::TimecardEngine* AttendanceService::engine_for(
    date::local_days first, date::local_days last, std::unique_ptr<ra::TimecardEngine>& older) {
  if (engine_ != nullptr && first >= horizon_) {
    return engine_.get();
  }
  // Outside the retained window: a one-off engine over those days' punches.
  older = engine_from_store(rules_, first, last, nullptr);
  return older.get();
}

void AttendanceService::timecard(std::string pin, date::local_days day,
                                 std::function<void(TimecardAnswer)> done) {
  post(inbox_, [pin = std::move(pin), day, done = std::move(done)](AttendanceService& s) {
    TimecardAnswer a;
    a.has_rules = s.rules_ != nullptr;
    if (!a.has_rules) {
      done(std::move(a));
      return;
    }
    std::unique_ptr<ra::TimecardEngine> older;
    const ra::TimecardEngine* engine = s.engine_for(day, day + date::days{1}, older);
    if (engine == nullptr) {
      a.ec = boost::system::errc::make_error_code(boost::system::errc::io_error);
      done(std::move(a));
      return;
    }
    const auto pins = engine->pins();
    if (std::binary_search(pins.begin(), pins.end(), pin)) {
      a.card = engine->timecard(ra::DayKey{pin, day}, s.context());
    }
    done(std::move(a));
  });
}

void AttendanceService::report(date::local_days from, date::local_days to, std::string pin,
                               std::function<void(ReportAnswer)> done) {
  post(inbox_, [from, to, pin = std::move(pin), done = std::move(done)](AttendanceService& s) {
    ReportAnswer a;
    a.has_rules = s.rules_ != nullptr;
    a.report.from = from;
    a.report.to = to;
    if (!a.has_rules) {
      done(std::move(a));
      return;
    }
    std::unique_ptr<ra::TimecardEngine> older;
    // Day D's punches are dated D or D+1.
    const ra::TimecardEngine* engine = s.engine_for(from, to + date::days{1}, older);
    if (engine == nullptr) {
      a.ec = boost::system::errc::make_error_code(boost::system::errc::io_error);
      done(std::move(a));
      return;
    }
    const auto ctx = s.context();
    if (pin.empty()) {
      a.report = ra::build_period_report(*engine, from, to, ctx);
    } else {
      std::vector<ra::Timecard> cards;
      const auto pins = engine->pins();
      if (std::binary_search(pins.begin(), pins.end(), pin)) {
        for (auto d = from; d <= to; d += date::days{1}) {
          cards.push_back(engine->timecard(ra::DayKey{pin, d}, ctx));
        }
      }
      a.report = ra::build_period_report(engine->scheduler(), from, to, cards);
    }
    done(std::move(a));
  });
}

}  // namespace pushgate::attendance
