// weft/http/app.hpp — an HTTP/1.1 server as a weft::Handler: routes by
// method and path (with :params and a trailing *), keep-alive, pipelining,
// Content-Length and chunked bodies, 100-continue, limits and timeouts.
//
//   weft::http::App app;
//   app.get("/", [](auto& req, auto& res) { res.send("Hello, World!"); });
//   return weft::serve(app, cfg);
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "weft/config.hpp"
#include "weft/handler.hpp"
#include "weft/http/request.hpp"
#include "weft/http/response.hpp"

namespace weft::ws {
struct Behavior;
}

namespace weft::http {

/// The server's limits: the same struct as the config file's HTTP fields
/// (weft::HttpConfig, "httpMaxBody" and friends), so `App app(cfg.http)`
/// serves with what the file says.
using Options = HttpConfig;

class App : public Handler {
 public:
  using Route = std::function<void(Request&, Response&)>;

  explicit App(Options opts = {});
  ~App() override;
  App(const App&) = delete;
  App& operator=(const App&) = delete;

  /// Adds a route. `pattern` is a path: literal segments, ":name" segments
  /// (one segment, Request::param), and a final "*" (the rest). The first
  /// matching route wins; a path that matches another method's route only
  /// gets 405 with Allow, any other 404.
  App& route(std::string_view method, std::string_view pattern, Route fn);
  App& get(std::string_view pattern, Route fn) { return route("GET", pattern, std::move(fn)); }
  App& post(std::string_view pattern, Route fn) { return route("POST", pattern, std::move(fn)); }
  App& put(std::string_view pattern, Route fn) { return route("PUT", pattern, std::move(fn)); }
  App& del(std::string_view pattern, Route fn) { return route("DELETE", pattern, std::move(fn)); }
  /// A route whose handler runs as soon as the head arrives and reads the
  /// body with Request::on_body (large uploads, no buffering).
  App& stream(std::string_view method, std::string_view pattern, Route fn);
  /// A WebSocket route (include weft/ws.hpp): a valid upgrade request gets
  /// 101 and the connection speaks WebSocket from then on; a bad one 400
  /// (426 for a version other than 13). Defined in the ws layer.
  App& ws(std::string_view pattern, ws::Behavior behavior);

  const Options& options() const noexcept { return opts_; }

  // weft::Handler
  Action on_open(Conn& c) override;
  std::size_t on_data(Conn& c, Bytes in) override;
  void on_close(Conn& c, std::error_code why) override;

 private:
  friend class Response;
  struct RouteEntry {
    std::string method;
    std::vector<std::string> segments;  // "users", ":id", "*"
    Route fn;
    bool streaming = false;
  };
  const RouteEntry* match(std::string_view method, std::string_view path,
                          std::vector<std::pair<std::string_view, std::string_view>>& params,
                          std::string* allow) const;
  std::size_t serve_one(Conn& c, ConnState& st, std::string_view in, bool& stop);
  void reject(Conn& c, ConnState& st, int status, const char* reason);
  void arm_header_timer(Conn& c, ConnState& st);
  void head_done(Conn& c, ConnState& st);

  Options opts_;
  std::vector<RouteEntry> routes_;
};

}  // namespace weft::http
