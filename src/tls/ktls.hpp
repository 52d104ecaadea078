// Kernel TLS offload: what the kernel offers, and whether a given TLS
// connection actually runs offloaded. OpenSSL does the offload itself
// (SSL_OP_ENABLE_KTLS) once a handshake ends on a socket BIO; this file only
// probes and reports.
#pragma once

#include <openssl/ssl.h>

#include <string>

namespace weft::detail {

/// Why a connection is not offloaded (for counters and logs).
enum class KtlsReason {
  offloaded,        ///< both directions run in the kernel
  disabled,         ///< ktlsPolicy off
  no_kernel_tls,    ///< the kernel has no "tls" ULP (module missing)
  cipher,           ///< the negotiated cipher/version cannot be offloaded
  rx_unsupported,   ///< TX offloaded, RX not (kernel or OpenSSL version)
  openssl_declined  ///< the kernel has tls, the cipher fits, OpenSSL did not engage
};
const char* to_string(KtlsReason r) noexcept;

/// What the running kernel supports, probed once with a loopback TCP pair.
struct KernelTls {
  bool ulp_available = false;  ///< setsockopt(TCP_ULP, "tls") works
  int ulp_errno = 0;           ///< its errno when not (ENOENT: module missing)
  bool openssl_ktls = false;   ///< this OpenSSL was built with kTLS
  std::string reason;          ///< a plain sentence when !ulp_available
};
/// Probes on first call; later calls return the cached answer. Thread-safe.
const KernelTls& kernel_tls();

/// The errno's symbolic name ("ENOENT"), or its number when unknown.
std::string errno_name(int err);

/// The kernel's /proc/sys/net/ipv4/tcp_available_ulp, trimmed ("" when
/// unreadable): the ULPs loaded now, e.g. "mptcp" or "mptcp tls".
std::string available_ulps();

/// Offload state of one connection after its handshake.
struct KtlsState {
  bool tx = false;
  bool rx = false;
  KtlsReason reason = KtlsReason::disabled;
};
/// Reads the BIOs' offload flags and explains what is missing.
/// `enabled` is whether SSL_OP_ENABLE_KTLS was set for this connection.
/// The flags win over the explanations: both set is `offloaded`, TX alone
/// `rx_unsupported`; otherwise the first of `disabled`, `no_kernel_tls`,
/// `cipher` (also before the handshake: no cipher yet) and
/// `openssl_declined` that applies.
KtlsState ktls_state(SSL* ssl, bool enabled);

/// Whether a cipher suite (IANA/OpenSSL name) and version can be offloaded
/// by Linux: AES-128-GCM, AES-256-GCM (and CHACHA20-POLY1305 where built).
bool ktls_cipher_supported(const SSL_CIPHER* cipher, int version) noexcept;

}  // namespace weft::detail
