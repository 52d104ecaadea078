// ws_client_probe: weft's WebSocket client (ws::connect) against any echo
// server, for tests/interop/ws_gorilla.sh.
//
//   ws_client_probe URL [--no-deflate] [--expect-deflate]
//
// Sends text, binary, 1 MiB and empty messages one at a time, checks each
// echo byte for byte, closes with 1000 and waits for the answer. Prints
// "ok ..." and exits 0, or "FAIL ..." and exits 1 (also after 20 s).
#include <chrono>
#include <cstdio>
#include <future>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <weft/weft.hpp>
#include <weft/ws.hpp>

namespace {

namespace ws = weft::ws;

// Accepts nothing useful: the server only exists to run the client's loop.
class Idle final : public weft::Handler {
 public:
  std::size_t on_data(weft::Conn&, weft::Bytes in) override { return in.size(); }
};

struct Probe {
  std::vector<std::pair<std::string, ws::Opcode>> script;
  std::size_t next = 0;
  bool expect_deflate = false;
  std::promise<std::string> result;  // "" for success, else why
  bool done = false;

  void finish(const std::string& why) {
    if (done) return;
    done = true;
    result.set_value(why);
  }
  void send_next(ws::WebSocket& s) {
    if (next == script.size()) {
      s.close(ws::close_code::normal, "done");
      return;
    }
    s.send(script[next].first, script[next].second);
  }
};

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr,
                 "usage: ws_client_probe URL [--no-deflate] [--expect-deflate] [--ca PEM]\n");
    return 2;
  }
  Probe probe;
  ws::Behavior b;
  b.options.ping_interval_ms = 0;
  std::string ca_file;  // wss:// trust (default: the system store)
  for (int i = 2; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--no-deflate") b.options.deflate.enabled = false;
    if (a == "--expect-deflate") probe.expect_deflate = true;
    if (a == "--ca" && i + 1 < argc) ca_file = argv[++i];
  }
  std::string large;
  for (int i = 0; large.size() < (1u << 20); ++i)
    large += "line " + std::to_string(i) + "\n";
  probe.script = {{"hello from weft", ws::Opcode::text},
                  {std::string("\x00\x01\xff\x80", 4), ws::Opcode::binary},
                  {large, ws::Opcode::text},
                  {large, ws::Opcode::binary},
                  {"hello from weft", ws::Opcode::text},
                  {"", ws::Opcode::text}};

  b.on_open = [&probe](ws::WebSocket& s) {
    if (s.compression() != probe.expect_deflate) {
      probe.finish(s.compression() ? "permessage-deflate agreed unexpectedly"
                                   : "permessage-deflate not agreed");
      s.close();
      return;
    }
    probe.send_next(s);
  };
  b.on_message = [&probe](ws::WebSocket& s, std::string_view msg, ws::Opcode op) {
    if (probe.next >= probe.script.size() || msg != probe.script[probe.next].first ||
        op != probe.script[probe.next].second) {
      probe.finish("echo " + std::to_string(probe.next) + " differs (" +
                   std::to_string(msg.size()) + " bytes)");
      s.close(ws::close_code::policy_violation);
      return;
    }
    ++probe.next;
    probe.send_next(s);
  };
  b.on_close = [&probe](ws::WebSocket&, std::uint16_t code, std::string_view reason) {
    if (probe.next == probe.script.size() && code == ws::close_code::normal) {
      probe.finish("");
    } else {
      probe.finish("closed with " + std::to_string(code) + " " + std::string(reason));
    }
  };
  ws::ClientOptions opts;
  if (!ca_file.empty()) {
    weft::TlsClientOptions tls;
    tls.ca_file = ca_file;
    opts.tls = std::make_shared<weft::TlsClient>(tls);
  }
  opts.on_error = [&probe](std::error_code ec, std::string_view why) {
    probe.finish(std::string(why) + ": " + ec.message());
  };

  Idle idle;
  weft::Config cfg;
  cfg.listen = {"tcp://127.0.0.1:0"};
  cfg.ncpu = 1;
  weft::Server server(idle, cfg);
  if (auto ec = server.start()) {
    std::printf("FAIL server start: %s\n", ec.message().c_str());
    return 1;
  }
  auto outcome = probe.result.get_future();
  std::string why;
  if (auto ec = ws::connect(server, argv[1], opts, b)) {
    why = "connect: " + ec.message();
  } else if (outcome.wait_for(std::chrono::seconds(20)) != std::future_status::ready) {
    why = "timed out";
  } else {
    why = outcome.get();
  }
  server.stop();
  server.wait();
  if (!why.empty()) {
    std::printf("FAIL %s\n", why.c_str());
    return 1;
  }
  std::printf("ok %zu messages echoed%s\n", probe.script.size(),
              probe.expect_deflate ? " with permessage-deflate" : "");
  return 0;
}
