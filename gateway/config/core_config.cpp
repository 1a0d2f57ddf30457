#include "gateway/config/core_config.hpp"

namespace pushgate::config {

void declare_core_config(Schema& s) {
  s.describe_section("gateway", "[gateway] — this box.");
  s.add({"gateway.id",
         ValueType::String,
         std::string("pushgate"),
         "Identifies this gateway (site) in MQTT topics and logs. Letters, digits, - and _.",
         {},
         {},
         {},
         false});
  s.add({"gateway.data_dir",
         ValueType::String,
         std::string(""),
         "Where the database lives. Empty: $STATE_DIRECTORY when run by systemd\n"
         "(/var/lib/pushgate), else ./var in the working directory.",
         {},
         {},
         {},
         false});
  s.add({"gateway.timezone",
         ValueType::String,
         std::string(""),
         "The site's time zone: an IANA name (Europe/Berlin), UTC, or +HH:MM. Terminal\n"
         "times are in this zone unless the terminal has its own. Empty: the system's zone.",
         {},
         {},
         {},
         false});
  s.add({"gateway.unknown_terminals",
         ValueType::String,
         std::string("accept"),
         "What to do with a serial number never seen before. accept: store its data\n"
         "at once (right for a fresh install). pending (pairing mode): answer its\n"
         "handshake but refuse its data (the terminal keeps it and resends) until\n"
         "approved with POST /api/v1/terminals/SN/approve. refuse (allow-list): only\n"
         "serials in [terminals.\"SN\"] or approved over REST are served.",
         {},
         {},
         {"accept", "pending", "refuse"},
         true});
  s.add({"gateway.max_pending_terminals",
         ValueType::Int,
         std::int64_t{100},
         "With unknown_terminals = pending: how many unknown serials may wait for\n"
         "approval. Past it a new serial is refused and counted\n"
         "(pushgate_refused_requests_total{reason=\"pending_limit\"}), not stored.",
         std::int64_t{0},
         std::int64_t{100000},
         {},
         true});
  s.add({"gateway.shutdown_timeout_ms",
         ValueType::Int,
         std::int64_t{10000},
         "On SIGTERM: how long to finish the commit in flight, answer open requests\n"
         "and flush cursors before exiting anyway.",
         std::int64_t{100},
         std::int64_t{120000},
         {},
         false});
  s.add({"gateway.io_threads",
         ValueType::Int,
         std::int64_t{2},
         "Threads running network I/O, one io_context each; terminals' connections "
         "spread over them.",
         std::int64_t{1},
         std::int64_t{64},
         {},
         false});

  s.describe_section("log", "[log] — logs go to stderr, one line per message (journald-friendly).");
  s.add({"log.level",
         ValueType::String,
         std::string("info"),
         "Global level.",
         {},
         {},
         {"trace", "debug", "info", "warn", "error", "critical", "off"},
         true});
  s.add({"log.components",
         ValueType::String,
         std::string(""),
         "Per-component levels, e.g. \"zkpush=debug,store=warn\". Components: main, store,\n"
         "http, api, commands, rules, config, and each adapter compiled in, by its name\n"
         "(zkpush, mqtt, modbus, ...); --check-config names any other.",
         {},
         {},
         {},
         true});

  s.describe_section("health", "[health] — what /readyz holds against the uplinks (sinks).");
  s.add({"health.max_backlog_age_s",
         ValueType::Int,
         std::int64_t{300},
         "/readyz answers 503 once a sink's oldest undelivered event is older than this\n"
         "(broker down, uplink too slow). 0: the backlog never fails readiness.",
         std::int64_t{0},
         std::int64_t{604800},
         {},
         false});

  s.describe_section("store", "[store] — the SQLite database (WAL, synchronous=FULL).");
  s.add({"store.file",
         ValueType::String,
         std::string("pushgate.db"),
         "Database file, relative to gateway.data_dir.",
         {},
         {},
         {},
         false});
  s.add({"store.max_group_records",
         ValueType::Int,
         std::int64_t{20000},
         "Most records committed in one transaction (group commit).",
         std::int64_t{1},
         std::int64_t{1000000},
         {},
         false});
  s.add({"store.read_threads",
         ValueType::Int,
         std::int64_t{2},
         "Threads (each with its own connection) serving reads for the API.",
         std::int64_t{1},
         std::int64_t{16},
         {},
         false});
  s.add({"store.busy_timeout_ms",
         ValueType::Int,
         std::int64_t{5000},
         "How long a connection waits for a lock.",
         std::int64_t{0},
         std::int64_t{600000},
         {},
         false});
  s.add({"store.backup_dir",
         ValueType::String,
         std::string(""),
         "Scheduled backups: an online copy of the database (pushgate-<UTC time>.db)\n"
         "goes here every backup_interval. Relative: under gateway.data_dir (\"backups\"\n"
         "is /var/lib/pushgate/backups under the packaged service, writable there; a\n"
         "directory elsewhere needs ReadWritePaths= in a drop-in). Empty: no scheduled\n"
         "backups. `pushgated --backup FILE` takes one by hand. Restore: README.",
         {},
         {},
         {},
         false});
  s.add({"store.backup_keep",
         ValueType::Int,
         std::int64_t{7},
         "How many scheduled backups to keep: the newest; older ones of ours are deleted\n"
         "after each backup written. Other files in backup_dir are never touched.",
         std::int64_t{1},
         std::int64_t{1000},
         {},
         false});
  s.add({"store.backup_interval",
         ValueType::String,
         std::string("24h"),
         "Time between scheduled backups: \"24h\", \"12h\", \"1d12h\", \"30m\" (at least 1m).\n"
         "A failed one is logged, counted (pushgate_backup_failures_total) and retried\n"
         "after min(interval, 1h).",
         {},
         {},
         {},
         false});

  // Retention with a disk budget (gateway/store/retention.hpp, README "Disk").
  s.add({"store.retain_days",
         ValueType::Int,
         std::int64_t{365},
         "Days an event is kept after it was received. Older events are deleted once\n"
         "every enabled sink (MQTT) has acknowledged them; attendance punches the\n"
         "attendance service still needs (attendance.retain_days) and each terminal's\n"
         "latest event are kept. 0: events are deleted only for store.max_db_size.",
         std::int64_t{0},
         std::int64_t{36600},
         {},
         false});
  s.add({"store.max_db_size",
         ValueType::String,
         std::string("4GB"),
         "Disk budget of the database: pages in use plus the WAL, in bytes or with KB,\n"
         "MB, GB, TB (powers of 1024). Reaching it deletes the oldest events until 90%\n"
         "is left, delivered or not; events no sink had acknowledged are counted\n"
         "(pushgate_events_dropped_undelivered_total{sink}), reported as an alert\n"
         "event and in the log, and /readyz fails check \"retention\" for a day.\n"
         "Leave room on the disk for the OS, logs and backups. \"0\": no budget.",
         {},
         {},
         {},
         false});
  s.add({"store.retention_interval_s",
         ValueType::Int,
         std::int64_t{60},
         "How often retention checks the age of events and the size of the database.",
         std::int64_t{1},
         std::int64_t{86400},
         {},
         false});
  s.add({"store.retention_batch",
         ValueType::Int,
         std::int64_t{500},
         "Events deleted per transaction; uploads commit between two of them.",
         std::int64_t{1},
         std::int64_t{100000},
         {},
         false});

  s.describe_section("api", "[api] — the local REST API, /metrics, /healthz and /readyz.");
  s.add({"api.enabled", ValueType::Bool, true, "Serve the REST API.", {}, {}, {}, false});
  s.add({"api.listen",
         ValueType::String,
         std::string("127.0.0.1"),
         "Address to listen on. Loopback by default; see api.auth before opening it.",
         {},
         {},
         {},
         false});
  s.add({"api.port",
         ValueType::Int,
         std::int64_t{8090},
         "TCP port.",
         std::int64_t{0},
         std::int64_t{65535},
         {},
         false});
  s.add({"api.max_page",
         ValueType::Int,
         std::int64_t{1000},
         "Most events or quarantine rows in one page.",
         std::int64_t{1},
         std::int64_t{100000},
         {},
         false});
  s.add({"api.max_answer_bytes",
         ValueType::Int,
         std::int64_t{4 * 1024 * 1024},
         "Most bytes of rows in one page of events or quarantine rows: a page that\n"
         "would pass it ends early with more: true (next_after continues). A single\n"
         "row longer than this is still sent alone.",
         std::int64_t{4096},
         std::int64_t{1024} * 1024 * 1024,
         {},
         false});
  s.add({"api.auth",
         ValueType::String,
         std::string("required"),
         "Credentials on /api/v1 (README, \"Accounts and API credentials\"): \"required\"\n"
         "refuses a call without a session or an API token (401) or with too small a\n"
         "role (403); the first start with no account creates \"admin\" and writes its\n"
         "password to <data_dir>/initial-admin-password. \"off\" (development only)\n"
         "lets every local process call everything (warned at start).",
         {},
         {},
         {"required", "off"},
         false});
  s.add({"api.session_idle_s",
         ValueType::Int,
         std::int64_t{1800},
         "A console session unused this long is over (idle expiry).",
         std::int64_t{60},
         std::int64_t{7 * 86400},
         {},
         false});
  s.add({"api.session_max_s",
         ValueType::Int,
         std::int64_t{43200},
         "A console session is over this long after its login, used or not.",
         std::int64_t{60},
         std::int64_t{30 * 86400},
         {},
         false});
  s.add({"api.login_max_failures",
         ValueType::Int,
         std::int64_t{5},
         "Failed logins for one user name within api.login_lockout_s that lock it\n"
         "for api.login_lockout_s (answered 429).",
         std::int64_t{1},
         std::int64_t{1000},
         {},
         false});
  s.add({"api.login_max_failures_per_address",
         ValueType::Int,
         std::int64_t{20},
         "Failed logins from one source address within api.login_lockout_s that\n"
         "lock that address for api.login_lockout_s, whatever the names tried.",
         std::int64_t{1},
         std::int64_t{100000},
         {},
         false});
  s.add({"api.login_lockout_s",
         ValueType::Int,
         std::int64_t{300},
         "Window that counts failed logins, and how long a lockout lasts.",
         std::int64_t{1},
         std::int64_t{86400},
         {},
         false});
  s.add({"api.metrics_token",
         ValueType::String,
         std::string(""),
         "With api.auth = \"required\": empty serves /metrics to loopback clients only;\n"
         "set, /metrics needs \"Authorization: Bearer <this>\" (or any API credential)\n"
         "from any address.",
         {},
         {},
         {},
         false});
  s.add({"api.tls_cert_file",
         ValueType::String,
         std::string(""),
         "PEM certificate (chain) to serve the API over HTTPS (TLS 1.2 or newer) on\n"
         "api.port instead of plain HTTP; with api.tls_key_file, both or neither. See\n"
         "README, \"HTTPS for the API\", for how to make one.",
         {},
         {},
         {},
         false});
  s.add({"api.tls_key_file",
         ValueType::String,
         std::string(""),
         "PEM private key of api.tls_cert_file (readable by the service's user only).",
         {},
         {},
         {},
         false});
  s.add({"api.cors_origins",
         ValueType::StringList,
         std::vector<std::string>{},
         "Browser origins besides the API's own that may call it (CORS), matched\n"
         "exactly, e.g. [\"https://dashboard.example:8443\"]. Empty: a preflight or a\n"
         "change from any other origin is refused 403.",
         {},
         {},
         {},
         false});

  s.add({"api.console_dir",
         ValueType::String,
         std::string(""),
         "Folder of the web console's files, served under /console/ (README, \"Web\n"
         "console\"). Empty: /usr/share/pushgate/console where the package installs\n"
         "it, else the source tree's gateway/console (a build tree). Read at start.",
         {},
         {},
         {},
         false});
  s.add({"api.max_event_streams",
         ValueType::Int,
         std::int64_t{16},
         "Most live event streams (GET /api/v1/events/stream, the console's live\n"
         "tail) open at once; one more is answered 503.",
         std::int64_t{1},
         std::int64_t{1000},
         {},
         false});
  s.add({"api.event_stream_heartbeat_s",
         ValueType::Int,
         std::int64_t{15},
         "Seconds between an event stream's heartbeats; each also checks that the\n"
         "stream's session or token still holds.",
         std::int64_t{1},
         std::int64_t{300},
         {},
         false});

  s.describe_section("commands", "[commands] — the durable command queue (one per terminal).");
  s.add({"commands.default_ttl_s",
         ValueType::Int,
         std::int64_t{86400},
         "How long a command may wait for its terminal before it is reported expired\n"
         "(when the caller gives no expiry).",
         std::int64_t{1},
         std::int64_t{30 * 86400},
         {},
         false});
  s.add({"commands.door_ttl_s",
         ValueType::Int,
         std::int64_t{60},
         "How long a door action (open_door, normal_open, lock_door, cancel_alarm,\n"
         "close_door) may wait for its terminal when the caller gives no expiry, from\n"
         "every source (REST, MQTT and Home Assistant, linkage rules). A terminal that\n"
         "comes back later does not open the door then; the command is reported expired.",
         std::int64_t{1},
         std::int64_t{86400},
         {},
         false});
  s.add({"commands.ack_timeout_s",
         ValueType::Int,
         std::int64_t{60},
         "A delivered command without a result after this long is delivered again.",
         std::int64_t{1},
         std::int64_t{86400},
         {},
         false});
  s.add({"commands.max_attempts",
         ValueType::Int,
         std::int64_t{3},
         "Deliveries before a command without a result is reported failed.",
         std::int64_t{1},
         std::int64_t{100},
         {},
         false});
  s.add({"commands.max_per_poll",
         ValueType::Int,
         std::int64_t{16},
         "Most commands in one answer to a terminal's poll.",
         std::int64_t{1},
         std::int64_t{1000},
         {},
         false});
  s.add({"commands.max_bytes_per_poll",
         ValueType::Int,
         std::int64_t{65536},
         "Most bytes of commands in one answer (one large command is still sent alone).",
         std::int64_t{256},
         std::int64_t{16 * 1024 * 1024},
         {},
         false});

  s.describe_section("attendance",
                     "[attendance] — timecards from punches (rules/attendance/README.md, \"In the\n"
                     "gateway\").");
  s.add({"attendance.enabled",
         ValueType::Bool,
         true,
         "Compute timecards from attendance punches, store them, publish them as Timecard\n"
         "events and serve /api/v1/attendance/. Without rules (no rules_file, none set over\n"
         "REST) nothing is computed and nothing is held in memory.",
         {},
         {},
         {},
         false});
  s.add({"attendance.rules_file",
         ValueType::String,
         std::string(""),
         "A JSON rules document (schema in rules/attendance/README.md), read at start; a\n"
         "bad file stops the start naming each bad field. Rules set with PUT\n"
         "/api/v1/attendance/rules are stored and win over this file until DELETEd.\n"
         "Empty: no rules until set over REST.",
         {},
         {},
         {},
         false});
  s.add({"attendance.terminal_states",
         ValueType::Bool,
         true,
         "Use the attendance state a terminal sends with each punch (0 check-in, 1\n"
         "check-out, 2/3 break out/in, 4/5 overtime in/out). Set false for terminals that\n"
         "send 0 for every punch (punch state mode off, no state key pressed): the rules\n"
         "then give each punch its role by its time.",
         {},
         {},
         {},
         false});
  s.add({"attendance.retain_days",
         ValueType::Int,
         std::int64_t{93},
         "Days before today whose punches are held in memory and whose timecards are\n"
         "recomputed (late punches, rules changes). Older timecards stay as stored; the\n"
         "REST export still computes them from the event log.",
         std::int64_t{1},
         std::int64_t{3660},
         {},
         false});
  s.add({"attendance.tick_s",
         ValueType::Int,
         std::int64_t{60},
         "How often days whose punch window closed are finalised (a missing punch\n"
         "becomes an absence).",
         std::int64_t{1},
         std::int64_t{3600},
         {},
         false});

  s.describe_section("access",
                     "[access] — local access decisions for remote identification (Security PUSH\n"
                     "§10) with the master data kept here (rules/access/README.md).");
  s.add({"access.enabled",
         ValueType::Bool,
         true,
         "Keep the access master data (users, cards, time zones, holidays, levels, doors,\n"
         "areas; /api/v1/access/) and answer remote identification from it, with\n"
         "anti-passback and interlock across terminals. false: terminals asking are told\n"
         "AUTH=FAILED and decide by themselves.",
         {},
         {},
         {},
         false});
  s.add({"access.import_users",
         ValueType::Bool,
         true,
         "Import users that terminals upload into the master data. A user created or\n"
         "edited over REST is never overwritten by an upload; one first seen on a\n"
         "terminal follows that terminal's later uploads.",
         {},
         {},
         {},
         false});
  s.add({"access.import_levels",
         ValueType::StringList,
         std::vector<std::string>{},
         "Access level ids given to a user imported from a terminal (it opens nothing\n"
         "until it has a level). Example: [\"1\"].",
         {},
         {},
         {},
         false});
  s.add({"access.wait_for_commit",
         ValueType::String,
         std::string("none"),
         "Which answers wait until their decision is on disk (one fsync each). none:\n"
         "every answer goes out at once, the decision is stored right after; a grant's\n"
         "anti-passback move lost in a crash is restored by the terminal's own record of\n"
         "the passage (rtlog), which it sends until pushgate has stored it. apb: grants\n"
         "that move a user for anti-passback wait (and a disk that cannot commit keeps\n"
         "those doors shut). all: every answer waits for its Decision event's commit.",
         {},
         {},
         {"none", "apb", "all"},
         false});

  s.describe_section("outputs",
                     "[outputs] — named on/off outputs that linkage rules drive (a siren, a\n"
                     "beacon, a BMS alarm point); the Modbus server and MQTT show them.");
  s.add({"outputs.names",
         ValueType::StringList,
         std::vector<std::string>{},
         "The outputs, in order (at most 32); the order fixes their Modbus addresses,\n"
         "so append new names at the end. Example: [\"siren\", \"lobby_beacon\"].",
         {},
         {},
         {},
         false});

  s.describe_section("sync",
                     "[sync] — master data and enrolments sent down to the access-control\n"
                     "terminals as DATA UPDATE/DELETE commands (README, Synchronisation).");
  s.add({"sync.enabled",
         ValueType::Bool,
         true,
         "Queue the commands that keep every accepted access-control terminal in step\n"
         "with the master data (users, rights, time zones, holidays); progress on\n"
         "GET /api/v1/sync.",
         {},
         {},
         {},
         false});
  s.add({"sync.enrolment",
         ValueType::Bool,
         true,
         "Push a user enrolled on one terminal (user row, templates, photos it\n"
         "uploaded) to every other accepted access-control terminal that supports the\n"
         "biometric type (MultiBioDataSupport / MultiBioPhotoSupport); never back.",
         {},
         {},
         {},
         false});
  s.add({"sync.kinds",
         ValueType::StringList,
         std::vector<std::string>{"users", "timezones", "templates", "photos"},
         "What is synchronised: users (user rows and userauthorize), timezones (time\n"
         "zones and holidays), templates (biodata), photos (biophoto, userpic).",
         {},
         {},
         {},
         false});

  s.add({"sync.window",
         ValueType::Int,
         std::int64_t{32},
         "Records (user rows, rights, templates, photos) in sync commands queued or\n"
         "sent to one terminal at most. The rest of a large sync (10,000 users to 200\n"
         "terminals) is planned as the terminal takes them, so the command queue holds\n"
         "what is outstanding, not users x terminals.",
         std::int64_t{1},
         std::int64_t{10000},
         {},
         false});
  s.add({"sync.max_open_bytes",
         ValueType::Int,
         std::int64_t{4 * 1024 * 1024},
         "Bytes of parameters (templates, photos) in sync commands queued or sent, over\n"
         "every terminal, past which no terminal is planned more until some are done.\n"
         "Open commands are kept in memory: with 200 terminals each taking a window of\n"
         "20 KB photos this is what keeps a large sync within the memory ceiling\n"
         "(README, Memory). 0: no limit.",
         std::int64_t{0},
         {},
         {},
         false});

  s.describe_section("linkage",
                     "[linkage] — linkage rules: an event pattern fires commands to terminals,\n"
                     "alert events and outputs (rules/linkage/README.md).");
  s.add({"linkage.enabled",
         ValueType::Bool,
         true,
         "Match every committed event against the linkage rules and carry out what\n"
         "fires.",
         {},
         {},
         {},
         false});
  s.add({"linkage.rules_file",
         ValueType::String,
         std::string(""),
         "A JSON rules document ({\"rules\": [...]}, rules/linkage/README.md). Rules\n"
         "PUT on /api/v1/linkage/rules are stored and win until DELETEd. Empty: no\n"
         "rules until some are PUT. A bad file stops the start with each bad field named.",
         {},
         {},
         {},
         false});

  s.describe_section(
      "terminals",
      "[terminals.\"SERIAL\"] — per-terminal settings, one table per serial number.\n"
      "A terminal listed here is trusted even when gateway.unknown_terminals = pending.");
  s.add({"terminals.*.name",
         ValueType::String,
         std::string(""),
         "A name for people (\"Gate 1\").",
         {},
         {},
         {},
         false});
  s.add({"terminals.*.timezone",
         ValueType::String,
         std::string(""),
         "The zone the terminal's clock is in; empty: gateway.timezone.",
         {},
         {},
         {},
         false});
  s.add(
      {"terminals.*.encoding",
       ValueType::String,
       std::string(""),
       "The character set this terminal sends text in; empty: zkpush.encoding.",
       {},
       {},
       {"", "utf-8", "latin-1", "iso-8859-1", "cp1252", "windows-1252", "gbk", "gb2312", "gb18030"},
       false});
  s.add({"terminals.*.networks",
         ValueType::StringList,
         std::vector<std::string>{},
         "Source networks (CIDR, e.g. \"192.168.1.0/24\") this serial may connect from;\n"
         "empty: any. A request from elsewhere is refused and logged.",
         {},
         {},
         {},
         false});
}

}  // namespace pushgate::config
