// Outbound connections on a loop: a non-blocking connect watched until the
// socket is writable, then the descriptor becomes a Conn like an accepted
// one (with a client TLS handshake first when asked). A host name is looked
// up first on the server's resolver thread, and its addresses are tried in
// order. Failures before on_open go to Handler::on_dial_error.
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "net/pending_dial.hpp"
#include "net/resolver.hpp"
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

ListenUrl parse_dial_target(const std::string& url, SockAddr& addr) {
  ListenUrl u = ListenUrl::parse_target(url);
  if (u.transport == Transport::udp) {
    throw ConfigError("dial \"" + url + "\": udp cannot be dialed");
  }
  if (u.name ? u.port == 0 : !resolve_literal(u, addr)) {
    throw ConfigError("dial \"" + url + "\": needs a host and a port (or a unix path)");
  }
  if (u.tls == UrlTls::both) {
    throw ConfigError("dial \"" + url + "\": tls=both applies to listeners only");
  }
  return u;
}

void Worker::report_dial_error(Handler& h, const std::string& target, void* context,
                               std::error_code why) noexcept {
  stats_.dial_errors.add();
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
  if (!spec.name.empty()) return resolve_then_dial(std::move(spec));
  stats_.dials.add();
  int fd = ::socket(spec.addr.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return report_dial_error(h, spec.target, spec.context, {errno, std::system_category()});
  }
  if (::connect(fd, spec.addr.get(), spec.addr.size()) < 0 && errno != EINPROGRESS) {
    std::error_code ec(errno, std::system_category());
    ::close(fd);
    if (dial_next_address(spec, ec)) return;
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
  try {
    if (dial_next_address(d.spec, why)) return;
  } catch (...) {  // (out of memory for the next attempt: report this one)
  }
  report_dial_error(*d.spec.handler, d.spec.target, d.spec.context, why);
}

// A name may resolve to several addresses (IPv6 and IPv4, several hosts):
// a refused or timed-out connect moves on to the next, as getaddrinfo
// ordered them. A server stop does not.
bool Worker::dial_next_address(DialSpec& spec, std::error_code why) {
  if (spec.more.empty() || why == errc::server_stopping) return false;
  spec.addr = spec.more.front();
  spec.more.erase(spec.more.begin());
  dial(std::move(spec));
  return true;
}

// The lookup runs on the resolver thread; its answer comes back to this
// loop through resolved(). The dial's timeout covers the lookup too (and
// then the connect once more): a DNS server that does not answer ends in
// ETIMEDOUT here, whatever getaddrinfo is still waiting for.
void Worker::resolve_then_dial(DialSpec spec) {
  stats_.name_lookups.add();
  const std::uint64_t id = ++resolve_seq_;
  Resolving& r = resolving_[id];
  const std::string name = spec.name;
  const std::uint16_t port = spec.port;
  const int family = spec.family;
  if (spec.timeout_ms > 0) {
    r.timer = loop_.run_after(Millis{spec.timeout_ms}, [this, id] {
      auto it = resolving_.find(id);
      if (it == resolving_.end()) return;
      it->second.timer = 0;  // running now
      DialSpec s = take_resolving(it);
      report_dial_error(*s.handler, s.target, s.context,
                        std::error_code(ETIMEDOUT, std::system_category()));
    });
  }
  r.spec = std::move(spec);
  shared_.resolver->resolve(
      name, port, family, [this, id](std::vector<SockAddr> addrs, std::error_code ec) {
        (void)loop_.post_control([this, id, addrs = std::move(addrs), ec]() mutable {
          resolved(id, std::move(addrs), ec);
        });
      });
}

DialSpec Worker::take_resolving(std::unordered_map<std::uint64_t, Resolving>::iterator it) {
  DialSpec spec = std::move(it->second.spec);
  if (it->second.timer) loop_.cancel(it->second.timer);
  resolving_.erase(it);
  return spec;
}

void Worker::resolved(std::uint64_t id, std::vector<SockAddr> addrs, std::error_code ec) {
  auto it = resolving_.find(id);
  if (it == resolving_.end()) return;  // timed out, or the server is stopping
  DialSpec spec = take_resolving(it);
  if (ec) return report_dial_error(*spec.handler, spec.target, spec.context, ec);
  spec.name.clear();
  spec.addr = addrs.front();
  spec.more.assign(addrs.begin() + 1, addrs.end());
  dial(std::move(spec));
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
  while (!resolving_.empty()) {
    DialSpec spec = take_resolving(resolving_.begin());
    report_dial_error(*spec.handler, spec.target, spec.context, errc::server_stopping);
  }
}

}  // namespace detail
}  // namespace weft
