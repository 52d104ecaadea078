// The OpenSSL side of a TLS connection: an SSL object on the connection's
// socket (a socket BIO, so that OpenSSL can hand the keys to the kernel for
// kTLS), driven without blocking by the Conn on its loop.
#pragma once

#include <openssl/ssl.h>

#include "net/secure_layer.hpp"

namespace weft::detail {

class TlsLayer final : public SecureLayer {
 public:
  /// Takes ownership of `ssl`, already bound to the socket.
  TlsLayer(SSL* ssl, bool ktls_enabled, bool ktls_required) noexcept
      : ssl_(ssl), ktls_enabled_(ktls_enabled), ktls_required_(ktls_required) {}
  ~TlsLayer() override;
  TlsLayer(const TlsLayer&) = delete;
  TlsLayer& operator=(const TlsLayer&) = delete;

  IoStep handshake() override;
  IoStep read(char* buf, std::size_t cap) override;
  bool has_pending() const override;
  IoStep write(const char* data, std::size_t len) override;
  void shutdown() noexcept override;
  TlsInfo info() const override;
  bool handshake_done(LoopStats& stats) override;

  SSL* ssl() const noexcept { return ssl_; }

 private:
  IoStep failed(int ret, bool handshaking) const;

  SSL* ssl_;
  bool ktls_enabled_;
  bool ktls_required_;
};

}  // namespace weft::detail
