// The opening handshake (RFC 6455 §4): the checks a server makes on the
// client's request, Sec-WebSocket-Accept, and comma-separated header lists.
// The client side (a later layer) uses accept_key() to verify the answer.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "ws/lists.hpp"

namespace weft::http {
class Request;
}

namespace weft::ws::detail {

/// base64(SHA-1(key + the RFC's GUID)).
std::string accept_key(std::string_view client_key);
/// A Sec-WebSocket-Key must be the base64 form of 16 bytes (24 characters).
bool valid_client_key(std::string_view key) noexcept;

/// Why a request is not a WebSocket handshake: status 0 means it is one.
struct HandshakeVerdict {
  int status = 0;           ///< 400 (bad handshake) or 426 (version other than 13)
  const char* reason = "";  ///< a short, fixed explanation for the body
};
HandshakeVerdict check_handshake(const http::Request& req);

/// Every value of every header named `name` (case-insensitive), joined as
/// one list ("a, b" + "c" -> "a, b, c"): list headers may be repeated.
std::string joined_header(const http::Request& req, std::string_view name);

}  // namespace weft::ws::detail
