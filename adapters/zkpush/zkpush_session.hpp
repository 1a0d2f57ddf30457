#pragma once

#include <array>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "adapters/zkpush/zkpush_capture.hpp"
#include "adapters/zkpush/zkpush_config.hpp"
#include "adapters/zkpush/zkpush_protocol.hpp"
#include "gateway/adapter.hpp"
#include "gateway/command_queue.hpp"
#include "gateway/event_log.hpp"
#include "gateway/http/server.hpp"
#include "gateway/log_rate_limiter.hpp"
#include "gateway/logging.hpp"
#include "gateway/terminals.hpp"

namespace pushgate::adapters::zkpush {

class SecurityService;

/**
 * Handles one terminal request from start to answer: checks who is asking,
 * parses with zkpush_protocol, normalises into a WriteBatch, waits for the
 * commit and answers. Runs on the connection's strand; never blocks (the
 * store works on its own thread and the answer comes back by post).
 *
 * Faces untrusted terminals on the site LAN: every input is bounded by the
 * HTTP server before it gets here and parsed without trusting it.
 */
class ZkpushService {
 public:
  ZkpushService(AdapterContext& ctx, ZkpushConfig config);

  void handle(http::Request&& req, const http::RequestInfo& info, http::Reply reply);

  /** Config keys marked (reload) take effect for the next handshake. */
  void reload(const ZkpushConfig& config);

 private:
  // Security PUSH (access control, zkpush_security_session*.cpp) shares the
  // admission, the command poll and commit_and_answer.
  friend class SecurityService;
  struct Request;
  void to_utf8(Request& r);
  void handshake(Request& r);
  void upload(Request& r);
  void poll(Request& r);
  /** Keeps a getrequest's INFO= values in the terminal's info JSON (queues the persist op). */
  void note_info(Request& r);
  /**
   * set_option with "verify": true: after its Return=0, queues a get_options
   * for the key; when that one finishes, records "verified" or "not applied"
   * on the set_option (the latter also fails it). Adds to `batch`.
   */
  void read_back(Request& r, const std::vector<CommandRecord>& changed, WriteBatch& batch);
  /**
   * Gap backfill: a known terminal back after zkpush.gap_backfill_after_s of
   * silence, or first heard since pushgated started, gets a query of its
   * records for the gap (once per gap); noted in its info JSON (last_gap).
   */
  void check_gap(Request& r, std::int64_t last_seen_ms);
  void device_command(Request& r);
  /** Counts and logs (rate-limited, with the source address) results that did not count. */
  void refused_results(const Request& r, const std::vector<CommandQueue::Refusal>& refused);
  void commit_and_answer(Request& r, WriteBatch&& batch, std::string ok_body,
                         std::vector<CommandRecord> changed = {});
  void answer(Request& r, boost::beast::http::status status, std::string body);
  void refuse(Request& r, boost::beast::http::status status, std::string_view reason,
              std::string body);

  AdapterContext& ctx_;
  std::shared_ptr<const ZkpushConfig> config_;
  std::shared_ptr<spdlog::logger> log_;
  metrics::Counter& committed_uploads_;
  metrics::Counter& failed_uploads_;
  metrics::Counter& parse_problems_;
  metrics::Counter& gap_backfills_;
  std::int64_t started_ms_;
  std::mutex gap_mutex_;
  std::map<std::string, std::int64_t, std::less<>> gap_noted_;
  // Lines anyone can trigger (unknown serials, forged results): one a minute per reason.
  LogRateLimiter log_limiter_;
  metrics::Counter& text_replaced_;
  metrics::Counter& long_fields_;
  // pushgate_zkpush_requests_total by endpoint, looked up once (every
  // request counts: no label lookup per poll).
  std::array<metrics::Counter*, static_cast<std::size_t>(Endpoint::Unknown) + 1> requests_{};
  std::shared_ptr<SecurityService> security_;
  // Traffic captures (zkpush.capture_terminals, POST /api/v1/terminals/{sn}/capture).
  std::shared_ptr<CaptureRegistry> captures_;
  void add_capture_routes();
  void capture(const Request& r, const http::Response& res);
};

// One request in flight (also handled by SecurityService, zkpush_security_session*.cpp).
struct ZkpushService::Request {
  http::Request req;
  http::RequestInfo info;
  http::Reply reply;
  QueryResult query;
  Endpoint endpoint = Endpoint::Unknown;
  std::string sn;
  TerminalRecord terminal;
  std::int64_t now_ms = 0;
  WriteBatch pending;  // terminal bookkeeping to commit with the request
  // The body as the terminal sent it, when converting it to UTF-8 changed it
  // (req.body() then holds the converted text the parsers read).
  std::optional<std::string> original_body;
  // The body as sent, kept only while the terminal's traffic is captured
  // (decided once per request: set means the answer is captured too).
  std::optional<std::string> captured_body;
};

}  // namespace pushgate::adapters::zkpush
