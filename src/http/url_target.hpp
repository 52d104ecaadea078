// Where an http(s):// or ws(s):// URL points: what to dial, what to send as
// Host, the name for SNI, and the request target. Shared by the HTTP and
// WebSocket clients.
#pragma once

#include <string>
#include <string_view>

namespace weft::http {

struct UrlTarget {
  std::string dial_url;  ///< tcp://host:port or tls://host:port, for Server::dial
  std::string host;      ///< the Host header: the authority, port only when given
  std::string sni;       ///< the host alone (no brackets), for TLS
  std::string resource;  ///< path and query ("/" when the URL has none); no fragment
};

/// Parses `scheme://authority[/path][?query][#fragment]` where scheme is
/// `plain` (port 80 by default) or `secure` (443, dialed as tls://). The
/// host may be a name, an IPv4 literal or a bracketed IPv6 literal; the
/// dial checks it further. False for another scheme, an empty host, a port
/// outside 1..65535, userinfo, or characters a request line cannot carry.
bool parse_url_target(std::string_view url, std::string_view plain, std::string_view secure,
                      UrlTarget& out);

}  // namespace weft::http
