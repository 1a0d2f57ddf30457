#include "gateway/link_support.hpp"

namespace pushgate {

std::shared_ptr<boost::asio::ssl::context> tls_client_context(const std::string& ca_file,
                                                              bool verify,
                                                              boost::system::error_code& ec) {
  namespace ssl = boost::asio::ssl;
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_client);
  // Protocol versions are OpenSSL's defaults: older controllers' firmware
  // still speaks TLS 1.0/1.1, and refusing it would cut them off.
  if (!verify) {
    ctx->set_verify_mode(ssl::verify_none);
    return ctx;
  }
  ctx->set_verify_mode(ssl::verify_peer);
  if (!ca_file.empty()) {
    ctx->load_verify_file(ca_file, ec);
  } else {
    ctx->set_default_verify_paths(ec);
  }
  return ctx;
}

}  // namespace pushgate
