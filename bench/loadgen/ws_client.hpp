// ws_client.hpp: the WebSocket client side of weft-loadgen (RFC 6455, no
// extensions). No weft dependency; SHA-1 and base64 come from OpenSSL's
// libcrypto.
//
//   - the opening handshake: a random Sec-WebSocket-Key, the GET request, and
//     a strict check of the 101 response (Upgrade, Connection and
//     Sec-WebSocket-Accept, and no extension we did not offer);
//   - client frames: a header with a mask key, and masking in place;
//   - FrameReader: an incremental parser of server frames that hands out
//     message payload as it arrives (any fragmentation) and rejects whatever
//     an echo server must not send (masked frames, RSV bits, close, ...).
#pragma once

#include <openssl/evp.h>
#include <openssl/sha.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <string_view>

namespace wsclient {

constexpr uint8_t kOpContinuation = 0x0;
constexpr uint8_t kOpBinary = 0x2;
constexpr uint8_t kOpClose = 0x8;
constexpr uint8_t kFin = 0x80;

inline std::string base64(const uint8_t* data, size_t n) {
  std::string out(4 * ((n + 2) / 3) + 1, '\0');
  const int len =
      EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), data, static_cast<int>(n));
  out.resize(static_cast<size_t>(len));
  return out;
}

// A fresh Sec-WebSocket-Key: 16 random bytes, base64.
inline std::string make_key() {
  static std::random_device rd;
  std::array<uint8_t, 16> raw{};
  for (size_t i = 0; i < raw.size(); i += 4) {
    const uint32_t r = rd();
    std::memcpy(raw.data() + i, &r, 4);
  }
  return base64(raw.data(), raw.size());
}

// Sec-WebSocket-Accept for `key`: base64(SHA-1(key + GUID)).
inline std::string accept_for(std::string_view key) {
  const std::string text = std::string(key) + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
  std::array<uint8_t, SHA_DIGEST_LENGTH> digest{};
  SHA1(reinterpret_cast<const unsigned char*>(text.data()), text.size(), digest.data());
  return base64(digest.data(), digest.size());
}

// The opening handshake request. No Sec-WebSocket-Extensions: no compression.
inline std::string upgrade_request(std::string_view host, int port, std::string_view path,
                                   std::string_view key) {
  std::string r;
  r += "GET ";
  r += path;
  r += " HTTP/1.1\r\nHost: ";
  r += host;
  r += ':';
  r += std::to_string(port);
  r += "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ";
  r += key;
  r += "\r\nSec-WebSocket-Version: 13\r\n\r\n";
  return r;
}

inline bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

inline bool icontains(std::string_view hay, std::string_view needle) {
  if (needle.size() > hay.size()) return false;
  for (size_t i = 0; i + needle.size() <= hay.size(); ++i)
    if (iequals(hay.substr(i, needle.size()), needle)) return true;
  return false;
}

inline std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
    s.remove_suffix(1);
  return s;
}

// Checks a response head (up to and including the blank line) to the request
// made with `key`. Returns an empty string when it is a valid 101, else why not.
inline std::string check_upgrade_response(std::string_view head, std::string_view key) {
  const size_t eol = head.find("\r\n");
  const std::string_view status = head.substr(0, eol);
  if (status.substr(0, 13) != "HTTP/1.1 101 " && status != "HTTP/1.1 101")
    return "not a 101 response: " + std::string(status);
  bool upgrade = false, connection = false, accept = false;
  const std::string expected = accept_for(key);
  size_t pos = eol + 2;
  while (pos < head.size()) {
    const size_t end = head.find("\r\n", pos);
    if (end == std::string_view::npos || end == pos) break;
    const std::string_view line = head.substr(pos, end - pos);
    pos = end + 2;
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos) return "malformed header line: " + std::string(line);
    const std::string_view name = line.substr(0, colon);
    const std::string_view value = trim(line.substr(colon + 1));
    if (iequals(name, "Upgrade")) {
      upgrade = iequals(value, "websocket");
    } else if (iequals(name, "Connection")) {
      connection = icontains(value, "upgrade");
    } else if (iequals(name, "Sec-WebSocket-Accept")) {
      if (value != expected)
        return "Sec-WebSocket-Accept is " + std::string(value) + ", expected " + expected;
      accept = true;
    } else if (iequals(name, "Sec-WebSocket-Extensions")) {
      return "server accepted an extension that was not offered: " + std::string(value);
    }
  }
  if (!upgrade) return "no \"Upgrade: websocket\" in the 101 response";
  if (!connection) return "no \"Connection: Upgrade\" in the 101 response";
  if (!accept) return "no Sec-WebSocket-Accept in the 101 response";
  return {};
}

// Length of a masked client frame header for a payload of n bytes.
constexpr size_t client_header_size(size_t n) {
  return (n < 126 ? 2 : n <= 0xffff ? 4 : 10) + 4;
}

