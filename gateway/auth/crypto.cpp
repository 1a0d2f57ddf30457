#include "gateway/auth/crypto.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <array>
#include <charconv>
#include <stdexcept>
#include <vector>

namespace pushgate::auth {

namespace {

constexpr std::size_t kSaltBytes = 16;
constexpr std::size_t kHashBytes = 32;

std::string b64(const unsigned char* data, std::size_t n) {
  std::string out(4 * ((n + 2) / 3), '\0');
  int len =
      EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), data, static_cast<int>(n));
  out.resize(static_cast<std::size_t>(len));
  return out;
}

bool unb64(std::string_view in, std::vector<unsigned char>& out) {
  if (in.empty() || in.size() % 4 != 0) {
    return false;
  }
  out.assign(3 * in.size() / 4, 0);
  int len = EVP_DecodeBlock(out.data(), reinterpret_cast<const unsigned char*>(in.data()),
                            static_cast<int>(in.size()));
  if (len < 0) {
    return false;
  }
  std::size_t pad = 0;
  for (auto it = in.rbegin(); it != in.rend() && *it == '='; ++it) {
    ++pad;
  }
  out.resize(static_cast<std::size_t>(len) - pad);
  return true;
}

bool scrypt(std::string_view password, const unsigned char* salt, std::size_t salt_len,
            const KdfParams& k, unsigned char* out, std::size_t out_len) {
  // scrypt needs 128·N·r·p bytes; allow twice that.
  std::uint64_t maxmem = 256 * k.n * k.r * k.p;
  return EVP_PBE_scrypt(password.data(), password.size(), salt, salt_len, k.n, k.r, k.p, maxmem,
                        out, out_len) == 1;
}

bool parse_u64(std::string_view s, std::uint64_t& v) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  return ec == std::errc() && p == s.data() + s.size() && v > 0;
}

}  // namespace

std::string hash_password(std::string_view password, const KdfParams& params) {
  std::array<unsigned char, kSaltBytes> salt{};
  if (RAND_bytes(salt.data(), static_cast<int>(salt.size())) != 1) {
    throw std::runtime_error("RAND_bytes failed");
  }
  std::array<unsigned char, kHashBytes> hash{};
  if (!scrypt(password, salt.data(), salt.size(), params, hash.data(), hash.size())) {
    throw std::runtime_error("EVP_PBE_scrypt failed");
  }
  return "scrypt$" + std::to_string(params.n) + "$" + std::to_string(params.r) + "$" +
         std::to_string(params.p) + "$" + b64(salt.data(), salt.size()) + "$" +
         b64(hash.data(), hash.size());
}

bool verify_password(std::string_view password, std::string_view stored) {
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  while (parts.size() < 6) {
    auto d = stored.find('$', start);
    parts.push_back(
        stored.substr(start, d == std::string_view::npos ? std::string_view::npos : d - start));
    if (d == std::string_view::npos) {
      break;
    }
    start = d + 1;
  }
  KdfParams k;
  std::vector<unsigned char> salt;
  std::vector<unsigned char> want;
  if (parts.size() != 6 || parts[0] != "scrypt" || !parse_u64(parts[1], k.n) ||
      !parse_u64(parts[2], k.r) || !parse_u64(parts[3], k.p) || k.n > (1U << 20) || k.r > 32 ||
      k.p > 16 || !unb64(parts[4], salt) || !unb64(parts[5], want) || want.size() != kHashBytes) {
    return false;
  }
  std::array<unsigned char, kHashBytes> got{};
  if (!scrypt(password, salt.data(), salt.size(), k, got.data(), got.size())) {
    return false;
  }
  return CRYPTO_memcmp(got.data(), want.data(), kHashBytes) == 0;
}

std::string random_secret() {
  std::array<unsigned char, 32> bytes{};
  if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1) {
    throw std::runtime_error("RAND_bytes failed");
  }
  std::string s = b64(bytes.data(), bytes.size());
  for (auto& c : s) {
    if (c == '+') {
      c = '-';
    } else if (c == '/') {
      c = '_';
    }
  }
  while (!s.empty() && s.back() == '=') {
    s.pop_back();
  }
  return s;
}

std::string sha256_hex(std::string_view secret) {
  std::array<unsigned char, SHA256_DIGEST_LENGTH> d{};
  SHA256(reinterpret_cast<const unsigned char*>(secret.data()), secret.size(), d.data());
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(d.size() * 2);
  for (auto b : d) {
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 0xF]);
  }
  return out;
}

bool constant_time_equal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) {
    return false;
  }
  return a.empty() || CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace pushgate::auth
