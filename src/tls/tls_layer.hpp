// A TLS connection: an SSL object on the connection's socket (a socket BIO,
// so that OpenSSL can hand the keys to the kernel for kTLS), driven without
// blocking by the Conn on its loop. A TLS 1.3 server connection is handed to
// weft's own record layer at the first moment OpenSSL holds nothing back
// (tls13_handoff.hpp), and its SSL object is freed.
#pragma once

#include <openssl/ssl.h>

#include <memory>

#include "net/secure_layer.hpp"
#include "tls/tls13_handoff.hpp"
#include "tls/tls13_records.hpp"

namespace weft::detail {

class TlsLayer final : public SecureLayer {
 public:
  /// Takes ownership of `ssl`, already bound to the socket. `own_records`:
  /// take a TLS 1.3 server connection over after its handshake (its
  /// SSL_CTX must have had Tls13Handoff::enable).
  TlsLayer(SSL* ssl, bool ktls_enabled, bool ktls_required, bool own_records = false);
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

  /// Null once weft's record layer has taken over.
  SSL* ssl() const noexcept { return ssl_; }
  bool own_records() const noexcept { return records_ != nullptr; }

 private:
  IoStep failed(int ret, bool handshaking) const;
  IoStep write_with_openssl(const char* data, std::size_t len);
  void try_take_over();

  SSL* ssl_;
  std::unique_ptr<Tls13Handoff> handoff_;  ///< while a takeover may still happen
  std::unique_ptr<Tls13Records> records_;  ///< after it: ssl_ is gone
  std::unique_ptr<TlsInfo> info_;          ///< what the handshake agreed on, kept for records_
  bool ktls_enabled_;
  bool ktls_required_;
  LoopStats* stats_ = nullptr;  ///< the loop's, from handshake_done on
  bool write_blocked_ = false;  ///< OpenSSL holds a record the socket did not take
};

}  // namespace weft::detail
