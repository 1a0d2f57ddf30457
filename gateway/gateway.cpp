#include "gateway/gateway.hpp"

#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include <fstream>
#include <sstream>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>

#include "gateway/access/access_api.hpp"
#include "gateway/access/access_service.hpp"
#include "gateway/api/console_api.hpp"
#include "gateway/attendance/attendance_api.hpp"
#include "gateway/attendance/attendance_service.hpp"
#include "gateway/http/tls.hpp"
#include "gateway/json/bounded_json.hpp"
#include "gateway/linkage/linkage_service.hpp"
#include "gateway/logging.hpp"
#include "gateway/store/backup_schedule.hpp"
#include "gateway/store/retention.hpp"
#include "gateway/sync/sync_service.hpp"
#include "gateway/version.hpp"

namespace pushgate {

namespace {

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

// "user pushgate (uid 998)".
std::string user_name(uid_t uid) {
  std::string name = std::to_string(uid);
  if (const passwd* pw = ::getpwuid(uid); pw != nullptr && pw->pw_name != nullptr) {
    name = pw->pw_name;
  }
  return "user " + name + " (uid " + std::to_string(uid) + ")";
}

// Why a process cannot write `path` (a directory: write in it), in words an
// operator can act on: the errno text, who we run as, its owner and mode.
std::string access_problem(const std::filesystem::path& path, bool directory = true) {
  if (::access(path.c_str(), directory ? W_OK | X_OK : R_OK | W_OK) == 0) {
    return {};
  }
  int err = errno;
  if (!directory && err == ENOENT) {
    return {};  // a database not created yet
  }
  std::string why = std::string(directory ? "cannot write in " : "cannot write ") + path.string() +
                    ": " + std::strerror(err) + "; running as " + user_name(::geteuid());
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    why += std::string(", the ") + (directory ? "directory" : "file") + " belongs to " +
           user_name(st.st_uid) + " with mode " + mode;
  }
  return why;
}

// "key: why" from a message that starts with a key ("gateway.timezone: ...").
config::ConfigError error_from(const std::string& message) {
  auto colon = message.find(": ");
  if (colon != std::string::npos && colon > 0 && message.find(' ') > colon &&
      message.find('.') < colon) {
    return {message.substr(0, colon), message.substr(colon + 2)};
  }
  return {"", message};
}

// Who listens on a TCP port, from /proc: "pushgated (pid 812)"; `own` when
// it is a pushgated (this gateway, running). "" when /proc does not tell
// (another user's process, another network namespace).
std::string port_holder(std::uint16_t port, bool& own) {
  own = false;
  std::vector<std::string> inodes;
  for (const char* table : {"/proc/net/tcp", "/proc/net/tcp6"}) {
    std::ifstream in(table);
    std::string line;
    std::getline(in, line);  // header
    while (std::getline(in, line)) {
      std::istringstream fields(line);
      std::string slot, local, remote, state, queues, timer, retr, uid, timeout, inode;
      fields >> slot >> local >> remote >> state >> queues >> timer >> retr >> uid >> timeout >>
          inode;
      auto colon = local.rfind(':');
      if (state != "0A" || colon == std::string::npos) {
        continue;  // 0A: LISTEN
      }
      if (std::strtoul(local.c_str() + colon + 1, nullptr, 16) == port) {
        inodes.push_back("socket:[" + inode + "]");
      }
    }
  }
  if (inodes.empty()) {
    return {};
  }
  std::error_code ec;
  for (const auto& proc : std::filesystem::directory_iterator("/proc", ec)) {
    const auto pid = proc.path().filename().string();
    if (pid.find_first_not_of("0123456789") != std::string::npos) {
      continue;
    }
    std::error_code fec;
    for (const auto& fd : std::filesystem::directory_iterator(proc.path() / "fd", fec)) {
      std::error_code lec;
      auto target = std::filesystem::read_symlink(fd.path(), lec).string();
      if (lec || std::find(inodes.begin(), inodes.end(), target) == inodes.end()) {
        continue;
      }
      std::ifstream comm_file(proc.path() / "comm");
      std::string comm;
      std::getline(comm_file, comm);
      own = comm == "pushgated";
      return comm + " (pid " + pid + ")";
    }
  }
  return {};
}

bool valid_gateway_id(const std::string& id) {
  return !id.empty() && std::all_of(id.begin(), id.end(), [](unsigned char c) {
    return std::isalnum(c) != 0 || c == '-' || c == '_';
  });
}

}  // namespace

