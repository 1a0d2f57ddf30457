#include "gateway/store/write_context.hpp"

namespace pushgate::store {

Statement& WriteContext::statement(std::string_view sql, boost::system::error_code& ec) {
  auto it = statements_.find(sql);
  if (it == statements_.end()) {
    auto st = db_.prepare(sql, ec);
    if (ec) {
      static Statement invalid;
      return invalid;
    }
    it = statements_.emplace(std::string(sql), std::move(st)).first;
  }
  it->second.reset();
  ec = {};
  return it->second;
}

std::int64_t WriteContext::terminal_id(std::string_view sn, boost::system::error_code& ec) {
  if (auto it = terminal_ids_.find(sn); it != terminal_ids_.end()) {
    ec = {};
    return it->second;
  }
  auto& ins = statement(
      "INSERT INTO terminals(sn, first_seen_ms, last_seen_ms) VALUES(?1, ?2, ?2) "
      "ON CONFLICT(sn) DO NOTHING",
      ec);
  if (ec) {
    return 0;
  }
  ins.bind(1, sn).bind(2, now_ms_);
  if ((ec = ins.run())) {
    return 0;
  }
  auto& sel = statement("SELECT id, last_seq FROM terminals WHERE sn = ?1", ec);
  if (ec) {
    return 0;
  }
  sel.bind(1, sn);
  if (!sel.step(ec)) {
    return 0;
  }
  std::int64_t id = sel.column_int(0);
  std::int64_t last = sel.column_int(1);
  sel.reset();
  terminal_ids_.emplace(std::string(sn), id);
  sequences_.try_emplace(id, TerminalSeq{last, false});
  return id;
}

std::int64_t WriteContext::next_seq(std::int64_t terminal_id, boost::system::error_code& ec) {
  auto it = sequences_.find(terminal_id);
  if (it == sequences_.end()) {
    auto& sel = statement("SELECT last_seq FROM terminals WHERE id = ?1", ec);
    if (ec) {
      return 0;
    }
    sel.bind(1, terminal_id);
    std::int64_t last = sel.step(ec) ? sel.column_int(0) : 0;
    sel.reset();
    if (ec) {
      return 0;
    }
    it = sequences_.emplace(terminal_id, TerminalSeq{last, false}).first;
  }
  ec = {};
  it->second.dirty = true;
  return ++it->second.last_seq;
}

void WriteContext::unuse_seq(std::int64_t terminal_id) noexcept {
  if (auto it = sequences_.find(terminal_id); it != sequences_.end()) {
    --it->second.last_seq;
  }
}

boost::system::error_code WriteContext::flush_sequences() {
  boost::system::error_code ec;
  for (auto& [id, seq] : sequences_) {
    if (!seq.dirty) {
      continue;
    }
    auto& upd = statement("UPDATE terminals SET last_seq = ?1 WHERE id = ?2", ec);
    if (ec) {
      return ec;
    }
    upd.bind(1, seq.last_seq).bind(2, id);
    if ((ec = upd.run())) {
      return ec;
    }
    seq.dirty = false;
  }
  return {};
}

WriteContext::Snapshot WriteContext::snapshot() const {
  Snapshot s;
  s.terminal_ids.insert(terminal_ids_.begin(), terminal_ids_.end());
  for (const auto& [id, seq] : sequences_) {
    s.sequences.emplace(id, std::make_pair(seq.last_seq, seq.dirty));
  }
  return s;
}

void WriteContext::restore(Snapshot snapshot) {
  terminal_ids_.clear();
  terminal_ids_.insert(snapshot.terminal_ids.begin(), snapshot.terminal_ids.end());
  sequences_.clear();
  for (const auto& [id, seq] : snapshot.sequences) {
    sequences_.emplace(id, TerminalSeq{seq.first, seq.second});
  }
}

void WriteContext::on_rollback() noexcept {
  terminal_ids_.clear();
  sequences_.clear();
}

}  // namespace pushgate::store
