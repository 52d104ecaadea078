// weft/stats.hpp — per-loop counters. Each loop writes only its own (no
// locks, no read-modify-write atomics on the hot path); readers sum them.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

namespace weft {

/// A counter written by one thread and read by any.
class Counter {
 public:
  void add(std::uint64_t n = 1) noexcept {
    v_.store(v_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  void sub(std::uint64_t n = 1) noexcept {
    v_.store(v_.load(std::memory_order_relaxed) - n, std::memory_order_relaxed);
  }
  std::uint64_t get() const noexcept { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> v_{0};
};

struct LoopStats {
  Counter accepted;      ///< connections accepted onto this loop
  Counter open;          ///< connections open now (a gauge)
  Counter closed;        ///< connections closed, all reasons
  Counter closed_peer;   ///< orderly close by the peer
  Counter closed_local;  ///< close()/abort()/Action::close by the application
  Counter closed_error;  ///< a socket error (reset, ...)
  Counter closed_idle;   ///< idleLimit
  Counter closed_pkt;    ///< pktSizeLimit
  Counter closed_sbuf;   ///< cliSbufLimit with policy close
  Counter closed_stop;   ///< server stop deadline
  Counter bytes_in, bytes_out;
  Counter msgs_in;   ///< on_data calls that consumed bytes
  Counter msgs_out;  ///< write()/writev() calls
  Counter datagrams_in, datagrams_out;
  Counter datagrams_dropped;  ///< larger than bufSize
  Counter accept_errors;      ///< accept failures (EMFILE included)
  Counter fd_exhausted;       ///< EMFILE/ENFILE events
  Counter sbuf_pauses;        ///< reads paused by cliSbufLimit
  // Outbound (Server::dial, Redialer)
  Counter dials;         ///< connects started (each address of a name counts)
  Counter dial_errors;   ///< dials that failed before on_open (on_dial_error)
  Counter name_lookups;  ///< host names looked up for dials
  // TLS
  Counter tls_handshakes;   ///< handshakes finished
  Counter tls_resumed;      ///< of those, resumed sessions
  Counter tls_failed;       ///< handshakes that failed
  Counter tls_timeouts;     ///< handshakes closed by tlsHandshakeTimeout
  Counter tls_handshaking;  ///< handshakes in progress or waiting (a gauge)
  Counter ktls_offloaded;   ///< connections with TX and RX in the kernel
  Counter ktls_tx_only;     ///< TX offloaded, RX not
  Counter ktls_no_kernel;   ///< not offloaded: the kernel has no tls ULP
  Counter ktls_cipher;      ///< not offloaded: cipher/version unsupported
  Counter ktls_declined;    ///< not offloaded: OpenSSL did not engage it
  Counter tls_own_records;  ///< connections handed from OpenSSL to weft's record layer
};

/// A plain snapshot (sum over loops).
struct StatsSnapshot {
  std::uint64_t accepted = 0, open = 0, closed = 0, closed_peer = 0, closed_local = 0,
                closed_error = 0, closed_idle = 0, closed_pkt = 0, closed_sbuf = 0, closed_stop = 0,
                bytes_in = 0, bytes_out = 0, msgs_in = 0, msgs_out = 0, datagrams_in = 0,
                datagrams_out = 0, datagrams_dropped = 0, accept_errors = 0, fd_exhausted = 0,
                sbuf_pauses = 0, dials = 0, dial_errors = 0, name_lookups = 0, tls_handshakes = 0,
                tls_resumed = 0, tls_failed = 0, tls_timeouts = 0, tls_handshaking = 0,
                ktls_offloaded = 0, ktls_tx_only = 0, ktls_no_kernel = 0, ktls_cipher = 0,
                ktls_declined = 0, tls_own_records = 0;

  void add(const LoopStats& s) noexcept;
  /// One line: "open=3 accepted=10 closed=7 (peer=5 ...) in=... out=...".
  std::string to_string() const;
};

}  // namespace weft
