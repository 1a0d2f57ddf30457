#pragma once

// recordFinder.cgi: the backfill of access records and alarms. A reply reader,
// the find URL builder and a pager that walks a time range page by page,
// keeping the overlap and storing each RecNo once. Pure (see dahua_event.hpp).
//
// Request [obs: EthanFlower1/amcrest-sdk accesscontrol.go citing HTTP API V3.26 §12;
// zzhandoss/dahua-terminal-adapter dahua-client.ts]:
//   GET /cgi-bin/recordFinder.cgi?action=find&name=AccessControlCardRec
//       &StartTime=<t>&EndTime=<t>&count=<n>
// Reply: text/plain key=value lines, `found=N`, `records[i].Field=value`
// (`Records[i].` on some firmware), empty fields omitted on some firmware,
// `CreateTime` as epoch or "YYYY-MM-DD HH:MM:SS" (device-local), `totalCount`
// only sometimes.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "adapters/dahua/dahua_event.hpp"

namespace pushgate::adapters::dahua {

/** The two record tables the adapter backfills. */
inline constexpr std::string_view kCardRecordTable = "AccessControlCardRec";
inline constexpr std::string_view kAlarmRecordTable = "AccessControlAlarmRecord";

/** One row of a reply. */
struct FoundRecord {
  std::size_t index = 0;         ///< i of records[i]
  std::vector<KeyValue> fields;  ///< as sent, in order (Field names without the prefix)
  AccessFields access;           ///< the same fields decoded
  std::string raw;               ///< the row's lines, LF-joined
};

/** One line that was not understood. */
struct ReplyProblem {
  std::size_t line = 0;  ///< 1-based
  std::string reason;
  std::string raw;
};

struct RecordFinderReply {
  std::optional<std::int64_t> found;        ///< found=N
  std::optional<std::int64_t> total_count;  ///< totalCount=N (some firmware)
  std::vector<FoundRecord> records;         ///< ordered by index
  std::vector<ReplyProblem> problems;
  /** The device answered with an error body ("Error", "Bad Request!"). */
  bool device_error = false;
};

struct RecordFinderLimits {
  std::size_t max_records = 4096;  ///< rows per reply (indexes above are problems)
  std::size_t max_line_bytes = 4096;
};

/** Reads a reply body (LF or CRLF lines). */
RecordFinderReply parse_record_finder_reply(std::string_view body,
                                            const RecordFinderLimits& limits = {});

/** Percent-encodes everything but unreserved characters (RFC 3986 §2.3). */
std::string url_encode(std::string_view text);

struct FindRequest {
  std::string name = std::string(kCardRecordTable);
  std::string start_time;  ///< epoch seconds, or "YYYY-MM-DD HH:MM:SS" for OEM firmware
  std::string end_time;
  std::size_t count = 100;
};

/** "/cgi-bin/recordFinder.cgi?action=find&name=..&StartTime=..&EndTime=..&count=.." (encoded). */
std::string build_record_finder_target(const FindRequest& request);

/**
 * Walks [start, end] page by page. After each page the next StartTime is the
 * page's last CreateTime (not +1: records of the same second can straddle two
 * pages, so the overlap is kept) and rows already given are skipped by
 * their record key (RecNo, else the field hash). Done when a page is not
 * full or the range is exhausted. When a full page holds nothing new (more
 * than `count` records in one second), the pager steps one second on and
 * says so in `skipped_warning`: paging by time alone cannot do better.
 * Only epoch cursors are stepped; a device-local text cursor is used as sent.
 */
class RecordPager {
 public:
  explicit RecordPager(FindRequest first);

  /** The target of the next page to fetch; meaningless once done(). */
  std::string next_target() const { return build_record_finder_target(request_); }

  struct Page {
    std::vector<FoundRecord> fresh;  ///< rows not seen before, in device order
    std::string skipped_warning;     ///< non-empty when records may have been skipped
  };

  /** Takes the reply to next_target() and moves the cursor. */
  Page accept(const RecordFinderReply& reply);

  bool done() const noexcept { return done_; }
  const FindRequest& request() const noexcept { return request_; }

 private:
  FindRequest request_;
  std::set<std::string> boundary_keys_;  ///< keys of rows at the current StartTime
  bool done_ = false;
};

}  // namespace pushgate::adapters::dahua
