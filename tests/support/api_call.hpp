#pragma once

// Raw calls to the gateway's API for integration tests (issue 18): one
// request over a new connection with exactly the headers given, the whole
// answer (status, body, every header by lower-case name), and a console
// session (its cookie and CSRF token) from a login's answer.
//
// Unlike http_request (gateway_harness.hpp), which sends the harness's
// bearer token and keeps only a few headers, these send no credential of
// their own: the tests of refusals, sessions and headers say exactly what
// goes out and read every header that comes back.

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

namespace pushgate::test::api_call {

namespace bhttp = boost::beast::http;
using Headers = std::vector<std::pair<std::string, std::string>>;

/** The answer to one call. */
struct Answer {
  int status = 0;
  std::string body;
  std::map<std::string, std::string> headers;  ///< lower-case names
  /** The body as JSON; throws when it is not. */
  nlohmann::json js() const { return nlohmann::json::parse(body); }
};

/** Status, body and lower-cased headers of a response. */
Answer answer_of(const bhttp::response<bhttp::string_body>& res);

/**
 * Writes one request (Host `host`, Connection: close, then `headers`, which
 * may replace those two) to a connected `stream` and reads its response.
 * Throws boost::system::system_error on any error, also when the server
 * closes without answering.
 */
template <class Stream>
Answer exchange(Stream& stream, bhttp::verb method, const std::string& target,
                const std::string& body, const Headers& headers, const std::string& host) {
  bhttp::request<bhttp::string_body> req{method, target, 11};
  req.set(bhttp::field::host, host);
  req.set(bhttp::field::connection, "close");
  for (const auto& [k, v] : headers) {
    req.set(k, v);
  }
  req.body() = body;
  req.prepare_payload();
  bhttp::write(stream, req);
  boost::beast::flat_buffer buffer;
  bhttp::response<bhttp::string_body> res;
  bhttp::read(stream, buffer, res);
  return answer_of(res);
}

/** One call to 127.0.0.1:port (Host: 127.0.0.1) with exactly `headers`. */
Answer call(std::uint16_t port, bhttp::verb method, const std::string& target,
            const std::string& body = {}, const Headers& headers = {});

/** Like call, with "Content-Type: application/json" before `headers`. */
Answer call_json(std::uint16_t port, bhttp::verb method, const std::string& target,
                 const std::string& body = {}, const Headers& headers = {});

/** POST /api/v1/login with {"name", "password"} as JSON. */
Answer login(std::uint16_t port, const std::string& name, const std::string& password);

/** A console session: the cookie to send back and its CSRF token. */
struct Session {
  std::string cookie;  ///< "name=value" from Set-Cookie, without attributes
  std::string csrf;
  /** For a read: the cookie only. */
  Headers read() const { return {{"Cookie", cookie}}; }
  /** For a change: the cookie and the X-CSRF-Token. */
  Headers change() const { return {{"Cookie", cookie}, {"X-CSRF-Token", csrf}}; }
};

/**
 * The session a login's answer opened: the Set-Cookie header up to its first
 * ';' and the body's "csrf_token". Throws when the body is not JSON.
 */
Session session_of(const Answer& login_answer);

/** "Authorization: Bearer <token>". */
Headers bearer(const std::string& token);

/** The first admin's password, from the `initial-admin-password` file of a data directory. */
std::string initial_admin_password(const std::filesystem::path& data_dir);

}  // namespace pushgate::test::api_call
