// Stream calls are session entry points: each finishes the session's
// deferred work (sending, callbacks) before returning.
#include "weft/mux/stream.hpp"

#include "mux/session_entry.hpp"

namespace weft::mux {

bool Stream::write(Bytes data) {
  Session::Entry e(*session_);
  return session_->stream_write(*this, data);
}

std::size_t Stream::write_some(Bytes data) {
  Session::Entry e(*session_);
  return session_->stream_write_some(*this, data);
}

void Stream::close_write() {
  Session::Entry e(*session_);
  session_->stream_close_write(*this);
}

void Stream::close() {
  Session::Entry e(*session_);
  session_->stream_close(*this);
}

void Stream::abort() {
  Session::Entry e(*session_);
  session_->stream_abort(*this);
}

void Stream::pause_reading() noexcept {
  flags_ |= kPaused;
}

void Stream::resume_reading() {
  if (!(flags_ & kPaused)) return;
  Session::Entry e(*session_);
  flags_ &= static_cast<std::uint16_t>(~kPaused);
  if (flags_ & (kDone | kRedeliver)) return;
  if (!rbuf_.empty() || ((flags_ & kPeerFin) && !(flags_ & kFinDelivered))) {
    flags_ |= kRedeliver;
    session_->notify_.push_back(this);
  }
}

}  // namespace weft::mux
