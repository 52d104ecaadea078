// weft/http/request.hpp — one HTTP/1.1 request as a route handler sees it.
// Every view points into the connection's input and is valid only until the
// handler returns: copy what an asynchronous answer needs.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string_view>
#include <utility>
#include <vector>

#include "weft/http/header.hpp"

namespace weft {
class Conn;
}

namespace weft::http {

struct RequestHead;

class Request {
 public:
  std::string_view method() const noexcept;
  /// The request-target as sent ("/a/b?x=1").
  std::string_view target() const noexcept;
  /// The target up to '?'.
  std::string_view path() const noexcept;
  /// The part after '?', "" when none.
  std::string_view query() const noexcept;
  /// HTTP/1.<minor>.
  int version_minor() const noexcept;
  /// The first header with this name (case-insensitive), "" when absent.
  std::string_view header(std::string_view name) const noexcept;
  /// Every header, in the order sent.
  std::span<const Header> headers() const noexcept;
  /// The whole body (Content-Length or chunked, decoded). Empty for routes
  /// that stream their bodies (use on_body).
  std::string_view body() const noexcept { return body_; }
  /// A path parameter of the matched route ("/users/:id" -> param("id")).
  std::string_view param(std::string_view name) const noexcept;
  /// Whether the connection stays open after this exchange.
  bool keep_alive() const noexcept;
  Conn& conn() const noexcept { return *conn_; }

  /// Streaming routes only (App::stream): `fn` receives the body as it
  /// arrives, then once more with last == true. Call it inside the handler.
  using BodyFn = std::function<void(std::string_view data, bool last)>;
  void on_body(BodyFn fn);

 private:
  friend class App;
  const RequestHead* head_ = nullptr;
  std::string_view body_;
  std::vector<std::pair<std::string_view, std::string_view>>* params_ = nullptr;
  Conn* conn_ = nullptr;
  BodyFn* body_fn_ = nullptr;
};

}  // namespace weft::http
