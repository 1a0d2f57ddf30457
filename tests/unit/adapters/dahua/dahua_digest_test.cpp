// HTTP Digest: the RFC worked examples, robust challenge parsing, nonce
// counting, stale handling, the account-lock rule and the server-side check.
#include "adapters/dahua/dahua_digest.hpp"

#include <gtest/gtest.h>

#include <map>
#include <sstream>

#include "tests/unit/adapters/dahua/dahua_test_support.hpp"

namespace pushgate::adapters::dahua {
namespace {

/** A transcript fixture: "# comment" lines, then "key: value" lines. */
std::map<std::string, std::string> transcript(const std::string& name) {
  std::map<std::string, std::string> out;
  std::istringstream in(test_support::fixture(name));
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') {
      continue;
    }
    const auto colon = line.find(": ");
    out[line.substr(0, colon)] = line.substr(colon + 2);
  }
  return out;
}

std::string param_of(const std::string& header, const std::string& name) {
  const auto auth = parse_digest_authorization(header);
  EXPECT_TRUE(auth.authorization) << auth.error;
  if (!auth.authorization) {
    return {};
  }
  const DigestAuthorization& a = *auth.authorization;
  if (name == "response")
    return a.response;
  if (name == "nc")
    return a.nc;
  if (name == "opaque")
    return a.opaque;
  if (name == "username")
    return a.username;
  return {};
}

class DigestTranscript : public ::testing::TestWithParam<const char*> {};

TEST_P(DigestTranscript, ClientComputesTheDocumentedResponseAndTheServerAcceptsIt) {
  auto t = transcript(GetParam());
  const ChallengeParse parsed = parse_digest_challenge(t["www-authenticate"]);
  ASSERT_TRUE(parsed.challenge) << parsed.error;
  const std::string header =
      build_digest_authorization(*parsed.challenge, t["user"], t["password"], t["method"], t["uri"],
                                 static_cast<std::uint32_t>(std::stoul(t["nc"])), t["cnonce"]);
  EXPECT_EQ(param_of(header, "response"), t["response"]);
  EXPECT_EQ(param_of(header, "username"), t["user"]);
  // The same header verifies on the server side with the same password only.
  const auto auth = parse_digest_authorization(header);
  ASSERT_TRUE(auth.authorization);
  const std::map<std::string, std::string, std::less<>> users{{t["user"], t["password"]}};
  EXPECT_EQ(verify_digest(*auth.authorization, t["method"], t["uri"], parsed.challenge->realm,
                          users, NonceState::Current),
            DigestVerdict::Ok);
  const std::map<std::string, std::string, std::less<>> wrong{{t["user"], "nope"}};
  EXPECT_EQ(verify_digest(*auth.authorization, t["method"], t["uri"], parsed.challenge->realm,
                          wrong, NonceState::Current),
            DigestVerdict::Refused);
}

INSTANTIATE_TEST_SUITE_P(Fixtures, DigestTranscript,
                         ::testing::Values("digest-rfc2617.transcript",
                                           "digest-rfc7616-md5.transcript",
                                           "digest-dahua-stale.transcript"));

TEST(DahuaDigest, Rfc7616Sha256Example) {
  DigestChallenge c;
  c.realm = "http-auth@example.org";
  c.nonce = "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v";
  c.algorithm = DigestAlgorithm::Sha256;
  c.qop_auth = true;
  const std::string header =
      build_digest_authorization(c, "Mufasa", "Circle of Life", "GET", "/dir/index.html", 1,
                                 "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ");
  EXPECT_EQ(param_of(header, "response"),
            "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1");
}

