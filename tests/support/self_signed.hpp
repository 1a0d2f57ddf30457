#pragma once
// A self-signed certificate and its key (EC P-256, CN=localhost, valid from
// an hour ago for a day), made in memory for a test run: for TLS listeners
// under test and the clients that trust exactly that certificate.
// Test support only; never linked into pushgated.

#include <string>

namespace pushgate::test {

struct SelfSigned {
  std::string cert_pem;
  std::string key_pem;
};

/** Both strings are empty when OpenSSL could not make the pair. */
SelfSigned make_self_signed();

}  // namespace pushgate::test
