// libFuzzer target for ListenUrl::parse and parse_target (ConfigError is
// the only allowed failure), and for the HTTP and WebSocket clients' URLs
// (http::parse_url_target). Anything else (another exception, a crash, a
// broken invariant) is a bug.
#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "http/response_parser.hpp"
#include "http/url_target.hpp"
#include "weft/address.hpp"
#include "weft/error.hpp"

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  try {
    const weft::ListenUrl u = weft::ListenUrl::parse(in);
    check(u.text == in);
    check(u.backlog >= 1 && u.backlog <= 65535);
    if (u.transport == weft::Transport::unix_stream) {
      check(u.family == AF_UNIX && !u.path.empty() && u.host.empty() && !u.reuseport);
    } else {
      check(u.family == AF_INET || u.family == AF_INET6);
      check(u.path.empty());
    }
    // Parsing is a pure function of the text.
    const weft::ListenUrl again = weft::ListenUrl::parse(u.text);
    check(again.family == u.family && again.host == u.host && again.port == u.port &&
          again.path == u.path && again.reuseport == u.reuseport && again.backlog == u.backlog &&
          again.v6only == u.v6only && again.transport == u.transport);
  } catch (const weft::ConfigError&) {
  }
  // A dial target: a listen URL parses the same way; otherwise the host is
  // a name (no '_', no all-digit last label, lower-cased, at most 254 bytes).
  try {
    const weft::ListenUrl t = weft::ListenUrl::parse_target(in);
    check(t.text == in);
    if (t.name) {
      check(t.transport != weft::Transport::unix_stream && !t.host.empty() && t.host.size() <= 254);
      for (char c : t.host)
        check((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.');
      check(t.family == 0 || t.family == AF_INET || t.family == AF_INET6);
    } else {
      const weft::ListenUrl l = weft::ListenUrl::parse(in);
      check(l.host == t.host && l.port == t.port && l.family == t.family);
    }
  } catch (const weft::ConfigError&) {
  }
  // A client URL: what it gives can always be dialed as written and sent
  // as a request line and Host header.
  weft::http::UrlTarget u;
  if (weft::http::parse_url_target(in, "http", "https", u)) {
    check(u.dial_url.starts_with("tcp://") || u.dial_url.starts_with("tls://"));
    check(!u.host.empty() && u.host.find('@') == std::string::npos && !u.sni.empty());
    check(u.resource.starts_with("/") && u.resource.find('#') == std::string::npos);
    std::string request;
    check(weft::http::write_request(request, "GET", u.resource, u.host));
  }
  return 0;
}
