// Conn, ConnHandle and Server behaviour against real loopback clients:
// echo, framing, flow control and its limits, cross-thread handles,
// close/abort/detach/wake, idle timeouts, actions, ticks and graceful stop.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <future>
#include <mutex>
#include <random>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "test_support.hpp"
#include "weft/weft.hpp"

namespace {

using namespace weft::test;
using weft::Action;
using weft::Bytes;
using weft::Config;
using weft::Conn;
using weft::ConnHandle;
using weft::DetachedConn;
using weft::errc;
using weft::Handler;
using weft::SbufPolicy;
using weft::Server;
using weft::Tick;
using SteadyClock = std::chrono::steady_clock;

constexpr std::size_t kKiB = 1024;
constexpr std::size_t kMiB = 1024 * 1024;

// --- small shared pieces ---------------------------------------------------------

// The `why` of every on_close, in order (written on loop threads, read by the test).
class CloseLog {
 public:
  void add(std::error_code ec) {
    std::lock_guard lock(mu_);
    log_.push_back(ec);
  }
  std::size_t size() const {
    std::lock_guard lock(mu_);
    return log_.size();
  }
  std::vector<std::error_code> all() const {
    std::lock_guard lock(mu_);
    return log_;
  }
  std::error_code at(std::size_t i) const {
    std::lock_guard lock(mu_);
    return i < log_.size() ? log_[i] : std::error_code();
  }

 private:
  mutable std::mutex mu_;
  std::vector<std::error_code> log_;
};

// Joins every thread it holds when it goes out of scope, so an early ASSERT
// never leaves a running thread behind (each thread's own waits are bounded).
struct Threads {
  std::vector<std::thread> list;
  ~Threads() { join(); }
  template <typename Fn>
  void spawn(Fn&& fn) {
    list.emplace_back(std::forward<Fn>(fn));
  }
  void join() {
    for (auto& t : list) {
      if (t.joinable()) t.join();
    }
    list.clear();
  }
};

void atomic_max(std::atomic<std::size_t>& a, std::size_t v) {
  std::size_t cur = a.load();
  while (v > cur && !a.compare_exchange_weak(cur, v)) {
  }
}

bool is_reset_or_pipe(std::error_code ec) {
  return ec.category() == std::system_category() &&
         (ec.value() == ECONNRESET || ec.value() == EPIPE);
}

std::string be32(std::uint32_t v) {
  std::uint32_t n = htonl(v);
  std::string s(4, '\0');
  std::memcpy(s.data(), &n, 4);
  return s;
}

std::uint32_t read_be32(const char* p) {
  std::uint32_t n;
  std::memcpy(&n, p, 4);
  return ntohl(n);
}

// Echoes everything and logs closes; optionally records the largest
// queued() seen right after a write.
struct EchoHandler : Handler {
  CloseLog closes;
  std::atomic<std::size_t> max_queued{0};
  std::atomic<int> opens{0};

  weft::Action on_open(Conn&) override {
    ++opens;
    return Action::none;
  }
  std::size_t on_data(Conn& c, Bytes in) override {
    c.write(in);
    atomic_max(max_queued, c.queued());
    return in.size();
  }
  void on_close(Conn&, std::error_code why) override { closes.add(why); }
};

// Publishes a handle for every connection it accepts.
struct HandleRegistry : Handler {
  CloseLog closes;
  std::mutex mu;
  std::vector<ConnHandle> handles;

