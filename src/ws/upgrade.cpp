// The server side of the opening handshake, run as the GET route an
// App::ws() call adds: validate, let the handler decide (origin,
// subprotocol, rejection), negotiate permessage-deflate, answer 101 and
// have the App hand the connection to the Endpoint.
#include <algorithm>

#include "http/conn_state.hpp"
#include "weft/conn.hpp"
#include "weft/http/app.hpp"
#include "weft/http/request.hpp"
#include "weft/http/response.hpp"
#include "ws/deflate.hpp"
#include "ws/endpoint.hpp"
#include "ws/handshake.hpp"
#include "ws/session.hpp"

namespace weft::ws {

std::string_view UpgradeRequest::path() const noexcept {
  return req_->path();
}
std::string_view UpgradeRequest::query() const noexcept {
  return req_->query();
}
std::string_view UpgradeRequest::header(std::string_view name) const noexcept {
  return req_->header(name);
}

bool UpgradeRequest::select_protocol(std::string_view name) {
  for (std::string_view p : protocols_) {
    if (p == name) {
      selected_ = p;
      return true;
    }
  }
  return false;
}

void UpgradeRequest::reject(int status, std::string_view body) {
  reject_status_ = status < 400 || status > 599 ? 403 : status;
  reject_body_.assign(body);
}

namespace detail {

namespace {
void refuse(http::Response& res, int status, std::string_view why) {
  std::string body(why);
  body.push_back('\n');
  res.send(status, body);
}
}  // namespace

void Endpoint::upgrade(http::Request& req, http::Response& res) {
  const HandshakeVerdict verdict = check_handshake(req);
  if (verdict.status) {
    res.header("Sec-WebSocket-Version", "13");
    return refuse(res, verdict.status, verdict.reason);
  }
  auto* st = static_cast<http::ConnState*>(req.conn().context());
  if (!st || st->pending.size() != 1) {
    return refuse(res, 400, "WebSocket upgrade behind unanswered requests");
  }
  if (b_.check_origin && !b_.check_origin(req.header("Origin"))) {
    return refuse(res, 403, "origin not allowed");
  }

  const std::string offered = joined_header(req, "Sec-WebSocket-Protocol");
  UpgradeRequest up(req);
  up.protocols_ = split_list(offered);
  if (b_.on_upgrade) b_.on_upgrade(up);
  if (up.reject_status_) {
    res.send(up.reject_status_, up.reject_body_);
    return;
  }

  // permessage-deflate. A client that keeps its context across messages
  // makes us keep an inflater for the connection's life: reserve that now,
  // and without budget ask it for client_no_context_takeover instead.
  std::unique_ptr<Deflate> deflate;
  std::string extensions;
  const DeflateOptions& dopts = b_.options.deflate;
  if (dopts.enabled) {
    const std::string offers = joined_header(req, "Sec-WebSocket-Extensions");
    DeflateOffer agreed = negotiate_deflate(offers, dopts, false);
    std::size_t reserved = 0;
    if (agreed.accepted && !agreed.params.client_no_takeover) {
      const std::size_t need = inflater_memory(std::max<int>(agreed.params.client_window_bits, 9));
      if (reserve_deflate_memory(need, dopts.memory_limit)) {
        reserved = need;
      } else {
        agreed = negotiate_deflate(offers, dopts, true);
      }
    }
    if (agreed.accepted) {
      deflate = std::make_unique<Deflate>();
      deflate->params = agreed.params;
      deflate->options = &dopts;
      deflate->reserved = reserved;
      deflate->server_side = true;
      extensions = std::move(agreed.response);
    }
  }

  res.status(101)
      .header("Upgrade", "websocket")
      .header("Connection", "Upgrade")
      .header("Sec-WebSocket-Accept", accept_key(req.header("Sec-WebSocket-Key")));
  if (!up.selected_.empty()) res.header("Sec-WebSocket-Protocol", up.selected_);
  if (!extensions.empty()) res.header("Sec-WebSocket-Extensions", extensions);
  res.send("", "");

  auto* session = new Session(req.conn(), *this, Role::server, deflate.release(), up.user_);
  st->upgrade_handler = this;
  st->upgrade_context = session;
}

}  // namespace detail
}  // namespace weft::ws

namespace weft::http {

App& App::ws(std::string_view pattern, ws::Behavior behavior) {
  // OpenSSL fetches and pages in its SHA-1 machinery (about 2 MiB of
  // libcrypto) at the first digest: pay that here, not in the first
  // handshake. RFC 6455's own example key.
  (void)ws::detail::accept_key("dGhlIHNhbXBsZSBub25jZQ==");
  auto endpoint = std::make_shared<ws::detail::Endpoint>(std::move(behavior));
  return get(pattern, [endpoint](Request& req, Response& res) { endpoint->upgrade(req, res); });
}

}  // namespace weft::http
