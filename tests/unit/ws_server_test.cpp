// WebSocket server end to end over loopback (App::ws), with a raw client
// that sends exactly the bytes each test builds: the handshake and its
// refusals (400, 426, 403, a handler's own status), subprotocols and the
// request seen by on_upgrade, echo of whole and fragmented messages with
// control frames between fragments, every protocol error answered with its
// close code, both closing handshakes and the close timeout, keepalive
// pings and dropping a silent peer, permessage-deflate both ways (with and
// without context takeover; compressed messages in fragments inflated as
// they arrive, failing fast on bad UTF-8 or size), streamed sends,
// back-pressure with on_drain, a send from another thread, a graceful stop
// closing with 1001, and every descriptor given back.
#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "test_support.hpp"
#include "weft/conn.hpp"
#include "weft/ws.hpp"
#include "ws/deflate.hpp"
#include "ws_client_support.hpp"

namespace {

using namespace weft::ws;
using namespace weft::ws::test;
using weft::test::TestServer;
using weft::test::wait_until;

struct Closed {
  std::uint16_t code;
  std::string reason;
};

// What the server's callbacks saw, read by the test thread.
struct Seen {
  std::mutex m;
  std::vector<Closed> closes;
  std::string path, query, custom_header, origin;
  std::atomic<int> opens{0}, drains{0}, pongs{0}, pings{0};
  std::atomic<int> flood_sent{0};

  std::vector<Closed> close_list() {
    std::lock_guard lock(m);
    return closes;
  }
  bool closed_with(std::uint16_t code) {
    return wait_until([&] {
      for (const auto& c : close_list())
        if (c.code == code) return true;
      return false;
    });
  }
};

Behavior echo_behavior(Seen& seen) {
  Behavior b;
  b.options.ping_interval_ms = 0;
  b.options.close_timeout_ms = 300;
  b.on_upgrade = [&seen](UpgradeRequest& up) {
    std::lock_guard lock(seen.m);
    seen.path = up.path();
    seen.query = up.query();
    seen.custom_header = up.header("X-Custom");
  };
  b.on_open = [&seen](WebSocket&) { ++seen.opens; };
  b.on_message = [&seen](WebSocket& ws, std::string_view msg, Opcode op) {
    if (msg == "close-me") {
      ws.close(4000, "asked to");
    } else if (msg == "stream") {
      ws.send_fragment("one ", Opcode::text, false);
      ws.ping("between");
      ws.send_fragment("two ", Opcode::binary /* ignored after the first */, false);
      ws.send_fragment("three", Opcode::text, true);
    } else if (msg == "flood") {
      const std::string block(64 * 1024, 'f');
      int n = 0;
      while (n < 10000 && ws.send(block) == SendStatus::sent)
        ++n;
      seen.flood_sent = n + 1;
      ws.send_text("flood-end");
    } else if (msg == "from-thread") {
      weft::ConnHandle h = ws.handle();
      std::thread([h] {
        (void)h.post([](weft::Conn& c) {
          if (WebSocket* w = WebSocket::from(c)) w->send_text("posted");
        });
      }).join();
    } else {
      ws.send(msg, op);
    }
  };
  b.on_ping = [&seen](WebSocket&, std::string_view) { ++seen.pings; };
  b.on_pong = [&seen](WebSocket&, std::string_view) { ++seen.pongs; };
  b.on_drain = [&seen](WebSocket&) { ++seen.drains; };
  b.on_close = [&seen](WebSocket&, std::uint16_t code, std::string_view reason) {
    std::lock_guard lock(seen.m);
    seen.closes.push_back({code, std::string(reason)});
  };
  return b;
}

class WsServer : public ::testing::Test {
 protected:
  WsServer() {
    app.get("/plain", [](weft::http::Request&, weft::http::Response& res) { res.send("plain"); });
    app.ws("/echo", echo_behavior(seen));

    Behavior proto = echo_behavior(seen);
    proto.check_origin = [](std::string_view origin) {
      return origin.empty() || origin == "http://good.example";
    };
    proto.on_upgrade = [](UpgradeRequest& up) {
      if (!up.header("X-Reject").empty()) return up.reject(401, "no entry");
      up.select_protocol("b");
    };
    app.ws("/proto", proto);

    Behavior small = echo_behavior(seen);
    small.options.max_message = 1000;
    app.ws("/small", small);

    Behavior keepalive = echo_behavior(seen);
    // Long enough that a test thread descheduled under load (TSan, a busy
    // CI machine) still answers each ping within one interval.
    keepalive.options.ping_interval_ms = 150;
    app.ws("/keepalive", keepalive);

    Behavior deflate = echo_behavior(seen);
    deflate.options.deflate.threshold = 16;
    app.ws("/deflate", deflate);

    Behavior nodeflate = echo_behavior(seen);
    nodeflate.options.deflate.enabled = false;
    nodeflate.options.fragment_size = 1000;
    app.ws("/nodeflate", nodeflate);

    server = std::make_unique<TestServer>(app);
    port = server->port();
  }