  Action on_open(Conn& c) override {
    std::lock_guard lock(mu);
    handles.push_back(c.handle());
    return Action::none;
  }
  std::size_t on_data(Conn&, Bytes in) override { return in.size(); }
  void on_close(Conn&, std::error_code why) override { closes.add(why); }
  std::vector<ConnHandle> snapshot() {
    std::lock_guard lock(mu);
    return handles;
  }
  std::size_t count() {
    std::lock_guard lock(mu);
    return handles.size();
  }
};

// Runs fn(conn) on the connection's loop and waits for it to finish.
// False if the connection was gone or the task did not run within 5 s.
template <typename Fn>
bool run_on(const ConnHandle& h, Fn fn) {
  auto done = std::make_shared<std::promise<bool>>();
  auto fut = done->get_future();
  auto ec = h.post([done, fn](Conn& c) mutable {
    fn(c);
    done->set_value(true);
  });
  if (ec) return false;
  if (fut.wait_for(5s) != std::future_status::ready) return false;
  try {
    return fut.get();
  } catch (const std::future_error&) {
    return false;  // dropped without running: the connection had gone
  }
}

// =====================================================================================
// 1. Echo: 50 concurrent clients on 2 loops, 200 messages each, varied sizes.
// =====================================================================================

std::size_t varied_size(std::mt19937& rng) {
  int p = std::uniform_int_distribution<int>(0, 99)(rng);
  if (p < 70) return std::uniform_int_distribution<std::size_t>(1, 512)(rng);
  if (p < 90) return std::uniform_int_distribution<std::size_t>(513, 8192)(rng);
  return std::uniform_int_distribution<std::size_t>(8193, 70000)(rng);
}

TEST(ConnEcho, FiftyClientsTwoLoopsVariedSizes) {
  EchoHandler echo;
  Config cfg = test_config();
  cfg.ncpu = 2;
  TestServer srv(echo, cfg);
  ASSERT_EQ(srv.server().loop_count(), 2u);

  constexpr int kClients = 50;
  constexpr int kMessages = 200;
  std::atomic<int> failed{0};
  std::atomic<std::uint64_t> total{0};
  {
    Threads threads;
    for (int i = 0; i < kClients; ++i) {
      threads.spawn([&, i] {
        try {
          Client cl = Client::tcp(srv.port());
          std::mt19937 rng(static_cast<unsigned>(i) * 7919u + 1u);
          std::uint64_t offset = static_cast<std::uint64_t>(i) * 1000003u;
          for (int m = 0; m < kMessages; ++m) {
            std::size_t n = varied_size(rng);
            std::string msg = pattern(n, offset);
            offset += n;
            if (cl.send_all(msg) != n) {
              ADD_FAILURE() << "client " << i << " msg " << m << ": send failed, errno "
                            << cl.error();
              ++failed;
              return;
            }
            std::string got = cl.recv_exact(n, 10s);
            if (got != msg) {
              ADD_FAILURE() << "client " << i << " msg " << m << ": got " << got.size() << " of "
                            << n << " bytes, first mismatch at "
                            << pattern_mismatch(got, offset - n);
              ++failed;
              return;
            }
            total += n;
          }
        } catch (const std::exception& e) {
          ADD_FAILURE() << "client " << i << ": " << e.what();
          ++failed;
        }
      });
    }
  }
  EXPECT_EQ(failed.load(), 0);
  ASSERT_TRUE(wait_until([&] { return srv.stats().closed == std::uint64_t{kClients}; }, 5s))
      << srv.stats().to_string();
  auto st = srv.stats();
  EXPECT_EQ(st.accepted, static_cast<std::uint64_t>(kClients));
  EXPECT_TRUE(wait_until([&] { return srv.stats().open == 0; })) << "connections still open";
  EXPECT_EQ(st.closed_peer, static_cast<std::uint64_t>(kClients));
  EXPECT_EQ(st.bytes_in, total.load());
  EXPECT_EQ(st.bytes_out, total.load());
  // SO_REUSEPORT spreads 50 connections over both loops (all on one: p = 2^-49).
  EXPECT_GT(srv.server().loop_stats(0).accepted.get(), 0u);
  EXPECT_GT(srv.server().loop_stats(1).accepted.get(), 0u);
  for (auto ec : echo.closes.all())
    EXPECT_FALSE(ec) << ec.message();
}

TEST(ConnEcho, UnixAndTcp6ListenersOnTwoLoops) {
  struct Handler2 : EchoHandler {
    std::atomic<int> on_listener[2] = {0, 0};
    std::atomic<int> bad_addr{0};
    Action on_open(Conn& c) override {
      std::size_t l = c.listener();
      if (l < 2) ++on_listener[l];
      if (l == 0 && c.local_addr().to_string().rfind("[::1]:", 0) != 0) ++bad_addr;
      return Action::none;
    }
  } echo;
  Config cfg = test_config();
  cfg.ncpu = 2;
  std::string name = unique_abstract_name();
  cfg.listen = {"tcp6://[::1]:0", "unix://" + name};
  TestServer srv(echo, cfg);
  auto addrs = srv.addresses();
  ASSERT_EQ(addrs.size(), 2u);
  EXPECT_EQ(addrs[1], "unix://" + name);
  ASSERT_NE(srv.port(0), 0);

  std::vector<Client> clients;
  for (int i = 0; i < 10; ++i)
    clients.push_back(Client::tcp6(srv.port(0)));
  for (int i = 0; i < 10; ++i)
    clients.push_back(Client::unix_path(name));
  for (std::size_t i = 0; i < clients.size(); ++i) {
    std::string msg = pattern(1000 + i * 100, i);
    ASSERT_EQ(clients[i].send_all(msg), msg.size());
    EXPECT_EQ(clients[i].recv_exact(msg.size()), msg) << "client " << i;
  }
  EXPECT_EQ(echo.on_listener[0].load(), 10);
  EXPECT_EQ(echo.on_listener[1].load(), 10);
  EXPECT_EQ(echo.bad_addr.load(), 0);
  // The unix listener is one shared acceptor: rr hands out 5 and 5.
  auto s0 = srv.server().loop_stats(0).accepted.get();
  auto s1 = srv.server().loop_stats(1).accepted.get();
  EXPECT_EQ(s0 + s1, 20u);
  EXPECT_GE(s0, 5u);
  EXPECT_GE(s1, 5u);
}

// Inside a callback: small writes gather in the cork, then one writev with
// more pieces than fit in one sendmsg. Whatever the kernel takes, the bytes
// must leave in the order they were written.
struct CorkThenManyPieces : Handler {
  std::atomic<int> rounds{0};
  Action on_open(Conn& c) override {
    // A small fixed send buffer keeps the socket close to full, so sends
    // are often partial while the reader keeps freeing room.
    int sndbuf = 32 * 1024;
    ::setsockopt(c.fd(), SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
    return Action::none;
  }
  std::size_t on_data(Conn& c, Bytes in) override {
    auto* offset = static_cast<std::uint64_t*>(c.context());
    if (!offset) {
      offset = new std::uint64_t(0);
      c.set_context(offset);
    }
    std::size_t lines = static_cast<std::size_t>(std::count(in.begin(), in.end(), '\n'));
    for (std::size_t l = 0; l < lines; ++l) {
      for (int i = 0; i < 16; ++i) {  // 64 KiB in the cork
        c.write(pattern(4096, *offset));
        *offset += 4096;
      }
      std::vector<std::string> store;
      std::vector<Bytes> pieces;
      for (int i = 0; i < 100; ++i) {
        store.push_back(pattern(700, *offset));
        *offset += 700;
      }
      for (const auto& p : store)
        pieces.push_back(p);
      c.writev(pieces);
      ++rounds;
    }
    return in.size();
  }
  void on_close(Conn& c, std::error_code) override {
    delete static_cast<std::uint64_t*>(c.context());
  }
};

TEST(ConnEcho, CorkedWritesThenLargeWritevKeepOrder) {
  CorkThenManyPieces h;
  Config cfg = test_config();
  cfg.cli_sbuf_limit = 0;
  TestServer srv(h, cfg);
  Client cl = Client::tcp(srv.port(), 16 * 1024);
  constexpr int kRounds = 400;
  constexpr std::size_t kPerRound = 16 * 4096 + 100 * 700;
  std::atomic<bool> reader_done{false};
  std::size_t got = 0;
  std::size_t mismatch_at = std::string::npos;
  Threads reader;
  reader.spawn([&] {
    while (got < kRounds * kPerRound) {
      std::string chunk = cl.recv_some(64 * kKiB, 10s);
      if (chunk.empty()) break;
      if (mismatch_at == std::string::npos) {
        std::size_t m = pattern_mismatch(chunk, got);
        if (m != std::string::npos) mismatch_at = got + m;
      }
      got += chunk.size();
    }
    reader_done = true;
  });
  for (int r = 0; r < kRounds; ++r) {
    ASSERT_EQ(cl.send_all("go\n"), 3u);
    // Next request once this round has been handed to the kernel: weft's
    // queue is empty but the socket is nearly full, so the cork's send is
    // partial while the reader keeps freeing room.
    const std::uint64_t target = static_cast<std::uint64_t>(r + 1) * kPerRound;
    auto deadline = SteadyClock::now() + 5s;
    while (srv.stats().bytes_out < target && SteadyClock::now() < deadline) {
      std::this_thread::yield();
    }
  }
  reader.join();
  EXPECT_EQ(got, kRounds * kPerRound);
  EXPECT_EQ(mismatch_at, std::string::npos) << "bytes out of order from offset " << mismatch_at;
}

// Length-prefixed records, each answered with writev_batched as "<" +
// payload upper-cased in place + ">": large payloads are corked by reference
// to the input, and the case change proves the bytes sent are the ones
// transformed through mutable_input.
struct RecordEcho : Handler {
  std::atomic<int> bad_mutable{0};
  std::atomic<std::size_t> records{0};
  Action on_open(Conn& c) override {
    if (c.mutable_input(Bytes("outside on_data")) != nullptr) ++bad_mutable;
    return Action::none;
  }
  std::size_t on_data(Conn& c, Bytes in) override {
    static const char kElsewhere[] = "not the input";
    if (c.mutable_input(kElsewhere) != nullptr) ++bad_mutable;
    if (!in.empty() && c.mutable_input(in) != in.data()) ++bad_mutable;
    std::size_t at = 0;
    while (in.size() - at >= 4) {
      const std::size_t len = read_be32(in.data() + at);
      if (in.size() - at - 4 < len) break;
      const Bytes payload = in.substr(at + 4, len);
      char* w = c.mutable_input(payload);
      if (w != payload.data()) ++bad_mutable;
      if (w) std::transform(w, w + len, w, [](char ch) { return ch == 'a' ? 'A' : ch; });
      c.writev_batched({Bytes("<"), payload, Bytes(">")});
      at += 4 + len;
      ++records;
    }
    return at;
  }
};

// What RecordEcho answers to `payload`.
std::string record_echo(std::string payload) {
  std::replace(payload.begin(), payload.end(), 'a', 'A');
  return "<" + payload + ">";
}

std::string record_payload(std::size_t n, std::uint64_t seed) {
  std::string p = pattern(n, seed);
  for (std::size_t i = 0; i < n; i += 7)
    p[i] = 'a';
  return p;
}

TEST(ConnCork, BatchedAnswersFromTheInputArriveIntact) {
  RecordEcho h;
  TestServer srv(h);
  Client cl = Client::tcp(srv.port());
  // Small and large records, many per read (more pieces than the cork
  // holds), and records split across reads (held in the connection's tail).
  const std::size_t sizes[] = {10, 1100, 5000, 1023, 1024, 20000, 3, 40000, 1500, 64 * 1024};
  std::string wire;
  std::string expect;
  for (int round = 0; round < 30; ++round) {
    for (std::size_t i = 0; i < std::size(sizes); ++i) {
      std::string p = record_payload(sizes[i] + static_cast<std::size_t>(round), round * 100u + i);
      wire += be32(static_cast<std::uint32_t>(p.size())) + p;
      expect += record_echo(p);
    }
  }
  for (int i = 0; i < 40; ++i) {
    std::string p = record_payload(1100, 9000u + static_cast<std::uint64_t>(i));
    wire += be32(static_cast<std::uint32_t>(p.size())) + p;
    expect += record_echo(p);
  }
  std::string got;
  Threads reader;
  reader.spawn([&] { got = cl.recv_exact(expect.size(), 10s); });
  // Uneven chunks, so records straddle reads.
  for (std::size_t at = 0; at < wire.size();) {
    const std::size_t n = std::min<std::size_t>(wire.size() - at, 7000 + (at % 13) * 1000);
    ASSERT_EQ(cl.send_all(Bytes(wire).substr(at, n)), n);
    at += n;
  }
  reader.join();
  EXPECT_EQ(h.records.load(), 30 * std::size(sizes) + 40);
  ASSERT_EQ(got.size(), expect.size());
  EXPECT_TRUE(got == expect) << "first difference at "
                             << (std::mismatch(got.begin(), got.end(), expect.begin()).first -
                                 got.begin());
  EXPECT_EQ(h.bad_mutable.load(), 0);
}

// A client that does not read: the answers queue, and pieces corked by
// reference must be copied into the queue before the input moves on.
TEST(ConnCork, ReferencedPiecesSurviveAQueue) {
  RecordEcho h;
  Config cfg = test_config();
  cfg.cli_sbuf_limit = 0;  // keep reading whatever is queued
  TestServer srv(h, cfg);
  Client cl = Client::tcp(srv.port(), 4096);
  std::string wire;
  std::string expect;
  for (int i = 0; i < 200; ++i) {
    std::string p = record_payload(3000 + static_cast<std::size_t>(i) * 37,
                                   500u + static_cast<std::uint64_t>(i));
    wire += be32(static_cast<std::uint32_t>(p.size())) + p;
    expect += record_echo(p);
  }
  ASSERT_EQ(cl.send_all(wire), wire.size());
  ASSERT_TRUE(wait_until([&] { return h.records.load() == 200; }, 10s));
  EXPECT_GT(srv.stats().bytes_out, 0u);
  const std::string got = cl.recv_exact(expect.size(), 10s);
  ASSERT_EQ(got.size(), expect.size());
  EXPECT_TRUE(got == expect);
  EXPECT_EQ(h.bad_mutable.load(), 0);
}

// =====================================================================================
// 2. Framing: 4-byte big-endian length prefix, fed one byte at a time.
// =====================================================================================

// Payload of message `seq`: the sequence number, then a pattern.
std::string frame(std::uint32_t seq, std::size_t payload_len) {
  std::string body = be32(seq) + pattern(payload_len - 4, seq * 1000ull);
  return be32(static_cast<std::uint32_t>(body.size())) + body;
}

struct FramingHandler : Handler {
  struct State {
    std::string leftover;  // what we returned as unconsumed last time
  };
  std::mutex mu;
  std::vector<std::uint32_t> seen;  // sequence numbers, in the order recognised
  std::atomic<int> calls{0};
  std::atomic<int> calls_with_leftover{0};
  std::atomic<int> single_fresh_byte{0};
  std::atomic<int> errors{0};

