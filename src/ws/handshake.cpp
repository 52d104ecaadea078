#include "ws/handshake.hpp"

#include "http/request_parser.hpp"
#include "weft/http/request.hpp"

namespace weft::ws::detail {

namespace {

// Whether any header named `name` lists `token` (case-insensitive).
bool any_has_token(const http::Request& req, std::string_view name, std::string_view token) {
  for (const auto& h : req.headers()) {
    if (http::iequals(h.name, name) && http::has_token(h.value, token)) return true;
  }
  return false;
}

std::size_t count_headers(const http::Request& req, std::string_view name) {
  std::size_t n = 0;
  for (const auto& h : req.headers()) {
    if (http::iequals(h.name, name)) ++n;
  }
  return n;
}

}  // namespace

HandshakeVerdict check_handshake(const http::Request& req) {
  if (req.method() != "GET") return {400, "a WebSocket handshake is a GET"};
  if (req.version_minor() < 1) return {400, "a WebSocket handshake needs HTTP/1.1"};
  if (!any_has_token(req, "Upgrade", "websocket")) return {400, "Upgrade: websocket missing"};
  if (!any_has_token(req, "Connection", "upgrade")) {
    return {400, "Connection: Upgrade missing"};
  }
  if (!req.keep_alive()) return {400, "Connection: close in a WebSocket handshake"};
  if (!req.header("Content-Length").empty() || !req.header("Transfer-Encoding").empty()) {
    const std::string_view cl = req.header("Content-Length");
    if (!(cl == "0" && req.header("Transfer-Encoding").empty())) {
      return {400, "a WebSocket handshake has no body"};
    }
  }
  const std::size_t versions = count_headers(req, "Sec-WebSocket-Version");
  if (versions == 0) return {400, "Sec-WebSocket-Version missing"};
  if (versions > 1 || trim(req.header("Sec-WebSocket-Version")) != "13") {
    return {426, "only WebSocket version 13 is supported"};
  }
  if (count_headers(req, "Sec-WebSocket-Key") != 1) {
    return {400, "exactly one Sec-WebSocket-Key is needed"};
  }
  if (!valid_client_key(trim(req.header("Sec-WebSocket-Key")))) {
    return {400, "Sec-WebSocket-Key is not 16 bytes in base64"};
  }
  return {};
}

std::string joined_header(const http::Request& req, std::string_view name) {
  std::string out;
  for (const auto& h : req.headers()) {
    if (!http::iequals(h.name, name)) continue;
    if (!out.empty()) out.append(", ");
    out.append(h.value);
  }
  return out;
}

}  // namespace weft::ws::detail
