// Security PUSH service: table records (tabledata uploads and querydata answers) into Events.
#include "adapters/zkpush/zkpush_security_session.hpp"

#include <algorithm>
#include <atomic>

#include "adapters/zkpush/zkpush_security_session_support.hpp"
#include "gateway/device_text.hpp"
#include "gateway/event_json.hpp"
#include "gateway/event_log.hpp"

namespace pushgate::adapters::zkpush {

namespace bhttp = boost::beast::http;
using security_session_detail::kv_object;
using security_session_detail::to_int64;

namespace {

// A querydata transaction (§9.1.4) is the same access event as the rtlog
// line that reported it live: build that line so both get the same key.
security::RtlogRecord as_rtlog(const security::TransactionRecord& t, const std::string& raw) {
  security::RtlogRecord r;
  r.raw = raw;
  r.time = t.time;
  r.time_text = t.time ? format_device_time(*t.time) : std::to_string(t.time_second);
  r.pin = t.pin;
  r.card_no = t.card_no;
  r.site_code = t.site_code;
  r.event_addr = t.door_id;
  r.event = t.event_type;
  r.in_out_status = t.in_out_state;
  r.verify_mode = t.verified;
  r.verify_type_text = t.verified ? std::to_string(*t.verified) : std::string();
  r.index = t.index;
  r.mask_flag = t.mask_flag;
  r.temperature = t.temperature;
  r.conv_temperature = t.conv_temperature;
  r.extra = t.extra;
  return r;
}

}  // namespace

std::size_t SecurityService::add_table(const std::vector<security::TableEntry>& entries,
                                       security::TableKind kind, const UploadContext& u,
                                       WriteBatch& batch) {
  for (const auto& entry : entries) {
    if (quarantine_long_line(entry.raw, entry.line, u, batch)) {
      continue;  // still counted in the answer: the terminal does not send it again
    }
    std::visit(
        [&](const auto& rec) {
          using T = std::decay_t<decltype(rec)>;
          if constexpr (std::is_same_v<T, security::UserInfoRecord>) {
            UserRecord user;
            user.pin = rec.pin;
            user.name = rec.name;
            user.privilege = rec.privilege;
            user.password = rec.password;
            user.card = rec.card_no;
            user.group = rec.group;
            user.verify = rec.verify;
            user.extra = rec.extra;
            if (rec.uid) {
              user.extra.push_back({"uid", std::to_string(*rec.uid)});
            }
            user.extra.push_back({"starttime", rec.start_time});
            user.extra.push_back({"endtime", rec.end_time});
            if (rec.disable) {
              user.extra.push_back({"disable", std::to_string(*rec.disable)});
            }
            add_user_record(user, user_fields_json(user), entry.raw, u, batch);
          } else if constexpr (std::is_same_v<T, security::FingerprintTemplateRecord>) {
            TemplateRecord t;
            t.pin = rec.pin;
            t.number = rec.finger();
            t.index = 0;
            t.size = rec.size;
            t.valid = rec.valid;
            t.duress = rec.duress() ? 1 : 0;
            t.type = 1;
            t.major_ver = 10;
            t.data = rec.template_data;
            add_template_record(t, "templatev10", 1, entry.raw, u, batch);
          } else if constexpr (std::is_same_v<T, TemplateRecord>) {
            add_template_record(rec, "biodata", rec.type.value_or(0), entry.raw, u, batch);
          } else if constexpr (std::is_same_v<T, PhotoRecord>) {
            std::string photo_kind = kind == security::TableKind::UserPic ? "userpic" : "biophoto";
            add_photo_record(rec, photo_kind, photo_kind, entry.raw, u, batch);
          } else if constexpr (std::is_same_v<T, ErrorLogRecord>) {
            add_errorlog_record(rec, entry.raw, u, batch);
          } else if constexpr (std::is_same_v<T, security::TransactionRecord>) {
            add_rtlog(as_rtlog(rec, entry.raw), u, batch);
          } else if constexpr (std::is_same_v<T, security::SnapshotRecord>) {
            Event e = make_event(u, EventKind::Photo, entry.raw);
            e.record_key = "ATTPHOTO\t" + rec.file_name;
            if (auto name = parse_attphoto_name(rec.file_name)) {
              e.pin = name->pin;
              e.local_time = format_device_time(name->time);
              e.utc_ms = utc_of_device_time(name->time, u);
            }
            nlohmann::json extra = {{"record", "snapshot"},
                                    {"file_name", rec.file_name},
                                    {"size", rec.size.value_or(-1)},
                                    {"base64_bytes", rec.photo.size()}};
            e.extra_json = dump_json(extra);
            batch.events.push_back(std::move(e));
          } else {
            // identitycard, DeviceAuthorize, other tables: the record as sent.
            Event e = make_event(u, EventKind::Enrollment, entry.raw);
            std::string word = entry.type_word.empty() ? u.table : entry.type_word;
            e.record_key = word + "\t" + digest(entry.raw);
            nlohmann::json fields = kv_object(entry.fields);
            for (const char* big : {"photo", "PhotoJPG", "FPTemplate1", "FPTemplate2"}) {
              fields.erase(big);  // images and templates stay in raw only
            }
            if (fields.contains("pin")) {
              e.pin = fields["pin"].template get<std::string>();
            }
            nlohmann::json extra = {{"record", word}, {"fields", std::move(fields)}};
            e.extra_json = dump_json(extra);
            batch.events.push_back(std::move(e));
          }
        },
        entry.record);
  }
  return entries.size();
}

void SecurityService::querydata(Request& r) {
  if (r.terminal.state == "pending") {
    base_.refuse(r, bhttp::status::forbidden, "terminal_pending", "Device pending approval\n");
    return;
  }
  auto parsed = security::parse_querydata(r.query, r.req.body());
  const auto& p = parsed.params;
  UploadContext u;
  u.sn = r.sn;
  u.zone = &ctx_.terminals.zone_for(r.sn);
  u.received_ms = r.now_ms;
  u.endpoint = "querydata";
  u.table = p.table_name;
  u.command_id = to_int64(p.cmd_id).value_or(0);  // §9.1.4: the records answer this command
  u.max_field_bytes = std::atomic_load(&base_.config_)->max_field_bytes;
  u.long_fields = &base_.long_fields_;
  WriteBatch batch = std::move(r.pending);
  add_problems(p.problems, u, batch);
  add_problems(parsed.problems, u, batch);
  std::size_t count = parsed.problems.size();
  if (iequals(p.type, "options")) {
    merge_options(r, parsed.options, batch);
    base_.commit_and_answer(r, std::move(batch), std::string(security::kOkAnswer));
    return;
  }
  if (iequals(p.type, "count")) {
    log_->info("[sn={}] [cmd={}] {} count: {}", r.sn, text::log_escape(p.cmd_id),
               text::log_escape(p.table_name), parsed.counted.value_or(-1));
    count = static_cast<std::size_t>(std::max<std::int64_t>(0, parsed.counted.value_or(0)));
  } else {
    count += add_table(parsed.entries, parsed.kind, u, batch);
  }
  log_->debug("[sn={}] [cmd={}] querydata {} package {}/{}: {} record(s)", r.sn,
              text::log_escape(p.cmd_id), text::log_escape(p.table_name), p.pack_index.value_or(1),
              p.pack_count.value_or(1), count);
  base_.commit_and_answer(r, std::move(batch),
                          security::render_table_count_answer(p.table_name, count));
}

}  // namespace pushgate::adapters::zkpush
