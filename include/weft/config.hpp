// weft/config.hpp — server configuration: a struct to fill in code, or a
// JSON file with connaxis-compatible field names (docs/CONFIG.md).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "weft/loop.hpp"

namespace weft {

/// How connections reach loops when a listener is not per-loop
/// (reuseport=false, or unix://): one acceptor hands each to a loop.
enum class LbStrategy { rr, random, leastconn, hash };

/// What to do when a connection's queued output passes cliSbufLimit.
enum class SbufPolicy { pause, close };

/// Which listeners speak TLS ("sslMode"): none (unless a URL says tls),
/// all stream listeners, or both on one port told apart by the first byte.
enum class SslMode { plain, tls, both };

/// Kernel TLS offload ("ktlsPolicy"): off; automatic ("auto": offload when
/// the kernel and cipher allow, else userspace); required (refuse to start
/// when the kernel cannot offload).
enum class KtlsPolicy { off, automatic, required };

/// Who protects TLS 1.3 records once a server handshake is done
/// ("tlsRecordLayer"): weft's own record layer, after which the connection's
/// OpenSSL object is freed (about 3.5 KB per connection instead of 14), or
/// OpenSSL for the connection's whole life.
enum class TlsRecordLayer { weft, openssl };

/// Client certificates ("tlsClientAuth").
enum class ClientAuth { none, request, require };

/// A certificate chain and its key. Each is a file path, or PEM text itself
/// when it starts with "-----BEGIN".
struct TlsCertPair {
  std::string pem;  ///< "sslPem": the leaf first, then intermediates (served whole)
  std::string key;  ///< "sslKey"
};

/// Limits of the HTTP/1.1 server (weft::http::App). Also http::Options.
struct HttpConfig {
  std::size_t max_request_line = 8192;  ///< longer: 414 ("httpMaxRequestLine")
  std::size_t max_head_bytes = 65536;   ///< request line + headers; more: 431 ("httpMaxHeadBytes")
  std::size_t max_headers = 100;        ///< more: 431 ("httpMaxHeaders")
  /// Largest request body; larger: 413 ("httpMaxBody"). Buffered bodies also
  /// count against the server's pktSizeLimit (set it at least this high).
  std::uint64_t max_body = 1024 * 1024;
  /// A request head must arrive within this many ms of its first byte (408
  /// and close otherwise: no slowloris). 0 = no limit ("httpHeaderTimeout").
  int header_timeout_ms = 10000;
  /// Server header value; "" leaves it out ("httpServerName").
  std::string server_name = "weft";
};

struct TlsConfig {
  SslMode mode = SslMode::plain;  ///< "sslMode"
  TlsCertPair cert;               ///< "sslPem" / "sslKey": the default certificate
  /// "sslCerts": more pairs chosen by SNI (matched against each certificate's
  /// names); the default answers everything else.
  std::vector<TlsCertPair> sni;
  std::string min_version = "1.2";  ///< "tlsMinVersion": "1.2" or "1.3"
  std::string max_version = "1.3";  ///< "tlsMaxVersion"
  std::vector<std::string> alpn;    ///< "tlsNextProtos", server preference order
  bool tickets_disabled = false;    ///< "tlsSessionTicketsDisabled" (no resumption)
  /// "tlsSessionTicketSeed": servers sharing it resume each other's sessions;
  /// empty = a random seed per process.
  std::string ticket_seed;
  std::string ticket_context;    ///< "tlsSessionTicketContext"
  int ticket_rotation_s = 3600;  ///< "tlsSessionTicketRotation": key lifetime
  int ticket_previous_keys = 2;  ///< "tlsSessionTicketPrevious": old keys still accepted
  std::string ocsp_staple;       ///< "sslOcspStaple": DER or PEM OCSP response file
  ClientAuth client_auth = ClientAuth::none;  ///< "tlsClientAuth"
  std::string client_ca;                      ///< "tlsClientCA": CA file for client certificates
  int handshake_timeout_ms = 10000;           ///< "tlsHandshakeTimeout"; 0 = none
  int max_handshakes = 1024;                ///< "tlsMaxHandshakes" in progress per loop; more wait
  KtlsPolicy ktls = KtlsPolicy::automatic;  ///< "ktlsPolicy"
  TlsRecordLayer record_layer = TlsRecordLayer::weft;  ///< "tlsRecordLayer"
};

struct Config {
  /// Listen URLs ("listenAddrs"). Empty: a server that only dials out
  /// (Server::dial, http::fetch, ws::connect).
  std::vector<std::string> listen = {"tcp://127.0.0.1:5000"};
  /// Loops ("ncpu"): -1 = one per core; 0 or 1 = one loop on the calling thread.
  int ncpu = 1;
  /// Balancing for shared acceptors ("lbStrategy": rr|random|leastconn|hash).
  LbStrategy lb_strategy = LbStrategy::rr;
  /// Per-loop read buffer in bytes ("bufSize").
  std::size_t buf_size = 128 * 1024;
  /// Cross-thread task queue bound per loop ("chanSize"); 0 = unbounded.
  std::size_t chan_size = 65536;
  /// Most unconsumed input a connection may hold ("pktSizeLimit"); 0 = no limit.
  std::size_t pkt_size_limit = 4 * 1024 * 1024;
  /// Most queued output before sbuf_policy applies ("cliSbufLimit"); 0 = no limit.
  std::size_t cli_sbuf_limit = 4 * 1024 * 1024;
  /// "cliSbufPolicy": pause reading until drained, or close.
  SbufPolicy sbuf_policy = SbufPolicy::pause;
  /// Idle check period in ms ("idleCheckInt").
  int idle_check_int_ms = 1000;
  /// Close connections with no input for this long, in ms ("idleLimit"); 0 = never.
  int idle_limit_ms = 0;
  /// Stop accepting while this many connections are open ("maxAcceptFD"); 0 = no cap.
  int max_accept_fd = 0;
  /// Kernel interface of the loops ("ioBackend": epoll|io_uring|auto; auto
  /// is io_uring where the kernel allows it). The environment variable
  /// WEFT_IO_BACKEND, when set, overrides it.
  IoBackend io_backend = IoBackend::automatic;
  /// Longest single poll wait in ms ("pollWait").
  int poll_wait_ms = 1000;
  /// Log a one-line counter summary every stat_interval_ms ("printStat").
  bool print_stat = false;
  int stat_interval_ms = 10000;  ///< "statInterval"
  /// TCP_NODELAY on accepted sockets ("tcpNoDelay").
  bool tcp_nodelay = true;
  /// TCP keepalive idle seconds on accepted sockets; 0 = off ("tcpKeepAlive").
  int tcp_keepalive_s = 0;
  /// Graceful stop deadline in ms ("stopTimeout").
  int stop_timeout_ms = 5000;
  /// TLS for stream listeners (docs/CONFIG.md, "TLS").
  TlsConfig tls;
  /// The HTTP server's limits (docs/CONFIG.md, "HTTP"); the keep-alive idle
  /// timeout is idleLimit.
  HttpConfig http;

  /// Whether listener `url` (one of `listen`) serves TLS, and with sniffing.
  bool listener_tls(const std::string& url, bool* sniff = nullptr) const;

  /// Throws ConfigError naming the first bad field.
  void validate() const;
  void validate_tls() const;
  /// The number of loops ncpu asks for on this machine.
  std::size_t loop_count() const noexcept;
};

/// Parses JSON text over the embedded defaults. Unknown fields, wrong types
/// and bad values throw ConfigError with the field's name and the reason.
/// The result is validated. Comments (// and /* */) are allowed.
Config parse_config(std::string_view text);
/// As above, over `base`: fields the text does not name keep base's values.
Config parse_config(std::string_view text, const Config& base);
/// Reads and parses a config file; errors name the path.
Config load_config(const std::string& path);
Config load_config(const std::string& path, const Config& base);
/// The configuration as JSON, with every field (for --print-config and docs).
std::string to_json(const Config& cfg);

}  // namespace weft
