// TLS without sockets, for tests: a client SSL and a server SSL joined by an
// in-memory BIO pair and driven step by step in the calling thread, so a
// test can run complete handshakes (full or resumed), read the session
// tickets a server sends and exchange application data deterministically.
//
//   auto cert = weft::detail::make_self_signed({"localhost"});
//   auto server = weft::test::make_server_ctx(cert);
//   auto client = weft::test::make_client_ctx(cert);
//   auto first = weft::test::connect(client.get(), server.get());
//   auto again = weft::test::connect(client.get(), server.get(), first.session.get());
//   EXPECT_TRUE(again.resumed);
#pragma once

#include <openssl/ssl.h>

#include <memory>
#include <string>
#include <string_view>

#include "tls/self_signed.hpp"

namespace weft::test {

struct SslCtxFree {
  void operator()(SSL_CTX* p) const noexcept { SSL_CTX_free(p); }
};
struct SslFree {
  void operator()(SSL* p) const noexcept { SSL_free(p); }
};
struct SslSessionFree {
  void operator()(SSL_SESSION* p) const noexcept { SSL_SESSION_free(p); }
};
using SslCtxPtr = std::unique_ptr<SSL_CTX, SslCtxFree>;
using SslPtr = std::unique_ptr<SSL, SslFree>;
using SessionPtr = std::unique_ptr<SSL_SESSION, SslSessionFree>;

/// A server context presenting `cert` (certificate and key). Its session
/// cache is off, so sessions resume only through tickets; it has a fixed
/// session id context (needed if a test turns on client verification).
/// Throws std::runtime_error when OpenSSL refuses the certificate or key.
SslCtxPtr make_server_ctx(const detail::SelfSigned& cert);

/// A client context that verifies the server (SSL_VERIFY_PEER) and trusts
/// only `trusted` (a self-signed certificate or the CA that issued the
/// server's). Throws std::runtime_error on failure.
SslCtxPtr make_client_ctx(const detail::SelfSigned& trusted);

/// One client and one server connection over a BIO pair.
class MemoryTls {
 public:
  /// `host` is sent as SNI and checked against the server's certificate
  /// (as an IP address when it parses as one); empty: neither. `resume`,
  /// when set, is offered by the client (a session from an earlier
  /// connection). Throws std::runtime_error if the SSL objects cannot be made.
  MemoryTls(SSL_CTX* client_ctx, SSL_CTX* server_ctx, const std::string& host = "localhost",
            SSL_SESSION* resume = nullptr);
  MemoryTls(const MemoryTls&) = delete;
  MemoryTls& operator=(const MemoryTls&) = delete;
  /// Closes with close() first if the handshake completed (see close()).
  ~MemoryTls();

  /// Runs both handshakes to completion. False when either side fails or
  /// the exchange stalls; error() then says which side and why.
  bool handshake();

  /// Lets both sides read everything pending: post-handshake messages (the
  /// TLS 1.3 NewSessionTicket the client needs before client_session() can
  /// resume) and application data, which is appended to client_in() /
  /// server_in(). False on a fatal error (a close_notify is not one).
  bool pump();

  /// Writes all of `data` from one side, pumping the other as needed. The
  /// bytes then show up in server_in() / client_in().
  bool client_write(std::string_view data);
  bool server_write(std::string_view data);

  /// The close_notify exchange: client first, then server. Needed for the
  /// session to stay resumable: OpenSSL marks a session not resumable when
  /// its connection is freed without having sent close_notify. Idempotent.
  bool close();

  const std::string& client_in() const noexcept { return client_in_; }
  const std::string& server_in() const noexcept { return server_in_; }

  /// Whether the client resumed a session (SSL_session_reused).
  bool resumed() const;
  /// The client's current session (after pump() in TLS 1.3, the one from
  /// the last ticket received). Null if there is none.
  SessionPtr client_session() const;

  SSL* client() const noexcept { return client_.get(); }
  SSL* server() const noexcept { return server_.get(); }
  /// "client: ..." or "server: ..." with OpenSSL's reasons; empty if none.
  const std::string& error() const noexcept { return error_; }

 private:
  bool step(SSL* ssl, const char* side, bool& done);
  bool read_all(SSL* ssl, const char* side, std::string& into);
  bool write_all(SSL* from, const char* side, SSL* to, std::string& into, std::string_view data);
  bool fail(const char* side, SSL* ssl, int ret);

  SslPtr client_;
  SslPtr server_;
  std::string client_in_;
  std::string server_in_;
  std::string error_;
  bool closed_ = false;
};

/// The outcome of one connection made by connect().
struct Handshake {
  bool ok = false;       ///< both handshakes completed
  bool resumed = false;  ///< the client resumed the offered session
  int version = 0;       ///< SSL_version of the client (TLS1_3_VERSION, ...)
  SessionPtr session;    ///< the client's session once tickets were read
  std::string error;     ///< why not ok (see MemoryTls::error)
};

/// A complete connection: handshake, then pump() so that the client has
/// read the server's tickets, then the client's session, then close().
/// Offers `resume`.
Handshake connect(SSL_CTX* client_ctx, SSL_CTX* server_ctx, SSL_SESSION* resume = nullptr,
                  const std::string& host = "localhost");

/// The ticket bytes a session carries (empty if none).
std::string ticket_of(const SSL_SESSION* session);

}  // namespace weft::test