TEST(DahuaDigest, ChallengeParsingIsRobust) {
  const ChallengeParse dahua =
      parse_digest_challenge(transcript("digest-dahua-stale.transcript")["www-authenticate"]);
  ASSERT_TRUE(dahua.challenge) << dahua.error;
  EXPECT_EQ(dahua.challenge->realm, "Login to 4L0C2B5PAZ5E31F");
  EXPECT_EQ(dahua.challenge->nonce, "1953261632");
  EXPECT_TRUE(dahua.challenge->stale);
  EXPECT_TRUE(dahua.challenge->qop_auth);
  EXPECT_TRUE(dahua.challenge->has_opaque);
  EXPECT_EQ(dahua.challenge->algorithm, DigestAlgorithm::Md5);

  const ChallengeParse commas =
      parse_digest_challenge("digest REALM=\"a, \\\"b\\\" c\", NONCE=xyz");
  ASSERT_TRUE(commas.challenge) << commas.error;
  EXPECT_EQ(commas.challenge->realm, "a, \"b\" c");
  EXPECT_EQ(commas.challenge->nonce, "xyz");
  EXPECT_FALSE(commas.challenge->qop_auth);  // RFC 2069 form
  EXPECT_FALSE(commas.challenge->stale);

  EXPECT_FALSE(parse_digest_challenge("Basic realm=\"x\"").challenge);
  EXPECT_FALSE(parse_digest_challenge("Digest realm=\"x\"").challenge);
  EXPECT_FALSE(
      parse_digest_challenge("Digest realm=\"x\", nonce=\"n\", algorithm=SHA-512-256").challenge);
  EXPECT_FALSE(
      parse_digest_challenge("Digest realm=\"x\", nonce=\"n\", qop=\"auth-int\"").challenge);
  EXPECT_FALSE(parse_digest_challenge("Digest realm=\"unterminated").challenge);
  // -sess hashes the cnonce, which is sent only with a qop (found by fuzzing: the
  // client and the server computed different responses).
  EXPECT_FALSE(
      parse_digest_challenge("Digest realm=\"x\", nonce=\"n\", algorithm=MD5-sess").challenge);
  EXPECT_FALSE(parse_digest_challenge("Digest realm=\"x\", nonce=\"n\", algorithm=SHA-256-sess, "
                                      "qop&=\"auth\"")
                   .challenge);
  const ChallengeParse sess =
      parse_digest_challenge("Digest realm=\"x\", nonce=\"n\", algorithm=MD5-sess, qop=auth");
  ASSERT_TRUE(sess.challenge) << sess.error;
  const auto sess_auth = parse_digest_authorization(
      build_digest_authorization(*sess.challenge, "u", "p", "GET", "/", 1, "cn"));
  ASSERT_TRUE(sess_auth.authorization);
  EXPECT_EQ(
      verify_digest(*sess_auth.authorization, "GET", "/", "x", {{"u", "p"}}, NonceState::Current),
      DigestVerdict::Ok);
  EXPECT_FALSE(parse_digest_challenge("").challenge);
}

TEST(DahuaDigest, WithoutQopTheRfc2069FormIsSent) {
  DigestChallenge c;
  c.realm = "r";
  c.nonce = "n";
  const std::string header = build_digest_authorization(c, "u", "p", "GET", "/", 1, "cn");
  EXPECT_EQ(header.find("qop"), std::string::npos);
  EXPECT_EQ(header.find("nc="), std::string::npos);
  const auto auth = parse_digest_authorization(header);
  ASSERT_TRUE(auth.authorization);
  const std::map<std::string, std::string, std::less<>> users{{"u", "p"}};
  EXPECT_EQ(verify_digest(*auth.authorization, "GET", "/", "r", users, NonceState::Current),
            DigestVerdict::Ok);
}

TEST(DahuaDigestClient, CountsNoncesAndResetsOnANewChallenge) {
  DigestClient client("admin", "secret");
  EXPECT_EQ(client.authorize("GET", "/", "c"), "");
  const auto c1 = parse_digest_challenge("Digest realm=\"r\", qop=\"auth\", nonce=\"n1\"");
  EXPECT_EQ(client.on_challenge(*c1.challenge), DigestClient::Verdict::Retry);
  EXPECT_EQ(param_of(client.authorize("GET", "/a", "c"), "nc"), "00000001");
  client.on_authorized();
  EXPECT_EQ(param_of(client.authorize("GET", "/b", "c"), "nc"), "00000002");
  EXPECT_EQ(client.nonce_count(), 2u);
  const auto stale =
      parse_digest_challenge("Digest realm=\"r\", qop=\"auth\", nonce=\"n2\", stale=true");
  EXPECT_EQ(client.on_challenge(*stale.challenge), DigestClient::Verdict::Retry);
  EXPECT_EQ(param_of(client.authorize("GET", "/c", "c"), "nc"), "00000001");
}

