#include "net/socket.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace weft::detail {
namespace {

std::error_code last_error() {
  return {errno, std::system_category()};
}

// Resolves a ListenUrl to a sockaddr (numeric hosts only: no DNS on a loop).
bool to_sockaddr(const ListenUrl& url, SockAddr& out, std::error_code& ec) {
  sockaddr_storage ss{};
  socklen_t len = 0;
  if (url.transport == Transport::unix_stream) {
    auto* un = reinterpret_cast<sockaddr_un*>(&ss);
    un->sun_family = AF_UNIX;
    if (url.path.size() >= sizeof un->sun_path) {
      ec = std::make_error_code(std::errc::filename_too_long);
      return false;
    }
    std::memcpy(un->sun_path, url.path.data(), url.path.size());
    if (!url.path.empty() && url.path[0] == '@') un->sun_path[0] = '\0';  // abstract
    len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + url.path.size() +
                                 (url.path[0] == '@' ? 0 : 1));
  } else {
    int family = url.family;
    std::string host = url.host == "localhost" ? "127.0.0.1" : url.host;
    if (family == 0) family = host.find(':') != std::string::npos ? AF_INET6 : AF_INET;
    if (family == AF_INET6) {
      auto* in6 = reinterpret_cast<sockaddr_in6*>(&ss);
      in6->sin6_family = AF_INET6;
      in6->sin6_port = htons(url.port);
      in6->sin6_addr = in6addr_any;
      if (!host.empty() && inet_pton(AF_INET6, host.c_str(), &in6->sin6_addr) != 1) {
        ec = std::make_error_code(std::errc::invalid_argument);
        return false;
      }
      len = sizeof(sockaddr_in6);
    } else {
      auto* in4 = reinterpret_cast<sockaddr_in*>(&ss);
      in4->sin_family = AF_INET;
      in4->sin_port = htons(url.port);
      in4->sin_addr.s_addr = htonl(INADDR_ANY);
      if (!host.empty() && inet_pton(AF_INET, host.c_str(), &in4->sin_addr) != 1) {
        ec = std::make_error_code(std::errc::invalid_argument);
        return false;
      }
      len = sizeof(sockaddr_in);
    }
  }
  out = SockAddr(reinterpret_cast<const sockaddr*>(&ss), len);
  return true;
}

}  // namespace

bool resolve_literal(const ListenUrl& url, SockAddr& out) {
  if (url.transport != Transport::unix_stream && (url.host.empty() || url.port == 0)) return false;
  std::error_code ec;
  return to_sockaddr(url, out, ec);
}

namespace {

// A socket file left by a crashed run would make bind fail: remove it — but
// only if nobody accepts on it (a live server keeps its path) and it is a
// socket (never a regular file that happens to have the name).
bool claim_unix_path(const SockAddr& addr, const std::string& path, std::error_code& ec) {
  struct stat st {};
  if (path.empty() || path[0] == '@') return true;
  if (::lstat(path.c_str(), &st) != 0 || !S_ISSOCK(st.st_mode)) return true;
  int probe = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (probe < 0) return true;
  int rc = ::connect(probe, addr.get(), addr.size());
  int err = errno;
  ::close(probe);
  if (rc == 0 || err != ECONNREFUSED) {
    ec = std::make_error_code(std::errc::address_in_use);
    return false;
  }
  ::unlink(path.c_str());
  return true;
}

// SO_REUSEPORT lets any socket of the same user join a port, including
// another server's. Before joining, make sure nobody holds the port: a plain
// bind without SO_REUSEPORT fails with EADDRINUSE if somebody does.
bool port_is_free(const SockAddr& addr, int type, std::error_code& ec) {
  int probe = ::socket(addr.family(), type | SOCK_CLOEXEC, 0);
  if (probe < 0) return true;
  int one = 1;
  if (type == SOCK_STREAM) ::setsockopt(probe, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (addr.family() == AF_INET6) ::setsockopt(probe, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
  bool free = ::bind(probe, addr.get(), addr.size()) == 0;
  if (!free) ec = last_error();
  ::close(probe);
  return free;
}

}  // namespace

int open_listener(const ListenUrl& url, bool reuseport, bool first, std::error_code& ec) {
  SockAddr addr;
  if (!to_sockaddr(url, addr, ec)) return -1;
  int type = url.transport == Transport::udp ? SOCK_DGRAM : SOCK_STREAM;
  if (url.transport == Transport::unix_stream) {
    if (!claim_unix_path(addr, url.path, ec)) return -1;
  } else if (reuseport && first && url.port != 0 && !port_is_free(addr, type, ec)) {
    return -1;
  }
  int fd = ::socket(addr.family(), type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    ec = last_error();
    return -1;
  }
  int one = 1;
  if (addr.family() != AF_UNIX) {
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (reuseport && ::setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) < 0) {
      ec = last_error();
      ::close(fd);
      return -1;
    }
    // tcp:// with an IPv6 wildcard listens on both families; tcp6:// only on v6.
    if (addr.family() == AF_INET6) {
      int v6only = url.v6only ? 1 : 0;
      ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof v6only);
    }
  }
  if (::bind(fd, addr.get(), addr.size()) < 0 ||
      (type == SOCK_STREAM && ::listen(fd, url.backlog) < 0)) {
    ec = last_error();
    ::close(fd);
    return -1;
  }
  return fd;
}

std::string bound_url(int fd, const ListenUrl& url) {
  SockAddr local;
  *local.size_ptr() = sizeof(sockaddr_storage);
  if (::getsockname(fd, local.get(), local.size_ptr()) < 0) return url.text;
  std::string scheme = url.text.substr(0, url.text.find("://"));
  if (url.transport == Transport::unix_stream) return scheme + "://" + url.path;
  return scheme + "://" + local.to_string();
}

bool set_nodelay(int fd, bool on) noexcept {
  int v = on ? 1 : 0;
  return ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &v, sizeof v) == 0;
}

bool set_keepalive(int fd, int idle_s, int interval_s, int count) noexcept {
  int on = idle_s > 0 ? 1 : 0;
  if (::setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof on) < 0) return false;
  if (!on) return true;
  return ::setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle_s, sizeof idle_s) == 0 &&
         ::setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &interval_s, sizeof interval_s) == 0 &&
         ::setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &count, sizeof count) == 0;
}

}  // namespace weft::detail
