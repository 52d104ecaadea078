// weft/conn.hpp — one TCP or unix-stream connection, owned by one loop.
//
// Every member is for the owning loop's thread (inside callbacks); from
// other threads use handle(). The object stays valid until on_close returns.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <span>
#include <string>

#include "weft/address.hpp"
#include "weft/bytes.hpp"
#include "weft/handle.hpp"
#include "weft/loop.hpp"
#include "weft/tls.hpp"

namespace weft {

class Handler;
class Server;
namespace detail {
class Buffer;
class SecureLayer;
class Worker;
}  // namespace detail

/// What Conn::detach() hands over: the descriptor (still non-blocking) and
/// the bytes weft held for it.
struct DetachedConn {
  int fd = -1;
  std::string unsent;      ///< queued output the kernel had not taken
  std::string unconsumed;  ///< input on_data had not consumed
};

class Conn final : public IoWatcher {
 public:
  Conn(const Conn&) = delete;
  Conn& operator=(const Conn&) = delete;

  // --- output -------------------------------------------------------------
  /// Sends `data`: at once when nothing is queued, else after what is.
  /// Inside a callback small writes are gathered and sent together when the
  /// callback returns (one syscall for a pipelined batch).
  void write(Bytes data);
  /// Sends several pieces in order, with one writev when possible.
  void writev(std::span<const Bytes> pieces);
  void writev(std::initializer_list<Bytes> pieces) {
    writev(std::span(pieces.begin(), pieces.size()));
  }
  /// As writev(), for a writer that knows more writes follow in this
  /// callback (a decoder with more messages in the same read): inside a
  /// callback the bytes join the callback's one send while it has room
  /// (256 KiB in all) when that costs no copy of a large piece: pieces of
  /// on_data's input are referenced, pieces under 1 KiB copied; a write with
  /// a large piece from elsewhere is sent as by writev(). Elsewhere the same
  /// as writev().
  void writev_batched(std::span<const Bytes> pieces);
  void writev_batched(std::initializer_list<Bytes> pieces) {
    writev_batched(std::span(pieces.begin(), pieces.size()));
  }
  /// Bytes accepted by write() that the kernel has not taken yet.
  std::size_t queued() const noexcept;

  // --- lifetime -----------------------------------------------------------
  /// Closes after queued output is flushed (reading stops now).
  void close() noexcept;
  /// Closes now, dropping queued output; on_close sees errc::aborted.
  void abort() noexcept;
  /// Fires on_data with empty input on the next loop iteration (evio's Wake).
  void wake() noexcept;
  /// Removes the connection from weft and hands the descriptor to the
  /// caller; on_close fires with errc::detached. Empty result if closing,
  /// and for TLS connections (the TLS state cannot travel with the descriptor).
  DetachedConn detach();
  bool closing() const noexcept;

  // --- flow control -------------------------------------------------------
  void pause_reading() noexcept;
  void resume_reading() noexcept;
  bool reading_paused() const noexcept;
  /// Unconsumed input weft holds for this connection.
  std::size_t buffered() const noexcept;
  /// Inside on_data: when `part` lies in the input being delivered, the
  /// same bytes as writable memory (weft's own buffer), for a decoder that
  /// transforms consumed bytes in place (unmasking, decrypting); else null.
  /// Bytes left unconsumed must stay as they came.
  char* mutable_input(Bytes part) const noexcept;

  // --- socket -------------------------------------------------------------
  int fd() const noexcept { return fd_; }
  SockAddr local_addr() const;
  SockAddr remote_addr() const;
  /// Index into the server's listen list of the address this came from, or
  /// kDialed for a connection made by Server::dial.
  std::size_t listener() const noexcept { return listener_; }
  static constexpr std::size_t kDialed = 0xffff;
  bool dialed() const noexcept { return listener_ == kDialed; }
  /// TCP_NODELAY (on by default for TCP).
  bool set_nodelay(bool on) noexcept;
  /// SO_KEEPALIVE with TCP_KEEPIDLE/KEEPINTVL/KEEPCNT; idle_s == 0 turns it off.
  bool set_keepalive(int idle_s, int interval_s = 10, int count = 3) noexcept;

  // --- TLS ----------------------------------------------------------------
  /// Whether this connection runs over TLS (a listener with tls, or sslMode
  /// both and the client started a handshake).
  bool secure() const noexcept { return tls_ != nullptr; }
  /// What the handshake agreed on (version, cipher, ALPN, SNI, client
  /// certificate, resumption, kTLS offload); empty for plain connections.
  std::optional<TlsInfo> tls() const;

