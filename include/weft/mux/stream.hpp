// weft/mux/stream.hpp — one logical stream of a session, and the events it
// delivers. Everything here is for the session's loop thread.
#pragma once

#include <cstdint>
#include <string>
#include <system_error>

#include "weft/bytes.hpp"

namespace weft::mux {

class Session;
class Stream;

/// Per-stream events. One handler may serve many streams (state goes in
/// Stream::set_context). Callbacks must not block or throw.
class StreamHandler {
 public:
  virtual ~StreamHandler() = default;
  /// Data arrived: `in` is what was not consumed before plus the new bytes.
  /// Return how much was used; the rest stays buffered (it counts against
  /// the session's receive budget, and in version 2 holds the window shut)
  /// and is offered again with the next data or after resume_reading().
  virtual std::size_t on_data(Stream& s, Bytes in) = 0;
  /// The peer finished writing (FIN), after all its data was consumed. The
  /// stream can still write; it ends once our side has finished too.
  virtual void on_fin(Stream& s) { (void)s; }
  /// Queued output fell to half of Config::stream_send_buffer after a
  /// write() returned false.
  virtual void on_writable(Stream& s) { (void)s; }  // never after close_write()
  /// The stream is gone (fires once, for every stream). `why` is empty when
  /// both sides finished (or after close()), else a mux::errc or the error
  /// that ended the session. The Stream is freed when this returns.
  virtual void on_close(Stream& s, std::error_code why) {
    (void)s;
    (void)why;
  }
};

class Stream {
 public:
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;

  std::uint32_t id() const noexcept { return id_; }
  /// The gmux name this stream was opened with ("" without names).
  const std::string& name() const noexcept { return name_; }
  Session& session() const noexcept { return *session_; }
  void* context() const noexcept { return context_; }
  void set_context(void* ctx) noexcept { context_ = ctx; }
  void set_handler(StreamHandler& h) noexcept { handler_ = &h; }

  /// Queues `data` (split into frames, interleaved fairly with other
  /// streams, held by the version 2 window). Returns false once queued
  /// output exceeds Config::stream_send_buffer: stop and wait for
  /// on_writable. Empty writes do nothing; writes after close_write() are
  /// dropped (false).
  bool write(Bytes data);
  /// Like write(), but takes only what the stream can send at once or queue
  /// without going over Config::stream_send_buffer (nor the session's
  /// share), and returns how much that was. When it takes less than all,
  /// on_writable follows once there is room again. For code that forwards
  /// what it received: return the count from on_data, pause_reading(), and
  /// the rest stays where it already is (no copy into a growing queue).
  /// 0 after close_write() or once the session ended.
  std::size_t write_some(Bytes data);
  /// Output queued on this stream, not yet handed to the transport.
  std::size_t queued() const noexcept { return sbuf_.size() - sbuf_off_; }
  /// Sends FIN after everything queued; reading goes on.
  void close_write();
  /// close_write() and stop reading (what smux 1.5.16's Close does): later
  /// data is dropped, on_close follows once our FIN is out.
  void close();
  /// Drops queued output, sends FIN now, ends with errc::aborted.
  void abort();

  /// Stop delivering on_data (data then buffers, see on_data).
  void pause_reading() noexcept;
  /// Delivers buffered data again (and a pending on_fin).
  void resume_reading();
  bool reading_paused() const noexcept { return flags_ & kPaused; }
  /// Received bytes not consumed yet.
  std::size_t buffered() const noexcept { return rbuf_.size() - rbuf_off_; }
  /// The peer sent FIN.
  bool peer_finished() const noexcept { return flags_ & kPeerFin; }
  bool write_closed() const noexcept { return flags_ & kWriteClosed; }

 private:
  friend class Session;
  Stream(Session* s, StreamHandler* h, std::uint32_t id) noexcept
      : session_(s), handler_(h), id_(id) {}
  ~Stream() = default;

  enum Flag : std::uint16_t {
    kPaused = 1,          // pause_reading()
    kPeerFin = 2,         // FIN received
    kFinDelivered = 4,    // on_fin called
    kWriteClosed = 8,     // close_write(): FIN wanted after the data
    kFinSent = 16,        // our FIN handed to the transport
    kReadClosed = 32,     // close(): drop incoming data
    kDone = 64,           // finished, waiting for on_close
    kInRing = 128,        // in the session's send ring
    kWantWritable = 256,  // write() returned false
    kRedeliver = 512,     // resume_reading() with data or FIN to deliver
    kBlocked = 1024,      // in the session's blocked_ list
  };

  Session* session_;
  StreamHandler* handler_;
  void* context_ = nullptr;
  Stream* ring_next_ = nullptr;  // send ring (circular, session-owned)
  Stream* ring_prev_ = nullptr;
  std::string rbuf_;  // received; the first rbuf_off_ bytes already consumed
  std::string sbuf_;  // queued output; sbuf_off_ bytes of it already sent
  std::string name_;
  std::size_t rbuf_off_ = 0;  // (a receive budget may exceed 4 GiB)
  std::uint32_t sbuf_off_ = 0;
  std::uint32_t id_;
  // Version 2 window, as smux counts it (uint32 arithmetic wraps).
  std::uint32_t num_written_ = 0;    // payload bytes sent
  std::uint32_t peer_consumed_ = 0;  // the peer's last UPD
  std::uint32_t peer_window_ = 0;    // set by the session (initial guess)
  std::uint32_t num_read_ = 0;       // payload bytes we consumed
  std::uint32_t incr_ = 0;           // consumed since our last UPD
  std::uint16_t flags_ = 0;
};

}  // namespace weft::mux
