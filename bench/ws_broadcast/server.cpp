// bench-ws-broadcast-server: the weft side of the WebSocket broadcast
// benchmark (bench/run_ws_broadcast.sh, load from weft-ws-broadcast).
//
// Every WebSocket on /sub joins the topic "b". A text message "pub N" on
// /ctl (a socket that is not subscribed) publishes one binary message of N
// bytes to the topic, i.e. to every subscriber on every loop. Its bytes are
// text, so permessage-deflate (offered by the client with
// server_no_context_takeover) has something to compress.
//
//   bench-ws-broadcast-server --port N [--loops 1] [--io epoll|io_uring]
//
// Prints "listening on tcp://127.0.0.1:N" when ready; stops on SIGINT/SIGTERM.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <string>
#include <string_view>

#include <weft/weft.hpp>
#include <weft/ws.hpp>

namespace {

class BroadcastServer final : public weft::http::App {
 public:
  BroadcastServer() {
    weft::ws::Behavior sub;
    sub.options.ping_interval_ms = 0;  // nothing but the measured messages on the wire
    sub.on_open = [](weft::ws::WebSocket& ws) { ws.subscribe("b"); };
    ws("/sub", std::move(sub));

    weft::ws::Behavior ctl;
    ctl.options.ping_interval_ms = 0;
    ctl.on_message = [this](weft::ws::WebSocket& ws, std::string_view msg, weft::ws::Opcode) {
      if (!msg.starts_with("pub ")) return;
      const std::size_t n = std::strtoul(std::string(msg.substr(4)).c_str(), nullptr, 10);
      if (payload_.size() != n) payload_ = make_payload(n);
      (void)ws.publish("b", payload_, weft::ws::Opcode::binary);
    };
    ws("/ctl", std::move(ctl));
  }

  void on_ready(weft::Server& server) override {
    for (const auto& url : server.addresses())
      std::printf("listening on %s\n", url.c_str());
    std::fflush(stdout);
  }

 private:
  static std::string make_payload(std::size_t n) {
    static constexpr std::string_view kWords = "broadcast to every subscriber on every loop ";
    std::string p;
    p.reserve(n);
    while (p.size() < n)
      p.append(kWords.substr(0, std::min(kWords.size(), n - p.size())));
    return p;
  }

  std::string payload_;  // only the /ctl socket's loop touches it
};

}  // namespace

int main(int argc, char** argv) {
  int port = 0;
  int loops = 1;
  weft::IoBackend io = weft::IoBackend::epoll;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    const char* v = i + 1 < argc ? argv[i + 1] : "";
    if (a == "--port") {
      port = std::atoi(v);
      ++i;
    } else if (a == "--loops") {
      loops = std::atoi(v);
      ++i;
    } else if (a == "--io") {
      io = std::string_view(v) == "io_uring" ? weft::IoBackend::io_uring : weft::IoBackend::epoll;
      ++i;
    } else {
      std::fprintf(stderr, "usage: %s --port N [--loops N] [--io epoll|io_uring]\n", argv[0]);
      return 2;
    }
  }
  try {
    BroadcastServer app;
    weft::Config cfg;
    cfg.listen = {"tcp://127.0.0.1:" + std::to_string(port)};
    cfg.ncpu = loops;
    cfg.io_backend = io;
    return weft::serve(app, cfg);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
