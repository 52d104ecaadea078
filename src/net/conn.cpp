// The connection's read and write paths. Reads land in the loop's scratch
// buffer; only an unconsumed tail is copied into the connection. Writes go
// straight to the socket when nothing is queued; small writes made inside a
// callback are gathered ("corked") and sent once when the callback returns.
#include "weft/conn.hpp"

#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "loop/poller.hpp"
#include "net/buffer.hpp"
#include "net/secure_layer.hpp"
#include "net/socket.hpp"
#include "net/worker.hpp"
#include "weft/error.hpp"
#include "weft/handler.hpp"

namespace weft {

using detail::Buffer;

namespace {
// Writes up to this size are copied into the cork inside a callback; larger
// ones go out at once (the copy would cost more than the syscall it saves).
constexpr std::size_t kCorkPiece = 4096;
// The cork never holds more than this before it is flushed (what it copies
// is small pieces; large ones it only references).
constexpr std::size_t kCorkLimit = 256 * 1024;
constexpr std::size_t kMaxIov = 64;
// Pieces of the delivered input at least this large are corked by reference.
constexpr std::size_t kCorkRefMin = 1024;

bool would_block(int err) {
  return err == EAGAIN || err == EWOULDBLOCK || err == EINTR;
}
}  // namespace

Conn::~Conn() {
  delete in_;
  delete out_;
  delete tls_;
}

EventLoop& Conn::loop() const noexcept {
  return worker_->loop();
}
Server& Conn::server() const noexcept {
  return worker_->server();
}
ConnHandle Conn::handle() const noexcept {
  return ConnHandle(worker_, slot_, gen_);
}

std::uint64_t Conn::id() const noexcept {
  return (static_cast<std::uint64_t>(worker_->index()) << 52) |
         (static_cast<std::uint64_t>(slot_) << 32) | gen_;
}

std::size_t Conn::queued() const noexcept {
  std::size_t n = out_ ? out_->size() : 0;
  if (worker_->current == this) n += worker_->cork().size();
  return n;
}

std::size_t Conn::buffered() const noexcept {
  return in_ ? in_->size() : 0;
}

// The delivered input is the loop's scratch buffer, the connection's own
// tail buffer or the TLS layer's plaintext: all weft's writable memory.
char* Conn::mutable_input(Bytes part) const noexcept {
  if (worker_->current != this) return nullptr;
  const Bytes in = worker_->delivering;
  if (in.empty() || part.data() < in.data() || part.data() + part.size() > in.data() + in.size())
    return nullptr;
  return const_cast<char*>(part.data());
}
bool Conn::closing() const noexcept {
  return flags_ & (kClosing | kDead);
}
bool Conn::reading_paused() const noexcept {
  return flags_ & (kPausedByUser | kPausedBySbuf);
}

// --- events -------------------------------------------------------------------

void Conn::on_io(std::uint32_t events) {
  if (flags_ & kDead) return;
  if (events & kWritable) handle_writable();
  if (flags_ & kDead) return;
  if ((events & kReadable) && (flags_ & kReadArmed)) {
    handle_readable();
  } else if (events & kHangup) {
    // Hang-up while we are not reading: take the socket's error, if any.
    int err = 0;
    socklen_t len = sizeof err;
    ::getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err == 0) flags_ |= kPeerClosed;
    worker_->teardown(*this,
                      err ? std::error_code(err, std::system_category()) : std::error_code());
  }
}

// io_uring: what the loop received for us, or how a staged send went.
void Conn::on_complete(const Completion& done) {
  if (flags_ & kDead) return;
  if (done.op == Completion::Op::send) return send_completed(done);
  if (done.result > 0) {
    if (flags_ & kClosing) return;  // as on epoll: a closing connection reads no more
    worker_->stats().bytes_in.add(static_cast<std::uint64_t>(done.result));
    worker_->touch(*this);
    if (reading_paused()) {
      // Received before the pause reached the kernel: kept, shown on resume.
      if (!in_) in_ = new Buffer;
      in_->append(done.bytes);
      flags_ |= kHeldInput;
      return;
    }
    deliver(done.bytes);
  } else if (done.result == 0) {
    if (flags_ & kHeldInput) {
      flags_ |= kPeerClosed;  // the end comes after the held input (deliver_wake)
      return;
    }
    peer_eof();
  } else {
    abort_with({-done.result, std::system_category()});
  }
}