  Action on_open(Conn& c) override {
    c.set_context(new State);
    return Action::none;
  }
  void on_close(Conn& c, std::error_code) override {
    delete static_cast<State*>(c.context());
    c.set_context(nullptr);
  }
  std::size_t on_data(Conn& c, Bytes in) override {
    auto* st = static_cast<State*>(c.context());
    ++calls;
    // The unconsumed remainder comes back first, followed by new bytes only.
    if (in.size() <= st->leftover.size() || in.substr(0, st->leftover.size()) != st->leftover) {
      ++errors;
    }
    if (!st->leftover.empty()) ++calls_with_leftover;
    if (in.size() - st->leftover.size() == 1) ++single_fresh_byte;
    std::size_t used = 0;
    std::string acks;
    while (in.size() - used >= 4) {
      std::uint32_t len = read_be32(in.data() + used);
      if (in.size() - used - 4 < len) break;
      Bytes body = in.substr(used + 4, len);
      if (len < 4) {
        ++errors;
      } else {
        std::uint32_t seq = read_be32(body.data());
        if (pattern_mismatch(body.substr(4), seq * 1000ull) != std::string_view::npos) ++errors;
        {
          std::lock_guard lock(mu);
          seen.push_back(seq);
        }
        acks += be32(seq);
      }
      used += 4 + len;
    }
    if (!acks.empty()) c.write(acks);
    st->leftover.assign(in.substr(used));
    return used;
  }
};

TEST(ConnFraming, OneByteAtATimeEachMessageOnce) {
  FramingHandler fh;
  TestServer srv(fh);
  Client cl = Client::tcp(srv.port());
  cl.set_nodelay(true);

  constexpr std::uint32_t kMessages = 100;
  std::mt19937 rng(42);
  std::string stream;
  for (std::uint32_t i = 0; i < kMessages; ++i) {
    stream += frame(i, std::uniform_int_distribution<std::size_t>(4, 100)(rng));
  }
  // One byte per send, and the next one only after the server has read the
  // previous one: every on_data sees exactly one fresh byte.
  for (std::size_t i = 0; i < stream.size(); ++i) {
    ASSERT_EQ(cl.send_all(stream.substr(i, 1)), 1u);
    auto deadline = SteadyClock::now() + 5s;
    while (srv.stats().bytes_in < i + 1 && SteadyClock::now() < deadline) {
      std::this_thread::yield();
    }
    ASSERT_EQ(srv.stats().bytes_in, i + 1) << "server stopped reading at byte " << i;
  }
  std::string acks = cl.recv_exact(4 * kMessages, 5s);
  ASSERT_EQ(acks.size(), 4u * kMessages);
  for (std::uint32_t i = 0; i < kMessages; ++i) {
    EXPECT_EQ(read_be32(acks.data() + 4 * i), i);
  }
  {
    std::lock_guard lock(fh.mu);
    ASSERT_EQ(fh.seen.size(), kMessages);
    for (std::uint32_t i = 0; i < kMessages; ++i)
      EXPECT_EQ(fh.seen[i], i);
  }
  EXPECT_EQ(fh.errors.load(), 0);
  EXPECT_EQ(fh.calls.load(), static_cast<int>(stream.size()));
  EXPECT_EQ(fh.single_fresh_byte.load(), static_cast<int>(stream.size()));
  // Every byte but the first of each message arrives after a leftover.
  EXPECT_EQ(fh.calls_with_leftover.load(), static_cast<int>(stream.size() - kMessages));
  // Each message completes in exactly one call.
  EXPECT_EQ(srv.stats().msgs_in, kMessages);
}

TEST(ConnFraming, RandomChunksManyMessagesPerRead) {
  FramingHandler fh;
  TestServer srv(fh);
  Client cl = Client::tcp(srv.port());

  constexpr std::uint32_t kMessages = 2000;
  std::mt19937 rng(7);
  std::string stream;
  for (std::uint32_t i = 0; i < kMessages; ++i) {
    stream += frame(i, std::uniform_int_distribution<std::size_t>(4, 3000)(rng));
  }
  std::string acks;
  std::size_t pos = 0;
  while (pos < stream.size()) {
    std::size_t n =
        std::min(stream.size() - pos, std::uniform_int_distribution<std::size_t>(1, 9000)(rng));
    ASSERT_EQ(cl.send_all(std::string_view(stream).substr(pos, n)), n);
    pos += n;
    acks += cl.recv_some(65536, 0ms);  // keep the ack direction flowing
  }
  acks += cl.recv_exact(4 * kMessages - acks.size(), 10s);
  ASSERT_EQ(acks.size(), 4u * kMessages);
  for (std::uint32_t i = 0; i < kMessages; ++i) {
    ASSERT_EQ(read_be32(acks.data() + 4 * i), i);
  }
  std::lock_guard lock(fh.mu);
  ASSERT_EQ(fh.seen.size(), kMessages);
  for (std::uint32_t i = 0; i < kMessages; ++i)
    ASSERT_EQ(fh.seen[i], i);
  EXPECT_EQ(fh.errors.load(), 0);
  EXPECT_GT(fh.calls_with_leftover.load(), 0);
}

// Messages up to 200 KB in chunks up to 150 KB: tails shorter and longer
// than half the loop's buffer (the short ones are read after, the long ones
// grow in the connection's own buffer).
TEST(ConnFraming, LargeMessagesAcrossReads) {
  FramingHandler fh;
  TestServer srv(fh);
  Client cl = Client::tcp(srv.port());
  constexpr std::uint32_t kMessages = 300;
  std::mt19937 rng(11);
  std::string stream;
  for (std::uint32_t i = 0; i < kMessages; ++i) {
    stream += frame(i, std::uniform_int_distribution<std::size_t>(4, 200000)(rng));
  }
  std::string acks;
  Threads reader;
  reader.spawn([&] { acks = cl.recv_exact(4 * kMessages, 20s); });
  for (std::size_t pos = 0; pos < stream.size();) {
    const std::size_t n =
        std::min(stream.size() - pos, std::uniform_int_distribution<std::size_t>(1, 150000)(rng));
    ASSERT_EQ(cl.send_all(std::string_view(stream).substr(pos, n)), n);
    pos += n;
  }
  reader.join();
  ASSERT_EQ(acks.size(), 4u * kMessages);
  for (std::uint32_t i = 0; i < kMessages; ++i)
    ASSERT_EQ(read_be32(acks.data() + 4 * i), i);
  std::lock_guard lock(fh.mu);
  ASSERT_EQ(fh.seen.size(), kMessages);
  EXPECT_EQ(fh.errors.load(), 0);
  EXPECT_GT(fh.calls_with_leftover.load(), 0);
}

// =====================================================================================
// 3. 64 MiB echoed to a slow reader.
// =====================================================================================

TEST(ConnFlow, SixtyFourMiBEchoToSlowReader) {
  EchoHandler echo;
  // A limit well under what the kernel's socket buffers absorb in the slow
  // phase, so that back-pressure (pause, then resume) happens on every run.
  Config cfg = test_config();
  cfg.cli_sbuf_limit = 256 * 1024;
  TestServer srv(echo, cfg);
  constexpr std::size_t kTotal = 64 * kMiB;
  const std::string data = pattern(kTotal);
  Client cl = Client::tcp(srv.port(), 64 * 1024);

  std::atomic<std::size_t> sent{0};
  Threads sender;
  sender.spawn([&] { sent = cl.send_all(data, 60s); });

  std::size_t got = 0;
  std::size_t mismatch_at = std::string::npos;
  auto slow_until = SteadyClock::now() + 400ms;
  auto deadline = SteadyClock::now() + 60s;
  while (got < kTotal && SteadyClock::now() < deadline) {
    bool slow = SteadyClock::now() < slow_until;
    std::string chunk = cl.recv_some(slow ? 1024 : 256 * 1024, 2s);
    if (chunk.empty() && cl.peer_closed()) break;
    if (mismatch_at == std::string::npos) {
      std::size_t m = pattern_mismatch(chunk, got);
      if (m != std::string::npos) mismatch_at = got + m;
    }
    got += chunk.size();
    if (slow) std::this_thread::sleep_for(2ms);
  }
  sender.join();
  EXPECT_EQ(sent.load(), kTotal);
  EXPECT_EQ(got, kTotal);
  EXPECT_EQ(mismatch_at, std::string::npos) << "first corrupt byte at offset " << mismatch_at;
  // The loop counts a send after the kernel took it, which may be after the
  // peer already read it: wait for the counters to catch up.
  wait_until([&] { return srv.stats().bytes_out == kTotal; });
  auto st = srv.stats();
  EXPECT_EQ(st.bytes_in, kTotal);
  EXPECT_EQ(st.bytes_out, kTotal);
  // The slow phase pushes the queue past cliSbufLimit: reading paused, then resumed.
  EXPECT_GE(st.sbuf_pauses, 1u);
  EXPECT_LE(echo.max_queued.load(),
            srv.server().config().cli_sbuf_limit + srv.server().config().buf_size);
}

TEST(ConnFlow, HalfCloseStillFlushesEcho) {
  EchoHandler echo;
  TestServer srv(echo);
  Client cl = Client::tcp(srv.port());
  const std::string data = pattern(8 * kMiB, 5);
  Threads sender;
  sender.spawn([&] {
    EXPECT_EQ(cl.send_all(data, 30s), data.size());
    cl.shutdown_write();
  });
  std::string got = cl.recv_until_eof(30s);
  sender.join();
  EXPECT_TRUE(cl.eof());
  EXPECT_EQ(got.size(), data.size());
  EXPECT_TRUE(got == data);
  ASSERT_TRUE(wait_until([&] { return echo.closes.size() == 1; }));
  EXPECT_FALSE(echo.closes.at(0));
  EXPECT_EQ(srv.stats().closed_peer, 1u);
}

// =====================================================================================
// 4. Peer reset in the middle of a large write.
// =====================================================================================

struct BigOnOpen : EchoHandler {
  std::string big;
  std::atomic<bool> enabled{true};
  Action on_open(Conn& c) override {
    if (enabled.exchange(false)) c.write(big);
    return Action::none;
  }
};

void peer_reset_mid_write(std::size_t sbuf_limit) {
  BigOnOpen h;
  h.big = pattern(32 * kMiB);
  Config cfg = test_config();
  cfg.cli_sbuf_limit = sbuf_limit;
  TestServer srv(h, cfg);
  {
    Client cl = Client::tcp(srv.port(), 64 * 1024);
    std::string head = cl.recv_exact(64 * kKiB, 5s);
    ASSERT_EQ(head.size(), 64 * kKiB);
    EXPECT_EQ(pattern_mismatch(head), std::string::npos);
    cl.close_rst();
  }
  ASSERT_TRUE(wait_until([&] { return h.closes.size() == 1; }, 5s)) << srv.stats().to_string();
  std::error_code why = h.closes.at(0);
  EXPECT_TRUE(is_reset_or_pipe(why)) << why.category().name() << ": " << why.message();
  EXPECT_EQ(srv.stats().closed_error, 1u);
  EXPECT_TRUE(wait_until([&] { return srv.stats().open == 0; })) << "connections still open";

  // Still serving.
  for (int i = 0; i < 3; ++i) {
    Client again = Client::tcp(srv.port());
    ASSERT_EQ(again.send_all("still here"), 10u);
    EXPECT_EQ(again.recv_exact(10), "still here");
  }
  EXPECT_EQ(srv.stats().accepted, 4u);
}

TEST(ConnReset, PeerResetDuringLargeWriteSbufPaused) {
  peer_reset_mid_write(4 * kMiB);
}
TEST(ConnReset, PeerResetDuringLargeWriteStillReading) {
  peer_reset_mid_write(0);
}

// =====================================================================================
// 5. 10000 connect/close cycles: no descriptor leak.
// =====================================================================================

TEST(ConnLifecycle, TenThousandCyclesNoFdLeak) {
  EchoHandler echo;
  Config cfg = test_config();
  cfg.ncpu = 2;
  TestServer srv(echo, cfg);
  const int before = count_open_fds();
  const std::size_t rss_before = rss_bytes();
  constexpr int kBatches = 100;
  constexpr int kBatch = 100;
  for (int b = 0; b < kBatches; ++b) {
    std::vector<Client> batch;
    batch.reserve(kBatch);
    for (int i = 0; i < kBatch; ++i)
      batch.push_back(Client::tcp(srv.port()));
    // A few of them talk before closing.
    if (b % 10 == 0) {
      ASSERT_EQ(batch[0].send_all("ping"), 4u);
      ASSERT_EQ(batch[0].recv_exact(4), "ping");
    }
    batch.clear();
  }
  ASSERT_TRUE(wait_until(
      [&] {
        auto st = srv.stats();
        return st.accepted == std::uint64_t{kBatches * kBatch} && st.open == 0;
      },
      20s))
      << srv.stats().to_string();
  // open drops just before the descriptor is closed: give it a moment.
  wait_until([&] { return count_open_fds() == before; }, 2s);
  EXPECT_EQ(count_open_fds(), before);
  auto st = srv.stats();
  EXPECT_EQ(st.accepted, 10000u);
  EXPECT_EQ(st.closed, 10000u);
  EXPECT_EQ(st.closed_peer, 10000u);
  EXPECT_EQ(st.closed_error, 0u);
  EXPECT_EQ(echo.closes.size(), 10000u);
  // No per-connection memory kept either (generous bound: slabs, allocator caches).
  EXPECT_LT(rss_bytes(), rss_before + 32 * kMiB);
}

// =====================================================================================
// 6. ConnHandle from 4 threads at once.
// =====================================================================================

constexpr std::size_t kHandleMsg = 32;

std::string handle_msg(int thread, std::uint32_t seq) {
  std::string m = "M";
  m += static_cast<char>('0' + thread);
  m += be32(seq);
  m += pattern(kHandleMsg - 6, static_cast<std::uint64_t>(thread) * 1000000u + seq);
  return m;
}

// Checks a stream of handle_msg()s: whole messages, each thread's in order,
// each exactly once. Returns "" or what is wrong.
std::string check_handle_stream(const std::string& s, int threads, std::uint32_t per_thread) {
  if (s.size() != static_cast<std::size_t>(threads) * per_thread * kHandleMsg) {
    return "size " + std::to_string(s.size());
  }
  std::vector<std::uint32_t> next(static_cast<std::size_t>(threads), 0);
  for (std::size_t off = 0; off < s.size(); off += kHandleMsg) {
    if (s[off] != 'M') return "bad marker at " + std::to_string(off);
    int t = s[off + 1] - '0';
    if (t < 0 || t >= threads) return "bad thread at " + std::to_string(off);
    std::uint32_t seq = read_be32(s.data() + off + 2);
    if (seq != next[static_cast<std::size_t>(t)]) {
      return "thread " + std::to_string(t) + ": seq " + std::to_string(seq) + ", expected " +
             std::to_string(next[static_cast<std::size_t>(t)]);
    }
    ++next[static_cast<std::size_t>(t)];
    if (s.compare(off, kHandleMsg, handle_msg(t, seq)) != 0) {
      return "corrupt message at " + std::to_string(off);
    }
  }
  return "";
}

TEST(ConnHandleTest, FourThreadsSendCloseAndGone) {
  HandleRegistry reg;
  Config cfg = test_config();
  cfg.ncpu = 2;
  TestServer srv(reg, cfg);

  constexpr int kConns = 4;
  constexpr int kThreads = 4;
  constexpr std::uint32_t kSends = 1000;
  std::vector<Client> clients;
  for (int i = 0; i < kConns; ++i)
    clients.push_back(Client::tcp(srv.port()));
  ASSERT_TRUE(wait_until([&] { return reg.count() == kConns; }));
  const std::vector<ConnHandle> handles = reg.snapshot();
  for (const auto& h : handles)
    EXPECT_TRUE(h.alive());

  const std::size_t expected = static_cast<std::size_t>(kThreads) * kSends * kHandleMsg;
  std::vector<std::string> received(kConns);
  std::atomic<int> posted{0}, ran{0}, send_errors{0}, post_errors{0}, queue_full{0};
  {
    Threads readers;
    for (int i = 0; i < kConns; ++i) {
      readers.spawn([&, i] {
        received[static_cast<std::size_t>(i)] =
            clients[static_cast<std::size_t>(i)].recv_exact(expected, 30s);
      });
    }
    Threads senders;
    for (int t = 0; t < kThreads; ++t) {
      senders.spawn([&, t] {
        for (std::uint32_t seq = 0; seq < kSends; ++seq) {
          std::string msg = handle_msg(t, seq);
          for (const auto& h : handles) {
            for (;;) {
              std::error_code ec = h.send(msg);
              if (!ec) break;
              if (ec == errc::queue_full) {
                ++queue_full;
                std::this_thread::yield();
                continue;
              }
              ++send_errors;
              break;
            }
            if (seq % 50 == 0) {
              std::error_code ec = h.post([&ran](Conn& c) {
                if (!c.closing()) ++ran;
              });
              if (ec) {
                ++post_errors;
              } else {
                ++posted;
              }
            }
          }
        }
      });
    }
  }
  EXPECT_EQ(send_errors.load(), 0);
  EXPECT_EQ(post_errors.load(), 0);
  EXPECT_TRUE(wait_until([&] { return ran.load() == posted.load(); }));
  EXPECT_EQ(posted.load(), kThreads * kConns * static_cast<int>(kSends / 50));
  for (int i = 0; i < kConns; ++i) {
    EXPECT_EQ(check_handle_stream(received[static_cast<std::size_t>(i)], kThreads, kSends), "")
        << "client " << i;
  }
  // Nothing more than what was sent.
  for (auto& c : clients)
    EXPECT_EQ(c.recv_some(4096, 50ms), "");

  // Close from 4 threads at once: the first close wins, the others are
  // harmless (ok while the connection is still there, conn_gone after).
  {
    Threads closers;
    for (int t = 0; t < kThreads; ++t) {
      closers.spawn([&] {
        for (const auto& h : handles) {
          std::error_code ec = h.close();
          if (ec && ec != errc::conn_gone) ADD_FAILURE() << "close: " << ec.message();
        }
      });
    }
  }
  for (auto& c : clients) {
    EXPECT_EQ(c.recv_until_eof(5s), "");
    EXPECT_TRUE(c.eof());
  }
  ASSERT_TRUE(wait_until([&] {
    return std::none_of(handles.begin(), handles.end(),
                        [](const ConnHandle& h) { return h.alive(); });
  }));
  ASSERT_TRUE(wait_until([&] { return reg.closes.size() == kConns; }));
  for (auto ec : reg.closes.all())
    EXPECT_FALSE(ec) << ec.message();
  EXPECT_EQ(srv.stats().closed_local, static_cast<std::uint64_t>(kConns));

  // Every call on a gone handle reports conn_gone, from 4 threads, many times.
  const int ran_before = ran.load();
  std::atomic<int> wrong{0};
  {
    Threads hammer;
    for (int t = 0; t < kThreads; ++t) {
      hammer.spawn([&] {
        for (int i = 0; i < 2000; ++i) {
          for (const auto& h : handles) {
            if (h.send("x") != errc::conn_gone) ++wrong;
            if (h.close() != errc::conn_gone) ++wrong;
            if (h.post([&ran](Conn&) { ++ran; }) != errc::conn_gone) ++wrong;
            if (h.alive() || static_cast<bool>(h)) ++wrong;
          }
        }
      });
    }
  }
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_EQ(ran.load(), ran_before);

  // New connections reuse the slots with a new generation: old handles stay gone.
  std::vector<Client> fresh;
  for (int i = 0; i < kConns; ++i)
    fresh.push_back(Client::tcp(srv.port()));
  ASSERT_TRUE(wait_until([&] { return reg.count() == 2 * kConns; }));
  const std::vector<ConnHandle> all = reg.snapshot();
  for (std::size_t i = 0; i < handles.size(); ++i) {
    EXPECT_FALSE(handles[i].alive());
    EXPECT_EQ(handles[i].send("stale"), errc::conn_gone);
    for (std::size_t j = kConns; j < all.size(); ++j)
      EXPECT_FALSE(handles[i] == all[j]);
  }
  for (auto& c : fresh)
    EXPECT_EQ(c.recv_some(4096, 50ms), "");
  for (std::size_t j = kConns; j < all.size(); ++j) {
    EXPECT_TRUE(all[j].alive());
    EXPECT_FALSE(all[j].send("new!"));
  }
  for (auto& c : fresh)
    EXPECT_EQ(c.recv_exact(4), "new!");

  ConnHandle none;
  EXPECT_FALSE(none.alive());
  EXPECT_FALSE(static_cast<bool>(none));
  EXPECT_EQ(none.send("x"), errc::conn_gone);
  EXPECT_EQ(none.close(), errc::conn_gone);
  EXPECT_EQ(none.post([](Conn&) {}), errc::conn_gone);
}

TEST(ConnHandleTest, QueueFullIsReportedAndNothingAcceptedIsLost) {
  HandleRegistry reg;
  Config cfg = test_config();
  cfg.chan_size = 4;
  TestServer srv(reg, cfg);
  Client cl = Client::tcp(srv.port());
  ASSERT_TRUE(wait_until([&] { return reg.count() == 1; }));
  const ConnHandle h = reg.snapshot()[0];

  constexpr int kThreads = 4;
  constexpr std::uint32_t kSends = 2000;
  std::atomic<int> queue_full{0}, other_errors{0};
  std::string received;
  {
    Threads readers;
    readers.spawn([&] { received = cl.recv_exact(kThreads * kSends * kHandleMsg, 30s); });
    Threads senders;
    for (int t = 0; t < kThreads; ++t) {
      senders.spawn([&, t] {
        for (std::uint32_t seq = 0; seq < kSends; ++seq) {
          std::string msg = handle_msg(t, seq);
          for (;;) {
            std::error_code ec = h.send(msg);
            if (!ec) break;
            if (ec != errc::queue_full) {
              ++other_errors;
              break;
            }
            ++queue_full;
            std::this_thread::yield();
          }
        }
      });
    }
  }
  EXPECT_EQ(other_errors.load(), 0);
  EXPECT_GT(queue_full.load(), 0);  // 4 threads against a 4-task queue
  // Every accepted send arrived once, in order per thread; rejected ones never did.
  EXPECT_EQ(check_handle_stream(received, kThreads, kSends), "");
  EXPECT_EQ(cl.recv_some(4096, 50ms), "");
}

// =====================================================================================
// 7. cliSbufLimit: a client that never reads.
// =====================================================================================

// Sends from `data` without blocking until the socket stops taking bytes for
// `stall` (or everything is sent, or an error, or the deadline). Returns bytes sent.
std::size_t send_until_stall(Client& cl, const std::string& data, Ms stall, Ms limit) {
  std::size_t sent = 0;
  auto start = SteadyClock::now();
  auto last = start;
  while (sent < data.size() && SteadyClock::now() - start < limit) {
    long w = cl.try_send(std::string_view(data).substr(sent, 256 * kKiB));
    if (w < 0) break;
    if (w > 0) {
      sent += static_cast<std::size_t>(w);
      last = SteadyClock::now();
    } else {
      if (SteadyClock::now() - last > stall) break;
      std::this_thread::sleep_for(1ms);
    }
  }
  return sent;
}

TEST(ConnSbuf, PausePolicyBlocksSenderAndBoundsQueue) {
  EchoHandler echo;
  TestServer srv(echo);
  const Config& cfg = srv.server().config();
  ASSERT_EQ(cfg.sbuf_policy, SbufPolicy::pause);
  const std::string data = pattern(64 * kMiB);
  Client cl = Client::tcp(srv.port(), 4096);

  std::size_t sent = send_until_stall(cl, data, 500ms, 20s);
  EXPECT_LT(sent, data.size()) << "the sender never blocked";
  EXPECT_EQ(cl.error(), 0);
  auto st = srv.stats();
  EXPECT_GE(st.sbuf_pauses, 1u);
  EXPECT_GT(echo.max_queued.load(), cfg.cli_sbuf_limit);
  EXPECT_LE(echo.max_queued.load(), cfg.cli_sbuf_limit + cfg.buf_size);
  // Reading really stopped: the server takes nothing more.
  auto in_before = srv.stats().bytes_in;
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(srv.stats().bytes_in, in_before);

  // The loop itself is not blocked: another client is served meanwhile.
  {
    Client other = Client::tcp(srv.port());
    ASSERT_EQ(other.send_all("hello"), 5u);
    EXPECT_EQ(other.recv_exact(5), "hello");
  }

  // Now read (with a normal window): the queue drains, reading resumes, every
  // byte comes back intact.
  cl.set_rcvbuf(1 << 20);
  std::size_t got = 0;
  std::size_t mismatch_at = std::string::npos;
  auto deadline = SteadyClock::now() + 30s;
  while (got < sent && SteadyClock::now() < deadline) {
    std::string chunk = cl.recv_some(256 * kKiB, 2s);
    if (chunk.empty()) break;
    if (mismatch_at == std::string::npos) {
      std::size_t m = pattern_mismatch(chunk, got);
      if (m != std::string::npos) mismatch_at = got + m;
    }
    got += chunk.size();
  }
  EXPECT_EQ(got, sent);
  EXPECT_EQ(mismatch_at, std::string::npos);
  EXPECT_LE(echo.max_queued.load(), cfg.cli_sbuf_limit + cfg.buf_size);
  EXPECT_TRUE(wait_until([&] { return echo.closes.size() == 1; }));  // only `other`
  EXPECT_FALSE(cl.peer_closed());
}

TEST(ConnSbuf, ClosePolicyClosesWithSendBufferFull) {
  EchoHandler echo;
  Config cfg = test_config();
  cfg.sbuf_policy = SbufPolicy::close;
  TestServer srv(echo, cfg);
  const std::string data = pattern(64 * kMiB);
  Client cl = Client::tcp(srv.port(), 4096);

  std::size_t sent = send_until_stall(cl, data, 500ms, 20s);
  ASSERT_TRUE(wait_until([&] { return echo.closes.size() == 1; }, 5s))
      << "sent " << sent << "; " << srv.stats().to_string();
  EXPECT_EQ(echo.closes.at(0), errc::send_buffer_full) << echo.closes.at(0).message();
  auto st = srv.stats();
  EXPECT_EQ(st.closed_sbuf, 1u);
  EXPECT_EQ(st.sbuf_pauses, 0u);
  EXPECT_LE(echo.max_queued.load(), cfg.cli_sbuf_limit + cfg.buf_size);
  EXPECT_TRUE(cl.wait_closed(5s));
}

// =====================================================================================
// 8. pktSizeLimit.
// =====================================================================================

struct NeverConsume : Handler {
  CloseLog closes;
  std::atomic<std::size_t> max_in{0};
  std::size_t on_data(Conn&, Bytes in) override {
    atomic_max(max_in, in.size());
    return 0;
  }
  void on_close(Conn&, std::error_code why) override { closes.add(why); }
};

TEST(ConnLimits, PacketTooLarge) {
  NeverConsume h;
  Config cfg = test_config();
  cfg.pkt_size_limit = 64 * kKiB;
  TestServer srv(h, cfg);
  Client cl = Client::tcp(srv.port());

  // Exactly the limit is allowed.
  const std::string data = pattern(64 * kKiB + 1);
  for (std::size_t off = 0; off < 64 * kKiB; off += 1000) {
    std::size_t n = std::min<std::size_t>(1000, 64 * kKiB - off);
    ASSERT_EQ(cl.send_all(std::string_view(data).substr(off, n)), n);
  }
  ASSERT_TRUE(wait_until([&] { return h.max_in.load() == 64 * kKiB; }));
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(h.closes.size(), 0u);
  EXPECT_EQ(srv.stats().open, 1u);

  // One more byte is too many.
  ASSERT_EQ(cl.send_all(std::string_view(data).substr(64 * kKiB)), 1u);
  ASSERT_TRUE(wait_until([&] { return h.closes.size() == 1; }));
  EXPECT_EQ(h.closes.at(0), errc::packet_too_large) << h.closes.at(0).message();
  EXPECT_EQ(h.max_in.load(), 64 * kKiB + 1);
  EXPECT_TRUE(cl.wait_closed(5s));
  auto st = srv.stats();
  EXPECT_EQ(st.closed_pkt, 1u);
  EXPECT_EQ(st.closed, 1u);
  EXPECT_TRUE(wait_until([&] { return srv.stats().open == 0; })) << "connections still open";

  // A single large burst is cut off too, and the server carries on.
  Client big = Client::tcp(srv.port());
  const std::string burst = pattern(1 * kMiB);
  big.send_all(burst, 5s);  // may fail part way with a reset: that is the point
  ASSERT_TRUE(wait_until([&] { return h.closes.size() == 2; }));
  EXPECT_EQ(h.closes.at(1), errc::packet_too_large);
  EXPECT_EQ(srv.stats().closed_pkt, 2u);
}

// =====================================================================================
// 9. idleLimit.
// =====================================================================================

TEST(ConnLimits, IdleTimeout) {
  EchoHandler echo;
  Config cfg = test_config();
  cfg.idle_limit_ms = 300;
  cfg.idle_check_int_ms = 50;
  TestServer srv(echo, cfg);

  // An idle client is closed after about 300 ms.
  {
    auto t0 = SteadyClock::now();
    Client idle = Client::tcp(srv.port());
    ASSERT_TRUE(idle.wait_closed(2s));
    auto took = SteadyClock::now() - t0;
    EXPECT_TRUE(idle.eof());
    EXPECT_GE(took, 250ms);
    EXPECT_LE(took, 1000ms);
    ASSERT_TRUE(wait_until([&] { return echo.closes.size() == 1; }));
    EXPECT_EQ(echo.closes.at(0), errc::idle_timeout) << echo.closes.at(0).message();
    EXPECT_EQ(srv.stats().closed_idle, 1u);
  }

  // One that sends every 100 ms stays open.
  Client busy = Client::tcp(srv.port());
  auto t0 = SteadyClock::now();
  int rounds = 0;
  while (SteadyClock::now() - t0 < 1100ms) {
    ASSERT_EQ(busy.send_all("tick"), 4u);
    ASSERT_EQ(busy.recv_exact(4, 1s), "tick") << "closed after " << rounds << " rounds";
    ++rounds;
    std::this_thread::sleep_for(100ms);
  }
  EXPECT_GE(rounds, 8);
  EXPECT_FALSE(busy.peer_closed());
  EXPECT_EQ(srv.stats().open, 1u);
  EXPECT_EQ(srv.stats().closed_idle, 1u);
  // Once it goes quiet it is closed too.
  EXPECT_TRUE(busy.wait_closed(2s));
  ASSERT_TRUE(wait_until([&] { return echo.closes.size() == 2; }));
  EXPECT_EQ(echo.closes.at(1), errc::idle_timeout);
  EXPECT_EQ(srv.stats().closed_idle, 2u);
}

// =====================================================================================
// 10. wake() and detach().
// =====================================================================================

// Line protocol: echoes whole lines, keeps a partial one; empty input (a
// wake) answers "woken\n". The line "detach-me" detaches from inside on_data.
struct LineHandler : HandleRegistry {
  std::atomic<int> wakes{0};
  std::mutex dmu;
  DetachedConn inner;
  std::atomic<bool> inner_done{false};

