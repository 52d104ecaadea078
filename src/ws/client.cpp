// The client side of WebSocket: parse a ws:// or wss:// URL, dial it, send
// the opening handshake (RFC 6455 §4.1), check the server's 101, then hand
// the connection to a client-role Session driven by the caller's Behavior.
//
// One Connector per connection: it is the connection's Handler from the dial
// to on_close (forwarding to its own Endpoint once the handshake is done),
// and deletes itself at the end, so nothing outlives the connection.
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <algorithm>
#include <memory>

#include "http/request_parser.hpp"
#include "http/url_target.hpp"
#include "weft/conn.hpp"
#include "weft/loop.hpp"
#include "weft/server.hpp"
#include "weft/ws/client.hpp"
#include "ws/client_deflate.hpp"
#include "ws/endpoint.hpp"
#include "ws/handshake.hpp"
#include "ws/mask.hpp"
#include "ws/session.hpp"

namespace weft::ws {

namespace detail {

namespace {

constexpr std::size_t kMaxResponseHead = 16 * 1024;

using Target = http::UrlTarget;

// 16 random bytes in base64 (RFC 6455 §4.1: a fresh nonce per connection).
std::string random_key() {
  unsigned char nonce[16];
  if (RAND_bytes(nonce, sizeof nonce) != 1) {
    for (std::size_t i = 0; i < sizeof nonce; i += 4) {
      random_mask(nonce + i);  // the masking source still gives unpredictable bytes
    }
  }
  unsigned char out[25];
  const int n = EVP_EncodeBlock(out, nonce, sizeof nonce);
  return {reinterpret_cast<const char*>(out), static_cast<std::size_t>(n)};
}

std::error_code handshake_error() {
  return std::make_error_code(std::errc::protocol_error);
}

}  // namespace

class Connector final : public Handler {
 public:
  Connector(ClientOptions opts, Behavior b, const Target& t)
      : opts_(std::move(opts)), endpoint_(std::move(b)) {
    key_ = random_key();
    expected_accept_ = accept_key(key_);
    request_ = "GET " + t.resource + " HTTP/1.1\r\nHost: " + t.host +
               "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: " + key_ +
               "\r\nSec-WebSocket-Version: 13\r\n";
    if (!opts_.protocols.empty()) {
      request_ += "Sec-WebSocket-Protocol: ";
      for (std::size_t i = 0; i < opts_.protocols.size(); ++i) {
        if (i) request_ += ", ";
        request_ += opts_.protocols[i];
      }
      request_ += "\r\n";
    }
    if (deflate_options().enabled) {
      request_ += "Sec-WebSocket-Extensions: " + client_deflate_offer(deflate_options()) + "\r\n";
    }
    if (!opts_.origin.empty()) request_ += "Origin: " + opts_.origin + "\r\n";
    for (const auto& [name, value] : opts_.headers) {
      request_.append(name).append(": ").append(value).append("\r\n");
    }
    request_ += "\r\n";
  }

  std::string_view protocol() const noexcept { return protocol_; }

  Action on_open(Conn& c) override {
    c.write(request_);
    if (opts_.timeout.count() > 0) {
      timer_ = c.loop().run_after(Millis{opts_.timeout.count()}, [this, &c] {
        timer_ = 0;
        fail(c, std::make_error_code(std::errc::timed_out),
             "no WebSocket handshake answer in time");
      });
    }
    return Action::none;
  }

  std::size_t on_data(Conn& c, Bytes in) override {
    if (session_) return endpoint_.on_data(c, in);
    if (reported_) return in.size();
    const std::size_t end = in.find("\r\n\r\n");
    if (end == Bytes::npos) {
      if (in.size() > kMaxResponseHead) fail(c, handshake_error(), "handshake answer too long");
      return reported_ ? in.size() : 0;
    }
    const std::size_t head_len = end + 4;
    if (const char* why = check_response(in.substr(0, end + 2))) {
      fail(c, handshake_error(), why);
      return in.size();
    }
    cancel_timer(c);
    session_ = new Session(c, endpoint_, Role::client, take_deflate(), nullptr);
    c.set_context(session_);
    if (endpoint_.on_open(c) == Action::close) c.close();
    const Bytes rest = in.substr(head_len);
    if (rest.empty() || c.closing()) return in.size();
    return head_len + endpoint_.on_data(c, rest);
  }

  void on_drained(Conn& c) override {
    if (session_) endpoint_.on_drained(c);
  }

  void on_close(Conn& c, std::error_code why) override {
    cancel_timer(c);
    if (session_) {
      endpoint_.on_close(c, why);  // reports on_close and deletes the session
    } else {
      report(why ? why : std::make_error_code(std::errc::connection_reset),
             "connection closed during the WebSocket handshake");
    }
    delete this;
  }

  void on_dial_error(Server&, const std::string&, void*, std::error_code why) override {
    report(why, "could not connect");
    delete this;
  }

