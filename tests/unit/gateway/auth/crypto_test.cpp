#include "gateway/auth/crypto.hpp"

#include <set>

#include <gtest/gtest.h>

namespace pushgate::auth {
namespace {

// A small cost keeps the test fast; the format records it.
constexpr KdfParams kCheap{1U << 10, 8, 1};

TEST(AuthCrypto, PasswordHashRoundTrips) {
  auto stored = hash_password("correct horse battery staple", kCheap);
  EXPECT_EQ(stored.rfind("scrypt$1024$8$1$", 0), 0U) << stored;
  EXPECT_EQ(stored.find("correct horse"), std::string::npos);
  EXPECT_TRUE(verify_password("correct horse battery staple", stored));
  EXPECT_FALSE(verify_password("correct horse battery stapler", stored));
  EXPECT_FALSE(verify_password("", stored));
}

TEST(AuthCrypto, EachHashHasItsOwnSalt) {
  auto a = hash_password("same password", kCheap);
  auto b = hash_password("same password", kCheap);
  EXPECT_NE(a, b);
  EXPECT_TRUE(verify_password("same password", a));
  EXPECT_TRUE(verify_password("same password", b));
}

TEST(AuthCrypto, DefaultCostIsStoredAndVerified) {
  auto stored = hash_password("a default-cost password");
  EXPECT_EQ(stored.rfind("scrypt$32768$8$1$", 0), 0U) << stored;
  EXPECT_TRUE(verify_password("a default-cost password", stored));
}

// Computed by Python's hashlib.scrypt (another implementation): the stored
// format is plain scrypt, readable by any tool.
TEST(AuthCrypto, VerifiesAHashMadeElsewhere) {
  const std::string stored =
      "scrypt$16384$8$1$AAECAwQFBgcICQoLDA0ODw==$11kKyiyYAc8G7rp3KmncMc44YlkdllIqxOa7pq0fMaU=";
  EXPECT_TRUE(verify_password("correct horse battery staple", stored));
  EXPECT_FALSE(verify_password("correct horse battery stapl", stored));
}

TEST(AuthCrypto, MalformedHashesMatchNothing) {
  for (const char* bad :
       {"", "scrypt", "scrypt$16384$8$1$AAECAwQFBgcICQoLDA0ODw==", "bcrypt$1$2$3$AAAA$AAAA",
        "scrypt$0$8$1$AAECAwQFBgcICQoLDA0ODw==$11kKyiyYAc8G7rp3KmncMc44YlkdllIqxOa7pq0fMaU=",
        "scrypt$16384$8$1$!!!!$11kKyiyYAc8G7rp3KmncMc44YlkdllIqxOa7pq0fMaU=",
        "scrypt$16384$8$1$AAECAwQFBgcICQoLDA0ODw==$AAAA",
        // a cost far above what a login may spend
        "scrypt$1073741824$8$1$AAECAwQFBgcICQoLDA0ODw==$"
        "11kKyiyYAc8G7rp3KmncMc44YlkdllIqxOa7pq0fMaU="}) {
    EXPECT_FALSE(verify_password("correct horse battery staple", bad)) << bad;
  }
}

TEST(AuthCrypto, SecretsAreRandom256BitBase64Url) {
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) {
    auto s = random_secret();
    EXPECT_EQ(s.size(), 43U);
    EXPECT_EQ(
        s.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
        std::string::npos)
        << s;
    seen.insert(s);
  }
  EXPECT_EQ(seen.size(), 100U);
}

TEST(AuthCrypto, TokensAreStoredAsSha256Hex) {
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  auto token = random_secret();
  auto hash = sha256_hex(token);
  EXPECT_EQ(hash.size(), 64U);
  EXPECT_EQ(hash.find(token), std::string::npos);
}

TEST(AuthCrypto, ConstantTimeEqualIsEquality) {
  EXPECT_TRUE(constant_time_equal("", ""));
  EXPECT_TRUE(constant_time_equal("abc", "abc"));
  EXPECT_FALSE(constant_time_equal("abc", "abd"));
  EXPECT_FALSE(constant_time_equal("abc", "ab"));
  EXPECT_FALSE(constant_time_equal("", "a"));
}

}  // namespace
}  // namespace pushgate::auth
