// httpws: HTTP routes and a WebSocket route on one port — the App routes a
// GET with an upgrade to its ws() route like any other request.
//   build/examples/httpws                  (http://127.0.0.1:9002/ and ws://127.0.0.1:9002/ws)
//   curl http://127.0.0.1:9002/hello
// GET /        a short text page naming the routes
// GET /hello   "hello"
// GET /ws      WebSocket echo (text and binary, permessage-deflate)
// Plus the shared flags (--listen, --loops, --config, ...; see --help).
#include <cstdio>
#include <string_view>

#include <weft/weft.hpp>
#include <weft/ws.hpp>

namespace {

class HttpWs final : public weft::http::App {
 public:
  HttpWs() {
    get("/", [](weft::http::Request&, weft::http::Response& res) {
      res.header("Content-Type", "text/plain")
          .send("routes: GET /hello (HTTP), GET /ws (WebSocket echo)\n");
    });
    get("/hello", [](weft::http::Request&, weft::http::Response& res) { res.send("hello\n"); });
    weft::ws::Behavior echo;
    echo.on_message = [](weft::ws::WebSocket& ws, std::string_view msg, weft::ws::Opcode op) {
      ws.send(msg, op);
    };
    ws("/ws", std::move(echo));
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
    auto cli = weft::parse_command_line(argc, argv, "tcp://127.0.0.1:9002");
    if (cli.help) {
      std::fputs(cli.usage.c_str(), stdout);
      return 0;
    }
    HttpWs app;
    return weft::serve(app, cli.config);
  } catch (const weft::ConfigError& e) {
    std::fprintf(stderr, "httpws: %s\n", e.what());
    return 2;
  }
}
