// weft::Server end to end over loopback: per-loop SO_REUSEPORT listeners,
// the shared acceptor's balancing strategies, several listen addresses at
// once, UDP, descriptor exhaustion, maxAcceptFD, graceful stop by signal,
// configuration errors, printStat and the echo example binary.
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <dirent.h>
#include <atomic>
#include <cstdio>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "server_support.hpp"
#include "weft/weft.hpp"

#ifndef WEFT_EXAMPLES_DIR
#error "WEFT_EXAMPLES_DIR must name the directory holding the built examples"
#endif

namespace {

using namespace std::chrono_literals;
using weft::Config;
using weft::LbStrategy;
using weft::srvtest::Child;
using weft::srvtest::Client;
using weft::srvtest::Fd;
using weft::srvtest::LogCapture;
using weft::srvtest::Started;
using weft::srvtest::UdpClient;
using weft::srvtest::wait_until;

// Echo, plus two queries a test can ask a connection:
//   "?" -> "<listener index> <loop index>\n"
//   "#" -> "fd_exhausted=<n>\n"
// Datagrams are echoed; a "?" datagram gets "<listener> <loop>" back.
class ProbeEcho final : public weft::Handler {
 public:
  std::size_t on_data(weft::Conn& c, weft::Bytes in) override {
    if (in == "?") {
      c.write(std::to_string(c.listener()) + " " + std::to_string(c.loop().index()) + "\n");
    } else if (in == "#") {
      c.write("fd_exhausted=" + std::to_string(c.server().stats().fd_exhausted) + "\n");
    } else {
      c.write(in);
    }
    return in.size();
  }
  void on_datagram(weft::Datagram& d) override {
    if (d.data() == "?") {
      (void)d.reply(std::to_string(d.listener()) + " " + std::to_string(d.loop().index()));
    } else {
      (void)d.reply(d.data());
    }
  }
};

// Which listener and loop a connection landed on, asked over the wire.
struct Where {
  int listener = -1;
  int loop = -1;
};

Where ask_where(Client& c) {
  Where w;
  if (!c.send_all("?")) return w;
  std::string line = c.recv_line();
  if (std::sscanf(line.c_str(), "%d %d", &w.listener, &w.loop) != 2) return {};
  return w;
}

Config config_for(std::vector<std::string> listen, int ncpu) {
  Config cfg;
  cfg.listen = std::move(listen);
  cfg.ncpu = ncpu;
  cfg.stop_timeout_ms = 2000;
  return cfg;
}

std::string unique_unix_path(const char* tag) {
  return "/tmp/weft-test-" + std::to_string(::getpid()) + "-" + tag + ".sock";
}

bool file_exists(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0;
}

// Listening TCP sockets of this process bound to `port`.
int listening_sockets_on(std::uint16_t port) {
  int n = 0;
  DIR* dir = ::opendir("/proc/self/fd");
  if (dir == nullptr) return -1;
  std::vector<int> fds;
  while (dirent* e = ::readdir(dir)) {
    if (e->d_name[0] != '.') fds.push_back(std::atoi(e->d_name));
  }
  ::closedir(dir);
  for (int fd : fds) {
    int listening = 0;
    socklen_t len = sizeof listening;
    if (::getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) < 0 || !listening) continue;
    sockaddr_storage ss{};
    socklen_t slen = sizeof ss;
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &slen) < 0) continue;
    if (ss.ss_family == AF_INET &&
        ntohs(reinterpret_cast<const sockaddr_in&>(ss).sin_port) == port) {
      ++n;
    }
  }
  return n;
}

// --- per-loop SO_REUSEPORT listeners -------------------------------------------

TEST(ServerTest, ReusePortListenersSpreadConnectionsOverBothLoops) {
  ProbeEcho h;
  Started s(h, config_for({"tcp://127.0.0.1:0"}, 2));
  ASSERT_TRUE(s.ok()) << s.error().message();
  ASSERT_EQ(s->loop_count(), 2u);
  std::map<int, int> by_loop;
  for (int i = 0; i < 200; ++i) {
    Client c = Client::connect_url(s.url());
    ASSERT_TRUE(c.valid()) << "connection " << i;
    Where w = ask_where(c);
    ASSERT_GE(w.loop, 0) << "connection " << i;
    EXPECT_EQ(w.listener, 0);
    ++by_loop[w.loop];
  }
  ASSERT_TRUE(wait_until(
      [&] { return s->loop_stats(0).accepted.get() + s->loop_stats(1).accepted.get() == 200; }));
  EXPECT_GT(s->loop_stats(0).accepted.get(), 0u);
  EXPECT_GT(s->loop_stats(1).accepted.get(), 0u);
  EXPECT_EQ(static_cast<std::uint64_t>(by_loop[0]), s->loop_stats(0).accepted.get());
  EXPECT_EQ(static_cast<std::uint64_t>(by_loop[1]), s->loop_stats(1).accepted.get());
  EXPECT_TRUE(wait_until([&] { return s->stats().open == 0; }));
}

TEST(ServerTest, PortZeroWithReusePortGivesEveryLoopTheSamePort) {
  ProbeEcho h;
  Started s(h, config_for({"tcp://127.0.0.1:0", "udp://127.0.0.1:0"}, 2));
  ASSERT_TRUE(s.ok()) << s.error().message();
  auto addrs = s->addresses();
  ASSERT_EQ(addrs.size(), 2u);
  const auto tcp = weft::srvtest::split_url(addrs[0]);
  EXPECT_EQ(tcp.scheme, "tcp");
  EXPECT_EQ(tcp.host, "127.0.0.1");
  ASSERT_NE(tcp.port, 0);
  // One listening socket per loop, all on the one real port.
  EXPECT_EQ(listening_sockets_on(tcp.port), 2);
  // And both loops really accept on it.
  std::set<int> loops;
  for (int i = 0; i < 200 && loops.size() < 2; ++i) {
    Client c = Client::connect_url(addrs[0]);
    ASSERT_TRUE(c.valid());
    loops.insert(ask_where(c).loop);
  }
  EXPECT_EQ(loops, (std::set<int>{0, 1}));
  // UDP: the reply comes from the port the client sent to, whichever loop took it.
  UdpClient u;
  ASSERT_TRUE(u.valid());
  ASSERT_TRUE(u.send_to(addrs[1], "hello"));
  std::uint16_t from = 0;
  auto reply = u.recv(2000ms, &from);
  ASSERT_TRUE(reply);
  EXPECT_EQ(*reply, "hello");
  EXPECT_EQ(from, weft::srvtest::split_url(addrs[1]).port);
}

