// Server::dial: a server dials its own listeners (plain and TLS, by address
// and by host name) and the dialed side checks what it receives back.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "test_support.hpp"
#include "tls/self_signed.hpp"
#include "weft/conn.hpp"
#include "weft/dial.hpp"
#include "weft/error.hpp"
#include "weft/server.hpp"

namespace {

using weft::test::TestServer;
using weft::test::wait_until;
using namespace std::chrono_literals;

// Accepted side echoes; dialed side sends a greeting on open and collects
// what comes back.
class Both final : public weft::Handler {
 public:
  std::size_t on_data(weft::Conn& c, weft::Bytes in) override {
    if (!c.dialed()) {
      c.write(in);
      return in.size();
    }
    std::lock_guard lock(mu);
    echoed.append(in);
    if (echoed.size() >= greeting.size()) c.close();
    return in.size();
  }
  weft::Action on_open(weft::Conn& c) override {
    if (c.dialed()) {
      std::lock_guard lock(mu);
      if (auto t = c.tls()) {
        resumed.push_back(t->resumed);
        alpn = t->alpn;
      }
      c.write(greeting);
      ++dialed_open;
    }
    return weft::Action::none;
  }
  void on_close(weft::Conn& c, std::error_code) override {
    if (c.dialed()) ++dialed_closed;
  }
  void on_dial_error(weft::Server&, const std::string& target, void* context,
                     std::error_code why) override {
    std::lock_guard lock(mu);
    errors.push_back(why);
    error_targets.push_back(target);
    error_contexts.push_back(context);
  }

