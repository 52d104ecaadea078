// Outbound connections on a loop: a non-blocking connect watched until the
// socket is writable, then the descriptor becomes a Conn like an accepted
// one (with a client TLS handshake first when asked). Failures before
// on_open go to Handler::on_dial_error.
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "net/pending_dial.hpp"
#include "net/secure_layer.hpp"
#include "net/socket.hpp"
#include "net/worker.hpp"
#include "weft/error.hpp"
#include "weft/log.hpp"
#include "weft/server.hpp"

namespace weft {

void Handler::on_dial_error(Server& server, const std::string& target, void* context,
                            std::error_code why) {
  (void)server;
  (void)context;
  logf(LogLevel::warn, "dial %s: %s", target.c_str(), why.message().c_str());
}

namespace detail {

void Worker::report_dial_error(Handler& h, const std::string& target, void* context,
                               std::error_code why) noexcept {
  try {
    h.on_dial_error(server(), target, context, why);
  } catch (...) {
    logf(LogLevel::error, "on_dial_error threw; ignored");
  }
}

void Worker::dial(DialSpec spec) {
  Handler& h = spec.handler ? *spec.handler : *shared_.handler;
  spec.handler = &h;
  if (stopping_) return report_dial_error(h, spec.target, spec.context, errc::server_stopping);
  int fd = ::socket(spec.addr.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return report_dial_error(h, spec.target, spec.context, {errno, std::system_category()});
  }
  if (::connect(fd, spec.addr.get(), spec.addr.size()) < 0 && errno != EINPROGRESS) {
    std::error_code ec(errno, std::system_category());
    ::close(fd);
    return report_dial_error(h, spec.target, spec.context, ec);
  }
  auto owned = std::make_unique<PendingDial>(*this, fd, std::move(spec));
  PendingDial* d = owned.get();
  try {
    loop_.watch(fd, d, IoWatcher::kWritable);
  } catch (const std::system_error& e) {
    ::close(fd);
    return report_dial_error(h, d->spec.target, d->spec.context, e.code());
  }
  if (d->spec.timeout_ms > 0) {
    d->timer = loop_.run_after(Millis{d->spec.timeout_ms}, [this, d] {
      d->timer = 0;
      fail_dial(*d, std::error_code(ETIMEDOUT, std::system_category()));
    });
  }
  dials_.emplace(d, std::move(owned));
}

void Worker::fail_dial(PendingDial& d, std::error_code why) noexcept {
  auto it = dials_.find(&d);
  if (it == dials_.end()) return;
  std::unique_ptr<PendingDial> owned = std::move(it->second);
  dials_.erase(it);
  if (d.timer) loop_.cancel(d.timer);
  loop_.unwatch(d.fd);
  ::close(d.fd);
  report_dial_error(*d.spec.handler, d.spec.target, d.spec.context, why);
}

void Worker::finish_dial(PendingDial& d, std::uint32_t /*events*/) noexcept {
  int err = 0;
  socklen_t len = sizeof err;
  if (::getsockopt(d.fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0) err = errno;
  if (err == EINPROGRESS) return;
  if (err) return fail_dial(d, std::error_code(err, std::system_category()));

  auto it = dials_.find(&d);
  std::unique_ptr<PendingDial> owned = std::move(it->second);
  dials_.erase(it);
  if (d.timer) loop_.cancel(d.timer);
  loop_.unwatch(d.fd);
  DialSpec& spec = d.spec;
  reserve();  // counted like an accepted connection (teardown releases it)
  Conn* c = place(d.fd, kDialedListener, spec.is_unix, spec.handler, !spec.tls);
  if (!c) {
    return report_dial_error(*spec.handler, spec.target, spec.context, errc::aborted);
  }
  c->context_ = spec.context;
  if (!spec.is_unix && config().tcp_nodelay) set_nodelay(c->fd_, true);
  if (!spec.tls) return open_conn(*c);
  try {
    c->tls_ = spec.tls->make_client(c->fd_, spec.server_name).release();
  } catch (const std::exception& e) {
    logf(LogLevel::warn, "dial %s: cannot start TLS: %s", spec.target.c_str(), e.what());
  }
  if (!c->tls_) {
    c->flags_ |= Conn::kHandshaking;  // never opened: reported through on_dial_error
    ++handshakes_;
    stats_.tls_handshaking.add();
    c->abort_with(errc::tls_handshake_failed);
    return;
  }
  begin_handshake(*c, spec.timeout_ms, /*bypass_cap=*/true);
  c->tls_handshake();  // the client speaks first
}

void Worker::cancel_dials() noexcept {
  while (!dials_.empty())
    fail_dial(*dials_.begin()->first, errc::server_stopping);
}

}  // namespace detail
}  // namespace weft