// --- one acceptor, connections balanced over loops -----------------------------

// Opens `n` connections one after another, each confirmed by a "?" round
// trip (so the acceptor has placed it before the next one connects).
std::vector<std::pair<Client, int>> open_sequential(const std::string& url, int n,
                                                    const char* bind_ip = nullptr) {
  std::vector<std::pair<Client, int>> out;
  for (int i = 0; i < n; ++i) {
    Client c = Client::connect_url(url, bind_ip);
    if (!c.valid()) break;
    Where w = ask_where(c);
    if (w.loop < 0) break;
    out.emplace_back(std::move(c), w.loop);
  }
  return out;
}

std::map<int, int> count_loops(const std::vector<std::pair<Client, int>>& conns) {
  std::map<int, int> m;
  for (const auto& [c, loop] : conns)
    ++m[loop];
  return m;
}

Config shared_acceptor_config(LbStrategy lb) {
  Config cfg = config_for({"tcp://127.0.0.1:0?reuseport=false"}, 2);
  cfg.lb_strategy = lb;
  return cfg;
}

TEST(ServerTest, RoundRobinSplitsConnectionsEvenly) {
  ProbeEcho h;
  Started s(h, shared_acceptor_config(LbStrategy::rr));
  ASSERT_TRUE(s.ok()) << s.error().message();
  EXPECT_EQ(listening_sockets_on(weft::srvtest::split_url(s.url()).port), 1);
  auto conns = open_sequential(s.url(), 100);
  ASSERT_EQ(conns.size(), 100u);
  auto m = count_loops(conns);
  EXPECT_EQ(m[0], 50);
  EXPECT_EQ(m[1], 50);
  // Strict alternation.
  for (std::size_t i = 1; i < conns.size(); ++i) {
    EXPECT_NE(conns[i].second, conns[i - 1].second) << "connection " << i;
  }
  EXPECT_EQ(s->loop_stats(0).accepted.get(), 50u);
  EXPECT_EQ(s->loop_stats(1).accepted.get(), 50u);
  // Each still echoes on the loop it was handed to.
  for (auto& [c, loop] : conns)
    EXPECT_TRUE(c.echo("ping"));
}

TEST(ServerTest, LeastConnFillsTheEmptierLoop) {
  ProbeEcho h;
  Started s(h, shared_acceptor_config(LbStrategy::leastconn));
  ASSERT_TRUE(s.ok()) << s.error().message();
  auto conns = open_sequential(s.url(), 20);
  ASSERT_EQ(conns.size(), 20u);
  auto m = count_loops(conns);
  EXPECT_EQ(m[0], 10);
  EXPECT_EQ(m[1], 10);

  // Close every connection on loop 0; the next ten must all go there.
  int closed_on_0 = 0;
  for (auto& [c, loop] : conns) {
    if (loop == 0) {
      c.close();
      ++closed_on_0;
    }
  }
  ASSERT_EQ(closed_on_0, 10);
  ASSERT_TRUE(wait_until([&] { return s->loop_stats(0).open.get() == 0; }));
  auto more = open_sequential(s.url(), 10);
  ASSERT_EQ(more.size(), 10u);
  auto m2 = count_loops(more);
  EXPECT_EQ(m2[0], 10) << "leastconn sent " << m2[1] << " of 10 to the fuller loop";
  EXPECT_EQ(s->loop_stats(0).open.get(), 10u);
  EXPECT_EQ(s->loop_stats(1).open.get(), 10u);
}

TEST(ServerTest, LeastConnStaysBalancedUnderChurn) {
  ProbeEcho h;
  Started s(h, shared_acceptor_config(LbStrategy::leastconn));
  ASSERT_TRUE(s.ok()) << s.error().message();
  auto conns = open_sequential(s.url(), 40);
  ASSERT_EQ(conns.size(), 40u);
  // Close every third one, wait for the server to see it, then refill.
  std::size_t closed = 0;
  for (std::size_t i = 0; i < conns.size(); i += 3) {
    conns[i].first.close();
    ++closed;
  }
  ASSERT_TRUE(wait_until([&] { return s->stats().open == 40 - closed; }));
  auto more = open_sequential(s.url(), static_cast<int>(closed));
  ASSERT_EQ(more.size(), closed);
  auto open0 = s->loop_stats(0).open.get();
  auto open1 = s->loop_stats(1).open.get();
  EXPECT_EQ(open0 + open1, 40u);
  EXPECT_LE(open0 > open1 ? open0 - open1 : open1 - open0, 1u)
      << "loop 0 has " << open0 << ", loop 1 has " << open1;
}

TEST(ServerTest, HashSendsOneClientAddressToOneLoop) {
  ProbeEcho h;
  Started s(h, shared_acceptor_config(LbStrategy::hash));
  ASSERT_TRUE(s.ok()) << s.error().message();
  auto from1 = open_sequential(s.url(), 20);
  ASSERT_EQ(from1.size(), 20u);
  EXPECT_EQ(count_loops(from1).size(), 1u) << "127.0.0.1 was spread over loops";
  if (weft::srvtest::ipv4_bindable("127.0.0.2")) {
    auto from2 = open_sequential(s.url(), 20, "127.0.0.2");
    ASSERT_EQ(from2.size(), 20u);
    EXPECT_EQ(count_loops(from2).size(), 1u) << "127.0.0.2 was spread over loops";
    // The two addresses may or may not share a loop; only stability is promised.
    auto again = open_sequential(s.url(), 5, "127.0.0.2");
    ASSERT_EQ(again.size(), 5u);
    for (const auto& c : again)
      EXPECT_EQ(c.second, from2.front().second);
  }
  auto again1 = open_sequential(s.url(), 5);
  ASSERT_EQ(again1.size(), 5u);
  for (const auto& c : again1)
    EXPECT_EQ(c.second, from1.front().second);
}