void Conn::send_completed(const Completion& done) {
  flags_ &= static_cast<std::uint32_t>(~kSendInFlight);
  if (done.result < 0 && done.result != -EAGAIN) {
    worker_->stats().bytes_out.sub(done.bytes.size());
    abort_with({-done.result, std::system_category()});
    return;
  }
  const std::size_t sent = done.result > 0 ? static_cast<std::size_t>(done.result) : 0;
  if (sent < done.bytes.size()) {
    worker_->stats().bytes_out.sub(done.bytes.size() - sent);
    // The kernel took part: the rest goes first, then whatever queued
    // behind it, by the readiness path (handle_writable).
    auto* rest = new Buffer(done.bytes.substr(sent));
    if (out_) rest->append(out_->view());
    delete out_;
    out_ = rest;
    after_enqueue();
    return;
  }
  if (out_) {  // bytes queued behind the staged send: stage them in turn
    Bytes queued = out_->view();
    if (worker_->loop().poller().send(fd_, &queued, 1, queued.size())) {
      flags_ |= kSendInFlight;
      worker_->stats().bytes_out.add(queued.size());
      delete out_;
      out_ = nullptr;
      flags_ &= static_cast<std::uint32_t>(~kPausedBySbuf);  // nothing is queued now
    }
    update_interest();
    redeliver_held();
    if (output_pending()) return;
  }
  output_drained();
}

void Conn::handle_readable() {
  if (flags_ & kSniffing) return sniff();
  if (tls_) return (flags_ & kHandshaking) ? tls_handshake() : tls_readable();
  char* buf = worker_->scratch();
  const std::size_t cap = worker_->scratch_size();
  // A short unconsumed tail goes to the front of the loop's buffer and the
  // read lands after it: the tail is copied, not every fresh byte onto it.
  std::size_t held = 0;
  if (in_ && in_->size() <= cap / 2 && !(flags_ & kHeldInput)) {
    held = in_->size();
    std::memcpy(buf, in_->data(), held);
  }
  ssize_t n = ::read(fd_, buf + held, cap - held);
  if (n > 0) {
    worker_->stats().bytes_in.add(static_cast<std::uint64_t>(n));
    worker_->touch(*this);
    if (held) in_->clear();  // its bytes are in the loop's buffer now
    deliver(Bytes(buf, held + static_cast<std::size_t>(n)));
    return;
  }
  if (n == 0) return peer_eof();
  if (!would_block(errno)) abort_with({errno, std::system_category()});
}

// Orderly close by the peer: finish sending what is queued, then close.
void Conn::peer_eof() {
  flags_ |= kPeerClosed | kClosing;
  delete in_;
  in_ = nullptr;
  if (!output_pending()) {
    worker_->teardown(*this, {});
  } else {
    update_interest();
  }
}

void Conn::deliver(Bytes fresh) {
  Bytes view = fresh;
  const bool from_tail = in_ && !in_->empty();
  if (from_tail) {
    in_->append(fresh);
    view = in_->view();
  }
  worker_->current = this;
  worker_->delivering = view;
  flags_ |= kInOnData;
  std::size_t used = std::min(handler_->on_data(*this, view), view.size());
  flags_ &= static_cast<std::uint32_t>(~kInOnData);
  if (used) worker_->stats().msgs_in.add();
  flush_cork();  // before the input moves: the cork may point into it
  worker_->delivering = {};
  if (!(flags_ & kDead)) {
    std::size_t rest = view.size() - used;
    if (from_tail && rest) {
      in_->consume(used);
    } else if (rest) {
      if (in_) {
        in_->append(view.substr(used));  // an emptied tail buffer, reused
      } else {
        in_ = new Buffer(view.substr(used));
      }
    } else {
      delete in_;
      in_ = nullptr;
    }
    std::size_t limit = worker_->config().pkt_size_limit;
    if (limit && rest > limit) abort_with(errc::packet_too_large);
  }
  worker_->current = nullptr;
  finish_dispatch();
}

void Conn::deliver_wake() {
  flags_ &= static_cast<std::uint32_t>(~kWoken);
  if (flags_ & (kClosing | kDead)) return;
  if ((flags_ & kHeldInput) && !reading_paused()) {
    flags_ &= static_cast<std::uint32_t>(~kHeldInput);
    deliver(Bytes());  // the held input, as the data of this wake-up
    if ((flags_ & kPeerClosed) && !(flags_ & (kClosing | kDead))) peer_eof();
    return;
  }
  worker_->current = this;
  handler_->on_data(*this, Bytes());
  flush_cork();
  worker_->current = nullptr;
  finish_dispatch();
}

