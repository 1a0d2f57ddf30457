#include "adapters/zkpush/zkpush_normalize.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <cctype>

#include <nlohmann/json.hpp>

#include "gateway/device_records.hpp"
#include "gateway/device_text.hpp"
#include "gateway/event_json.hpp"

namespace pushgate::adapters::zkpush {

namespace {

LocalDateTime to_local(const DeviceTime& t) {
  return LocalDateTime{t.year, t.month, t.day, t.hour, t.minute, t.second};
}

std::optional<std::int64_t> utc_of(const DeviceTime& t, const UploadContext& ctx) {
  // A clock never set (or set by hand) also sends well-formed dates like
  // 1900-01-01 or 9999-12-31: flagged like the pre-NTP garbage, with no UTC
  // time (local_time keeps what was sent) instead of a punch decades away.
  if (ctx.zone == nullptr || t.year < kFirstPlausibleYear || t.year > kLastPlausibleYear) {
    return std::nullopt;
  }
  return ctx.zone->to_utc_ms(to_local(t));
}

Event base_event(const UploadContext& ctx, EventKind kind, std::string raw) {
  Event e;
  e.terminal_sn = ctx.sn;
  e.kind = kind;
  e.raw = std::move(raw);
  e.received_ms = ctx.received_ms;
  e.command_id = ctx.command_id;
  return e;
}

nlohmann::json kv_json(const KeyValues& kvs) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& kv : kvs) {
    j[kv.key] = kv.value;
  }
  return j;
}

int opt(const std::optional<int>& v) {
  return v ? *v : kUnset;
}

// ATTLOG extras are short ASCII (numbers, flags): build their JSON directly on
// this hot path; anything else goes through nlohmann (escaping, UTF-8).
bool plain_ascii(std::string_view s) {
  for (unsigned char c : s) {
    if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\') {
      return false;
    }
  }
  return true;
}

std::string attlog_extra_json(const AttlogRecord& r) {
  bool fast = plain_ascii(r.reserved1) && plain_ascii(r.reserved2);
  for (const auto& f : r.extra) {
    fast = fast && plain_ascii(f.name) && plain_ascii(f.value);
  }
  if (!fast) {
    nlohmann::json extra = nlohmann::json::object();
    if (!r.reserved1.empty()) {
      extra["reserved1"] = r.reserved1;
    }
    if (!r.reserved2.empty()) {
      extra["reserved2"] = r.reserved2;
    }
    for (const auto& f : r.extra) {
      extra[f.name] = f.value;
    }
    return dump_json(extra);
  }
  std::string out = "{";
  auto add = [&out](std::string_view k, std::string_view v) {
    if (out.size() > 1) {
      out += ',';
    }
    out.append("\"").append(k).append("\":\"").append(v).append("\"");
  };
  for (const auto& f : r.extra) {
    add(f.name, f.value);
  }
  if (!r.reserved1.empty()) {
    add("reserved1", r.reserved1);
  }
  if (!r.reserved2.empty()) {
    add("reserved2", r.reserved2);
  }
  out += '}';
  return out;
}

// zkpush's records onto the core's device records (gateway/device_records.hpp).
DeviceUser device_user(const UserRecord& u, std::string fields_json) {
  DeviceUser d;
  d.pin = u.pin;
  d.name = u.name;
  d.privilege = u.privilege;
  d.password = u.password;
  d.card = u.card;
  if (!u.vice_card.empty()) {
    d.other_cards.push_back(u.vice_card);
  }
  d.group = u.group;
  d.time_zones = u.time_zones;
  d.verify = u.verify;
  d.fields_json = std::move(fields_json);
  return d;
}

// BIODATA Type is already the core's template type code.
DeviceTemplate device_template(const TemplateRecord& t, int bio_type) {
  DeviceTemplate d;
  d.pin = t.pin;
  d.type = bio_type;
  d.number = t.number.value_or(0);
  d.index = t.index.value_or(0);
  d.valid = t.valid;
  d.duress = t.duress;
  if (t.major_ver) {
    d.major_ver = std::to_string(*t.major_ver);
  }
  if (t.minor_ver) {
    d.minor_ver = std::to_string(*t.minor_ver);
  }
  d.format = t.format;
  d.size = t.size;
  d.data = t.data;
  return d;
}

