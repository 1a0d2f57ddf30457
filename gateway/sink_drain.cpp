#include "gateway/sink_drain.hpp"

#include <algorithm>

namespace pushgate {

void DrainState::begin(std::int64_t cursor, std::int64_t head,
                       std::map<std::string, std::int64_t> backlog_last) {
  base_ = cursor;
  backlog_pos_ = cursor;
  live_pos_ = std::max(cursor, head);
  backlog_last_ = std::move(backlog_last);
  sent_ahead_.clear();
  outstanding_.clear();
}

bool DrainState::admit_live(const std::string& sn, std::int64_t id) {
  if (!draining()) {
    live_pos_ = std::max(live_pos_, id);
    backlog_pos_ = live_pos_;  // caught up: the lanes are one
    return true;
  }
  live_pos_ = std::max(live_pos_, id);
  auto it = backlog_last_.find(sn);
  if (it != backlog_last_.end()) {
    // Its terminal still has backlog: keep the per-terminal order, the
    // backlog lane sends this one after the older ones.
    it->second = id;
    return false;
  }
  sent_ahead_.push_back(id);
  return true;
}

bool DrainState::admit_backlog(const std::string& sn, std::int64_t id) {
  backlog_pos_ = id;
  while (!sent_ahead_.empty() && sent_ahead_.front() < id) {
    sent_ahead_.pop_front();  // cannot happen with ascending ids; keeps the deque bounded
  }
  if (!sent_ahead_.empty() && sent_ahead_.front() == id) {
    sent_ahead_.pop_front();
    return false;
  }
  if (auto it = backlog_last_.find(sn); it != backlog_last_.end() && it->second <= id) {
    backlog_last_.erase(it);  // this terminal's backlog is sent: its live events go at once
  }
  return true;
}

std::int64_t DrainState::cursor() const {
  std::int64_t c = backlog_pos_;
  if (!outstanding_.empty()) {
    c = std::min(c, outstanding_.begin()->first - 1);
  }
  return std::max(c, base_);
}

}  // namespace pushgate
