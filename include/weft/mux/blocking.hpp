// weft/mux/blocking.hpp — a stream for a thread that wants read() and
// write() calls, the way Go code uses smux streams.
//
//   void on_accept(weft::mux::Stream& s) override {   // on the loop thread
//     auto bs = weft::mux::BlockingStream::attach(s);
//     std::thread([bs] {                              // any other thread
//       char buf[4096];
//       std::error_code ec;
//       while (std::size_t n = bs->read(buf, sizeof buf, ec))
//         if (!bs->write({buf, n}, ec)) break;
//       bs->close_write();
//     }).detach();
//   }
//
// The stream stays on its loop; the adapter moves bytes between the loop and
// the calling thread under one mutex. Reading ahead is bounded (the stream is
// paused past kReadAhead, which in version 2 also holds the peer's window
// shut), and so is writing ahead (write() blocks while the stream's send
// buffer is full). Never call read() or write() on the loop thread: they
// would wait for the loop they block, so they fail at once with
// std::errc::resource_deadlock_would_occur.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <system_error>

#include "weft/bytes.hpp"
#include "weft/mux/stream.hpp"

namespace weft {
class EventLoop;
}

namespace weft::mux {

class BlockingStream final : private StreamHandler,
                             public std::enable_shared_from_this<BlockingStream> {
 public:
  /// Bytes received and not read yet before the stream is paused.
  static constexpr std::size_t kReadAhead = 256 * 1024;
  /// Bytes handed to write() and not yet queued on the stream.
  static constexpr std::size_t kWriteAhead = 256 * 1024;

  /// Takes over `s`'s events (its handler); loop thread only, e.g. in
  /// on_accept or right after Session::open(). The adapter lives until the
  /// stream has closed and the last shared_ptr is gone.
  static std::shared_ptr<BlockingStream> attach(Stream& s);

  /// Waits for data and copies up to `n` bytes of it. Returns 0 at the
  /// peer's FIN (ec empty), when the stream ended (ec: why, or
  /// mux::errc::session_closed), or after `timeout` (ec: timed_out).
  std::size_t read(char* buf, std::size_t n, std::error_code& ec,
                   std::chrono::milliseconds timeout = std::chrono::milliseconds::max());
  /// Queues all of `data` on the stream, waiting while its send buffer is
  /// full. False (ec set) when the stream ended or its write side closed.
  bool write(Bytes data, std::error_code& ec);
  /// Sends FIN after everything written; reading goes on.
  void close_write();
  /// Full close (Stream::close): FIN, and later data is dropped.
  void close();

  std::uint32_t id() const noexcept { return id_; }
  /// The stream has ended (read() returns 0, write() false).
  bool ended() const;

 private:
  struct Token {};  // attach() is the way in

 public:
  BlockingStream(Token, Stream& s);

 private:
  // StreamHandler, on the loop thread.
  std::size_t on_data(Stream& s, Bytes in) override;
  void on_fin(Stream& s) override;
  void on_writable(Stream& s) override;
  void on_close(Stream& s, std::error_code why) override;

  // Runs `fn(stream)` on the loop if the stream is still there.
  template <typename Fn>
  bool on_loop(Fn fn);

  EventLoop* loop_;
  std::uint32_t id_;
  Stream* stream_;                        // loop thread only; null once closed
  std::shared_ptr<BlockingStream> self_;  // held until on_close

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::string in_;             // received, not read
  std::size_t in_off_ = 0;     // read from in_ so far
  std::size_t writing_ = 0;    // posted to the loop, not queued on the stream yet
  bool paused_ = false;        // we paused the stream: kReadAhead reached
  bool blocked_ = false;       // the stream's send buffer is full
  bool fin_ = false;           // the peer finished writing
  bool write_closed_ = false;  // close_write() or close() called
  bool ended_ = false;         // on_close ran
  std::error_code why_;        // on_close's reason
};

}  // namespace weft::mux
