#pragma once

// Security PUSH record tables (shared/seeds/003_*.txt): table=tabledata
// uploads (§7.5-7.12, §5), /iclock/querydata answers (§9.1.3, §9.1.4), card
// numbers and the Appendix 5/6 old time encoding. Part of the pure protocol
// layer (see zkpush_security_protocol.hpp for the contract).

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "adapters/zkpush/zkpush_protocol.hpp"

namespace pushgate::adapters::zkpush::security {

// ---------------------------------------------------------------------------
// table=tabledata (§7.5-7.12, §5) and /iclock/querydata (§9.1.3, §9.1.4)
// ---------------------------------------------------------------------------

/** The tablename= values pushgate types; anything else is parsed generically. */
enum class TableKind {
  User,             ///< "user" (§7.5)
  IdentityCard,     ///< "identitycard" (§7.6)
  TemplateV10,      ///< "templatev10": fingerprint templates (§7.7)
  BioPhoto,         ///< "biophoto": comparison photos (§7.8)
  AttPhoto,         ///< "ATTPHOTO": snapshots (§7.9)
  UserPic,          ///< "userpic" (§7.10)
  BioData,          ///< "biodata": unified templates (§7.11)
  ErrorLog,         ///< "errorlog" (§7.12)
  Transaction,      ///< "transaction": access records, querydata answers (§9.1.4)
  DeviceAuthorize,  ///< "DeviceAuthorize": sub-controller authorisation (§5), generic
  Other,            ///< any other name (APList, mulcarduser, ...): pairs only
};

TableKind classify_table_name(std::string_view table_name) noexcept;

/**
 * §7.5 `user uid=..\tcardno=..\tpin=..\tpassword=..\tgroup=..\tstarttime=..
 * \tendtime=..\tname=..\tprivilege=..\tdisable=..\tverify=..`.
 */
struct UserInfoRecord {
  std::string pin;  ///< non-empty
  std::optional<int> uid;
  std::string card_no;  ///< "123456789" or "[15CD5B07]", see parse_card_number
  std::string password;
  std::optional<int> group;
  /** starttime/endtime as sent: "0" none; YYYYMMDD, or Appendix 5 seconds when DateFmtFunOn=1. */
  std::string start_time;
  std::string end_time;
  std::string name;  ///< UTF-8, or GB2312 on Chinese-language terminals
  std::optional<int> privilege;
  std::optional<int> disable;  ///< 1: blacklisted
  std::optional<int> verify;
  KeyValues extra;
};

/**
 * §7.6 `identitycard pin=..\tSN_Num=..\tID_Num=..\t...`; the example drops
 * the underscores (IDNum, ValidInfo, ...): both spellings are accepted.
 */
struct IdentityCardRecord {
  std::string pin;     ///< non-empty
  std::string sn_num;  ///< SN_Num: physical card number
  std::string id_num;  ///< ID_Num: citizen ID number
  std::string dn_num;  ///< DN_Num: card management number
  std::string name;
  std::optional<int> gender;  ///< 1 male, 2 female
  std::optional<int> nation;  ///< §7.6 nation code table
  std::string birthday;       ///< yyyyMMdd
  std::string valid_info;     ///< Valid_Info: yyyyMMddyyyyMMdd
  std::string address;
  std::string additional_info;
  std::string issuer;
  std::string photo;      ///< base64, encrypted
  std::string photo_jpg;  ///< PhotoJPG: base64 JPEG
  std::string fp_template1;
  std::string fp_template2;
  std::string reserve;
  std::string notice;
  KeyValues extra;
};

/**
 * §7.7 `templatev10 size=..\tuid=..\tpin=..\tfingerid=..\tvalid=..
 * \ttemplate=..\tresverd=..\tendtag=..`.
 */
struct FingerprintTemplateRecord {
  std::string pin;  ///< non-empty
  std::optional<int> size;
  std::optional<int> uid;
  std::optional<int> finger_id;  ///< 0-9, +16 for a duress finger
  std::optional<int> valid;      ///< 0 invalid, 1 normal, 3 duress
  std::string template_data;     ///< `template`, base64, non-empty
  KeyValues extra;               ///< resverd, endtag, ...

