// weft/redial.hpp — an outbound connection kept up (connaxis' dialKeepAlive):
// dials through Server::dial, and after a failed attempt or a close dials
// again, waiting longer after each failure in a row (exponential backoff
// with jitter, capped). Events go to your handler as for any dialed
// connection; a Redialer only sits between them.
//
//   Upstream up;                                     // a weft::Handler
//   weft::Redialer redis("tcp://127.0.0.1:6379", up);
//   weft::Server server(app, cfg);                   // in app.on_ready(server):
//   redis.start(server);                             //   or here, once started
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <system_error>

#include "weft/dial.hpp"
#include "weft/handler.hpp"
#include "weft/loop.hpp"

namespace weft {

struct RedialPolicy {
  /// The wait after the first failure; it grows by `multiplier` per failure
  /// in a row, up to `max_delay`.
  std::chrono::milliseconds initial_delay{100};
  std::chrono::milliseconds max_delay{30000};
  double multiplier = 2.0;
  /// Each wait is scaled by a random factor in [1 - jitter, 1 + jitter], so
  /// that many clients cut off together do not come back together.
  double jitter = 0.2;
  /// A connection that stayed open this long ends the run of failures: when
  /// it closes, the next dial waits initial_delay. One that closes sooner
  /// (a peer that accepts and hangs up) counts as a failure.
  std::chrono::milliseconds stable_after{5000};
  /// Stop after this many failures in a row (0: never).
  int max_failures = 0;

  /// "" when usable, else what is wrong ("multiplier must be at least 1").
  std::string validate() const;
  /// The wait before the next dial after `failures` failures in a row (>= 1),
  /// for a random `unit` in [0, 1).
  std::chrono::milliseconds delay(int failures, double unit) const noexcept;
};

class Redialer final : public Handler {
 public:
  /// `url` as for Server::dial; `opts.handler` is ignored (events go to
  /// `inner`), `opts.loop` picks the loop (-1: one chosen at start()).
  /// Throws ConfigError when `url` cannot be dialed or `policy` is invalid.
  /// Destroy it only after the server has stopped: it is the handler of the
  /// connections it makes.
  Redialer(std::string url, Handler& inner, DialOptions opts = {}, RedialPolicy policy = {});
  ~Redialer() override;
  Redialer(const Redialer&) = delete;
  Redialer& operator=(const Redialer&) = delete;

  /// Dials the first time. Any thread, once the server runs (on_ready or
  /// later); a second call does nothing.
  void start(Server& server);
  /// No more dials: cancels a pending one and closes the connection after
  /// its queued output (your handler still gets on_close). Any thread.
  void stop();

  // State, for the loop thread (e.g. inside your handler's callbacks).
  /// The open connection, or null between connections.
  Conn* conn() const noexcept { return conn_; }
  /// Failed attempts since the last stable connection.
  int failures() const noexcept { return failures_; }
  /// The wait before the dial now scheduled (0 when none is).
  std::chrono::milliseconds next_delay() const noexcept { return next_delay_; }
  /// Connections opened so far.
  std::uint64_t connections() const noexcept { return connections_; }
  /// False once stop() ran, the server began stopping, or max_failures was
  /// reached.
  bool active() const noexcept { return !stopped_; }
  const std::string& url() const noexcept { return url_; }

  // weft::Handler: forwarded to `inner`, noting opens and closes.
  Action on_open(Conn& c) override;
  std::size_t on_data(Conn& c, Bytes in) override;
  void on_drained(Conn& c) override;
  void on_close(Conn& c, std::error_code why) override;
  void on_dial_error(Server& server, const std::string& target, void* context,
                     std::error_code why) override;
  void on_stop(Conn& c) override;

 private:
  void dial_now();
  void failed(std::error_code why);
  void schedule();
  void halt();
  void end_waiting();

  std::string url_;
  Handler* inner_;
  DialOptions opts_;
  RedialPolicy policy_;
  Server* server_ = nullptr;
  EventLoop* loop_ = nullptr;
  Conn* conn_ = nullptr;
  TimerId timer_ = 0;
  Clock::time_point opened_at_{};
  std::chrono::milliseconds next_delay_{0};
  std::uint64_t connections_ = 0;
  std::uint64_t rng_;  // jitter (xorshift; no need for a better one)
  int failures_ = 0;
  bool stopped_ = false;
};

}  // namespace weft
