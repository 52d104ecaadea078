// The blocking adapter: stream events on the loop thread fill and drain
// buffers under a mutex; read() and write() on other threads wait on a
// condition variable and reach the stream only through posted tasks.
#include "weft/mux/blocking.hpp"

#include <algorithm>
#include <cstring>
#include <utility>

#include "weft/loop.hpp"
#include "weft/mux/errors.hpp"
#include "weft/mux/session.hpp"
#include "weft/mux/transport.hpp"

namespace weft::mux {

BlockingStream::BlockingStream(Token, Stream& s)
    : loop_(&s.session().transport().loop()), id_(s.id()), stream_(&s) {}

std::shared_ptr<BlockingStream> BlockingStream::attach(Stream& s) {
  auto bs = std::make_shared<BlockingStream>(Token{}, s);
  bs->self_ = bs;
  s.set_handler(*bs);
  // Whatever arrived before attach() is still in the stream's buffer.
  if (s.buffered() > 0 || s.peer_finished()) {
    s.pause_reading();
    s.resume_reading();
  }
  return bs;
}

template <typename Fn>
bool BlockingStream::on_loop(Fn fn) {
  auto self = shared_from_this();
  const std::error_code ec = loop_->post_control([self, fn = std::move(fn)]() mutable {
    if (self->stream_) fn(*self->stream_);
  });
  return !ec;
}

// ---- loop thread -------------------------------------------------------

std::size_t BlockingStream::on_data(Stream& s, Bytes in) {
  std::lock_guard lock(mu_);
  if (in_off_ == in_.size()) {
    in_.clear();
    in_off_ = 0;
  }
  const std::size_t room = kReadAhead - std::min(kReadAhead, in_.size() - in_off_);
  const std::size_t take = std::min(room, in.size());
  in_.append(in.data(), take);
  if (take < in.size()) {
    paused_ = true;  // the rest waits in the stream (and, in v2, behind its window)
    s.pause_reading();
  }
  if (take > 0) cv_.notify_all();
  return take;
}

void BlockingStream::on_fin(Stream&) {
  std::lock_guard lock(mu_);
  fin_ = true;
  cv_.notify_all();
}

void BlockingStream::on_writable(Stream&) {
  std::lock_guard lock(mu_);
  blocked_ = false;
  cv_.notify_all();
}

void BlockingStream::on_close(Stream&, std::error_code why) {
  std::shared_ptr<BlockingStream> keep = std::move(self_);  // may be the last reference
  stream_ = nullptr;
  std::lock_guard lock(mu_);
  ended_ = true;
  why_ = why;
  cv_.notify_all();
}

// ---- any other thread ----------------------------------------------------

std::size_t BlockingStream::read(char* buf, std::size_t n, std::error_code& ec,
                                 std::chrono::milliseconds timeout) {
  ec.clear();
  if (loop_->in_loop_thread()) {
    ec = std::make_error_code(std::errc::resource_deadlock_would_occur);
    return 0;
  }
  std::unique_lock lock(mu_);
  auto ready = [&] { return in_off_ < in_.size() || fin_ || ended_; };
  if (timeout == std::chrono::milliseconds::max()) {
    cv_.wait(lock, ready);
  } else if (!cv_.wait_for(lock, timeout, ready)) {
    ec = std::make_error_code(std::errc::timed_out);
    return 0;
  }
  const std::size_t got = std::min(n, in_.size() - in_off_);
  if (got == 0) {  // FIN or the end, with everything read
    if (ended_ && !fin_) ec = why_ ? why_ : make_error_code(errc::session_closed);
    return 0;
  }
  std::memcpy(buf, in_.data() + in_off_, got);
  in_off_ += got;
  if (paused_ && in_.size() - in_off_ <= kReadAhead / 2) {
    paused_ = false;
    lock.unlock();
    on_loop([](Stream& s) { s.resume_reading(); });
  }
  return got;
}

bool BlockingStream::write(Bytes data, std::error_code& ec) {
  ec.clear();
  if (loop_->in_loop_thread()) {
    ec = std::make_error_code(std::errc::resource_deadlock_would_occur);
    return false;
  }
  while (!data.empty()) {
    std::unique_lock lock(mu_);
    cv_.wait(lock,
             [&] { return (!blocked_ && writing_ < kWriteAhead) || ended_ || write_closed_; });
    if (ended_ || write_closed_) {
      ec = ended_ && why_ ? why_ : make_error_code(errc::session_closed);
      return false;
    }
    const std::size_t n = std::min(data.size(), kWriteAhead - writing_);
    writing_ += n;
    lock.unlock();
    auto self = shared_from_this();
    const bool posted = on_loop([self, piece = std::string(data.substr(0, n))](Stream& s) {
      const bool room = s.write(piece);
      std::lock_guard guard(self->mu_);
      self->writing_ -= piece.size();
      if (!room) self->blocked_ = true;  // on_writable clears it
      self->cv_.notify_all();
    });
    if (!posted) {
      ec = make_error_code(errc::session_closed);  // the loop has stopped
      return false;
    }
    data.remove_prefix(n);
  }
  return true;
}

void BlockingStream::close_write() {
  {
    std::lock_guard lock(mu_);
    if (write_closed_) return;
    write_closed_ = true;
    cv_.notify_all();
  }
  on_loop([](Stream& s) { s.close_write(); });  // after every posted write
}

void BlockingStream::close() {
  {
    std::lock_guard lock(mu_);
    write_closed_ = true;
    cv_.notify_all();
  }
  on_loop([](Stream& s) { s.close(); });
}

bool BlockingStream::ended() const {
  std::lock_guard lock(mu_);
  return ended_;
}

}  // namespace weft::mux
