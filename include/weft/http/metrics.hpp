// weft/http/metrics.hpp — a route that answers a Prometheus scrape with the
// server's counters (weft/metrics.hpp).
//
//   weft::http::App app;
//   weft::Server server(app, cfg);
//   app.get("/metrics", weft::http::metrics_route(server));
//   server.run();
#pragma once

#include "weft/http/app.hpp"
#include "weft/metrics.hpp"

namespace weft {
class Server;
}

namespace weft::http {

/// A GET route rendering prometheus_text(server, opts) with the format's
/// Content-Type. `server` must outlive the App's use of the route. Throws
/// ConfigError at once when `opts` is invalid (not at the first scrape).
App::Route metrics_route(const Server& server, MetricsOptions opts = {});

}  // namespace weft::http
