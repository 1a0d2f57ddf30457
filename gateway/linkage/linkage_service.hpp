#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <spdlog/logger.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/strand.hpp>
#include <nlohmann/json.hpp>

#include "gateway/api/router.hpp"
#include "gateway/clock.hpp"
#include "gateway/command_queue.hpp"
#include "gateway/event.hpp"
#include "gateway/event_log.hpp"
#include "gateway/metrics/metrics.hpp"
#include "gateway/outputs.hpp"
#include "rules/linkage/linkage.hpp"

namespace pushgate {
namespace config {
class Config;
}
namespace store {
class Store;
}
namespace access {
class AccessService;
}
}  // namespace pushgate

namespace pushgate::linkage {

namespace rl = pushgate::rules::linkage;

struct Options {
  bool enabled = true;     ///< linkage.enabled
  std::string rules_file;  ///< linkage.rules_file ("" = no file)
};

Options options_from_config(const config::Config& config);

/** Reads a rules file; the rules, or the problems (file:field: message). */
rl::Parsed load_rules_file(const std::string& path);
/** The start's check of linkage.rules_file: "" or "linkage.rules_file: <path>: why". */
std::string check_rules_file(const std::string& path);

/**
 * Linkage rules in the gateway (issue 7 item 4): every committed event is
 * matched against the rules (rules/linkage); what fires is carried out — a
 * command queued durably for any terminal, an alert event in the event log
 * (published by the MQTT bridge like every event), a named output set or
 * pulsed (shown by Modbus and MQTT).
 *
 * Rules come from `linkage.rules_file`, or from a document PUT over REST,
 * which is stored (table linkage_rules) and wins until DELETEd.
 *
 * Threads: the commit observer (writer thread) copies the events and posts
 * them to the service's strand; matching and actions run there and never
 * wait (enqueue and append are asynchronous).
 */
class LinkageService {
 public:
  LinkageService(boost::asio::io_context& ioc, store::Store& store, const Clock& clock,
                 metrics::Registry& metrics, CommandQueue& commands, Outputs& outputs,
                 access::AccessService* access, Options options);
  ~LinkageService();
  LinkageService(const LinkageService&) = delete;
  LinkageService& operator=(const LinkageService&) = delete;

  /** Loads the rules (stored, else the file) and subscribes to commits. "" or why not. */
  std::string start();
  void stop();

  /** GET, PUT, DELETE /api/v1/linkage/rules. */
  void add_routes(api::Router& router);

  /** Waits until every event handed over was matched and its actions issued. Test-only. */
  bool wait_idle_for_test(std::chrono::milliseconds deadline);

 private:
  struct Shared;

  void on_commit(const std::vector<Event>& committed);     // writer thread
  void handle(const Event& event);                         // strand
  void run(const rl::Firing& firing, const Event& event);  // strand
  rl::EventFacts facts_of(const Event& event) const;

  boost::asio::io_context& ioc_;
  store::Store& store_;
  const Clock& clock_;
  CommandQueue& commands_;
  Outputs& outputs_;
  access::AccessService* access_;
  Options options_;
  std::shared_ptr<spdlog::logger> log_;
  std::shared_ptr<Shared> shared_;
  boost::asio::strand<boost::asio::io_context::executor_type> strand_;
  rl::Engine engine_;  // strand only
  /** Whether any enabled rule exists: with none, commits are not even copied. */
  std::atomic<bool> active_{false};
  void set_rules(std::vector<rl::Rule> rules);  // strand (or start)
  std::string source_ = "none";                 // strand only: file | api | none
  /** Stored rules disabled at start because they no longer validate (strand only). */
  nlohmann::json invalid_ = nlohmann::json::array();

  metrics::Counter& events_;
  metrics::Counter& fired_;
  metrics::Counter& debounced_;
  metrics::Counter& commands_queued_;
  metrics::Counter& alerts_;
  metrics::Counter& outputs_driven_;
  metrics::Counter& failures_;
  /** Last member: destroyed first, so no commit reaches a half-destroyed service. */
  CommitSubscription commit_sub_;
};

}  // namespace pushgate::linkage
