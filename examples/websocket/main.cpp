// websocket: a WebSocket echo server (every message comes back as it came,
// text or binary), with permessage-deflate unless --no-deflate.
//   build/examples/websocket                          (ws://127.0.0.1:9001/)
//   build/examples/websocket --path /echo --max-message 1048576
//   build/examples/websocket --cert c.pem --key k.pem --listen tls://127.0.0.1:9443   (wss://)
// Plus the shared flags (--listen, --loops, --config, ...; see --help).
#include <cstdio>
#include <string>
#include <string_view>

#include <weft/weft.hpp>
#include <weft/ws.hpp>

namespace {

constexpr std::string_view kOwnUsage =
    "websocket flags:\n"
    "  --path PATH          the WebSocket route (default /)\n"
    "  --max-message BYTES  largest message accepted (default 16777216); larger: close 1009\n"
    "  --no-deflate         do not offer permessage-deflate\n";

struct EchoOptions {
  std::string path = "/";
  std::size_t max_message = 16u << 20;
  bool deflate = true;
};

// Takes this example's own flags out of argv; the rest goes to
// weft::parse_command_line. Throws ConfigError on a bad value.
EchoOptions take_echo_flags(int& argc, char** argv) {
  EchoOptions o;
  weft::take_own_flags(argc, argv, [&o](weft::OwnFlag& f) {
    if (f.name() == "--path") {
      o.path = f.value();
      if (o.path.empty() || o.path.front() != '/') {
        throw weft::ConfigError("--path: must start with /");
      }
    } else if (f.name() == "--max-message") {
      o.max_message = f.count();
    } else if (f.name() == "--no-deflate") {
      f.no_value();
      o.deflate = false;
    } else {
      return false;
    }
    return true;
  });
  return o;
}

class EchoServer final : public weft::http::App {
 public:
  explicit EchoServer(const EchoOptions& o) {
    weft::ws::Behavior b;
    b.options.max_message = o.max_message;
    b.options.deflate.enabled = o.deflate;
    b.on_message = [](weft::ws::WebSocket& ws, std::string_view msg, weft::ws::Opcode op) {
      ws.send(msg, op);
    };
    ws(o.path, std::move(b));
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
    EchoOptions own = take_echo_flags(argc, argv);
    auto cli = weft::parse_command_line(argc, argv, "tcp://127.0.0.1:9001");
    if (cli.help) {
      std::fputs(cli.usage.c_str(), stdout);
      std::fputs(kOwnUsage.data(), stdout);
      return 0;
    }
    EchoServer app(own);
    return weft::serve(app, cli.config);
  } catch (const weft::ConfigError& e) {
    std::fprintf(stderr, "websocket: %s\n", e.what());
    return 2;
  }
}