DevicePhoto device_photo(const PhotoRecord& p, const std::string& photo_kind) {
  DevicePhoto d;
  d.pin = p.pin;
  d.kind = photo_kind == "biophoto" ? DevicePhoto::Kind::Biometric : DevicePhoto::Kind::User;
  d.type = p.type.value_or(0);
  d.file_name = p.file_name;
  d.size = p.size;
  d.content = p.content;
  return d;
}

// BIODATA Type for the legacy template lines (spec: 1 fingerprint, 2 face, 7 finger vein).
int bio_type_of(OperlogKind kind, const TemplateRecord& t) {
  switch (kind) {
    case OperlogKind::Fingerprint:
      return 1;
    case OperlogKind::Face:
      return 2;
    case OperlogKind::FingerVein:
      return 7;
    default:
      return t.type.value_or(0);
  }
}

// The first text field of a record longer than the limit, as a reason for
// its quarantine row; empty when every field fits.
class FieldCheck {
 public:
  explicit FieldCheck(std::size_t limit) : limit_(limit) {}
  FieldCheck& operator()(std::string_view name, std::string_view value) {
    if (limit_ != 0 && reason_.empty() && value.size() > limit_) {
      reason_ = "field " + std::string(name) + " is " + std::to_string(value.size()) +
                " bytes, over the limit of " + std::to_string(limit_);
    }
    return *this;
  }
  FieldCheck& operator()(const KeyValues& kvs) {
    for (const auto& kv : kvs) {
      (*this)(kv.key, kv.key);
      (*this)(kv.key, kv.value);
    }
    return *this;
  }
  const std::string& reason() const noexcept { return reason_; }

 private:
  std::size_t limit_;
  std::string reason_;
};

std::string long_field(const AttlogRecord& r, std::size_t limit) {
  FieldCheck check(limit);
  check("PIN", r.pin)("Time", r.time_text)("WorkCode", r.workcode)("Reserved1", r.reserved1)(
      "Reserved2", r.reserved2);
  for (const auto& f : r.extra) {
    check(f.name, f.value);
  }
  return check.reason();
}

std::string long_field(const OperlogEntry& entry, std::size_t limit) {
  FieldCheck check(limit);
  std::visit(
      [&](const auto& rec) {
        using T = std::decay_t<decltype(rec)>;
        if constexpr (std::is_same_v<T, OplogRecord>) {
          check("OpWho", rec.op_who)("OpTime", rec.time_text)("Value1", rec.value1)(
              "Value2", rec.value2)("Value3", rec.value3)("Reserved", rec.reserved);
          for (const auto& v : rec.extra) {
            check("extra", v);
          }
        } else if constexpr (std::is_same_v<T, UserRecord>) {
          check("PIN", rec.pin)("Name", rec.name)("Passwd", rec.password)("Card", rec.card)(
              "TZ", rec.time_zones)("ViceCard", rec.vice_card)(rec.extra);
        } else if constexpr (std::is_same_v<T, TemplateRecord>) {
          // TMP (base64 template data) is bounded by the body limit only.
          check("PIN", rec.pin)("Format", rec.format)(rec.extra);
        } else if constexpr (std::is_same_v<T, PhotoRecord>) {
          // Content (base64 JPEG) is bounded by the body limit only.
          check("PIN", rec.pin)("FileName", rec.file_name)(rec.extra);
        } else if constexpr (std::is_same_v<T, ErrorLogRecord>) {
          check("ErrCode", rec.err_code)("ErrMsg", rec.err_msg)("DataOrigin", rec.data_origin)(
              "CmdId", rec.cmd_id)("Additional", rec.additional)(rec.extra);
        }
      },
      entry.record);
  return check.reason();
}

// A record with an oversized field is kept raw in quarantine, not stored as
// an event: a field that long is not a punch or an operation, and carried
// into the event log it would be copied into every answer and message.
bool quarantine_long(std::string reason, std::size_t line, std::string&& raw,
                     const UploadContext& ctx, WriteBatch& batch) {
  if (reason.empty()) {
    return false;
  }
  if (ctx.long_fields != nullptr) {
    ctx.long_fields->inc();
  }
  QuarantineRecord q;
  q.terminal_sn = ctx.sn;
  q.endpoint = ctx.endpoint;
  q.table = ctx.table;
  q.line_no = static_cast<int>(line);
  q.reason = std::move(reason);
  q.raw = std::move(raw);
  q.received_ms = ctx.received_ms;
  batch.quarantine.push_back(std::move(q));
  return true;
}

}  // namespace

