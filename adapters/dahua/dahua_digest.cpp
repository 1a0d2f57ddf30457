#include "adapters/dahua/dahua_digest.hpp"

#include <algorithm>
#include <array>
#include <cstdio>

#include <openssl/crypto.h>
#include <openssl/evp.h>

namespace pushgate::adapters::dahua {

namespace {

/** Lowercase hex of H(text); "" when the library refuses the digest (FIPS without MD5). */
std::string hash_hex(DigestAlgorithm algorithm, std::string_view text) {
  const bool sha = algorithm == DigestAlgorithm::Sha256 || algorithm == DigestAlgorithm::Sha256Sess;
  std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
  unsigned int len = 0;
  if (EVP_Digest(text.data(), text.size(), md.data(), &len, sha ? EVP_sha256() : EVP_md5(),
                 nullptr) != 1) {
    return {};
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(len * 2);
  for (unsigned int i = 0; i < len; ++i) {
    out += kHex[md[i] >> 4];
    out += kHex[md[i] & 0x0F];
  }
  return out;
}

std::string join(std::initializer_list<std::string_view> parts) {
  std::string out;
  bool first = true;
  for (std::string_view part : parts) {
    if (!first) {
      out += ':';
    }
    first = false;
    out.append(part);
  }
  return out;
}

std::optional<DigestAlgorithm> algorithm_from(std::string_view text) {
  text = trim(text);
  if (text.empty() || iequals(text, "MD5")) {
    return DigestAlgorithm::Md5;
  }
  if (iequals(text, "MD5-sess")) {
    return DigestAlgorithm::Md5Sess;
  }
  if (iequals(text, "SHA-256")) {
    return DigestAlgorithm::Sha256;
  }
  if (iequals(text, "SHA-256-sess")) {
    return DigestAlgorithm::Sha256Sess;
  }
  return std::nullopt;
}

bool is_token_char(char c) noexcept {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
         std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

struct Scheme {
  std::string name;
  std::vector<KeyValue> params;
};

/**
 * Splits a WWW-Authenticate / Authorization value into schemes and their
 * parameters (RFC 7235 §2.1; quoted strings with \-escapes and commas).
 */
std::vector<Scheme> parse_schemes(std::string_view text) {
  std::vector<Scheme> schemes;
  std::size_t i = 0;
  const auto skip = [&] {
    while (i < text.size() && (text[i] == ' ' || text[i] == '\t' || text[i] == ',' ||
                               text[i] == '\r' || text[i] == '\n')) {
      ++i;
    }
  };
  while (true) {
    skip();
    if (i >= text.size()) {
      break;
    }
    const std::size_t start = i;
    while (i < text.size() && is_token_char(text[i])) {
      ++i;
    }
    if (i == start) {
      ++i;  // a stray character: skip it
      continue;
    }
    const std::string_view token = text.substr(start, i - start);
    std::size_t j = i;
    while (j < text.size() && (text[j] == ' ' || text[j] == '\t')) {
      ++j;
    }
    if (j < text.size() && text[j] == '=' && !schemes.empty()) {
      i = j + 1;
      while (i < text.size() && (text[i] == ' ' || text[i] == '\t')) {
        ++i;
      }
      std::string value;
      if (i < text.size() && text[i] == '"') {
        ++i;
        while (i < text.size() && text[i] != '"') {
          if (text[i] == '\\' && i + 1 < text.size()) {
            ++i;
          }
          value += text[i++];
        }
        ++i;  // closing quote (or past the end)
      } else {
        const std::size_t vstart = i;
        while (i < text.size() && text[i] != ',' && text[i] != ' ' && text[i] != '\t') {
          ++i;
        }
        value = std::string(text.substr(vstart, i - vstart));
      }
      schemes.back().params.push_back({std::string(token), std::move(value)});
    } else {
      schemes.push_back({std::string(token), {}});
    }
  }
  return schemes;
}

const std::string* param(const std::vector<KeyValue>& params, std::string_view name) {
  for (const KeyValue& kv : params) {
    if (iequals(kv.key, name)) {
      return &kv.value;
    }
  }
  return nullptr;
}

std::string quote_param(std::string_view value) {
  std::string out = "\"";
  for (char c : value) {
    if (c == '"' || c == '\\') {
      out += '\\';
    }
    out += c;
  }
  out += '"';
  return out;
}

std::string nc_hex(std::uint32_t nc) {
  std::array<char, 9> buf{};
  std::snprintf(buf.data(), buf.size(), "%08x", nc);
  return std::string(buf.data(), 8);
}

}  // namespace

std::string_view to_string(DigestAlgorithm algorithm) noexcept {
  switch (algorithm) {
    case DigestAlgorithm::Md5:
      return "MD5";
    case DigestAlgorithm::Md5Sess:
      return "MD5-sess";
    case DigestAlgorithm::Sha256:
      return "SHA-256";
    case DigestAlgorithm::Sha256Sess:
      return "SHA-256-sess";
  }
  return "MD5";
}

ChallengeParse parse_digest_challenge(std::string_view www_authenticate) {
  ChallengeParse result;
  for (Scheme& scheme : parse_schemes(www_authenticate)) {
    if (!iequals(scheme.name, "Digest")) {
      continue;
    }
    DigestChallenge c;
    const std::string* realm = param(scheme.params, "realm");
    const std::string* nonce = param(scheme.params, "nonce");
    if (realm == nullptr || nonce == nullptr || nonce->empty()) {
      result.error = "Digest challenge without realm or nonce";
      return result;
    }
    c.realm = *realm;
    c.nonce = *nonce;
    if (const std::string* opaque = param(scheme.params, "opaque")) {
      c.opaque = *opaque;
      c.has_opaque = true;
    }
    const std::string* algorithm = param(scheme.params, "algorithm");
    const auto parsed = algorithm_from(algorithm ? *algorithm : "");
    if (!parsed) {
      result.error = "unsupported Digest algorithm " + algorithm->substr(0, 32);
      return result;
    }
    c.algorithm = *parsed;
    if (const std::string* qop = param(scheme.params, "qop")) {
      std::string_view list = *qop;
      while (!list.empty()) {
        const std::size_t comma = list.find(',');
        if (iequals(trim(list.substr(0, comma)), "auth")) {
          c.qop_auth = true;
        }
        list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
      }
      if (!c.qop_auth) {
        result.error = "Digest challenge offers no qop=auth";
        return result;
      }
    }
    if ((c.algorithm == DigestAlgorithm::Md5Sess || c.algorithm == DigestAlgorithm::Sha256Sess) &&
        !c.qop_auth) {
      // The -sess hash needs the cnonce, which is only sent with a qop (RFC 2617 §3.2.2).
      result.error = "Digest " + std::string(to_string(c.algorithm)) + " without qop=auth";
      return result;
    }
    if (const std::string* stale = param(scheme.params, "stale")) {
      c.stale = iequals(trim(*stale), "true");
    }
    c.params = std::move(scheme.params);
    result.challenge = std::move(c);
    return result;
  }
  result.error = "no Digest challenge";
  return result;
}

std::string digest_response(DigestAlgorithm algorithm, std::string_view user,
                            std::string_view realm, std::string_view password,
                            std::string_view method, std::string_view uri, std::string_view nonce,
                            std::string_view nc, std::string_view cnonce, std::string_view qop) {
  std::string ha1 = hash_hex(algorithm, join({user, realm, password}));
  if (algorithm == DigestAlgorithm::Md5Sess || algorithm == DigestAlgorithm::Sha256Sess) {
    ha1 = hash_hex(algorithm, join({ha1, nonce, cnonce}));
  }
  const std::string ha2 = hash_hex(algorithm, join({method, uri}));
  if (qop.empty()) {
    return hash_hex(algorithm, join({ha1, nonce, ha2}));
  }
  return hash_hex(algorithm, join({ha1, nonce, nc, cnonce, qop, ha2}));
}

std::string build_digest_authorization(const DigestChallenge& c, std::string_view user,
                                       std::string_view password, std::string_view method,
                                       std::string_view uri, std::uint32_t nc,
                                       std::string_view cnonce) {
  const std::string nc_text = nc_hex(nc);
  const std::string_view qop = c.qop_auth ? "auth" : "";
  const std::string response = digest_response(c.algorithm, user, c.realm, password, method, uri,
                                               c.nonce, nc_text, cnonce, qop);
  std::string out = "Digest username=" + quote_param(user) + ", realm=" + quote_param(c.realm) +
                    ", nonce=" + quote_param(c.nonce) + ", uri=" + quote_param(uri) +
                    ", algorithm=" + std::string(to_string(c.algorithm));
  if (c.qop_auth) {
    out += ", qop=auth, nc=" + nc_text + ", cnonce=" + quote_param(cnonce);
  }
  out += ", response=" + quote_param(response);
  if (c.has_opaque) {
    out += ", opaque=" + quote_param(c.opaque);
  }
  return out;
}

DigestClient::Verdict DigestClient::on_challenge(DigestChallenge challenge) {
  Verdict verdict = Verdict::Retry;
  if (challenge_ && !challenge.stale && sent_since_challenge_) {
    // Credentials for the previous nonce were sent and refused without
    // stale=true. Firmware that forgets the stale flag is tolerated only
    // when the previous nonce had worked and the nonce changed.
    const bool expired_nonce = succeeded_ && challenge.nonce != challenge_->nonce;
    verdict = expired_nonce ? Verdict::Retry : Verdict::AuthFailed;
  }
  challenge_ = std::move(challenge);
  nc_ = 0;
  sent_since_challenge_ = false;
  succeeded_ = false;
  return verdict;
}

std::string DigestClient::authorize(std::string_view method, std::string_view uri,
                                    std::string_view cnonce) {
  if (!challenge_) {
    return {};
  }
  sent_since_challenge_ = true;
  return build_digest_authorization(*challenge_, user_, password_, method, uri, ++nc_, cnonce);
}

AuthorizationParse parse_digest_authorization(std::string_view header) {
  AuthorizationParse result;
  std::vector<Scheme> schemes = parse_schemes(header);
  if (schemes.size() != 1 || !iequals(schemes[0].name, "Digest")) {
    result.error = "not a Digest Authorization header";
    return result;
  }
  const std::vector<KeyValue>& p = schemes[0].params;
  DigestAuthorization a;
  const auto get = [&](std::string_view name, std::string& out) {
    const std::string* v = param(p, name);
    if (v != nullptr) {
      out = *v;
    }
    return v != nullptr;
  };
  if (!get("username", a.username) || !get("realm", a.realm) || !get("nonce", a.nonce) ||
      !get("uri", a.uri) || !get("response", a.response)) {
    result.error = "Digest Authorization lacks username, realm, nonce, uri or response";
    return result;
  }
  get("qop", a.qop);
  get("nc", a.nc);
  get("cnonce", a.cnonce);
  get("opaque", a.opaque);
  std::string algorithm;
  get("algorithm", algorithm);
  const auto parsed = algorithm_from(algorithm);
  if (!parsed) {
    result.error = "unsupported Digest algorithm";
    return result;
  }
  a.algorithm = *parsed;
  if (!a.qop.empty()) {
    if (!iequals(a.qop, "auth")) {
      result.error = "unsupported qop " + a.qop.substr(0, 16);
      return result;
    }
    unsigned long value = 0;
    const bool hex8 =
        a.nc.size() == 8 && std::all_of(a.nc.begin(), a.nc.end(), [](char c) {
          return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
        });
    if (!hex8 || a.cnonce.empty()) {
      result.error = "qop=auth without an 8-digit nc or a cnonce";
      return result;
    }
    value = std::stoul(a.nc, nullptr, 16);
    a.nc_value = static_cast<std::uint32_t>(value);
  }
  if ((a.algorithm == DigestAlgorithm::Md5Sess || a.algorithm == DigestAlgorithm::Sha256Sess) &&
      a.qop.empty()) {
    result.error = "Digest -sess algorithm without qop";
    return result;
  }
  result.authorization = std::move(a);
  return result;
}

std::string build_digest_challenge(std::string_view realm, std::string_view nonce,
                                   std::string_view opaque, bool stale) {
  std::string out = "Digest realm=" + quote_param(realm) +
                    ", qop=\"auth\", algorithm=MD5, nonce=" + quote_param(nonce);
  if (!opaque.empty()) {
    out += ", opaque=" + quote_param(opaque);
  }
  if (stale) {
    out += ", stale=true";
  }
  return out;
}

std::string_view to_string(DigestVerdict verdict) noexcept {
  switch (verdict) {
    case DigestVerdict::Ok:
      return "ok";
    case DigestVerdict::Stale:
      return "stale";
    case DigestVerdict::Refused:
      return "refused";
    case DigestVerdict::Malformed:
      return "malformed";
  }
  return "malformed";
}

DigestVerdict verify_digest(const DigestAuthorization& a, std::string_view method,
                            std::string_view request_uri, std::string_view realm,
                            const std::map<std::string, std::string, std::less<>>& users,
                            NonceState nonce_state) {
  if (a.realm != realm || a.uri != request_uri) {
    return DigestVerdict::Malformed;
  }
  const auto user = users.find(std::string_view(a.username));
  if (user == users.end()) {
    return DigestVerdict::Refused;
  }
  const std::string expected = digest_response(a.algorithm, a.username, a.realm, user->second,
                                               method, a.uri, a.nonce, a.nc, a.cnonce, a.qop);
  if (expected.empty() || expected.size() != a.response.size()) {
    return DigestVerdict::Refused;
  }
  std::string given = a.response;
  for (char& c : given) {
    if (c >= 'A' && c <= 'F') {
      c = static_cast<char>(c - 'A' + 'a');
    }
  }
  if (CRYPTO_memcmp(expected.data(), given.data(), expected.size()) != 0) {
    return DigestVerdict::Refused;
  }
  // Right credentials on a nonce that is not current (expired, or issued
  // before a restart): challenge again with stale=true, not a failure.
  return nonce_state == NonceState::Current ? DigestVerdict::Ok : DigestVerdict::Stale;
}

}  // namespace pushgate::adapters::dahua