  std::size_t on_data(Conn& c, Bytes in) override {
    if (in.empty()) {
      ++wakes;
      c.write("woken\n");
      return 0;
    }
    std::size_t used = 0;
    for (;;) {
      auto nl = in.find('\n', used);
      if (nl == Bytes::npos) break;
      Bytes line = in.substr(used, nl + 1 - used);
      used = nl + 1;
      if (line == "detach-me\n") {
        c.write("bye\n");  // small: corked, so it comes back in `unsent`
        std::lock_guard lock(dmu);
        inner = c.detach();
        inner_done = true;
        return used;
      }
      c.write(line);
    }
    return used;
  }
};

TEST(ConnWake, WakeFiresOnDataWithEmptyInput) {
  LineHandler h;
  TestServer srv(h);
  Client cl = Client::tcp(srv.port());
  ASSERT_TRUE(wait_until([&] { return h.count() == 1; }));
  ConnHandle handle = h.snapshot()[0];

  ASSERT_FALSE(handle.post([](Conn& c) { c.wake(); }));
  EXPECT_EQ(cl.recv_exact(6), "woken\n");
  EXPECT_EQ(h.wakes.load(), 1);

  // Two wakes before the loop delivers are one on_data.
  ASSERT_FALSE(handle.post([](Conn& c) {
    c.wake();
    c.wake();
  }));
  EXPECT_EQ(cl.recv_exact(6), "woken\n");
  EXPECT_EQ(cl.recv_some(64, 100ms), "");
  EXPECT_EQ(h.wakes.load(), 2);

  // Input still flows normally, and a held partial line is not lost by a wake.
  ASSERT_EQ(cl.send_all("abc\nde"), 6u);
  EXPECT_EQ(cl.recv_exact(4), "abc\n");
  ASSERT_TRUE(run_on(handle, [](Conn& c) { c.wake(); }));
  EXPECT_EQ(cl.recv_exact(6), "woken\n");
  ASSERT_EQ(cl.send_all("f\n"), 2u);
  EXPECT_EQ(cl.recv_exact(4), "def\n");
  EXPECT_EQ(h.closes.size(), 0u);
}

TEST(ConnDetach, DetachFromOtherThreadHandsOverFd) {
  LineHandler h;
  TestServer srv(h);
  Client cl = Client::tcp(srv.port());
  ASSERT_TRUE(wait_until([&] { return h.count() == 1; }));
  ConnHandle handle = h.snapshot()[0];
  ASSERT_EQ(cl.send_all("abc\ndef"), 7u);
  ASSERT_EQ(cl.recv_exact(4), "abc\n");

  DetachedConn d;
  ASSERT_TRUE(run_on(handle, [&d](Conn& c) { d = c.detach(); }));
  ASSERT_GE(d.fd, 0);
  EXPECT_EQ(d.unconsumed, "def");
  EXPECT_EQ(d.unsent, "");
  ASSERT_TRUE(wait_until([&] { return h.closes.size() == 1; }));
  EXPECT_EQ(h.closes.at(0), errc::detached) << h.closes.at(0).message();
  EXPECT_FALSE(handle.alive());
  EXPECT_TRUE(wait_until([&] { return srv.stats().open == 0; })) << "connections still open";

  // The descriptor is ours: write to it, read from it; weft reads nothing.
  ASSERT_EQ(::send(d.fd, "direct\n", 7, MSG_NOSIGNAL), 7);
  EXPECT_EQ(cl.recv_exact(7), "direct\n");
  ASSERT_EQ(cl.send_all("to-fd\n"), 6u);
  pollfd p{d.fd, POLLIN, 0};
  ASSERT_EQ(::poll(&p, 1, 2000), 1);
  char buf[64];
  ssize_t n = ::recv(d.fd, buf, sizeof buf, MSG_DONTWAIT);
  ASSERT_EQ(n, 6);
  EXPECT_EQ(std::string(buf, 6), "to-fd\n");
  EXPECT_EQ(srv.stats().bytes_in, 7u);  // "abc\ndef" only

  // Stopping the server leaves it alone.
  srv.stop_and_wait();
  EXPECT_GE(::fcntl(d.fd, F_GETFD), 0);
  ASSERT_EQ(::send(d.fd, "after\n", 6, MSG_NOSIGNAL), 6);
  EXPECT_EQ(cl.recv_exact(6), "after\n");
  ::close(d.fd);
  EXPECT_EQ(cl.recv_until_eof(2s), "");
  EXPECT_TRUE(cl.eof());
  EXPECT_EQ(h.closes.size(), 1u);
}

TEST(ConnDetach, DetachInsideOnDataReturnsCorkedOutput) {
  LineHandler h;
  TestServer srv(h);
  Client cl = Client::tcp(srv.port());
  ASSERT_EQ(cl.send_all("one\ndetach-me\n"), 14u);
  ASSERT_TRUE(wait_until([&] { return h.inner_done.load(); }));
  DetachedConn d;
  {
    std::lock_guard lock(h.dmu);
    d = h.inner;
  }
  ASSERT_GE(d.fd, 0);
  // "one\n" and "bye\n" were corked (when both lines came in one read):
  // detach hands back what weft had not sent, and weft sends none of it.
  std::string from_weft = cl.recv_some(64, 100ms);
  EXPECT_FALSE(cl.peer_closed());
  EXPECT_EQ(from_weft + d.unsent, "one\nbye\n");
  EXPECT_TRUE(d.unsent.ends_with("bye\n")) << d.unsent;
  EXPECT_EQ(d.unconsumed, "");
  ASSERT_TRUE(wait_until([&] { return h.closes.size() == 1; }));
  EXPECT_EQ(h.closes.at(0), errc::detached);
  ASSERT_EQ(::send(d.fd, d.unsent.data(), d.unsent.size(), MSG_NOSIGNAL),
            static_cast<ssize_t>(d.unsent.size()));
  EXPECT_EQ(cl.recv_exact(d.unsent.size()), d.unsent);
  ::close(d.fd);
  EXPECT_EQ(cl.recv_until_eof(2s), "");
}

// Detach from callbacks that are not handed the input: the input weft holds
// (on_data's unconsumed remainder) must come back in `unconsumed`.
struct DetachLater : HandleRegistry {
  std::string big;
  std::mutex dmu;
  DetachedConn d;
  std::atomic<bool> done{false};
  std::atomic<std::size_t> buffered_before{0};
  std::atomic<std::size_t> queued_after_write{0};

