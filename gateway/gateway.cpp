#include "gateway/gateway.hpp"

#include <sys/statvfs.h>

#include <cstdlib>

#include <boost/asio/post.hpp>

#include "gateway/access/access_api.hpp"
#include "gateway/access/access_service.hpp"
#include "gateway/attendance/attendance_api.hpp"
#include "gateway/attendance/attendance_service.hpp"
#include "gateway/linkage/linkage_service.hpp"
#include "gateway/logging.hpp"
#include "gateway/sync/sync_service.hpp"
#include "gateway/version.hpp"

namespace pushgate {

namespace {

double disk_free_bytes(const std::filesystem::path& dir) {
  struct statvfs s {};
  if (statvfs(dir.c_str(), &s) != 0) {
    return -1;
  }
  return static_cast<double>(s.f_bavail) * static_cast<double>(s.f_frsize);
}

double database_bytes(const std::filesystem::path& p) {
  std::error_code ec;
  double total = 0;
  for (const char* suffix : {"", "-wal", "-shm"}) {
    auto n = std::filesystem::file_size(p.string() + suffix, ec);
    if (!ec) {
      total += static_cast<double>(n);
    }
  }
  return total;
}

}  // namespace

Gateway::Gateway(const config::Config& config, const Clock& clock)
    : config_(config), clock_(clock), data_dir_(resolve_data_dir(config)) {}

Gateway::~Gateway() {
  stop(std::chrono::milliseconds(5000));
}

std::filesystem::path Gateway::resolve_data_dir(const config::Config& cfg) {
  const auto& configured = cfg.get_string("gateway.data_dir");
  if (!configured.empty()) {
    return configured;
  }
  if (const char* state = std::getenv("STATE_DIRECTORY"); state != nullptr && *state != '\0') {
    std::string s(state);
    return s.substr(0, s.find(':'));  // systemd may list several
  }
  return std::filesystem::current_path() / "var";
}

std::string Gateway::start() {
  auto log = logger(Component::Main);
  std::error_code fec;
  std::filesystem::create_directories(data_dir_, fec);
  if (fec) {
    return "cannot create data directory " + data_dir_.string() + ": " + fec.message();
  }
  store::Store::Options so;
  so.path = (data_dir_ / config_.get_string("store.file")).string();
  so.read_threads = static_cast<int>(config_.get_int("store.read_threads"));
  so.max_group_records = static_cast<std::size_t>(config_.get_int("store.max_group_records"));
  so.busy_timeout_ms = static_cast<int>(config_.get_int("store.busy_timeout_ms"));
  std::string error;
  store_ = store::Store::open(so, clock_, metrics_, error);
  if (!store_) {
    return error;
  }
  // Before the writer starts, so its commit observer sees every punch.
  if (config_.get_bool("attendance.enabled")) {
    try {
      attendance_ = std::make_unique<attendance::AttendanceService>(
          *store_, clock_, metrics_, attendance::options_from_config(config_));
    } catch (const std::exception& e) {
      return e.what();
    }
    attendance_api_ = std::make_unique<attendance::AttendanceApi>(router_, *attendance_);
  }
  if (config_.get_bool("access.enabled")) {
    try {
      access_ = std::make_unique<access::AccessService>(*store_, clock_, metrics_,
                                                        access::options_from_config(config_));
    } catch (const std::exception& e) {
      return e.what();
    }
    access_api_ = std::make_unique<access::AccessApi>(router_, *access_);
  }
  store_->start();
  if (attendance_) {
    attendance_->start();
  }
  if (access_) {
    // Before any adapter starts: a terminal's first question is decided with the stored data.
    if (auto err = access_->load(); !err.empty()) {
      return err;
    }
  }
  metrics_.callback_gauge("pushgate_disk_free_bytes", "Free space where the database lives",
                          [dir = data_dir_] { return disk_free_bytes(dir); });
  metrics_.callback_gauge("pushgate_database_bytes", "Size of the database with its WAL",
                          [p = std::filesystem::path(so.path)] { return database_bytes(p); });
  metrics_.gauge("pushgate_build_info", "Version of pushgated", {{"version", kVersion}}).set(1);

  try {
    terminals_ = std::make_unique<TerminalRegistry>(config_);
  } catch (const std::exception& e) {
    return e.what();
  }
  terminals_->load(*store_);
  metrics_.callback_gauge(
      "pushgate_terminals_online", "Terminals heard from in the last 5 minutes", [this] {
        return static_cast<double>(terminals_->online_count(clock_.now_ms(), 5 * 60 * 1000));
      });
  health_.set(Health::Kind::Live, "store", true);

  CommandQueue::Options co;
  co.default_ttl_ms = config_.get_int("commands.default_ttl_s") * 1000;
  co.ack_timeout_ms = config_.get_int("commands.ack_timeout_s") * 1000;
  co.max_attempts = static_cast<int>(config_.get_int("commands.max_attempts"));
  co.max_per_poll = static_cast<std::size_t>(config_.get_int("commands.max_per_poll"));
  co.max_bytes_per_poll = static_cast<std::size_t>(config_.get_int("commands.max_bytes_per_poll"));
  commands_ = std::make_unique<CommandQueue>(*store_, clock_, metrics_, co);
  commands_->load();
  outputs_ = std::make_unique<Outputs>(config_.get_list("outputs.names"));
  // Before the API and the adapters: both observe commits from the first upload on.
  if (config_.get_bool("sync.enabled")) {
    try {
      sync_ = std::make_unique<sync::SyncService>(ioc_, *store_, clock_, metrics_, *commands_,
                                                  *terminals_, access_.get(),
                                                  sync::options_from_config(config_));
    } catch (const std::exception& e) {
      return e.what();
    }
    if (auto err = sync_->start(); !err.empty()) {
      return err;
    }
    sync_->add_routes(router_);
  }
  if (config_.get_bool("linkage.enabled")) {
    linkage_ = std::make_unique<linkage::LinkageService>(ioc_, *store_, clock_, metrics_,
                                                         *commands_, *outputs_, access_.get(),
                                                         linkage::options_from_config(config_));
    if (auto err = linkage_->start(); !err.empty()) {
      return err;
    }
    linkage_->add_routes(router_);
  }

  adapter_ctx_ = std::make_unique<AdapterContext>(
      AdapterContext{ioc_, config_, *store_, *terminals_, metrics_, health_, clock_, router_,
                     *commands_, *outputs_, access_.get()});
  commands_api_ = std::make_unique<api::CommandsApi>(router_, *store_, *commands_);

  api::RestApi::Options api_opts;
  api_opts.max_page = static_cast<std::size_t>(config_.get_int("api.max_page"));
  api_opts.max_answer_bytes = static_cast<std::size_t>(config_.get_int("api.max_answer_bytes"));
  rest_ = std::make_unique<api::RestApi>(router_, *store_, *terminals_, metrics_, health_, clock_,
                                         api_opts);
  if (config_.get_bool("api.enabled")) {
    http::ServerOptions ho;
    ho.name = "api";
    ho.address = config_.get_string("api.listen");
    ho.port = static_cast<std::uint16_t>(config_.get_int("api.port"));
    api_server_ = std::make_unique<http::Server>(
        ioc_, ho,
        [this](http::Request&& req, const http::RequestInfo& info, http::Reply reply) {
          router_.handle(std::move(req), info, std::move(reply));
        },
        metrics_);
    if (auto ec = api_server_->start()) {
      return "REST API cannot listen on " + ho.address + ":" + std::to_string(ho.port) + ": " +
             ec.message();
    }
    log->info("REST API on http://{}:{}/api/v1/", ho.address, api_server_->port());
  }

  for (const auto& reg : registered_adapters()) {
    auto a = reg.create(*adapter_ctx_);
    if (!a) {
      log->info("adapter {} disabled", reg.name);
      continue;
    }
    if (auto ec = a->start()) {
      return "adapter " + std::string(reg.name) + " failed to start: " + ec.message();
    }
    adapters_.push_back(std::move(a));
  }

  sweep_timer_ = std::make_unique<boost::asio::steady_timer>(ioc_);
  schedule_sweep();

  work_ =
      std::make_unique<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>>(
          ioc_.get_executor());
  auto n = static_cast<std::size_t>(config_.get_int("gateway.io_threads"));
  for (std::size_t i = 0; i < n; ++i) {
    threads_.emplace_back([this] { ioc_.run(); });
  }
  started_ = true;
  health_.set(Health::Kind::Ready, "startup", true);
  return {};
}

void Gateway::stop(std::chrono::milliseconds deadline) {
  if (stopped_) {
    return;
  }
  stopped_ = true;
  health_.set(Health::Kind::Ready, "startup", false, "stopping");
  auto until = std::chrono::steady_clock::now() + deadline;
  // A start that failed half-way never ran the I/O threads: run one now so
  // listeners close and posted work completes.
  if (threads_.empty()) {
    work_ =
        std::make_unique<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>>(
            ioc_.get_executor());
    threads_.emplace_back([this] { ioc_.run(); });
    started_ = true;
  }
  if (sweep_timer_) {
    boost::asio::post(ioc_, [t = sweep_timer_.get()] { t->cancel(); });
  }
  // 1. Stop accepting; requests in flight keep their connections.
  for (auto& a : adapters_) {
    a->stop(deadline);
  }
  if (api_server_) {
    api_server_->stop();
  }
  // 2. Commit everything queued; each waiting request gets its answer posted
  //    to the io_context, which is still running.
  if (attendance_) {
    attendance_->stop();  // its last batches are still committed below
  }
  if (sync_) {
    sync_->stop();
  }
  if (linkage_) {
    linkage_->stop();
  }
  if (store_) {
    store_->stop();
  }
  // 3. Let the answers go out (bounded), then stop the threads.
  work_.reset();
  auto flush_until =
      std::min(until, std::chrono::steady_clock::now() + std::chrono::milliseconds(500));
  while (started_ && std::chrono::steady_clock::now() < flush_until && !ioc_.stopped()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ioc_.stop();
  for (auto& t : threads_) {
    if (t.joinable()) {
      t.join();
    }
  }
  threads_.clear();
  adapters_.clear();
  api_server_.reset();
}

// Once a second: expire commands past their time, fail those out of
// attempts. The changes go through the writer like any other.
void Gateway::schedule_sweep() {
  sweep_timer_->expires_after(std::chrono::seconds(1));
  sweep_timer_->async_wait([this](boost::system::error_code ec) {
    if (ec || stopped_) {
      return;
    }
    outputs_->tick(clock_.now_ms());
    WriteBatch batch;
    std::vector<CommandRecord> changed;
    commands_->sweep(batch, changed);
    if (!batch.empty()) {
      store_->append(std::move(batch), [this, changed = std::move(changed)](CommitResult r) {
        if (!r.ec) {
          commands_->committed(changed);
        }
      });
    }
    schedule_sweep();
  });
}

void Gateway::reload(const config::Config& config) {
  if (terminals_) {
    terminals_->reload(config);
  }
  for (auto& a : adapters_) {
    a->reload(config);
  }
}

std::uint16_t Gateway::api_port() const noexcept {
  return api_server_ ? api_server_->port() : 0;
}

Adapter* Gateway::adapter(std::string_view name) noexcept {
  for (auto& a : adapters_) {
    if (a->name() == name) {
      return a.get();
    }
  }
  return nullptr;
}

}  // namespace pushgate
