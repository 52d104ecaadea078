// TLS on the event loops against a real OpenSSL client (tls_client_support):
// echo over TLS 1.3 and 1.2, on_open after the handshake and what TlsInfo
// reports, ALPN, SNI, client certificates, resumption across servers that
// share a ticket seed, handshake timeouts and the per-loop handshake cap,
// bad input, sslMode both, close_notify, slow readers, the kTLS fallback and
// cross-thread sends.
#include <gtest/gtest.h>
#include <openssl/ssl.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <future>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "test_support.hpp"
#include "tls/ktls.hpp"
#include "tls/self_signed.hpp"
#include "tls_client_support.hpp"
#include "weft/weft.hpp"

namespace {

using namespace weft::test;
using weft::Action;
using weft::Bytes;
using weft::ClientAuth;
using weft::Config;
using weft::Conn;
using weft::ConnHandle;
using weft::errc;
using weft::Handler;
using weft::KtlsPolicy;
using weft::SslMode;
using weft::TlsInfo;
using weft::detail::SelfSigned;
using SteadyClock = std::chrono::steady_clock;

constexpr std::size_t kKiB = 1024;
constexpr std::size_t kMiB = 1024 * 1024;

// --- SIGPIPE accounting --------------------------------------------------------------
//
// The test client never raises SIGPIPE (it sends with MSG_NOSIGNAL), so any
// SIGPIPE is the server writing to a dead socket without MSG_NOSIGNAL. It is
// counted (the write then fails with EPIPE, as with SIG_IGN) instead of
// killing the whole binary, and every test checks the count.

std::atomic<int> g_sigpipes{0};

void count_sigpipe(int /*sig*/) {
  g_sigpipes.fetch_add(1, std::memory_order_relaxed);
}

class TlsServerTest : public testing::Test {
 protected:
  static void SetUpTestSuite() {
    struct sigaction sa {};
    sa.sa_handler = count_sigpipe;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    sigaction(SIGPIPE, &sa, nullptr);
  }
  void SetUp() override { sigpipes_ = g_sigpipes.load(); }
  void TearDown() override {
    EXPECT_EQ(g_sigpipes.load(), sigpipes_)
        << "weft bug: the server raised SIGPIPE (a TLS write to a closed socket without "
           "MSG_NOSIGNAL would kill a process that does not ignore SIGPIPE)";
  }

 private:
  int sigpipes_ = 0;
};

// One suite name per area, one fixture.
using TlsEcho = TlsServerTest;
using TlsOpen = TlsServerTest;
using TlsAlpn = TlsServerTest;
using TlsSni = TlsServerTest;
using TlsClientCert = TlsServerTest;
using TlsResume = TlsServerTest;
using TlsHandshakeLimits = TlsServerTest;
using TlsBadInput = TlsServerTest;
using TlsBoth = TlsServerTest;
using TlsClose = TlsServerTest;
using TlsFlow = TlsServerTest;
using TlsKtls = TlsServerTest;
using TlsHandle = TlsServerTest;

// --- certificates (made once per process) ---------------------------------------------

struct Certs {
  SelfSigned localhost = weft::detail::make_self_signed({"localhost", "127.0.0.1"});
  SelfSigned fallback = weft::detail::make_self_signed({"default.test"});
  SelfSigned a = weft::detail::make_self_signed({"a.test"});
  SelfSigned b = weft::detail::make_self_signed({"b.test"});
  SelfSigned ca = weft::detail::make_self_signed({"ca.test"}, 30, true);
  SelfSigned client = weft::detail::make_signed_by(ca, {"client.test"});
  SelfSigned other_ca = weft::detail::make_self_signed({"other-ca.test"}, 30, true);
  SelfSigned other_client = weft::detail::make_signed_by(other_ca, {"client.test"});
};

const Certs& certs() {
  static const Certs c;
  return c;
}

// A TLS listener on a free loopback port with the "localhost" certificate (inline PEM).
Config tls_config() {
  Config cfg = test_config();
  cfg.listen = {"tls://127.0.0.1:0"};
  cfg.tls.cert = {certs().localhost.cert_pem, certs().localhost.key_pem};
  return cfg;
}

// A client that verifies the "localhost" certificate and sends SNI localhost;
// version 0 = whatever both sides support (TLS 1.3).
TlsTestClientOptions client_opts(int version = 0) {
  TlsTestClientOptions o;
  o.min_version = version;
  o.max_version = version;
  o.sni = "localhost";
  o.trusted_ca_pem = certs().localhost.cert_pem;
  o.verify_host = "localhost";
  return o;
}

const char* version_name(int v) {
  return v == TLS1_3_VERSION ? "TLSv1.3" : "TLSv1.2";
}

// --- handlers --------------------------------------------------------------------------

// What on_open saw for one connection.
struct Opened {
  bool secure = false;
  std::optional<TlsInfo> tls;
};

// Echoes, and records every on_open (secure(), tls()) and on_close.
struct TlsHandler : Handler {
  std::atomic<int> opens{0};
  std::atomic<int> closes{0};
  std::atomic<int> drained{0};

  Action on_open(Conn& c) override {
    {
      std::lock_guard lock(mu_);
      opened_.push_back({c.secure(), c.tls()});
    }
    ++opens;
    return Action::none;
  }
  std::size_t on_data(Conn& c, Bytes in) override {
    c.write(in);
    return in.size();
  }
  void on_drained(Conn& /*c*/) override { ++drained; }
  void on_close(Conn& /*c*/, std::error_code why) override {
    {
      std::lock_guard lock(mu_);
      why_.push_back(why);
    }
    ++closes;
  }

  Opened opened(std::size_t i) {
    std::lock_guard lock(mu_);
    return i < opened_.size() ? opened_[i] : Opened{};
  }
  std::vector<std::error_code> close_reasons() {
    std::lock_guard lock(mu_);
    return why_;
  }

