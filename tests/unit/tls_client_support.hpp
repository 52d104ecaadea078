// A blocking OpenSSL client for tests of weft's TLS server: one TCP
// connection to 127.0.0.1 with SO_RCVTIMEO/SO_SNDTIMEO (so no call can hang),
// driven step by step from the test thread.
//
//   auto cert = weft::detail::make_self_signed({"localhost"});
//   TlsTestClientOptions o;
//   o.trusted_ca_pem = cert.cert_pem;
//   TlsTestClient c(o);
//   ASSERT_TRUE(c.connect(port)) << c.error();
//   ASSERT_TRUE(c.write_all("hello"));
//   EXPECT_EQ(c.read_exact(5), "hello");
//
// The client reads and writes through its own socket BIO that sends with
// MSG_NOSIGNAL: it never raises SIGPIPE, so a SIGPIPE seen by a test comes
// from the server.
#pragma once

#include <openssl/ssl.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "test_support.hpp"

namespace weft::test {

struct TlsSslCtxFree {
  void operator()(SSL_CTX* p) const noexcept { SSL_CTX_free(p); }
};
struct TlsSslFree {
  void operator()(SSL* p) const noexcept { SSL_free(p); }
};
struct TlsSessionFree {
  void operator()(SSL_SESSION* p) const noexcept { SSL_SESSION_free(p); }
};
using TlsCtxPtr = std::unique_ptr<SSL_CTX, TlsSslCtxFree>;
using TlsSslPtr = std::unique_ptr<SSL, TlsSslFree>;
using TlsSessionPtr = std::unique_ptr<SSL_SESSION, TlsSessionFree>;

struct TlsTestClientOptions {
  int min_version = 0;  ///< TLS1_2_VERSION, TLS1_3_VERSION; 0 = OpenSSL's default
  int max_version = 0;
  std::string sni;                ///< sent as server_name; empty = none
  std::string ciphersuites;       ///< TLS 1.3 suites offered; empty = OpenSSL's default
  std::vector<std::string> alpn;  ///< offered protocols; empty = no ALPN extension
  std::string cert_pem;           ///< a client certificate (PEM) ...
  std::string key_pem;            ///< ... and its key; empty = none
  SSL_SESSION* resume = nullptr;  ///< a session to offer (not owned; may be freed after connect)
  /// Verify the server against this CA (or self-signed certificate) PEM;
  /// empty = no verification.
  std::string trusted_ca_pem;
  /// With trusted_ca_pem: also check the certificate names this host.
  std::string verify_host;
  /// SO_RCVTIMEO / SO_SNDTIMEO and the connect bound.
  std::chrono::milliseconds timeout{4000};
  /// SO_RCVBUF set before connect (fixes the window; 0 = the kernel's
  /// autotuning, which may grow it to tcp_rmem's maximum).
  int receive_buffer = 0;
};

class TlsTestClient {
 public:
  explicit TlsTestClient(TlsTestClientOptions opts = {});
  ~TlsTestClient();
  TlsTestClient(const TlsTestClient&) = delete;
  TlsTestClient& operator=(const TlsTestClient&) = delete;

  /// TCP connect to 127.0.0.1:port, then handshake(). False with error() set.
  bool connect(std::uint16_t port);
  /// Only the TCP part of connect() (then handshake() by hand). Throws on failure.
  void connect_tcp(std::uint16_t port);
  /// The TLS handshake on the connected socket. False with error() set.
  bool handshake();

  /// Sends everything. False on an error or the send timeout.
  bool write_all(std::string_view data);
  /// Reads exactly n bytes, or fewer on close, error or the receive timeout.
  std::string read_exact(std::size_t n);
  /// Reads until the server closes (close_notify or TCP EOF), an error or
  /// the timeout (each read waits at most options().timeout).
  std::string read_until_eof();

  /// The last read ended with SSL_ERROR_ZERO_RETURN: the server sent close_notify.
  bool got_close_notify() const noexcept { return close_notify_; }
  /// The last read ended on a TCP EOF without close_notify.
  bool got_eof() const noexcept { return eof_; }
  /// The last read or write failed (an alert, a reset, a timeout).
  bool failed() const noexcept { return failed_; }
  /// The last read or write timed out.
  bool timed_out() const noexcept { return timed_out_; }

  /// Sends close_notify (one attempt, no waiting for the reply).
  void shutdown();
  /// Abortive close of the TCP connection (RST), without close_notify.
  void close_rst();
  /// Closes the TCP connection (FIN) without close_notify.
  void close_tcp();

  /// The client's session (for resumption); null if none.
  TlsSessionPtr get1_session() const;
  /// The CN of the server's certificate ("" if none).
  std::string peer_cn() const;
  /// The ALPN protocol the server selected ("" if none).
  std::string alpn_selected() const;
  bool session_reused() const;
  /// "TLSv1.3", "TLSv1.2" ("" before a handshake).
  std::string version() const;

  /// Why the last call failed: OpenSSL's reasons or errno text.
  const std::string& error() const noexcept { return error_; }
  const TlsTestClientOptions& options() const noexcept { return opts_; }
  int fd() const noexcept { return fd_; }
  SSL* ssl() const noexcept { return ssl_.get(); }
  /// Bytes as the raw socket sees them: writes straight to the TCP stream
  /// (bypassing TLS) with MSG_NOSIGNAL. False on error.
  bool write_raw(std::string_view bytes);

 private:
  void fail(const char* what, int ret);
  void close_fd() noexcept;

  TlsTestClientOptions opts_;
  TlsCtxPtr ctx_;
  TlsSslPtr ssl_;
  int fd_ = -1;
  std::string error_;
  bool handshake_done_ = false;
  bool close_notify_ = false;
  bool eof_ = false;
  bool failed_ = false;
  bool timed_out_ = false;
};

/// The first bytes a real OpenSSL client sends: a complete ClientHello
/// record (SNI "localhost"), made with a memory BIO.
std::string client_hello_bytes();

}  // namespace weft::test
