// ktlscheck: does kernel TLS offload work on this machine, and for which
// ciphers? Prints what the kernel and OpenSSL offer, then runs a real TLS
// handshake over loopback TCP for every (version, cipher) weft could offload
// and reports per direction whether OpenSSL actually engaged the kernel.
//
//   ktlscheck [--json] [--require] [--bench] [--bench-bytes N[K|M|G]]
//
// Plain blocking sockets and a thread for the server side: this is a
// diagnostic, not the event loop.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "tls/ktls.hpp"
#include "tls/self_signed.hpp"

namespace {

using weft::detail::KtlsState;
using Json = nlohmann::ordered_json;

// One (version, cipher) weft may offload. TLS 1.2 suites are the ECDHE-ECDSA
// ones because the self-signed certificate has an ECDSA P-256 key.
struct Combo {
  int version;
  const char* version_name;  // as OpenSSL's SSL_get_version() spells it
  const char* cipher;        // the record cipher, as the kernel knows it
  const char* suite;         // OpenSSL's suite name
};
constexpr Combo kCombos[] = {
    {TLS1_2_VERSION, "TLSv1.2", "AES-128-GCM", "ECDHE-ECDSA-AES128-GCM-SHA256"},
    {TLS1_2_VERSION, "TLSv1.2", "AES-256-GCM", "ECDHE-ECDSA-AES256-GCM-SHA384"},
    {TLS1_2_VERSION, "TLSv1.2", "CHACHA20-POLY1305", "ECDHE-ECDSA-CHACHA20-POLY1305"},
    {TLS1_3_VERSION, "TLSv1.3", "AES-128-GCM", "TLS_AES_128_GCM_SHA256"},
    {TLS1_3_VERSION, "TLSv1.3", "AES-256-GCM", "TLS_AES_256_GCM_SHA384"},
    {TLS1_3_VERSION, "TLSv1.3", "CHACHA20-POLY1305", "TLS_CHACHA20_POLY1305_SHA256"},
};
// What --require and --bench use: what most clients negotiate.
constexpr std::size_t kDefaultCombo = 3;

struct SslCtxFree {
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
using CtxPtr = std::unique_ptr<SSL_CTX, SslCtxFree>;
using SslPtr = std::unique_ptr<SSL, SslFree>;
using BioPtr = std::unique_ptr<BIO, BioFree>;
using X509Ptr = std::unique_ptr<X509, X509Free>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;

class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) noexcept : fd_(fd) {}
  ~Fd() { reset(); }
  Fd(Fd&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
  Fd& operator=(Fd&& o) noexcept {
    if (this != &o) {
      reset();
      fd_ = o.fd_;
      o.fd_ = -1;
    }
    return *this;
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const noexcept { return fd_; }
  void reset() noexcept {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
};

// OpenSSL's error queue as one line (and emptied).
std::string ssl_errors(const char* what) {
  std::string out = what;
  char buf[256];
  while (const unsigned long e = ERR_get_error()) {
    ERR_error_string_n(e, buf, sizeof buf);
    out += ": ";
    out += buf;
  }
  return out;
}

std::string sys_error(const char* what) {
  const int err = errno;
  return std::string(what) + ": " + weft::detail::errno_name(err) + " (" + std::strerror(err) + ")";
}

// ---------------------------------------------------------------------------
// A connected loopback TCP pair with timeouts, so that nothing blocks forever.

struct Pair {
  Fd server;
  Fd client;
};

Pair loopback_pair() {
  Fd listener(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (listener.get() < 0) throw std::runtime_error(sys_error("socket"));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  auto* sa = reinterpret_cast<sockaddr*>(&addr);
  if (::bind(listener.get(), sa, sizeof addr) != 0) throw std::runtime_error(sys_error("bind"));
  if (::listen(listener.get(), 1) != 0) throw std::runtime_error(sys_error("listen"));
  if (::getsockname(listener.get(), sa, &len) != 0)
    throw std::runtime_error(sys_error("getsockname"));
  Pair p;
  p.client = Fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (p.client.get() < 0) throw std::runtime_error(sys_error("socket"));
  if (::connect(p.client.get(), sa, sizeof addr) != 0)
    throw std::runtime_error(sys_error("connect"));
  p.server = Fd(::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
  if (p.server.get() < 0) throw std::runtime_error(sys_error("accept"));
  const timeval tv{.tv_sec = 20, .tv_usec = 0};
  const int one = 1;
  for (const int fd : {p.server.get(), p.client.get()}) {
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  return p;
}

// ---------------------------------------------------------------------------
// TLS contexts limited to one version and one suite.

CtxPtr make_ctx(bool server, const Combo& c, bool ktls, const weft::detail::SelfSigned& cert) {
  CtxPtr ctx(SSL_CTX_new(server ? TLS_server_method() : TLS_client_method()));
  if (!ctx) throw std::runtime_error(ssl_errors("SSL_CTX_new"));
  if (SSL_CTX_set_min_proto_version(ctx.get(), c.version) != 1 ||
      SSL_CTX_set_max_proto_version(ctx.get(), c.version) != 1)
    throw std::runtime_error(ssl_errors("SSL_CTX_set_min/max_proto_version"));
  const int ok = c.version == TLS1_3_VERSION ? SSL_CTX_set_ciphersuites(ctx.get(), c.suite)
                                             : SSL_CTX_set_cipher_list(ctx.get(), c.suite);
  if (ok != 1) throw std::runtime_error(ssl_errors(c.suite));
  if (ktls)
    SSL_CTX_set_options(ctx.get(), SSL_OP_ENABLE_KTLS);
  else
    SSL_CTX_clear_options(ctx.get(), SSL_OP_ENABLE_KTLS);
  if (server) {
    const BioPtr cb(BIO_new_mem_buf(cert.cert_pem.data(), static_cast<int>(cert.cert_pem.size())));
    const BioPtr kb(BIO_new_mem_buf(cert.key_pem.data(), static_cast<int>(cert.key_pem.size())));
    if (!cb || !kb) throw std::runtime_error(ssl_errors("BIO_new_mem_buf"));
    const X509Ptr x509(PEM_read_bio_X509(cb.get(), nullptr, nullptr, nullptr));
    const PkeyPtr key(PEM_read_bio_PrivateKey(kb.get(), nullptr, nullptr, nullptr));
    if (!x509 || !key) throw std::runtime_error(ssl_errors("reading the self-signed PEM"));
    if (SSL_CTX_use_certificate(ctx.get(), x509.get()) != 1 ||
        SSL_CTX_use_PrivateKey(ctx.get(), key.get()) != 1 ||
        SSL_CTX_check_private_key(ctx.get()) != 1)
      throw std::runtime_error(ssl_errors("installing the self-signed certificate"));
  } else {
    // The peer is our own throwaway certificate: nothing to verify.
    SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_NONE, nullptr);
  }
  return ctx;
}

// ---------------------------------------------------------------------------
// One handshake (and a small exchange, or a bulk transfer for --bench).

struct Side {
  KtlsState state;
  std::string error;  // "" when this side's part went through
};

struct Outcome {
  Side server;
  Side client;
  std::string negotiated;  // suite the client saw
  double seconds = 0;      // bulk transfer time (bench only)
  bool ok() const { return server.error.empty() && client.error.empty(); }
};

bool write_all(SSL* ssl, const char* p, std::size_t n) {
  while (n > 0) {
    std::size_t done = 0;
    if (SSL_write_ex(ssl, p, n, &done) != 1) return false;
    p += done;
    n -= done;
  }
  return true;
}

bool read_exact(SSL* ssl, char* p, std::size_t n) {
  while (n > 0) {
    std::size_t got = 0;
    if (SSL_read_ex(ssl, p, n, &got) != 1) return false;
    p += got;
    n -= got;
  }
  return true;
}

// `bulk` == 0: the client sends "ping", the server answers "pong". Otherwise
// the server sends `bulk` bytes, the client reads them all (timed).
Outcome run_once(const Combo& c, bool ktls, const weft::detail::SelfSigned& cert,
                 std::uint64_t bulk) {
  const CtxPtr sctx = make_ctx(true, c, ktls, cert);
  const CtxPtr cctx = make_ctx(false, c, ktls, cert);
  Pair pair = loopback_pair();
  Outcome out;

  std::thread server([&out, &sctx, fd = std::move(pair.server), ktls, bulk]() mutable {
    Side& me = out.server;
    const SslPtr ssl(SSL_new(sctx.get()));
    if (!ssl || SSL_set_fd(ssl.get(), fd.get()) != 1) {
      me.error = ssl_errors("server SSL_new/SSL_set_fd");
      return;
    }
    if (SSL_accept(ssl.get()) != 1) {
      me.error = ssl_errors("server handshake");
      return;
    }
    if (bulk == 0) {
      char buf[4];
      if (!read_exact(ssl.get(), buf, sizeof buf) || std::memcmp(buf, "ping", 4) != 0 ||
          !write_all(ssl.get(), "pong", 4)) {
        me.error = ssl_errors("server exchange");
        return;
      }
    } else {
      const std::vector<char> chunk(256 * 1024, 'x');
      for (std::uint64_t left = bulk; left > 0;) {
        const std::size_t n = left < chunk.size() ? static_cast<std::size_t>(left) : chunk.size();
        if (!write_all(ssl.get(), chunk.data(), n)) {
          me.error = ssl_errors("server bulk send");
          return;
        }
        left -= n;
      }
    }
    me.state = weft::detail::ktls_state(ssl.get(), ktls);
    SSL_shutdown(ssl.get());  // close_notify; the client need not answer
  });

  Side& me = out.client;
  {
    const SslPtr ssl(SSL_new(cctx.get()));
    if (!ssl || SSL_set_fd(ssl.get(), pair.client.get()) != 1) {
      me.error = ssl_errors("client SSL_new/SSL_set_fd");
    } else if (SSL_connect(ssl.get()) != 1) {
      me.error = ssl_errors("client handshake");
    } else {
      out.negotiated = SSL_CIPHER_get_name(SSL_get_current_cipher(ssl.get()));
      if (bulk == 0) {
        char buf[4];
        if (!write_all(ssl.get(), "ping", 4) || !read_exact(ssl.get(), buf, sizeof buf) ||
            std::memcmp(buf, "pong", 4) != 0)
          me.error = ssl_errors("client exchange");
      } else {
        std::vector<char> buf(256 * 1024);
        const auto start = std::chrono::steady_clock::now();
        for (std::uint64_t left = bulk; left > 0 && me.error.empty();) {
          std::size_t got = 0;
          if (SSL_read_ex(ssl.get(), buf.data(), buf.size(), &got) != 1)
            me.error = ssl_errors("client bulk receive");
          left -= got < left ? got : left;
        }
        out.seconds =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      }
      me.state = weft::detail::ktls_state(ssl.get(), ktls);
      if (me.error.empty()) SSL_shutdown(ssl.get());
    }
  }
  // On failure, wake a server still blocked in a read.
  if (!me.error.empty()) ::shutdown(pair.client.get(), SHUT_RDWR);
  server.join();
  return out;
}

// ---------------------------------------------------------------------------
// Facts and reporting.

struct Facts {
  std::string kernel_release;
  std::string openssl_version;
  std::string ulps;
  const weft::detail::KernelTls* k = nullptr;
};

Facts gather_facts() {
  Facts f;
  utsname u{};
  f.kernel_release = ::uname(&u) == 0 ? u.release : "unknown";
  f.openssl_version = OpenSSL_version(OPENSSL_VERSION);
  f.ulps = weft::detail::available_ulps();
  f.k = &weft::detail::kernel_tls();
  return f;
}

// Whether the kernel runs this record cipher (independent of the ULP).
bool cipher_supported(const Combo& c) {
  const CtxPtr ctx(SSL_CTX_new(TLS_method()));
  if (!ctx) return false;
  const SslPtr ssl(SSL_new(ctx.get()));
  if (!ssl) return false;
  const STACK_OF(SSL_CIPHER)* all = SSL_get_ciphers(ssl.get());
  for (int i = 0; i < sk_SSL_CIPHER_num(all); ++i) {
    const SSL_CIPHER* ci = sk_SSL_CIPHER_value(all, i);
    if (std::strcmp(SSL_CIPHER_get_name(ci), c.suite) == 0)
      return weft::detail::ktls_cipher_supported(ci, c.version);
  }
  return false;
}

const char* yes_no(bool b) {
  return b ? "yes" : "no";
}

Json side_json(const Side& s) {
  Json j{{"tx", s.state.tx}, {"rx", s.state.rx}, {"reason", to_string(s.state.reason)}};
  if (!s.error.empty()) j["error"] = s.error;
  return j;
}

struct Options {
  bool json = false;
  bool require = false;
  bool bench = false;
  std::uint64_t bench_bytes = 256ULL << 20;
};

void usage(std::FILE* to) {
  std::fprintf(to,
               "usage: ktlscheck [--json] [--require] [--bench] [--bench-bytes N[K|M|G]]\n"
               "\n"
               "Reports whether kernel TLS offload (kTLS) works here: the kernel's tls ULP,\n"
               "OpenSSL's kTLS support, and a real loopback handshake per TLS version and\n"
               "cipher (AES-128-GCM, AES-256-GCM, CHACHA20-POLY1305) with SSL_OP_ENABLE_KTLS.\n"
               "\n"
               "  --json           print a JSON summary instead of text\n"
               "  --require        exit 1 unless TLS 1.3 AES-128-GCM sends offloaded (server TX)\n"
               "  --bench          compare throughput with and without offload (256 MiB)\n"
               "  --bench-bytes N  bytes to send for --bench (implies --bench; K/M/G suffixes)\n"
               "  --help           this text\n"
               "\n"
               "Exit: 0 normally (also when offload is unavailable), 1 with --require when\n"
               "offload did not engage, 2 on usage errors or a failed loopback handshake.\n");
}

std::optional<std::uint64_t> parse_bytes(std::string_view s) {
  std::uint64_t mult = 1;
  if (!s.empty()) {
    switch (s.back()) {
      case 'K':
      case 'k':
        mult = 1ULL << 10;
        break;
      case 'M':
      case 'm':
        mult = 1ULL << 20;
        break;
      case 'G':
      case 'g':
        mult = 1ULL << 30;
        break;
      default:
        break;
    }
    if (mult != 1) s.remove_suffix(1);
  }
  if (s.empty() || s.size() > 12) return std::nullopt;
  std::uint64_t v = 0;
  for (const char ch : s) {
    if (ch < '0' || ch > '9') return std::nullopt;
    v = v * 10 + static_cast<std::uint64_t>(ch - '0');
  }
  if (v == 0) return std::nullopt;
  return v * mult;
}

// Returns the exit code for a usage error, or -1 to go on.
int parse_args(int argc, char** argv, Options& o) {
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (a == "--json") {
      o.json = true;
    } else if (a == "--require") {
      o.require = true;
    } else if (a == "--bench") {
      o.bench = true;
    } else if (a == "--bench-bytes") {
      const auto v = i + 1 < argc ? parse_bytes(argv[i + 1]) : std::nullopt;
      if (!v) {
        std::fprintf(stderr, "ktlscheck: --bench-bytes needs a positive size (e.g. 8M)\n");
        return 2;
      }
      o.bench = true;
      o.bench_bytes = *v;
      ++i;
    } else if (a == "--help" || a == "-h") {
      usage(stdout);
      return 0;
    } else {
      std::fprintf(stderr, "ktlscheck: unknown argument '%s'\n", argv[i]);
      usage(stderr);
      return 2;
    }
  }
  return -1;
}

double mbps(std::uint64_t bytes, double seconds) {
  return seconds > 0 ? static_cast<double>(bytes) / 1e6 / seconds : 0.0;
}

// The one-line verdict, from the probe and the default combination's result.
std::string verdict(const Facts& f, const Outcome& def) {
  const auto& k = *f.k;
  const std::string fallback =
      " weft will serve TLS in userspace (ktlsPolicy auto) or refuse to start (ktlsPolicy "
      "required).";
  if (!k.ulp_available) {
    const std::string err = weft::detail::errno_name(k.ulp_errno);
    if (k.ulp_errno == ENOENT)
      return "kTLS: NOT available — the kernel has no tls ULP (setsockopt TCP_ULP \"tls\": " + err +
             ")." + fallback;
    return "kTLS: NOT available — " + k.reason + "." + fallback;
  }
  const KtlsState& s = def.server.state;
  if (s.tx && s.rx)
    return "kTLS: available — TLS 1.3 AES-128-GCM runs in the kernel in both directions; weft "
           "offloads TLS connections (ktlsPolicy auto or required).";
  if (s.tx)
    return "kTLS: available for sending — TLS 1.3 AES-128-GCM sends from the kernel, receives in "
           "userspace (rx_unsupported: this OpenSSL or kernel cannot receive offloaded); weft "
           "offloads TX (ktlsPolicy auto or required).";
  if (!k.openssl_ktls)
    return "kTLS: NOT available — the kernel has the tls ULP but this OpenSSL was built without "
           "kTLS." +
           fallback;
  return std::string(
             "kTLS: NOT engaged — the kernel has the tls ULP but OpenSSL did not offload "
             "TLS 1.3 AES-128-GCM (") +
         to_string(s.reason) + ")." + fallback;
}

struct BenchResult {
  std::uint64_t bytes = 0;
  double userspace_mbps = 0;
  std::optional<double> ktls_mbps;  // set when offload engaged on the sender
  std::string ktls_note;            // why it could not be measured
};

BenchResult run_bench(const Options& o, const Facts& f, const weft::detail::SelfSigned& cert) {
  BenchResult b;
  b.bytes = o.bench_bytes;
  const Combo& c = kCombos[kDefaultCombo];
  const Outcome user = run_once(c, false, cert, o.bench_bytes);
  if (!user.ok())
    throw std::runtime_error("bench (userspace): " + user.server.error + user.client.error);
  b.userspace_mbps = mbps(o.bench_bytes, user.seconds);
  if (!f.k->ulp_available) {
    b.ktls_note = "offload could not be measured: the kernel has no tls ULP";
    return b;
  }
  const Outcome off = run_once(c, true, cert, o.bench_bytes);
  if (!off.ok()) throw std::runtime_error("bench (kTLS): " + off.server.error + off.client.error);
  if (!off.server.state.tx) {
    b.ktls_note = std::string("offload could not be measured: it did not engage (") +
                  to_string(off.server.state.reason) + ")";
    return b;
  }
  b.ktls_mbps = mbps(o.bench_bytes, off.seconds);
  return b;
}

int run(const Options& o) {
  const Facts f = gather_facts();
  const auto& k = *f.k;
  const weft::detail::SelfSigned cert = weft::detail::make_self_signed({"localhost"});

  std::vector<Outcome> outcomes;
  bool all_ok = true;
  for (const Combo& c : kCombos) {
    outcomes.push_back(run_once(c, true, cert, 0));
    all_ok = all_ok && outcomes.back().ok();
  }
  const Outcome& def = outcomes[kDefaultCombo];
  const bool required_met = def.ok() && def.server.state.tx;
  std::optional<BenchResult> bench;
  if (o.bench && all_ok) bench = run_bench(o, f, cert);
  const std::string line = verdict(f, def);

  if (o.json) {
    Json j;
    j["kernel_release"] = f.kernel_release;
    j["openssl_version"] = f.openssl_version;
    j["openssl_ktls"] = k.openssl_ktls;
    j["tcp_available_ulp"] = f.ulps;
    j["kernel_tls_ulp"] = k.ulp_available;
    j["ulp_errno"] = k.ulp_errno;
    j["ulp_errno_name"] = k.ulp_available ? "" : weft::detail::errno_name(k.ulp_errno);
    j["reason"] = k.reason;
    j["combinations"] = Json::array();
    for (std::size_t i = 0; i < std::size(kCombos); ++i) {
      const Combo& c = kCombos[i];
      const Outcome& r = outcomes[i];
      const bool kc = cipher_supported(c);
      j["combinations"].push_back({{"version", c.version_name},
                                   {"cipher", c.cipher},
                                   {"suite", c.suite},
                                   {"kernel_cipher", kc},
                                   {"offloadable", kc && k.ulp_available},
                                   {"handshake", r.ok()},
                                   {"negotiated", r.negotiated},
                                   {"server", side_json(r.server)},
                                   {"client", side_json(r.client)}});
    }
    j["default"] =
        std::string(kCombos[kDefaultCombo].version_name) + " " + kCombos[kDefaultCombo].cipher;
    j["offload_engaged"] = required_met;
    j["verdict"] = line;
    if (bench) {
      j["bench"] = {{"bytes", bench->bytes},
                    {"combination", j["default"]},
                    {"userspace_mbps", bench->userspace_mbps},
                    {"ktls_mbps", bench->ktls_mbps ? Json(*bench->ktls_mbps) : Json(nullptr)},
                    {"note", bench->ktls_note}};
    }
    std::printf("%s\n", j.dump(2).c_str());
  } else {
    std::printf("kernel           %s\n", f.kernel_release.c_str());
    std::printf("OpenSSL          %s (kTLS compiled in: %s)\n", f.openssl_version.c_str(),
                yes_no(k.openssl_ktls));
    std::printf("tcp ULPs loaded  %s (/proc/sys/net/ipv4/tcp_available_ulp)\n",
                f.ulps.empty() ? "none" : f.ulps.c_str());
    if (k.ulp_available)
      std::printf("TCP_ULP \"tls\"    accepted: the kernel has TLS offload\n");
    else
      std::printf("TCP_ULP \"tls\"    failed: %s (%s)\n",
                  weft::detail::errno_name(k.ulp_errno).c_str(), std::strerror(k.ulp_errno));
    if (!k.reason.empty()) std::printf("                 %s\n", k.reason.c_str());

    std::printf(
        "\ncipher suites (offloadable = kernel kTLS runs the cipher and the tls ULP is "
        "present):\n");
    for (const Combo& c : kCombos) {
      const bool kc = cipher_supported(c);
      std::printf("  %-8s %-18s %-30s kernel cipher: %-3s offloadable: %s\n", c.version_name,
                  c.cipher, c.suite, yes_no(kc),
                  kc && k.ulp_available ? "yes" : (kc ? "no (no tls ULP)" : "no (cipher)"));
    }

    std::printf("\nloopback handshakes (SSL_OP_ENABLE_KTLS on both ends, self-signed ECDSA):\n");
    for (std::size_t i = 0; i < std::size(kCombos); ++i) {
      const Combo& c = kCombos[i];
      const Outcome& r = outcomes[i];
      if (!r.ok()) {
        std::printf("  %-8s %-18s HANDSHAKE FAILED: %s%s%s\n", c.version_name, c.cipher,
                    r.server.error.c_str(), r.server.error.empty() ? "" : "; ",
                    r.client.error.c_str());
        continue;
      }
      std::printf("  %-8s %-18s server tx=%-3s rx=%-3s %-16s client tx=%-3s rx=%-3s %s\n",
                  c.version_name, c.cipher, yes_no(r.server.state.tx), yes_no(r.server.state.rx),
                  to_string(r.server.state.reason), yes_no(r.client.state.tx),
                  yes_no(r.client.state.rx), to_string(r.client.state.reason));
    }

    if (bench) {
      std::printf("\nbench (%s %s, %llu bytes server to client):\n",
                  kCombos[kDefaultCombo].version_name, kCombos[kDefaultCombo].cipher,
                  static_cast<unsigned long long>(bench->bytes));
      std::printf("  userspace TLS   %9.1f MB/s\n", bench->userspace_mbps);
      if (bench->ktls_mbps)
        std::printf("  kTLS            %9.1f MB/s\n", *bench->ktls_mbps);
      else
        std::printf("  kTLS            %s\n", bench->ktls_note.c_str());
    }
    std::printf("\n%s\n", line.c_str());
  }
  std::fflush(stdout);

  if (!all_ok) {
    std::fprintf(stderr, "ktlscheck: a loopback handshake failed (see above)\n");
    return 2;
  }
  if (o.require && !required_met) {
    std::fprintf(stderr, "ktlscheck: --require: offload did not engage for %s %s\n",
                 kCombos[kDefaultCombo].version_name, kCombos[kDefaultCombo].cipher);
    return 1;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  // A peer that closes early must not kill us with SIGPIPE mid-report.
  std::signal(SIGPIPE, SIG_IGN);
  try {
    Options o;
    if (const int rc = parse_args(argc, argv, o); rc >= 0) return rc;
    return run(o);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "ktlscheck: %s\n", e.what());
    return 2;
  }
}
