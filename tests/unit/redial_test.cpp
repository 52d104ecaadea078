// Redialer: the backoff arithmetic, and over loopback: redials after a peer
// that hangs up, backoff and giving up on refused dials, a stable connection
// ending the run of failures, stop(), an upstream that appears later, and a
// server stop. What the redialer decided is read inside the forwarded
// callbacks (its loop thread) and handed to the test thread under a lock.
#include <gtest/gtest.h>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "test_support.hpp"
#include "weft/conn.hpp"
#include "weft/error.hpp"
#include "weft/loop.hpp"
#include "weft/redial.hpp"

namespace weft {
namespace {

using test::TestServer;
using test::wait_until;
using namespace std::chrono_literals;

// A port nothing listens on (bound, then released).
std::uint16_t free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    ::close(fd);
    return 0;
  }
  ::close(fd);
  return ntohs(a.sin_port);
}

std::string url_of(std::uint16_t port) {
  return "tcp://127.0.0.1:" + std::to_string(port);
}

RedialPolicy quick(int initial_ms, int max_ms) {
  RedialPolicy p;
  p.initial_delay = std::chrono::milliseconds(initial_ms);
  p.max_delay = std::chrono::milliseconds(max_ms);
  p.jitter = 0;
  return p;
}

// The accepting side: hangs up at once, on "x", or never.
class Upstream final : public Handler {
 public:
  enum class Mode { hang_up, on_x, keep };
  explicit Upstream(Mode m) : mode_(m) {}
  Action on_open(Conn&) override {
    ++accepted;
    return mode_ == Mode::hang_up ? Action::close : Action::none;
  }
  std::size_t on_data(Conn& c, Bytes in) override {
    if (mode_ == Mode::on_x && in.find('x') != Bytes::npos) c.close();
    return in.size();
  }
  std::atomic<int> accepted{0};

 private:
  Mode mode_;
};

// The redialer's handler: records each event with what the redialer
// decided next (failures, next wait, still active).
class Recorder final : public Handler {
 public:
  struct Event {
    std::string what;  // open | close | error
    int failures;
    std::chrono::milliseconds next;
    bool active;
    std::error_code why;
  };
  Redialer* r = nullptr;
  std::function<void(Conn&)> opened;  // loop thread

  Action on_open(Conn& c) override {
    note("open", {});
    if (opened) opened(c);
    return Action::none;
  }
  std::size_t on_data(Conn&, Bytes in) override { return in.size(); }
  void on_close(Conn&, std::error_code why) override { note("close", why); }
  void on_dial_error(Server&, const std::string&, void*, std::error_code why) override {
    note("error", why);
  }
  std::vector<Event> events() {
    std::lock_guard lock(mu_);
    return events_;
  }
  int count(const std::string& what) {
    std::lock_guard lock(mu_);
    int n = 0;
    for (const Event& e : events_)
      n += e.what == what;
    return n;
  }

 private:
  void note(const char* what, std::error_code why) {
    std::lock_guard lock(mu_);
    events_.push_back({what, r->failures(), r->next_delay(), r->active(), why});
  }
  std::mutex mu_;
  std::vector<Event> events_;
};

// A server for the redialer's loops: it serves nothing itself.
class Idle final : public Handler {
 public:
  std::size_t on_data(Conn&, Bytes in) override { return in.size(); }
};

// An upstream in `mode`, and a redialer with `policy` that start() runs on
// a server of its own. Members go in reverse: the redialer's server stops
// first, while the redialer and its recorder still exist.
struct Rig {
  Rig(Upstream::Mode mode, const RedialPolicy& policy)
      : up(mode), upstream(up), r(url_of(upstream.port()), rec, {}, policy) {
    rec.r = &r;
  }
  void start() {
    client = std::make_unique<TestServer>(idle);
    r.start(client->server());
  }

  Upstream up;
  TestServer upstream;
  Recorder rec;
  Redialer r;
  Idle idle;
  std::unique_ptr<TestServer> client;
};