void Conn::finish_dispatch() noexcept {
  if (flags_ & kDead) return;
  if (pending_error_) {
    worker_->teardown(*this, pending_error());
  } else if ((flags_ & kClosing) && !output_pending()) {
    worker_->teardown(*this, {});
  }
}

std::error_code Conn::pending_error() const noexcept {
  if (pending_error_ > 0) return {pending_error_, std::system_category()};
  if (pending_error_ < 0) return make_error_code(static_cast<errc>(-pending_error_));
  return {};
}

// --- writing -----------------------------------------------------------------

void Conn::write(Bytes data) {
  writev(std::span(&data, 1));
}

void Conn::writev(std::span<const Bytes> pieces) {
  write_pieces(pieces, kCorkPiece);
}

void Conn::writev_batched(std::span<const Bytes> pieces) {
  // Batched whole only when no large piece would have to be copied: one
  // that is not part of the input costs more to copy than the send it saves.
  for (Bytes p : pieces) {
    if (p.size() >= kCorkRefMin && !mutable_input(p)) return write_pieces(pieces, kCorkPiece);
  }
  write_pieces(pieces, kCorkLimit);
}

// Inside a callback, writes up to `cork_piece` bytes are gathered.
void Conn::write_pieces(std::span<const Bytes> pieces, std::size_t cork_piece) {
  if (flags_ & (kClosing | kDead)) return;
  worker_->stats().msgs_out.add();
  std::size_t total = 0;
  for (Bytes p : pieces)
    total += p.size();
  if (total == 0) return;
  // Keep order: behind what is already queued (or a TLS handshake).
  if (out_ || tls_pending_handshake()) return enqueue(pieces.data(), pieces.size(), 0);
  if (worker_->current == this) {
    detail::Cork& cork = worker_->cork();
    if (total <= cork_piece && cork.size() + total <= kCorkLimit && cork.has_room(pieces.size())) {
      for (Bytes p : pieces)
        add_to_cork(p);
      return;
    }
    if (!cork.empty()) {
      // The gathered bytes and this write together.
      if (pieces.size() + detail::Cork::kMaxPieces <= kMaxIov) {
        Bytes joined[kMaxIov];
        const std::size_t k = cork.pieces(joined);
        std::copy(pieces.begin(), pieces.end(), joined + k);
        send_now(joined, k + pieces.size());
        cork.clear();
        return;
      }
      flush_cork();
      if (out_) return enqueue(pieces.data(), pieces.size(), 0);
    }
  }
  send_now(pieces.data(), pieces.size());
}

// Large pieces of the input being delivered are referenced, not copied.
void Conn::add_to_cork(Bytes piece) {
  detail::Cork& cork = worker_->cork();
  if (piece.size() >= kCorkRefMin && mutable_input(piece)) {
    cork.append_ref(piece);
  } else {
    cork.append_copy(piece);
  }
}

void Conn::flush_cork() {
  detail::Cork& cork = worker_->cork();
  if (cork.empty()) return;
  if (flags_ & (kDead)) {
    cork.clear();
    return;
  }
  Bytes all[detail::Cork::kMaxPieces];
  const std::size_t n = cork.pieces(all);
  if (out_) {
    for (std::size_t i = 0; i < n; ++i)
      out_->append(all[i]);
    cork.clear();
    after_enqueue();
    return;
  }
  send_now(all, n);
  cork.clear();
}

