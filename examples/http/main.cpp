// http: a small HTTP/1.1 server on the event loops.
//   build/examples/http                         (http://127.0.0.1:8080)
//   curl localhost:8080/   curl localhost:8080/json   curl -d hi localhost:8080/echo
//   curl localhost:8080/metrics                 (the server's counters for Prometheus)
//   build/examples/http --cert c.pem --key k.pem --listen tls://127.0.0.1:8443   (HTTPS)
#include <cstdio>
#include <exception>

#include <weft/http.hpp>
#include <weft/weft.hpp>

namespace {

// An App is a weft::Handler: override its other events as for any server.
class HelloApp final : public weft::http::App {
 public:
  // The limits come from the config file's http* fields (--config FILE).
  explicit HelloApp(const weft::HttpConfig& limits) : App(limits) {
    get("/", [](weft::http::Request&, weft::http::Response& res) {
      res.send("Hello, World!", "text/plain");
    });
    get("/json", [](weft::http::Request&, weft::http::Response& res) {
      res.json(R"({"message":"Hello, World!"})");
    });
    post("/echo", [](weft::http::Request& req, weft::http::Response& res) {
      res.send(req.body(), "application/octet-stream");
    });
  }

  void on_ready(weft::Server& server) override {
    for (const auto& url : server.addresses())
      std::printf("listening on %s\n", url.c_str());
    std::fflush(stdout);
  }
};

}  // namespace

int main(int argc, char** argv) {
  try {
    auto cli = weft::parse_command_line(argc, argv, "tcp://127.0.0.1:8080");
    if (cli.help) {
      std::fputs(cli.usage.c_str(), stdout);
      return 0;
    }
    HelloApp app(cli.config.http);
    // The server is built here rather than by weft::serve so that a route
    // can read its counters.
    weft::Server server(app, cli.config);
    app.get("/metrics", weft::http::metrics_route(server));
    server.stop_on_signals();
    return server.run() ? 1 : 0;  // run() logged which address failed
  } catch (const weft::ConfigError& e) {
    std::fprintf(stderr, "http: %s\n", e.what());
    return 2;
  } catch (const std::exception& e) {  // e.g. a certificate that does not load
    std::fprintf(stderr, "http: %s\n", e.what());
    return 1;
  }
}
