#pragma once

#include <string>
#include <utility>
#include <vector>

#include <boost/system/error_code.hpp>

#include "gateway/device_records.hpp"
#include "gateway/event_log.hpp"
#include "gateway/store/sqlite.hpp"

namespace pushgate::store {

// Tables terminal_users, terminal_templates, terminal_photos (0001_initial.sql).

WriteOp upsert_device_user(std::string sn, DeviceUser user);
WriteOp upsert_device_template(std::string sn, DeviceTemplate tmpl);
WriteOp upsert_device_photo(std::string sn, DevicePhoto photo);
/** Deletes the user's row, templates and photos on that device. */
WriteOp delete_device_user(std::string sn, std::string pin);

/** Every (device serial, pin) with a user row, by serial then pin. */
std::vector<std::pair<std::string, std::string>> read_device_user_keys(
    Connection& db, boost::system::error_code& ec);

/**
 * What device `sn` holds of `pin`: the user row (absent when there is none),
 * templates by type, number, index, photos by kind and type. A photo row of
 * a kind the model does not know (written by hand) is skipped.
 */
DeviceEnrolment read_device_enrolment(Connection& db, const std::string& sn, const std::string& pin,
                                      boost::system::error_code& ec);

}  // namespace pushgate::store