std::string digest(std::string_view bytes) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(bytes.data(), bytes.size(), md, &len, EVP_sha256(), nullptr);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < 12 && i < len; ++i) {
    out += kHex[md[i] >> 4];
    out += kHex[md[i] & 0xf];
  }
  return out;
}

bool quarantine_long_line(std::string_view raw, std::size_t line, const UploadContext& ctx,
                          WriteBatch& batch) {
  if (ctx.max_field_bytes == 0 || raw.size() <= ctx.max_field_bytes) {
    return false;
  }
  static constexpr std::string_view kExempt[] = {"tmp",      "template",    "content",    "photo",
                                                 "photojpg", "fptemplate1", "fptemplate2"};
  FieldCheck check(ctx.max_field_bytes);
  std::string_view rest = raw;
  while (!rest.empty()) {
    auto tab = rest.find('\t');
    std::string_view pair = rest.substr(0, tab);
    rest = tab == std::string_view::npos ? std::string_view() : rest.substr(tab + 1);
    auto eq = pair.find('=');
    std::string_view key = pair.substr(0, eq);
    if (auto space = key.rfind(' '); space != std::string_view::npos) {
      key = key.substr(space + 1);  // "user pin=1": the type word goes before the first key
    }
    std::string_view value =
        eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1);
    bool exempt = false;
    for (auto e : kExempt) {
      exempt = exempt || (key.size() == e.size() &&
                          std::equal(key.begin(), key.end(), e.begin(), [](char a, char b) {
                            return std::tolower(static_cast<unsigned char>(a)) == b;
                          }));
    }
    std::string shown = key.size() > 64 ? std::string(key.substr(0, 64)) + "..." : std::string(key);
    check(shown, key);
    if (!exempt) {
      check(shown, value);
    }
  }
  return quarantine_long(check.reason(), line, std::string(raw), ctx, batch);
}

void add_problems(const std::vector<ParseProblem>& problems, const UploadContext& ctx,
                  WriteBatch& batch) {
  for (const auto& p : problems) {
    QuarantineRecord q;
    q.terminal_sn = ctx.sn;
    q.endpoint = ctx.endpoint;
    q.table = ctx.table;
    q.line_no = static_cast<int>(p.line);
    q.reason = p.reason;
    q.raw = p.raw;
    q.received_ms = ctx.received_ms;
    batch.quarantine.push_back(std::move(q));
  }
}

void add_problem(ParseProblem&& p, const UploadContext& ctx, WriteBatch& batch) {
  QuarantineRecord q;
  q.terminal_sn = ctx.sn;
  q.endpoint = ctx.endpoint;
  q.table = ctx.table;
  q.line_no = static_cast<int>(p.line);
  q.reason = std::move(p.reason);
  q.raw = std::move(p.raw);
  q.received_ms = ctx.received_ms;
  batch.quarantine.push_back(std::move(q));
}

void quarantine_body(std::string_view body, std::string_view reason, const UploadContext& ctx,
                     WriteBatch& batch) {
  QuarantineRecord q;
  q.terminal_sn = ctx.sn;
  q.endpoint = ctx.endpoint;
  q.table = ctx.table;
  q.line_no = 0;
  q.reason = std::string(reason);
  q.raw = std::string(body);
  q.received_ms = ctx.received_ms;
  batch.quarantine.push_back(std::move(q));
}

Event make_event(const UploadContext& ctx, EventKind kind, std::string raw) {
  return base_event(ctx, kind, std::move(raw));
}

std::optional<std::int64_t> utc_of_device_time(const DeviceTime& time, const UploadContext& ctx) {
  return utc_of(time, ctx);
}

std::string user_fields_json(const UserRecord& rec) {
  nlohmann::json fields = {{"name", rec.name},
                           {"card", rec.card},
                           {"privilege", opt(rec.privilege)},
                           {"group", opt(rec.group)},
                           {"time_zones", rec.time_zones},
                           {"verify", opt(rec.verify)},
                           {"vice_card", rec.vice_card}};
  for (const auto& kv : rec.extra) {
    fields[kv.key] = kv.value;
  }
  return dump_json(fields);
}

