// kTLS probing and reporting. The machine's kernel may or may not have the
// tls ULP: every test checks that weft's answers agree with what the test
// itself observes, and skips (saying why) only what needs the other case.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <memory>
#include <ostream>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "tls/ktls.hpp"
#include "tls/self_signed.hpp"

#ifndef TCP_ULP
#define TCP_ULP 31
#endif

namespace weft::detail {
namespace {

struct CtxFree {
  void operator()(SSL_CTX* p) const noexcept { SSL_CTX_free(p); }
};
struct SslFree {
  void operator()(SSL* p) const noexcept { SSL_free(p); }
};
struct BioFree {
  void operator()(BIO* p) const noexcept { BIO_free(p); }
};
struct X509Free {
  void operator()(X509* p) const noexcept { X509_free(p); }
};
struct PkeyFree {
  void operator()(EVP_PKEY* p) const noexcept { EVP_PKEY_free(p); }
};
using CtxPtr = std::unique_ptr<SSL_CTX, CtxFree>;
using SslPtr = std::unique_ptr<SSL, SslFree>;
using BioPtr = std::unique_ptr<BIO, BioFree>;
using X509Ptr = std::unique_ptr<X509, X509Free>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;

struct Fd {
  int fd = -1;
  Fd() = default;
  explicit Fd(int f) : fd(f) {}
  Fd(Fd&& o) noexcept : fd(o.fd) { o.fd = -1; }
  Fd& operator=(Fd&& o) noexcept {
    std::swap(fd, o.fd);
    return *this;
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

// A connected loopback TCP pair (client, accepted server) with timeouts.
struct Pair {
  Fd client;
  Fd server;
};
Pair loopback_pair() {
  Fd listener(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  EXPECT_GE(listener.fd, 0) << std::strerror(errno);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  auto* sa = reinterpret_cast<sockaddr*>(&addr);
  EXPECT_EQ(::bind(listener.fd, sa, sizeof addr), 0) << std::strerror(errno);
  EXPECT_EQ(::listen(listener.fd, 4), 0) << std::strerror(errno);
  EXPECT_EQ(::getsockname(listener.fd, sa, &len), 0) << std::strerror(errno);
  Pair p;
  p.client = Fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  EXPECT_EQ(::connect(p.client.fd, sa, sizeof addr), 0) << std::strerror(errno);
  p.server = Fd(::accept4(listener.fd, nullptr, nullptr, SOCK_CLOEXEC));
  EXPECT_GE(p.server.fd, 0) << std::strerror(errno);
  const timeval tv{.tv_sec = 20, .tv_usec = 0};
  const int one = 1;
  for (const int fd : {p.client.fd, p.server.fd}) {
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  }
  return p;
}

// The test's own probe, independent of kernel_tls(): TCP_ULP "tls" on both
// ends of a fresh established pair. Returns 0 or the errno.
int fresh_ulp_probe() {
  static constexpr char kTls[] = "tls";
  Pair p = loopback_pair();
  const int rc1 = ::setsockopt(p.client.fd, IPPROTO_TCP, TCP_ULP, kTls, sizeof kTls - 1);
  const int err1 = rc1 == 0 ? 0 : errno;
  const int rc2 = ::setsockopt(p.server.fd, IPPROTO_TCP, TCP_ULP, kTls, sizeof kTls - 1);
  const int err2 = rc2 == 0 ? 0 : errno;
  EXPECT_EQ(err1, err2) << "both ends of one loopback pair should answer alike";
  return err1;
}

bool ulp_present() {
  static const bool present = fresh_ulp_probe() == 0;
  return present;
}

// Suite names start with "ktls" so that `ctest -R ktls` selects them all.

// --- probing -----------------------------------------------------------------

TEST(ktlsProbe, AgreesWithAFreshProbe) {
  const int err = fresh_ulp_probe();
  const KernelTls& k = kernel_tls();
  EXPECT_EQ(k.ulp_available, err == 0) << "fresh probe errno " << err << ", reason: " << k.reason;
  EXPECT_EQ(k.ulp_errno, err);
#ifdef OPENSSL_NO_KTLS
  EXPECT_FALSE(k.openssl_ktls);
#else
  EXPECT_TRUE(k.openssl_ktls);
#endif
  if (!k.ulp_available) {
    EXPECT_FALSE(k.reason.empty());
    EXPECT_NE(k.reason.find(errno_name(err)), std::string::npos) << k.reason;
  }
}

TEST(ktlsProbe, IsProbedOnceAndSharedAcrossThreads) {
  const KernelTls* first = &kernel_tls();
  std::vector<const KernelTls*> seen(8, nullptr);
  std::vector<std::thread> threads;
  threads.reserve(seen.size());
  for (auto& s : seen)
    threads.emplace_back([&s] { s = &kernel_tls(); });
  for (auto& t : threads)
    t.join();
  for (const KernelTls* s : seen)
    EXPECT_EQ(s, first);
}

TEST(ktlsProbe, ReasonExplainsAMissingModule) {
  if (ulp_present()) GTEST_SKIP() << "this kernel has the tls ULP: no missing-module reason";
  const KernelTls& k = kernel_tls();
  if (k.ulp_errno != ENOENT)
    GTEST_SKIP() << "the ULP is refused with " << errno_name(k.ulp_errno) << ", not ENOENT";
  EXPECT_NE(k.reason.find("ENOENT"), std::string::npos) << k.reason;
  EXPECT_NE(k.reason.find("TCP_ULP"), std::string::npos) << k.reason;
  EXPECT_NE(k.reason.find("modprobe tls"), std::string::npos) << k.reason;
  EXPECT_NE(k.reason.find("tcp_available_ulp"), std::string::npos) << k.reason;
}

TEST(ktlsProbe, PresentUlpHasNoFailureReason) {
  if (!ulp_present()) GTEST_SKIP() << "this kernel has no tls ULP: " << kernel_tls().reason;
  const KernelTls& k = kernel_tls();
  EXPECT_EQ(k.ulp_errno, 0);
  if (k.openssl_ktls) {
    EXPECT_TRUE(k.reason.empty()) << k.reason;
  }
}

TEST(ktlsProbe, AvailableUlpsMatchesProc) {
  const std::string ulps = available_ulps();
  EXPECT_EQ(ulps.find('\n'), std::string::npos);
  // The list is what is loaded now; "tls" there means setsockopt succeeds.
  if (ulps.find("tls") != std::string::npos) {
    EXPECT_TRUE(ulp_present()) << ulps;
  }
}

TEST(ktlsProbe, ErrnoNames) {
  EXPECT_EQ(errno_name(ENOENT), "ENOENT");
  EXPECT_EQ(errno_name(EPERM), "EPERM");
  EXPECT_FALSE(errno_name(99999).empty());
}

// --- reasons -------------------------------------------------------------------

TEST(ktlsReason, EveryValueHasItsOwnName) {
  EXPECT_STREQ(to_string(KtlsReason::offloaded), "offloaded");
  EXPECT_STREQ(to_string(KtlsReason::disabled), "disabled");
  EXPECT_STREQ(to_string(KtlsReason::no_kernel_tls), "no_kernel_tls");
  EXPECT_STREQ(to_string(KtlsReason::cipher), "cipher");
  EXPECT_STREQ(to_string(KtlsReason::rx_unsupported), "rx_unsupported");
  EXPECT_STREQ(to_string(KtlsReason::openssl_declined), "openssl_declined");
  std::set<std::string> names;
  for (const KtlsReason r :
       {KtlsReason::offloaded, KtlsReason::disabled, KtlsReason::no_kernel_tls, KtlsReason::cipher,
        KtlsReason::rx_unsupported, KtlsReason::openssl_declined})
    names.insert(to_string(r));
  EXPECT_EQ(names.size(), 6U);
}

// --- ciphers -------------------------------------------------------------------

class ktlsCipher : public ::testing::Test {
 protected:
  void SetUp() override {
    ctx_.reset(SSL_CTX_new(TLS_method()));
    ASSERT_TRUE(ctx_);
    ssl_.reset(SSL_new(ctx_.get()));
    ASSERT_TRUE(ssl_);
  }
  // By IANA code point: finds any suite this OpenSSL knows, enabled or not.
  const SSL_CIPHER* find(unsigned char hi, unsigned char lo) {
    const unsigned char id[2] = {hi, lo};
    const SSL_CIPHER* c = SSL_CIPHER_find(ssl_.get(), id);
    EXPECT_NE(c, nullptr) << "suite " << int{hi} << "," << int{lo};
    return c;
  }
  CtxPtr ctx_;
  SslPtr ssl_;
};

TEST_F(ktlsCipher, Tls13AeadSuitesAreSupportedUnderTls13Only) {
  for (const unsigned char lo : {0x01, 0x02, 0x03}) {  // AES-128-GCM, AES-256-GCM, CHACHA20
    const SSL_CIPHER* c = find(0x13, lo);
    ASSERT_NE(c, nullptr);
    EXPECT_TRUE(ktls_cipher_supported(c, TLS1_3_VERSION)) << SSL_CIPHER_get_name(c);
    EXPECT_FALSE(ktls_cipher_supported(c, TLS1_2_VERSION)) << SSL_CIPHER_get_name(c);
  }
}

TEST_F(ktlsCipher, Tls12AeadSuitesAreSupportedUnderTls12Only) {
  const unsigned char ids[][2] = {
      {0xC0, 0x2B},  // ECDHE-ECDSA-AES128-GCM-SHA256
      {0xC0, 0x2F},  // ECDHE-RSA-AES128-GCM-SHA256
      {0xC0, 0x2C},  // ECDHE-ECDSA-AES256-GCM-SHA384
      {0xC0, 0x30},  // ECDHE-RSA-AES256-GCM-SHA384
      {0xCC, 0xA9},  // ECDHE-ECDSA-CHACHA20-POLY1305
      {0xCC, 0xA8},  // ECDHE-RSA-CHACHA20-POLY1305
      {0x00, 0x9E},  // DHE-RSA-AES128-GCM-SHA256
  };
  for (const auto& id : ids) {
    const SSL_CIPHER* c = find(id[0], id[1]);
    ASSERT_NE(c, nullptr);
    EXPECT_TRUE(ktls_cipher_supported(c, TLS1_2_VERSION)) << SSL_CIPHER_get_name(c);
    EXPECT_FALSE(ktls_cipher_supported(c, TLS1_3_VERSION)) << SSL_CIPHER_get_name(c);
    EXPECT_FALSE(ktls_cipher_supported(c, TLS1_1_VERSION)) << SSL_CIPHER_get_name(c);
  }
}

TEST_F(ktlsCipher, CbcCcmAndNullAreNotSupported) {
  const unsigned char ids[][2] = {
      {0xC0, 0x13},  // ECDHE-RSA-AES128-SHA (CBC)
      {0xC0, 0x23},  // ECDHE-ECDSA-AES128-SHA256 (CBC)
      {0x00, 0x3C},  // AES128-SHA256 (CBC)
      {0x13, 0x04},  // TLS_AES_128_CCM_SHA256
  };
  for (const auto& id : ids) {
    const SSL_CIPHER* c = find(id[0], id[1]);
    ASSERT_NE(c, nullptr);
    EXPECT_FALSE(ktls_cipher_supported(c, TLS1_2_VERSION)) << SSL_CIPHER_get_name(c);
    EXPECT_FALSE(ktls_cipher_supported(c, TLS1_3_VERSION)) << SSL_CIPHER_get_name(c);
  }
  EXPECT_FALSE(ktls_cipher_supported(nullptr, TLS1_3_VERSION));
}

// Every suite in OpenSSL's default list: supported exactly when the record
// cipher is AES-GCM or ChaCha20-Poly1305 (not ARIA-GCM, CCM, CBC).
TEST_F(ktlsCipher, DefaultListAgreesWithNames) {
  const STACK_OF(SSL_CIPHER)* all = SSL_get_ciphers(ssl_.get());
  ASSERT_NE(all, nullptr);
  int supported = 0;
  for (int i = 0; i < sk_SSL_CIPHER_num(all); ++i) {
    const SSL_CIPHER* c = sk_SSL_CIPHER_value(all, i);
    const std::string name = SSL_CIPHER_get_name(c);
    const bool tls13 = name.rfind("TLS_", 0) == 0;
    const bool aead = name.find("AES128-GCM") != std::string::npos ||
                      name.find("AES256-GCM") != std::string::npos ||
                      name.find("AES_128_GCM") != std::string::npos ||
                      name.find("AES_256_GCM") != std::string::npos ||
                      name.find("CHACHA20") != std::string::npos;
    EXPECT_EQ(ktls_cipher_supported(c, tls13 ? TLS1_3_VERSION : TLS1_2_VERSION), aead) << name;
    supported += aead ? 1 : 0;
  }
  EXPECT_GE(supported, 6);
}

// --- connection state ------------------------------------------------------------

TEST(ktlsState, FreshSslWithKtlsOffIsDisabled) {
  const CtxPtr ctx(SSL_CTX_new(TLS_server_method()));
  ASSERT_TRUE(ctx);
  const SslPtr ssl(SSL_new(ctx.get()));
  ASSERT_TRUE(ssl);
  const KtlsState st = ktls_state(ssl.get(), false);
  EXPECT_FALSE(st.tx);
  EXPECT_FALSE(st.rx);
  EXPECT_EQ(st.reason, KtlsReason::disabled);
}

TEST(ktlsState, FreshSslWithKtlsOnExplainsWhatIsMissing) {
  const CtxPtr ctx(SSL_CTX_new(TLS_server_method()));
  ASSERT_TRUE(ctx);
  const SslPtr ssl(SSL_new(ctx.get()));
  ASSERT_TRUE(ssl);
  const KtlsState st = ktls_state(ssl.get(), true);
  EXPECT_FALSE(st.tx);
  EXPECT_FALSE(st.rx);
  // Before the handshake there is no cipher yet.
  EXPECT_EQ(st.reason, ulp_present() ? KtlsReason::cipher : KtlsReason::no_kernel_tls);
  EXPECT_EQ(ktls_state(nullptr, false).reason, KtlsReason::disabled);
}

// A real TLS handshake over loopback TCP: server on a thread, both blocking.
struct Side {
  KtlsState state;
  bool cipher_ok = false;  // ktls_cipher_supported(negotiated)
  std::string error;
};
struct Result {
  Side server;
  Side client;
};

const SelfSigned& test_cert() {
  static const SelfSigned cert = make_self_signed({"localhost"});
  return cert;
}

std::string drain_errors() {
  std::string out;
  char buf[256];
  while (const unsigned long e = ERR_get_error()) {
    ERR_error_string_n(e, buf, sizeof buf);
    out += buf;
    out += "; ";
  }
  return out;
}

CtxPtr make_ctx(bool server, int version, const char* suite, bool ktls) {
  CtxPtr ctx(SSL_CTX_new(server ? TLS_server_method() : TLS_client_method()));
  EXPECT_TRUE(ctx);
  EXPECT_EQ(SSL_CTX_set_min_proto_version(ctx.get(), version), 1);
  EXPECT_EQ(SSL_CTX_set_max_proto_version(ctx.get(), version), 1);
  if (version == TLS1_3_VERSION)
    EXPECT_EQ(SSL_CTX_set_ciphersuites(ctx.get(), suite), 1) << suite;
  else
    EXPECT_EQ(SSL_CTX_set_cipher_list(ctx.get(), suite), 1) << suite;
  if (ktls)
    SSL_CTX_set_options(ctx.get(), SSL_OP_ENABLE_KTLS);
  else
    SSL_CTX_clear_options(ctx.get(), SSL_OP_ENABLE_KTLS);
  if (server) {
    const SelfSigned& cert = test_cert();
    const BioPtr cb(BIO_new_mem_buf(cert.cert_pem.data(), static_cast<int>(cert.cert_pem.size())));
    const BioPtr kb(BIO_new_mem_buf(cert.key_pem.data(), static_cast<int>(cert.key_pem.size())));
    const X509Ptr x509(PEM_read_bio_X509(cb.get(), nullptr, nullptr, nullptr));
    const PkeyPtr key(PEM_read_bio_PrivateKey(kb.get(), nullptr, nullptr, nullptr));
    EXPECT_TRUE(x509 && key) << drain_errors();
    EXPECT_EQ(SSL_CTX_use_certificate(ctx.get(), x509.get()), 1) << drain_errors();
    EXPECT_EQ(SSL_CTX_use_PrivateKey(ctx.get(), key.get()), 1) << drain_errors();
  } else {
    SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_NONE, nullptr);
  }
  return ctx;
}

// Handshake, one message each way, then each side's ktls_state().
void finish_side(SSL* ssl, bool ktls, bool is_server, Side& me) {
  const bool ok = is_server ? SSL_accept(ssl) == 1 : SSL_connect(ssl) == 1;
  if (!ok) {
    me.error = (is_server ? "server handshake: " : "client handshake: ") + drain_errors();
    return;
  }
  char buf[5] = {};
  std::size_t n = 0;
  const char* mine = is_server ? "pong" : "ping";
  const char* theirs = is_server ? "ping" : "pong";
  if (!is_server && SSL_write_ex(ssl, mine, 4, &n) != 1) me.error = "client write";
  if (me.error.empty() && (SSL_read_ex(ssl, buf, 4, &n) != 1 || std::strcmp(buf, theirs) != 0))
    me.error = std::string(is_server ? "server" : "client") + " read: " + drain_errors();
  if (me.error.empty() && is_server && SSL_write_ex(ssl, mine, 4, &n) != 1)
    me.error = "server write";
  me.state = ktls_state(ssl, ktls);
  me.cipher_ok = ktls_cipher_supported(SSL_get_current_cipher(ssl), SSL_version(ssl));
  SSL_shutdown(ssl);
}

Result handshake(int version, const char* suite, bool ktls) {
  std::signal(SIGPIPE, SIG_IGN);
  const CtxPtr sctx = make_ctx(true, version, suite, ktls);
  const CtxPtr cctx = make_ctx(false, version, suite, ktls);
  Pair p = loopback_pair();
  Result r;
  std::thread server([&r, &sctx, fd = std::move(p.server), ktls] {
    const SslPtr ssl(SSL_new(sctx.get()));
    SSL_set_fd(ssl.get(), fd.fd);
    finish_side(ssl.get(), ktls, true, r.server);
  });
  {
    const SslPtr ssl(SSL_new(cctx.get()));
    SSL_set_fd(ssl.get(), p.client.fd);
    finish_side(ssl.get(), ktls, false, r.client);
  }
  if (!r.client.error.empty()) ::shutdown(p.client.fd, SHUT_RDWR);
  server.join();
  return r;
}

struct Combo {
  int version;
  const char* suite;
};
void PrintTo(const Combo& c, std::ostream* os) {
  *os << c.suite;
}

class ktlsHandshake : public ::testing::TestWithParam<Combo> {};

// With offload asked for on an offloadable suite: no tls ULP means nothing
// engages and the reason says so; with the ULP, at least TX runs in the
// kernel and the reason matches the flags.
TEST_P(ktlsHandshake, OffloadableSuiteReportsTheKernel) {
  const Combo c = GetParam();
  const Result r = handshake(c.version, c.suite, true);
  ASSERT_EQ(r.server.error, "");
  ASSERT_EQ(r.client.error, "");
  for (const Side* s : {&r.server, &r.client}) {
    EXPECT_TRUE(s->cipher_ok);
    if (!ulp_present()) {
      EXPECT_FALSE(s->state.tx);
      EXPECT_FALSE(s->state.rx);
      EXPECT_EQ(s->state.reason, KtlsReason::no_kernel_tls);
    } else if (s->state.tx) {
      EXPECT_EQ(s->state.reason, s->state.rx ? KtlsReason::offloaded : KtlsReason::rx_unsupported);
    } else {
      EXPECT_EQ(s->state.reason, KtlsReason::openssl_declined);
    }
  }
  // AES-128-GCM is in every kTLS kernel: it must engage when the ULP is there.
  if (ulp_present() && kernel_tls().openssl_ktls &&
      std::string(c.suite).find("AES128-GCM") != std::string::npos) {
    EXPECT_TRUE(r.server.state.tx);
  }
}

TEST_P(ktlsHandshake, KtlsOffIsDisabledWhateverTheKernel) {
  const Combo c = GetParam();
  const Result r = handshake(c.version, c.suite, false);
  ASSERT_EQ(r.server.error, "");
  ASSERT_EQ(r.client.error, "");
  for (const Side* s : {&r.server, &r.client}) {
    EXPECT_FALSE(s->state.tx);
    EXPECT_FALSE(s->state.rx);
    EXPECT_EQ(s->state.reason, KtlsReason::disabled);
  }
}

INSTANTIATE_TEST_SUITE_P(Suites, ktlsHandshake,
                         ::testing::Values(Combo{TLS1_2_VERSION, "ECDHE-ECDSA-AES128-GCM-SHA256"},
                                           Combo{TLS1_2_VERSION, "ECDHE-ECDSA-AES256-GCM-SHA384"},
                                           Combo{TLS1_2_VERSION, "ECDHE-ECDSA-CHACHA20-POLY1305"},
                                           Combo{TLS1_3_VERSION, "TLS_AES_128_GCM_SHA256"},
                                           Combo{TLS1_3_VERSION, "TLS_AES_256_GCM_SHA384"},
                                           Combo{TLS1_3_VERSION, "TLS_CHACHA20_POLY1305_SHA256"}),
                         [](const ::testing::TestParamInfo<Combo>& param_info) {
                           std::string name = param_info.param.suite;
                           for (char& ch : name)
                             if (ch == '-') ch = '_';
                           return name;
                         });

// A CBC suite: never offloaded; the reason is the kernel when it has no
// ULP (checked first), the cipher when it has one.
TEST(ktlsState, CbcSuiteIsNotOffloaded) {
  const Result r = handshake(TLS1_2_VERSION, "ECDHE-ECDSA-AES128-SHA256", true);
  ASSERT_EQ(r.server.error, "");
  ASSERT_EQ(r.client.error, "");
  for (const Side* s : {&r.server, &r.client}) {
    EXPECT_FALSE(s->cipher_ok);
    EXPECT_FALSE(s->state.tx);
    EXPECT_FALSE(s->state.rx);
    EXPECT_EQ(s->state.reason, ulp_present() ? KtlsReason::cipher : KtlsReason::no_kernel_tls);
  }
}

}  // namespace
}  // namespace weft::detail
