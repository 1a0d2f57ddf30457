#include "tests/support/ledger_check.hpp"

#include <fstream>
#include <sstream>
#include <string_view>

#include "gateway/store/record_keys.hpp"

namespace pushgate::test {

std::set<AckedRecord> read_attlog_ledger(const std::string& path) {
  std::ifstream in(path);
  std::stringstream all;
  all << in.rdbuf();
  auto text = all.str();
  auto last = text.find_last_of('\n');
  text.erase(last == std::string::npos ? 0 : last + 1);
  std::set<AckedRecord> out;
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    auto tab = line.find('\t');
    auto rec = line.substr(tab + 1);
    auto t2 = rec.find('\t', rec.find('\t') + 1);
    out.emplace(line.substr(0, tab), "ATTLOG\t" + rec.substr(0, t2));
  }
  return out;
}

std::size_t not_stored_once(store::Connection& db, const std::set<AckedRecord>& records) {
  boost::system::error_code ec;
  auto count = db.prepare(
      "SELECT COUNT(*) FROM events e JOIN terminals t ON t.id = e.terminal_id"
      " WHERE t.sn = ?1 AND e.record_key = ?2",
      ec);
  if (ec) {
    return records.size();
  }
  std::size_t missing = 0;
  for (const auto& [sn, key] : records) {
    count.reset();
    // The column holds ATTLOG keys time first (store/record_keys.hpp).
    count.bind(1, std::string_view(sn)).bind(2, store::stored_record_key(key));
    if (!count.step(ec) || count.column_int(0) != 1) {
      ++missing;
    }
  }
  return missing;
}

}  // namespace pushgate::test
