// The boundary between a Conn and a byte-stream security layer (TLS). A Conn
// with no transport reads and writes its socket directly; with one, every
// read and write goes through it. The net layer knows only this interface;
// src/tls implements it, so net does not depend on OpenSSL.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <system_error>

#include "weft/stats.hpp"
#include "weft/tls.hpp"

namespace weft::detail {

/// What a transport call needs before it can make progress.
enum class IoWant {
  none,   ///< done (or some bytes moved)
  read,   ///< wait until the socket is readable
  write,  ///< wait until the socket is writable
  eof,    ///< the peer closed the stream in an orderly way
  error,  ///< failed: see the returned error
};

struct IoStep {
  IoWant want = IoWant::none;
  std::size_t bytes = 0;  ///< bytes read into the buffer, or taken from it
  std::error_code error;  ///< set when want == error
};

class SecureLayer {
 public:
  virtual ~SecureLayer() = default;
  /// Drives the handshake; none = finished.
  virtual IoStep handshake() = 0;
  /// Reads decrypted bytes into buf (up to cap).
  virtual IoStep read(char* buf, std::size_t cap) = 0;
  /// Whether decrypted or undecrypted bytes wait inside the transport (the
  /// socket will not report them as readable).
  virtual bool has_pending() const = 0;
  /// Encrypts and sends from data (some or all of it). After want == write,
  /// the next call must offer the same bytes again first.
  virtual IoStep write(const char* data, std::size_t len) = 0;
  /// One non-blocking attempt to send the closing alert.
  virtual void shutdown() noexcept = 0;
  /// What the handshake agreed on.
  virtual TlsInfo info() const = 0;
  /// The handshake finished: the layer counts it (resumed, kTLS state).
  /// False: the connection must not be served (e.g. kTLS required, not engaged).
  virtual bool handshake_done(LoopStats& stats) = 0;
  /// The loop's handshake-timeout timer while the handshake runs (0: none).
  std::uint64_t handshake_timer = 0;
};

/// How a listener makes transports for the connections it accepts.
class SecureLayerFactory {
 public:
  virtual ~SecureLayerFactory() = default;
  /// A server-side transport for an accepted descriptor. Throws on failure.
  virtual std::unique_ptr<SecureLayer> make(int fd, int loop_index) = 0;
  /// both = plain and TLS on one port, told apart by the first byte.
  virtual bool sniff() const noexcept = 0;
  /// Handshake limits per loop.
  virtual int handshake_timeout_ms() const noexcept = 0;
  virtual int max_handshakes() const noexcept = 0;
};

}  // namespace weft::detail
