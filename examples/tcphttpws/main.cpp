// tcphttpws: a custom line protocol, HTTP and WebSocket on one port, told
// apart by the first bytes (weft::Sniffer), as connaxis' tcphttpws does. With
// --cert/--key the port also takes TLS, recognised first: a TLS client gets
// the same three protocols inside TLS, a plain client gets them in the clear.
//   build/examples/tcphttpws                              (tcp://127.0.0.1:8081)
//   curl localhost:8081/                                  -> Hello from HTTP
//   printf 'PING\n' | nc -q1 localhost 8081               -> PONG
//   python3 -m websockets ws://localhost:8081/ws          (echo)
//   build/examples/tcphttpws --cert cert.pem --key key.pem
//   curl -k https://localhost:8081/  and  openssl s_client -connect localhost:8081
// Plus the shared flags (--listen, --loops, --config, ...; see --help).
#include <cstdio>

#include <weft/http.hpp>
#include <weft/weft.hpp>
#include <weft/ws.hpp>

namespace {

// The custom protocol: lines in, "PONG" for "PING", the line echoed otherwise.
class Lines final : public weft::Handler {
 public:
  std::size_t on_data(weft::Conn& c, weft::Bytes in) override {
    std::size_t used = 0;
    for (;;) {
      auto nl = in.find('\n', used);
      if (nl == weft::Bytes::npos) return used;
      weft::Bytes line = in.substr(used, nl - used);
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      c.writev({line == "PING" ? weft::Bytes("PONG") : line, "\n"});
      used = nl + 1;
    }
  }
};

// HTTP routes, and the WebSocket route the App upgrades to.
class Web final : public weft::http::App {
 public:
  Web() {
    get("/", [](weft::http::Request& req, weft::http::Response& res) {
      res.send(req.conn().secure() ? "Hello from HTTPS\n" : "Hello from HTTP\n", "text/plain");
    });
    weft::ws::Behavior echo;
    echo.on_message = [](weft::ws::WebSocket& ws, std::string_view msg, weft::ws::Opcode op) {
      ws.send(msg, op);
    };
    ws("/ws", std::move(echo));
  }
};

class Mux final : public weft::Sniffer {
 public:
  void on_ready(weft::Server& server) override {
    weft::Sniffer::on_ready(server);
    for (const auto& url : server.addresses())
      std::printf("listening on %s\n", url.c_str());
    std::fflush(stdout);
  }
};

}  // namespace

int main(int argc, char** argv) {
  try {
    auto cli = weft::parse_command_line(argc, argv, "tcp://127.0.0.1:8081");
    if (cli.help) {
      std::fputs(cli.usage.c_str(), stdout);
      return 0;
    }
    // A certificate means TLS *and* plain on the port, TLS recognised by its
    // first byte (a URL's ?tls= still decides for its own listener).
    if (cli.config.tls.mode == weft::SslMode::tls) cli.config.tls.mode = weft::SslMode::both;
    Web web;
    Lines lines;
    Mux mux;
    mux.add(weft::http::looks_like_http, web).otherwise(lines);
    return weft::serve(mux, cli.config);
  } catch (const weft::ConfigError& e) {
    std::fprintf(stderr, "tcphttpws: %s\n", e.what());
    return 2;
  }
}