std::vector<config::ConfigError> validate_config(const config::Config& config) {
  std::vector<config::ConfigError> errors;
  auto add = [&](const std::string& message) {
    auto e = error_from(message);
    // A problem found twice (the zone is checked by several parts) is said once.
    for (const auto& have : errors) {
      if (have.key == e.key && have.reason == e.reason) {
        return;
      }
    }
    errors.push_back(std::move(e));
  };
  const auto& id = config.get_string("gateway.id");
  if (!valid_gateway_id(id)) {
    errors.push_back({"gateway.id",
                      "must be letters, digits, - and _ (it is an MQTT topic level),"
                      " got \"" +
                          id + "\""});
  }
  try {
    TerminalRegistry check(config);
  } catch (const std::exception& e) {
    add(e.what());
  }
  if (config.get_bool("attendance.enabled")) {
    for (const auto& problem :
         attendance::validate_options(attendance::options_from_config(config))) {
      add(problem);
    }
  }
  if (config.get_bool("access.enabled")) {
    try {
      auto o = access::options_from_config(config);
      (void)o;
    } catch (const std::exception& e) {
      add(e.what());
    }
  }
  if (config.get_bool("sync.enabled")) {
    try {
      auto o = sync::options_from_config(config);
      (void)o;
    } catch (const std::exception& e) {
      add(e.what());
    }
  }
  if (config.get_bool("api.enabled")) {
    const auto& cert = config.get_string("api.tls_cert_file");
    const auto& key = config.get_string("api.tls_key_file");
    if (cert.empty() != key.empty()) {
      errors.push_back({cert.empty() ? "api.tls_cert_file" : "api.tls_key_file",
                        "HTTPS needs both api.tls_cert_file and api.tls_key_file (or neither, "
                        "for plain HTTP)"});
    } else if (!cert.empty()) {
      for (const auto& [k, f] :
           {std::pair{"api.tls_cert_file", cert}, std::pair{"api.tls_key_file", key}}) {
        if (auto why = http::unreadable_file(k, f); !why.empty()) {
          add(why);
        }
      }
    }
    for (const auto& origin : config.get_list("api.cors_origins")) {
      if (auto why = api::check_cors_origin(origin); !why.empty()) {
        errors.push_back({"api.cors_origins", why});
      }
    }
  }
  for (auto& e : store::validate_backup_config(config)) {
    errors.push_back(std::move(e));
  }
  try {
    (void)store::retention_options_from_config(config);
  } catch (const std::exception& e) {
    add(e.what());
  }
  if (config.get_bool("linkage.enabled")) {
    if (auto problem = linkage::check_rules_file(config.get_string("linkage.rules_file"));
        !problem.empty()) {
      add(problem);
    }
  }
  {
    std::vector<std::string> components(kCoreLoggers.begin(), kCoreLoggers.end());
    for (const auto& reg : registered_adapters()) {
      components.emplace_back(reg.name);
    }
    if (auto problem = check_component_levels(config.get_string("log.components"), components);
        !problem.empty()) {
      errors.push_back({"log.components", problem});
    }
  }
  for (const auto& reg : registered_adapters()) {
    if (reg.validate != nullptr) {
      for (auto& e : reg.validate(config)) {
        errors.push_back(std::move(e));
      }
    }
  }
  return errors;
}

