// Fuzz target: WWW-Authenticate and Authorization values. A challenge that
// parses must round-trip: the Authorization built for it parses back and
// verifies with the same password (and not with another).
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>

#include "adapters/dahua/dahua_digest.hpp"
#include "tests/fuzz/zkpush_fuzz_support.hpp"

namespace dh = pushgate::adapters::dahua;
using pushgate::fuzz::require;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text = pushgate::fuzz::as_text(data, size);
  const std::map<std::string, std::string, std::less<>> users{{"admin", "pa\"ss,1"}};
  const std::map<std::string, std::string, std::less<>> others{{"admin", "other"}};
  const dh::ChallengeParse challenge = dh::parse_digest_challenge(text);
  require(challenge.challenge.has_value() == challenge.error.empty());
  if (challenge.challenge) {
    const dh::DigestChallenge& c = *challenge.challenge;
    require(!c.nonce.empty());
    const std::string uri = "/cgi-bin/recordFinder.cgi?action=find&name=AccessControlCardRec";
    const std::string header =
        dh::build_digest_authorization(c, "admin", "pa\"ss,1", "GET", uri, 1, "0a4f113b");
    const dh::AuthorizationParse back = dh::parse_digest_authorization(header);
    require(back.authorization.has_value());
    require(back.authorization->realm == c.realm && back.authorization->nonce == c.nonce);
    require(dh::verify_digest(*back.authorization, "GET", uri, c.realm, users,
                              dh::NonceState::Current) == dh::DigestVerdict::Ok);
    require(dh::verify_digest(*back.authorization, "GET", uri, c.realm, others,
                              dh::NonceState::Current) == dh::DigestVerdict::Refused);
    dh::DigestClient client("admin", "x");
    require(client.on_challenge(c) == dh::DigestClient::Verdict::Retry);
  }
  const dh::AuthorizationParse authorization = dh::parse_digest_authorization(text);
  if (authorization.authorization) {
    (void)dh::verify_digest(*authorization.authorization, "POST", authorization.authorization->uri,
                            authorization.authorization->realm, users, dh::NonceState::Stale);
  }
  return 0;
}
