// weft/dial.hpp — outbound connections from a server's loops (Server::dial):
// plain TCP, unix, or TLS with verification on by default.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

namespace weft {

class Handler;
namespace detail {
class TlsClientImpl;
}

struct TlsClientOptions {
  /// Certificates are verified against the system store, or this CA file
  /// (PEM, a path or the text itself).
  std::string ca_file;
  /// Skips certificate and name verification. Only for tests and for peers
  /// whose identity is checked some other way.
  bool insecure_skip_verify = false;
  std::vector<std::string> alpn;  ///< protocols to offer, in preference order
  std::string cert;               ///< optional client certificate chain (path or PEM)
  std::string key;                ///< its key
  std::string min_version = "1.2";
  std::string max_version = "1.3";
};

/// A client TLS context: trust store, client certificate, and a session
/// cache so that later connections to the same server resume. Share one per
/// set of options; it is safe to use from every loop.
class TlsClient {
 public:
  /// Loads everything; throws ConfigError naming what is wrong.
  explicit TlsClient(TlsClientOptions opts = {});
  ~TlsClient();
  TlsClient(const TlsClient&) = delete;
  TlsClient& operator=(const TlsClient&) = delete;
  const TlsClientOptions& options() const noexcept { return opts_; }
  /// Sessions cached for resumption right now.
  std::size_t cached_sessions() const;
  std::shared_ptr<detail::TlsClientImpl> impl() const noexcept { return impl_; }

 private:
  TlsClientOptions opts_;
  std::shared_ptr<detail::TlsClientImpl> impl_;
};

struct DialOptions {
  /// Events for the connection; null = the server's handler.
  Handler* handler = nullptr;
  /// Conn::context() from the start (and on_dial_error's context).
  void* context = nullptr;
  /// Limit for the name lookup (a host name), again for each TCP connect,
  /// and again for the TLS handshake.
  std::chrono::milliseconds timeout{10000};
  /// For tls:// targets: the client context (null: a shared default that
  /// verifies against the system store).
  std::shared_ptr<TlsClient> tls;
  /// The name sent as SNI and verified; default: the URL's host.
  std::string server_name;
  /// The loop to run on; -1 = round robin.
  int loop = -1;
};

}  // namespace weft
