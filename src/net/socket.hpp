// Thin wrappers over socket syscalls: listening sockets from ListenUrls and
// per-socket options. Errors come back as std::error_code, never errno.
#pragma once

#include <string>
#include <system_error>

#include "weft/address.hpp"

namespace weft::detail {

/// Creates, binds and (for stream sockets) listens; non-blocking, CLOEXEC.
/// `reuseport` sets SO_REUSEPORT so each loop can bind its own socket;
/// `first` is the first socket for this URL, which checks that no other
/// process holds the port (or a live unix socket holds the path).
int open_listener(const ListenUrl& url, bool reuseport, bool first, std::error_code& ec);
/// The bound address as a URL ("tcp://127.0.0.1:40123", "unix:///tmp/x.sock").
std::string bound_url(int fd, const ListenUrl& url);

/// The address to connect to for a URL with a literal host and a port (or
/// a unix path); false when it has none.
bool resolve_literal(const ListenUrl& url, SockAddr& out);

bool set_nodelay(int fd, bool on) noexcept;
bool set_keepalive(int fd, int idle_s, int interval_s, int count) noexcept;

}  // namespace weft::detail
