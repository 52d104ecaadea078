// A blocking WebSocket client for the wire-level tests: it sends the exact
// bytes a test builds (masked frames from ws_test_frames.hpp, any broken
// rule) and parses what the server answers (status line, headers, frames).
// Loopback only; every read takes a timeout.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "test_support.hpp"
#include "ws/frame.hpp"
#include "ws_test_frames.hpp"

namespace weft::ws::test {

using weft::test::Client;
using weft::test::Ms;
using namespace std::chrono_literals;

struct Frame {
  std::uint8_t opcode = 0;
  bool fin = false;
  bool rsv1 = false;
  bool masked = false;
  std::string payload;
  /// For close frames: the code (0 when the payload is empty).
  std::uint16_t close_code() const {
    if (payload.size() < 2) return 0;
    return static_cast<std::uint16_t>((static_cast<std::uint8_t>(payload[0]) << 8) |
                                      static_cast<std::uint8_t>(payload[1]));
  }
};

class WsClient {
 public:
  /// Connects and sends `request` as is (a full HTTP head). Reads the
  /// response head into head() (status()).
  static WsClient raw(std::uint16_t port, const std::string& request) {
    WsClient w;
    w.c_ = Client::tcp(port);
    w.c_.send_all(request);
    w.read_head();
    return w;
  }

  /// A correct handshake for `target` plus `extra` header lines ("Name: v\r\n").
  static std::string request(std::string_view target, std::string_view extra = {}) {
    std::string r = "GET ";
    r.append(target).append(
        " HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n");
    r.append(extra).append("\r\n");
    return r;
  }

  static WsClient connect(std::uint16_t port, std::string_view target,
                          std::string_view extra = {}) {
    return raw(port, request(target, extra));
  }

  int status() const { return status_; }
  const std::string& head() const { return head_; }
  /// A response header value ("" when absent), case-insensitive name.
  std::string header(std::string_view name) const {
    std::size_t at = head_.find("\r\n");
    while (at != std::string::npos && at + 2 < head_.size()) {
      const std::size_t end = head_.find("\r\n", at + 2);
      const std::string line = head_.substr(at + 2, end - at - 2);
      const auto colon = line.find(':');
      if (colon != std::string::npos && colon == name.size()) {
        bool same = true;
        for (std::size_t i = 0; i < colon; ++i)
          same = same && std::tolower(static_cast<unsigned char>(line[i])) ==
                             std::tolower(static_cast<unsigned char>(name[i]));
        if (same) {
          std::string v = line.substr(colon + 1);
          while (!v.empty() && v.front() == ' ')
            v.erase(0, 1);
          return v;
        }
      }
      at = end;
    }
    return {};
  }
  /// Whatever body bytes followed a non-101 head (what arrived with it).
  const std::string& rest() const { return buf_; }

  void send(std::string_view wire) { c_.send_all(wire); }

  /// The next frame, or nullopt on timeout or EOF.
  std::optional<Frame> read_frame(Ms timeout = 5000ms) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      detail::FrameHeader h;
      const auto* p = reinterpret_cast<const std::uint8_t*>(buf_.data());
      if (detail::parse_frame_header(p, buf_.size(), h) == detail::HeaderParse::ok &&
          buf_.size() >= h.size + h.length) {
        Frame f;
        f.opcode = h.opcode;
        f.fin = h.fin;
        f.rsv1 = h.rsv1;
        f.masked = h.masked;
        f.payload = buf_.substr(h.size, static_cast<std::size_t>(h.length));
        buf_.erase(0, h.size + static_cast<std::size_t>(h.length));
        return f;
      }
      const auto left = std::chrono::duration_cast<Ms>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return std::nullopt;
      std::string more = c_.recv_some(1 << 20, left);
      if (more.empty()) return std::nullopt;
      buf_ += more;
    }
  }

  /// The next frame that is not a ping (pings are skipped).
  std::optional<Frame> read_data(Ms timeout = 5000ms) {
    for (;;) {
      auto f = read_frame(timeout);
      if (!f || f->opcode != 9) return f;
    }
  }

  /// The server closed the TCP connection (after any frames still coming).
  bool wait_closed(Ms timeout = 5000ms) { return c_.wait_closed(timeout); }
  Client& socket() { return c_; }

 private:
  void read_head() {
    const auto deadline = std::chrono::steady_clock::now() + 5000ms;
    while (buf_.find("\r\n\r\n") == std::string::npos) {
      const auto left = std::chrono::duration_cast<Ms>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return;
      std::string more = c_.recv_some(65536, left);
      if (more.empty()) return;
      buf_ += more;
    }
    const auto end = buf_.find("\r\n\r\n") + 4;
    head_ = buf_.substr(0, end);
    buf_.erase(0, end);
    if (head_.size() > 12) status_ = std::atoi(head_.substr(9, 3).c_str());
  }

  Client c_;
  std::string head_;
  std::string buf_;
  int status_ = 0;
};

}  // namespace weft::ws::test
