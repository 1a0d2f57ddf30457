#pragma once

// The CGI handlers of the simulated Dahua device (dahua_cgi.cpp), split from
// dahua_device.cpp. Private to tests/sim/dahua_*.cpp.

#include <boost/beast/http/verb.hpp>

#include "tests/sim/dahua_device_impl.hpp"

namespace pushgate::sim::dahua {

// Answers of the CGI API: "OK", "Error\r\nBad Request!" (observed wording,
// rroller/dahua client.py checks for "OK"/"Error").
struct Reply {
  unsigned status = 200;
  std::string body = "OK\r\n";
  std::string content_type = "text/plain;charset=utf-8";
  std::string www_authenticate;
  // Follow-ups run after the answer is written / outside the lock.
  bool stream = false;
  std::set<std::string> stream_codes;
  std::chrono::milliseconds heartbeat{0};
  bool reboot_after = false;
  std::optional<AccessSpec> access_event;                 // openDoor's Method=4 record
  std::optional<std::pair<int, std::string>> door_event;  // DoorStatus
};

/// Authenticates and answers one request. Device thread, `d.mu` held; the
/// follow-ups in the Reply run after the lock is released.
Reply route_request(DahuaDevice::Impl& d, boost::beast::http::verb method,
                    const std::string& target, const std::string& authorization,
                    const std::string& body);

/// The text of a field value as key=value replies write it.
std::string value_text(const Value& v);

}  // namespace pushgate::sim::dahua