std::vector<ExposureWarning> api_exposure_warnings(const config::Config& config) {
  std::vector<ExposureWarning> out;
  if (!config.get_bool("api.enabled")) {
    return out;
  }
  const auto& listen = config.get_string("api.listen");
  boost::system::error_code ec;
  auto ip = boost::asio::ip::make_address(listen, ec);
  if (ec || ip.is_loopback() ||
      (ip.is_v6() && ip.to_v6().is_v4_mapped() &&
       boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, ip.to_v6()).is_loopback())) {
    return out;
  }
  const std::string where = "api.listen = " + listen;
  if (config.get_string("api.auth") != "required") {
    out.push_back({true, where + " is not loopback and api.auth = \"off\": anyone who reaches it "
                                 "can open every door and read every event; set api.auth = "
                                 "\"required\""});
  }
  if (config.get_string("api.tls_cert_file").empty()) {
    out.push_back({false, where + " is not loopback and the API speaks plain HTTP: passwords, "
                                  "tokens and session cookies cross the network in clear; set "
                                  "api.tls_cert_file and api.tls_key_file"});
  }
  return out;
}

std::vector<config::ConfigError> check_listeners(const config::Config& config,
                                                 std::vector<std::string>& notes) {
  struct Listener {
    const char* enabled;
    const char* listen;
    const char* port;
  };
  static constexpr Listener kListeners[] = {{"api.enabled", "api.listen", "api.port"},
                                            {"zkpush.enabled", "zkpush.listen", "zkpush.port"},
                                            {"zkpush.enabled", "zkpush.listen", "zkpush.tls_port"},
                                            {"modbus.enabled", "modbus.listen", "modbus.port"}};
  std::vector<config::ConfigError> errors;
  boost::asio::io_context ioc;
  for (const auto& l : kListeners) {
    std::string address;
    std::int64_t port = 0;
    try {
      if (!config.get_bool(l.enabled)) {
        continue;
      }
      address = config.get_string(l.listen);
      port = config.get_int(l.port);
    } catch (const std::logic_error&) {
      continue;  // an adapter not compiled in
    }
    if (port == 0) {
      continue;
    }
    boost::system::error_code ec;
    auto ip = boost::asio::ip::make_address(address, ec);
    if (ec) {
      errors.push_back({l.listen, "\"" + address + "\" is not an IP address: " + ec.message()});
      continue;
    }
    boost::asio::ip::tcp::endpoint endpoint(ip, static_cast<std::uint16_t>(port));
    boost::asio::ip::tcp::acceptor probe(ioc);
    boost::system::error_code ignored;
    probe.open(endpoint.protocol(), ec);
    if (!ec) {
      probe.set_option(boost::asio::socket_base::reuse_address(true), ignored);
      probe.bind(endpoint, ec);
    }
    if (!ec) {
      probe.listen(1, ec);
    }
    probe.close(ignored);
    if (!ec) {
      continue;
    }
    std::string line =
        "cannot listen on " + address + ":" + std::to_string(port) + ": " + ec.message();
    if (ec == boost::asio::error::address_in_use) {
      bool own = false;
      auto holder = port_holder(static_cast<std::uint16_t>(port), own);
      if (own) {
        // This gateway, running: checking its config before a reload or a
        // restart is what --check-config is for.
        notes.push_back(std::string(l.port) + ": " + std::to_string(port) + " is held by " +
                        holder + ", taken to be this gateway");
        continue;
      }
      if (holder.empty()) {
        notes.push_back(std::string(l.port) + ": " + line +
                        " (held by a process this user cannot see; if it is this gateway, "
                        "running, the port is fine)");
        continue;
      }
      line += " (held by " + holder + ")";
    }
    errors.push_back({l.port, line});
  }
  return errors;
}

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
  auto log = logger("main");
  if (auto errors = validate_config(config_); !errors.empty()) {
    auto text = config::format_errors(errors);
    text.pop_back();  // the caller logs it as one message
    return text;
  }
  std::error_code fec;
  std::filesystem::create_directories(data_dir_, fec);
  if (fec) {
    auto parent = data_dir_.parent_path();
    auto why = access_problem(parent.empty() ? "." : parent);
    return "gateway.data_dir: cannot create " + data_dir_.string() + ": " + fec.message() +
           (why.empty() ? std::string() : " (" + why + ")");
  }
  if (auto why = access_problem(data_dir_); !why.empty()) {
    return "gateway.data_dir: " + why;
  }
  store::Store::Options so;
  so.path = (data_dir_ / config_.get_string("store.file")).string();
  so.read_threads = static_cast<int>(config_.get_int("store.read_threads"));
  so.max_group_records = static_cast<std::size_t>(config_.get_int("store.max_group_records"));
  so.busy_timeout_ms = static_cast<int>(config_.get_int("store.busy_timeout_ms"));
  std::string error;
  store_ = store::Store::open(so, clock_, metrics_, error);
  if (!store_) {
    auto why = access_problem(so.path, false);
    return "store.file: cannot open " + so.path + ": " + error +
           (why.empty() ? std::string() : " (" + why + ")");
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
  status_ = std::make_unique<StatusFigures>(std::filesystem::path(so.path).parent_path(), health_);
  metrics_.callback_gauge("pushgate_disk_free_bytes", "Free space where the database lives",
                          [status = status_.get()] {
                            auto free = status->disk_free_bytes();
                            return free ? static_cast<double>(*free) : -1.0;
                          });
  metrics_.callback_gauge("pushgate_database_bytes", "Size of the database with its WAL",
                          [p = std::filesystem::path(so.path)] { return database_bytes(p); });
  // Scheduled backups: their own thread and read-only connection, never the writer's.
  if (auto bo = store::backup_options_from_config(config_, data_dir_, so.path)) {
    log->info("scheduled backups to {} every {} s, keeping {}", bo->dir.string(),
              bo->interval.count() / 1000, bo->keep);
    backups_ = std::make_unique<store::BackupScheduler>(*bo, clock_, metrics_, health_);
    backups_->start();
  }
  metrics_.gauge("pushgate_build_info", "Version of pushgated", {{"version", kVersion}}).set(1);
  // Every JSON input (REST, MQTT, rules files) refused before parsing, by reason.
  for (auto [why, label] :
       {std::pair{JsonRefusal::TooLarge, "too_large"}, std::pair{JsonRefusal::TooDeep, "too_deep"},
        std::pair{JsonRefusal::Invalid, "invalid"}}) {
    metrics_.callback_gauge(
        "pushgate_json_refused_total", "JSON inputs refused before parsing (since start)",
        [why = why] { return static_cast<double>(json_refused_count(why)); }, {{"reason", label}});
  }

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
  doors_ = std::make_unique<DoorService>(*terminals_, clock_, metrics_);
  if (auto err = doors_->load(*store_); !err.empty()) {
    return err;
  }
  doors_->add_routes(router_);

  CommandQueue::Options co;
  co.default_ttl_ms = config_.get_int("commands.default_ttl_s") * 1000;
  co.door_ttl_ms = config_.get_int("commands.door_ttl_s") * 1000;
  co.ack_timeout_ms = config_.get_int("commands.ack_timeout_s") * 1000;
  co.max_attempts = static_cast<int>(config_.get_int("commands.max_attempts"));
  co.max_per_poll = static_cast<std::size_t>(config_.get_int("commands.max_per_poll"));
  co.max_bytes_per_poll = static_cast<std::size_t>(config_.get_int("commands.max_bytes_per_poll"));
  commands_ = std::make_unique<CommandQueue>(*store_, clock_, metrics_, co);
  // Commands only for terminals we know and have not refused: one queued for
  // a serial never seen would wait its whole time to live for nobody.
  commands_->set_terminal_check([terminals = terminals_.get()](const std::string& sn) {
    return terminals->command_refusal(sn);
  });
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
      AdapterContext{ioc_, config_, *terminals_, metrics_, health_, clock_, router_, *commands_,
                     *outputs_, access_.get(), data_dir_, *doors_, *status_});
  // One io_context per I/O thread for terminals' connections: with two
  // threads on one io_context every completion woke the other thread
  // (about ten context switches per idle poll, issue 19).
  connection_contexts_.clear();
  const auto io_threads = static_cast<std::size_t>(config_.get_int("gateway.io_threads"));
  adapter_ctx_->connection_contexts.push_back(&ioc_);
  for (std::size_t i = 1; i < io_threads; ++i) {
    connection_contexts_.push_back(std::make_unique<boost::asio::io_context>(1));
    adapter_ctx_->connection_contexts.push_back(connection_contexts_.back().get());
  }
  sink_ports_ = std::make_unique<store::StoreSinkPorts>(*store_);
  adapter_ctx_->commits = store_.get();
  adapter_ctx_->event_readers = sink_ports_.get();
  adapter_ctx_->cursors = sink_ports_.get();
  adapter_ctx_->events = store_.get();
  adapter_state_ = std::make_unique<store::StoreAdapterState>(*store_);
  adapter_ctx_->adapter_state = adapter_state_.get();
  {
    // Names and time zones set over the API (PATCH /api/v1/terminals/{sn}),
    // before any adapter places a terminal's local time.
    boost::system::error_code ec;
    auto entries = adapter_state_->load(std::string(TerminalRegistry::kSettingsStateName), ec);
    if (ec) {
      return "reading the terminals' settings: " + ec.message();
    }
    for (const auto& sn : terminals_->load_settings(entries)) {
      log->warn("[sn={}] stored terminal settings unreadable, ignored", sn);
    }
  }
  commands_api_ = std::make_unique<api::CommandsApi>(router_, *store_, *commands_);

  api::RestApi::Options api_opts;
  api_opts.max_page = static_cast<std::size_t>(config_.get_int("api.max_page"));
  api_opts.max_answer_bytes = static_cast<std::size_t>(config_.get_int("api.max_answer_bytes"));
  rest_ = std::make_unique<api::RestApi>(router_, *store_, *terminals_, *adapter_state_, metrics_,
                                         health_, clock_, api_opts);
  if (config_.get_bool("api.enabled")) {
    // Before the listener: no request is served without the guard.
    auth_ = std::make_unique<auth::AuthService>(router_, *store_, clock_, metrics_,
                                                auth::auth_options_from_config(config_));
    if (auto err = auth_->ensure_first_admin(data_dir_); !err.empty()) {
      return err;
    }
    api::EventStreams::Options stream_opts;
    stream_opts.max_streams = static_cast<std::size_t>(config_.get_int("api.max_event_streams"));
    stream_opts.heartbeat = std::chrono::seconds(config_.get_int("api.event_stream_heartbeat_s"));
    stream_opts.session_idle_ms = config_.get_int("api.session_idle_s") * 1000;
    stream_opts.auth_required = config_.get_string("api.auth") == "required";
    event_streams_ =
        std::make_unique<api::EventStreams>(router_, *store_, clock_, metrics_, stream_opts);
    api::add_console_routes(router_, config_, *status_, clock_);
    console_ = std::make_unique<api::ConsoleFiles>(
        api::resolve_console_dir(config_.get_string("api.console_dir"), PUSHGATE_SOURCE_TREE),
        metrics_);
    http::ServerOptions ho;
    ho.name = "api";
    ho.address = config_.get_string("api.listen");
    ho.port = static_cast<std::uint16_t>(config_.get_int("api.port"));
    if (const auto& cert = config_.get_string("api.tls_cert_file"); !cert.empty()) {
      std::string tls_error;
      ho.tls = http::make_server_tls("api.tls_cert_file", cert, "api.tls_key_file",
                                     config_.get_string("api.tls_key_file"), tls_error);
      if (!ho.tls) {
        return tls_error;
      }
    }
    for (const auto& w : api_exposure_warnings(config_)) {
      if (w.error) {
        log->error("{}", w.text);
      } else {
        log->warn("{}", w.text);
      }
    }
    cors_ = std::make_unique<api::Cors>(config_.get_list("api.cors_origins"), metrics_);
    api_server_ = std::make_unique<http::Server>(
        ioc_, ho,
        [this](http::Request&& req, const http::RequestInfo& info, http::Reply reply) {
          if (api::ConsoleFiles::handles(req.target())) {
            console_->serve(req, std::move(reply));
            return;
          }
          cors_->handle(std::move(req), info, std::move(reply),
                        [this](http::Request&& r, const http::RequestInfo& i, http::Reply rep) {
                          router_.handle(std::move(r), i, std::move(rep));
                        });
        },
        metrics_);
    if (auto ec = api_server_->start()) {
      return "api.port: cannot listen on " + ho.address + ":" + std::to_string(ho.port) + ": " +
             ec.message();
    }
    log->info("REST API on {}://{}:{}/api/v1/", ho.tls ? "https" : "http", ho.address,
              api_server_->port());
  }

  for (const auto& reg : registered_adapters()) {
    auto a = reg.create(*adapter_ctx_);
    if (!a) {
      log->info("adapter {} disabled", reg.name);
      continue;
    }
    // Kept before it starts: stop() then stops an adapter whose start failed
    // half-way with the I/O threads running, like any other.
    adapters_.push_back(std::move(a));
    if (auto ec = adapters_.back()->start()) {
      auto why = adapters_.back()->start_error();
      return why.empty() ? "adapter " + std::string(reg.name) + " failed to start: " + ec.message()
                         : why;
    }
  }

  // After the adapters: every sink has loaded its cursor, and retention
  // deletes nothing one of them has not acknowledged.
  retention_ = std::make_unique<store::Retention>(
      *store_, clock_, metrics_, health_, store::retention_options_from_config(config_),
      [ports = sink_ports_.get()] { return ports->loaded_cursors(); }, sink_ports_.get());
  retention_->start();

  sweep_timer_ = std::make_unique<boost::asio::steady_timer>(ioc_);
  schedule_sweep();

  start_io_threads();
  started_ = true;
  health_.set(Health::Kind::Ready, "startup", true);
  return {};
}

