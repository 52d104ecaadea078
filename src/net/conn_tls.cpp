// The TLS side of a Conn: telling TLS from plain on a shared port, driving
// the handshake on the loop, and reading/writing through the transport.
// Plain connections never come here.
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "net/buffer.hpp"
#include "net/secure_layer.hpp"
#include "net/worker.hpp"
#include "weft/conn.hpp"
#include "weft/error.hpp"

namespace weft {

using detail::IoStep;
using detail::IoWant;

namespace {
// A TLS handshake record starts with content type 22.
constexpr unsigned char kTlsHandshakeRecord = 0x16;
// Small pieces of one writev are joined into one record up to this size.
constexpr std::size_t kRecordPayload = 16 * 1024;
}  // namespace

std::optional<TlsInfo> Conn::tls() const {
  if (!tls_) return std::nullopt;
  return tls_->info();
}

// sslMode both: peek at the first byte without taking it.
void Conn::sniff() {
  unsigned char first = 0;
  ssize_t n = ::recv(fd_, &first, 1, MSG_PEEK);
  if (n < 0) {
    if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
      abort_with({errno, std::system_category()});
    }
    return;
  }
  if (n == 0) {  // closed before saying anything
    flags_ |= kPeerClosed;
    worker_->teardown(*this, {});
    return;
  }
  flags_ &= static_cast<std::uint32_t>(~kSniffing);
  if (first == kTlsHandshakeRecord) {
    start_tls();
    if (flags_ & kHandshaking) tls_handshake();  // the ClientHello is here already
    return;
  }
  update_interest();
  worker_->open_conn(*this);
  if (!(flags_ & (kDead | kClosing))) handle_readable();
}

void Conn::start_tls() {
  tls_ = worker_->make_transport(*this);
  if (!tls_) {
    abort_with(errc::tls_handshake_failed);
    return;
  }
  worker_->begin_handshake(*this, worker_->config().tls.handshake_timeout_ms);
}

void Conn::tls_handshake() {
  IoStep step = tls_->handshake();
  switch (step.want) {
    case IoWant::none:
      if (!tls_->handshake_done(worker_->stats())) {
        abort_with(errc::tls_handshake_failed);  // still handshaking: no on_close
        return;
      }
      worker_->end_handshake(*this);
      update_interest();
      worker_->open_conn(*this);
      // Application data that came with the client's Finished.
      if (!(flags_ & (kDead | kClosing)) && tls_->has_pending()) tls_readable();
      return;
    case IoWant::read:
      return;
    case IoWant::write:
      flags_ |= kTlsWantsWrite;
      update_interest();
      return;
    case IoWant::eof:
    case IoWant::error:
      worker_->stats().tls_failed.add();
      abort_with(step.error ? step.error : make_error_code(errc::tls_handshake_failed));
      return;
  }
}

void Conn::tls_readable() {
  char* buf = worker_->scratch();
  const std::size_t cap = worker_->scratch_size();
  for (;;) {
    std::size_t got = 0;
    IoStep last;
    // Fill the loop's buffer with as many records as are already here.
    while (got < cap) {
      last = tls_->read(buf + got, cap - got);
      if (last.want != IoWant::none) break;
      got += last.bytes;
      if (!tls_->has_pending()) {
        last.want = IoWant::read;  // the socket says when there is more
        break;
      }
    }
    if (got) {
      worker_->stats().bytes_in.add(got);
      worker_->touch(*this);
      deliver(Bytes(buf, got));
      if (flags_ & kDead) return;
    }
    switch (last.want) {
      case IoWant::none:  // buffer full and more is buffered inside TLS
        if (flags_ & (kClosing | kPausedByUser | kPausedBySbuf)) return;
        continue;
      case IoWant::read:
        return;
      case IoWant::write:
        flags_ |= kTlsWantsWrite;
        update_interest();
        return;
      case IoWant::eof:
        peer_eof();
        return;
      case IoWant::error:
        abort_with(last.error ? last.error : make_error_code(errc::tls_error));
        return;
    }
  }
}

// Sends pieces through TLS; queues what the socket did not take.
void Conn::tls_send(const Bytes* pieces, std::size_t n) {
  std::size_t total = 0;
  for (std::size_t i = 0; i < n; ++i)
    total += pieces[i].size();
  // Several small pieces: one record instead of one each.
  char joined[kRecordPayload];
  Bytes one;
  if (n > 1 && total <= kRecordPayload) {
    std::size_t at = 0;
    for (std::size_t i = 0; i < n; ++i) {
      if (pieces[i].empty()) continue;  // an empty view may have no data pointer
      std::memcpy(joined + at, pieces[i].data(), pieces[i].size());
      at += pieces[i].size();
    }
    one = Bytes(joined, total);
    pieces = &one;
    n = 1;
  }
  std::size_t sent = 0;
  for (std::size_t i = 0; i < n; ++i) {
    IoStep step = tls_->write(pieces[i].data(), pieces[i].size());
    sent += step.bytes;
    if (step.want == IoWant::error || step.want == IoWant::eof) {
      abort_with(step.error ? step.error : make_error_code(errc::tls_error));
      return;
    }
    if (step.bytes < pieces[i].size()) break;  // the socket is full
  }
  worker_->stats().bytes_out.add(sent);
  if (sent < total) enqueue(pieces, n, sent);
}

}  // namespace weft
