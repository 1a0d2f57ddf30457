#pragma once

// The TLS side of an HTTPS listener: a server context from PEM files with
// TLS 1.2 as the floor and forward-secret AEAD ciphers only.

#include <memory>
#include <string>

#include <boost/asio/ssl/context.hpp>

namespace pushgate::http {

/**
 * Why `path` (the value of config key `key`) cannot be read, naming both
 * ("api.tls_cert_file: cannot read \"/etc/x.pem\": No such file or
 * directory"); empty when it can.
 */
std::string unreadable_file(const std::string& key, const std::string& path);

/**
 * A server context for HTTPS clients (browsers, curl, scripts): TLS 1.2 or
 * newer, ECDHE with AES-GCM or ChaCha20-Poly1305 under TLS 1.2, no
 * compression, no renegotiation, the certificate chain and key from PEM
 * files, the key checked against the certificate. nullptr and `error`
 * (naming the key and the file) when a file does not load.
 */
std::shared_ptr<boost::asio::ssl::context> make_server_tls(const std::string& cert_key,
                                                           const std::string& cert_file,
                                                           const std::string& key_key,
                                                           const std::string& key_file,
                                                           std::string& error);

}  // namespace pushgate::http
