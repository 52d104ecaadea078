// weft's own TLS 1.3 record layer (tlsRecordLayer "weft") against OpenSSL's
// client, the reference: it takes over after the handshake for each suite,
// with and without session tickets and on resumed sessions; carries data both
// ways, also through the smallest loop buffer; follows KeyUpdates in both
// directions and answers those that ask (once while it cannot send); ends
// on close_notify; answers forged and unprotected records with a fatal alert.
// TLS 1.2 and tlsRecordLayer "openssl" stay with OpenSSL.
#include <gtest/gtest.h>
#include <openssl/ssl.h>
#include <sys/socket.h>

#include <atomic>
#include <fstream>
#include <mutex>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

#include "test_support.hpp"
#include "tls/self_signed.hpp"
#include "tls_client_support.hpp"
#include "weft/weft.hpp"

namespace {

using namespace weft::test;
using weft::Action;
using weft::Bytes;
using weft::Config;
using weft::Conn;
using weft::Handler;
using weft::TlsInfo;

constexpr std::size_t kMiB = 1024 * 1024;

const weft::detail::SelfSigned& cert() {
  static const auto c = weft::detail::make_self_signed({"localhost", "127.0.0.1"});
  return c;
}

Config tls_config() {
  Config cfg = test_config();
  cfg.listen = {"tls://127.0.0.1:0"};
  cfg.tls.cert = {cert().cert_pem, cert().key_pem};
  return cfg;
}

TlsTestClientOptions client_opts(const std::string& suites = {}) {
  TlsTestClientOptions o;
  o.sni = "localhost";
  o.trusted_ca_pem = cert().cert_pem;
  o.verify_host = "localhost";
  o.ciphersuites = suites;
  return o;
}

// Echoes; keeps what the last connection's TlsInfo said and why it closed.
struct EchoHandler : Handler {
  std::size_t on_data(Conn& c, Bytes in) override {
    c.write(in);
    std::lock_guard lock(mu);
    info = c.tls();
    return in.size();
  }
  void on_close(Conn& /*c*/, std::error_code why) override {
    std::lock_guard lock(mu);
    closes.push_back(why);
  }
  std::optional<TlsInfo> last_info() {
    std::lock_guard lock(mu);
    return info;
  }
  std::vector<std::error_code> close_reasons() {
    std::lock_guard lock(mu);
    return closes;
  }

