// Listen URL parsing and SockAddr formatting. Parsing never resolves names:
// a listener's host is a literal; a dial target may name a host, which the
// dialer resolves off the loop (net/resolver.hpp).
#include "weft/address.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/un.h>

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <string>
#include <string_view>

#include "weft/error.hpp"

namespace weft {
namespace {

// Control bytes are escaped so the message stays one readable C string.
[[noreturn]] void fail(std::string_view url, std::string_view why) {
  std::string msg = "listen URL \"";
  for (char c : url) {
    const auto b = static_cast<unsigned char>(c);
    if (b < 0x20 || b == 0x7f) {
      constexpr char kHex[] = "0123456789abcdef";
      msg += "\\x";
      msg += kHex[b >> 4];
      msg += kHex[b & 15];
    } else {
      msg += c;
    }
  }
  msg.append("\": ").append(why);
  throw ConfigError(msg);
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// Digits only, at most `max`; false on anything else (no sign, no spaces).
bool parse_uint(std::string_view s, unsigned long max, unsigned long& out) {
  if (!all_digits(s)) return false;
  unsigned long v = 0;
  for (char c : s) {
    v = v * 10 + static_cast<unsigned long>(c - '0');
    if (v > max) return false;
  }
  out = v;
  return true;
}

struct Scheme {
  std::string_view name;
  Transport transport;
  int family;  // 0: any (dual-stack when the host is empty)
};

constexpr Scheme kSchemes[] = {
    {"tcp", Transport::tcp, 0},
    {"tcp4", Transport::tcp, AF_INET},
    {"tcp6", Transport::tcp, AF_INET6},
    {"udp", Transport::udp, 0},
    {"udp4", Transport::udp, AF_INET},
    {"udp6", Transport::udp, AF_INET6},
    {"unix", Transport::unix_stream, AF_UNIX},
    {"tls", Transport::tcp, 0},
    {"tls4", Transport::tcp, AF_INET},
    {"tls6", Transport::tcp, AF_INET6},
};

void parse_unix(std::string_view url, std::string_view path, ListenUrl& u) {
  if (path.empty() || path == "@") fail(url, "unix socket path is empty");
  // sun_path holds a pathname plus its NUL, or '\0' + an abstract name; one
  // limit for both keeps the '@' form one byte short of the maximum.
  constexpr std::size_t max = sizeof(sockaddr_un{}.sun_path) - 1;
  if (path.size() > max) {
    fail(url, "unix socket path is longer than " + std::to_string(max) + " bytes");
  }
  u.path = path;
}

// A DNS name (RFC 1123): dot-separated labels of letters, digits and '-',
// neither starting nor ending with '-', at most 63 bytes each and 253 in
// all; a trailing dot (the root) is allowed.
bool is_host_name(std::string_view h) {
  if (!h.empty() && h.back() == '.') h.remove_suffix(1);
  if (h.empty() || h.size() > 253) return false;
  std::size_t label = 0;
  for (std::size_t i = 0; i < h.size(); ++i) {
    const char c = h[i];
    if (c == '.') {
      if (label == 0 || h[i - 1] == '-') return false;
      label = 0;
      continue;
    }
    const bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (!alnum && !(c == '-' && label > 0)) return false;
    if (++label > 63) return false;
  }
  if (h.back() == '-') return false;
  // A last label of digits only is an IPv4 address gone wrong ("1.2.3",
  // "256.1.1.1"), which getaddrinfo would read in the old inet_aton forms.
  const std::string_view last = h.substr(h.rfind('.') + 1);
  return !all_digits(last);
}

void parse_host_port(std::string_view url, std::string_view addr, const Scheme& scheme,
                     ListenUrl& u, bool names) {
  if (auto slash = addr.find('/'); slash != std::string_view::npos) {
    fail(url, "unexpected \"" + std::string(addr.substr(slash)) + "\" after the port");
  }
  std::string_view host;
  std::string_view port;
  bool bracketed = false;
  if (!addr.empty() && addr[0] == '[') {
    auto close = addr.find(']');
    if (close == std::string_view::npos) fail(url, "missing ']' after the IPv6 address");
    host = addr.substr(1, close - 1);
    std::string_view after = addr.substr(close + 1);
    if (after.empty()) fail(url, "missing port (e.g. [::1]:5000)");
    if (after[0] != ':') {
      fail(url, "unexpected \"" + std::string(after) + "\" after the IPv6 address");
    }
    port = after.substr(1);
    bracketed = true;
    if (host.empty()) fail(url, "empty IPv6 address in brackets (use [::] for all interfaces)");
  } else {
    auto colon = addr.rfind(':');
    if (colon == std::string_view::npos) fail(url, "missing port (e.g. 127.0.0.1:5000 or :5000)");
    host = addr.substr(0, colon);
    port = addr.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) {
      fail(url, "IPv6 addresses must be in brackets, e.g. tcp://[::1]:5000");
    }
  }

  unsigned long p = 0;
  if (port.empty()) fail(url, "missing port");
  if (!parse_uint(port, 65535, p)) fail(url, "port must be 0..65535");
  u.port = static_cast<std::uint16_t>(p);

  if (bracketed) {
    in6_addr a6{};
    const std::string h(host);
    if (inet_pton(AF_INET6, h.c_str(), &a6) != 1) {
      fail(url, "\"[" + h + "]\" is not an IPv6 address");
    }
    if (scheme.family == AF_INET) {
      fail(url, std::string(scheme.name) + ":// takes IPv4 addresses only");
    }
    u.family = AF_INET6;
    u.host = h;
    return;
  }
  if (host.empty()) {
    // All interfaces: tcp:// and udp:// bind [::] dual-stack.
    u.family = scheme.family == AF_INET ? AF_INET : AF_INET6;
    return;
  }
  const std::string h(host);
  in_addr a4{};
  if (inet_pton(AF_INET, h.c_str(), &a4) == 1) {
    if (scheme.family == AF_INET6) {
      fail(url, std::string(scheme.name) + ":// takes IPv6 addresses only (write [::ffff:" + h +
                    "] or use " + std::string(scheme.name.substr(0, 3)) + "://)");
    }
    u.family = AF_INET;
    u.host = h;
    return;
  }
  if (lower(h) == "localhost") {
    u.family = scheme.family == AF_INET6 ? AF_INET6 : AF_INET;
    u.host = u.family == AF_INET6 ? "::1" : "127.0.0.1";
    return;
  }
  if (names && is_host_name(h)) {
    // Resolved when dialed, off the loop; the scheme's family (if any)
    // narrows the lookup.
    u.name = true;
    u.host = lower(h);
    return;
  }
  if (names) {
    fail(url, "host \"" + h + "\" is neither an address nor a host name");
  }
  fail(url, "host \"" + h +
                "\" is not a literal address; a listener does not resolve names, so use a "
                "literal such as 127.0.0.1 or [::1], or localhost");
}

void parse_query(std::string_view url, std::string_view query, ListenUrl& u) {
  bool seen_reuseport = false;
  bool seen_backlog = false;
  bool seen_tls = false;
  while (true) {
    const auto amp = query.find('&');
    const std::string_view item = query.substr(0, amp);
    if (item.empty()) fail(url, "empty option in the query");
    const auto eq = item.find('=');
    const std::string key(item.substr(0, eq));
    if (eq == std::string_view::npos) {
      std::string why = "option \"";
      why += key;
      why += "\" needs a value (e.g. ";
      why += key;
      why += "=...)";
      fail(url, why);
    }
    const std::string_view value = item.substr(eq + 1);
    if (key == "reuseport") {
      if (seen_reuseport) fail(url, "option \"reuseport\" is given twice");
      seen_reuseport = true;
      if (value == "true") {
        u.reuseport = true;
      } else if (value == "false") {
        u.reuseport = false;
      } else {
        fail(url, "reuseport must be true or false");
      }
      if (u.reuseport && u.transport == Transport::unix_stream) {
        fail(url, "reuseport does not apply to unix sockets");
      }
    } else if (key == "backlog") {
      if (seen_backlog) fail(url, "option \"backlog\" is given twice");
      seen_backlog = true;
      if (u.transport == Transport::udp) fail(url, "backlog does not apply to udp");
      unsigned long b = 0;
      if (!parse_uint(value, 65535, b) || b == 0) fail(url, "backlog must be 1..65535");
      u.backlog = static_cast<int>(b);
    } else if (key == "tls") {
      if (seen_tls) fail(url, "option \"tls\" is given twice");
      seen_tls = true;
      if (u.transport == Transport::udp) fail(url, "tls does not apply to udp");
      if (u.tls == UrlTls::on) fail(url, "the tls:// scheme already turns TLS on; drop ?tls=");
      if (value == "true") {
        u.tls = UrlTls::on;
      } else if (value == "false") {
        u.tls = UrlTls::off;
      } else if (value == "both") {
        u.tls = UrlTls::both;
      } else {
        fail(url, "tls must be true, false or both");
      }
    } else {
      fail(url, "unknown option \"" + key + "\" (known: reuseport, backlog, tls)");
    }
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
}

// `names`: the host may be a DNS name (a dial target).
ListenUrl parse_url(std::string_view url, bool names) {
  ListenUrl u;
  u.text = url;
  // Spaces and control bytes are always typos (or worse) in an address.
  for (char c : url) {
    const auto b = static_cast<unsigned char>(c);
    if (b <= 0x20 || b == 0x7f) fail(url, "contains a space or control character");
  }
  const auto sep = url.find("://");
  if (sep == std::string_view::npos) {
    fail(url, "missing scheme; write e.g. tcp://127.0.0.1:5000 or unix:///tmp/app.sock");
  }
  const std::string name = lower(url.substr(0, sep));
  const Scheme* scheme = nullptr;
  for (const Scheme& s : kSchemes) {
    if (s.name == name) scheme = &s;
  }
  if (scheme == nullptr) {
    fail(url, "unknown scheme \"" + name +
                  "\" (use tcp, tcp4, tcp6, tls, tls4, tls6, udp, udp4, udp6 or unix)");
  }
  if (name.starts_with("tls")) u.tls = UrlTls::on;
  u.transport = scheme->transport;
  u.family = scheme->family;
  u.v6only = scheme->family == AF_INET6;

  std::string_view rest = url.substr(sep + 3);
  const auto q = rest.find('?');
  const std::string_view addr = rest.substr(0, q);
  if (u.transport == Transport::unix_stream) {
    u.reuseport = false;
    parse_unix(url, addr, u);
  } else {
    parse_host_port(url, addr, *scheme, u, names);
  }
  if (q != std::string_view::npos) parse_query(url, rest.substr(q + 1), u);
  return u;
}

}  // namespace

ListenUrl ListenUrl::parse(std::string_view url) {
  return parse_url(url, false);
}

ListenUrl ListenUrl::parse_target(std::string_view url) {
  return parse_url(url, true);
}

SockAddr::SockAddr(const sockaddr* sa, socklen_t len) noexcept {
  if (sa == nullptr) return;
  len_ = std::min<socklen_t>(len, sizeof(storage_));
  std::memcpy(&storage_, sa, len_);
}

std::uint16_t SockAddr::port() const noexcept {
  if (family() == AF_INET) {
    sockaddr_in in{};
    std::memcpy(&in, &storage_, sizeof(in));
    return ntohs(in.sin_port);
  }
  if (family() == AF_INET6) {
    sockaddr_in6 in6{};
    std::memcpy(&in6, &storage_, sizeof(in6));
    return ntohs(in6.sin6_port);
  }
  return 0;
}

std::string SockAddr::to_string() const {
  char buf[INET6_ADDRSTRLEN] = {};
  switch (family()) {
    case AF_INET: {
      sockaddr_in in{};
      std::memcpy(&in, &storage_, sizeof(in));
      inet_ntop(AF_INET, &in.sin_addr, buf, sizeof(buf));
      return std::string(buf) + ':' + std::to_string(ntohs(in.sin_port));
    }
    case AF_INET6: {
      sockaddr_in6 in6{};
      std::memcpy(&in6, &storage_, sizeof(in6));
      inet_ntop(AF_INET6, &in6.sin6_addr, buf, sizeof(buf));
      std::string s = "[";
      s += buf;
      if (in6.sin6_scope_id != 0) s += '%' + std::to_string(in6.sin6_scope_id);
      return s + "]:" + std::to_string(ntohs(in6.sin6_port));
    }
    case AF_UNIX: {
      sockaddr_un un{};
      std::memcpy(&un, &storage_, sizeof(un));
      // len_ 0 means the length was not recorded: take the whole sun_path.
      constexpr std::size_t off = offsetof(sockaddr_un, sun_path);
      const std::size_t n = len_ == 0
                                ? sizeof(un.sun_path)
                                : (len_ > off ? std::min(len_ - off, sizeof(un.sun_path)) : 0);
      if (n == 0) return {};  // unnamed, e.g. an accepted client
      if (un.sun_path[0] == '\0') {
        // Abstract: the name is every byte after the NUL, up to len_.
        std::size_t name_len = len_ == 0 ? strnlen(un.sun_path + 1, n - 1) : n - 1;
        return '@' + std::string(un.sun_path + 1, name_len);
      }
      return std::string(un.sun_path, strnlen(un.sun_path, n));
    }
    default:
      return {};
  }
}

}  // namespace weft