void Gateway::start_io_threads() {
  work_ =
      std::make_unique<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>>(
          ioc_.get_executor());
  threads_.emplace_back([this] { run_io(ioc_); });
  for (auto& c : connection_contexts_) {
    connection_work_.push_back(boost::asio::make_work_guard(*c));
    threads_.emplace_back([this, ctx = c.get()] { run_io(*ctx); });
  }
}

void Gateway::run_io(boost::asio::io_context& ioc) {
  for (;;) {
    try {
      ioc.run();
      return;
    } catch (const std::exception& e) {
      // Handlers (terminal requests, REST, sync, linkage, access) are not
      // meant to throw; one that does loses its own work, not the daemon.
      logger("main")->error("I/O thread: unhandled exception: {}", e.what());
    }
  }
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
    start_io_threads();
    started_ = true;
  }
  if (sweep_timer_) {
    boost::asio::post(ioc_, [t = sweep_timer_.get()] { t->cancel(); });
  }
  if (backups_) {
    backups_->stop();  // a copy in progress is cancelled, its .tmp removed
  }
  // 1. Stop accepting; requests in flight keep their connections.
  for (auto& a : adapters_) {
    // What is left of the deadline, not the whole of it for each adapter.
    a->stop(std::max(std::chrono::milliseconds(0),
                     std::chrono::duration_cast<std::chrono::milliseconds>(
                         until - std::chrono::steady_clock::now())));
  }
  if (api_server_) {
    api_server_->stop();
  }
  if (event_streams_) {
    event_streams_->stop();  // before the store: it reads and subscribes there
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
  if (retention_) {
    retention_->stop();  // its batch in progress commits; the next is not started
  }
  if (store_ && terminals_) {
    // Terminals are no longer heard: their last_seen as of now, stored.
    auto seen = terminals_->last_seen_batch(clock_.now_ms(), true);
    if (!seen.empty()) {
      store_->append(std::move(seen), [](CommitResult r) {
        if (r.ec) {
          logger("main")->warn("last_seen of the terminals not stored at stop: {}", r.ec.message());
        }
      });
    }
  }
  if (store_) {
    store_->stop();
  }
  // 3. Let the answers go out (bounded), then stop the threads.
  work_.reset();
  connection_work_.clear();
  const auto all_stopped = [this] {
    return ioc_.stopped() && std::all_of(connection_contexts_.begin(), connection_contexts_.end(),
                                         [](const auto& c) { return c->stopped(); });
  };
  auto flush_until =
      std::min(until, std::chrono::steady_clock::now() + std::chrono::milliseconds(500));
  while (started_ && std::chrono::steady_clock::now() < flush_until && !all_stopped()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ioc_.stop();
  for (auto& c : connection_contexts_) {
    c->stop();
  }
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
    // Idle terminals' last_seen, a minute old at most, in one small batch.
    if (auto seen = terminals_->last_seen_batch(clock_.now_ms(), false); !seen.empty()) {
      store_->append(std::move(seen), [](CommitResult) {});
    }
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