  // --- identity and context -----------------------------------------------
  ConnHandle handle() const noexcept;
  /// Unique per server for the server's life: loop index in the top bits.
  std::uint64_t id() const noexcept;
  void* context() const noexcept { return context_; }
  void set_context(void* ctx) noexcept { context_ = ctx; }
  /// Swaps the handler for this connection (e.g. an HTTP -> WebSocket upgrade).
  void set_handler(Handler& h) noexcept { handler_ = &h; }
  Handler& handler() const noexcept { return *handler_; }
  EventLoop& loop() const noexcept;
  Server& server() const noexcept;

  void on_io(std::uint32_t events) override;
  void on_complete(const Completion& done) override;

 private:
  friend class detail::Worker;
  Conn(detail::Worker* w, Handler* h, int fd, std::uint32_t slot, std::uint32_t gen,
       std::uint16_t listener) noexcept
      : worker_(w), handler_(h), fd_(fd), slot_(slot), gen_(gen), listener_(listener) {}
  ~Conn();

  void handle_readable();
  void handle_writable();
  void peer_eof();
  // TLS (conn_tls.cpp)
  void sniff();
  void start_tls();
  void tls_handshake();
  void tls_readable();
  void tls_send(const Bytes* pieces, std::size_t n);
  void deliver(Bytes fresh);
  void deliver_wake();
  void finish_dispatch() noexcept;
  void flush_cork();
  void add_to_cork(Bytes piece);
  void write_pieces(std::span<const Bytes> pieces, std::size_t cork_piece);
  void send_now(const Bytes* pieces, std::size_t n);
  void enqueue(const Bytes* pieces, std::size_t n, std::size_t skip);
  void after_enqueue() noexcept;
  void send_completed(const Completion& done);
  void redeliver_held() noexcept;
  void output_drained();
  bool output_pending() const noexcept { return out_ || (flags_ & kSendInFlight); }
  void update_interest() noexcept;
  void abort_with(std::error_code ec) noexcept;
  std::error_code pending_error() const noexcept;

  enum Flag : std::uint32_t {
    kClosing = 1,             // close() called: flush, then tear down
    kDead = 2,                // torn down, waiting for the slot to be reused
    kPausedByUser = 4,        // pause_reading()
    kPausedBySbuf = 8,        // cliSbufLimit reached (policy pause)
    kWriteArmed = 16,         // EPOLLOUT armed
    kWoken = 32,              // wake() pending
    kReadArmed = 64,          // EPOLLIN armed
    kUnix = 128,              // not TCP: no TCP socket options
    kPeerClosed = 256,        // the peer closed its side (orderly)
    kHadQueue = 512,          // output queued since the last on_drained
    kInOnData = 1024,         // inside on_data (which sees the held input)
    kSniffing = 2048,         // sslMode both: waiting for the first byte
    kHandshaking = 4096,      // TLS handshake running: no on_open, no writes yet
    kHandshakeQueued = 8192,  // waiting for a handshake slot on this loop (not read)
    kTlsWantsWrite = 16384,   // the last TLS read/handshake step needs the socket writable
    kCompletion = 32768,      // io_uring: the loop receives and sends for us
    kSendInFlight = 65536,    // io_uring: a staged send awaits its completion
    kHeldInput = 131072,      // io_uring: in_ holds input received while paused, not yet shown
  };
  bool tls_pending_handshake() const noexcept {
    return flags_ & (kSniffing | kHandshaking | kHandshakeQueued);
  }

  detail::Worker* worker_;
  Handler* handler_;
  void* context_ = nullptr;
  detail::Buffer* in_ = nullptr;        // null while no input is left over
  detail::Buffer* out_ = nullptr;       // null while nothing is queued
  detail::SecureLayer* tls_ = nullptr;  // null for plain connections
  int fd_;
  std::uint32_t slot_;
  std::uint32_t gen_;
  std::uint32_t idle_prev_ = 0;  // idle list links (slot + 1; 0 = none)
  std::uint32_t idle_next_ = 0;
  std::uint32_t last_active_ = 0;  // coarse loop time in ms, for idleLimit
  std::uint16_t listener_;
  std::int16_t pending_error_ = 0;  // set inside a callback, acted on after it (errno or -errc)
  std::uint32_t flags_ = 0;
};

}  // namespace weft
