#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/event_log.hpp"
#include "gateway/terminals.hpp"

namespace pushgate {

/**
 * What a device holds, as core records with vendor-neutral types: its users
 * and their credentials, biometric templates and photos. The adapter that
 * reads a device's uploads maps them onto these (zkpush: USERINFO / user,
 * FINGERTMP / FACE / BIODATA / templatev10, USERPIC / BIOPHOTO) and adds
 * their writes to the request's batch, so they commit with its events; the
 * core (the sync) reads them back. Storage: gateway/store/device_record_queries.
 *
 * Template type codes are pushgate's numbering of biometrics (that of
 * ZKTeco's Appendix 18, which the stored rows use): 0 general,
 * 1 fingerprint, 2 face (near infrared), 3 voice, 4 iris, 5 retina,
 * 6 palm print, 7 finger vein, 8 palm (near infrared), 9 face (visible
 * light), 10 palm (visible light). An adapter of another vendor maps its own
 * types onto these.
 */
std::optional<Biometric> biometric_of_template_type(int type) noexcept;

/** A user the device holds. */
struct DeviceUser {
  std::string pin;  ///< the user id on the device
  std::string name;
  std::optional<int> privilege;          ///< role as the device codes it (zkpush: 0 user, 14 admin)
  std::string password;                  ///< as the device holds it ("" none)
  std::string card;                      ///< the card it opens with ("" none)
  std::vector<std::string> other_cards;  ///< further card credentials (a vice card)
  std::optional<int> group;
  std::string time_zones;          ///< the device's own time zone field, as sent
  std::optional<int> verify;       ///< verification mode, the device's code
  std::string fields_json = "{}";  ///< every field as the device sent it (JSON object)

  bool has_password() const noexcept { return !password.empty(); }
};

/** One biometric template the device holds. */
struct DeviceTemplate {
  std::string pin;
  int type = 0;    ///< template type code (above)
  int number = 0;  ///< which finger / face / palm (0..)
  int index = 0;   ///< which template of that finger
  std::optional<int> valid;
  std::optional<int> duress;
  std::string major_ver;  ///< algorithm version ("" unknown)
  std::string minor_ver;
  std::string format;  ///< the device's format code ("" not sent)
  std::optional<int> size;
  std::string data;  ///< base64 as sent

  std::optional<Biometric> biometric() const noexcept { return biometric_of_template_type(type); }
};

/** A photo the device holds of a user. */
struct DevicePhoto {
  enum class Kind : std::uint8_t {
    User,       ///< the picture shown on the device ("userpic")
    Biometric,  ///< a comparison photo it identifies with ("biophoto")
  };
  std::string pin;
  Kind kind = Kind::User;
  int type = 0;  ///< template type code of a comparison photo (0 for a user picture)
  std::string file_name;
  std::optional<std::int64_t> size;
  std::string content;  ///< base64 JPEG as sent
};
std::string_view to_string(DevicePhoto::Kind k) noexcept;
std::optional<DevicePhoto::Kind> parse_photo_kind(std::string_view s) noexcept;

/** Everything stored of one user of one device. */
struct DeviceEnrolment {
  std::string sn;
  std::string pin;
  std::optional<DeviceUser> user;  ///< absent: only templates or photos so far
  std::vector<DeviceTemplate> templates;
  std::vector<DevicePhoto> photos;
};

/**
 * Writes that keep the local copy of what device `sn` holds; they run in the
 * batch's transaction (the device's row is created on first sight). An
 * upsert replaces the stored record of the same key (user: pin; template:
 * pin, type, number, index; photo: pin, kind, type).
 */
void add_device_user(WriteBatch& batch, std::string sn, DeviceUser user);
void add_device_template(WriteBatch& batch, std::string sn, DeviceTemplate tmpl);
void add_device_photo(WriteBatch& batch, std::string sn, DevicePhoto photo);
/** The user left the device: its row, templates and photos go. */
void remove_device_user(WriteBatch& batch, std::string sn, std::string pin);

}  // namespace pushgate