  void take(Conn& c) {
    buffered_before = c.buffered();
    std::lock_guard lock(dmu);
    d = c.detach();
    done = true;
  }
  std::size_t on_data(Conn& c, Bytes in) override {
    if (in.empty()) {  // a wake
      take(c);
      return 0;
    }
    // Consume whole lines; "big" queues output that on_drained will follow.
    std::size_t used = 0;
    for (auto nl = in.find('\n'); nl != Bytes::npos; nl = in.find('\n', used)) {
      if (in.substr(used, nl + 1 - used) == "big\n") {
        c.write(big);
        queued_after_write = c.queued();
      }
      used = nl + 1;
    }
    return used;
  }
  void on_drained(Conn& c) override { take(c); }
};

TEST(ConnDetach, DetachInsideWakeKeepsUnconsumedInput) {
  DetachLater h;
  TestServer srv(h);
  Client cl = Client::tcp(srv.port());
  ASSERT_TRUE(wait_until([&] { return h.count() == 1; }));
  ASSERT_EQ(cl.send_all("one\npartial"), 11u);
  ASSERT_TRUE(wait_until([&] { return srv.stats().bytes_in == 11; }));
  ASSERT_FALSE(h.snapshot()[0].post([](Conn& c) { c.wake(); }));
  ASSERT_TRUE(wait_until([&] { return h.done.load(); }));
  std::lock_guard lock(h.dmu);
  ASSERT_GE(h.d.fd, 0);
  EXPECT_EQ(h.buffered_before.load(), 7u);
  // on_data(empty) after a wake does not see the held input, so detach must return it.
  EXPECT_EQ(h.d.unconsumed, "partial");
  ::close(h.d.fd);
}

TEST(ConnDetach, DetachInsideOnDrainedKeepsUnconsumedInput) {
  DetachLater h;
  h.big = pattern(16 * kMiB);
  TestServer srv(h);
  Client cl = Client::tcp(srv.port(), 4096);
  ASSERT_EQ(cl.send_all("big\npartial"), 11u);
  // (Copying 16 MiB into fresh pages can take 100 ms on a busy VM.)
  ASSERT_TRUE(wait_until([&] { return h.queued_after_write.load() > 0; }));
  EXPECT_FALSE(h.done.load());  // still queued: the client has not read
  EXPECT_EQ(cl.recv_exact(h.big.size(), 10s).size(), h.big.size());
  ASSERT_TRUE(wait_until([&] { return h.done.load(); }));
  std::lock_guard lock(h.dmu);
  ASSERT_GE(h.d.fd, 0);
  EXPECT_EQ(h.buffered_before.load(), 7u);
  EXPECT_EQ(h.d.unsent, "");
  EXPECT_EQ(h.d.unconsumed, "partial");
  ::close(h.d.fd);
}

// =====================================================================================
// 11. close() after write flushes; abort() drops.
// =====================================================================================

// "close\n": write `big` then close(); "abort\n": write `big` then abort().
struct BigThenClose : HandleRegistry {
  std::string big;
  std::atomic<std::size_t> queued_at_abort{0};
  std::size_t on_data(Conn& c, Bytes in) override {
    if (in == "close\n") {
      c.write(big);
      c.close();
    } else if (in == "abort\n") {
      c.write(big);
      queued_at_abort = c.queued();
      c.abort();
    }
    return in.size();
  }
};

TEST(ConnClose, CloseAfterWriteFlushesEverything) {
  BigThenClose h;
  h.big = pattern(16 * kMiB, 3);
  TestServer srv(h);
  Client cl = Client::tcp(srv.port(), 4096);
  ASSERT_EQ(cl.send_all("close\n"), 6u);
  std::this_thread::sleep_for(100ms);  // let the output queue up behind the small window
  std::string got = cl.recv_until_eof(30s);
  EXPECT_TRUE(cl.eof());
  EXPECT_EQ(got.size(), h.big.size());
  EXPECT_TRUE(got == h.big);
  ASSERT_TRUE(wait_until([&] { return h.closes.size() == 1; }));
  EXPECT_FALSE(h.closes.at(0)) << h.closes.at(0).message();
  EXPECT_EQ(srv.stats().closed_local, 1u);
  EXPECT_EQ(srv.stats().bytes_out, h.big.size());
}

TEST(ConnClose, CloseFromOtherThreadFlushesEverything) {
  BigThenClose h;
  h.big = pattern(8 * kMiB, 9);
  TestServer srv(h);
  Client cl = Client::tcp(srv.port(), 4096);
  ASSERT_TRUE(wait_until([&] { return h.count() == 1; }));
  ConnHandle handle = h.snapshot()[0];
  ASSERT_FALSE(handle.send(h.big));
  ASSERT_FALSE(handle.close());
  std::string got = cl.recv_until_eof(30s);
  EXPECT_TRUE(cl.eof());
  EXPECT_TRUE(got == h.big) << "got " << got.size() << " bytes";
  ASSERT_TRUE(wait_until([&] { return h.closes.size() == 1; }));
  EXPECT_FALSE(h.closes.at(0));
}

TEST(ConnClose, AbortDropsQueuedOutput) {
  BigThenClose h;
  h.big = pattern(16 * kMiB, 4);
  TestServer srv(h);
  Client cl = Client::tcp(srv.port(), 4096);
  ASSERT_EQ(cl.send_all("abort\n"), 6u);
  std::string got = cl.recv_until_eof(10s);
  EXPECT_TRUE(cl.peer_closed());
  EXPECT_LT(got.size(), h.big.size());
  EXPECT_EQ(pattern_mismatch(got, 4), std::string::npos);
  ASSERT_TRUE(wait_until([&] { return h.closes.size() == 1; }));
  EXPECT_EQ(h.closes.at(0), errc::aborted) << h.closes.at(0).message();
  EXPECT_GT(h.queued_at_abort.load(), 0u);
  EXPECT_EQ(srv.stats().closed_local, 1u);
  EXPECT_LT(srv.stats().bytes_out, h.big.size());
}

TEST(ConnClose, AbortFromOtherThreadDropsQueuedOutput) {
  BigThenClose h;
  h.big = pattern(16 * kMiB, 4);
  TestServer srv(h);
  Client cl = Client::tcp(srv.port(), 4096);
  ASSERT_TRUE(wait_until([&] { return h.count() == 1; }));
  ConnHandle handle = h.snapshot()[0];
  std::size_t queued = 0;
  ASSERT_TRUE(run_on(handle, [&](Conn& c) {
    c.write(h.big);
    queued = c.queued();
    c.abort();
  }));
  EXPECT_GT(queued, 0u);
  std::string got = cl.recv_until_eof(10s);
  EXPECT_LT(got.size(), h.big.size());
  ASSERT_TRUE(wait_until([&] { return h.closes.size() == 1; }));
  EXPECT_EQ(h.closes.at(0), errc::aborted);
  EXPECT_FALSE(handle.alive());
}

TEST(ConnFlow, PauseAndResumeReading) {
  // Pause from inside a callback: the first message is echoed, then nothing
  // is read until resume_reading().
  struct Pauser : EchoHandler {
    std::atomic<bool> paused{false};
    std::mutex mu;
    ConnHandle h;
    std::size_t on_data(Conn& c, Bytes in) override {
      c.write(in);
      if (!paused.exchange(true)) {
        c.pause_reading();
        std::lock_guard lock(mu);
        h = c.handle();
      }
      return in.size();
    }
  } p;
  TestServer srv(p);
  Client c2 = Client::tcp(srv.port());
  ASSERT_EQ(c2.send_all("first"), 5u);
  EXPECT_EQ(c2.recv_exact(5), "first");
  ASSERT_EQ(c2.send_all("second"), 6u);
  EXPECT_EQ(c2.recv_some(64, 200ms), "");
  EXPECT_EQ(srv.stats().bytes_in, 5u);
  ConnHandle h;
  {
    std::lock_guard lock(p.mu);
    h = p.h;
  }
  bool paused = false;
  ASSERT_TRUE(run_on(h, [&paused](Conn& c) {
    paused = c.reading_paused();
    c.resume_reading();
  }));
  EXPECT_TRUE(paused);
  EXPECT_EQ(c2.recv_exact(6), "second");
  EXPECT_EQ(srv.stats().bytes_in, 11u);
}

// =====================================================================================
// 12. on_drained and queued().
// =====================================================================================

struct DrainHandler : HandleRegistry {
  std::string big;
  std::atomic<std::size_t> queued_after_write{0};
  std::atomic<int> drained{0};
  std::atomic<std::size_t> queued_in_drained{999};
  std::atomic<std::uint64_t> out_at_drained{0};