TEST(RedialPolicy, DelayGrowsIsCappedAndJitters) {
  RedialPolicy p = quick(100, 1000);
  EXPECT_EQ(p.delay(1, 0.5), 100ms);
  EXPECT_EQ(p.delay(2, 0.5), 200ms);
  EXPECT_EQ(p.delay(4, 0.5), 800ms);
  EXPECT_EQ(p.delay(5, 0.5), 1000ms);
  EXPECT_EQ(p.delay(1000000, 0.5), 1000ms);
  p.jitter = 0.2;
  EXPECT_EQ(p.delay(2, 0.0), 160ms);
  EXPECT_EQ(p.delay(2, 0.5), 200ms);
  EXPECT_EQ(p.delay(2, 0.999999), 240ms);
  EXPECT_EQ(p.delay(30, 0.0), 800ms);    // the cap, then the jitter...
  EXPECT_EQ(p.delay(30, 0.99), 1000ms);  // ...never above the cap
  p.multiplier = 1.0;
  EXPECT_EQ(p.delay(50, 0.5), 100ms);
}

TEST(RedialPolicy, InvalidIsRejected) {
  EXPECT_EQ(RedialPolicy{}.validate(), "");
  RedialPolicy p;
  p.multiplier = 0.5;
  EXPECT_NE(p.validate(), "");
  p = {};
  p.jitter = 1.0;
  EXPECT_NE(p.validate(), "");
  p = {};
  p.max_delay = 10ms;  // below initial_delay
  EXPECT_NE(p.validate(), "");
  p = {};
  p.max_failures = -1;
  EXPECT_NE(p.validate(), "");
  Recorder rec;
  EXPECT_THROW(Redialer("tcp://127.0.0.1:1", rec, {}, p), ConfigError);
  for (const char* bad : {"udp://127.0.0.1:9", "tcp://example.com", "tcp://127.0.0.1",
                          "tcp://a_b:80", "nope", "tcp://127.0.0.1:9?tls=both"})
    EXPECT_THROW(Redialer(bad, rec), ConfigError) << bad;
  EXPECT_NO_THROW(Redialer("unix:///tmp/weft-redial-test.sock", rec));
  EXPECT_NO_THROW(Redialer("tcp://db.internal:5432", rec));  // resolved when dialed
}

TEST(Redial, DialsAgainWhenThePeerHangsUpBackingOff) {
  Rig rig(Upstream::Mode::hang_up, quick(5, 20));
  rig.start();
  ASSERT_TRUE(wait_until([&] { return rig.rec.count("close") >= 4; }, 10s));
  rig.r.stop();
  rig.client->stop_and_wait();
  const auto ev = rig.rec.events();
  // open, close, open, close, ...: each short-lived connection is one more
  // failure, and the wait doubles up to the cap.
  std::vector<std::chrono::milliseconds> waits;
  for (const auto& e : ev) {
    if (e.what == "close" && e.active) waits.push_back(e.next);
  }
  ASSERT_GE(waits.size(), 3u);
  EXPECT_EQ(waits[0], 5ms);
  EXPECT_EQ(waits[1], 10ms);
  EXPECT_EQ(waits[2], 20ms);
  if (waits.size() > 3) {
    EXPECT_EQ(waits[3], 20ms);
  }
  EXPECT_GE(rig.up.accepted.load(), 4);
  EXPECT_EQ(rig.rec.count("error"), 0);
}

