#include "gateway/device_records.hpp"

#include <utility>

#include "gateway/store/device_record_queries.hpp"

namespace pushgate {

std::optional<Biometric> biometric_of_template_type(int type) noexcept {
  switch (type) {
    case 1:
      return Biometric::Fingerprint;
    case 2:
    case 9:
      return Biometric::Face;
    case 4:
      return Biometric::Iris;
    case 6:
    case 8:
    case 10:
      return Biometric::Palm;
    case 7:
      return Biometric::FingerVein;
    default:
      return std::nullopt;
  }
}

std::string_view to_string(DevicePhoto::Kind k) noexcept {
  return k == DevicePhoto::Kind::Biometric ? "biophoto" : "userpic";
}

std::optional<DevicePhoto::Kind> parse_photo_kind(std::string_view s) noexcept {
  if (s == "userpic") {
    return DevicePhoto::Kind::User;
  }
  if (s == "biophoto") {
    return DevicePhoto::Kind::Biometric;
  }
  return std::nullopt;
}

void add_device_user(WriteBatch& batch, std::string sn, DeviceUser user) {
  batch.ops.push_back(store::upsert_device_user(std::move(sn), std::move(user)));
}

void add_device_template(WriteBatch& batch, std::string sn, DeviceTemplate tmpl) {
  batch.ops.push_back(store::upsert_device_template(std::move(sn), std::move(tmpl)));
}

void add_device_photo(WriteBatch& batch, std::string sn, DevicePhoto photo) {
  batch.ops.push_back(store::upsert_device_photo(std::move(sn), std::move(photo)));
}

void remove_device_user(WriteBatch& batch, std::string sn, std::string pin) {
  batch.ops.push_back(store::delete_device_user(std::move(sn), std::move(pin)));
}

}  // namespace pushgate