  std::size_t on_data(Conn& c, Bytes in) override {
    if (in == "go\n") {
      c.write(big);
      queued_after_write = c.queued();
    } else {
      c.write(in);
    }
    return in.size();
  }
  void on_drained(Conn& c) override {
    queued_in_drained = c.queued();
    out_at_drained = c.server().stats().bytes_out;
    ++drained;
  }
};

TEST(ConnDrain, OnDrainedAfterQueueFlushes) {
  DrainHandler h;
  h.big = pattern(16 * kMiB);
  TestServer srv(h);
  Client cl = Client::tcp(srv.port(), 4096);
  ASSERT_TRUE(wait_until([&] { return h.count() == 1; }));
  ConnHandle handle = h.snapshot()[0];

  // Small writes go out at once: no on_drained.
  ASSERT_EQ(cl.send_all("hi"), 2u);
  EXPECT_EQ(cl.recv_exact(2), "hi");
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(h.drained.load(), 0);

  ASSERT_EQ(cl.send_all("go\n"), 3u);
  ASSERT_TRUE(wait_until([&] { return h.queued_after_write.load() > 0; }));
  EXPECT_LE(h.queued_after_write.load(), h.big.size());
  // queued() seen from a posted task while the client is not reading.
  std::size_t q = 0;
  ASSERT_TRUE(run_on(handle, [&q](Conn& c) { q = c.queued(); }));
  EXPECT_GT(q, 0u);
  EXPECT_EQ(h.drained.load(), 0);

  std::string got = cl.recv_exact(h.big.size(), 30s);
  EXPECT_TRUE(got == h.big);
  ASSERT_TRUE(wait_until([&] { return h.drained.load() == 1; }));
  EXPECT_EQ(h.queued_in_drained.load(), 0u);
  EXPECT_EQ(h.out_at_drained.load(), 2u + h.big.size());
  ASSERT_TRUE(run_on(handle, [&q](Conn& c) { q = c.queued(); }));
  EXPECT_EQ(q, 0u);
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(h.drained.load(), 1);
}

// =====================================================================================
// 13. Graceful stop.
// =====================================================================================

struct StopHandler : DrainHandler {
  std::atomic<int> shutdowns{0};
  void on_shutdown(Server&) override { ++shutdowns; }
};

TEST(ConnStop, GracefulStopAbortsSlowReaderAtDeadline) {
  StopHandler h;
  h.big = pattern(16 * kMiB);
  Config cfg = test_config();
  cfg.ncpu = 2;
  cfg.stop_timeout_ms = 500;
  TestServer srv(h, cfg);

  std::vector<Client> idle;
  for (int i = 0; i < 3; ++i)
    idle.push_back(Client::tcp(srv.port()));
  Client slow = Client::tcp(srv.port(), 4096);
  ASSERT_EQ(slow.send_all("go\n"), 3u);
  ASSERT_TRUE(wait_until([&] { return h.queued_after_write.load() > 0 && h.count() == 4; }));

  auto t0 = SteadyClock::now();
  srv.server().stop();
  srv.server().stop();  // a second call changes nothing
  // Idle connections close at once, well before the deadline.
  for (auto& c : idle) {
    EXPECT_TRUE(c.wait_closed(400ms));
    EXPECT_TRUE(c.eof());
  }
  srv.server().wait();
  auto took = SteadyClock::now() - t0;
  EXPECT_GE(took, 400ms);  // the slow reader held it until the deadline
  EXPECT_LT(took, 2500ms);
  EXPECT_EQ(h.shutdowns.load(), 1);

  auto st = srv.stats();
  EXPECT_TRUE(wait_until([&] { return srv.stats().open == 0; })) << "connections still open";
  EXPECT_EQ(st.closed, 4u);
  EXPECT_EQ(st.closed_stop, 1u);
  EXPECT_EQ(st.closed_local, 3u);
  int stopping = 0;
  for (auto ec : h.closes.all()) {
    if (ec == errc::server_stopping) {
      ++stopping;
    } else {
      EXPECT_FALSE(ec) << ec.message();
    }
  }
  EXPECT_EQ(stopping, 1);
  std::string got = slow.recv_until_eof(5s);
  EXPECT_TRUE(slow.peer_closed());
  EXPECT_LT(got.size(), h.big.size());
  // New connections are refused once stopped.
  EXPECT_THROW(Client::tcp(srv.port()), std::system_error);
  srv.stop_and_wait();
  EXPECT_EQ(h.shutdowns.load(), 1);
}

TEST(ConnStop, GracefulStopFlushesToReaderThatKeepsUp) {
  StopHandler h;
  h.big = pattern(16 * kMiB, 77);
  Config cfg = test_config();
  cfg.stop_timeout_ms = 10000;
  TestServer srv(h, cfg);
  Client slow = Client::tcp(srv.port(), 4096);
  ASSERT_EQ(slow.send_all("go\n"), 3u);
  ASSERT_TRUE(wait_until([&] { return h.queued_after_write.load() > 0; }));

  auto t0 = SteadyClock::now();
  srv.server().stop();
  std::string got = slow.recv_until_eof(20s);
  srv.server().wait();
  auto took = SteadyClock::now() - t0;
  EXPECT_TRUE(slow.eof());
  EXPECT_TRUE(got == h.big) << "got " << got.size() << " bytes";
  EXPECT_LT(took, 8s);
  EXPECT_EQ(h.shutdowns.load(), 1);
  EXPECT_EQ(srv.stats().closed_stop, 0u);
  ASSERT_EQ(h.closes.size(), 1u);
  EXPECT_FALSE(h.closes.at(0)) << h.closes.at(0).message();
}

// chanSize bounds user traffic; it must not turn a graceful stop into an
// abrupt one when the queue happens to be full at that moment.
TEST(ConnStop, StopIsGracefulEvenWhenTaskQueueIsFull) {
  StopHandler h;
  Config cfg = test_config();
  cfg.chan_size = 1;
  cfg.stop_timeout_ms = 2000;
  TestServer srv(h, cfg);
  Client cl = Client::tcp(srv.port());
  ASSERT_TRUE(wait_until([&] { return h.count() == 1; }));
  const ConnHandle handle = h.snapshot()[0];

  std::atomic<bool> started{false}, release{false};
  ASSERT_FALSE(handle.post([&](Conn&) {
    started = true;
    wait_until([&] { return release.load(); }, 3s);
  }));
  ASSERT_TRUE(wait_until([&] { return started.load(); }));
  ASSERT_FALSE(handle.post([](Conn&) {}));  // the queue now holds chanSize tasks
  EXPECT_EQ(handle.post([](Conn&) {}), errc::queue_full);

  srv.server().stop();
  release = true;
  srv.server().wait();
  EXPECT_EQ(h.shutdowns.load(), 1) << "stop() degraded to an abrupt halt";
  // Graceful: the connection was closed (orderly) before wait() returned.
  EXPECT_EQ(h.closes.size(), 1u);
  EXPECT_EQ(srv.stats().closed_local, 1u);
  EXPECT_TRUE(cl.wait_closed(100ms));
  EXPECT_TRUE(cl.eof());
}

TEST(ConnStop, StopWithNoConnectionsIsQuick) {
  StopHandler h;
  Config cfg = test_config();
  cfg.ncpu = 2;
  TestServer srv(h, cfg);
  auto t0 = SteadyClock::now();
  srv.stop_and_wait();
  EXPECT_LT(SteadyClock::now() - t0, 1s);
  EXPECT_EQ(h.shutdowns.load(), 1);
}

// =====================================================================================
// 14. Actions and ticks.
// =====================================================================================

TEST(ConnActions, OnOpenCloseClosesAfterFlushing) {
  weft::Callbacks cb;
  CloseLog closes;
  cb.open = [](Conn& c) {
    c.write("bye\n");
    return Action::close;
  };
  cb.closed = [&closes](Conn&, std::error_code why) { closes.add(why); };
  TestServer srv(cb);
  for (int i = 0; i < 3; ++i) {
    Client cl = Client::tcp(srv.port());
    EXPECT_EQ(cl.recv_until_eof(5s), "bye\n");
    EXPECT_TRUE(cl.eof());
  }
  ASSERT_TRUE(wait_until([&] { return closes.size() == 3; }));
  for (auto ec : closes.all())
    EXPECT_FALSE(ec) << ec.message();
  EXPECT_EQ(srv.stats().closed_local, 3u);
  EXPECT_TRUE(wait_until([&] { return srv.stats().open == 0; })) << "connections still open";
}

TEST(ConnActions, OnOpenShutdownStopsServer) {
  weft::Callbacks cb;
  std::atomic<int> opens{0};
  cb.open = [&opens](Conn&) {
    ++opens;
    return Action::shutdown;
  };
  TestServer srv(cb);
  Client cl = Client::tcp(srv.port());
  EXPECT_TRUE(cl.wait_closed(3s));
  auto t0 = SteadyClock::now();
  srv.server().wait();
  EXPECT_LT(SteadyClock::now() - t0, 2s);
  EXPECT_EQ(opens.load(), 1);
}

TEST(ConnActions, TickRepeats) {
  weft::Callbacks cb;
  std::mutex mu;
  std::vector<SteadyClock::time_point> ticks;
  cb.data = [](Conn&, Bytes in) { return in.size(); };
  cb.tick = [&](Server&) {
    std::lock_guard lock(mu);
    ticks.push_back(SteadyClock::now());
    return Tick{.next = 20ms};
  };
  TestServer srv(cb);
  std::this_thread::sleep_for(300ms);
  srv.stop_and_wait();
  std::lock_guard lock(mu);
  EXPECT_GE(ticks.size(), 6u);
  EXPECT_LE(ticks.size(), 17u);
  for (std::size_t i = 1; i < ticks.size(); ++i) {
    EXPECT_GE(ticks[i] - ticks[i - 1], 19ms) << "tick " << i;
  }
}

TEST(ConnActions, TickShutdownStopsServer) {
  weft::Callbacks cb;
  std::atomic<int> ticks{0};
  std::atomic<int> shutdowns{0};
  cb.tick = [&](Server&) {
    // Slow enough that the client below connects before the shutdown.
    if (++ticks == 3) return Tick{.next = 100ms, .action = Action::shutdown};
    return Tick{.next = 100ms};
  };
  struct WithShutdown : weft::Handler {
    weft::Callbacks* cb;
    std::atomic<int>* shutdowns;
    Tick on_tick(Server& s) override { return cb->on_tick(s); }
    std::size_t on_data(Conn&, Bytes in) override { return in.size(); }
    void on_shutdown(Server&) override { ++*shutdowns; }
  } h;
  h.cb = &cb;
  h.shutdowns = &shutdowns;
  TestServer srv(h);
  Client idle = Client::tcp(srv.port());
  auto t0 = SteadyClock::now();
  srv.server().wait();
  EXPECT_LT(SteadyClock::now() - t0, 3s);
  EXPECT_EQ(ticks.load(), 3);
  EXPECT_EQ(shutdowns.load(), 1);
  EXPECT_TRUE(idle.wait_closed(1s));
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(ticks.load(), 3);
}

}  // namespace