void add_user_record(const UserRecord& rec, std::string fields_json, const std::string& raw,
                     const UploadContext& ctx, WriteBatch& batch) {
  Event e = base_event(ctx, EventKind::Enrollment, raw);
  e.record_key = "USER\t" + rec.pin + "\t" + digest(raw);
  e.pin = rec.pin;
  auto fields = nlohmann::json::parse(fields_json, nullptr, false);
  nlohmann::json extra = {{"record", "user"}, {"fields", std::move(fields)}};
  e.extra_json = dump_json(extra);
  batch.events.push_back(std::move(e));
  add_device_user(batch, ctx.sn, device_user(rec, std::move(fields_json)));
}

void add_template_record(const TemplateRecord& rec, std::string_view kind_word, int bio_type,
                         const std::string& raw, const UploadContext& ctx, WriteBatch& batch) {
  Event e = base_event(ctx, EventKind::Enrollment, raw);
  e.record_key = std::string(kind_word) + "\t" + rec.pin + "\t" + digest(raw);
  e.pin = rec.pin;
  nlohmann::json extra = {{"record", "template"},    {"type", kind_word},
                          {"bio_type", bio_type},    {"no", opt(rec.number)},
                          {"index", opt(rec.index)}, {"size", opt(rec.size)}};
  e.extra_json = dump_json(extra);
  batch.events.push_back(std::move(e));
  add_device_template(batch, ctx.sn, device_template(rec, bio_type));
}

void add_photo_record(const PhotoRecord& rec, std::string_view kind_word,
                      const std::string& photo_kind, const std::string& raw,
                      const UploadContext& ctx, WriteBatch& batch) {
  Event e = base_event(ctx, EventKind::Enrollment, raw);
  e.record_key = std::string(kind_word) + "\t" + rec.pin + "\t" + digest(raw);
  e.pin = rec.pin;
  nlohmann::json extra = {
      {"record", photo_kind}, {"file_name", rec.file_name}, {"bio_type", opt(rec.type)}};
  e.extra_json = dump_json(extra);
  batch.events.push_back(std::move(e));
  add_device_photo(batch, ctx.sn, device_photo(rec, photo_kind));
}

void add_errorlog_record(const ErrorLogRecord& rec, const std::string& raw,
                         const UploadContext& ctx, WriteBatch& batch) {
  Event e = base_event(ctx, EventKind::ErrorLog, raw);
  e.record_key = "ERRORLOG\t" + digest(raw);
  nlohmann::json extra = {{"err_code", rec.err_code},
                          {"err_msg", rec.err_msg},
                          {"data_origin", rec.data_origin},
                          {"cmd_id", rec.cmd_id},
                          {"additional", rec.additional}};
  for (const auto& kv : rec.extra) {
    extra[kv.key] = kv.value;
  }
  e.extra_json = dump_json(extra);
  batch.events.push_back(std::move(e));
}

std::size_t add_attlog(const AttlogResult& parsed, const UploadContext& ctx, WriteBatch& batch) {
  batch.events.reserve(batch.events.size() + parsed.records.size());
  for (const auto& r : parsed.records) {
    add_attlog_record(AttlogRecord(r), ctx, batch);
  }
  add_problems(parsed.problems, ctx, batch);
  return parsed.records.size() + parsed.problems.size();
}

void add_attlog_record(AttlogRecord&& r, const UploadContext& ctx, WriteBatch& batch) {
  if (quarantine_long(long_field(r, ctx.max_field_bytes), r.line, std::move(r.raw), ctx, batch)) {
    return;
  }
  {
    Event e = base_event(ctx, EventKind::Attendance, std::move(r.raw));
    // A terminal identifies a punch by user and second; a re-upload (after a
    // lost answer, or a DATA QUERY) repeats both exactly.
    e.record_key.reserve(r.pin.size() + r.time_text.size() + 8);
    e.record_key.append("ATTLOG\t").append(r.pin).append("\t").append(r.time_text);
    e.local_time = std::move(r.time_text);
    e.utc_ms = utc_of(r.time, ctx);
    e.pin = std::move(r.pin);
    // Negative codes are not states or modes any terminal defines: left
    // unset (null), the raw line keeps them.
    e.status = r.status >= 0 ? r.status : kUnset;
    e.verify_mode = r.verify >= 0 ? r.verify : kUnset;
    e.work_code = std::move(r.workcode);
    if (!r.extra.empty() || !r.reserved1.empty() || !r.reserved2.empty()) {
      e.extra_json = attlog_extra_json(r);
    }
    batch.events.push_back(std::move(e));
  }
}

