#include "adapters/zkpush/zkpush_security_registry.hpp"
#include "adapters/zkpush/zkpush_text.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <utility>

namespace pushgate::adapters::zkpush::security {
namespace {

using text::ascii_lower;
using text::hex_value;
using text::is_alnum;
using text::is_blank;
using text::is_digit;
using text::joined;
using text::key_value_line;
using text::Line;
using text::LineCursor;
using text::LineEnd;
using text::make_problem;
using text::parse_integer;
using text::sanitized;
using text::split;
using text::strip_tilde;
using text::trim_spaces;

}  // namespace

// ---------------------------------------------------------------------------
// Endpoints and uploads
// ---------------------------------------------------------------------------

SecurityEndpoint classify_security_endpoint(std::string_view path) noexcept {
  if (path.size() > 1 && path.back() == '/') {
    path.remove_suffix(1);
  }
  constexpr std::string_view kPrefix = "/iclock/";
  if (path.size() <= kPrefix.size() || !iequals(path.substr(0, kPrefix.size()), kPrefix)) {
    return SecurityEndpoint::Unknown;
  }
  const std::string_view name = path.substr(kPrefix.size());
  static constexpr std::array<std::pair<std::string_view, SecurityEndpoint>, 8> kNames = {{
      {"cdata", SecurityEndpoint::Cdata},
      {"registry", SecurityEndpoint::Registry},
      {"push", SecurityEndpoint::Push},
      {"getrequest", SecurityEndpoint::GetRequest},
      {"devicecmd", SecurityEndpoint::DeviceCmd},
      {"ping", SecurityEndpoint::Ping},
      {"querydata", SecurityEndpoint::QueryData},
      {"exchange", SecurityEndpoint::Exchange},
  }};
  for (const auto& [text, endpoint] : kNames) {
    if (iequals(name, text)) {
      return endpoint;
    }
  }
  return SecurityEndpoint::Unknown;
}

CdataUpload classify_cdata_upload(const QueryResult& query) noexcept {
  // §10's request carries AuthType=device and no table: it must be answered
  // with a verdict, never with "OK", so it is recognised first.
  if (const std::string* auth = query.find("AuthType");
      auth != nullptr && iequals(*auth, "device")) {
    return CdataUpload::RemoteAuth;
  }
  const std::string* table = query.find("table");
  if (table == nullptr) {
    return CdataUpload::Unknown;
  }
  static constexpr std::array<std::pair<std::string_view, CdataUpload>, 6> kTables = {{
      {"rtlog", CdataUpload::RtLog},
      {"rtstate", CdataUpload::RtState},
      {"tabledata", CdataUpload::TableData},
      {"options", CdataUpload::Options},
      {"irstate", CdataUpload::IrState},
      {"testdata", CdataUpload::TestData},
  }};
  for (const auto& [name, upload] : kTables) {
    if (iequals(*table, name)) {
      return upload;
    }
  }
  return CdataUpload::Unknown;
}

// ---------------------------------------------------------------------------
// Handshake request and version
// ---------------------------------------------------------------------------

HandshakeRequest handshake_request(const QueryResult& query) {
  HandshakeRequest request;
  auto text = [&query](std::string_view key) {
    const std::string* value = query.find(key);
    return value == nullptr ? std::string() : *value;
  };
  request.sn = text("SN");
  request.pushver = text("pushver");
  request.options_all = iequals(text("options"), "all");
  request.device_type = text("DeviceType");
  return request;
}

std::optional<ProtocolVersion> parse_protocol_version(std::string_view text) noexcept {
  text = trim_spaces(text);
  if (text.size() >= 3 && iequals(text.substr(0, 3), "Ver")) {
    text.remove_prefix(3);
  } else if (!text.empty() && (text.front() == 'V' || text.front() == 'v')) {
    text.remove_prefix(1);
  }
  text = trim_spaces(text);
  std::array<int, 3> parts{0, 0, 0};
  std::size_t count = 0;
  std::size_t start = 0;
  while (true) {
    if (count == parts.size()) {
      return std::nullopt;
    }
    const std::size_t dot = text.find('.', start);
    const std::string_view part =
        text.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    // Each part is plain decimal digits: no sign, no spaces, no suffix.
    if (part.empty() || part.size() > 6 ||
        !std::all_of(part.begin(), part.end(), [](char c) { return is_digit(c); })) {
      return std::nullopt;
    }
    parts[count++] = *parse_integer<int>(part);
    if (dot == std::string_view::npos) {
      break;
    }
    start = dot + 1;
  }
  return ProtocolVersion{parts[0], parts[1], parts[2]};
}

std::string format_protocol_version(const ProtocolVersion& version) {
  return std::to_string(version.major) + "." + std::to_string(version.minor) + "." +
         std::to_string(version.patch);
}

std::optional<bool> announces_security_push(const QueryResult& query) noexcept {
  if (const std::string* type = query.find("DeviceType"); type != nullptr && !type->empty()) {
    // A terminal that names its type is believed: "acc" is access control,
    // anything else ("att") the attendance dialect.
    return iequals(*type, "acc");
  }
  if (const std::string* pushver = query.find("pushver"); pushver != nullptr) {
    if (auto v = parse_protocol_version(*pushver)) {
      return v->major >= 3;
    }
  }
  return std::nullopt;
}

VersionChoice choose_push_prot_ver(std::string_view terminal_pushver) {
  VersionChoice choice;
  // Appendix 13: a terminal that sends no pushver is taken to speak 3.0.1.
  ProtocolVersion terminal = kDefaultPushProtVer;
  if (std::optional<ProtocolVersion> parsed = parse_protocol_version(terminal_pushver)) {
    terminal = *parsed;
    choice.terminal_version_known = true;
  }
  // Always announce the plain-text ceiling: both ends settle on the lower
  // version, so whatever the terminal claims the result is below 3.1.1 and
  // no key exchange or encryption is ever started.
  choice.announce = format_protocol_version(kPlainTextPushProtVer);
  choice.effective = format_protocol_version(std::min(terminal, kPlainTextPushProtVer));
  return choice;
}

// ---------------------------------------------------------------------------
// Registration
// ---------------------------------------------------------------------------

bool DeviceRegistration::is_access_control() const noexcept {
  return iequals(device_type, "acc");
}

bool DeviceRegistration::acc_supports(std::size_t position) const noexcept {
  return position < acc_support_fun_list.size() && acc_support_fun_list[position] == '1';
}

const std::string* RegistryResult::find(std::string_view key) const noexcept {
  const std::string_view wanted = strip_tilde(key);
  for (const KeyValue& field : fields) {
    if (iequals(strip_tilde(field.key), wanted)) {
      return &field.value;
    }
  }
  return nullptr;
}

RegistryResult parse_registry(std::string_view body) {
  RegistryResult result;
  std::vector<std::size_t> field_lines;  // body line of each field, for problems
  LineCursor cursor(body, LineEnd::CrNul);
  Line line;
  while (cursor.next(line)) {
    if (is_blank(line.text)) {
      continue;
    }
    // zkpush::parse_options already splits the option format (commas that
    // start a key, commas inside values kept); it sees one line at a time so
    // problems get this body's line numbers.
    OptionsResult options = parse_options(line.text);
    for (KeyValue& kv : options.options) {
      result.fields.push_back(std::move(kv));
      field_lines.push_back(line.number);
    }
    for (ParseProblem& problem : options.problems) {
      problem.line = line.number;
      problem.reason = "registry " + problem.reason;
      result.problems.push_back(std::move(problem));
    }
  }

  auto index_of = [&result](std::string_view key) -> std::optional<std::size_t> {
    for (std::size_t i = 0; i < result.fields.size(); ++i) {
      if (iequals(strip_tilde(result.fields[i].key), key)) {
        return i;
      }
    }
    return std::nullopt;
  };
  auto text = [&](std::string_view key) {
    const std::optional<std::size_t> i = index_of(key);
    return i ? result.fields[*i].value : std::string();
  };
  auto number = [&](std::string_view key, auto type_tag) {
    using Int = decltype(type_tag);
    const std::optional<std::size_t> i = index_of(key);
    if (!i || result.fields[*i].value.empty()) {
      return std::optional<Int>();
    }
    const KeyValue& kv = result.fields[*i];
    std::optional<Int> value = parse_integer<Int>(kv.value);
    if (!value) {
      // Keep the registration usable: the pair stays in `fields`, only the
      // typed member is left empty.
      result.problems.push_back(make_problem(field_lines[*i],
                                             "registry " + std::string(key) + " is not a number",
                                             kv.key + "=" + kv.value));
    }
    return value;
  };
  const int kInt = 0;
  const std::int64_t kInt64 = 0;

  DeviceRegistration& d = result.device;
  d.device_type = text("DeviceType");
  d.device_name = text("DeviceName");
  d.firmware = text("FirmVer");
  d.push_version = text("PushVersion");
  d.mac = text("MAC");
  d.comm_type = text("CommType");
  d.ip_address = text("IPAddress");
  d.net_mask = text("NetMask");
  d.gateway = text("GATEIPAddress");
  d.max_package_size = number("MaxPackageSize", kInt64);
  d.lock_count = number("LockCount", kInt);
  d.reader_count = number("ReaderCount", kInt);
  d.aux_in_count = number("AuxInCount", kInt);
  d.aux_out_count = number("AuxOutCount", kInt);
  d.max_lock_count = number("MaxLockCount", kInt);
  d.machine_type = number("MachineType", kInt);
  d.max_user_count = number("MaxUserCount", kInt64);
  d.max_attlog_count = number("MaxAttLogCount", kInt64);
  d.cmd_format = number("CmdFormat", kInt);
  d.date_fmt_fun_on = number("DateFmtFunOn", kInt);
  d.multi_bio_data_support = text("MultiBioDataSupport");
  d.multi_bio_photo_support = text("MultiBioPhotoSupport");
  d.multi_bio_version = text("MultiBioVersion");
  d.max_multi_bio_data_count = text("MaxMultiBioDataCount");
  d.max_multi_bio_photo_count = text("MaxMultiBioPhotoCount");
  d.acc_support_fun_list = text("AccSupportFunList");
  d.verify_styles = text("VerifyStyles");
  d.event_types = text("EventTypes");
  d.new_vf_styles = text("NewVFStyles");
  d.bio_photo_fun = number("BioPhotoFun", kInt);
  d.bio_data_fun = number("BioDataFun", kInt);
  d.ir_temp_detection_fun_on = number("IRTempDetectionFunOn", kInt);
  d.mask_detection_fun_on = number("MaskDetectionFunOn", kInt);
  d.dev_ns_level = number("DevNSLevel", kInt);
  // Appendix 15. A terminal claiming both roles is treated as the master:
  // its results then carry sub-controller SNs, which is the safer reading.
  const std::optional<int> multi_stage = number("MultiStageControlFunOn", kInt);
  const std::optional<int> master = number("MasterControlOn", kInt);
  const std::optional<int> sub = number("SubControlOn", kInt);
  if (multi_stage == 1 && master == 1) {
    d.role = ControllerRole::Master;
  } else if (multi_stage == 1 && sub == 1) {
    d.role = ControllerRole::Sub;
  }
  return result;
}

std::string render_registry_answer(std::string_view registry_code) {
  return "RegistryCode=" + sanitized(registry_code);
}

bool valid_registry_code(std::string_view code) noexcept {
  return !code.empty() && code.size() <= 32 && std::all_of(code.begin(), code.end(), is_alnum);
}

// ---------------------------------------------------------------------------
// Server configuration answers
// ---------------------------------------------------------------------------

std::string render_unregistered_handshake() {
  // §4.1: a terminal that is not registered hears "OK" and goes on to
  // POST /iclock/registry.
  return std::string(kOkAnswer);
}

std::string render_registered_handshake(const RegisteredHandshake& answer) {
  const ServerConfig& c = answer.config;
  std::vector<std::string> lines = {
      "registry=ok",
      key_value_line("RegistryCode", answer.registry_code),
      key_value_line("ServerVersion", c.server_version),
      key_value_line("ServerName", c.server_name),
      key_value_line("PushProtVer", c.push_prot_ver),
      key_value_line("ErrorDelay", std::to_string(c.error_delay)),
      key_value_line("RequestDelay", std::to_string(c.request_delay)),
      key_value_line("TransTimes", c.trans_times),
      key_value_line("TransInterval", std::to_string(c.trans_interval)),
      key_value_line("TransTables", c.trans_tables),
      key_value_line("Realtime", c.realtime ? "1" : "0"),
      key_value_line("SessionID", c.session_id),
      key_value_line("TimeoutSec", std::to_string(c.timeout_sec)),
  };
  for (const KeyValue& kv : answer.extra) {
    lines.push_back(key_value_line(kv.key, kv.value));
  }
  return joined(lines, "\n");
}

std::string render_push_config(const PushConfigAnswer& answer) {
  const ServerConfig& c = answer.config;
  // The §4.5 example's order, which puts the version (as PushVersion) right
  // after ServerName; its 218-byte Content-Length is these lines joined by LF
  // with none after the last.
  std::vector<std::string> lines = {
      key_value_line("ServerVersion", c.server_version),
      key_value_line("ServerName", c.server_name),
      key_value_line("PushVersion", c.push_prot_ver),
      key_value_line("ErrorDelay", std::to_string(c.error_delay)),
      key_value_line("RequestDelay", std::to_string(c.request_delay)),
      key_value_line("TransTimes", c.trans_times),
      key_value_line("TransInterval", std::to_string(c.trans_interval)),
      key_value_line("TransTables", c.trans_tables),
      key_value_line("Realtime", c.realtime ? "1" : "0"),
      key_value_line("SessionID", c.session_id),
      key_value_line("TimeoutSec", std::to_string(c.timeout_sec)),
  };
  // A terminal that registered in this session never saw §4.1's answer, so
  // this is where it learns the version: send the Appendix 13 name too.
  if (answer.also_push_prot_ver) {
    lines.push_back(key_value_line("PushProtVer", c.push_prot_ver));
  }
  auto optional = [&lines](std::string_view key, const std::optional<std::string>& value) {
    if (value) {
      lines.push_back(key_value_line(key, *value));
    }
  };
  optional("BioPhotoFun", answer.bio_photo_fun);
  optional("BioDataFun", answer.bio_data_fun);
  optional("MultiBioDataSupport", answer.multi_bio_data_support);
  optional("MultiBioPhotoSupport", answer.multi_bio_photo_support);
  optional("NewVFStyles", answer.new_vf_styles);
  optional("IRTempUnitTrans", answer.ir_temp_unit_trans);
  optional("QRCodeDecryptType", answer.qr_code_decrypt_type);
  optional("QRCodeDecryptKey", answer.qr_code_decrypt_key);
  optional("SvrNSLevel", answer.svr_ns_level);
  for (const KeyValue& kv : answer.extra) {
    lines.push_back(key_value_line(kv.key, kv.value));
  }
  return joined(lines, "\n");
}

std::vector<std::string> split_bio_list(std::string_view list) {
  std::vector<std::string> values;
  if (is_blank(list)) {
    return values;
  }
  for (std::string_view part : split(list, ':')) {
    values.emplace_back(trim_spaces(part));
  }
  return values;
}

bool bio_type_listed(std::string_view list, std::size_t type) {
  const std::vector<std::string> values = split_bio_list(list);
  return type < values.size() && values[type] == "1";
}

std::string intersect_bio_support(std::string_view terminal, std::string_view server) {
  const std::vector<std::string> a = split_bio_list(terminal);
  const std::vector<std::string> b = split_bio_list(server);
  std::vector<std::string> out(std::max(a.size(), b.size()), "0");
  for (std::size_t i = 0; i < out.size(); ++i) {
    if (i < a.size() && i < b.size() && a[i] == "1" && b[i] == "1") {
      out[i] = "1";
    }
  }
  return joined(out, ":");
}

// ---------------------------------------------------------------------------
// Token
// ---------------------------------------------------------------------------

std::optional<std::string> compute_token(std::string_view registry_code, std::string_view sn,
                                         std::string_view session_id) {
  std::string input;
  input.reserve(registry_code.size() + sn.size() + session_id.size());
  input.append(registry_code).append(sn).append(session_id);
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int length = 0;
  // EVP_Digest fails only when the library will not do MD5 at all (FIPS
  // providers): the caller then cannot check tokens and says so at startup.
  if (EVP_Digest(input.data(), input.size(), digest.data(), &length, EVP_md5(), nullptr) != 1 ||
      length != 16) {
    return std::nullopt;
  }
  static constexpr std::string_view kDigits = "0123456789abcdef";
  std::string hex;
  hex.reserve(32);
  for (unsigned int i = 0; i < length; ++i) {
    hex += kDigits[digest[i] >> 4];
    hex += kDigits[digest[i] & 0x0f];
  }
  return hex;
}

CookieValues parse_cookie(std::string_view header_value) {
  CookieValues values;
  std::size_t start = 0;
  while (start <= header_value.size()) {
    const std::size_t end = header_value.find_first_of(";,", start);
    std::string_view piece = trim_spaces(header_value.substr(
        start, end == std::string_view::npos ? std::string_view::npos : end - start));
    const std::size_t eq = piece.find('=');
    if (eq == std::string_view::npos) {
      // §7.4's example sends the bare token as the whole cookie.
      const bool hex32 = piece.size() == 32 && std::all_of(piece.begin(), piece.end(), [](char c) {
                           return hex_value(c) >= 0;
                         });
      if (hex32 && !values.token) {
        values.token = std::string(piece);
      }
    } else {
      const std::string_view name = trim_spaces(piece.substr(0, eq));
      std::string_view value = trim_spaces(piece.substr(eq + 1));
      if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
        value = value.substr(1, value.size() - 2);
      }
      if (iequals(name, "token") && !values.token) {
        values.token = std::string(value);
      } else if (iequals(name, "timestamp") && !values.timestamp) {
        values.timestamp = std::string(value);
      }
    }
    if (end == std::string_view::npos) {
      break;
    }
    start = end + 1;
  }
  return values;
}

bool token_matches(std::string_view expected, std::string_view presented) noexcept {
  if (expected.empty() || expected.size() != presented.size()) {
    return false;
  }
  // Accumulate every difference instead of returning at the first, so the
  // time taken does not tell a guesser how many leading digits were right.
  unsigned int difference = 0;
  for (std::size_t i = 0; i < expected.size(); ++i) {
    difference |= static_cast<unsigned char>(ascii_lower(expected[i])) ^
                  static_cast<unsigned char>(ascii_lower(presented[i]));
  }
  return difference == 0;
}

}  // namespace pushgate::adapters::zkpush::security
