#include "tests/sim/dahua_digest.hpp"

#include <openssl/evp.h>

#include <cctype>
#include <random>

namespace pushgate::sim::dahua {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

bool iequals(std::string_view a, std::string_view b) {
  return lower(a) == lower(b);
}

std::string hex8(std::uint32_t n) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(8, '0');
  for (int i = 7; i >= 0; --i) {
    out[static_cast<std::size_t>(i)] = kHex[n & 0xF];
    n >>= 4;
  }
  return out;
}

}  // namespace

std::string md5_hex(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), digest, &len, EVP_md5(), nullptr);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(len * 2);
  for (unsigned int i = 0; i < len; ++i) {
    out.push_back(kHex[digest[i] >> 4]);
    out.push_back(kHex[digest[i] & 0xF]);
  }
  return out;
}

std::optional<std::map<std::string, std::string>> parse_digest_params(std::string_view header) {
  std::size_t i = 0;
  while (i < header.size() && header[i] == ' ') {
    ++i;
  }
  if (header.size() - i < 6 || !iequals(header.substr(i, 6), "digest")) {
    return std::nullopt;
  }
  i += 6;
  std::map<std::string, std::string> out;
  while (i < header.size()) {
    while (i < header.size() && (header[i] == ' ' || header[i] == ',' || header[i] == '\t')) {
      ++i;
    }
    if (i >= header.size()) {
      break;
    }
    const std::size_t eq = header.find('=', i);
    if (eq == std::string_view::npos) {
      return std::nullopt;
    }
    std::string name = lower(header.substr(i, eq - i));
    while (!name.empty() && name.back() == ' ') {
      name.pop_back();
    }
    i = eq + 1;
    while (i < header.size() && header[i] == ' ') {
      ++i;
    }
    std::string value;
    if (i < header.size() && header[i] == '"') {
      ++i;
      while (i < header.size() && header[i] != '"') {
        if (header[i] == '\\' && i + 1 < header.size()) {
          ++i;
        }
        value.push_back(header[i++]);
      }
      if (i >= header.size()) {
        return std::nullopt;  // unterminated quote
      }
      ++i;
    } else {
      while (i < header.size() && header[i] != ',') {
        value.push_back(header[i++]);
      }
      while (!value.empty() && value.back() == ' ') {
        value.pop_back();
      }
    }
    if (name.empty()) {
      return std::nullopt;
    }
    out[name] = value;
  }
  return out;
}

std::optional<std::string> digest_authorization(std::string_view challenge, std::string_view user,
                                                std::string_view password, std::string_view method,
                                                std::string_view uri, std::uint32_t nc,
                                                std::string_view cnonce) {
  const auto p = parse_digest_params(challenge);
  if (!p || !p->count("realm") || !p->count("nonce")) {
    return std::nullopt;
  }
  if (const auto a = p->find("algorithm"); a != p->end() && !iequals(a->second, "MD5")) {
    return std::nullopt;
  }
  const std::string& realm = p->at("realm");
  const std::string& nonce = p->at("nonce");
  bool qop_auth = false;
  if (const auto q = p->find("qop"); q != p->end()) {
    // qop="auth,auth-int": auth must be among the options.
    std::string_view opts = q->second;
    while (!opts.empty()) {
      const auto comma = opts.find(',');
      std::string_view opt = opts.substr(0, comma);
      while (!opt.empty() && opt.front() == ' ') {
        opt.remove_prefix(1);
      }
      while (!opt.empty() && opt.back() == ' ') {
        opt.remove_suffix(1);
      }
      qop_auth = qop_auth || iequals(opt, "auth");
      opts = comma == std::string_view::npos ? std::string_view{} : opts.substr(comma + 1);
    }
    if (!qop_auth) {
      return std::nullopt;
    }
  }
  const std::string ha1 = md5_hex(std::string(user) + ":" + realm + ":" + std::string(password));
  const std::string ha2 = md5_hex(std::string(method) + ":" + std::string(uri));
  const std::string ncs = hex8(nc);
  const std::string response =
      qop_auth ? md5_hex(ha1 + ":" + nonce + ":" + ncs + ":" + std::string(cnonce) + ":auth:" + ha2)
               : md5_hex(ha1 + ":" + nonce + ":" + ha2);
  std::string out = "Digest username=\"" + std::string(user) + "\", realm=\"" + realm +
                    "\", nonce=\"" + nonce + "\", uri=\"" + std::string(uri) +
                    "\", algorithm=MD5, response=\"" + response + "\"";
  if (qop_auth) {
    out += ", qop=auth, nc=" + ncs + ", cnonce=\"" + std::string(cnonce) + "\"";
  }
  if (const auto o = p->find("opaque"); o != p->end()) {
    out += ", opaque=\"" + o->second + "\"";
  }
  return out;
}

