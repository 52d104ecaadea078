// Sec-WebSocket-Key and Sec-WebSocket-Accept (RFC 6455 §4.1, §4.2.2), for
// both sides of the handshake. Kept apart from the request checks so a
// client needs none of the HTTP server.
#include <openssl/evp.h>
#include <openssl/sha.h>

#include "ws/handshake.hpp"

namespace weft::ws::detail {

namespace {

constexpr std::string_view kGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

bool base64_char(char c) noexcept {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
         c == '/';
}

}  // namespace

std::string accept_key(std::string_view client_key) {
  std::string input(client_key);
  input.append(kGuid);
  unsigned char digest[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(input.data()), input.size(), digest);
  unsigned char out[4 * ((SHA_DIGEST_LENGTH + 2) / 3) + 1];
  const int n = EVP_EncodeBlock(out, digest, SHA_DIGEST_LENGTH);
  return {reinterpret_cast<const char*>(out), static_cast<std::size_t>(n)};
}

bool valid_client_key(std::string_view key) noexcept {
  // 16 bytes -> 22 base64 characters and "==". The last character before
  // the padding carries only 2 bits: A, Q, g or w.
  if (key.size() != 24 || key[22] != '=' || key[23] != '=') return false;
  for (std::size_t i = 0; i < 22; ++i) {
    if (!base64_char(key[i])) return false;
  }
  const char last = key[21];
  return last == 'A' || last == 'Q' || last == 'g' || last == 'w';
}

}  // namespace weft::ws::detail
