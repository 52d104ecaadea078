// Client-side TLS for Server::dial: one SSL_CTX per TlsClient (trust store,
// client certificate, ALPN) and a session cache keyed by server name and
// address, so that reconnects resume.
#pragma once

#include <openssl/ssl.h>

#include <mutex>
#include <string>
#include <unordered_map>

#include "net/worker.hpp"
#include "weft/dial.hpp"

namespace weft::detail {

class TlsClientImpl final : public ClientLayerFactory {
 public:
  explicit TlsClientImpl(const TlsClientOptions& opts);
  ~TlsClientImpl() override;
  TlsClientImpl(const TlsClientImpl&) = delete;
  TlsClientImpl& operator=(const TlsClientImpl&) = delete;

  std::unique_ptr<SecureLayer> make_client(int fd, const std::string& server_name) override;
  std::size_t cached_sessions() const;

 private:
  static int on_new_session(SSL* ssl, SSL_SESSION* session);
  void store(const std::string& key, SSL_SESSION* session);
  SSL_SESSION* lookup(const std::string& key);

  SSL_CTX* ctx_ = nullptr;
  std::string alpn_wire_;
  bool verify_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, SSL_SESSION*> sessions_;
};

}  // namespace weft::detail
