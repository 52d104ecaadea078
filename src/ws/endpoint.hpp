// The weft::Handler behind every WebSocket connection of one Behavior: it
// owns the Behavior, runs the server handshake for App::ws routes, forwards
// connection events to the Session, and pings idle connections (one timer
// per loop, not per connection).
#pragma once

#include <memory>
#include <mutex>
#include <vector>

#include "weft/handler.hpp"
#include "weft/loop.hpp"
#include "weft/ws/behavior.hpp"

namespace weft::http {
class Request;
class Response;
}  // namespace weft::http

namespace weft::ws::detail {

class Session;

/// Sessions on one loop, for the keepalive sweep.
struct LoopSessions {
  EventLoop* loop = nullptr;
  TimerId timer = 0;
  Session* head = nullptr;
  Session* cursor = nullptr;  // the sweep's next session (moved on if it goes)
};

class Endpoint final : public Handler {
 public:
  explicit Endpoint(Behavior b) : b_(std::move(b)) {}
  ~Endpoint() override;
  Endpoint(const Endpoint&) = delete;
  Endpoint& operator=(const Endpoint&) = delete;

  const Behavior& behavior() const noexcept { return b_; }

  /// An App::ws route: checks the handshake, answers 101 (or an error) and
  /// has the App hand the connection over to this handler.
  void upgrade(http::Request& req, http::Response& res);

  Action on_open(Conn& c) override;
  std::size_t on_data(Conn& c, Bytes in) override;
  void on_drained(Conn& c) override;
  void on_close(Conn& c, std::error_code why) override;
  /// Graceful server stop: the closing handshake with 1001 (going away).
  void on_stop(Conn& c) override;

  void track(Session& s);
  void untrack(Session& s) noexcept;

 private:
  void sweep(LoopSessions& ls);

  Behavior b_;
  std::mutex mu_;  // guards loops_ (touched once per connection, never per message)
  std::vector<std::unique_ptr<LoopSessions>> loops_;
};

}  // namespace weft::ws::detail