void Conn::send_now(const Bytes* pieces, std::size_t n) {
  if (tls_) {
    tls_send(pieces, n);
    return;
  }
  if (flags_ & kCompletion) {
    // io_uring: staged now, sent with the loop's next kernel entry. One
    // send at a time keeps the order; later bytes queue behind it.
    if (flags_ & kSendInFlight) return enqueue(pieces, n, 0);
    std::size_t all = 0;
    for (std::size_t i = 0; i < n; ++i)
      all += pieces[i].size();
    if (worker_->loop().poller().send(fd_, pieces, n, all)) {
      flags_ |= kSendInFlight;
      // Counted now (the peer may see the bytes before the loop sees the
      // completion); send_completed takes back what the kernel refused.
      worker_->stats().bytes_out.add(all);
      return;
    }
    // Too large to stage: written directly, as on epoll.
  }
  iovec iov[kMaxIov];
  std::size_t count = std::min(n, kMaxIov);
  std::size_t total = 0;
  for (std::size_t i = 0; i < count; ++i) {
    iov[i].iov_base = const_cast<char*>(pieces[i].data());
    iov[i].iov_len = pieces[i].size();
    total += pieces[i].size();
  }
  ssize_t w;
  if (count == 1) {
    w = ::send(fd_, iov[0].iov_base, iov[0].iov_len, MSG_NOSIGNAL);
  } else {
    msghdr msg{};
    msg.msg_iov = iov;
    msg.msg_iovlen = count;
    w = ::sendmsg(fd_, &msg, MSG_NOSIGNAL);
  }
  if (w < 0) {
    if (!would_block(errno)) {
      abort_with({errno, std::system_category()});
      return;
    }
    w = 0;
  }
  worker_->stats().bytes_out.add(static_cast<std::uint64_t>(w));
  if (static_cast<std::size_t>(w) < total || count < n) {
    enqueue(pieces, n, static_cast<std::size_t>(w));
  }
}

void Conn::enqueue(const Bytes* pieces, std::size_t n, std::size_t skip) {
  if (!out_) out_ = new Buffer;
  for (std::size_t i = 0; i < n; ++i) {
    Bytes p = pieces[i];
    std::size_t drop = std::min(skip, p.size());
    skip -= drop;
    out_->append(p.substr(drop));
  }
  after_enqueue();
}

void Conn::after_enqueue() noexcept {
  flags_ |= kHadQueue;
  update_interest();
  std::size_t limit = worker_->config().cli_sbuf_limit;
  if (!limit || out_->size() <= limit) return;
  if (worker_->config().sbuf_policy == SbufPolicy::close) {
    abort_with(errc::send_buffer_full);
  } else if (!(flags_ & kPausedBySbuf)) {
    flags_ |= kPausedBySbuf;
    worker_->stats().sbuf_pauses.add();
    update_interest();
  }
}

void Conn::handle_writable() {
  if (flags_ & kTlsWantsWrite) {  // a TLS read or handshake step waited for this
    flags_ &= static_cast<std::uint32_t>(~kTlsWantsWrite);
    update_interest();
    if (flags_ & kHandshaking) return tls_handshake();
    tls_readable();
    if (flags_ & kDead) return;
  }
  if (!out_ || tls_pending_handshake()) {
    update_interest();
    return;
  }
  ssize_t w;
  if (tls_) {
    detail::IoStep step = tls_->write(out_->data(), out_->size());
    if (step.want == detail::IoWant::error || step.want == detail::IoWant::eof) {
      abort_with(step.error ? step.error : make_error_code(errc::tls_error));
      return;
    }
    w = static_cast<ssize_t>(step.bytes);
  } else {
    w = ::send(fd_, out_->data(), out_->size(), MSG_NOSIGNAL);
    if (w < 0) {
      if (!would_block(errno)) abort_with({errno, std::system_category()});
      return;
    }
  }
  worker_->stats().bytes_out.add(static_cast<std::uint64_t>(w));
  worker_->touch(*this);  // output draining counts as activity for idleLimit
  out_->consume(static_cast<std::size_t>(w));
  std::size_t limit = worker_->config().cli_sbuf_limit;
  if ((flags_ & kPausedBySbuf) && out_->size() <= limit / 2) {
    flags_ &= static_cast<std::uint32_t>(~kPausedBySbuf);
    if (tls_ && tls_->has_pending()) worker_->schedule_wake(*this);
    redeliver_held();
  }
  if (out_->empty()) {
    delete out_;
    out_ = nullptr;
  }
  update_interest();
  if (out_) return;
  output_drained();
}

// Everything queued has left (epoll or io_uring): finish a close that
// waited for it, or tell the handler.
void Conn::output_drained() {
  if (flags_ & kClosing) {
    worker_->teardown(*this, pending_error());
    return;
  }
  if (flags_ & kHadQueue) {
    flags_ &= static_cast<std::uint32_t>(~kHadQueue);
    worker_->current = this;
    handler_->on_drained(*this);
    flush_cork();
    worker_->current = nullptr;
    finish_dispatch();
  }
}

