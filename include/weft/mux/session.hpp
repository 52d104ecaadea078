// weft/mux/session.hpp — an smux session over one transport: opens and
// accepts streams, parses incoming frames, schedules outgoing ones.
//
// Single-threaded: everything runs on the transport's loop. The owner feeds
// it input (feed), tells it when output drained and when the transport
// closed; Endpoint does that for weft connections.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <system_error>
#include <unordered_map>
#include <utility>
#include <vector>

#include "weft/bytes.hpp"
#include "weft/loop.hpp"
#include "weft/mux/config.hpp"
#include "weft/mux/frame.hpp"
#include "weft/mux/stream.hpp"
#include "weft/mux/transport.hpp"

namespace weft::mux {

/// Which stream ids this side opens: clients odd, servers even (smux's
/// Client and Server). Independent of who dialled the connection.
enum class Role { client, server };

/// Session events; also the default handler of every stream.
class SessionHandler : public StreamHandler {
 public:
  /// The session is ready (its transport is open): open streams here.
  virtual void on_session(Session& s) { (void)s; }
  /// The peer opened a stream (Stream::name() holds its gmux name). It uses
  /// this handler unless set_handler() picks another.
  virtual void on_accept(Stream& s) { (void)s; }
  /// The session ended; every stream got on_close before this. `why` is
  /// empty when the transport closed cleanly, else a mux::errc (protocol
  /// error, keepalive timeout, ...) or the transport's error.
  virtual void on_session_close(Session& s, std::error_code why) {
    (void)s;
    (void)why;
  }
};

class Session {
 public:
  /// Throws weft::ConfigError with smux's message when `cfg` is invalid.
  /// `t` must outlive the session.
  Session(Transport& t, Role role, SessionHandler& h, const Config& cfg = {});
  /// The same, owning the transport.
  Session(std::unique_ptr<Transport> t, Role role, SessionHandler& h, const Config& cfg = {});
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  /// Opens a stream (SYN goes out first). Null when the session has ended
  /// or ids ran out (errc::go_away); last_error() says which.
  Stream* open(Bytes name = {}, StreamHandler* h = nullptr);
  /// Ends every stream (errc::session_closed) and closes the transport after
  /// what it already holds.
  void close();

  // --- driven by the owner ------------------------------------------------
  /// The transport is open: starts keepalive and calls on_session.
  void start();
  /// Transport input: consumes whole frames, returns how many bytes (the
  /// partial tail must be offered again with more input).
  std::size_t feed(Bytes in);
  /// The transport's queued output drained: send more.
  void transport_drained();
  /// The transport closed (`why` empty = orderly). Fires the close events.
  void transport_closed(std::error_code why);
  /// Deletes the session, now or (inside one of its own callbacks) when
  /// the callback returns. Call after transport_closed().
  void release() noexcept;

  // --- state --------------------------------------------------------------
  Role role() const noexcept { return role_; }
  const Config& config() const noexcept { return cfg_; }
  std::size_t stream_count() const noexcept { return streams_.size(); }
  bool ended() const noexcept { return ended_; }
  /// Why the session ended (empty: still running, or ended cleanly).
  std::error_code error() const noexcept { return error_; }
  /// Why the last open() returned null.
  std::error_code open_error() const noexcept { return open_error_; }
  /// Received bytes held for streams (against max_receive_buffer).
  std::size_t buffered() const noexcept { return buffered_; }
  Transport& transport() const noexcept { return *transport_; }
  void* context() const noexcept { return context_; }
  void set_context(void* ctx) noexcept { context_ = ctx; }
  /// For tests of id exhaustion: the id open() will use next (plus 2).
  void set_last_stream_id(std::uint32_t id) noexcept { next_id_ = id; }

 private:
  friend class Stream;
  class Entry;  // marks a public entry point; finishes deferred work on exit

  // receiving (session_recv.cpp)
  bool handle_frame(const Frame& f);
  bool handle_piece(std::uint32_t id, Bytes piece);
  void accept_stream(std::uint32_t id, Bytes name);
  void push_data(Stream& s, Bytes payload);
  void deliver(Stream& s);
  void drop_received(Stream& s);
  void consumed(Stream& s, std::size_t n);
  void handle_upd(Stream& s, Bytes payload);
  void peer_fin(Stream& s);
  void fail(std::error_code ec);
  void budget_changed();
  void keepalive_tick();
  void keepalive_check();

  // sending (session_send.cpp)
  void queue_control(Cmd cmd, std::uint32_t id, Bytes payload = {});
  bool stream_write(Stream& s, Bytes data);
  std::size_t stream_write_some(Stream& s, Bytes data);
  std::size_t stream_send(Stream& s, Bytes data, std::size_t queue_max);
  void want_writable(Stream& s);
  void stream_close_write(Stream& s);
  void stream_close(Stream& s);
  void stream_abort(Stream& s);
  std::size_t sendable(const Stream& s) const noexcept;
  void ring_add(Stream& s) noexcept;
  void ring_remove(Stream& s) noexcept;
  void pump();
  void after_sent(Stream& s);
  void wake_blocked();
  void send_fin(Stream& s);
  void maybe_done(Stream& s);
  void finish(Stream& s, std::error_code why);
  void settle();
  void settle_once();

  std::unique_ptr<Transport> owned_;
  Transport* transport_;
  EventLoop* loop_;
  SessionHandler* handler_;
  Config cfg_;
  Role role_;
  bool ended_ = false;
  bool closing_ = false;
  bool paused_ = false;           // transport reading paused for the budget
  bool data_seen_ = false;        // a frame arrived since the last keepalive check
  bool want_pump_ = false;        // output waits for the end of this entry
  bool release_pending_ = false;  // release() inside a callback
  bool announce_close_ = false;   // on_session_close due once the streams are closed
  bool go_away_ = false;          // our stream ids ran out
  int depth_ = 0;                 // nested entry points
  std::uint32_t next_id_;
  std::size_t buffered_ = 0;      // sum of the streams' buffered()
  std::size_t tail_ = 0;          // partial frame left with the transport
  std::uint32_t psh_left_ = 0;    // payload bytes still to come of a PSH taken in pieces
  std::uint32_t psh_stream_ = 0;  // whose PSH that is
  std::size_t send_queued_ = 0;   // sum of the streams' queued output
  std::error_code error_;
  std::error_code open_error_;
  void* context_ = nullptr;
  TimerId ping_timer_ = 0;
  TimerId check_timer_ = 0;
  std::unordered_map<std::uint32_t, Stream*> streams_;
  Stream* ring_ = nullptr;                                 // next stream to send from
  std::string ctrl_;                                       // encoded control frames, sent first
  std::vector<std::pair<Stream*, std::error_code>> done_;  // on_close at the end of the entry
  std::vector<Stream*> notify_;                            // on_writable / redelivery due
  std::vector<Stream*> blocked_;  // write() returned false: on_writable due later
  std::vector<Bytes> pieces_;     // scratch for writev
  std::vector<char> headers_;     // scratch: frame headers for one writev
  std::vector<Stream*> touched_;  // streams sent from in one writev
};

}  // namespace weft::mux