TEST(ServerTest, RandomUsesBothLoops) {
  ProbeEcho h;
  Started s(h, shared_acceptor_config(LbStrategy::random));
  ASSERT_TRUE(s.ok()) << s.error().message();
  auto conns = open_sequential(s.url(), 100);
  ASSERT_EQ(conns.size(), 100u);
  auto m = count_loops(conns);
  EXPECT_GT(m[0], 0);
  EXPECT_GT(m[1], 0);
  EXPECT_EQ(s->stats().accepted, 100u);
}

TEST(ServerTest, SharedAcceptorWithOneLoopKeepsEverythingThere) {
  ProbeEcho h;
  Started s(h, config_for({"tcp://127.0.0.1:0?reuseport=false"}, 1));
  ASSERT_TRUE(s.ok()) << s.error().message();
  auto conns = open_sequential(s.url(), 10);
  ASSERT_EQ(conns.size(), 10u);
  EXPECT_EQ(count_loops(conns), (std::map<int, int>{{0, 10}}));
}

// --- several listen addresses in one server -------------------------------------

TEST(ServerTest, SeveralListenAddressesReportPortsAndServeEach) {
  if (!weft::srvtest::ipv6_loopback_available()) {
    GTEST_SKIP() << "::1 cannot be bound on this host (no IPv6 loopback)";
  }
  const std::string sock = "/tmp/weft-test-" + std::to_string(::getpid()) + ".sock";
  ProbeEcho h;
  {
    Started s(
        h, config_for(
               {"tcp://127.0.0.1:0", "tcp6://[::1]:0", "unix://" + sock, "udp://127.0.0.1:0"}, 2));
    ASSERT_TRUE(s.ok()) << s.error().message();
    auto addrs = s->addresses();
    ASSERT_EQ(addrs.size(), 4u);
    auto p0 = weft::srvtest::split_url(addrs[0]);
    auto p1 = weft::srvtest::split_url(addrs[1]);
    auto p3 = weft::srvtest::split_url(addrs[3]);
    EXPECT_EQ(p0.scheme, "tcp");
    EXPECT_EQ(p0.host, "127.0.0.1");
    EXPECT_NE(p0.port, 0);
    EXPECT_EQ(p1.scheme, "tcp6");
    EXPECT_EQ(p1.host, "::1");
    EXPECT_NE(p1.port, 0);
    EXPECT_EQ(addrs[1], "tcp6://[::1]:" + std::to_string(p1.port));
    EXPECT_EQ(addrs[2], "unix://" + sock);
    EXPECT_EQ(p3.scheme, "udp");
    EXPECT_EQ(p3.host, "127.0.0.1");
    EXPECT_NE(p3.port, 0);
    EXPECT_TRUE(file_exists(sock));

    // Stream listeners: Conn::listener() names the address, and each echoes.
    for (int i = 0; i < 3; ++i) {
      for (int k = 0; k < 4; ++k) {  // a few each, so both loops get some
        Client c = Client::connect_url(addrs[static_cast<std::size_t>(i)]);
        ASSERT_TRUE(c.valid()) << addrs[static_cast<std::size_t>(i)];
        Where w = ask_where(c);
        EXPECT_EQ(w.listener, i) << addrs[static_cast<std::size_t>(i)];
        const std::string msg = "hello over " + addrs[static_cast<std::size_t>(i)];
        EXPECT_TRUE(c.echo(msg)) << addrs[static_cast<std::size_t>(i)];
      }
    }
    // The datagram listener.
    UdpClient u;
    ASSERT_TRUE(u.valid());
    ASSERT_TRUE(u.send_to(addrs[3], "?"));
    auto where = u.recv();
    ASSERT_TRUE(where);
    EXPECT_EQ(where->substr(0, 2), "3 ");
    ASSERT_TRUE(u.send_to(addrs[3], "udp hello"));
    auto echo = u.recv();
    ASSERT_TRUE(echo);
    EXPECT_EQ(*echo, "udp hello");
  }
  EXPECT_FALSE(file_exists(sock)) << "the unix socket file outlived the server";
}

TEST(ServerTest, UnixSocketFileIsRemovedWhenTheServerStops) {
  const std::string sock = unique_unix_path("stop");
  ProbeEcho h;
  Started s(h, config_for({"unix://" + sock}, 1));
  ASSERT_TRUE(s.ok()) << s.error().message();
  ASSERT_TRUE(file_exists(sock));
  {
    Client c = Client::connect_unix(sock);
    ASSERT_TRUE(c.valid());
    EXPECT_TRUE(c.echo("x"));
  }
  s.stop();  // stop() + wait(); the Server object still exists
  EXPECT_FALSE(file_exists(sock)) << "a stopped server left " << sock << " behind";
  ::unlink(sock.c_str());
}

TEST(ServerTest, StaleUnixSocketFileIsReplaced) {
  const std::string sock = unique_unix_path("stale");
  {
    // A socket file nobody listens on, as a crashed server leaves it.
    Fd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_un un{};
    un.sun_family = AF_UNIX;
    std::memcpy(un.sun_path, sock.c_str(), sock.size() + 1);
    ASSERT_EQ(::bind(fd.get(), reinterpret_cast<sockaddr*>(&un), sizeof un), 0);
  }
  ASSERT_TRUE(file_exists(sock));
  ProbeEcho h;
  {
    Started s(h, config_for({"unix://" + sock}, 1));
    ASSERT_TRUE(s.ok()) << s.error().message();
    Client c = Client::connect_unix(sock);
    ASSERT_TRUE(c.valid());
    EXPECT_TRUE(c.echo("stale"));
  }
  EXPECT_FALSE(file_exists(sock));
}

TEST(ServerTest, UnixPathOfALiveServerIsNotTakenOver) {
  const std::string sock = unique_unix_path("live");
  ProbeEcho h1, h2;
  Started first(h1, config_for({"unix://" + sock}, 1));
  ASSERT_TRUE(first.ok()) << first.error().message();
  {
    LogCapture logs;
    Started second(h2, config_for({"unix://" + sock}, 1));
    EXPECT_FALSE(second.ok()) << "a second server bound " << sock
                              << " while the first still listens on it";
  }
  // Whatever the second one did, the first must still be reachable by path.
  Client c = Client::connect_unix(sock);
  EXPECT_TRUE(c.valid()) << "the live server's socket file was unlinked";
  if (c.valid()) {
    EXPECT_TRUE(c.echo("still here"));
  }
  first.stop();
  ::unlink(sock.c_str());
}