  bool duress() const noexcept { return (finger_id && *finger_id >= 16) || (valid && *valid == 3); }
  /** The finger 0-9 with the duress offset removed. */
  std::optional<int> finger() const noexcept {
    if (!finger_id) {
      return std::nullopt;
    }
    return *finger_id >= 16 ? *finger_id - 16 : *finger_id;
  }
};

/** tablename=ATTPHOTO (§7.9): `pin=<file>.jpg\tsn=..\tsize=..\tphoto=<base64>`, no type word. */
struct SnapshotRecord {
  std::string file_name;  ///< `pin`: "20181003143617-22.jpg", see zkpush::parse_attphoto_name
  std::string sn;
  std::optional<std::int64_t> size;  ///< original JPEG size
  std::string photo;                 ///< base64 JPEG
  KeyValues extra;
};

/**
 * §9.1.4 `transaction cardno=..\tpin=..\tverified=..\tdoorid=..\teventtype=..
 * \tinoutstate=..\ttime_second=..\tindex=..\t...`.
 */
struct TransactionRecord {
  std::string card_no;
  std::string pin;
  std::optional<int> verified;  ///< Appendix 3 verify mode
  std::optional<int> door_id;
  std::optional<int> event_type;  ///< Appendix 2 event code
  std::optional<int> in_out_state;
  std::uint32_t time_second = 0;   ///< Appendix 5 seconds, present
  std::optional<DeviceTime> time;  ///< decode_old_time(time_second); empty if impossible
  std::optional<std::int64_t> index;
  std::optional<std::int64_t> site_code;
  std::optional<int> dev_id;
  std::optional<int> mask_flag;
  std::string temperature;
  std::string conv_temperature;
  KeyValues extra;  ///< e.g. sn
};

/** One understood line of a tabledata/querydata body. */
struct TableEntry {
  std::size_t line = 0;
  std::string raw;        ///< the line as sent, without terminator
  std::string type_word;  ///< "user", "templatev10"... as sent; empty when the line has none
  KeyValues fields;       ///< every pair, in order, keys as sent: the lossless view
  /** The typed view, by table: User -> UserInfoRecord; IdentityCard ->
   *  IdentityCardRecord; TemplateV10 -> FingerprintTemplateRecord; BioData ->
   *  zkpush::TemplateRecord; BioPhoto, UserPic -> zkpush::PhotoRecord;
   *  AttPhoto -> SnapshotRecord; ErrorLog -> zkpush::ErrorLogRecord;
   *  Transaction -> TransactionRecord; DeviceAuthorize, Other -> monostate. */
  std::variant<std::monostate, UserInfoRecord, IdentityCardRecord, FingerprintTemplateRecord,
               TemplateRecord, PhotoRecord, SnapshotRecord, ErrorLogRecord, TransactionRecord>
      record;
};

struct TableDataResult {
  TableKind kind = TableKind::Other;
  std::vector<TableEntry> entries;
  std::vector<ParseProblem> problems;
};

/**
 * Parses the body of a `table=tabledata&tablename=<table_name>` upload (or of
 * a querydata answer). A line is `[<type word> ]k=v\tk=v...`; the type word,
 * when present, must equal `table_name` ignoring case (any word is accepted
 * when `table_name` is empty). Problems: another type word, no pairs, a TAB
 * field without '=', a non-integer in a numeric key, a missing required key
 * (pin for user/identitycard/templatev10/biodata/biophoto/userpic/ATTPHOTO,
 * template/tmp data for templates, errcode for errorlog, time_second for
 * transaction). Keys are matched ignoring case; `FileName`, `file name` and
 * the underscore-less identity-card keys are accepted as aliases.
 */
TableDataResult parse_tabledata(std::string_view table_name, std::string_view body);

/** The tablename= and count= of a tabledata upload. */
struct TableDataParams {
  std::string table_name;             ///< tablename as sent; empty when missing
  std::optional<std::int64_t> count;  ///< count; empty when missing or not a number
};

TableDataParams tabledata_params(const QueryResult& query);

/**
 * The answer to a tabledata or querydata upload: `<table_name>=<count>`
 * (§7.5 "user=1", §7.7 "templatev10=2", §7.9 "ATTPHOTO=1"), no line end,
 * `table_name` as the terminal sent it with CR/LF/NUL removed. `count` is
 * the number of records pushgate took responsibility for (committed,
 * quarantined lines included).
 */
std::string render_table_count_answer(std::string_view table_name, std::size_t count);

/**
 * A card number as sent in cardno/Card: decimal ("123456789") or the
 * bracketed hex form "[15CD5B07]", whose bytes run least significant first
 * (§7.5: 123456789 <-> [15CD5B07]); 1-8 bytes. nullopt otherwise.
 */
std::optional<std::uint64_t> parse_card_number(std::string_view text) noexcept;

/**
 * Appendix 5 (OldEncodeTime): ((year-2000)*12*31 + (month-1)*31 + day-1) *
 * 86400 + (hour*60 + minute)*60 + second. nullopt before 2000 or past the
 * 32-bit range.
 */
std::optional<std::uint32_t> encode_old_time(const DeviceTime& time) noexcept;

/** Appendix 6 (OldDecodeTime); nullopt when the result is no real date (31 Feb). */
std::optional<DeviceTime> decode_old_time(std::uint32_t seconds) noexcept;

/** The query parameters of `POST /iclock/querydata?...` (§9.1.3, §9.1.4, §9.2.1, §9.5.2). */
struct QueryDataParams {
  std::string type;                        ///< "tabledata", "count", "options", "vmtable"
  std::string cmd_id;                      ///< cmdid: the command being answered
  std::string table_name;                  ///< tablename
  std::optional<std::int64_t> count;       ///< count: records in the whole answer
  std::optional<std::int64_t> pack_count;  ///< packcnt: packages in the answer
  std::optional<std::int64_t> pack_index;  ///< packidx: 1-based package number
  std::optional<std::int64_t> datafmt;     ///< datafmt (3: tgz archive, ACCOUNT)
  std::string stamp;                       ///< Stamp
  std::vector<ParseProblem> problems;      ///< non-numeric count/packcnt/packidx/datafmt (line 1)

  /** True when this package is the last one (packidx >= packcnt), or there is no paging. */
  bool last_pack() const noexcept;
};

QueryDataParams querydata_params(const QueryResult& query);

/** A parsed querydata upload. */
struct QueryDataResult {
  QueryDataParams params;
  TableKind kind = TableKind::Other;    ///< from tablename
  std::vector<TableEntry> entries;      ///< type=tabledata / vmtable records
  KeyValues options;                    ///< type=options pairs (parse_options)
  std::optional<std::int64_t> counted;  ///< type=count: N of the `<table>=N` body
  std::vector<ParseProblem> problems;   ///< body lines not understood
};

/**
 * Parses a querydata upload: type=tabledata and vmtable bodies with
 * parse_tabledata, type=count bodies (`user=5`) into `counted`, type=options
 * bodies with parse_options. Bodies of any other type, and datafmt=3
 * archives (§9.2.1 ACCOUNT: name/size header, NUL, base64 tgz), are not
 * parsed: the whole body becomes one problem for the quarantine.
 */
QueryDataResult parse_querydata(const QueryResult& query, std::string_view body);

}  // namespace pushgate::adapters::zkpush::security