 private:
  ~Connector() override = default;

  void cancel_timer(Conn& c) noexcept {
    if (timer_) c.loop().cancel(timer_);
    timer_ = 0;
  }

  void report(std::error_code ec, std::string_view why) {
    if (reported_) return;
    reported_ = true;
    if (opts_.on_error) opts_.on_error(ec, why);
  }

  void fail(Conn& c, std::error_code ec, std::string_view why) {
    report(ec, why);
    c.abort();
  }

  // The status line and headers, each line ending in CRLF. Returns why the
  // answer is not an acceptable 101, or null.
  const char* check_response(std::string_view head) {
    std::size_t eol = head.find("\r\n");
    const std::string_view status = head.substr(0, eol);
    if (!status.starts_with("HTTP/1.1 101")) return "the server did not answer 101";
    bool upgrade = false;
    bool connection = false;
    bool accepted = false;
    for (std::size_t pos = eol + 2; pos < head.size(); pos = eol + 2) {
      eol = head.find("\r\n", pos);
      const std::string_view line = head.substr(pos, eol - pos);
      const std::size_t colon = line.find(':');
      if (colon == std::string_view::npos) return "malformed header in the handshake answer";
      const std::string_view name = line.substr(0, colon);
      const std::string_view value = trim(line.substr(colon + 1));
      if (http::iequals(name, "Upgrade")) {
        upgrade = upgrade || http::has_token(value, "websocket");
      } else if (http::iequals(name, "Connection")) {
        connection = connection || http::has_token(value, "upgrade");
      } else if (http::iequals(name, "Sec-WebSocket-Accept")) {
        if (accepted || value != expected_accept_) return "wrong Sec-WebSocket-Accept";
        accepted = true;
      } else if (http::iequals(name, "Sec-WebSocket-Extensions")) {
        if (value.empty()) continue;
        if (!deflate_options().enabled || agreed_) {
          return "the server chose an extension we did not offer";
        }
        if (const char* why = accept_deflate_answer(value, deflate_options(), params_)) return why;
        agreed_ = true;
      } else if (http::iequals(name, "Sec-WebSocket-Protocol")) {
        if (!protocol_.empty() || !offered(value)) {
          return "the server chose a subprotocol we did not offer";
        }
        protocol_ = value;
      }
    }
    if (!upgrade) return "Upgrade: websocket missing in the answer";
    if (!connection) return "Connection: Upgrade missing in the answer";
    if (!accepted) return "Sec-WebSocket-Accept missing";
    return nullptr;
  }

  const DeflateOptions& deflate_options() const noexcept {
    return endpoint_.behavior().options.deflate;
  }

  // The connection's permessage-deflate state, when agreed. The server's
  // context takeover makes us keep an inflater for the connection's life:
  // it is counted in deflate_memory() (it cannot be refused any more).
  Deflate* take_deflate() {
    if (!agreed_) return nullptr;
    auto d = std::make_unique<Deflate>();
    d->params = params_;
    d->options = &deflate_options();
    d->server_side = false;
    if (!params_.server_no_takeover) {
      const std::size_t need = inflater_memory(std::max<int>(params_.server_window_bits, 9));
      if (reserve_deflate_memory(need, static_cast<std::size_t>(-1))) d->reserved = need;
    }
    return d.release();
  }

  bool offered(std::string_view p) const noexcept {
    for (const auto& o : opts_.protocols) {
      if (o == p) return true;
    }
    return false;
  }

  ClientOptions opts_;
  Endpoint endpoint_;
  std::string key_, expected_accept_, request_, protocol_;
  Session* session_ = nullptr;
  TimerId timer_ = 0;
  DeflateParams params_;
  bool agreed_ = false;  // permessage-deflate agreed (params_ hold the terms)
  bool reported_ = false;
};

}  // namespace detail

std::error_code connect(Server& server, std::string_view url, ClientOptions options,
                        Behavior behavior) {
  detail::Target target;
  if (!http::parse_url_target(url, "ws", "wss", target))
    return std::make_error_code(std::errc::invalid_argument);
  DialOptions dial;
  dial.timeout = options.timeout;
  dial.tls = options.tls;
  dial.server_name = options.server_name.empty() ? target.sni : options.server_name;
  dial.loop = options.loop;
  auto* connector = new detail::Connector(std::move(options), std::move(behavior), target);
  dial.handler = connector;
  std::error_code ec;
  try {
    ec = server.dial(target.dial_url, dial);
  } catch (...) {
    ec = std::make_error_code(std::errc::invalid_argument);
  }
  if (ec) {
    // Never queued: no callback will delete it.
    connector->on_dial_error(server, target.dial_url, nullptr, ec);
  }
  return ec;
}

std::string_view client_protocol(const WebSocket& ws) noexcept {
  auto* connector = dynamic_cast<detail::Connector*>(&ws.conn().handler());
  return connector ? connector->protocol() : std::string_view{};
}

}  // namespace weft::ws
