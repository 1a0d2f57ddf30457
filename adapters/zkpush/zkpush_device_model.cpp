#include "adapters/zkpush/zkpush_device_model.hpp"

#include <charconv>
#include <string>

#include <nlohmann/json.hpp>

#include "gateway/device_records.hpp"

namespace pushgate::adapters::zkpush {

namespace {

using nlohmann::json;

json object_of(const std::string& text) {
  auto j = json::parse(text, nullptr, false);
  return j.is_object() ? j : json::object();
}

// A string member ("" when absent or not a string).
std::string text_of(const json& j, const char* key) {
  const auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// A count sent as text or number; -1 when absent or not a count.
int count_of(const json& j, const char* key) {
  const auto it = j.find(key);
  if (it == j.end()) {
    return -1;
  }
  if (it->is_number_integer()) {
    return std::max(0, it->get<int>());
  }
  if (it->is_string()) {
    const auto& s = it->get_ref<const std::string&>();
    int n = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
    if (ec == std::errc{} && end == s.data() + s.size() && n >= 0) {
      return n;
    }
  }
  return -1;
}

// "0:1:0:..." → the types whose entry is "1".
void add_support_list(std::string_view list, DeviceCapabilities& c) {
  std::size_t type = 0;
  std::size_t start = 0;
  while (start <= list.size()) {
    auto colon = list.find(':', start);
    auto item = list.substr(
        start, colon == std::string_view::npos ? std::string_view::npos : colon - start);
    while (!item.empty() && item.front() == ' ') {
      item.remove_prefix(1);
    }
    while (!item.empty() && item.back() == ' ') {
      item.remove_suffix(1);
    }
    if (item == "1") {
      if (auto b = biometric_of_template_type(static_cast<int>(type))) {
        c.add(*b);
      }
    }
    if (colon == std::string_view::npos) {
      break;
    }
    start = colon + 1;
    ++type;
  }
}

}  // namespace

void describe_terminal(TerminalRecord& t) {
  const bool access = t.flavour == "access";
  const json info = object_of(t.info_json);
  const json options = object_of(t.options_json);
  const auto reg_it = info.find("registration");
  const json registration = reg_it != info.end() && reg_it->is_object() ? *reg_it : json::object();

  t.vendor = "zkteco";
  t.protocol = std::string(access ? kProtocolSecurity : kProtocolAttendance);
  for (const auto& name :
       {text_of(options, "~DeviceName"), text_of(registration, "~DeviceName"), t.device_type}) {
    if (!name.empty()) {
      t.model = name;
      break;
    }
  }

  auto& c = t.capabilities;
  // Reported anywhere: the registration first (it is the device's own
  // description of its hardware), then the options.
  auto first_count = [&](const char* key) {
    for (const auto* j : {&registration, &options}) {
      if (int n = count_of(*j, key); n >= 0) {
        return n;
      }
    }
    return -1;
  };
  if (int n = first_count("LockCount"); n >= 0) {
    c.doors = n;
  } else if (int locks = count_of(info, "lock_count"); locks > 0) {
    c.doors = locks;
  } else if (access && c.doors == 0) {
    c.doors = 1;  // an access controller not telling drives at least one lock
  }
  if (int n = first_count("ReaderCount"); n >= 0) {
    c.readers = n;
  }
  auto flag = [&](const char* key) {
    const auto o = text_of(options, key);
    return o.empty() ? text_of(registration, key) : o;
  };
  if (flag("FingerFunOn") == "1" || count_of(info, "fingerprints") > 0) {
    c.add(Biometric::Fingerprint);
  }
  if (flag("FaceFunOn") == "1" || count_of(info, "faces") > 0) {
    c.add(Biometric::Face);
  }
  if (flag("PvFunOn") == "1") {
    c.add(Biometric::Palm);
  }
  if (flag("FvFunOn") == "1") {
    c.add(Biometric::FingerVein);
  }
  add_support_list(text_of(options, "MultiBioDataSupport"), c);
  add_support_list(text_of(info, "multi_bio_data_support"), c);
  if (const auto auto_server = flag("AutoServerFunOn"); access && auto_server == "1") {
    c.decision = DecisionMode::Gateway;
  } else if (!access || auto_server == "0") {
    c.decision = DecisionMode::Local;
  }
  c.commands = CommandDelivery::Poll;
  c.user_sync = access;
  // The access flavour's DATA UPDATE tables hold every one of them (§9, §10).
  c.sync_writes = access ? kAllSyncWrites : 0;
}

}  // namespace pushgate::adapters::zkpush