// Writes a FIN frame header with mask key `mask` to dst (client_header_size(n)
// bytes) and returns its length.
inline size_t write_client_header(uint8_t* dst, uint8_t opcode, size_t n, uint32_t mask) {
  size_t i = 0;
  dst[i++] = static_cast<uint8_t>(kFin | opcode);
  if (n < 126) {
    dst[i++] = static_cast<uint8_t>(0x80 | n);
  } else if (n <= 0xffff) {
    dst[i++] = 0x80 | 126;
    dst[i++] = static_cast<uint8_t>(n >> 8);
    dst[i++] = static_cast<uint8_t>(n);
  } else {
    dst[i++] = 0x80 | 127;
    for (int s = 56; s >= 0; s -= 8)
      dst[i++] = static_cast<uint8_t>(static_cast<uint64_t>(n) >> s);
  }
  std::memcpy(dst + i, &mask, 4);  // the key's bytes go out in memory order
  return i + 4;
}

// XORs payload p[0, n) with the 4-byte key in memory order (the order it is
// on the wire), 8 bytes at a time.
inline void apply_mask(uint8_t* p, size_t n, uint32_t mask) {
  const uint64_t wide = (static_cast<uint64_t>(mask) << 32) | mask;
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t w;
    std::memcpy(&w, p + i, 8);
    w ^= wide;
    std::memcpy(p + i, &w, 8);
  }
  uint8_t key[4];
  std::memcpy(key, &mask, 4);
  for (; i < n; ++i)
    p[i] ^= key[i % 4];
}

// Incremental parser of the frames an echo server sends back: unmasked data
// frames (binary, possibly fragmented into continuations), nothing else.
class FrameReader {
 public:
  // Parses [p, p + n). Calls on_payload(data, len) for every run of message
  // payload and on_message_end() after the last byte of each message.
  // Returns an empty string, or a description of the first protocol error.
  template <class OnPayload, class OnMessageEnd>
  std::string consume(const uint8_t* p, size_t n, OnPayload&& on_payload,
                      OnMessageEnd&& on_message_end) {
    while (n > 0) {
      if (!in_payload_) {  // (part of) a frame header
        const size_t take = std::min(n, need_ - have_);
        std::memcpy(head_.data() + have_, p, take);
        have_ += take;
        p += take;
        n -= take;
        if (have_ < need_) break;
        std::string err = parse_header();
        if (!err.empty()) return err;
        if (!in_payload_) continue;  // an extended length follows
        if (payload_left_ == 0) {    // an empty frame
          if (opcode_ == kOpClose) return describe_close();
          finish_frame(on_message_end);
          continue;
        }
      }
      const size_t take = static_cast<size_t>(std::min<uint64_t>(n, payload_left_));
      if (opcode_ == kOpClose) {
        close_.append(reinterpret_cast<const char*>(p), take);
      } else {
        on_payload(p, take);
      }
      payload_left_ -= take;
      p += take;
      n -= take;
      if (payload_left_ == 0) {
        if (opcode_ == kOpClose) return describe_close();
        finish_frame(on_message_end);
      }
    }
    return {};
  }

 private:
  // head_[0, need_) is complete: decode it, or ask for more header bytes.
  std::string parse_header() {
    const uint8_t b0 = head_[0], b1 = head_[1];
    if (need_ == 2) {
      if (b1 & 0x80) return "the server sent a masked frame";
      const uint8_t len7 = b1 & 0x7f;
      const size_t full = 2 + (len7 == 126 ? 2 : len7 == 127 ? 8 : 0);
      if (full > 2) {
        need_ = full;
        return {};
      }
    }
    if (b0 & 0x70) return "the server sent a frame with RSV bits set";
    const uint8_t opcode = b0 & 0x0f;
    fin_ = (b0 & kFin) != 0;
    uint64_t len = b1 & 0x7f;
    if (len == 126) {
      len = (uint64_t{head_[2]} << 8) | head_[3];
    } else if (len == 127) {
      len = 0;
      for (size_t i = 2; i < 10; ++i)
        len = (len << 8) | head_[i];
    }
    if (opcode == kOpClose) {
      opcode_ = opcode;
    } else if (opcode == kOpContinuation) {
      if (!in_message_) return "the server sent a continuation frame outside a message";
      opcode_ = opcode;
    } else if (opcode == kOpBinary) {
      if (in_message_) return "the server started a new message inside a fragmented one";
      opcode_ = opcode;
      in_message_ = true;
    } else {
      return "the server sent an unexpected frame, opcode " + std::to_string(opcode);
    }
    payload_left_ = len;
    in_payload_ = true;
    have_ = 0;
    need_ = 2;
    return {};
  }

  template <class OnMessageEnd>
  void finish_frame(OnMessageEnd& on_message_end) {
    in_payload_ = false;
    if (fin_) {
      in_message_ = false;
      on_message_end();
    }
  }

  std::string describe_close() const {
    if (close_.size() < 2) return "the server sent a close frame without a code";
    const unsigned code = (static_cast<unsigned>(static_cast<uint8_t>(close_[0])) << 8) |
                          static_cast<uint8_t>(close_[1]);
    return "the server closed with code " + std::to_string(code) + " \"" + close_.substr(2) + "\"";
  }

  std::array<uint8_t, 10> head_{};
  size_t have_ = 0;
  size_t need_ = 2;
  uint64_t payload_left_ = 0;
  bool in_payload_ = false;
  bool in_message_ = false;
  bool fin_ = false;
  uint8_t opcode_ = 0;
  std::string close_;
};

}  // namespace wsclient
