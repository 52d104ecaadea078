// Redialer: one outbound connection kept up on one loop. Everything after
// start() runs on that loop's thread (dials, timers, the forwarded events),
// so its state needs no lock.
#include "weft/redial.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <exception>
#include <utility>

#include "net/worker.hpp"
#include "weft/address.hpp"
#include "weft/conn.hpp"
#include "weft/error.hpp"
#include "weft/log.hpp"
#include "weft/server.hpp"

namespace weft {

std::string RedialPolicy::validate() const {
  if (initial_delay.count() < 0) return "initial_delay must not be negative";
  if (max_delay < initial_delay) return "max_delay must not be less than initial_delay";
  if (!(multiplier >= 1.0)) return "multiplier must be at least 1";
  if (!(jitter >= 0.0 && jitter < 1.0)) return "jitter must be in [0, 1)";
  if (stable_after.count() < 0) return "stable_after must not be negative";
  if (max_failures < 0) return "max_failures must not be negative";
  return {};
}

std::chrono::milliseconds RedialPolicy::delay(int failures, double unit) const noexcept {
  const auto cap = static_cast<double>(max_delay.count());
  double wait = static_cast<double>(initial_delay.count());
  for (int i = 1; i < failures && wait < cap; ++i)
    wait *= multiplier;
  wait = std::min(wait, cap) * (1.0 + jitter * (2.0 * unit - 1.0));
  return std::chrono::milliseconds(static_cast<std::int64_t>(std::llround(std::min(wait, cap))));
}

Redialer::Redialer(std::string url, Handler& inner, DialOptions opts, RedialPolicy policy)
    : url_(std::move(url)),
      inner_(&inner),
      opts_(std::move(opts)),
      policy_(policy),
      rng_(static_cast<std::uint64_t>(Clock::now().time_since_epoch().count()) ^
           reinterpret_cast<std::uintptr_t>(this)) {
  if (std::string why = policy_.validate(); !why.empty()) throw ConfigError("redial: " + why);
  // What Server::dial would refuse, refused now rather than at start().
  SockAddr addr;
  (void)detail::parse_dial_target(url_, addr);
  opts_.handler = this;
  if (rng_ == 0) rng_ = 0x9e3779b97f4a7c15ULL;
}

// Timers and connections belong to the server's loops; by the time the
// server has stopped (as required) none of them is left to cancel.
Redialer::~Redialer() = default;

void Redialer::start(Server& server) {
  if (server_) return;
  static std::atomic<std::size_t> next_loop{0};
  const std::size_t n = server.loop_count();
  const std::size_t i = opts_.loop >= 0 ? static_cast<std::size_t>(opts_.loop) % n
                                        : next_loop.fetch_add(1, std::memory_order_relaxed) % n;
  opts_.loop = static_cast<int>(i);
  loop_ = &server.loop(i);
  server_ = &server;
  // (The constructor checked the URL; Server::dial posts this one to the loop.)
  if (std::error_code ec = server.dial(url_, opts_)) {
    (void)loop_->post([this, ec] { failed(ec); });
  }
}

void Redialer::stop() {
  if (!loop_) {
    stopped_ = true;
    return;
  }
  loop_->dispatch([this] { halt(); });
}

void Redialer::halt() {
  end_waiting();
  if (conn_) conn_->close();
}

// No more dials: the pending wait, if any, is cancelled.
void Redialer::end_waiting() {
  stopped_ = true;
  next_delay_ = std::chrono::milliseconds{0};
  if (timer_) loop_->cancel(timer_);
  timer_ = 0;
}

void Redialer::dial_now() {
  if (stopped_) return;
  try {
    if (std::error_code ec = server_->dial(url_, opts_)) failed(ec);
  } catch (const std::exception& e) {  // it was accepted once; nothing should throw now
    logf(LogLevel::error, "redial %s: %s; giving up", url_.c_str(), e.what());
    stopped_ = true;
  }
}

void Redialer::failed(std::error_code why) {
  if (stopped_) return;
  ++failures_;
  if (policy_.max_failures > 0 && failures_ >= policy_.max_failures) {
    logf(LogLevel::warn, "redial %s: %d failures in a row (last: %s); giving up", url_.c_str(),
         failures_, why.message().c_str());
    stopped_ = true;
    return;
  }
  schedule();
}

// The next dial, after the wait the run of failures so far calls for (the
// first wait when there is none).
void Redialer::schedule() {
  // Jitter: xorshift64, the top 53 bits as a fraction in [0, 1).
  rng_ ^= rng_ << 13;
  rng_ ^= rng_ >> 7;
  rng_ ^= rng_ << 17;
  const double unit = static_cast<double>(rng_ >> 11) / 9007199254740992.0;
  const std::chrono::milliseconds wait = policy_.delay(std::max(failures_, 1), unit);
  next_delay_ = wait;
  timer_ = loop_->run_after(wait, [this] {
    timer_ = 0;
    next_delay_ = std::chrono::milliseconds{0};
    dial_now();
  });
}

Action Redialer::on_open(Conn& c) {
  conn_ = &c;
  opened_at_ = loop_->now();
  ++connections_;
  const Action a = inner_->on_open(c);
  if (stopped_) c.close();  // stop() came while this one was being dialed
  return a;
}

std::size_t Redialer::on_data(Conn& c, Bytes in) {
  return inner_->on_data(c, in);
}

void Redialer::on_drained(Conn& c) {
  inner_->on_drained(c);
}

// The next dial is settled before the event is passed on, so your handler
// can read failures(), next_delay() and active() there (or call stop()).
void Redialer::on_close(Conn& c, std::error_code why) {
  conn_ = nullptr;
  if (why == errc::server_stopping) {
    stopped_ = true;
  } else if (!stopped_ && loop_->now() - opened_at_ >= policy_.stable_after) {
    failures_ = 0;  // it held: come back after the first wait
    schedule();
  } else {
    failed(why ? why : make_error_code(errc::aborted));
  }
  inner_->on_close(c, why);
}

void Redialer::on_dial_error(Server& server, const std::string& target, void* context,
                             std::error_code why) {
  if (why == errc::server_stopping) {
    stopped_ = true;
  } else {
    failed(why);
  }
  inner_->on_dial_error(server, target, context, why);
}

void Redialer::on_stop(Conn& c) {
  end_waiting();  // the server is stopping
  inner_->on_stop(c);
}

}  // namespace weft
