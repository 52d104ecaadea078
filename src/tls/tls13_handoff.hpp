// Taking a TLS 1.3 server connection over from OpenSSL once its handshake is
// done (see tls13_records.hpp for why). What weft needs and OpenSSL has no
// API for: the application traffic secrets, which come from the key log
// callback, and each direction's record sequence number, counted with the
// message callback (OpenSSL reports every record header; the count restarts
// at each side's Finished, after which the application keys are in use).
#pragma once

#include <openssl/ssl.h>

#include <cstddef>
#include <cstdint>
#include <memory>

#include "tls/tls13_keys.hpp"
#include "tls/tls13_records.hpp"

namespace weft::detail {

class Tls13Handoff {
 public:
  Tls13Handoff() = default;
  ~Tls13Handoff();
  Tls13Handoff(const Tls13Handoff&) = delete;
  Tls13Handoff& operator=(const Tls13Handoff&) = delete;

  /// Whether this OpenSSL's record callbacks are known to follow the order
  /// the sequence counts rely on (3.0 and 3.1).
  static bool supported() noexcept;
  /// Lets connections of `ctx` be taken over (installs the key log callback).
  static void enable(SSL_CTX* ctx);
  /// Starts watching a server connection's handshake; the handoff must
  /// outlive `ssl` or be detached first.
  void attach(SSL* ssl);
  static void detach(SSL* ssl);

  /// weft's record layer for `ssl`, or null when it cannot take over now:
  /// not TLS 1.3, a suite it does not carry, kTLS engaged, data buffered
  /// inside OpenSSL, a KeyUpdate already seen, a close started.
  std::unique_ptr<Tls13Records> take_over(SSL* ssl) const;
  /// The handshake ended in a way that can never be taken over (TLS 1.2 ...).
  bool hopeless(SSL* ssl) const;

 private:
  static void on_keylog(const SSL* ssl, const char* line);
  static void on_message(int write_p, int version, int content_type, const void* buf,
                         std::size_t len, SSL* ssl, void* arg);

  std::uint8_t client_secret_[kMaxSecret] = {};
  std::uint8_t server_secret_[kMaxSecret] = {};
  std::uint8_t client_len_ = 0;
  std::uint8_t server_len_ = 0;
  bool client_finished_ = false;
  bool server_finished_ = false;
  bool spoiled_ = false;           ///< a KeyUpdate or a malformed key log line went by
  std::uint64_t records_in_ = 0;   ///< read with the client's application key
  std::uint64_t records_out_ = 0;  ///< written with the server's application key
};

}  // namespace weft::detail