std::size_t add_operlog(const OperlogResult& parsed, const UploadContext& ctx, WriteBatch& batch) {
  for (const auto& entry : parsed.entries) {
    add_operlog_entry(OperlogEntry(entry), ctx, batch);
  }
  add_problems(parsed.problems, ctx, batch);
  return parsed.entries.size() + parsed.problems.size();
}

void add_operlog_entry(OperlogEntry&& entry, const UploadContext& ctx, WriteBatch& batch) {
  if (quarantine_long(long_field(entry, ctx.max_field_bytes), entry.line, std::move(entry.raw), ctx,
                      batch)) {
    return;
  }
  {
    std::string kind_word(to_string(entry.kind));
    std::visit(
        [&](const auto& rec) {
          using T = std::decay_t<decltype(rec)>;
          if constexpr (std::is_same_v<T, OplogRecord>) {
            Event e = base_event(ctx, EventKind::Operation, entry.raw);
            e.record_key = "OPLOG\t" + entry.raw.substr(std::min<std::size_t>(6, entry.raw.size()));
            e.local_time = rec.time_text;
            e.utc_ms = utc_of(rec.time, ctx);
            e.pin = rec.op_who;
            e.event_code = rec.op_type;
            nlohmann::json extra = {{"op_who", rec.op_who},
                                    {"value1", rec.value1},
                                    {"value2", rec.value2},
                                    {"value3", rec.value3},
                                    {"reserved", rec.reserved}};
            e.extra_json = dump_json(extra);
            batch.events.push_back(std::move(e));
          } else if constexpr (std::is_same_v<T, UserRecord>) {
            add_user_record(rec, user_fields_json(rec), entry.raw, ctx, batch);
          } else if constexpr (std::is_same_v<T, TemplateRecord>) {
            add_template_record(rec, kind_word, bio_type_of(entry.kind, rec), entry.raw, ctx,
                                batch);
          } else if constexpr (std::is_same_v<T, PhotoRecord>) {
            add_photo_record(rec, kind_word,
                             entry.kind == OperlogKind::UserPic ? "userpic" : "biophoto", entry.raw,
                             ctx, batch);
          } else if constexpr (std::is_same_v<T, ErrorLogRecord>) {
            add_errorlog_record(rec, entry.raw, ctx, batch);
          }
        },
        entry.record);
  }
}

std::size_t add_attphoto(const AttPhotoResult& parsed, std::string_view body,
                         const UploadContext& ctx, WriteBatch& batch) {
  add_problems(parsed.problems, ctx, batch);
  if (!parsed.photo) {
    if (parsed.problems.empty()) {
      quarantine_body(body, "attendance photo without header or image", ctx, batch);
    }
    return 1;
  }
  // Photo bodies are binary and skip the conversion at the door: the text
  // taken from their header is made valid UTF-8 here.
  AttPhoto p = *parsed.photo;
  p.file_name = text::to_utf8(p.file_name, "utf-8");
  for (auto& kv : p.header) {
    kv.key = text::to_utf8(kv.key, "utf-8");
    kv.value = text::to_utf8(kv.value, "utf-8");
  }
  std::string header(body.substr(0, p.data_offset));
  while (!header.empty() && (header.back() == '\0' || header.back() == '\n')) {
    header.pop_back();
  }
  Event e = base_event(ctx, EventKind::Photo, header);
  e.record_key = "ATTPHOTO\t" + p.file_name;
  if (auto name = parse_attphoto_name(p.file_name)) {
    e.pin = name->pin;
    e.local_time = format_device_time(name->time);
    e.utc_ms = utc_of(name->time, ctx);
  }
  nlohmann::json extra = {
      {"file_name", p.file_name}, {"bytes", p.data_size}, {"header", kv_json(p.header)}};
  e.extra_json = dump_json(extra);
  batch.events.push_back(std::move(e));
  batch.blobs.emplace_back(batch.events.size() - 1,
                           std::string(body.substr(p.data_offset, p.data_size)));
  return 1;
}

}  // namespace pushgate::adapters::zkpush
