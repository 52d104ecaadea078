// The scrape route: renders the counters on the loop that got the request.
#include <string>
#include <utility>

#include "weft/error.hpp"
#include "weft/http/metrics.hpp"

namespace weft::http {

App::Route metrics_route(const Server& server, MetricsOptions opts) {
  if (std::string why = validate(opts); !why.empty()) throw ConfigError("metrics: " + why);
  return [&server, opts = std::move(opts)](Request&, Response& res) {
    res.send(prometheus_text(server, opts), kPrometheusContentType);
  };
}

}  // namespace weft::http