  std::string greeting = "hello over the loop";
  std::mutex mu;
  std::string echoed;
  std::vector<bool> resumed;
  std::string alpn;
  std::vector<std::error_code> errors;
  std::vector<std::string> error_targets;
  std::vector<void*> error_contexts;
  std::atomic<int> dialed_open{0}, dialed_closed{0};
};

weft::Config tls_config(const weft::detail::SelfSigned& cert) {
  weft::Config cfg = weft::test::test_config();
  cfg.listen = {"tls://127.0.0.1:0", "tcp://127.0.0.1:0"};
  cfg.tls.cert = {cert.cert_pem, cert.key_pem};
  cfg.tls.alpn = {"echo/1"};
  return cfg;
}

std::string tls_url(TestServer& s, const char* host = "localhost") {
  return std::string("tls://") + host + ":" + std::to_string(s.port(0));
}

TEST(Dial, PlainTcp) {
  Both h;
  TestServer s(h, weft::test::test_config());
  ASSERT_FALSE(s.server().dial("tcp://127.0.0.1:" + std::to_string(s.port())));
  ASSERT_TRUE(wait_until([&] { return h.dialed_closed.load() == 1; }));
  std::lock_guard lock(h.mu);
  EXPECT_EQ(h.echoed, h.greeting);
}

TEST(Dial, TlsVerifiedAgainstCaFileAndResumes) {
  auto cert = weft::detail::make_self_signed({"localhost", "127.0.0.1"});
  Both h;
  TestServer s(h, tls_config(cert));
  weft::TlsClientOptions o;
  o.ca_file = cert.cert_pem;  // a self-signed certificate is its own CA
  o.alpn = {"echo/1"};
  weft::DialOptions d;
  d.tls = std::make_shared<weft::TlsClient>(o);
  ASSERT_FALSE(s.server().dial(tls_url(s), d));
  ASSERT_TRUE(wait_until([&] { return h.dialed_closed.load() == 1; }));
  // The TLS 1.3 ticket arrives after the handshake; it was read with the echo.
  ASSERT_TRUE(wait_until([&] { return d.tls->cached_sessions() == 1; }));
  ASSERT_FALSE(s.server().dial(tls_url(s), d));
  ASSERT_TRUE(wait_until([&] { return h.dialed_closed.load() == 2; }));
  std::lock_guard lock(h.mu);
  EXPECT_EQ(h.echoed, h.greeting + h.greeting);
  ASSERT_EQ(h.resumed.size(), 2u);
  EXPECT_FALSE(h.resumed[0]);
  EXPECT_TRUE(h.resumed[1]);
  EXPECT_EQ(h.alpn, "echo/1");
  EXPECT_TRUE(h.errors.empty());
  EXPECT_GE(s.stats().tls_resumed, 1u);
}

TEST(Dial, IpLiteralIsVerifiedAsAnAddress) {
  auto cert = weft::detail::make_self_signed({"localhost", "127.0.0.1"});
  Both h;
  TestServer s(h, tls_config(cert));
  weft::TlsClientOptions o;
  o.ca_file = cert.cert_pem;
  weft::DialOptions d;
  d.tls = std::make_shared<weft::TlsClient>(o);
  ASSERT_FALSE(s.server().dial(tls_url(s, "127.0.0.1"), d));
  ASSERT_TRUE(wait_until([&] { return h.dialed_closed.load() == 1; }));
  std::lock_guard lock(h.mu);
  EXPECT_TRUE(h.errors.empty());
}

TEST(Dial, VerificationIsOnByDefault) {
  auto cert = weft::detail::make_self_signed({"localhost"});
  Both h;
  TestServer s(h, tls_config(cert));
  int token = 7;
  weft::DialOptions d;  // default client: the system store does not know our cert
  d.context = &token;
  ASSERT_FALSE(s.server().dial(tls_url(s), d));
  ASSERT_TRUE(wait_until([&] {
    std::lock_guard lock(h.mu);
    return h.errors.size() == 1;
  }));
  std::lock_guard lock(h.mu);
  EXPECT_EQ(h.errors[0], weft::errc::tls_handshake_failed);
  EXPECT_EQ(h.error_contexts[0], &token);
  EXPECT_EQ(h.dialed_open.load(), 0);
  EXPECT_EQ(h.dialed_closed.load(), 0);
}

TEST(Dial, WrongNameFailsAndInsecureSkipsVerification) {
  auto cert = weft::detail::make_self_signed({"localhost"});
  Both h;
  TestServer s(h, tls_config(cert));
  weft::TlsClientOptions o;
  o.ca_file = cert.cert_pem;
  weft::DialOptions d;
  d.tls = std::make_shared<weft::TlsClient>(o);
  d.server_name = "other.example";
  ASSERT_FALSE(s.server().dial(tls_url(s), d));
  ASSERT_TRUE(wait_until([&] {
    std::lock_guard lock(h.mu);
    return h.errors.size() == 1;
  }));
  weft::TlsClientOptions insecure;
  insecure.insecure_skip_verify = true;
  d.tls = std::make_shared<weft::TlsClient>(insecure);
  ASSERT_FALSE(s.server().dial(tls_url(s), d));
  ASSERT_TRUE(wait_until([&] { return h.dialed_closed.load() == 1; }));
  std::lock_guard lock(h.mu);
  EXPECT_EQ(h.errors.size(), 1u);
  EXPECT_EQ(h.echoed, h.greeting);
}

TEST(Dial, RefusedAndTimedOut) {
  Both h;
  TestServer s(h, weft::test::test_config());
  // A port nobody listens on: bind one, note it, close it.
  std::uint16_t dead_port;
  {
    weft::Config c = weft::test::test_config();
    Both other;
    TestServer gone(other, c);
    dead_port = gone.port();
  }
  ASSERT_FALSE(s.server().dial("tcp://127.0.0.1:" + std::to_string(dead_port)));
  ASSERT_TRUE(wait_until([&] {
    std::lock_guard lock(h.mu);
    return h.errors.size() == 1;
  }));
  {
    std::lock_guard lock(h.mu);
    EXPECT_EQ(h.errors[0], std::error_code(ECONNREFUSED, std::system_category()));
  }
  // A plain listener that never answers a ClientHello: the handshake times out.
  weft::TlsClientOptions o;
  o.insecure_skip_verify = true;
  weft::DialOptions d;
  d.tls = std::make_shared<weft::TlsClient>(o);
  d.timeout = 300ms;
  class Silent final : public weft::Handler {
    std::size_t on_data(weft::Conn&, weft::Bytes) override { return 0; }
  } silent;
  TestServer quiet(silent, weft::test::test_config());
  ASSERT_FALSE(s.server().dial("tls://127.0.0.1:" + std::to_string(quiet.port()), d));
  ASSERT_TRUE(wait_until([&] {
    std::lock_guard lock(h.mu);
    return h.errors.size() == 2;
  }));
  std::lock_guard lock(h.mu);
  EXPECT_EQ(h.errors[1], weft::errc::tls_handshake_timeout);
}

TEST(Dial, BadUrlsThrow) {
  Both h;
  TestServer s(h, weft::test::test_config());
  EXPECT_THROW((void)s.server().dial("udp://127.0.0.1:9"), weft::ConfigError);
  EXPECT_THROW((void)s.server().dial("tcp://:9"), weft::ConfigError);
  EXPECT_THROW((void)s.server().dial("tcp://127.0.0.1:0"), weft::ConfigError);
  EXPECT_THROW((void)s.server().dial("tcp://exa_mple.com:80"), weft::ConfigError);
  EXPECT_THROW((void)s.server().dial("tcp://example.com"), weft::ConfigError);
  EXPECT_THROW((void)s.server().dial("tcp://127.0.0.1:9?tls=both"), weft::ConfigError);
}

// A host name is looked up off the loop. The machine's own name, and what
// weft makes of it must be what getaddrinfo and a blocking connect() to its
// addresses say: it connects if one of them reaches the listener, else the
// dial fails (with getaddrinfo's reason when the name does not resolve).
TEST(Dial, HostNameIsResolvedOffTheLoop) {
  Both h;
  TestServer s(h, weft::test::test_config());
  char name[256] = {};
  ASSERT_EQ(::gethostname(name, sizeof name - 1), 0);
  const std::string port = std::to_string(s.port());
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_ADDRCONFIG | AI_NUMERICSERV;
  addrinfo* res = nullptr;
  const int rc = ::getaddrinfo(name, port.c_str(), &hints, &res);
  bool reachable = false;
  for (addrinfo* a = rc == 0 ? res : nullptr; a && !reachable; a = a->ai_next) {
    const int fd = ::socket(a->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    reachable = fd >= 0 && ::connect(fd, a->ai_addr, a->ai_addrlen) == 0;
    if (fd >= 0) ::close(fd);
  }
  if (rc == 0) ::freeaddrinfo(res);

  weft::DialOptions d;
  d.timeout = 5s;
  ASSERT_FALSE(s.server().dial("tcp://" + std::string(name) + ":" + port, d));
  if (reachable) {
    ASSERT_TRUE(wait_until([&] { return h.dialed_closed.load() == 1; }, 8s)) << name;
    std::lock_guard lock(h.mu);
    EXPECT_EQ(h.echoed, h.greeting);
    EXPECT_TRUE(h.errors.empty());
  } else {
    ASSERT_TRUE(wait_until(
        [&] {
          std::lock_guard lock(h.mu);
          return h.errors.size() == 1;
        },
        8s))
        << name;
    std::lock_guard lock(h.mu);
    if (rc != 0 && rc != EAI_SYSTEM) {
      EXPECT_EQ(h.errors[0].value(), rc) << h.errors[0].message();
    }
    EXPECT_EQ(h.dialed_open.load(), 0);
  }
}

// A name that cannot resolve (RFC 6761 reserves .invalid) ends in
// on_dial_error, with getaddrinfo's reason, or ETIMEDOUT if no DNS server
// answers within the dial's timeout; the loop goes on serving meanwhile.
TEST(Dial, UnknownNameReportsWhy) {
  Both h;
  TestServer s(h, weft::test::test_config());
  weft::DialOptions d;
  d.timeout = 2s;
  d.context = &h;
  const std::string url = "tcp://no-such-host.invalid:80";
  ASSERT_FALSE(s.server().dial(url, d));
  ASSERT_FALSE(s.server().dial("tcp://127.0.0.1:" + std::to_string(s.port())));
  ASSERT_TRUE(wait_until(
      [&] {
        std::lock_guard lock(h.mu);
        return h.errors.size() == 1 && h.dialed_closed.load() == 1;
      },
      5s));
  std::lock_guard lock(h.mu);
  const weft::StatsSnapshot st = s.stats();
  EXPECT_EQ(st.name_lookups, 1u);
  EXPECT_EQ(st.dials, 1u);  // the literal one: the name never got an address
  EXPECT_EQ(st.dial_errors, 1u);
  const std::error_code why = h.errors[0];
  EXPECT_TRUE(std::string(why.category().name()) == "getaddrinfo" ||
              why == std::error_code(ETIMEDOUT, std::system_category()))
      << why.category().name() << ": " << why.message();
  EXPECT_FALSE(why.message().empty());
  EXPECT_EQ(h.error_targets[0], url);
  EXPECT_EQ(h.error_contexts[0], &h);
  EXPECT_EQ(h.echoed, h.greeting);  // the literal dial got through meanwhile
}

// A loopback listener that never accepts, its queue filled: further
// connects stay pending (the kernel drops their SYNs).
class FullBacklog {
 public:
  FullBacklog() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&a), len) != 0 || ::listen(fd_, 0) != 0) return;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port = ntohs(a.sin_port);
    for (int i = 0; i < 4; ++i) {
      int c = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
      (void)::connect(c, reinterpret_cast<sockaddr*>(&a), len);
      fillers_.push_back(c);
    }
    std::this_thread::sleep_for(50ms);
  }
  ~FullBacklog() {
    for (int c : fillers_)
      ::close(c);
    ::close(fd_);
  }
  FullBacklog(const FullBacklog&) = delete;
  FullBacklog& operator=(const FullBacklog&) = delete;
  std::uint16_t port = 0;

 private:
  int fd_;
  std::vector<int> fillers_;
};

TEST(Dial, ConnectTimeoutAndPendingDialsEndOnStop) {
  FullBacklog full;
  ASSERT_NE(full.port, 0);
  const std::string target = "tcp://127.0.0.1:" + std::to_string(full.port);
  Both h;
  {
    TestServer s(h, weft::test::test_config());
    weft::DialOptions quick;
    quick.timeout = 200ms;
    ASSERT_FALSE(s.server().dial(target, quick));
    ASSERT_TRUE(wait_until([&] {
      std::lock_guard lock(h.mu);
      return h.errors.size() == 1;
    }));
    weft::DialOptions slow;
    slow.timeout = 60s;
    ASSERT_FALSE(s.server().dial(target, slow));
    std::this_thread::sleep_for(50ms);
    s.stop_and_wait();
  }
  std::lock_guard lock(h.mu);
  ASSERT_EQ(h.errors.size(), 2u);
  EXPECT_EQ(h.errors[0], std::error_code(ETIMEDOUT, std::system_category()));
  EXPECT_EQ(h.errors[1], weft::errc::server_stopping);
  EXPECT_EQ(h.error_targets[1], target);
}

}  // namespace
