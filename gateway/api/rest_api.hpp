#pragma once

#include <cstddef>

#include "gateway/adapter_state.hpp"
#include "gateway/api/router.hpp"
#include "gateway/clock.hpp"
#include "gateway/health.hpp"
#include "gateway/metrics/metrics.hpp"
#include "gateway/store/store.hpp"
#include "gateway/terminals.hpp"

namespace pushgate::api {

/**
 * The local REST API (JSON), read side and terminal trust:
 *
 *   GET  /api/v1/terminals                    every terminal with counts
 *   POST /api/v1/terminals/{sn}/approve       admit a pending terminal
 *   POST /api/v1/terminals/{sn}/refuse        refuse a terminal
 *   PATCH /api/v1/terminals/{sn}              {"name", "timezone"}: rename, set its zone
 *   GET  /api/v1/events?after=&limit=&terminal=&kind=   (before=: newest first)
 *   GET  /api/v1/quarantine?after=&limit=&terminal=
 *   GET  /metrics   /healthz   /readyz
 *
 * Pages are cursor-based: each answer carries `next_after`, the value of
 * `after` for the next page. Reads run on the store's read threads.
 */
class RestApi {
 public:
  struct Options {
    std::size_t max_page = 1000;
    std::size_t default_page = 100;
    /** Bytes of rows in one answer (past the first row): the rest is on the next page. */
    std::size_t max_answer_bytes = 4 * 1024 * 1024;
  };

  RestApi(Router& router, store::Store& store, TerminalRegistry& terminals,
          AdapterState& settings_state, metrics::Registry& metrics, Health& health,
          const Clock& clock, Options options);

 private:
  void list_terminals(http::Request&& req, http::Reply reply);
  void set_terminal_state(http::Request&& req, const std::string& sn, const std::string& state,
                          http::Reply reply);
  void patch_terminal(http::Request&& req, const std::string& sn, http::Reply reply);
  void list_events(http::Request&& req, http::Reply reply);
  void list_quarantine(http::Request&& req, http::Reply reply);

  store::Store& store_;
  TerminalRegistry& terminals_;
  AdapterState& settings_state_;
  metrics::Registry& metrics_;
  Health& health_;
  const Clock& clock_;
  Options options_;
};

}  // namespace pushgate::api
