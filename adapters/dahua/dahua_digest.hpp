#pragma once

// HTTP Digest authentication (RFC 7616, RFC 2617) as Dahua devices use it:
// MD5 with qop=auth for the gateway's requests to a device (client side) and
// for a device's EventHttpUpload to the gateway (server side, push mode).
// Pure (see dahua_event.hpp): the caller supplies the cnonce, the nonce and
// the nonce's freshness, so every function is testable and deterministic.
// MD5-sess, SHA-256 and SHA-256-sess are accepted too (RFC 7616 §3.4.2);
// qop=auth-int is not (no device offers it; a challenge offering only it is
// refused).

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "adapters/dahua/dahua_event.hpp"

namespace pushgate::adapters::dahua {

enum class DigestAlgorithm { Md5, Md5Sess, Sha256, Sha256Sess };

std::string_view to_string(DigestAlgorithm algorithm) noexcept;

/** One `Digest` challenge of a WWW-Authenticate header. */
struct DigestChallenge {
  std::string realm;
  std::string nonce;
  std::string opaque;  ///< "" when absent
  bool has_opaque = false;
  DigestAlgorithm algorithm = DigestAlgorithm::Md5;  ///< MD5 when the parameter is missing
  bool qop_auth = false;         ///< "auth" was offered (else the RFC 2069 form is used)
  bool stale = false;            ///< stale=true: the nonce expired, the credentials were fine
  std::vector<KeyValue> params;  ///< every parameter as sent (unquoted)
};

struct ChallengeParse {
  std::optional<DigestChallenge> challenge;
  std::string error;  ///< why there is none ("" when there is)
};

/**
 * Finds and reads the Digest challenge in a WWW-Authenticate value (which may
 * also hold Basic or other schemes, comma-separated). Parameter names are
 * case-insensitive, values quoted (with \-escapes, commas inside) or not.
 * Needs realm and nonce; an unknown algorithm or a qop list without "auth"
 * is an error.
 */
ChallengeParse parse_digest_challenge(std::string_view www_authenticate);

/**
 * The client side for one device: the current challenge and its nonce
 * count. authorize() numbers each request (nc=00000001, 00000002…) on the
 * same nonce; a new challenge resets the count.
 */
class DigestClient {
 public:
  DigestClient(std::string user, std::string password)
      : user_(std::move(user)), password_(std::move(password)) {}

  /** What to do after a 401 carrying `challenge`. */
  enum class Verdict {
    Retry,       ///< first challenge, or stale=true: send again with the new nonce
    AuthFailed,  ///< the credentials were refused: stop (Dahua locks accounts)
  };

  /**
   * Takes the challenge of a 401. AuthFailed when credentials computed for
   * the previous nonce were already sent and the device did not say stale:
   * the caller must not retry (the account-lock rule). Exception:
   * after on_authorized() a 401 with a different nonce is an expired nonce
   * from firmware that omits stale=true, and is retried once.
   */
  Verdict on_challenge(DigestChallenge challenge);

  bool has_challenge() const noexcept { return challenge_.has_value(); }

  /** The Authorization header value for one request; needs a challenge. */
  std::string authorize(std::string_view method, std::string_view uri, std::string_view cnonce);

  std::uint32_t nonce_count() const noexcept { return nc_; }

  /** A request authorised with the current nonce was accepted (not a 401). */
  void on_authorized() noexcept { succeeded_ = true; }

 private:
  std::string user_;
  std::string password_;
  std::optional<DigestChallenge> challenge_;
  std::uint32_t nc_ = 0;
  bool sent_since_challenge_ = false;
  bool succeeded_ = false;
};

/**
 * The Authorization header value (RFC 7616 §3.4) for `challenge`. `nc` is
 * the request's nonce count (1 for the first), `cnonce` the client nonce.
 */
std::string build_digest_authorization(const DigestChallenge& challenge, std::string_view user,
                                       std::string_view password, std::string_view method,
                                       std::string_view uri, std::uint32_t nc,
                                       std::string_view cnonce);

/** The `response` value alone (lowercase hex). */
std::string digest_response(DigestAlgorithm algorithm, std::string_view user,
                            std::string_view realm, std::string_view password,
                            std::string_view method, std::string_view uri, std::string_view nonce,
                            std::string_view nc_hex, std::string_view cnonce, std::string_view qop);

// ---------------------------------------------------------------------------
// Server side (push mode): the gateway challenges the device.
// ---------------------------------------------------------------------------

/** A parsed `Authorization: Digest ...` header. */
struct DigestAuthorization {
  std::string username, realm, nonce, uri, response, qop, nc, cnonce, opaque;
  DigestAlgorithm algorithm = DigestAlgorithm::Md5;
  std::optional<std::uint32_t> nc_value;  ///< nc as a number (hex)
};

struct AuthorizationParse {
  std::optional<DigestAuthorization> authorization;
  std::string error;
};

/** Reads an Authorization header value ("Digest k=v, ..."). */
AuthorizationParse parse_digest_authorization(std::string_view header);

/** The WWW-Authenticate value of a challenge (qop="auth", algorithm=MD5). */
std::string build_digest_challenge(std::string_view realm, std::string_view nonce,
                                   std::string_view opaque, bool stale);

/** What the caller knows about the nonce a request used (Unknown: not issued by this
 * process, e.g. before a restart; treated like Stale when the credentials are right). */
enum class NonceState { Current, Stale, Unknown };

enum class DigestVerdict {
  Ok,         ///< credentials right, nonce current
  Stale,      ///< credentials right, nonce expired: challenge again with stale=true
  Refused,    ///< unknown user, wrong password, or a nonce the server never issued
  Malformed,  ///< not a usable Digest header, or realm / uri / qop not as challenged
};

std::string_view to_string(DigestVerdict verdict) noexcept;

/**
 * Checks a request's Authorization against `users` (user → password).
 * `request_uri` is the request target; the header's uri must equal it.
 * The response comparison takes the same time wherever it differs.
 */
DigestVerdict verify_digest(const DigestAuthorization& authorization, std::string_view method,
                            std::string_view request_uri, std::string_view realm,
                            const std::map<std::string, std::string, std::less<>>& users,
                            NonceState nonce_state);

}  // namespace pushgate::adapters::dahua