// --- UDP ------------------------------------------------------------------------

TEST(ServerTest, UdpEchoRepliesToTheRightSenderAndCounts) {
  ProbeEcho h;
  Started s(h, config_for({"udp://127.0.0.1:0"}, 2));
  ASSERT_TRUE(s.ok()) << s.error().message();
  const std::string url = s.url();
  UdpClient a, b;
  ASSERT_TRUE(a.valid() && b.valid());
  constexpr int kEach = 50;
  auto payload = [](char who, int i) {
    std::string p = std::string(1, who) + "-" + std::to_string(i) + "-";
    for (int k = 0; k < 20 + i * 7; ++k)
      p.push_back(static_cast<char>('a' + (k + i) % 26));
    p.push_back('\0');  // binary-safe
    p.push_back('\xff');
    return p;
  };
  // Interleaved bursts: both clients send everything, then read everything.
  std::multiset<std::string> sent_a, sent_b;
  for (int i = 0; i < kEach; ++i) {
    ASSERT_TRUE(a.send_to(url, payload('a', i)));
    sent_a.insert(payload('a', i));
    ASSERT_TRUE(b.send_to(url, payload('b', i)));
    sent_b.insert(payload('b', i));
  }
  std::multiset<std::string> got_a, got_b;
  for (int i = 0; i < kEach; ++i) {
    auto ra = a.recv();
    ASSERT_TRUE(ra) << "client a: datagram " << i << " never came back";
    got_a.insert(*ra);
    auto rb = b.recv();
    ASSERT_TRUE(rb) << "client b: datagram " << i << " never came back";
    got_b.insert(*rb);
  }
  EXPECT_EQ(got_a, sent_a);
  EXPECT_EQ(got_b, sent_b);
  EXPECT_FALSE(a.recv(50ms)) << "client a got an extra datagram";
  EXPECT_FALSE(b.recv(50ms)) << "client b got an extra datagram";
  EXPECT_TRUE(wait_until([&] {
    auto st = s->stats();
    return st.datagrams_in == 2 * kEach && st.datagrams_out == 2 * kEach;
  }));
  auto st = s->stats();
  EXPECT_EQ(st.datagrams_in, 2u * kEach);
  EXPECT_EQ(st.datagrams_out, 2u * kEach);
  EXPECT_EQ(st.accepted, 0u);
  EXPECT_EQ(st.bytes_in, st.bytes_out);
}

TEST(ServerTest, UdpEmptyDatagramIsDeliveredAndEchoed) {
  ProbeEcho h;
  Started s(h, config_for({"udp://127.0.0.1:0"}, 1));
  ASSERT_TRUE(s.ok()) << s.error().message();
  UdpClient u;
  ASSERT_TRUE(u.send_to(s.url(), ""));
  auto r = u.recv();
  ASSERT_TRUE(r) << "an empty datagram got no reply";
  EXPECT_EQ(*r, "");
  EXPECT_TRUE(wait_until([&] { return s->stats().datagrams_in == 1; }));
}

// --- descriptor exhaustion ------------------------------------------------------

// Runs in a forked child with a small RLIMIT_NOFILE: an echo server on
// 127.0.0.1:0 that reports its port on `report`, serves until `ctl` is
// closed, then reports the server's fd_exhausted count and exits 0.
int exhaustion_child(int report, int ctl) {
  weft::set_log_level(weft::LogLevel::off);  // one warning per backoff otherwise
  int open_now = 0;
  if (DIR* d = ::opendir("/proc/self/fd")) {
    while (dirent* e = ::readdir(d))
      open_now += e->d_name[0] != '.';
    ::closedir(d);
  }
  rlimit lim{};
  ::getrlimit(RLIMIT_NOFILE, &lim);
  lim.rlim_cur = static_cast<rlim_t>(open_now + 40);
  if (::setrlimit(RLIMIT_NOFILE, &lim) < 0) return 10;
  try {
    ProbeEcho h;
    Config cfg = config_for({"tcp://127.0.0.1:0"}, 1);
    weft::Server server(h, cfg);
    if (server.start()) return 11;
    std::uint16_t port = weft::srvtest::split_url(server.addresses().at(0)).port;
    if (::write(report, &port, sizeof port) != sizeof port) return 12;
    char c;
    while (::read(ctl, &c, 1) > 0) {
    }
    std::uint64_t exhausted = server.stats().fd_exhausted;
    server.stop();
    server.wait();
    if (::write(report, &exhausted, sizeof exhausted) != sizeof exhausted) return 13;
    return 0;
  } catch (...) {
    return 14;
  }
}

template <typename T>
bool read_with_timeout(int fd, T& out, std::chrono::milliseconds timeout) {
  pollfd pfd{fd, POLLIN, 0};
  if (::poll(&pfd, 1, static_cast<int>(timeout.count())) <= 0) return false;
  return ::read(fd, &out, sizeof out) == static_cast<ssize_t>(sizeof out);
}

