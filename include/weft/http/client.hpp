// weft/http/client.hpp — an HTTP/1.1 client on a server's loops: one
// request, one answer, delivered to a callback on the loop that ran it.
// http:// and https:// (verified by default), host names resolved off the
// loops, bounded in time and size. `fetch` uses a connection per request;
// a `Client` keeps connections open between requests and reuses them.
//
//   weft::http::fetch(server, "http://127.0.0.1:8080/json", {},
//                     [](weft::http::FetchResult& r) {
//                       if (r.error) std::puts(r.why.c_str());
//                       else std::printf("%d %s\n", r.response.status, r.response.body.c_str());
//                     });
//
//   weft::http::Client client(server);          // before many requests
//   client.fetch("http://127.0.0.1:8080/json", {}, on_answer);
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

namespace weft {
class Server;
class TlsClient;
}  // namespace weft

namespace weft::http {

/// A complete answer: status, headers as sent, the whole body (chunked
/// framing removed).
struct ClientResponse {
  int status = 0;
  std::string reason;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  /// The first header of that name (case-insensitive); empty if none.
  std::string_view header(std::string_view name) const noexcept;
};

struct FetchOptions {
  std::string method = "GET";
  /// Extra request headers (name, value). Host is always the URL's; a
  /// Content-Length is added for a body. Names and values that could
  /// split the request (CR, LF, NUL) make fetch() refuse it.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  /// For https://: the client TLS context (null: the system trust store).
  std::shared_ptr<TlsClient> tls;
  /// SNI and verified name for https:// (default: the URL's host).
  std::string server_name;
  /// Limit for the name lookup, the TCP connect, the TLS handshake, and
  /// then for the whole answer, each.
  std::chrono::milliseconds timeout{10000};
  /// Longest response head, and most headers in it.
  std::size_t max_head_bytes = 64 * 1024;
  std::size_t max_headers = 100;
  /// Longest body; a longer one ends the exchange with errc::message_size.
  std::size_t max_body = 64 * 1024 * 1024;
  /// The loop to run on; -1 = round robin.
  int loop = -1;
  /// Streaming: the body's pieces as they arrive, with the answer's status
  /// and headers in `head`, instead of collecting it in the result (whose
  /// body then stays empty, and max_body does not apply). Return false to
  /// stop the transfer: the connection is dropped and the callback gets
  /// errc::operation_canceled. Runs on the loop, before the callback.
  std::function<bool(const ClientResponse& head, std::string_view piece)> on_body;
};

struct FetchResult {
  /// Empty on success. Otherwise what went wrong: the dial's error
  /// (refused, a name that does not resolve, a certificate not verified),
  /// errc::timed_out, errc::protocol_error (an answer that is not HTTP/1.x),
  /// errc::message_size (head or body over the limit), or the connection's
  /// close reason when it ended before the answer did.
  std::error_code error;
  std::string why;  ///< a sentence for logs when error is set
  ClientResponse response;
};

using FetchCallback = std::function<void(FetchResult&)>;

/// Sends `options.method` to `url` (http://host[:port][/path][?query] or
/// https://...) over a new connection from one of `server`'s loops, reads
/// the whole answer and calls `done` once, on that loop's thread. Interim
/// 1xx answers are skipped; redirects are returned as they are. The
/// request says `Connection: close` and the connection ends with the
/// exchange. Errors here (and `done` is not called): a URL that is not
/// http:// or https://, a request that cannot be written as given
/// (errc::invalid_argument), or a dial that could not be queued (the
/// server is not running). Any thread, once the server is started.
std::error_code fetch(Server& server, std::string_view url, FetchOptions options,
                      FetchCallback done);

struct PoolOptions {
  /// Idle connections kept per loop and per origin (scheme, host, port,
  /// TLS context and server name); more are closed. Keep it at least at
  /// the requests in flight to one origin, or connections churn (a proxy:
  /// its concurrent clients).
  std::size_t max_idle_per_origin = 256;
  /// An idle connection unused this long is closed.
  std::chrono::milliseconds idle_timeout{30000};
};

namespace detail {
struct Pool;
}

/// Requests that share connections (HTTP/1.1 keep-alive). Each loop keeps
/// its own idle connections per origin; a request goes to a loop (round
/// robin, or FetchOptions::loop), takes an idle connection to its origin
/// there or dials one, and gives the connection back when the answer
/// leaves it open. One request per connection at a time (no pipelining). A
/// request that was sent on a reused connection which then closes without
/// any answer is sent once more on a new connection when its method is
/// idempotent (the server may have closed the idle connection just then).
/// Same errors and callback as fetch(). Make it after the server starts
/// and destroy it before the server; its idle connections close then.
class Client {
 public:
  explicit Client(Server& server, PoolOptions options = {});
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  /// As http::fetch, over a pooled connection. Any thread.
  std::error_code fetch(std::string_view url, FetchOptions options, FetchCallback done);

  /// Connections dialed so far, and idle ones now (all loops).
  std::uint64_t connections_opened() const noexcept;
  std::size_t idle_connections() const noexcept;

 private:
  std::shared_ptr<detail::Pool> pool_;
};

}  // namespace weft::http
