// tcphttp: HTTP and a custom line protocol on the same port, told apart by
// the first bytes (weft::Sniffer). The WebSocket issue adds WebSocket here.
//   build/examples/tcphttp                    (tcp://127.0.0.1:8081)
//   curl localhost:8081/          -> Hello from HTTP
//   printf 'PING\n' | nc -q1 localhost 8081   -> PONG
#include <cstdio>

#include <weft/http.hpp>
#include <weft/weft.hpp>

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
    weft::http::App http;
    http.get("/", [](weft::http::Request&, weft::http::Response& res) {
      res.send("Hello from HTTP\n", "text/plain");
    });
    Lines lines;
    Mux mux;
    mux.add(weft::http::looks_like_http, http).otherwise(lines);
    return weft::serve(mux, cli.config);
  } catch (const weft::ConfigError& e) {
    std::fprintf(stderr, "tcphttp: %s\n", e.what());
    return 2;
  }
}