TEST(ServerTest, DescriptorExhaustionNeitherSpinsNorDiesAndRecovers) {
  int report[2], ctl[2];
  ASSERT_EQ(::pipe2(report, O_CLOEXEC), 0);
  ASSERT_EQ(::pipe2(ctl, O_CLOEXEC), 0);
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::close(report[0]);
    ::close(ctl[1]);
    ::_exit(exhaustion_child(report[1], ctl[0]));
  }
  ::close(report[1]);
  ::close(ctl[0]);
  Fd report_rd(report[0]);
  Fd ctl_wr(ctl[1]);
  struct Reaper {
    pid_t pid;
    ~Reaper() { weft::srvtest::kill_and_reap(pid); }
  } reaper{pid};

  std::uint16_t port = 0;
  ASSERT_TRUE(read_with_timeout(report_rd.get(), port, 5000ms)) << "the child server never started";
  const std::string url = "tcp://127.0.0.1:" + std::to_string(port);

  // Many more clients than the child has descriptors for.
  std::vector<Client> clients;
  for (int i = 0; i < 80; ++i) {
    Client c = Client::connect_url(url);
    ASSERT_TRUE(c.valid()) << "connect " << i;
    clients.push_back(std::move(c));
  }
  // The first ones are served; once descriptors run out the rest are not.
  EXPECT_TRUE(clients.front().echo("early"));
  std::this_thread::sleep_for(300ms);

  // One second of exhaustion: the server must stay alive and mostly idle.
  const double cpu0 = weft::srvtest::cpu_seconds(pid);
  const auto t0 = std::chrono::steady_clock::now();
  std::this_thread::sleep_for(1000ms);
  const double cpu1 = weft::srvtest::cpu_seconds(pid);
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  ASSERT_GE(cpu0, 0);
  EXPECT_LT((cpu1 - cpu0) / wall, 0.3) << "the server burnt " << (cpu1 - cpu0) << " s of CPU in "
                                       << wall << " s while out of descriptors";
  ASSERT_FALSE(weft::srvtest::wait_exit(pid, 0ms)) << "the server died while out of descriptors";
  // The connections it did accept still work.
  EXPECT_TRUE(clients.front().echo("still serving"));

  // Release every client: a new one must be served within ~2 s.
  clients.clear();
  bool served = wait_until(
      [&] {
        Client c = Client::connect_url(url);
        return c.valid() && c.echo("after", 300ms);
      },
      2500ms);
  EXPECT_TRUE(served) << "no client was served after descriptors were released";
  Client probe = Client::connect_url(url);
  ASSERT_TRUE(probe.valid());
  ASSERT_TRUE(probe.send_all("#"));
  std::string line = probe.recv_line();
  unsigned long long exhausted = 0;
  EXPECT_EQ(std::sscanf(line.c_str(), "fd_exhausted=%llu", &exhausted), 1) << line;
  EXPECT_GE(exhausted, 1u);
  probe.close();

  ctl_wr.reset();  // the child stops its server and exits
  std::uint64_t final_exhausted = 0;
  EXPECT_TRUE(read_with_timeout(report_rd.get(), final_exhausted, 5000ms));
  auto status = weft::srvtest::wait_exit(pid, 5000ms);
  ASSERT_TRUE(status) << "the child did not exit after its server was stopped";
  reaper.pid = -1;
  EXPECT_TRUE(WIFEXITED(*status));
  EXPECT_EQ(WEXITSTATUS(*status), 0);
  EXPECT_GE(final_exhausted, 1u);
  RecordProperty("fd_exhausted", std::to_string(final_exhausted));
}

// --- maxAcceptFD ----------------------------------------------------------------

TEST(ServerTest, MaxAcceptFdHoldsNewConnectionsUntilSomeClose) {
  ProbeEcho h;
  Config cfg = config_for({"tcp://127.0.0.1:0"}, 1);
  cfg.max_accept_fd = 5;
  Started s(h, cfg);
  ASSERT_TRUE(s.ok()) << s.error().message();

  std::vector<Client> first;
  for (int i = 0; i < 5; ++i) {
    first.push_back(Client::connect_url(s.url()));
    ASSERT_TRUE(first.back().valid());
    ASSERT_TRUE(first.back().echo("in")) << "connection " << i << " of the first five";
  }
  std::vector<Client> waiting;
  for (int i = 0; i < 5; ++i) {
    waiting.push_back(Client::connect_url(s.url()));  // the kernel still completes the handshake
    ASSERT_TRUE(waiting.back().valid());
    ASSERT_TRUE(waiting.back().send_all("w"));
  }
  std::this_thread::sleep_for(300ms);
  for (std::size_t i = 0; i < waiting.size(); ++i) {
    EXPECT_TRUE(waiting[i].silent_for(0ms)) << "connection " << 6 + i << " was served over the cap";
  }
  EXPECT_EQ(s->stats().accepted, 5u);
  EXPECT_EQ(s->stats().open, 5u);

  // Two leave: two of the waiting ones (the oldest) get in and are answered.
  first[0].close();
  first[1].close();
  std::vector<bool> answered(waiting.size(), false);
  auto count_answered = [&] {
    int n = 0;
    for (std::size_t i = 0; i < waiting.size(); ++i) {
      if (!answered[i] && !waiting[i].silent_for(0ms)) {
        answered[i] = waiting[i].recv_exact(1, 100ms) == "w";
      }
      n += answered[i] ? 1 : 0;
    }
    return n;
  };
  EXPECT_TRUE(wait_until([&] { return count_answered() >= 2; }, 2000ms));
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(count_answered(), 2) << "the cap of 5 open connections was not kept";
  EXPECT_TRUE(answered[0] && answered[1]) << "accepts were not in arrival order";
  EXPECT_EQ(s->stats().open, 5u);
  EXPECT_EQ(s->stats().accepted, 7u);
  for (std::size_t i = 2; i < first.size(); ++i)
    EXPECT_TRUE(first[i].echo("still"));
}

// --- graceful stop by signal, the echo example ---------------------------------

const std::string kEchoBin = std::string(WEFT_EXAMPLES_DIR) + "/echo";

// Reads the child's "listening on URL" line; empty on timeout.
std::string listening_url(Child& child) {
  auto line = child.read_line(5000ms);
  const std::string prefix = "listening on ";
  if (!line || line->rfind(prefix, 0) != 0) return {};
  return line->substr(prefix.size());
}

TEST(ServerTest, EchoExampleStopsGracefullyOnSigterm) {
  ASSERT_EQ(::access(kEchoBin.c_str(), X_OK), 0) << kEchoBin << " is not built";
  Child child({kEchoBin, "--listen", "tcp://127.0.0.1:0", "--loops", "2"});
  ASSERT_GT(child.pid(), 0);
  std::string url = listening_url(child);
  ASSERT_FALSE(url.empty()) << "echo never printed its address";
  Client c = Client::connect_url(url);
  ASSERT_TRUE(c.valid());
  EXPECT_TRUE(c.echo("before the signal"));

  const auto t0 = std::chrono::steady_clock::now();
  ASSERT_EQ(::kill(child.pid(), SIGTERM), 0);
  auto status = child.wait(5500ms);  // the default stopTimeout is 5 s
  ASSERT_TRUE(status) << "echo did not exit within stopTimeout after SIGTERM";
  EXPECT_TRUE(WIFEXITED(*status)) << "status " << *status;
  EXPECT_EQ(WEXITSTATUS(*status), 0);
  // An idle connection needs no deadline: the stop is quick.
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 2000ms);
  EXPECT_TRUE(c.wait_closed(1000ms)) << "the client's connection was not closed";
}