TEST(DahuaDigestClient, ASecondRefusalWithoutStaleIsAuthFailedSoTheAccountIsNotLocked) {
  DigestClient client("admin", "wrong");
  const auto c1 = parse_digest_challenge("Digest realm=\"r\", qop=\"auth\", nonce=\"n1\"");
  EXPECT_EQ(client.on_challenge(*c1.challenge), DigestClient::Verdict::Retry);
  (void)client.authorize("GET", "/", "c");
  const auto c2 = parse_digest_challenge("Digest realm=\"r\", qop=\"auth\", nonce=\"n2\"");
  EXPECT_EQ(client.on_challenge(*c2.challenge), DigestClient::Verdict::AuthFailed);
}

TEST(DahuaDigestClient, AnExpiredNonceWithoutTheStaleFlagIsRetriedOnceAfterASuccess) {
  DigestClient client("admin", "secret");
  const auto c1 = parse_digest_challenge("Digest realm=\"r\", qop=\"auth\", nonce=\"n1\"");
  (void)client.on_challenge(*c1.challenge);
  (void)client.authorize("GET", "/", "c");
  client.on_authorized();
  const auto c2 = parse_digest_challenge("Digest realm=\"r\", qop=\"auth\", nonce=\"n2\"");
  EXPECT_EQ(client.on_challenge(*c2.challenge), DigestClient::Verdict::Retry);
  (void)client.authorize("GET", "/", "c");
  const auto c3 = parse_digest_challenge("Digest realm=\"r\", qop=\"auth\", nonce=\"n3\"");
  EXPECT_EQ(client.on_challenge(*c3.challenge), DigestClient::Verdict::AuthFailed);
}

TEST(DahuaDigestServer, StaleUnknownRealmUriAndMalformedHeaders) {
  const std::string challenge = build_digest_challenge("pushgate", "nonce-1", "op", false);
  const auto parsed = parse_digest_challenge(challenge);
  ASSERT_TRUE(parsed.challenge);
  EXPECT_EQ(parsed.challenge->opaque, "op");
  EXPECT_TRUE(parsed.challenge->qop_auth);
  EXPECT_TRUE(
      parse_digest_challenge(build_digest_challenge("pushgate", "n", "", true)).challenge->stale);
  const std::string header = build_digest_authorization(*parsed.challenge, "gate1", "pw", "POST",
                                                        "/dahua/gate1/event", 1, "abc");
  const auto auth = parse_digest_authorization(header);
  ASSERT_TRUE(auth.authorization) << auth.error;
  EXPECT_EQ(auth.authorization->nc_value, 1u);
  EXPECT_EQ(auth.authorization->opaque, "op");
  const std::map<std::string, std::string, std::less<>> users{{"gate1", "pw"}};
  const DigestAuthorization& a = *auth.authorization;
  EXPECT_EQ(verify_digest(a, "POST", "/dahua/gate1/event", "pushgate", users, NonceState::Stale),
            DigestVerdict::Stale);
  EXPECT_EQ(verify_digest(a, "POST", "/dahua/gate1/event", "pushgate", users, NonceState::Unknown),
            DigestVerdict::Stale);
  EXPECT_EQ(verify_digest(a, "GET", "/dahua/gate1/event", "pushgate", users, NonceState::Current),
            DigestVerdict::Refused);
  EXPECT_EQ(verify_digest(a, "POST", "/other", "pushgate", users, NonceState::Current),
            DigestVerdict::Malformed);
  EXPECT_EQ(verify_digest(a, "POST", "/dahua/gate1/event", "other", users, NonceState::Current),
            DigestVerdict::Malformed);
  const std::map<std::string, std::string, std::less<>> nobody;
  EXPECT_EQ(verify_digest(a, "POST", "/dahua/gate1/event", "pushgate", nobody, NonceState::Current),
            DigestVerdict::Refused);
  EXPECT_FALSE(parse_digest_authorization("Basic dXNlcjpwdw==").authorization);
  EXPECT_FALSE(parse_digest_authorization("Digest username=\"u\"").authorization);
  EXPECT_FALSE(parse_digest_authorization(
                   "Digest username=\"u\", realm=\"r\", nonce=\"n\", uri=\"/\", response=\"x\", "
                   "qop=auth, nc=1, cnonce=\"c\"")
                   .authorization);
}

}  // namespace
}  // namespace pushgate::adapters::dahua
