#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "adapters/zkpush/zkpush_protocol.hpp"
#include "gateway/event_log.hpp"
#include "gateway/metrics/metrics.hpp"
#include "gateway/timezone.hpp"

namespace pushgate::adapters::zkpush {

/** Where an upload came from; shared by every record of one request. */
struct UploadContext {
  std::string sn;
  const Zone* zone = nullptr;  ///< the terminal's zone, for UTC times
  std::int64_t received_ms = 0;
  std::int64_t command_id = 0;  ///< CmdId of a DATA QUERY answer, else 0
  std::string endpoint = "cdata";
  std::string table;
  /**
   * Longest text field a record may carry (0: no limit); a record with a
   * longer one is quarantined whole. Template and photo data are not text
   * fields: the body limit bounds them.
   */
  std::size_t max_field_bytes = 0;
  metrics::Counter* long_fields = nullptr;  ///< counts those records, when set
};

/**
 * Normalisation: parser results -> the one Event model plus the writes that
 * keep the local copy of what the terminal holds (users, templates, photos).
 * Each function appends to `batch` and returns how many lines it handled
 * (records + quarantined lines), the count the terminal is told in `OK: n`.
 * No I/O; the WriteOps run later on the writer thread.
 */
std::size_t add_attlog(const AttlogResult& parsed, const UploadContext& ctx, WriteBatch& batch);
std::size_t add_operlog(const OperlogResult& parsed, const UploadContext& ctx, WriteBatch& batch);
/** One record of add_attlog, taken over (its strings move into the event). */
void add_attlog_record(AttlogRecord&& record, const UploadContext& ctx, WriteBatch& batch);
/** One entry of add_operlog. */
void add_operlog_entry(OperlogEntry&& entry, const UploadContext& ctx, WriteBatch& batch);
/** One parse problem as a quarantine row. */
void add_problem(ParseProblem&& problem, const UploadContext& ctx, WriteBatch& batch);
std::size_t add_attphoto(const AttPhotoResult& parsed, std::string_view body,
                         const UploadContext& ctx, WriteBatch& batch);
/**
 * One record of the terminal's own tables, shared by both flavours (an
 * attendance OPERLOG/BIODATA line, a Security PUSH tabledata line): an
 * Enrollment (or ErrorLog) event keyed by `raw`, plus the upsert that keeps
 * the local copy. `fields_json` is the user's fields as a JSON object.
 */
void add_user_record(const UserRecord& user, std::string fields_json, const std::string& raw,
                     const UploadContext& ctx, WriteBatch& batch);
/** `kind_word`: FP, FACE, BIODATA, templatev10...; `bio_type` as in BIODATA Type. */
void add_template_record(const TemplateRecord& t, std::string_view kind_word, int bio_type,
                         const std::string& raw, const UploadContext& ctx, WriteBatch& batch);
/** `photo_kind`: "userpic" or "biophoto". */
void add_photo_record(const PhotoRecord& p, std::string_view kind_word,
                      const std::string& photo_kind, const std::string& raw,
                      const UploadContext& ctx, WriteBatch& batch);
void add_errorlog_record(const ErrorLogRecord& e, const std::string& raw, const UploadContext& ctx,
                         WriteBatch& batch);
/** The fields of a user record as the JSON stored in terminal_users.fields. */
std::string user_fields_json(const UserRecord& user);

/** Device times outside these years get no UTC time (a clock never set, 1900, 9999). */
inline constexpr int kFirstPlausibleYear = 2000;
inline constexpr int kLastPlausibleYear = 2099;

/** An event of `kind` from this upload (sn, received time, command id) with its raw line. */
Event make_event(const UploadContext& ctx, EventKind kind, std::string raw);
/** A terminal-local time in UTC, by the upload's zone; empty when it does not exist. */
std::optional<std::int64_t> utc_of_device_time(const DeviceTime& time, const UploadContext& ctx);

/** Parse problems of any kind become quarantine rows. */
void add_problems(const std::vector<ParseProblem>& problems, const UploadContext& ctx,
                  WriteBatch& batch);
/** A whole body we do not handle (unknown table), kept raw. */
void quarantine_body(std::string_view body, std::string_view reason, const UploadContext& ctx,
                     WriteBatch& batch);

/**
 * Quarantines (raw kept, counted in ctx.long_fields) a Security PUSH line of
 * `key=value` pairs separated by TAB with a key or value over
 * ctx.max_field_bytes; base64 templates and photos (tmp, template, content,
 * photo, PhotoJPG, FPTemplate1/2) are bounded by the body limit only. True
 * when it did: the line is then not stored as anything else.
 */
bool quarantine_long_line(std::string_view raw, std::size_t line, const UploadContext& ctx,
                          WriteBatch& batch);

/** A short stable digest of bytes (hex SHA-256 prefix), for record keys of long lines. */
std::string digest(std::string_view bytes);

}  // namespace pushgate::adapters::zkpush