TEST(ServerTest, EchoExampleServesTcpAndStopsOnSigint) {
  ASSERT_EQ(::access(kEchoBin.c_str(), X_OK), 0) << kEchoBin << " is not built";
  Child child({kEchoBin, "--listen", "tcp://127.0.0.1:0", "--loops", "2"});
  std::string url = listening_url(child);
  ASSERT_FALSE(url.empty()) << "echo never printed its address";
  auto parts = weft::srvtest::split_url(url);
  EXPECT_EQ(parts.scheme, "tcp");
  EXPECT_EQ(parts.host, "127.0.0.1");
  EXPECT_NE(parts.port, 0);
  {
    std::vector<Client> clients;
    for (int i = 0; i < 8; ++i) {
      clients.push_back(Client::connect_url(url));
      ASSERT_TRUE(clients.back().valid());
    }
    std::string big(100000, 'x');
    for (std::size_t i = 0; i < big.size(); ++i)
      big[i] = static_cast<char>('a' + i % 26);
    for (auto& c : clients)
      EXPECT_TRUE(c.echo("hello\n"));
    EXPECT_TRUE(clients[0].echo(big, 5000ms));
  }
  ASSERT_EQ(::kill(child.pid(), SIGINT), 0);
  auto status = child.wait(5500ms);
  ASSERT_TRUE(status) << "echo did not exit after SIGINT";
  EXPECT_TRUE(WIFEXITED(*status)) << "status " << *status;
  EXPECT_EQ(WEXITSTATUS(*status), 0);
}

TEST(ServerTest, EchoExampleServesUnixSocket) {
  ASSERT_EQ(::access(kEchoBin.c_str(), X_OK), 0) << kEchoBin << " is not built";
  const std::string sock = unique_unix_path("echo-example");
  Child child({kEchoBin, "--listen", "unix://" + sock, "--loops", "2"});
  std::string url = listening_url(child);
  ASSERT_EQ(url, "unix://" + sock);
  {
    Client c = Client::connect_unix(sock);
    ASSERT_TRUE(c.valid());
    EXPECT_TRUE(c.echo("over a unix socket"));
    Client d = Client::connect_unix(sock);
    ASSERT_TRUE(d.valid());
    EXPECT_TRUE(d.echo("and another"));
  }
  ASSERT_EQ(::kill(child.pid(), SIGINT), 0);
  auto status = child.wait(5500ms);
  ASSERT_TRUE(status) << "echo did not exit after SIGINT";
  EXPECT_TRUE(WIFEXITED(*status));
  EXPECT_EQ(WEXITSTATUS(*status), 0);
  EXPECT_FALSE(file_exists(sock)) << "echo left its socket file behind";
  ::unlink(sock.c_str());
}

TEST(ServerTest, EchoExampleRejectsABadListenUrl) {
  ASSERT_EQ(::access(kEchoBin.c_str(), X_OK), 0) << kEchoBin << " is not built";
  Child child({kEchoBin, "--listen", "bogus://nowhere"});
  auto status = child.wait(5000ms);
  ASSERT_TRUE(status);
  EXPECT_TRUE(WIFEXITED(*status));
  EXPECT_EQ(WEXITSTATUS(*status), 2);
}