 private:
  std::mutex mu_;
  std::vector<Opened> opened_;
  std::vector<std::error_code> why_;
};

// Writes `msg` and checks it comes back.
bool echo_ok(TlsTestClient& c, std::string_view msg) {
  if (!c.write_all(msg)) return false;
  return c.read_exact(msg.size()) == msg;
}

// Joins every thread it holds at scope exit (each thread's waits are bounded).
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

// A scratch file removed at scope exit.
class TempFile {
 public:
  explicit TempFile(const std::string& content) {
    std::string tmpl = testing::TempDir() + "weft_tls_XXXXXX";
    const int fd = ::mkstemp(tmpl.data());
    if (fd < 0) throw std::system_error(errno, std::system_category(), "mkstemp");
    path_ = tmpl;
    const ssize_t w = ::write(fd, content.data(), content.size());
    ::close(fd);
    if (w != static_cast<ssize_t>(content.size())) throw std::runtime_error("short write");
  }
  ~TempFile() { ::unlink(path_.c_str()); }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// =====================================================================================
// 1. Echo over TLS 1.3 and 1.2, and concurrent clients on two loops.
// =====================================================================================

void echo_one_mib(int version) {
  TlsHandler h;
  TestServer srv(h, tls_config());
  TlsTestClient c(client_opts(version));
  ASSERT_TRUE(c.connect(srv.port())) << c.error();
  EXPECT_EQ(c.version(), version_name(version));
  EXPECT_EQ(c.peer_cn(), "localhost");
  const std::string data = pattern(kMiB);
  ASSERT_TRUE(c.write_all(data)) << c.error();
  const std::string back = c.read_exact(kMiB);
  ASSERT_EQ(back.size(), kMiB) << c.error();
  EXPECT_EQ(pattern_mismatch(back), std::string::npos);
  // (bytes_out is counted after the write returns: the client may see the
  // last record first.)
  EXPECT_TRUE(wait_until([&] { return srv.stats().bytes_out == kMiB; }, 2s))
      << "bytes_out=" << srv.stats().bytes_out;  // plaintext bytes, as the handler wrote them
  const auto st = srv.stats();
  EXPECT_EQ(st.tls_handshakes, 1u);
  EXPECT_EQ(st.tls_failed, 0u);
  EXPECT_EQ(st.bytes_in, kMiB);
}

TEST_F(TlsEcho, OneMiBOverTls13) {
  echo_one_mib(TLS1_3_VERSION);
}

TEST_F(TlsEcho, OneMiBOverTls12) {
  echo_one_mib(TLS1_2_VERSION);
}

TEST_F(TlsEcho, EightConcurrentClientsOnTwoLoops) {
  TlsHandler h;
  Config cfg = tls_config();
  cfg.ncpu = 2;
  TestServer srv(h, cfg);
  ASSERT_EQ(srv.server().loop_count(), 2u);

  constexpr int kClients = 8;
  constexpr std::size_t kBytes = 256 * kKiB;
  std::atomic<int> ok{0};
  std::mutex mu;
  std::vector<std::string> errors;
  {
    Threads threads;
    for (int i = 0; i < kClients; ++i) {
      threads.spawn([&, i] {
        auto fail = [&](const std::string& why) {
          std::lock_guard lock(mu);
          errors.push_back("client " + std::to_string(i) + ": " + why);
        };
        // Half the clients on each version.
        TlsTestClient c(client_opts(i % 2 ? TLS1_2_VERSION : TLS1_3_VERSION));
        if (!c.connect(srv.port())) return fail(c.error());
        const std::uint64_t offset = static_cast<std::uint64_t>(i) * 7919;
        // In pieces, reading each back before the next.
        for (std::size_t at = 0; at < kBytes; at += 32 * kKiB) {
          const std::string piece = pattern(32 * kKiB, offset + at);
          if (!c.write_all(piece)) return fail(c.error());
          const std::string back = c.read_exact(piece.size());
          if (back.size() != piece.size()) return fail("short echo: " + c.error());
          if (pattern_mismatch(back, offset + at) != std::string::npos) {
            return fail("echo differs at " + std::to_string(at));
          }
        }
        ++ok;
      });
    }
  }
  for (const auto& e : errors)
    ADD_FAILURE() << e;
  EXPECT_EQ(ok.load(), kClients);
  const auto st = srv.stats();
  EXPECT_EQ(st.tls_handshakes, static_cast<std::uint64_t>(kClients));
  EXPECT_EQ(st.accepted, static_cast<std::uint64_t>(kClients));
  EXPECT_EQ(st.bytes_in, kClients * kBytes);
  EXPECT_EQ(h.opens.load(), kClients);
}

// =====================================================================================
// 2. on_open fires only after the handshake, and sees what it agreed on.
// =====================================================================================

void on_open_after_handshake(int version, const std::string& sni) {
  TlsHandler h;
  TestServer srv(h, tls_config());
  TlsTestClientOptions o = client_opts(version);
  o.sni = sni;
  o.verify_host.clear();  // the name sent is not the certificate's
  TlsTestClient c(o);
  c.connect_tcp(srv.port());
  // Accepted, handshaking, not open: nothing has been sent yet.
  ASSERT_TRUE(wait_until([&] { return srv.stats().tls_handshaking == 1; }, 2s));
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(h.opens.load(), 0) << "on_open before the handshake";
  EXPECT_EQ(srv.stats().open, 1u);

  ASSERT_TRUE(c.handshake()) << c.error();
  ASSERT_TRUE(wait_until([&] { return h.opens.load() == 1; }, 2s));
  const Opened o1 = h.opened(0);
  EXPECT_TRUE(o1.secure);
  ASSERT_TRUE(o1.tls.has_value());
  const TlsInfo& t = *o1.tls;
  EXPECT_EQ(t.version, version_name(version));
  EXPECT_FALSE(t.cipher.empty());
  EXPECT_EQ(t.cipher, SSL_CIPHER_get_name(SSL_get_current_cipher(c.ssl())));
  EXPECT_EQ(t.server_name, sni);
  EXPECT_EQ(t.alpn, "");
  EXPECT_FALSE(t.resumed);
  EXPECT_FALSE(t.peer_verified);
  EXPECT_EQ(t.peer_subject, "");
  EXPECT_TRUE(echo_ok(c, "after the handshake")) << c.error();
  const auto st = srv.stats();
  EXPECT_EQ(st.tls_handshaking, 0u);
  EXPECT_EQ(st.tls_handshakes, 1u);
}

TEST_F(TlsOpen, OnlyAfterHandshakeTls13) {
  on_open_after_handshake(TLS1_3_VERSION, "localhost");
}

TEST_F(TlsOpen, OnlyAfterHandshakeTls12WithOtherServerName) {
  on_open_after_handshake(TLS1_2_VERSION, "service.example.test");
}

TEST_F(TlsOpen, NoServerNameSent) {
  TlsHandler h;
  TestServer srv(h, tls_config());
  TlsTestClientOptions o = client_opts();
  o.sni.clear();
  TlsTestClient c(o);
  ASSERT_TRUE(c.connect(srv.port())) << c.error();
  ASSERT_TRUE(wait_until([&] { return h.opens.load() == 1; }, 2s));
  const Opened o1 = h.opened(0);
  ASSERT_TRUE(o1.tls.has_value());
  EXPECT_EQ(o1.tls->server_name, "");
}

// =====================================================================================
// 3. ALPN.
// =====================================================================================

TEST_F(TlsAlpn, NegotiatesAndRejects) {
  TlsHandler h;
  Config cfg = tls_config();
  cfg.tls.alpn = {"h2", "http/1.1"};
  TestServer srv(h, cfg);

  struct Case {
    std::vector<std::string> offer;
    std::string want;  // "" = no protocol
  };
  const Case cases[] = {
      {{"http/1.1"}, "http/1.1"},
      {{"http/1.1", "h2"}, "h2"},  // the server's preference wins
      {{}, ""},                    // no ALPN from the client: none agreed, still served
  };
  int opens = 0;
  for (const auto& cs : cases) {
    SCOPED_TRACE("offer of " + std::to_string(cs.offer.size()) + " -> " + cs.want);
    TlsTestClientOptions o = client_opts();
    o.alpn = cs.offer;
    TlsTestClient c(o);
    ASSERT_TRUE(c.connect(srv.port())) << c.error();
    EXPECT_EQ(c.alpn_selected(), cs.want);
    ++opens;
    ASSERT_TRUE(wait_until([&] { return h.opens.load() == opens; }, 2s));
    const Opened op = h.opened(static_cast<std::size_t>(opens - 1));
    ASSERT_TRUE(op.tls.has_value());
    EXPECT_EQ(op.tls->alpn, cs.want);
    EXPECT_TRUE(echo_ok(c, "alpn")) << c.error();
  }

  // Nothing in common: the server refuses (no_application_protocol).
  for (int version : {TLS1_3_VERSION, TLS1_2_VERSION}) {
    TlsTestClientOptions o = client_opts(version);
    o.alpn = {"foo"};
    TlsTestClient bad(o);
    EXPECT_FALSE(bad.connect(srv.port())) << "handshake with ALPN foo succeeded";
    EXPECT_NE(bad.error().find("no application protocol"), std::string::npos) << bad.error();
  }
  ASSERT_TRUE(wait_until([&] { return srv.stats().tls_failed == 2; }, 2s))
      << "tls_failed=" << srv.stats().tls_failed;
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(h.opens.load(), opens) << "on_open fired for a failed handshake";
  EXPECT_TRUE(wait_until([&] { return h.closes.load() == opens; }, 2s));

  // The server keeps serving.
  TlsTestClientOptions o = client_opts();
  o.alpn = {"http/1.1"};
  TlsTestClient good(o);
  ASSERT_TRUE(good.connect(srv.port())) << good.error();
  EXPECT_TRUE(echo_ok(good, "still serving")) << good.error();
  EXPECT_EQ(srv.stats().tls_handshaking, 0u);
}

// =====================================================================================
// 4. SNI picks the certificate.
// =====================================================================================

TEST_F(TlsSni, PicksCertificateByName) {
  TlsHandler h;
  Config cfg = tls_config();
  cfg.tls.cert = {certs().fallback.cert_pem, certs().fallback.key_pem};
  cfg.tls.sni = {{certs().a.cert_pem, certs().a.key_pem}, {certs().b.cert_pem, certs().b.key_pem}};
  TestServer srv(h, cfg);

  struct Case {
    std::string sni;
    std::string cn;
  };
  const Case cases[] = {
      {"a.test", "a.test"},
      {"b.test", "b.test"},
      {"unknown.test", "default.test"},
      {"", "default.test"},
  };
  std::size_t opens = 0;
  for (int version : {TLS1_3_VERSION, TLS1_2_VERSION}) {
    for (const auto& cs : cases) {
      SCOPED_TRACE(std::string(version_name(version)) + " sni=" + cs.sni);
      TlsTestClientOptions o;
      o.min_version = o.max_version = version;
      o.sni = cs.sni;
      // Verify against the certificate that should answer, name included.
      const SelfSigned& expect = cs.cn == "a.test"   ? certs().a
                                 : cs.cn == "b.test" ? certs().b
                                                     : certs().fallback;
      o.trusted_ca_pem = expect.cert_pem;
      o.verify_host = cs.cn;
      TlsTestClient c(o);
      ASSERT_TRUE(c.connect(srv.port())) << c.error();
      EXPECT_EQ(c.peer_cn(), cs.cn);
      EXPECT_TRUE(echo_ok(c, "sni")) << c.error();
      ++opens;
      ASSERT_TRUE(wait_until([&] { return h.opens.load() == static_cast<int>(opens); }, 2s));
      const Opened op = h.opened(opens - 1);
      ASSERT_TRUE(op.tls.has_value());
      EXPECT_EQ(op.tls->server_name, cs.sni);
    }
  }
}

// =====================================================================================
// 5. Client certificates.
// =====================================================================================

// Connects and round-trips one message; false if either step fails (in TLS
// 1.3 the client's handshake ends before the server has checked its
// certificate: a refusal shows up on the first read).
bool connect_and_echo(TlsTestClient& c, std::uint16_t port) {
  return c.connect(port) && echo_ok(c, "client certificate");
}

TEST_F(TlsClientCert, RequireVerifiesAgainstTheConfiguredCa) {
  TempFile ca(certs().ca.cert_pem);
  TlsHandler h;
  Config cfg = tls_config();
  cfg.tls.client_auth = ClientAuth::require;
  cfg.tls.client_ca = ca.path();
  TestServer srv(h, cfg);

  int failures = 0;
  int opens = 0;
  for (int version : {TLS1_3_VERSION, TLS1_2_VERSION}) {
    SCOPED_TRACE(version_name(version));
    {  // no certificate: refused
      TlsTestClient c(client_opts(version));
      EXPECT_FALSE(connect_and_echo(c, srv.port())) << "served without a client certificate";
      ++failures;
    }
    {  // signed by the CA: served, and the handler sees who it is
      TlsTestClientOptions o = client_opts(version);
      o.cert_pem = certs().client.cert_pem;
      o.key_pem = certs().client.key_pem;
      TlsTestClient c(o);
      ASSERT_TRUE(connect_and_echo(c, srv.port())) << c.error();
      ++opens;
      ASSERT_TRUE(wait_until([&] { return h.opens.load() == opens; }, 2s));
      const Opened op = h.opened(static_cast<std::size_t>(opens - 1));
      ASSERT_TRUE(op.tls.has_value());
      EXPECT_TRUE(op.tls->peer_verified);
      EXPECT_NE(op.tls->peer_subject.find("client.test"), std::string::npos)
          << op.tls->peer_subject;
    }
    {  // signed by another CA: refused
      TlsTestClientOptions o = client_opts(version);
      o.cert_pem = certs().other_client.cert_pem;
      o.key_pem = certs().other_client.key_pem;
      TlsTestClient c(o);
      EXPECT_FALSE(connect_and_echo(c, srv.port())) << "served a certificate from another CA";
      ++failures;
    }
  }
  ASSERT_TRUE(wait_until(
      [&] { return srv.stats().tls_failed == static_cast<std::uint64_t>(failures); }, 2s))
      << "tls_failed=" << srv.stats().tls_failed;
  EXPECT_EQ(h.opens.load(), opens) << "on_open fired for a refused client";
  EXPECT_EQ(srv.stats().tls_handshakes, static_cast<std::uint64_t>(opens));
}

TEST_F(TlsClientCert, RequestAcceptsClientsWithout) {
  TempFile ca(certs().ca.cert_pem);
  TlsHandler h;
  Config cfg = tls_config();
  cfg.tls.client_auth = ClientAuth::request;
  cfg.tls.client_ca = ca.path();
  TestServer srv(h, cfg);

  {
    TlsTestClient c(client_opts());
    ASSERT_TRUE(connect_and_echo(c, srv.port())) << c.error();
    ASSERT_TRUE(wait_until([&] { return h.opens.load() == 1; }, 2s));
    const Opened op = h.opened(0);
    ASSERT_TRUE(op.tls.has_value());
    EXPECT_FALSE(op.tls->peer_verified);
    EXPECT_EQ(op.tls->peer_subject, "");
  }
  {
    TlsTestClientOptions o = client_opts();
    o.cert_pem = certs().client.cert_pem;
    o.key_pem = certs().client.key_pem;
    TlsTestClient c(o);
    ASSERT_TRUE(connect_and_echo(c, srv.port())) << c.error();
    ASSERT_TRUE(wait_until([&] { return h.opens.load() == 2; }, 2s));
    const Opened op = h.opened(1);
    ASSERT_TRUE(op.tls.has_value());
    EXPECT_TRUE(op.tls->peer_verified);
    EXPECT_NE(op.tls->peer_subject.find("client.test"), std::string::npos);
  }
}

// =====================================================================================
// 6. Resumption across servers sharing a ticket seed.
// =====================================================================================

Config ticket_config(const std::string& seed) {
  Config cfg = tls_config();
  cfg.tls.ticket_seed = seed;
  cfg.tls.ticket_context = "tls_server_test";
  return cfg;
}

// A full handshake to `port` with one echo (so that a TLS 1.3 client has
// read its tickets); returns the session to resume.
TlsSessionPtr first_session(std::uint16_t port, int version) {
  TlsTestClient c(client_opts(version));
  EXPECT_TRUE(c.connect(port)) << c.error();
  EXPECT_TRUE(echo_ok(c, "first")) << c.error();
  EXPECT_FALSE(c.session_reused());
  return c.get1_session();
}

struct Resumed {
  bool connected = false;
  bool reused = false;
};

Resumed try_resume(std::uint16_t port, int version, SSL_SESSION* session) {
  TlsTestClientOptions o = client_opts(version);
  o.resume = session;
  TlsTestClient c(o);
  Resumed r;
  r.connected = c.connect(port) && echo_ok(c, "second");
  EXPECT_TRUE(r.connected) << c.error();
  r.reused = c.session_reused();
  return r;
}

TEST_F(TlsResume, SharedSeedResumesOnAnotherServer) {
  const Config cfg = ticket_config("weft tls_server_test shared seed");
  TlsHandler ha;
  TlsHandler hb;
  TestServer a(ha, cfg);
  TestServer b(hb, cfg);
  std::uint64_t resumed = 0;
  for (int version : {TLS1_3_VERSION, TLS1_2_VERSION}) {
    SCOPED_TRACE(version_name(version));
    TlsSessionPtr s = first_session(a.port(), version);
    ASSERT_TRUE(s);
    ASSERT_EQ(SSL_SESSION_is_resumable(s.get()), 1);
    const Resumed r = try_resume(b.port(), version, s.get());
    EXPECT_TRUE(r.reused) << "a session from server A did not resume on server B";
    ++resumed;
    ASSERT_TRUE(wait_until([&] { return hb.opens.load() == static_cast<int>(resumed); }, 2s));
    const Opened op = hb.opened(resumed - 1);
    ASSERT_TRUE(op.tls.has_value());
    EXPECT_TRUE(op.tls->resumed);
    EXPECT_EQ(b.stats().tls_resumed, resumed);
    EXPECT_EQ(b.stats().tls_handshakes, resumed);
  }
  EXPECT_EQ(a.stats().tls_resumed, 0u);
  const Opened first = ha.opened(0);
  ASSERT_TRUE(first.tls.has_value());
  EXPECT_FALSE(first.tls->resumed);
}

TEST_F(TlsResume, DifferentSeedMeansFullHandshake) {
  TlsHandler ha;
  TlsHandler hb;
  TestServer a(ha, ticket_config("seed one"));
  TestServer b(hb, ticket_config("seed two"));
  for (int version : {TLS1_3_VERSION, TLS1_2_VERSION}) {
    SCOPED_TRACE(version_name(version));
    TlsSessionPtr s = first_session(a.port(), version);
    ASSERT_TRUE(s);
    const Resumed r = try_resume(b.port(), version, s.get());
    EXPECT_TRUE(r.connected);
    EXPECT_FALSE(r.reused);
    // The same session still resumes where it came from.
    EXPECT_TRUE(try_resume(a.port(), version, s.get()).reused);
  }
  EXPECT_EQ(b.stats().tls_resumed, 0u);
  EXPECT_EQ(b.stats().tls_handshakes, 2u);
  EXPECT_EQ(a.stats().tls_resumed, 2u);
  const Opened op = hb.opened(0);
  ASSERT_TRUE(op.tls.has_value());
  EXPECT_FALSE(op.tls->resumed);
}

TEST_F(TlsResume, TicketsDisabledMeansNoResumption) {
  Config cfg = ticket_config("seed");
  cfg.tls.tickets_disabled = true;
  TlsHandler h;
  TestServer srv(h, cfg);
  for (int version : {TLS1_3_VERSION, TLS1_2_VERSION}) {
    SCOPED_TRACE(version_name(version));
    TlsSessionPtr s = first_session(srv.port(), version);
    ASSERT_TRUE(s);
    const Resumed r = try_resume(srv.port(), version, s.get());
    EXPECT_TRUE(r.connected);
    EXPECT_FALSE(r.reused);
  }
  EXPECT_EQ(srv.stats().tls_resumed, 0u);
  EXPECT_EQ(srv.stats().tls_handshakes, 4u);
}

// With tickets disabled the server should not send NewSessionTicket at all:
// a TLS 1.3 ticket it will never accept only costs a message per connection
// and makes the client offer a useless PSK next time.
TEST_F(TlsResume, TicketsDisabledIssuesNoTls13Tickets) {
  Config cfg = ticket_config("seed");
  cfg.tls.tickets_disabled = true;
  TlsHandler h;
  TestServer srv(h, cfg);
  TlsSessionPtr s = first_session(srv.port(), TLS1_3_VERSION);
  ASSERT_TRUE(s);
  EXPECT_EQ(SSL_SESSION_has_ticket(s.get()), 0)
      << "weft bug: tlsSessionTicketsDisabled still sends TLS 1.3 (stateful) tickets: "
         "SSL_OP_NO_TICKET only switches TLS 1.3 to stateful tickets, which the disabled "
         "session cache can never resume; SSL_CTX_set_num_tickets(ctx, 0) is missing";
}

// =====================================================================================
// 7-8. Handshake timeout and the per-loop handshake cap.
// =====================================================================================

TEST_F(TlsHandshakeLimits, StalledHandshakesTimeOut) {
  TlsHandler h;
  Config cfg = tls_config();
  cfg.tls.handshake_timeout_ms = 300;
  TestServer srv(h, cfg);

  const std::string hello = client_hello_bytes();
  ASSERT_GT(hello.size(), 50u);
  ASSERT_EQ(static_cast<unsigned char>(hello[0]), 0x16);  // a handshake record

  const auto start = SteadyClock::now();
  Client silent = Client::tcp(srv.port());
  Client half = Client::tcp(srv.port());
  ASSERT_EQ(half.send_all(hello.substr(0, hello.size() / 2)), hello.size() / 2);
  ASSERT_TRUE(wait_until([&] { return srv.stats().tls_handshaking == 2; }, 1s));

  EXPECT_TRUE(silent.wait_closed(2s)) << "a silent client was not closed";
  EXPECT_TRUE(half.wait_closed(2s)) << "half a ClientHello was not closed";
  const auto took = SteadyClock::now() - start;
  EXPECT_GE(took, 250ms) << "closed before tlsHandshakeTimeout";
  EXPECT_LT(took, 2s);

  ASSERT_TRUE(wait_until([&] { return srv.stats().open == 0; }, 2s));
  const auto st = srv.stats();
  EXPECT_EQ(st.tls_timeouts, 2u);
  EXPECT_EQ(st.tls_handshaking, 0u);
  EXPECT_EQ(st.tls_handshakes, 0u);
  EXPECT_EQ(h.opens.load(), 0);
  EXPECT_EQ(h.closes.load(), 0);

  // Real clients are still served.
  TlsTestClient c(client_opts());
  ASSERT_TRUE(c.connect(srv.port())) << c.error();
  EXPECT_TRUE(echo_ok(c, "after the timeouts")) << c.error();
}

TEST_F(TlsHandshakeLimits, CapQueuesTheNextHandshake) {
  TlsHandler h;
  Config cfg = tls_config();
  cfg.tls.handshake_timeout_ms = 500;
  cfg.tls.max_handshakes = 1;
  TestServer srv(h, cfg);

  // The stalled client takes the only slot.
  Client stalled = Client::tcp(srv.port());
  ASSERT_TRUE(wait_until([&] { return srv.stats().tls_handshaking == 1; }, 1s));
  const auto stalled_at = SteadyClock::now();
  // Started well after the stalled one, so that its own deadline (which
  // runs while it waits for the slot) leaves room for the handshake.
  std::this_thread::sleep_for(150ms);

  // A real client right after: it waits (its ClientHello is not read) ...
  TlsTestClient c(client_opts());
  c.connect_tcp(srv.port());
  ASSERT_TRUE(wait_until([&] { return srv.stats().tls_handshaking == 2; }, 1s))
      << "the gauge counts waiting handshakes too";
  // ... and completes once the stalled one has timed out.
  ASSERT_TRUE(c.handshake()) << c.error();
  const auto done = SteadyClock::now() - stalled_at;
  EXPECT_GE(done, 400ms) << "the cap of 1 did not hold the second handshake back";
  EXPECT_LT(done, 2s);
  EXPECT_TRUE(echo_ok(c, "queued, then served")) << c.error();
  EXPECT_TRUE(stalled.wait_closed(1s));

  const auto st = srv.stats();
  EXPECT_EQ(st.tls_timeouts, 1u);
  EXPECT_EQ(st.tls_handshakes, 1u);
  EXPECT_EQ(st.tls_handshaking, 0u);
  EXPECT_EQ(h.opens.load(), 1);
}

// =====================================================================================
// 9. Bad input: each is closed promptly; a good client is served after it;
//    descriptors go back to the baseline.
// =====================================================================================

class BadInputCheck {
 public:
  explicit BadInputCheck(TestServer& srv) : srv_(srv) {}

