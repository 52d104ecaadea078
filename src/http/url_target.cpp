#include "http/url_target.hpp"

#include <charconv>

namespace weft::http {

namespace {

// Visible ASCII only: a request line or Host header must not carry spaces,
// controls or bytes above 0x7e (RFC 9112 §3.2, RFC 3986 §2).
bool printable(std::string_view s) noexcept {
  for (const char c : s) {
    if (c <= 0x20 || c >= 0x7f) return false;
  }
  return true;
}

bool valid_port(std::string_view port) noexcept {
  unsigned value = 0;
  const auto r = std::from_chars(port.data(), port.data() + port.size(), value);
  return r.ec == std::errc{} && r.ptr == port.data() + port.size() && value >= 1 && value <= 65535;
}

}  // namespace

// GCC 12 at -O3 reports a false -Wrestrict inside std::string's copy here
// (GCC bug 105329); the code is plain string building.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wrestrict"
#endif
bool parse_url_target(std::string_view url, std::string_view plain, std::string_view secure,
                      UrlTarget& out) {
  bool tls = false;
  if (url.starts_with(plain) && url.substr(plain.size()).starts_with("://")) {
    url.remove_prefix(plain.size() + 3);
  } else if (url.starts_with(secure) && url.substr(secure.size()).starts_with("://")) {
    url.remove_prefix(secure.size() + 3);
    tls = true;
  } else {
    return false;
  }
  url = url.substr(0, url.find('#'));  // a fragment is never sent
  if (!printable(url)) return false;
  const std::size_t slash = url.find_first_of("/?");
  const std::string_view authority = url.substr(0, slash);
  const std::string_view resource = slash == std::string_view::npos ? "/" : url.substr(slash);
  if (authority.empty() || authority.find('@') != std::string_view::npos) return false;
  std::string_view host = authority;
  std::string_view port = tls ? "443" : "80";
  const std::size_t colon = authority.rfind(':');
  const std::size_t bracket = authority.rfind(']');
  const bool explicit_port =
      colon != std::string_view::npos && (bracket == std::string_view::npos || colon > bracket);
  if (explicit_port) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
    if (!valid_port(port)) return false;
  }
  if (host.empty()) return false;
  std::string_view bare = host;
  if (bare.front() == '[') {
    if (bare.size() < 3 || bare.back() != ']') return false;
    bare = bare.substr(1, bare.size() - 2);
  }
  out.dial_url.assign(tls ? "tls://" : "tcp://").append(host).append(":").append(port);
  out.host.assign(explicit_port ? authority : host);
  out.sni.assign(bare);
  out.resource.assign(resource.front() == '?' ? "/" : "").append(resource);
  return true;
}
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

}  // namespace weft::http