  Seen seen;
  weft::http::App app;
  std::unique_ptr<TestServer> server;
  std::uint16_t port = 0;
};

TEST_F(WsServer, HandshakeAndEcho) {
  WsClient w = WsClient::connect(port, "/echo?room=7", "X-Custom: hi there\r\n");
  ASSERT_EQ(w.status(), 101) << w.head();
  EXPECT_EQ(w.header("Sec-WebSocket-Accept"), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
  EXPECT_EQ(w.header("Upgrade"), "websocket");
  EXPECT_EQ(w.header("Connection"), "Upgrade");
  EXPECT_EQ(w.header("Content-Length"), "");
  EXPECT_EQ(w.header("Sec-WebSocket-Extensions"), "");  // not offered
  w.send(text("hello"));
  auto f = w.read_frame();
  ASSERT_TRUE(f);
  EXPECT_EQ(f->opcode, 1);
  EXPECT_TRUE(f->fin);
  EXPECT_FALSE(f->masked);  // servers never mask
  EXPECT_EQ(f->payload, "hello");
  w.send(binary(std::string("\0\xff\x10", 3)));
  f = w.read_frame();
  ASSERT_TRUE(f);
  EXPECT_EQ(f->opcode, 2);
  EXPECT_EQ(f->payload, std::string("\0\xff\x10", 3));
  {
    std::lock_guard lock(seen.m);
    EXPECT_EQ(seen.path, "/echo");
    EXPECT_EQ(seen.query, "room=7");
    EXPECT_EQ(seen.custom_header, "hi there");
  }
  EXPECT_EQ(seen.opens.load(), 1);
}

TEST_F(WsServer, FramesSentWithTheHandshakeAreNotLost) {
  Client c = Client::tcp(port);
  c.send_all(WsClient::request("/echo") + text("early") + frame(9, "ping!"));
  std::string got;
  ASSERT_TRUE(wait_until([&] {
    got += c.recv_some(65536, 50ms);
    return got.find("early") != std::string::npos && got.find("ping!") != std::string::npos;
  }));
  EXPECT_NE(got.find("HTTP/1.1 101 Switching Protocols\r\n"), std::string::npos);
  EXPECT_NE(got.find(std::string("\x81\x05"
                                 "early",
                                 7)),
            std::string::npos);
  EXPECT_NE(got.find(std::string("\x8a\x05"
                                 "ping!",
                                 7)),
            std::string::npos);  // the automatic pong
}

TEST_F(WsServer, BadHandshakes) {
  struct Case {
    const char* what;
    std::string request;
    int status;
  };
  const std::string key = "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n";
  const std::string base = "GET /echo HTTP/1.1\r\nHost: x\r\n";
  const std::vector<Case> cases = {
      {"no Upgrade", base + "Connection: Upgrade\r\n" + key + "Sec-WebSocket-Version: 13\r\n\r\n",
       400},
      {"Upgrade: h2c",
       base + "Upgrade: h2c\r\nConnection: Upgrade\r\n" + key + "Sec-WebSocket-Version: 13\r\n\r\n",
       400},
      {"no Connection: Upgrade",
       base + "Upgrade: websocket\r\nConnection: keep-alive\r\n" + key +
           "Sec-WebSocket-Version: 13\r\n\r\n",
       400},
      {"no key",
       base + "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\r\n",
       400},
      {"short key",
       base + "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: abc\r\n" +
           "Sec-WebSocket-Version: 13\r\n\r\n",
       400},
      {"two keys",
       base + "Upgrade: websocket\r\nConnection: Upgrade\r\n" + key + key +
           "Sec-WebSocket-Version: 13\r\n\r\n",
       400},
      {"no version", base + "Upgrade: websocket\r\nConnection: Upgrade\r\n" + key + "\r\n", 400},
      {"version 8",
       base + "Upgrade: websocket\r\nConnection: Upgrade\r\n" + key +
           "Sec-WebSocket-Version: 8\r\n\r\n",
       426},
      {"HTTP/1.0",
       "GET /echo HTTP/1.0\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" + key +
           "Sec-WebSocket-Version: 13\r\n\r\n",
       400},
      {"a body",
       base + "Upgrade: websocket\r\nConnection: Upgrade\r\n" + key +
           "Sec-WebSocket-Version: 13\r\nContent-Length: 2\r\n\r\nhi",
       400},
  };
  for (const auto& c : cases) {
    WsClient w = WsClient::raw(port, c.request);
    EXPECT_EQ(w.status(), c.status) << c.what << "\n" << w.head();
    if (c.status == 426) {
      EXPECT_EQ(w.header("Sec-WebSocket-Version"), "13") << c.what;
    }
  }
  // Token lists and case: "keep-alive, Upgrade" and "WebSocket" are fine.
  WsClient ok =
      WsClient::raw(port, base + "Upgrade: WebSocket\r\nConnection: keep-alive, Upgrade\r\n" + key +
                              "Sec-WebSocket-Version: 13\r\n\r\n");
  EXPECT_EQ(ok.status(), 101) << ok.head();
  // The HTTP routes still answer on other paths; a POST to a ws path is 405.
  WsClient plain = WsClient::raw(port, "GET /plain HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(plain.status(), 200);
  WsClient post =
      WsClient::raw(port, "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n");
  EXPECT_EQ(post.status(), 405);
  EXPECT_EQ(seen.opens.load(), 1);
}

TEST_F(WsServer, OriginSubprotocolAndRejection) {
  WsClient bad = WsClient::connect(port, "/proto", "Origin: http://evil.example\r\n");
  EXPECT_EQ(bad.status(), 403);
  WsClient chosen = WsClient::connect(
      port, "/proto", "Origin: http://good.example\r\nSec-WebSocket-Protocol: a, b\r\n");
  ASSERT_EQ(chosen.status(), 101);
  EXPECT_EQ(chosen.header("Sec-WebSocket-Protocol"), "b");
  WsClient repeated = WsClient::connect(
      port, "/proto", "Sec-WebSocket-Protocol: x\r\nSec-WebSocket-Protocol: b, c\r\n");
  ASSERT_EQ(repeated.status(), 101);
  EXPECT_EQ(repeated.header("Sec-WebSocket-Protocol"), "b");
  WsClient none = WsClient::connect(port, "/proto", "Sec-WebSocket-Protocol: a, c\r\n");
  ASSERT_EQ(none.status(), 101);
  EXPECT_EQ(none.header("Sec-WebSocket-Protocol"), "");  // nothing chosen: no header
  WsClient rejected = WsClient::connect(port, "/proto", "X-Reject: 1\r\n");
  EXPECT_EQ(rejected.status(), 401);
}

TEST_F(WsServer, FragmentsPingsAndLargeMessages) {
  WsClient w = WsClient::connect(port, "/echo");
  ASSERT_EQ(w.status(), 101);
  w.send(text("frag", false) + frame(9, "p") + cont("men", false) + frame(10, "unsolicited") +
         cont("ted"));
  auto pong = w.read_frame();
  ASSERT_TRUE(pong);
  EXPECT_EQ(pong->opcode, 10);
  EXPECT_EQ(pong->payload, "p");
  auto f = w.read_frame();
  ASSERT_TRUE(f);
  EXPECT_EQ(f->payload, "fragmented");
  // 3 MiB in one frame, sent in pieces.
  std::string big(3 << 20, 'x');
  for (std::size_t i = 0; i < big.size(); ++i)
    big[i] = static_cast<char>(i * 7);
  const std::string wire = binary(big);
  for (std::size_t at = 0; at < wire.size(); at += 100000)
    w.send(std::string_view(wire).substr(at, 100000));
  f = w.read_frame(10000ms);
  ASSERT_TRUE(f);
  EXPECT_EQ(f->payload.size(), big.size());
  EXPECT_TRUE(f->payload == big);
  EXPECT_GE(seen.pongs.load(), 1);
  EXPECT_GE(seen.pings.load(), 1);
}

TEST_F(WsServer, OutgoingFragmentationAndStreamedSends) {
  WsClient w = WsClient::connect(port, "/nodeflate");
  ASSERT_EQ(w.status(), 101);
  w.send(binary(std::string(2500, 'a')));
  std::string got;
  std::vector<std::uint8_t> ops;
  for (int i = 0; i < 3; ++i) {
    auto f = w.read_frame();
    ASSERT_TRUE(f);
    ops.push_back(f->opcode);
    got += f->payload;
    EXPECT_EQ(f->fin, i == 2);
  }
  EXPECT_EQ(ops, (std::vector<std::uint8_t>{2, 0, 0}));
  EXPECT_EQ(got, std::string(2500, 'a'));

  w.send(text("stream"));
  auto a = w.read_frame();
  auto p = w.read_frame();
  auto b = w.read_frame();
  auto c = w.read_frame();
  ASSERT_TRUE(a && p && b && c);
  EXPECT_EQ(a->opcode, 1);
  EXPECT_FALSE(a->fin);
  EXPECT_EQ(p->opcode, 9);  // a control frame between fragments
  EXPECT_EQ(b->opcode, 0);
  EXPECT_EQ(c->opcode, 0);
  EXPECT_TRUE(c->fin);
  EXPECT_EQ(a->payload + b->payload + c->payload, "one two three");
}

struct WireError {
  const char* what;
  std::string wire;
  std::uint16_t code;
};

TEST_F(WsServer, ProtocolErrorsCloseWithTheirCodes) {
  const std::vector<WireError> cases = {
      {"unmasked frame", frame(1, "x", true, false), 1002},
      {"reserved opcode", frame(5, "x"), 1002},
      {"RSV1 without deflate", frame(1, "x", true, true, 0x40), 1002},
      {"ping over 125", frame(9, std::string(126, 'p')), 1002},
      {"fragmented ping", frame(9, "x", false), 1002},
      {"orphan continuation", cont("x"), 1002},
      {"bad UTF-8", text("\xc0\xaf"), 1007},
      {"bad UTF-8 across fragments", text("\xe2\x82", false) + cont("\x28"), 1007},
      {"close code 1005", close_frame(1005), 1002},
      {"close reason not UTF-8", close_frame(1000, "\xff"), 1007},
  };
  for (const auto& c : cases) {
    WsClient w = WsClient::connect(port, "/echo");
    ASSERT_EQ(w.status(), 101);
    w.send(c.wire);
    auto f = w.read_data();
    ASSERT_TRUE(f) << c.what;
    EXPECT_EQ(f->opcode, 8) << c.what;
    EXPECT_EQ(f->close_code(), c.code) << c.what;
    EXPECT_TRUE(w.wait_closed()) << c.what;
    EXPECT_TRUE(seen.closed_with(c.code)) << c.what;
  }
  // Over the size limit: 1009, also when only the fragments add up.
  for (const std::string& wire :
       {binary(std::string(1001, 'x')),
        binary(std::string(600, 'x'), false) + cont(std::string(401, 'y'))}) {
    WsClient w = WsClient::connect(port, "/small");
    ASSERT_EQ(w.status(), 101);
    w.send(binary(std::string(1000, 'k')));  // exactly the limit is fine
    auto ok = w.read_frame();
    ASSERT_TRUE(ok);
    EXPECT_EQ(ok->payload.size(), 1000u);
    w.send(wire);
    auto f = w.read_frame();
    ASSERT_TRUE(f);
    EXPECT_EQ(f->opcode, 8);
    EXPECT_EQ(f->close_code(), 1009);
    EXPECT_TRUE(w.wait_closed());
  }
}

TEST_F(WsServer, ClosingHandshakes) {
  {  // The client closes: the server echoes the code and closes TCP.
    WsClient w = WsClient::connect(port, "/echo");
    ASSERT_EQ(w.status(), 101);
    w.send(close_frame(1000, "bye"));
    auto f = w.read_frame();
    ASSERT_TRUE(f);
    EXPECT_EQ(f->opcode, 8);
    EXPECT_EQ(f->close_code(), 1000);
    EXPECT_TRUE(w.wait_closed());
    ASSERT_TRUE(wait_until([&] { return !seen.close_list().empty(); }));
    EXPECT_EQ(seen.close_list().back().code, 1000);
    EXPECT_EQ(seen.close_list().back().reason, "bye");
  }
  {  // An empty close frame is answered with an empty one; reported as 1005.
    WsClient w = WsClient::connect(port, "/echo");
    ASSERT_EQ(w.status(), 101);
    w.send(frame(8, ""));
    auto f = w.read_frame();
    ASSERT_TRUE(f);
    EXPECT_EQ(f->opcode, 8);
    EXPECT_EQ(f->payload, "");
    EXPECT_TRUE(w.wait_closed());
    EXPECT_TRUE(seen.closed_with(1005));
  }
  {  // The server closes: it waits for the client's answer, then closes TCP.
    WsClient w = WsClient::connect(port, "/echo");
    ASSERT_EQ(w.status(), 101);
    w.send(text("close-me"));
    auto f = w.read_frame();
    ASSERT_TRUE(f);
    EXPECT_EQ(f->opcode, 8);
    EXPECT_EQ(f->close_code(), 4000);
    EXPECT_EQ(f->payload.substr(2), "asked to");
    w.send(text("ignored while closing") + close_frame(4000));
    auto none = w.read_frame(1000ms);
    EXPECT_FALSE(none);  // no echo of the late message, just the close
    EXPECT_TRUE(w.wait_closed());
    EXPECT_TRUE(seen.closed_with(4000));
  }
  {  // The client never answers our close: dropped after close_timeout_ms.
    WsClient w = WsClient::connect(port, "/echo");
    ASSERT_EQ(w.status(), 101);
    w.send(text("close-me"));
    auto f = w.read_frame();
    ASSERT_TRUE(f);
    EXPECT_EQ(f->opcode, 8);
    EXPECT_TRUE(w.wait_closed(5000ms));
    EXPECT_TRUE(seen.closed_with(1006));
  }
  {  // TCP closed without a close frame: 1006.
    const std::size_t before = seen.close_list().size();
    WsClient w = WsClient::connect(port, "/echo");
    ASSERT_EQ(w.status(), 101);
    w.socket().close();
    ASSERT_TRUE(wait_until([&] { return seen.close_list().size() > before; }));
    EXPECT_EQ(seen.close_list().back().code, 1006);
  }
}

TEST_F(WsServer, KeepalivePingsAndDropsASilentPeer) {
  WsClient alive = WsClient::connect(port, "/keepalive");
  ASSERT_EQ(alive.status(), 101);
  WsClient silent = WsClient::connect(port, "/keepalive");
  ASSERT_EQ(silent.status(), 101);
  // The answering client gets pings and stays open across many intervals.
  for (int i = 0; i < 3; ++i) {
    auto f = alive.read_frame();
    ASSERT_TRUE(f);
    ASSERT_EQ(f->opcode, 9);
    alive.send(frame(10, f->payload));
  }
  // The silent one got its ping and was dropped.
  auto ping = silent.read_frame();
  ASSERT_TRUE(ping);
  EXPECT_EQ(ping->opcode, 9);
  EXPECT_TRUE(silent.wait_closed());
  ASSERT_TRUE(wait_until([&] {
    for (const auto& c : seen.close_list())
      if (c.code == 1006 && c.reason.find("keepalive") != std::string::npos) return true;
    return false;
  }));
  alive.send(text("still here"));
  auto echo = alive.read_data();
  ASSERT_TRUE(echo);
  EXPECT_EQ(echo->payload, "still here");
}

// The client side of permessage-deflate, with the codec's own contexts.
struct DeflatePeer {
  weft::ws::detail::Deflater out;
  weft::ws::detail::Inflater in;
  bool no_takeover = false;
  DeflatePeer(bool reset) : no_takeover(reset) {
    out.init(15, 6, 8);
    in.init(15);
  }
  std::string compressed_frame(std::uint8_t op, std::string_view msg) {
    std::string z;
    out.compress(msg, z, no_takeover);
    return frame(op, z, true, true, 0x40);
  }
  std::string inflate(const Frame& f, bool server_reset) {
    if (!f.rsv1) return f.payload;
    std::string back;
    EXPECT_EQ(in.decompress(f.payload, back, 1 << 24, server_reset),
              weft::ws::detail::Inflater::Result::ok);
    return back;
  }
};

TEST_F(WsServer, PermessageDeflateWithContextTakeover) {
  WsClient w = WsClient::connect(
      port, "/deflate", "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n");
  ASSERT_EQ(w.status(), 101);
  EXPECT_EQ(w.header("Sec-WebSocket-Extensions"), "permessage-deflate; client_max_window_bits=15");
  DeflatePeer peer(false);
  const std::string msg = "a message that repeats, a message that repeats, a message that repeats";
  for (int i = 0; i < 3; ++i) {
    w.send(peer.compressed_frame(1, msg));
    auto f = w.read_frame();
    ASSERT_TRUE(f);
    EXPECT_TRUE(f->rsv1);
    EXPECT_LT(f->payload.size(), msg.size());
    EXPECT_EQ(peer.inflate(*f, false), msg);
  }
  // Below the threshold: uncompressed, RSV1 clear. Uncompressed input is fine too.
  w.send(text("short"));
  auto f = w.read_frame();
  ASSERT_TRUE(f);
  EXPECT_FALSE(f->rsv1);
  EXPECT_EQ(f->payload, "short");
  // A compressed message that inflates to invalid UTF-8 text: 1007.
  w.send(peer.compressed_frame(1, "bad \xff\xfe text, long enough to compress"));
  f = w.read_frame();
  ASSERT_TRUE(f);
  EXPECT_EQ(f->opcode, 8);
  EXPECT_EQ(f->close_code(), 1007);
}

TEST_F(WsServer, PermessageDeflateWithoutContextTakeoverAndBombs) {
  WsClient w =
      WsClient::connect(port, "/deflate",
                        "Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover; "
                        "client_no_context_takeover\r\n");
  ASSERT_EQ(w.status(), 101);
  EXPECT_EQ(w.header("Sec-WebSocket-Extensions"),
            "permessage-deflate; server_no_context_takeover; client_no_context_takeover");
  DeflatePeer peer(true);
  const std::string msg(5000, 'm');
  std::size_t first = 0;
  for (int i = 0; i < 2; ++i) {
    w.send(peer.compressed_frame(2, msg));
    auto f = w.read_frame();
    ASSERT_TRUE(f);
    ASSERT_TRUE(f->rsv1);
    if (i == 0) first = f->payload.size();
    EXPECT_EQ(f->payload.size(), first);  // no window kept between messages
    EXPECT_EQ(peer.inflate(*f, true), msg);
  }
  // A small compressed frame that inflates past max_message (16 MiB): 1009.
  w.send(peer.compressed_frame(2, std::string(17 << 20, '\0')));
  auto f = w.read_frame(10000ms);
  ASSERT_TRUE(f);
  EXPECT_EQ(f->opcode, 8);
  EXPECT_EQ(f->close_code(), 1009);
  EXPECT_TRUE(w.wait_closed());
}

// Compressed messages that arrive in pieces are inflated as they come: the
// offers for a client that keeps its context and one that does not.
constexpr const char* kTakeover =
    "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n";
constexpr const char* kNoTakeover =
    "Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover; "
    "client_no_context_takeover\r\n";

// `part` compressed and flushed so that it inflates on its own (the first
// fragment of a longer message; `d` goes on with the rest).
std::string flushed(weft::ws::detail::Deflater& d, std::string_view part) {
  std::string z;
  d.compress(part, z, false);
  return z + std::string("\0\0\xff\xff", 4);
}

// `z` (one compressed message) cut into `parts` fragments, RSV1 on the first.
std::string fragments(std::uint8_t op, std::string_view z, std::size_t parts) {
  std::string wire;
  std::size_t at = 0;
  for (std::size_t k = 1; k <= parts; ++k) {
    const std::size_t end = k == parts ? z.size() : std::min(z.size(), z.size() * k / parts + k);
    const std::size_t from = std::min(at, end);
    wire += frame(k == 1 ? op : 0, z.substr(from, end - from), k == parts, true, k == 1 ? 0x40 : 0);
    at = std::max(at, end);
  }
  return wire;
}

TEST_F(WsServer, CompressedTextWithBadUtf8FailsInItsFirstFragment) {
  for (const char* offer : {kTakeover, kNoTakeover}) {
    WsClient w = WsClient::connect(port, "/deflate", offer);
    ASSERT_EQ(w.status(), 101);
    weft::ws::detail::Deflater d;
    ASSERT_TRUE(d.init(15, 6, 8));
    w.send(frame(1, flushed(d, "a valid start, then \xff\xfe, more to come"), false, true, 0x40));
    // The rest of the message is never sent: the close must come now.
    auto f = w.read_frame();
    ASSERT_TRUE(f) << offer;
    EXPECT_EQ(f->opcode, 8);
    EXPECT_EQ(f->close_code(), 1007);
    EXPECT_TRUE(w.wait_closed());
  }
  EXPECT_TRUE(seen.closed_with(1007));
}

TEST_F(WsServer, FragmentedCompressedTextRoundTrips) {
  // Multi-byte characters, so fragments also end inside a character.
  std::string msg;
  for (int i = 0; i < 400; ++i)
    msg += "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5 " + std::to_string(i * 7919) + " ";
  for (bool takeover : {true, false}) {
    WsClient w = WsClient::connect(port, "/deflate", takeover ? kTakeover : kNoTakeover);
    ASSERT_EQ(w.status(), 101);
    DeflatePeer peer(!takeover);
    for (std::size_t parts : {2u, 3u, 7u, 64u, 1000u}) {
      std::string z;
      ASSERT_TRUE(peer.out.compress(msg, z, !takeover));
      const std::string wire = fragments(1, z, parts);
      // In three writes, so that frames are also cut across reads.
      const std::size_t third = wire.size() / 3;
      w.send(wire.substr(0, third));
      w.send(wire.substr(third, third));
      w.send(wire.substr(2 * third));
      auto f = w.read_data();
      ASSERT_TRUE(f) << parts;
      EXPECT_EQ(f->opcode, 1);
      EXPECT_EQ(peer.inflate(*f, !takeover), msg) << parts << (takeover ? " takeover" : "");
    }
  }
}

TEST_F(WsServer, PiecewiseInflatingLeavesTheSharedContextAlone) {
  // A, without context takeover, is halfway through a compressed message
  // while B uses the thread's shared inflater for whole ones.
  const std::size_t base = deflate_memory();
  WsClient a = WsClient::connect(port, "/deflate", kNoTakeover);
  WsClient b = WsClient::connect(port, "/deflate", kNoTakeover);
  ASSERT_EQ(a.status(), 101);
  ASSERT_EQ(b.status(), 101);
  const std::string msg(3000, 'x');
  weft::ws::detail::Deflater d;
  ASSERT_TRUE(d.init(15, 6, 8));
  const std::string first = flushed(d, msg.substr(0, 1000));
  std::string rest;
  ASSERT_TRUE(d.compress(msg.substr(1000), rest, true));
  a.send(frame(2, first, false, true, 0x40));
  // A's message holds a context of its own meanwhile, counted.
  EXPECT_TRUE(
      wait_until([&] { return deflate_memory() == base + weft::ws::detail::inflater_memory(15); }));
  DeflatePeer peer(true);
  for (int i = 0; i < 3; ++i) {
    b.send(peer.compressed_frame(2, "from b, from b, from b, from b " + std::to_string(i)));
    auto f = b.read_data();
    ASSERT_TRUE(f);
    EXPECT_EQ(peer.inflate(*f, true), "from b, from b, from b, from b " + std::to_string(i));
  }
  a.send(cont(rest));
  auto f = a.read_data();
  ASSERT_TRUE(f);
  DeflatePeer back(true);
  EXPECT_EQ(back.inflate(*f, true), msg);
  EXPECT_TRUE(wait_until([&] { return deflate_memory() == base; }));
}

TEST_F(WsServer, CompressedMessageOverTheLimitFailsBeforeItsEnd) {
  // max_message is 1000 on /small: a first fragment of 30-odd bytes that
  // inflates to 5000 is refused before any further fragment.
  WsClient w = WsClient::connect(port, "/small", kTakeover);
  ASSERT_EQ(w.status(), 101);
  weft::ws::detail::Deflater d;
  ASSERT_TRUE(d.init(15, 6, 8));
  const std::string first = flushed(d, std::string(5000, 'a'));
  ASSERT_LT(first.size(), 100u);
  w.send(frame(2, first, false, true, 0x40));
  auto f = w.read_frame();
  ASSERT_TRUE(f);
  EXPECT_EQ(f->opcode, 8);
  EXPECT_EQ(f->close_code(), 1009);
  EXPECT_TRUE(w.wait_closed());

  // Compressed bytes that inflate to nothing count too: empty blocks in
  // fragments, 1200 bytes in all.
  WsClient e = WsClient::connect(port, "/small", kNoTakeover);
  ASSERT_EQ(e.status(), 101);
  std::string wire = frame(2, std::string("\0\0\xff\xff", 4), false, true, 0x40);
  for (int i = 0; i < 299; ++i)
    wire += cont(std::string("\0\0\xff\xff", 4), false);
  e.send(wire);
  f = e.read_frame();
  ASSERT_TRUE(f);
  EXPECT_EQ(f->opcode, 8);
  EXPECT_EQ(f->close_code(), 1009);
}

TEST_F(WsServer, BackpressureAndDrain) {
  WsClient w = WsClient::connect(port, "/echo");
  ASSERT_EQ(w.status(), 101);
  w.send(text("flood"));
  ASSERT_TRUE(wait_until([&] { return seen.flood_sent.load() > 0; }));
  const int blocks = seen.flood_sent.load();
  EXPECT_LT(blocks, 10000);  // send() reported backpressure at some point
  std::size_t got = 0;
  for (;;) {
    auto f = w.read_frame(10000ms);
    ASSERT_TRUE(f);
    if (f->opcode == 1) {
      EXPECT_EQ(f->payload, "flood-end");
      break;
    }
    got += f->payload.size();
  }
  EXPECT_EQ(got, static_cast<std::size_t>(blocks) * 64 * 1024);
  EXPECT_TRUE(wait_until([&] { return seen.drains.load() >= 1; }));
}

TEST_F(WsServer, SendFromAnotherThread) {
  WsClient w = WsClient::connect(port, "/echo");
  ASSERT_EQ(w.status(), 101);
  w.send(text("from-thread"));
  auto f = w.read_frame();
  ASSERT_TRUE(f);
  EXPECT_EQ(f->payload, "posted");
}

TEST_F(WsServer, DescriptorsAreGivenBack) {
  const int before = weft::test::count_open_fds();
  {
    std::vector<WsClient> clients;
    for (int i = 0; i < 20; ++i) {
      clients.push_back(WsClient::connect(port, "/echo"));
      ASSERT_EQ(clients.back().status(), 101);
    }
    for (auto& c : clients)
      c.send(close_frame(1001));
    for (auto& c : clients)
      EXPECT_TRUE(c.wait_closed());
  }
  EXPECT_TRUE(wait_until([&] { return weft::test::count_open_fds() <= before; }));
  EXPECT_TRUE(wait_until([&] { return server->stats().open == 0; }));
}

}  // namespace

TEST_F(WsServer, GracefulStopSaysGoingAway) {
  WsClient w = WsClient::connect(port, "/echo");
  ASSERT_EQ(w.status(), 101);
  w.send(text("hi"));
  ASSERT_TRUE(w.read_frame());
  server->server().stop();  // from this thread; the loops run the stop
  auto f = w.read_frame();
  ASSERT_TRUE(f);
  EXPECT_EQ(f->opcode, 8);
  EXPECT_EQ(f->close_code(), 1001);
  w.send(close_frame(1001));  // our answer completes the closing handshake
  EXPECT_TRUE(w.wait_closed());
  EXPECT_TRUE(seen.closed_with(1001));
  server->stop_and_wait();
}