std::string DigestServer::issue(Clock::time_point now, bool stale) {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  const std::string nonce = md5_hex(std::to_string(next_nonce_++) + ":" + std::to_string(rng()));
  nonces_[nonce] = Nonce{now, 0, 0, false};
  // Bounded: a client that never answers cannot grow the table forever.
  while (nonces_.size() > 1024) {
    auto oldest = nonces_.begin();
    for (auto it = nonces_.begin(); it != nonces_.end(); ++it) {
      if (it->second.issued < oldest->second.issued) {
        oldest = it;
      }
    }
    nonces_.erase(oldest);
  }
  std::string out = "Digest realm=\"" + policy_.realm + "\", qop=\"auth\", nonce=\"" + nonce +
                    "\", opaque=\"" + opaque_ + "\"";
  if (stale) {
    out += ", stale=true";
  }
  return out;
}

void DigestServer::note_failure(Clock::time_point now) {
  ++counters_.failures;
  failures_.push_back(now);
  ++consecutive_failures_;
  if (policy_.lock_after_failures != 0 && consecutive_failures_ >= policy_.lock_after_failures) {
    locked_until_ = now + policy_.lock_duration;
  }
}

void DigestServer::prune(Clock::time_point now) const {
  const auto hour_ago = now - std::chrono::hours(1);
  while (!attempts_.empty() && attempts_.front() < hour_ago) {
    attempts_.pop_front();
  }
  while (!failures_.empty() && failures_.front() < hour_ago) {
    failures_.pop_front();
  }
}

AuthDecision DigestServer::check(std::string_view method, std::string_view uri,
                                 std::string_view authorization, Clock::time_point now) {
  prune(now);
  const auto params = parse_digest_params(authorization);
  if (authorization.empty() || !params) {
    if (locked_until_ && now < *locked_until_) {
      ++counters_.locked_rejections;
      return {AuthVerdict::Locked, issue(now, false)};
    }
    ++counters_.challenges;
    return {AuthVerdict::Challenge, issue(now, false)};
  }
  attempts_.push_back(now);
  const auto field = [&](const char* name) -> std::string {
    const auto it = params->find(name);
    return it == params->end() ? std::string{} : it->second;
  };
  const std::string nonce = field("nonce");
  const std::string qop = field("qop");
  const std::string nc = field("nc");
  const std::string cnonce = field("cnonce");
  const std::string ha1 = md5_hex(field("username") + ":" + policy_.realm + ":" + policy_.password);
  const std::string ha2 = md5_hex(std::string(method) + ":" + field("uri"));
  const std::string expected =
      qop.empty() ? md5_hex(ha1 + ":" + nonce + ":" + ha2)
                  : md5_hex(ha1 + ":" + nonce + ":" + nc + ":" + cnonce + ":" + qop + ":" + ha2);
  const bool credentials_ok = field("username") == policy_.user &&
                              field("realm") == policy_.realm && field("response") == expected &&
                              (qop.empty() || qop == "auth") && field("uri") == uri;

  if (locked_until_ && now < *locked_until_) {
    // A locked account refuses everything, the right password included.
    ++counters_.locked_rejections;
    if (!credentials_ok) {
      ++counters_.failures;
      failures_.push_back(now);
    }
    return {AuthVerdict::Locked, issue(now, false)};
  }
  if (!credentials_ok) {
    note_failure(now);
    if (locked_until_ && now < *locked_until_) {
      return {AuthVerdict::Locked, issue(now, false)};
    }
    return {AuthVerdict::Failed, issue(now, false)};
  }
  const auto it = nonces_.find(nonce);
  const bool aged = it != nonces_.end() && policy_.nonce_lifetime.count() > 0 &&
                    now - it->second.issued >= policy_.nonce_lifetime;
  const bool used_up = it != nonces_.end() && policy_.nonce_max_uses != 0 &&
                       it->second.uses >= policy_.nonce_max_uses;
  if (it == nonces_.end() || it->second.expired || aged || used_up) {
    // The password was right: a stale nonce, not a failed login (RFC 7616 3.3).
    ++counters_.stale;
    if (it != nonces_.end()) {
      nonces_.erase(it);
    }
    return {AuthVerdict::Stale, issue(now, true)};
  }
  if (!qop.empty()) {
    std::uint32_t count = 0;
    try {
      count = static_cast<std::uint32_t>(std::stoul(nc, nullptr, 16));
    } catch (...) {
      count = 0;
    }
    if (nc.size() != 8 || count <= it->second.last_nc) {
      ++counters_.replays;
      return {AuthVerdict::Replay, issue(now, false)};
    }
    it->second.last_nc = count;
  }
  ++it->second.uses;
  consecutive_failures_ = 0;
  locked_until_.reset();
  ++counters_.successes;
  return {AuthVerdict::Ok, {}};
}

AuthStats DigestServer::stats(Clock::time_point now) const {
  prune(now);
  AuthStats out = counters_;
  out.attempts_last_hour = attempts_.size();
  out.failures_last_hour = failures_.size();
  out.consecutive_failures = consecutive_failures_;
  out.locked = locked_until_ && now < *locked_until_;
  return out;
}

}  // namespace pushgate::sim::dahua