  // A good client round-trip, then every descriptor is back.
  void good_client_and_fds(int baseline) {
    {
      TlsTestClient c(client_opts());
      ASSERT_TRUE(c.connect(srv_.port())) << c.error();
      EXPECT_TRUE(echo_ok(c, "good client")) << c.error();
    }
    EXPECT_TRUE(wait_until([&] { return srv_.stats().open == 0; }, 2s));
    EXPECT_TRUE(wait_until([&] { return count_open_fds() == baseline; }, 2s))
        << "open fds " << count_open_fds() << " vs baseline " << baseline;
    EXPECT_EQ(srv_.stats().tls_handshaking, 0u);
  }

 private:
  TestServer& srv_;
};

// Sends `bytes` on a raw TCP connection; true if the server closed it
// within `within`.
bool closed_after_sending(std::uint16_t port, const std::string& bytes, Ms within) {
  Client raw = Client::tcp(port);
  if (raw.send_all(bytes) != bytes.size()) return raw.peer_closed();
  return raw.wait_closed(within);
}

TEST_F(TlsBadInput, GarbageIsRefusedPromptly) {
  TlsHandler h;
  Config cfg = tls_config();
  cfg.tls.handshake_timeout_ms = 5000;  // "promptly" means long before this
  TestServer srv(h, cfg);
  BadInputCheck check(srv);
  {  // warm up: OpenSSL's lazily opened descriptors (if any) are in the baseline
    TlsTestClient c(client_opts());
    ASSERT_TRUE(c.connect(srv.port())) << c.error();
    ASSERT_TRUE(echo_ok(c, "warm up"));
  }
  ASSERT_TRUE(wait_until([&] { return srv.stats().open == 0; }, 2s));
  const int baseline = count_open_fds();
  int opens = h.opens.load();

  std::mt19937 rng(20240601);
  auto random_bytes = [&](std::size_t n) {
    std::string s(n, '\0');
    for (auto& ch : s)
      ch = static_cast<char>(rng() & 0xff);
    return s;
  };

  {
    SCOPED_TRACE("plaintext HTTP");
    const auto t0 = SteadyClock::now();
    EXPECT_TRUE(closed_after_sending(srv.port(), "GET / HTTP/1.1\r\n\r\n", 1s));
    EXPECT_LT(SteadyClock::now() - t0, 1s);
    check.good_client_and_fds(baseline);
  }
  {
    SCOPED_TRACE("4 KiB of random bytes");
    std::string junk = random_bytes(4 * kKiB);
    // Not a record header by chance (0x16 with a large length would wait for
    // more), nor an SSLv2-style hello.
    junk[0] = 0x42;
    const auto t0 = SteadyClock::now();
    EXPECT_TRUE(closed_after_sending(srv.port(), junk, 1s));
    EXPECT_LT(SteadyClock::now() - t0, 1s);
    check.good_client_and_fds(baseline);
  }
  {
    SCOPED_TRACE("a handshake record holding a random ClientHello body");
    const std::size_t body = 4 * kKiB - 9;  // after the 5-byte record and 4-byte message headers
    std::string rec;
    rec += '\x16';
    rec += '\x03';
    rec += '\x01';
    rec += static_cast<char>(((body + 4) >> 8) & 0xff);
    rec += static_cast<char>((body + 4) & 0xff);
    rec += '\x01';  // ClientHello
    rec += '\0';
    rec += static_cast<char>((body >> 8) & 0xff);
    rec += static_cast<char>(body & 0xff);
    rec += random_bytes(body);
    const auto t0 = SteadyClock::now();
    EXPECT_TRUE(closed_after_sending(srv.port(), rec, 1s));
    EXPECT_LT(SteadyClock::now() - t0, 1s);
    check.good_client_and_fds(baseline);
  }
  EXPECT_EQ(srv.stats().tls_failed, 3u);
  EXPECT_EQ(srv.stats().tls_timeouts, 0u);
  opens += 3;  // the good clients
  EXPECT_EQ(h.opens.load(), opens) << "on_open fired for garbage";
  EXPECT_EQ(h.closes.load(), opens);
}

TEST_F(TlsBadInput, ResetInTheMiddleOfARecord) {
  TlsHandler h;
  TestServer srv(h, tls_config());
  BadInputCheck check(srv);
  {
    TlsTestClient c(client_opts());
    ASSERT_TRUE(c.connect(srv.port())) << c.error();
    ASSERT_TRUE(echo_ok(c, "warm up"));
  }
  ASSERT_TRUE(wait_until([&] { return h.closes.load() == 1; }, 2s));
  const int baseline = count_open_fds();

  {
    TlsTestClient c(client_opts());
    ASSERT_TRUE(c.connect(srv.port())) << c.error();
    ASSERT_TRUE(echo_ok(c, "before the reset")) << c.error();
    // An application-data record that announces 16 KiB and carries 100 bytes.
    std::string partial("\x17\x03\x03\x40\x00", 5);
    partial += std::string(100, 'x');
    ASSERT_TRUE(c.write_raw(partial)) << c.error();
    std::this_thread::sleep_for(50ms);  // let the server read the partial record
    c.close_rst();
  }
  ASSERT_TRUE(wait_until([&] { return h.closes.load() == 2; }, 2s));
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(h.closes.load(), 2) << "on_close fired more than once";
  const auto why = h.close_reasons().at(1);
  EXPECT_TRUE((why == std::error_code(ECONNRESET, std::system_category())) ||
              why == errc::tls_error)
      << why.message();
  check.good_client_and_fds(baseline);
}

TEST_F(TlsBadInput, CloseWithoutCloseNotify) {
  TlsHandler h;
  TestServer srv(h, tls_config());
  BadInputCheck check(srv);
  {
    TlsTestClient c(client_opts());
    ASSERT_TRUE(c.connect(srv.port())) << c.error();
    ASSERT_TRUE(echo_ok(c, "warm up"));
  }
  ASSERT_TRUE(wait_until([&] { return h.closes.load() == 1; }, 2s));
  const int baseline = count_open_fds();

  for (int version : {TLS1_3_VERSION, TLS1_2_VERSION}) {
    SCOPED_TRACE(version_name(version));
    const int before = h.closes.load();
    {
      TlsTestClient c(client_opts(version));
      ASSERT_TRUE(c.connect(srv.port())) << c.error();
      ASSERT_TRUE(echo_ok(c, "then a bare FIN")) << c.error();
      c.close_tcp();  // no close_notify
    }
    ASSERT_TRUE(wait_until([&] { return h.closes.load() == before + 1; }, 2s));
    std::this_thread::sleep_for(100ms);
    EXPECT_EQ(h.closes.load(), before + 1) << "on_close fired more than once";
    const auto why = h.close_reasons().back();
    EXPECT_TRUE(!why || why == errc::tls_error || why.category() == std::system_category())
        << why.message();
  }
  check.good_client_and_fds(baseline);
}

TEST_F(TlsBadInput, ResetWhileTheServerSends) {
  struct Bulk : TlsHandler {
    std::string data = pattern(8 * kMiB);
    std::size_t on_data(Conn& c, Bytes in) override {
      c.write(data);  // far more than the socket buffers hold
      return in.size();
    }
  } h;
  TestServer srv(h, tls_config());
  {
    TlsTestClient c(client_opts());
    ASSERT_TRUE(c.connect(srv.port())) << c.error();
    ASSERT_TRUE(c.write_all("go"));
    const std::string got = c.read_exact(256 * kKiB);
    ASSERT_EQ(got.size(), 256 * kKiB) << c.error();
    EXPECT_EQ(pattern_mismatch(got), std::string::npos);
    c.close_rst();  // with megabytes still queued on the server
  }
  ASSERT_TRUE(wait_until([&] { return h.closes.load() == 1; }, 2s));
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(h.closes.load(), 1);
  const auto why = h.close_reasons().at(0);
  EXPECT_TRUE(why) << "a reset is not an orderly close";
  EXPECT_TRUE(wait_until([&] { return srv.stats().open == 0; }, 2s));
}

// =====================================================================================
// 10. Plain and TLS on one port.
// =====================================================================================

void plain_and_tls_on_one_port(const Config& cfg) {
  TlsHandler h;
  TestServer srv(h, cfg);
  {
    Client plain = Client::tcp(srv.port());
    ASSERT_EQ(plain.send_all("plain hello"), 11u);
    EXPECT_EQ(plain.recv_exact(11, 2s), "plain hello");
  }
  ASSERT_TRUE(wait_until([&] { return h.opens.load() == 1; }, 2s));
  {
    TlsTestClient c(client_opts());
    ASSERT_TRUE(c.connect(srv.port())) << c.error();
    EXPECT_TRUE(echo_ok(c, "tls hello")) << c.error();
  }
  ASSERT_TRUE(wait_until([&] { return h.opens.load() == 2; }, 2s));
  const Opened p = h.opened(0);
  const Opened t = h.opened(1);
  EXPECT_FALSE(p.secure);
  EXPECT_FALSE(p.tls.has_value());
  EXPECT_TRUE(t.secure);
  ASSERT_TRUE(t.tls.has_value());
  EXPECT_EQ(t.tls->version, "TLSv1.3");
  EXPECT_EQ(srv.stats().tls_handshakes, 1u);
}

TEST_F(TlsBoth, SslModeBoth) {
  Config cfg = tls_config();
  cfg.listen = {"tcp://127.0.0.1:0"};
  cfg.tls.mode = SslMode::both;
  plain_and_tls_on_one_port(cfg);
}

TEST_F(TlsBoth, UrlOptionTlsBoth) {
  Config cfg = tls_config();
  cfg.listen = {"tcp://127.0.0.1:0?tls=both"};
  cfg.tls.mode = SslMode::plain;
  plain_and_tls_on_one_port(cfg);
}

// =====================================================================================
// 11. close() after a write ends with close_notify.
// =====================================================================================

TEST_F(TlsClose, WriteThenCloseSendsCloseNotify) {
  struct ByeHandler : TlsHandler {
    Action on_open(Conn& c) override {
      TlsHandler::on_open(c);
      c.write("bye");
      c.close();
      return Action::none;
    }
  } h;
  TestServer srv(h, tls_config());
  for (int version : {TLS1_3_VERSION, TLS1_2_VERSION}) {
    SCOPED_TRACE(version_name(version));
    TlsTestClient c(client_opts(version));
    ASSERT_TRUE(c.connect(srv.port())) << c.error();
    EXPECT_EQ(c.read_exact(3), "bye") << c.error();
    EXPECT_EQ(c.read_until_eof(), "");
    EXPECT_TRUE(c.got_close_notify()) << c.error();
    EXPECT_FALSE(c.failed()) << c.error();
  }
  ASSERT_TRUE(wait_until([&] { return h.closes.load() == 2; }, 2s));
  for (const auto& why : h.close_reasons())
    EXPECT_FALSE(why) << why.message();
}

// The client says goodbye (close_notify) right after asking for 4 MiB: what
// was queued is still delivered, then the server answers with its own
// close_notify.
TEST_F(TlsClose, PeerCloseNotifyStillGetsQueuedOutput) {
  constexpr std::size_t kTotal = 4 * kMiB;
  struct Bulk : TlsHandler {
    std::string data = pattern(kTotal);
    std::size_t on_data(Conn& c, Bytes in) override {
      c.write(data);
      return in.size();
    }
  } h;
  TestServer srv(h, tls_config());
  TlsTestClient c(client_opts());
  ASSERT_TRUE(c.connect(srv.port())) << c.error();
  ASSERT_TRUE(c.write_all("go"));
  std::this_thread::sleep_for(50ms);  // the request is read before the goodbye
  c.shutdown();                       // close_notify; keep reading
  const std::string got = c.read_until_eof();
  ASSERT_EQ(got.size(), kTotal) << c.error();
  EXPECT_EQ(pattern_mismatch(got), std::string::npos);
  EXPECT_TRUE(c.got_close_notify()) << c.error();
  ASSERT_TRUE(wait_until([&] { return h.closes.load() == 1; }, 2s));
  EXPECT_FALSE(h.close_reasons().at(0)) << h.close_reasons().at(0).message();
}

TEST_F(TlsClose, GracefulStopSendsCloseNotify) {
  TlsHandler h;
  TestServer srv(h, tls_config());
  TlsTestClient c(client_opts());
  ASSERT_TRUE(c.connect(srv.port())) << c.error();
  ASSERT_TRUE(echo_ok(c, "before the stop"));
  srv.stop_and_wait();
  EXPECT_EQ(c.read_until_eof(), "");
  EXPECT_TRUE(c.got_close_notify()) << c.error();
  EXPECT_EQ(h.closes.load(), 1);
}

// =====================================================================================
// 12. A slow reader gets every byte in order.
// =====================================================================================

TEST_F(TlsFlow, SlowReaderGetsSixteenMiBInOrder) {
  constexpr std::size_t kTotal = 16 * kMiB;
  struct Bulk : TlsHandler {
    std::string data = pattern(kTotal);
    Action on_open(Conn& c) override {
      TlsHandler::on_open(c);
      c.write(data);
      return Action::none;
    }
  } h;
  TestServer srv(h, tls_config());
  TlsTestClient c(client_opts());
  ASSERT_TRUE(c.connect(srv.port())) << c.error();
  std::this_thread::sleep_for(500ms);  // reads nothing yet
  EXPECT_EQ(h.drained.load(), 0) << "16 MiB cannot have drained into a reader that reads nothing";
  const std::string got = c.read_exact(kTotal);
  ASSERT_EQ(got.size(), kTotal) << c.error();
  EXPECT_EQ(pattern_mismatch(got), std::string::npos);
  EXPECT_TRUE(wait_until([&] { return h.drained.load() == 1; }, 2s))
      << "on_drained fired " << h.drained.load() << " times";
  EXPECT_TRUE(wait_until([&] { return srv.stats().bytes_out == kTotal; }, 2s))
      << "bytes_out=" << srv.stats().bytes_out;
}

// Reading paused while OpenSSL already holds decrypted or undecrypted input
// (the socket will not report it readable again): resume_reading must go
// back for it.
TEST_F(TlsFlow, PauseAndResumeWithDataBufferedInTls) {
  constexpr std::size_t kTotal = 2 * kMiB;
  struct Pauser : TlsHandler {
    std::atomic<std::size_t> received{0};
    std::atomic<bool> paused{false};
    std::mutex mu;
    std::string data;
    ConnHandle handle;
    std::size_t on_data(Conn& c, Bytes in) override {
      {
        std::lock_guard lock(mu);
        data.append(in.data(), in.size());
      }
      received += in.size();
      if (!paused && received >= 100 * kKiB) {
        {
          std::lock_guard lock(mu);
          handle = c.handle();
        }
        c.pause_reading();
        paused = true;
      }
      return in.size();
    }
  } h;
  TestServer srv(h, tls_config());
  TlsTestClient c(client_opts());
  ASSERT_TRUE(c.connect(srv.port())) << c.error();
  // One write of 2 MiB: records keep arriving while the handler pauses.
  ASSERT_TRUE(c.write_all(pattern(kTotal))) << c.error();
  ASSERT_TRUE(wait_until([&] { return h.paused.load(); }, 2s));
  std::this_thread::sleep_for(200ms);
  const std::size_t at_pause = h.received.load();
  EXPECT_LT(at_pause, kTotal) << "reading did not pause";
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(h.received.load(), at_pause) << "on_data ran while paused";
  ConnHandle hd;
  {
    std::lock_guard lock(h.mu);
    hd = h.handle;
  }
  std::promise<void> resumed;
  ASSERT_FALSE(hd.post([&resumed](Conn& conn) {
    conn.resume_reading();
    resumed.set_value();
  }));
  ASSERT_EQ(resumed.get_future().wait_for(2s), std::future_status::ready);
  EXPECT_TRUE(wait_until([&] { return h.received.load() == kTotal; }, 3s))
      << "received " << h.received.load() << " of " << kTotal << " after resume_reading";
  std::lock_guard lock(h.mu);
  EXPECT_EQ(pattern_mismatch(h.data), std::string::npos);
}

// =====================================================================================
// 13. kTLS: the fallback to userspace, and what each policy reports.
// =====================================================================================

TEST_F(TlsKtls, AutoFallsBackConsistently) {
  const auto& k = weft::detail::kernel_tls();
  TlsHandler h;
  Config cfg = tls_config();
  cfg.tls.ktls = KtlsPolicy::automatic;
  TestServer srv(h, cfg);
  for (int version : {TLS1_3_VERSION, TLS1_2_VERSION}) {
    SCOPED_TRACE(version_name(version));
    TlsTestClient c(client_opts(version));
    ASSERT_TRUE(c.connect(srv.port())) << c.error();
    const std::string data = pattern(256 * kKiB);
    ASSERT_TRUE(c.write_all(data));
    EXPECT_EQ(pattern_mismatch(c.read_exact(data.size())), std::string::npos);
  }
  ASSERT_TRUE(wait_until([&] { return h.opens.load() == 2; }, 2s));
  for (std::size_t i = 0; i < 2; ++i) {
    const Opened op = h.opened(i);
    ASSERT_TRUE(op.tls.has_value());
    const TlsInfo& t = *op.tls;
    if (!k.ulp_available) {
      EXPECT_FALSE(t.ktls_tx);
      EXPECT_FALSE(t.ktls_rx);
      EXPECT_EQ(t.ktls_reason, "no_kernel_tls");
    } else {
      // tx/rx and the reason must agree with each other.
      EXPECT_EQ(t.ktls_tx && t.ktls_rx, t.ktls_reason == "offloaded") << t.ktls_reason;
      EXPECT_EQ(t.ktls_tx && !t.ktls_rx, t.ktls_reason == "rx_unsupported") << t.ktls_reason;
    }
  }
  const auto st = srv.stats();
  const std::uint64_t counted =
      st.ktls_offloaded + st.ktls_tx_only + st.ktls_no_kernel + st.ktls_cipher + st.ktls_declined;
  EXPECT_EQ(counted, 2u) << "every handshake is counted once";
  if (!k.ulp_available) {
    EXPECT_EQ(st.ktls_no_kernel, 2u);
  }
}

TEST_F(TlsKtls, RequiredRefusesToStartWithoutKernelTls) {
  if (weft::detail::kernel_tls().ulp_available) {
    GTEST_SKIP() << "this kernel has the tls ULP: ktlsPolicy required can start here";
  }
  TlsHandler h;
  Config cfg = tls_config();
  cfg.tls.ktls = KtlsPolicy::required;
  try {
    weft::Server s(h, cfg);
    ADD_FAILURE() << "the Server constructor accepted ktlsPolicy required without kernel TLS";
  } catch (const weft::ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("ktlsPolicy"), std::string::npos) << e.what();
  }
}

TEST_F(TlsKtls, OffReportsDisabled) {
  TlsHandler h;
  Config cfg = tls_config();
  cfg.tls.ktls = KtlsPolicy::off;
  TestServer srv(h, cfg);
  TlsTestClient c(client_opts());
  ASSERT_TRUE(c.connect(srv.port())) << c.error();
  ASSERT_TRUE(echo_ok(c, "no offload"));
  ASSERT_TRUE(wait_until([&] { return h.opens.load() == 1; }, 2s));
  const Opened op = h.opened(0);
  ASSERT_TRUE(op.tls.has_value());
  EXPECT_FALSE(op.tls->ktls_tx);
  EXPECT_FALSE(op.tls->ktls_rx);
  EXPECT_EQ(op.tls->ktls_reason, "disabled");
  const auto st = srv.stats();
  EXPECT_EQ(st.ktls_offloaded + st.ktls_tx_only + st.ktls_no_kernel + st.ktls_cipher, 0u);
}

// =====================================================================================
// 14. ConnHandle::send from another thread to a TLS connection.
// =====================================================================================
//
// A handle exists from on_open on, which is after the handshake: the
// earliest a thread can send is while on_open is still running. The handler
// below hands its handle to a thread and holds on_open until that thread has
// queued its sends, so they run right behind on_open's own write.

TEST_F(TlsHandle, SendsFromAnotherThreadArriveIntact) {
  constexpr int kEarly = 200;
  constexpr std::size_t kLateChunk = 16 * kKiB;
  constexpr std::size_t kLate = 128;  // 2 MiB

  struct Publisher : TlsHandler {
    std::promise<ConnHandle> handle;
    std::atomic<bool> early_queued{false};
    Action on_open(Conn& c) override {
      TlsHandler::on_open(c);
      c.write("open|");
      handle.set_value(c.handle());
      // Keep the loop busy until the other thread's sends are queued.
      wait_until([this] { return early_queued.load(); }, 2s);
      return Action::none;
    }
    std::size_t on_data(Conn& /*c*/, Bytes in) override { return in.size(); }
  } h;
  TestServer srv(h, tls_config());
  auto fut = h.handle.get_future();

  std::string expect_early = "open|";
  for (int i = 0; i < kEarly; ++i)
    expect_early += "m" + std::to_string(i) + "|";

  std::atomic<int> send_errors{0};
  ConnHandle hd;
  Threads threads;
  threads.spawn([&] {
    if (fut.wait_for(5s) != std::future_status::ready) {
      ++send_errors;
      h.early_queued = true;
      return;
    }
    hd = fut.get();
    for (int i = 0; i < kEarly; ++i) {
      if (hd.send("m" + std::to_string(i) + "|")) ++send_errors;
    }
    h.early_queued = true;
  });

  TlsTestClient c(client_opts());
  ASSERT_TRUE(c.connect(srv.port())) << c.error();
  const std::string early = c.read_exact(expect_early.size());
  EXPECT_EQ(early, expect_early) << c.error();
  threads.join();
  ASSERT_EQ(send_errors.load(), 0);
  ASSERT_TRUE(hd.alive());

  // Well after the handshake: 2 MiB in 16 KiB sends from another thread,
  // read while they are being sent.
  threads.spawn([&] {
    for (std::size_t i = 0; i < kLate; ++i) {
      if (hd.send(pattern(kLateChunk, i * kLateChunk))) ++send_errors;
    }
  });
  const std::string late = c.read_exact(kLate * kLateChunk);
  threads.join();
  EXPECT_EQ(send_errors.load(), 0);
  ASSERT_EQ(late.size(), kLate * kLateChunk) << c.error();
  EXPECT_EQ(pattern_mismatch(late), std::string::npos);
}

}  // namespace
