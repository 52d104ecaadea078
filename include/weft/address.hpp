// weft/address.hpp — listen URLs (tcp://, tcp4://, tcp6://, udp://, unix://)
// and socket addresses.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <string>
#include <string_view>

namespace weft {

enum class Transport : std::uint8_t { tcp, udp, unix_stream };

/// A listener's TLS choice from its URL: the tls:// scheme or ?tls=.
enum class UrlTls : std::uint8_t {
  inherit,  ///< as the config's sslMode says
  off,      ///< ?tls=false: plain whatever sslMode says
  on,       ///< tls:// or ?tls=true
  both,     ///< ?tls=both: plain and TLS on one port, by the first byte
};

/// A parsed listen address, e.g. "tcp://127.0.0.1:5000?reuseport=false&backlog=512",
/// "tcp6://[::1]:0", "udp://:9000", "unix:///tmp/app.sock", "tls://127.0.0.1:443"
/// (tcp with TLS; also tls4://, tls6://, or ?tls=true|false|both on tcp and unix). A listener's
/// host is a literal, or "localhost" (127.0.0.1; ::1 for tcp6/udp6); a dial target's may be a name.
struct ListenUrl {
  Transport transport = Transport::tcp;
  int family = 0;    ///< AF_INET, AF_INET6 or AF_UNIX; 0 for a name under tcp:// or tls://
  std::string host;  ///< numeric, no brackets; empty: all interfaces; or a name (`name`)
  std::uint16_t port = 0;
  std::string path;       ///< unix:// only; a leading '@' names an abstract socket
  bool v6only = false;    ///< IPV6_V6ONLY: tcp6:// and udp6://; tcp:// and udp:// are dual-stack
  bool reuseport = true;  ///< ?reuseport= : one listener per loop (SO_REUSEPORT)
  int backlog = 1024;     ///< ?backlog= (stream listeners only)
  UrlTls tls = UrlTls::inherit;
  std::string text;   ///< the URL as written
  bool name = false;  ///< host is a DNS name to resolve (parse_target only), lower-cased

  /// Parses a listen URL (hosts are literals); throws weft::ConfigError
  /// naming what is wrong.
  static ListenUrl parse(std::string_view url);
  /// Parses a dial target: as parse(), but the host may also be a name
  /// ("tcp://db.internal:5432"), which Server::dial resolves off the loop.
  static ListenUrl parse_target(std::string_view url);
};

/// A socket address of any family, as returned by accept/recvfrom.
class SockAddr {
 public:
  SockAddr() = default;
  SockAddr(const sockaddr* sa, socklen_t len) noexcept;

  int family() const noexcept { return storage_.ss_family; }
  const sockaddr* get() const noexcept { return reinterpret_cast<const sockaddr*>(&storage_); }
  sockaddr* get() noexcept { return reinterpret_cast<sockaddr*>(&storage_); }
  socklen_t size() const noexcept { return len_; }
  socklen_t* size_ptr() noexcept { return &len_; }
  std::uint16_t port() const noexcept;  ///< 0 for unix sockets

  /// "127.0.0.1:5000", "[::1]:5000", "/tmp/app.sock" or "@name" (unix),
  /// "" (unset, or an unnamed unix socket such as an accepted client).
  std::string to_string() const;

 private:
  sockaddr_storage storage_{};
  socklen_t len_ = 0;
};

}  // namespace weft
