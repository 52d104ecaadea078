// Server-side TLS: the OpenSSL contexts built from a TlsConfig (certificates
// and SNI, versions, ALPN, tickets with shared rotating keys, OCSP stapling,
// client certificates, kTLS) and the factory listeners use to wrap each
// accepted socket.
#pragma once

#include <openssl/ssl.h>

#include <memory>
#include <string>
#include <vector>

#include "net/secure_layer.hpp"
#include "tls/ticket_keys.hpp"
#include "weft/config.hpp"

namespace weft::detail {

class TlsServerContext {
 public:
  /// Loads and checks everything; throws ConfigError naming the field at fault.
  explicit TlsServerContext(const TlsConfig& cfg);
  ~TlsServerContext();
  TlsServerContext(const TlsServerContext&) = delete;
  TlsServerContext& operator=(const TlsServerContext&) = delete;

  /// A server SSL bound to `fd`, in accept state. Throws on failure.
  SSL* new_ssl(int fd) const;
  const TlsConfig& config() const noexcept { return cfg_; }
  bool ktls_enabled() const noexcept { return cfg_.ktls != KtlsPolicy::off; }
  /// TLS 1.3 connections move to weft's record layer after the handshake.
  bool own_records() const noexcept { return cfg_.record_layer == TlsRecordLayer::weft; }
  /// The default context (for tests).
  SSL_CTX* default_ctx() const noexcept { return entries_.front().ctx; }

 private:
  struct Entry {
    SSL_CTX* ctx = nullptr;
    X509* leaf = nullptr;  // owned by ctx
  };
  SSL_CTX* make_ctx(const TlsCertPair& pair, const char* field);
  static int on_servername(SSL* ssl, int* alert, void* arg);
  static int on_alpn(SSL* ssl, const unsigned char** out, unsigned char* outlen,
                     const unsigned char* in, unsigned int inlen, void* arg);
  static int on_status(SSL* ssl, void* arg);

  TlsConfig cfg_;
  std::vector<Entry> entries_;  // [0] is the default certificate
  std::unique_ptr<TicketKeyRing> tickets_;
  std::string alpn_wire_;  // length-prefixed protocol list
  std::string ocsp_der_;
};

/// What a TLS listener hands its loops: one per listen URL.
class TlsListenerFactory final : public SecureLayerFactory {
 public:
  TlsListenerFactory(std::shared_ptr<TlsServerContext> ctx, bool sniff) noexcept
      : ctx_(std::move(ctx)), sniff_(sniff) {}
  std::unique_ptr<SecureLayer> make(int fd, int loop_index) override;
  bool sniff() const noexcept override { return sniff_; }
  int handshake_timeout_ms() const noexcept override { return ctx_->config().handshake_timeout_ms; }
  int max_handshakes() const noexcept override { return ctx_->config().max_handshakes; }

 private:
  std::shared_ptr<TlsServerContext> ctx_;
  bool sniff_;
};

/// Reads a PEM value: a file path, or the PEM text itself.
std::string read_pem_value(const std::string& value, const char* field);

}  // namespace weft::detail
