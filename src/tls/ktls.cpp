#include "tls/ktls.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/bio.h>
#include <openssl/obj_mac.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <mutex>

#ifndef TCP_ULP
#define TCP_ULP 31  // linux/tcp.h; older libc headers lack it
#endif

namespace weft::detail {
namespace {

// Closes a descriptor on scope exit.
struct Fd {
  int fd = -1;
  explicit Fd(int f) noexcept : fd(f) {}
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
};

// Sets TCP_ULP "tls" on an ESTABLISHED loopback client socket: 0 when the
// kernel accepts it, else the errno. `step` names what failed when the
// probe itself could not be set up (then the errno is that step's).
int probe_ulp(const char*& step) {
  step = "socket";
  const Fd listener(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (listener.fd < 0) return errno;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  // sockaddr_in and sockaddr are layout-compatible by the socket API's contract.
  auto* sa = reinterpret_cast<sockaddr*>(&addr);
  step = "bind";
  if (::bind(listener.fd, sa, sizeof addr) != 0) return errno;
  step = "listen";
  if (::listen(listener.fd, 1) != 0) return errno;
  step = "getsockname";
  if (::getsockname(listener.fd, sa, &len) != 0) return errno;
  step = "socket";
  const Fd client(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (client.fd < 0) return errno;
  step = "connect";
  // Loopback: the kernel completes the handshake from the backlog, so a
  // blocking connect returns with the socket ESTABLISHED, no accept needed.
  if (::connect(client.fd, sa, sizeof addr) != 0) return errno;
  step = "setsockopt";
  static constexpr char kTls[] = "tls";
  if (::setsockopt(client.fd, IPPROTO_TCP, TCP_ULP, kTls, sizeof kTls - 1) != 0) return errno;
  return 0;
}

KernelTls probe() {
  KernelTls k;
#ifndef OPENSSL_NO_KTLS
  k.openssl_ktls = true;
#endif
  const char* step = "";
  const int err = probe_ulp(step);
  k.ulp_available = err == 0;
  k.ulp_errno = err;
  std::string ulps = available_ulps();
  const std::string ulp_note = " (tcp_available_ulp: " + (ulps.empty() ? "none" : ulps) + ")";
  if (k.ulp_available) {
    if (!k.openssl_ktls)
      k.reason = "the kernel has the tls ULP but this OpenSSL was built without kTLS";
  } else if (std::strcmp(step, "setsockopt") != 0) {
    k.reason = "could not probe for kernel TLS: " + std::string(step) +
               "() on loopback failed with " + errno_name(err) + " (" + std::strerror(err) + ")";
  } else if (err == ENOENT) {
    k.reason =
        "the kernel has no TLS offload: setsockopt(TCP_ULP, \"tls\") failed with ENOENT "
        "(module tls not loaded or not built; try `modprobe tls`)" +
        ulp_note;
  } else {
    k.reason = "the kernel refused TLS offload: setsockopt(TCP_ULP, \"tls\") failed with " +
               errno_name(err) + " (" + std::strerror(err) + ")" + ulp_note;
  }
  return k;
}

bool bio_ktls_send(BIO* b) {
  if (b == nullptr) return false;
#ifndef OPENSSL_NO_KTLS
  return BIO_ctrl(b, BIO_CTRL_GET_KTLS_SEND, 0, nullptr) > 0;
#else
  return false;
#endif
}

bool bio_ktls_recv(BIO* b) {
  if (b == nullptr) return false;
#ifndef OPENSSL_NO_KTLS
  return BIO_ctrl(b, BIO_CTRL_GET_KTLS_RECV, 0, nullptr) > 0;
#else
  return false;
#endif
}

}  // namespace

const char* to_string(KtlsReason r) noexcept {
  switch (r) {
    case KtlsReason::offloaded:
      return "offloaded";
    case KtlsReason::disabled:
      return "disabled";
    case KtlsReason::no_kernel_tls:
      return "no_kernel_tls";
    case KtlsReason::cipher:
      return "cipher";
    case KtlsReason::rx_unsupported:
      return "rx_unsupported";
    case KtlsReason::openssl_declined:
      return "openssl_declined";
  }
  return "unknown";
}

std::string errno_name(int err) {
  if (const char* name = ::strerrorname_np(err)) return name;
  return "errno " + std::to_string(err);
}

std::string available_ulps() {
  std::ifstream in("/proc/sys/net/ipv4/tcp_available_ulp");
  if (!in) return {};
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto first = text.find_first_not_of(" \t\n");
  if (first == std::string::npos) return {};
  const auto last = text.find_last_not_of(" \t\n");
  return text.substr(first, last - first + 1);
}

const KernelTls& kernel_tls() {
  static std::once_flag once;
  static KernelTls result;
  std::call_once(once, [] { result = probe(); });
  return result;
}

KtlsState ktls_state(SSL* ssl, bool enabled) {
  KtlsState st;
  if (ssl != nullptr) {
    st.tx = bio_ktls_send(SSL_get_wbio(ssl));
    st.rx = bio_ktls_recv(SSL_get_rbio(ssl));
  }
  if (st.tx && st.rx) {
    st.reason = KtlsReason::offloaded;
  } else if (st.tx) {
    st.reason = KtlsReason::rx_unsupported;
  } else if (!enabled) {
    st.reason = KtlsReason::disabled;
  } else if (!kernel_tls().ulp_available) {
    st.reason = KtlsReason::no_kernel_tls;
  } else if (ssl == nullptr ||
             !ktls_cipher_supported(SSL_get_current_cipher(ssl), SSL_version(ssl))) {
    st.reason = KtlsReason::cipher;
  } else {
    st.reason = KtlsReason::openssl_declined;
  }
  return st;
}

bool ktls_cipher_supported(const SSL_CIPHER* cipher, int version) noexcept {
  if (cipher == nullptr) return false;
  if (version != TLS1_2_VERSION && version != TLS1_3_VERSION) return false;
  // A TLS 1.3 suite (no key exchange of its own: "any") only runs under
  // 1.3, a 1.2 AEAD suite only under 1.2.
  const bool tls13_suite = SSL_CIPHER_get_kx_nid(cipher) == NID_kx_any;
  if (tls13_suite != (version == TLS1_3_VERSION)) return false;
  // The record cipher is what the kernel runs; key exchange and
  // authentication (ECDHE-ECDSA, ECDHE-RSA, DHE-RSA, ...) do not matter.
  switch (SSL_CIPHER_get_cipher_nid(cipher)) {
    case NID_aes_128_gcm:
    case NID_aes_256_gcm:
    case NID_chacha20_poly1305:
      return true;
    default:
      return false;
  }
}

}  // namespace weft::detail
