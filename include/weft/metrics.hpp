// weft/metrics.hpp — the server's counters in the Prometheus text exposition
// format (version 0.0.4), one series per loop, for a scrape endpoint.
//
//   weft::Server server(app, cfg);
//   app.get("/metrics", weft::http::metrics_route(server));   // weft/http/metrics.hpp
//   std::string text = weft::prometheus_text(server);         // or render it yourself
#pragma once

#include <span>
#include <string>
#include <utility>
#include <vector>

#include "weft/stats.hpp"

namespace weft {

class Server;

struct MetricsOptions {
  /// Prepended to every metric name with an underscore ("weft" gives
  /// weft_connections_open). Must match [a-zA-Z_:][a-zA-Z0-9_:]*.
  std::string prefix = "weft";
  /// Labels added to every series, e.g. {{"service", "gateway"}}. Names
  /// must match [a-zA-Z_][a-zA-Z0-9_]* and must not be "loop", "reason" or
  /// "mode"; values are escaped as the format requires.
  std::vector<std::pair<std::string, std::string>> labels;
  /// Also emit the TLS and kTLS families when no TLS connection was seen
  /// (by default they appear once a handshake started).
  bool always_tls = false;
};

/// Checks `opts`; "" when usable, else what is wrong ("prefix: ...").
std::string validate(const MetricsOptions& opts);

/// Every LoopStats counter of `server`'s loops as Prometheus text: counters
/// end in _total, gauges (connections open, handshakes in progress) do not;
/// each series carries loop="N" so imbalance between loops shows. Safe from
/// any thread (the counters are read relaxed, as Server::stats() reads them).
/// Throws ConfigError when `opts` is invalid.
std::string prometheus_text(const Server& server, const MetricsOptions& opts = {});

/// The same for any set of loops' counters (series i gets loop="i").
std::string prometheus_text(std::span<const LoopStats* const> loops,
                            const MetricsOptions& opts = {});

/// The Content-Type a scrape response carries.
inline constexpr const char* kPrometheusContentType = "text/plain; version=0.0.4; charset=utf-8";

}  // namespace weft