TEST(Redial, RefusedDialsBackOffAndStopAtMaxFailures) {
  const std::uint16_t dead = free_port();
  ASSERT_NE(dead, 0);
  Recorder rec;
  RedialPolicy p = quick(5, 20);
  p.max_failures = 4;
  Redialer r(url_of(dead), rec, {}, p);
  rec.r = &r;
  Idle idle;
  TestServer client(idle);
  r.start(client.server());
  ASSERT_TRUE(wait_until([&] { return rec.count("error") >= 4; }, 10s));
  std::this_thread::sleep_for(200ms);  // many times the longest wait: nothing more comes
  client.stop_and_wait();
  const auto ev = rec.events();
  ASSERT_EQ(ev.size(), 4u);
  const std::chrono::milliseconds want[] = {5ms, 10ms, 20ms};
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(ev[i].what, "error");
    EXPECT_EQ(ev[i].why, std::errc::connection_refused);
    EXPECT_EQ(ev[i].failures, static_cast<int>(i + 1));
    EXPECT_EQ(ev[i].next, want[i]);
    EXPECT_TRUE(ev[i].active);
  }
  EXPECT_EQ(ev[3].failures, 4);
  EXPECT_FALSE(ev[3].active);  // given up
  EXPECT_EQ(ev[3].next, 0ms);
}

TEST(Redial, AStableConnectionEndsTheRunOfFailures) {
  RedialPolicy p = quick(5, 1000);
  p.stable_after = 300ms;
  Rig rig(Upstream::Mode::on_x, p);
  Redialer& r = rig.r;
  // The first connection stays 400 ms (stable); later ones ask to be closed
  // at once (failures).
  rig.rec.opened = [&r](Conn& c) {
    if (r.connections() == 1) {
      c.loop().run_after(400ms, [&r] {
        if (Conn* now = r.conn()) now->write("x");
      });
    } else {
      c.write("x");
    }
  };
  rig.start();
  ASSERT_TRUE(wait_until([&] { return rig.rec.count("close") >= 3; }, 10s));
  r.stop();
  rig.client->stop_and_wait();
  std::vector<Recorder::Event> closes;
  for (const auto& e : rig.rec.events()) {
    if (e.what == "close") closes.push_back(e);
  }
  ASSERT_GE(closes.size(), 3u);
  EXPECT_EQ(closes[0].failures, 0);  // stable: the run starts over
  EXPECT_EQ(closes[0].next, 5ms);
  EXPECT_EQ(closes[1].failures, 1);
  EXPECT_EQ(closes[1].next, 5ms);
  EXPECT_EQ(closes[2].failures, 2);
  EXPECT_EQ(closes[2].next, 10ms);
}

TEST(Redial, StopClosesTheConnectionAndNothingFollows) {
  Rig rig(Upstream::Mode::keep, quick(5, 20));
  rig.start();
  ASSERT_TRUE(wait_until([&] { return rig.rec.count("open") == 1; }));
  rig.r.stop();
  ASSERT_TRUE(wait_until([&] { return rig.rec.count("close") == 1; }));
  std::this_thread::sleep_for(100ms);
  rig.client->stop_and_wait();
  const auto ev = rig.rec.events();
  ASSERT_EQ(ev.size(), 2u);
  EXPECT_FALSE(ev[1].active);
  EXPECT_FALSE(ev[1].why) << ev[1].why.message();  // an orderly close
  EXPECT_TRUE(wait_until([&] { return rig.up.accepted.load() == 1; }));
}

TEST(Redial, ReachesAnUpstreamThatComesUpLater) {
  const std::uint16_t port = free_port();
  ASSERT_NE(port, 0);
  Recorder rec;
  Redialer r(url_of(port), rec, {}, quick(5, 40));
  rec.r = &r;
  Idle idle;
  TestServer client(idle);
  r.start(client.server());
  ASSERT_TRUE(wait_until([&] { return rec.count("error") >= 2; }));
  Upstream up(Upstream::Mode::keep);
  Config cfg = test::test_config();
  cfg.listen = {url_of(port)};
  TestServer upstream(up, cfg);
  ASSERT_TRUE(wait_until([&] { return rec.count("open") == 1; }, 10s));
  // (connect() completes in the kernel's backlog; the accept may come later)
  ASSERT_TRUE(wait_until([&] { return up.accepted.load() == 1; }));
  client.stop_and_wait();  // the server's stop ends the redialer too
  const auto ev = rec.events();
  EXPECT_EQ(ev.back().what, "close");
  EXPECT_FALSE(ev.back().active);
  EXPECT_FALSE(r.active());
}

}  // namespace
}  // namespace weft