  std::mutex mu;
  std::optional<TlsInfo> info;
  std::vector<std::error_code> closes;
};

bool echo_ok(TlsTestClient& c, std::string_view msg) {
  return c.write_all(msg) && c.read_exact(msg.size()) == msg;
}

bool echo_pattern(TlsTestClient& c, std::size_t n) {
  const std::string data = pattern(n);
  if (!c.write_all(data)) return false;
  const std::string back = c.read_exact(n);
  return back.size() == n && pattern_mismatch(back) == std::string::npos;
}

// The most a TCP socket here may hold for sending: tcp_wmem's maximum.
std::size_t largest_tcp_send_buffer() {
  std::ifstream f("/proc/sys/net/ipv4/tcp_wmem");
  std::size_t low = 0;
  std::size_t initial = 0;
  std::size_t most = 0;
  if (f >> low >> initial >> most) return most;
  return 4 * kMiB;  // the kernel's default
}

// Counts the KeyUpdate messages a client receives.
void count_key_updates(int write_p, int /*version*/, int content_type, const void* buf,
                       std::size_t len, SSL* /*ssl*/, void* arg) {
  if (write_p == 0 && content_type == SSL3_RT_HANDSHAKE && len > 0 &&
      *static_cast<const unsigned char*>(buf) == SSL3_MT_KEY_UPDATE) {
    ++*static_cast<int*>(arg);
  }
}

TEST(TlsOwnRecords, EchoesOnEveryTls13Suite) {
  const char* suites[] = {"TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384",
                          "TLS_CHACHA20_POLY1305_SHA256"};
  EchoHandler h;
  TestServer srv(h, tls_config());
  std::uint64_t taken = 0;
  for (const char* suite : suites) {
    SCOPED_TRACE(suite);
    TlsTestClient c(client_opts(suite));
    ASSERT_TRUE(c.connect(srv.port())) << c.error();
    ASSERT_TRUE(echo_ok(c, "hello")) << c.error();
    ASSERT_TRUE(echo_pattern(c, kMiB)) << c.error();  // full records both ways
    ASSERT_TRUE(echo_ok(c, "")) << c.error();
    ASSERT_TRUE(echo_ok(c, "bye")) << c.error();
    EXPECT_EQ(srv.stats().tls_own_records, ++taken);
    const auto info = h.last_info();
    ASSERT_TRUE(info.has_value());
    EXPECT_TRUE(info->own_records);
    EXPECT_EQ(info->version, "TLSv1.3");
    EXPECT_EQ(info->cipher, suite);
    EXPECT_EQ(info->server_name, "localhost");
  }
}

TEST(TlsOwnRecords, SmallestLoopBufferStillCarriesFullRecords) {
  // bufSize 4096 is less than one record: records are opened in the
  // thread's work area and what does not fit waits for the next read.
  EchoHandler h;
  Config cfg = tls_config();
  cfg.buf_size = 4096;
  TestServer srv(h, cfg);
  TlsTestClient c(client_opts());
  ASSERT_TRUE(c.connect(srv.port())) << c.error();
  ASSERT_TRUE(echo_pattern(c, 2 * kMiB)) << c.error();
  ASSERT_TRUE(echo_ok(c, "tail")) << c.error();
  EXPECT_EQ(srv.stats().tls_own_records, 1u);
  EXPECT_EQ(srv.stats().bytes_in, 2 * kMiB + 4);
}

TEST(TlsOwnRecords, WithoutTicketsAndOnResumedSessions) {
  // No tickets: the server's first application record is number 0, not 2.
  {
    EchoHandler h;
    Config cfg = tls_config();
    cfg.tls.tickets_disabled = true;
    TestServer srv(h, cfg);
    TlsTestClient c(client_opts());
    ASSERT_TRUE(c.connect(srv.port())) << c.error();
    ASSERT_TRUE(echo_pattern(c, 100000)) << c.error();
    EXPECT_EQ(srv.stats().tls_own_records, 1u);
  }
  EchoHandler h;
  TestServer srv(h, tls_config());
  TlsSessionPtr session;
  {
    TlsTestClient c(client_opts());
    ASSERT_TRUE(c.connect(srv.port())) << c.error();
    ASSERT_TRUE(echo_ok(c, "first")) << c.error();  // reads the tickets too
    session = c.get1_session();
    ASSERT_NE(session, nullptr);
  }
  TlsTestClientOptions o = client_opts();
  o.resume = session.get();
  TlsTestClient c(o);
  ASSERT_TRUE(c.connect(srv.port())) << c.error();
  EXPECT_TRUE(c.session_reused());
  ASSERT_TRUE(echo_pattern(c, 100000)) << c.error();
  EXPECT_EQ(srv.stats().tls_own_records, 2u);
  EXPECT_EQ(srv.stats().tls_resumed, 1u);
}

TEST(TlsOwnRecords, FollowsKeyUpdatesBothWays) {
  EchoHandler h;
  TestServer srv(h, tls_config());
  for (const char* suite : {"TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384"}) {
    SCOPED_TRACE(suite);
    TlsTestClient c(client_opts(suite));
    ASSERT_TRUE(c.connect(srv.port())) << c.error();
    ASSERT_TRUE(echo_ok(c, "before")) << c.error();
    int received = 0;
    SSL_set_msg_callback(c.ssl(), count_key_updates);
    SSL_set_msg_callback_arg(c.ssl(), &received);
    // The client's key moves on each time; it asks the server to move too.
    for (int i = 0; i < 3; ++i) {
      ASSERT_EQ(SSL_key_update(c.ssl(), SSL_KEY_UPDATE_REQUESTED), 1);
      ASSERT_TRUE(echo_ok(c, "requested " + std::to_string(i))) << c.error();
    }
    EXPECT_EQ(received, 3) << "the server answers each update_requested with its own KeyUpdate";
    // Without a request the server's key stays.
    for (int i = 0; i < 3; ++i) {
      ASSERT_EQ(SSL_key_update(c.ssl(), SSL_KEY_UPDATE_NOT_REQUESTED), 1);
      ASSERT_TRUE(echo_pattern(c, 70000)) << c.error();
    }
    EXPECT_EQ(received, 3);
    SSL_set_msg_callback(c.ssl(), nullptr);
  }
  EXPECT_EQ(srv.stats().tls_own_records, 2u);
}

TEST(TlsOwnRecords, KeyUpdateRequestsFromAClientThatDoesNotReadGetOneAnswer) {
  // While the socket is full, a client that keeps asking for KeyUpdates
  // gets one answer (RFC 8446 §4.6.3): nothing piles up in the server.
  // The client first sends more than the path back can hold (the server's
  // largest send buffer plus the client's fixed receive window), reading
  // nothing, so the server's echo is stuck before the first request comes.
  // (No send-buffer limit, so the server keeps reading meanwhile.)
  EchoHandler h;
  Config cfg = tls_config();
  cfg.cli_sbuf_limit = 0;
  TestServer srv(h, cfg);
  TlsTestClientOptions o = client_opts();
  o.receive_buffer = 64 * 1024;
  TlsTestClient c(o);
  ASSERT_TRUE(c.connect(srv.port())) << c.error();
  ASSERT_TRUE(echo_ok(c, "x")) << c.error();
  int received = 0;
  SSL_set_msg_callback(c.ssl(), count_key_updates);
  SSL_set_msg_callback_arg(c.ssl(), &received);
  std::string sent = pattern(largest_tcp_send_buffer() + 4 * kMiB);
  ASSERT_TRUE(c.write_all(sent)) << c.error();
  constexpr int kRequests = 1500;
  const std::string chunk = pattern(100);
  for (int i = 0; i < kRequests; ++i) {
    ASSERT_EQ(SSL_key_update(c.ssl(), SSL_KEY_UPDATE_REQUESTED), 1);
    ASSERT_TRUE(c.write_all(chunk)) << c.error();  // carries the KeyUpdate
    sent += chunk;
  }
  const std::string back = c.read_exact(sent.size());
  ASSERT_EQ(back.size(), sent.size()) << c.error();
  EXPECT_EQ(back, sent);
  EXPECT_GE(received, 1);
  EXPECT_LT(received, kRequests) << "answers were not coalesced while the client did not read";
  ASSERT_EQ(SSL_key_update(c.ssl(), SSL_KEY_UPDATE_REQUESTED), 1);
  const int before = received;
  ASSERT_TRUE(echo_ok(c, "after")) << c.error();
  EXPECT_EQ(received, before + 1);
  SSL_set_msg_callback(c.ssl(), nullptr);
}

TEST(TlsOwnRecords, CloseNotifyEndsTheConnectionCleanly) {
  EchoHandler h;
  TestServer srv(h, tls_config());
  TlsTestClient c(client_opts());
  ASSERT_TRUE(c.connect(srv.port())) << c.error();
  ASSERT_TRUE(echo_ok(c, "x")) << c.error();
  c.shutdown();
  (void)c.read_until_eof();
  EXPECT_TRUE(c.got_close_notify()) << "the server answers close_notify with its own";
  ASSERT_TRUE(wait_until([&] { return h.close_reasons().size() == 1; }));
  EXPECT_FALSE(h.close_reasons()[0]) << h.close_reasons()[0].message();
}

// A record that fails authentication, and one sent in the clear after the
// handshake: each gets a fatal alert and the connection closes with tls_error.
void refused(std::string_view raw, const char* alert) {
  EchoHandler h;
  TestServer srv(h, tls_config());
  TlsTestClient c(client_opts());
  ASSERT_TRUE(c.connect(srv.port())) << c.error();
  ASSERT_TRUE(echo_ok(c, "x")) << c.error();
  ASSERT_EQ(srv.stats().tls_own_records, 1u);
  ASSERT_TRUE(c.write_raw(raw));
  (void)c.read_exact(1);
  EXPECT_TRUE(c.failed());
  EXPECT_NE(c.error().find(alert), std::string::npos) << c.error();
  ASSERT_TRUE(wait_until([&] { return h.close_reasons().size() == 1; }));
  EXPECT_EQ(h.close_reasons()[0], weft::errc::tls_error);
}

TEST(TlsOwnRecords, ForgedRecordGetsBadRecordMac) {
  std::string forged = {0x17, 0x03, 0x03, 0x00, 0x20};
  forged += std::string(0x20, '\x5a');
  refused(forged, "bad record mac");
}

TEST(TlsOwnRecords, UnprotectedRecordGetsUnexpectedMessage) {
  const std::string clear = {0x16, 0x03, 0x03, 0x00, 0x01, 0x00};
  refused(clear, "unexpected message");
}

TEST(TlsOwnRecords, OversizedRecordGetsRecordOverflow) {
  std::string big = {0x17, 0x03, 0x03, 0x41, 0x01};  // 2^14 + 257 bytes
  refused(big, "record overflow");
}

TEST(TlsOwnRecords, Tls12AndTheOpensslSettingStayWithOpenssl) {
  {
    EchoHandler h;
    TestServer srv(h, tls_config());
    TlsTestClientOptions o = client_opts();
    o.min_version = o.max_version = TLS1_2_VERSION;
    TlsTestClient c(o);
    ASSERT_TRUE(c.connect(srv.port())) << c.error();
    ASSERT_TRUE(echo_pattern(c, 100000)) << c.error();
    EXPECT_EQ(srv.stats().tls_own_records, 0u);
    EXPECT_FALSE(h.last_info()->own_records);
  }
  EchoHandler h;
  Config cfg = tls_config();
  cfg.tls.record_layer = weft::TlsRecordLayer::openssl;
  TestServer srv(h, cfg);
  TlsTestClient c(client_opts());
  ASSERT_TRUE(c.connect(srv.port())) << c.error();
  ASSERT_TRUE(echo_pattern(c, 100000)) << c.error();
  EXPECT_EQ(srv.stats().tls_own_records, 0u);
  EXPECT_FALSE(h.last_info()->own_records);
}

}  // namespace
