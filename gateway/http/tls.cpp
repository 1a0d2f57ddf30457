#include "gateway/http/tls.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <cerrno>
#include <cstring>
#include <fstream>

namespace pushgate::http {

namespace ssl = boost::asio::ssl;

namespace {

// Mozilla's "intermediate" TLS 1.2 list: forward secrecy and AEAD only.
// TLS 1.3 suites are OpenSSL's defaults (all of them are sound).
constexpr const char* kTls12Ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

std::string openssl_reason(const boost::system::error_code& ec) {
  auto text = ec.message();
  return text.empty() ? std::string("not a PEM file OpenSSL can use") : text;
}

}  // namespace

std::string unreadable_file(const std::string& key, const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) {
    return key + ": cannot read \"" + path + "\": " + std::strerror(errno);
  }
  char c = 0;
  if (!f.get(c)) {
    return key + ": \"" + path + "\" is empty";
  }
  return {};
}

std::shared_ptr<ssl::context> make_server_tls(const std::string& cert_key,
                                              const std::string& cert_file,
                                              const std::string& key_key,
                                              const std::string& key_file, std::string& error) {
  for (const auto& [k, f] : {std::pair{cert_key, cert_file}, std::pair{key_key, key_file}}) {
    if (auto why = unreadable_file(k, f); !why.empty()) {
      error = why;
      return nullptr;
    }
  }
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                   ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 |
                   ssl::context::single_dh_use | SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
  SSL_CTX_set_min_proto_version(ctx->native_handle(), TLS1_2_VERSION);
  SSL_CTX_set_cipher_list(ctx->native_handle(), kTls12Ciphers);
  boost::system::error_code ec;
  ctx->use_certificate_chain_file(cert_file, ec);
  if (ec) {
    error = cert_key + ": cannot load \"" + cert_file + "\": " + openssl_reason(ec);
    return nullptr;
  }
  ctx->use_private_key_file(key_file, ssl::context::pem, ec);
  if (ec) {
    error = key_key + ": cannot load \"" + key_file + "\": " + openssl_reason(ec);
    return nullptr;
  }
  if (SSL_CTX_check_private_key(ctx->native_handle()) != 1) {
    ERR_clear_error();
    error = key_key + ": \"" + key_file + "\" is not the key of the certificate in \"" + cert_file +
            "\"";
    return nullptr;
  }
  return ctx;
}

}  // namespace pushgate::http
