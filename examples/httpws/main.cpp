// httpws: HTTP routes and WebSocket routes on one port — the App routes a
// GET with an upgrade to its ws() route like any other request — and a chat
// that works in a browser.
//   build/examples/httpws                  (http://127.0.0.1:9002/ and ws://127.0.0.1:9002/ws)
//   curl http://127.0.0.1:9002/hello
//   open http://127.0.0.1:9002/chat in two browser tabs
//   build/examples/httpws --listen tls://127.0.0.1:9443 --cert cert.pem --key key.pem
//                                          (https://, and the page then uses wss://)
// GET /          a short text page naming the routes
// GET /hello     "hello"
// GET /ws        WebSocket echo (text and binary, permessage-deflate)
// GET /chat      the chat page (chat_page.hpp: HTML, CSS and JS in one file)
// GET /chat/ws   WebSocket chat: each message goes to every chat client on
//                every loop (topic "chat"), the sender included
// Plus the shared flags (--listen, --loops, --cert, --config, ...; see --help).
#include <cstddef>
#include <cstdio>
#include <string_view>

#include <weft/weft.hpp>
#include <weft/ws.hpp>

#include "chat_page.hpp"

namespace {

class HttpWs final : public weft::http::App {
 public:
  HttpWs() {
    get("/", [](weft::http::Request&, weft::http::Response& res) {
      res.header("Content-Type", "text/plain")
          .send(
              "routes: GET /hello (HTTP), GET /ws (WebSocket echo), GET /chat (chat page), "
              "GET /chat/ws (WebSocket chat)\n");
    });
    get("/hello", [](weft::http::Request&, weft::http::Response& res) { res.send("hello\n"); });
    get("/chat", [](weft::http::Request&, weft::http::Response& res) {
      res.header("Content-Type", "text/html; charset=utf-8").send(httpws::kChatPage);
    });
    weft::ws::Behavior echo;
    echo.on_message = [](weft::ws::WebSocket& ws, std::string_view msg, weft::ws::Opcode op) {
      ws.send(msg, op);
    };
    ws("/ws", std::move(echo));
    ws("/chat/ws", chat());
  }

  void on_ready(weft::Server& server) override {
    for (const auto& url : server.addresses())
      std::printf("listening on %s\n", url.c_str());
    std::fflush(stdout);
  }

 private:
  // Every chat socket subscribes to one topic; a message is published to the
  // others (on every loop) and sent back to its sender, whose page shows its
  // own lines only then, as a delivery receipt.
  static weft::ws::Behavior chat() {
    weft::ws::Behavior chat;
    chat.options.max_message = std::size_t{1} << 20;  // 1 MiB: chat lines, pasted text
    chat.on_open = [](weft::ws::WebSocket& ws) { ws.subscribe("chat"); };
    chat.on_message = [](weft::ws::WebSocket& ws, std::string_view msg, weft::ws::Opcode op) {
      ws.publish("chat", msg, op);
      ws.send(msg, op);
    };
    return chat;
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
