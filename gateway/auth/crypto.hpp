#pragma once

// The secrets of gateway/auth: password hashes (scrypt, OpenSSL), random
// 256-bit tokens and their SHA-256 hashes, constant-time comparison.

#include <cstdint>
#include <string>
#include <string_view>

namespace pushgate::auth {

/** scrypt cost; the defaults are OWASP's minimum (N=2^17 needs 128 MiB per login). */
struct KdfParams {
  std::uint64_t n = 1U << 15;
  std::uint64_t r = 8;
  std::uint64_t p = 1;
};

/**
 * "scrypt$N$r$p$<salt b64>$<hash b64>" of `password` with a fresh 16-byte
 * random salt: what is stored. Throws std::runtime_error when OpenSSL fails.
 */
std::string hash_password(std::string_view password, const KdfParams& params = {});

/**
 * True when `password` matches `stored` (a hash_password result). The
 * comparison is constant-time; a malformed `stored` matches nothing.
 */
bool verify_password(std::string_view password, std::string_view stored);

/** A fresh random 256-bit secret, base64url without padding (43 characters). */
std::string random_secret();

/** Lower-case hex SHA-256 of `secret`: how tokens and session ids are stored. */
std::string sha256_hex(std::string_view secret);

/** Equality in time independent of where the strings differ. */
bool constant_time_equal(std::string_view a, std::string_view b);

}  // namespace pushgate::auth