void Conn::update_interest() noexcept {
  if (flags_ & kDead) return;
  bool read = !(flags_ & (kPausedByUser | kPausedBySbuf | kClosing | kHandshakeQueued));
  // (io_uring: a staged send in flight reports itself; the queue waits for it.)
  bool write = (out_ != nullptr && !tls_pending_handshake() && !(flags_ & kSendInFlight)) ||
               (flags_ & kTlsWantsWrite);
  bool armed_read = flags_ & kReadArmed;
  bool armed_write = flags_ & kWriteArmed;
  if (read == armed_read && write == armed_write) return;
  flags_ = (flags_ & ~std::uint32_t{kReadArmed | kWriteArmed}) |
           (read ? std::uint32_t{kReadArmed} : 0u) | (write ? std::uint32_t{kWriteArmed} : 0u);
  worker_->loop().rewatch(fd_, this, (read ? kReadable : 0u) | (write ? kWritable : 0u));
}

// --- closing -----------------------------------------------------------------

void Conn::close() noexcept {
  if (flags_ & (kClosing | kDead)) return;
  flags_ |= kClosing;
  update_interest();
  if (worker_->current == this) return;  // finished when the callback returns
  if (!output_pending()) worker_->teardown(*this, {});
}

void Conn::abort() noexcept {
  abort_with(errc::aborted);
}

void Conn::abort_with(std::error_code ec) noexcept {
  if (flags_ & kDead) return;
  delete out_;
  out_ = nullptr;
  flags_ |= kClosing;
  if (worker_->current == this) {
    worker_->cork().clear();
    if (!pending_error_) {
      pending_error_ = static_cast<std::int16_t>(
          ec.category() == std::system_category() ? ec.value() : -ec.value());
    }
    update_interest();
    return;
  }
  worker_->teardown(*this, ec);
}

// Reading resumed with input held during the pause: show it soon (after
// this callback, like a wake-up), not only when more bytes arrive.
void Conn::redeliver_held() noexcept {
  if (!(flags_ & kHeldInput) || reading_paused() || (flags_ & (kClosing | kDead | kWoken))) return;
  flags_ |= kWoken;
  worker_->schedule_wake(*this);
}

void Conn::wake() noexcept {
  if (flags_ & (kClosing | kDead | kWoken)) return;
  flags_ |= kWoken;
  worker_->schedule_wake(*this);
}

DetachedConn Conn::detach() {
  DetachedConn d;
  if (flags_ & (kClosing | kDead) || tls_) return d;
  d.fd = fd_;
  if (out_) d.unsent.assign(out_->view());
  if (worker_->current == this) {
    Bytes corked[detail::Cork::kMaxPieces];
    const std::size_t n = worker_->cork().pieces(corked);
    for (std::size_t i = 0; i < n; ++i)
      d.unsent.append(corked[i]);
    worker_->cork().clear();
  }
  // Inside on_data the caller holds the input already (`in` covers it).
  if (in_ && !(flags_ & kInOnData)) d.unconsumed.assign(in_->view());
  flags_ |= kClosing;
  worker_->teardown(*this, errc::detached, /*close_fd=*/false);
  return d;
}

// --- flow control and socket options --------------------------------------------

void Conn::pause_reading() noexcept {
  flags_ |= kPausedByUser;
  update_interest();
}

void Conn::resume_reading() noexcept {
  flags_ &= static_cast<std::uint32_t>(~kPausedByUser);
  update_interest();
  redeliver_held();
  // Decrypted input waiting inside TLS makes no readable event: go back for it.
  if (tls_ && !tls_pending_handshake() && tls_->has_pending()) worker_->schedule_wake(*this);
}

SockAddr Conn::local_addr() const {
  SockAddr a;
  *a.size_ptr() = sizeof(sockaddr_storage);
  if (::getsockname(fd_, a.get(), a.size_ptr()) < 0) return {};
  return a;
}

SockAddr Conn::remote_addr() const {
  SockAddr a;
  *a.size_ptr() = sizeof(sockaddr_storage);
  if (::getpeername(fd_, a.get(), a.size_ptr()) < 0) return {};
  return a;
}

bool Conn::set_nodelay(bool on) noexcept {
  return !(flags_ & kUnix) && detail::set_nodelay(fd_, on);
}

bool Conn::set_keepalive(int idle_s, int interval_s, int count) noexcept {
  return !(flags_ & kUnix) && detail::set_keepalive(fd_, idle_s, interval_s, count);
}

}  // namespace weft