// A client that sends without reading, so the server's output to it can
// never drain: the graceful stop must give up on it at stopTimeout.
Client stalled_client(const std::string& url) {
  Client c = Client::connect_url(url);
  if (!c.valid()) return c;
  int small = 4096;
  ::setsockopt(c.fd(), SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
  ::fcntl(c.fd(), F_SETFL, ::fcntl(c.fd(), F_GETFL) | O_NONBLOCK);
  std::string chunk(64 * 1024, 'z');
  auto last_progress = std::chrono::steady_clock::now();
  const auto deadline = last_progress + 10s;
  std::size_t total = 0;
  // Stalled means a whole second without progress: a shorter pause can be
  // a busy machine not scheduling the server, which then has queued
  // nothing yet and stops at once (seen once in CI with 200 ms).
  while (std::chrono::steady_clock::now() < deadline &&
         std::chrono::steady_clock::now() - last_progress < 1s) {
    ssize_t n = ::send(c.fd(), chunk.data(), chunk.size(), MSG_NOSIGNAL);
    if (n > 0) {
      total += static_cast<std::size_t>(n);
      last_progress = std::chrono::steady_clock::now();
    } else {
      std::this_thread::sleep_for(5ms);
    }
  }
  return total > 0 ? std::move(c) : Client();
}

struct TempFile {
  std::string path;
  TempFile(const std::string& tag, const std::string& text)
      : path("/tmp/weft-test-" + std::to_string(::getpid()) + "-" + tag) {
    std::FILE* f = std::fopen(path.c_str(), "w");
    if (f != nullptr) {
      std::fputs(text.c_str(), f);
      std::fclose(f);
    }
  }
  ~TempFile() { ::unlink(path.c_str()); }
};

TEST(ServerTest, EchoExampleAbortsAStalledClientAtStopTimeout) {
  ASSERT_EQ(::access(kEchoBin.c_str(), X_OK), 0) << kEchoBin << " is not built";
  TempFile cfg("stop300.json", R"({"stopTimeout": 300})");
  Child child({kEchoBin, "--config", cfg.path, "--listen", "tcp://127.0.0.1:0"});
  std::string url = listening_url(child);
  ASSERT_FALSE(url.empty());
  Client stalled = stalled_client(url);
  ASSERT_TRUE(stalled.valid()) << "could not fill the server's output";
  const auto t0 = std::chrono::steady_clock::now();
  ASSERT_EQ(::kill(child.pid(), SIGTERM), 0);
  auto status = child.wait(3000ms);
  const auto took = std::chrono::steady_clock::now() - t0;
  ASSERT_TRUE(status) << "echo did not exit after its stopTimeout";
  EXPECT_TRUE(WIFEXITED(*status)) << "status " << *status;
  EXPECT_EQ(WEXITSTATUS(*status), 0);
  EXPECT_GE(took, 250ms) << "the stalled connection was not given its stopTimeout";
  EXPECT_LT(took, 2000ms);
}

TEST(ServerTest, EchoExampleSecondSignalStopsAtOnce) {
  ASSERT_EQ(::access(kEchoBin.c_str(), X_OK), 0) << kEchoBin << " is not built";
  TempFile cfg("stop10s.json", R"({"stopTimeout": 10000})");
  Child child({kEchoBin, "--config", cfg.path, "--listen", "tcp://127.0.0.1:0"});
  std::string url = listening_url(child);
  ASSERT_FALSE(url.empty());
  Client stalled = stalled_client(url);
  ASSERT_TRUE(stalled.valid()) << "could not fill the server's output";
  ASSERT_EQ(::kill(child.pid(), SIGTERM), 0);
  std::this_thread::sleep_for(100ms);
  EXPECT_FALSE(child.wait(0ms)) << "the first signal should wait for the stalled client";
  ASSERT_EQ(::kill(child.pid(), SIGTERM), 0);
  auto status = child.wait(2000ms);
  ASSERT_TRUE(status) << "a second SIGTERM did not stop echo at once";
  EXPECT_TRUE(WIFEXITED(*status)) << "status " << *status;
  EXPECT_EQ(WEXITSTATUS(*status), 0);
}

// --- promises the handler interface makes ---------------------------------------

// on_ready "runs once, on loop 0, before any connection is accepted".
TEST(ServerTest, NoConnectionIsOpenedBeforeOnReadyReturns) {
  std::uint16_t port = 0;
  {
    Fd probe(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(::bind(probe.get(), reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    socklen_t len = sizeof a;
    ASSERT_EQ(::getsockname(probe.get(), reinterpret_cast<sockaddr*>(&a), &len), 0);
    port = ntohs(a.sin_port);
  }
  struct SlowReady final : weft::Handler {
    std::atomic<bool> ready{false};
    std::atomic<int> early{0};
    void on_ready(weft::Server&) override {
      std::this_thread::sleep_for(300ms);
      ready.store(true);
    }
    weft::Action on_open(weft::Conn&) override {
      if (!ready.load()) early.fetch_add(1);
      return weft::Action::none;
    }
    std::size_t on_data(weft::Conn& c, weft::Bytes in) override {
      c.write(in);
      return in.size();
    }
  } h;
  const std::string url = "tcp://127.0.0.1:" + std::to_string(port);
  // Clients knock from before the server binds until on_ready has finished.
  std::atomic<bool> done{false};
  std::vector<Client> clients;
  std::thread knocker([&] {
    const auto deadline = std::chrono::steady_clock::now() + 3s;
    while (!done.load() && !h.ready.load() && clients.size() < 20 &&
           std::chrono::steady_clock::now() < deadline) {
      Client c = Client::connect_url(url);
      if (c.valid()) clients.push_back(std::move(c));
      std::this_thread::sleep_for(5ms);
    }
  });
  {
    Started s(h, config_for({url}, 2));
    done.store(true);
    knocker.join();
    ASSERT_TRUE(s.ok()) << s.error().message();
    EXPECT_EQ(h.early.load(), 0) << h.early.load() << " of " << clients.size()
                                 << " connections were opened before on_ready returned";
    for (auto& c : clients)
      EXPECT_TRUE(c.echo("late"));
  }
}

// --- descriptor hygiene and limits across loops ----------------------------------

int count_open_fds() {
  int n = 0;
  if (DIR* d = ::opendir("/proc/self/fd")) {
    while (dirent* e = ::readdir(d))
      n += e->d_name[0] != '.';
    ::closedir(d);
  }
  return n - 1;  // the directory stream itself
}

// A connection the acceptor has handed to a busy loop (the hand-off task is
// still queued) must be closed, not leaked, when the server is destroyed.
TEST(ServerTest, HandedOffConnectionsAreNotLeakedWhenTheServerIsDestroyed) {
  const int baseline = count_open_fds();
  std::vector<Client> clients;
  {
    ProbeEcho h;
    weft::Server s(h, shared_acceptor_config(LbStrategy::rr));
    ASSERT_FALSE(s.start());
    const std::string url = s.addresses().at(0);
    std::atomic<bool> busy{false};
    // Keep loop 1 busy for a while so the hand-offs wait in its queue.
    ASSERT_FALSE(s.loop(1).post([&] {
      busy.store(true);
      std::this_thread::sleep_for(300ms);
    }));
    ASSERT_TRUE(wait_until([&] { return busy.load(); }));
    for (int i = 0; i < 4; ++i) {
      clients.push_back(Client::connect_url(url));
      ASSERT_TRUE(clients.back().valid());
    }
    // rr: 1st and 3rd stay on loop 0, 2nd and 4th are queued for loop 1.
    ASSERT_TRUE(wait_until([&] { return s.loop_stats(0).accepted.get() == 2; }));
    std::this_thread::sleep_for(20ms);
    // ~Server: halts the loops abruptly while loop 1 still has the hand-offs queued.
  }
  for (std::size_t i = 0; i < clients.size(); ++i) {
    EXPECT_TRUE(clients[i].wait_closed(1000ms))
        << "client " << i << " was never closed by the destroyed server";
  }
  clients.clear();
  EXPECT_EQ(count_open_fds(), baseline) << "descriptors leaked by the destroyed server";
}

// maxAcceptFD counts connections being handed to another loop too.
TEST(ServerTest, MaxAcceptFdHoldsWithASharedAcceptorAndABusyLoop) {
  ProbeEcho h;
  Config cfg = shared_acceptor_config(LbStrategy::rr);
  cfg.max_accept_fd = 5;
  Started s(h, cfg);
  ASSERT_TRUE(s.ok()) << s.error().message();
  std::atomic<bool> busy{false};
  ASSERT_FALSE(s->loop(1).post([&] {
    busy.store(true);
    std::this_thread::sleep_for(300ms);
  }));
  ASSERT_TRUE(wait_until([&] { return busy.load(); }));
  std::vector<Client> clients;
  for (int i = 0; i < 10; ++i) {
    clients.push_back(Client::connect_url(s.url()));
    ASSERT_TRUE(clients.back().valid());
  }
  // Let loop 1 drain its queue, then count.
  std::this_thread::sleep_for(500ms);
  EXPECT_LE(s->stats().open, 5u) << "maxAcceptFD=5 but " << s->stats().open << " are open";
  EXPECT_LE(s->stats().accepted, 5u);
}

// --- UDP datagrams larger than the read buffer -----------------------------------

TEST(ServerTest, UdpDatagramLargerThanBufSizeIsNeverDeliveredTruncated) {
  struct Recorder final : weft::Handler {
    std::atomic<std::size_t> last_size{0};
    std::size_t on_data(weft::Conn&, weft::Bytes in) override { return in.size(); }
    void on_datagram(weft::Datagram& d) override {
      last_size.store(d.data().size());
      (void)d.reply(d.data());
    }
  } h;
  Config cfg = config_for({"udp://127.0.0.1:0"}, 1);
  cfg.buf_size = 4096;
  Started s(h, cfg);
  ASSERT_TRUE(s.ok()) << s.error().message();
  UdpClient u;
  std::string big(10000, 'q');
  ASSERT_TRUE(u.send_to(s.url(), big));
  auto r = u.recv(500ms);
  if (r) {
    EXPECT_EQ(r->size(), big.size()) << "a " << big.size() << "-byte datagram was handed to "
                                     << "on_datagram cut to " << h.last_size.load() << " bytes";
  }
  // Either way the socket keeps working for datagrams that fit.
  ASSERT_TRUE(u.send_to(s.url(), "small"));
  auto small = u.recv();
  ASSERT_TRUE(small);
  EXPECT_EQ(*small, "small");
}

// --- configuration and bind errors ----------------------------------------------

std::string config_error(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const weft::ConfigError& e) {
    return e.what();
  }
  return "<no error>";
}

TEST(ServerTest, UnknownLbStrategyIsRejectedByParseConfig) {
  auto msg = config_error([] { (void)weft::parse_config(R"({"lbStrategy": "fastest"})"); });
  EXPECT_NE(msg.find("lbStrategy"), std::string::npos) << msg;
  auto ok = weft::parse_config(R"({"lbStrategy": "leastconn", "ncpu": 2})");
  EXPECT_EQ(ok.lb_strategy, LbStrategy::leastconn);
  // A parsed config drives a real server.
  ok.listen = {"tcp://127.0.0.1:0?reuseport=false"};
  ProbeEcho h;
  Started s(h, ok);
  ASSERT_TRUE(s.ok()) << s.error().message();
  auto conns = open_sequential(s.url(), 4);
  EXPECT_EQ(count_loops(conns), (std::map<int, int>{{0, 2}, {1, 2}}));
}

TEST(ServerTest, BadListenUrlIsRejectedByTheServerConstructor) {
  ProbeEcho h;
  for (const char* bad : {"bogus://127.0.0.1:1", "tcp://127.0.0.1:99999", "tcp://127.0.0.1:port",
                          "tcp6://[::1:0", "unix://"}) {
    auto msg = config_error([&] { weft::Server s(h, config_for({bad}, 1)); });
    EXPECT_NE(msg, "<no error>") << bad;
    EXPECT_NE(msg.find("listen"), std::string::npos) << bad << ": " << msg;
  }
}

TEST(ServerTest, PortInUseMakesStartFailAndLogsTheAddress) {
  // A plain listener (no SO_REUSEPORT) holds the port.
  Fd holder(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(holder.get(), reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ASSERT_EQ(::listen(holder.get(), 8), 0);
  socklen_t len = sizeof a;
  ASSERT_EQ(::getsockname(holder.get(), reinterpret_cast<sockaddr*>(&a), &len), 0);
  const std::string url = "tcp://127.0.0.1:" + std::to_string(ntohs(a.sin_port));

  for (int ncpu : {1, 2}) {
    LogCapture logs;
    ProbeEcho h;
    Started s(h, config_for({"tcp://127.0.0.1:0", url}, ncpu));
    EXPECT_TRUE(s.error()) << "ncpu " << ncpu << ": start() succeeded on a port in use";
    EXPECT_EQ(s.error(), std::errc::address_in_use) << s.error().message();
    EXPECT_TRUE(logs.contains(url)) << "log:\n" << logs.all();
  }
}

TEST(ServerTest, PortOfAnotherRunningServerIsInUse) {
  // Two servers on one explicit port: with SO_REUSEPORT on both the second
  // bind succeeds and the kernel silently splits connections between two
  // unrelated processes. The second start() must fail instead.
  ProbeEcho h1, h2;
  Started first(h1, config_for({"tcp://127.0.0.1:0"}, 1));
  ASSERT_TRUE(first.ok());
  const std::string url = first.url();
  LogCapture logs;
  Started second(h2, config_for({url}, 1));
  EXPECT_EQ(second.error(), std::errc::address_in_use)
      << "a second server bound " << url << " next to a running one";
}

// --- printStat -----------------------------------------------------------------

TEST(ServerTest, PrintStatLogsAStatsLine) {
  LogCapture logs;
  ProbeEcho h;
  Config cfg = config_for({"tcp://127.0.0.1:0"}, 2);
  cfg.print_stat = true;
  cfg.stat_interval_ms = 100;
  Started s(h, cfg);
  ASSERT_TRUE(s.ok()) << s.error().message();
  {
    Client c = Client::connect_url(s.url());
    ASSERT_TRUE(c.echo("count me"));
  }
  EXPECT_TRUE(wait_until([&] { return logs.contains("stats:"); }, 2000ms)) << logs.all();
  // Lines keep coming, and eventually show the connection.
  EXPECT_TRUE(wait_until([&] { return logs.contains("accepted=1"); }, 2000ms)) << logs.all();
}

TEST(ServerTest, NoStatsLinesWithoutPrintStat) {
  LogCapture logs;
  ProbeEcho h;
  Config cfg = config_for({"tcp://127.0.0.1:0"}, 1);
  cfg.stat_interval_ms = 100;
  Started s(h, cfg);
  ASSERT_TRUE(s.ok());
  std::this_thread::sleep_for(300ms);
  EXPECT_FALSE(logs.contains("stats:")) << logs.all();
}

}  // namespace
