// The blocking adapter over loopback: a server whose streams are echoed by
// plain threads calling read()/write(), a client thread that writes and
// reads a stream the same way (more than the read-ahead and write-ahead
// bounds, so both wait), the end of a session waking a blocked reader, a
// read timeout, and the calls refusing to run on the loop thread.
#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "test_support.hpp"
#include "weft/loop.hpp"
#include "weft/mux.hpp"
#include "weft/server.hpp"

namespace weft::mux {
namespace {

using namespace std::chrono_literals;

// Server: every accepted stream gets a thread that echoes it with blocking calls.
class ThreadEcho final : public SessionHandler {
 public:
  ~ThreadEcho() override { join(); }
  void on_accept(Stream& s) override {
    auto bs = BlockingStream::attach(s);
    std::lock_guard lock(mu_);
    threads_.emplace_back([bs] {
      char buf[16384];
      std::error_code ec;
      while (std::size_t n = bs->read(buf, sizeof buf, ec)) {
        if (!bs->write(Bytes(buf, n), ec)) break;
      }
      bs->close_write();
    });
  }
  std::size_t on_data(Stream&, Bytes in) override { return in.size(); }
  void join() {
    std::vector<std::thread> ts;
    {
      std::lock_guard lock(mu_);
      ts.swap(threads_);
    }
    for (auto& t : ts)
      t.join();
  }

 private:
  std::mutex mu_;
  std::vector<std::thread> threads_;
};

// Client: opens streams on the loop and hands them to the test thread.
class Opener final : public SessionHandler {
 public:
  void on_session(Session& s) override {
    session = &s;
    ready.set_value();
  }
  std::size_t on_data(Stream&, Bytes in) override { return in.size(); }
  void on_session_close(Session&, std::error_code) override { closed = true; }

  // Opens a stream on `loop` and attaches the adapter there.
  std::shared_ptr<BlockingStream> open(EventLoop& loop) {
    std::promise<std::shared_ptr<BlockingStream>> p;
    auto f = p.get_future();
    EXPECT_FALSE(loop.post([&] {
      Stream* st = session->open();
      p.set_value(st ? BlockingStream::attach(*st) : nullptr);
    }));
    return f.get();
  }

  Session* session = nullptr;
  std::promise<void> ready;
  std::atomic<bool> closed{false};
};

std::string pattern(std::size_t n, unsigned seed) {
  std::string s(n, '\0');
  for (std::size_t i = 0; i < n; ++i)
    s[i] = static_cast<char>((i * 131 + seed) & 0xff);
  return s;
}

struct Pair {
  explicit Pair(int version = 2) : server_ep(echo, config(version)), server(server_ep) {
    client_ep = std::make_unique<Endpoint>(opener, config(version));
    DialOptions opts;
    opts.handler = client_ep.get();
    EXPECT_FALSE(server.server().dial("tcp://127.0.0.1:" + std::to_string(server.port()), opts));
    EXPECT_EQ(opener.ready.get_future().wait_for(10s), std::future_status::ready);
  }
  ~Pair() {
    server.stop_and_wait();
    echo.join();
  }
  static Config config(int version) {
    Config c;
    c.version = version;
    return c;
  }
  // The loop the client session runs on.
  EventLoop& client_loop() { return opener.session->transport().loop(); }

  ThreadEcho echo;
  Endpoint server_ep;
  test::TestServer server;
  Opener opener;
  std::unique_ptr<Endpoint> client_ep;
};

// Writes `data` from one thread while this one reads the echo back.
std::string echo_through(BlockingStream& bs, const std::string& data) {
  std::thread writer([&] {
    std::error_code ec;
    EXPECT_TRUE(bs.write(data, ec)) << ec.message();
    bs.close_write();
  });
  std::string back;
  char buf[65536];
  std::error_code ec;
  while (std::size_t n = bs.read(buf, sizeof buf, ec, 20s))
    back.append(buf, n);
  EXPECT_FALSE(ec) << ec.message();
  writer.join();
  return back;
}

TEST(MuxBlocking, ThreadsEchoMoreThanTheBuffersHold) {
  for (int version : {1, 2}) {
    Pair p(version);
    // 3 MiB: past kReadAhead and kWriteAhead on both sides, and past the
    // version 2 window, so readers pause streams and writers wait.
    const std::string data = pattern(3 << 20, static_cast<unsigned>(version));
    auto bs = p.opener.open(p.client_loop());
    ASSERT_TRUE(bs);
    EXPECT_EQ(echo_through(*bs, data), data) << "version " << version;
  }
}

TEST(MuxBlocking, ManyStreamsAtOnce) {
  Pair p;
  std::vector<std::thread> clients;
  std::atomic<int> good{0};
  for (unsigned i = 0; i < 8; ++i) {
    auto bs = p.opener.open(p.client_loop());
    ASSERT_TRUE(bs);
    clients.emplace_back([bs, i, &good] {
      const std::string data = pattern(300000 + i * 1000, i);
      if (echo_through(*bs, data) == data) ++good;
    });
  }
  for (auto& t : clients)
    t.join();
  EXPECT_EQ(good, 8);
}

TEST(MuxBlocking, EndOfTheSessionWakesABlockedReader) {
  Pair p;
  auto bs = p.opener.open(p.client_loop());
  ASSERT_TRUE(bs);
  std::error_code ec;
  char buf[16];
  EXPECT_EQ(bs->read(buf, sizeof buf, ec, 50ms), 0u);
  EXPECT_EQ(ec, std::errc::timed_out);

  auto reader = std::async(std::launch::async, [&] {
    std::error_code rec;
    const std::size_t n = bs->read(buf, sizeof buf, rec);
    return std::make_pair(n, rec);
  });
  std::this_thread::sleep_for(50ms);
  ASSERT_FALSE(p.client_loop().post([&] { p.opener.session->close(); }));
  ASSERT_EQ(reader.wait_for(10s), std::future_status::ready);
  auto [n, rec] = reader.get();
  EXPECT_EQ(n, 0u);
  EXPECT_EQ(rec, errc::session_closed);
  EXPECT_TRUE(bs->ended());
  EXPECT_FALSE(bs->write("late", ec));
  EXPECT_TRUE(ec);
}

TEST(MuxBlocking, RefusesToBlockTheLoopThread) {
  Pair p;
  auto bs = p.opener.open(p.client_loop());
  ASSERT_TRUE(bs);
  std::promise<std::pair<std::error_code, std::error_code>> got;
  ASSERT_FALSE(p.client_loop().post([&] {
    std::error_code r, w;
    char buf[4];
    (void)bs->read(buf, sizeof buf, r);
    (void)bs->write("x", w);
    got.set_value({r, w});
  }));
  auto [r, w] = got.get_future().get();
  EXPECT_EQ(r, std::errc::resource_deadlock_would_occur);
  EXPECT_EQ(w, std::errc::resource_deadlock_would_occur);
  bs->close();
}

}  // namespace
}  // namespace weft::mux
