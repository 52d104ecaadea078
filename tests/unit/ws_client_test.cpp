// WebSocket client (ws::connect) against our own server over loopback: the
// server dials itself, so both ends are weft. Text, binary, large and
// fragmented messages, ping/pong, both closing handshakes, compression,
// subprotocols, origin and headers, refused handshakes and connections, bad
// URLs, a raw server's bad answers and silence, and wss:// verified against
// a self-signed certificate given as the CA file.
#include <gtest/gtest.h>

#include <atomic>
#include <deque>
#include <mutex>
#include <string>
#include <vector>

#include "test_support.hpp"
#include "tls/self_signed.hpp"
#include "weft/conn.hpp"
#include "weft/dial.hpp"
#include "weft/ws.hpp"

namespace {

using namespace weft::ws;
using weft::test::TestServer;
using weft::test::wait_until;

// What the client's callbacks saw, read by the test thread.
struct ClientSeen {
  std::mutex m;
  std::vector<std::pair<std::string, Opcode>> messages;
  std::vector<std::string> pongs;
  std::string error, protocol;
  bool compression = true;
  std::atomic<int> opens{0}, closes{0}, errors{0};
  std::atomic<int> close_code{0};

  std::size_t message_count() {
    std::lock_guard lock(m);
    return messages.size();
  }
};

// The server: echo, "stream" answers with fragments and a ping between
// them, "close-me" closes with 4000.
Behavior server_behavior(std::atomic<int>& server_close_code) {
  Behavior b;
  b.options.ping_interval_ms = 0;
  b.on_upgrade = [](UpgradeRequest& up) {
    for (auto p : up.protocols())
      if (p == "chat.v2") up.select_protocol(p);
  };
  b.on_message = [](WebSocket& ws, std::string_view msg, Opcode op) {
    if (msg == "close-me") {
      ws.close(4000, "asked to");
    } else if (msg == "stream") {
      ws.send_fragment("one ", Opcode::text, false);
      ws.ping("between");
      ws.send_fragment("two ", Opcode::text, false);
      ws.send_fragment("three", Opcode::text, true);
    } else {
      ws.send(msg, op);
    }
  };
  b.on_close = [&server_close_code](WebSocket&, std::uint16_t code, std::string_view) {
    server_close_code = code;
  };
  return b;
}

// A client that sends `script` on open and records everything.
Behavior client_behavior(ClientSeen& seen, std::vector<std::pair<std::string, Opcode>> script) {
  Behavior b;
  b.options.ping_interval_ms = 0;
  b.on_open = [&seen, script](WebSocket& ws) {
    {
      std::lock_guard lock(seen.m);
      seen.protocol = client_protocol(ws);
      seen.compression = ws.compression();
    }
    ++seen.opens;
    for (const auto& [data, op] : script) {
      if (op == Opcode::ping) {
        ws.ping(data);
      } else {
        ws.send(data, op);
      }
    }
  };
  b.on_message = [&seen](WebSocket&, std::string_view msg, Opcode op) {
    std::lock_guard lock(seen.m);
    seen.messages.emplace_back(std::string(msg), op);
  };
  b.on_pong = [&seen](WebSocket&, std::string_view p) {
    std::lock_guard lock(seen.m);
    seen.pongs.emplace_back(p);
  };
  b.on_close = [&seen](WebSocket&, std::uint16_t code, std::string_view) {
    seen.close_code = code;
    ++seen.closes;
  };
  return b;
}

ClientOptions options_for(ClientSeen& seen) {
  ClientOptions o;
  o.timeout = std::chrono::milliseconds(3000);
  o.on_error = [&seen](std::error_code, std::string_view why) {
    std::lock_guard lock(seen.m);
    seen.error = why;
    ++seen.errors;
  };
  return o;
}

class WsClient : public ::testing::Test {
 protected:
  void SetUp() override {
    app.get("/plain", [](weft::http::Request&, weft::http::Response& res) { res.send("plain"); });
    app.ws("/echo", server_behavior(server_close_code));
    Behavior guarded = server_behavior(server_close_code);
    guarded.check_origin = [](std::string_view origin) { return origin == "https://app.test"; };
    guarded.on_upgrade = [](UpgradeRequest& up) {
      if (up.header("X-Token") != "secret") up.reject(401, "no token");
    };
    app.ws("/guarded", guarded);
    Behavior fragmenting = server_behavior(server_close_code);
    fragmenting.options.fragment_size = 100;
    app.ws("/fragmenting", fragmenting);
    server = std::make_unique<TestServer>(app);
  }
  std::string url(std::string_view path) const {
    return "ws://127.0.0.1:" + std::to_string(server->port()) + std::string(path);
  }

  // What the clients saw: declared before the server, so it outlives the
  // connections still open when a test ends (their on_close runs at stop).
  ClientSeen& fresh() { return seens.emplace_back(); }

  std::deque<ClientSeen> seens;
  std::atomic<int> server_close_code{0};
  weft::http::App app;
  std::unique_ptr<TestServer> server;
};

TEST_F(WsClient, EchoesTextBinaryAndLargeMessages) {
  ClientSeen& seen = fresh();
  const std::string large(1 << 20, 'L');
  const std::string bin("\x00\x01\xff\x80", 4);
  ASSERT_FALSE(connect(server->server(), url("/echo?x=1"), options_for(seen),
                       client_behavior(seen, {{"hello", Opcode::text},
                                              {bin, Opcode::binary},
                                              {large, Opcode::binary},
                                              {"", Opcode::text}})));
  ASSERT_TRUE(wait_until([&] { return seen.message_count() == 4; }));
  std::lock_guard lock(seen.m);
  EXPECT_EQ(seen.messages[0], std::make_pair(std::string("hello"), Opcode::text));
  EXPECT_EQ(seen.messages[1], std::make_pair(bin, Opcode::binary));
  EXPECT_EQ(seen.messages[2], std::make_pair(large, Opcode::binary));
  EXPECT_EQ(seen.messages[3], std::make_pair(std::string(), Opcode::text));
  EXPECT_TRUE(seen.protocol.empty());
  EXPECT_TRUE(seen.compression);  // permessage-deflate is offered and agreed by default
  EXPECT_EQ(seen.errors.load(), 0);
}

// Compressible messages sent twice: the second one only decodes if both
// sides kept (or both reset) their contexts as agreed.
void expect_compressed_echo(TestServer& server, ClientSeen& seen, const std::string& url,
                            const DeflateOptions& d) {
  std::string text;
  for (int i = 0; i < 200; ++i)
    text += "compress me " + std::to_string(i) + " ";
  Behavior b =
      client_behavior(seen, {{text, Opcode::text}, {text, Opcode::text}, {"short", Opcode::text}});
  b.options.deflate = d;
  ASSERT_FALSE(connect(server.server(), url, options_for(seen), b));
  ASSERT_TRUE(wait_until([&] { return seen.message_count() == 3; }));
  std::lock_guard lock(seen.m);
  EXPECT_TRUE(seen.compression);
  EXPECT_EQ(seen.messages[0].first, text);
  EXPECT_EQ(seen.messages[1].first, text);
  EXPECT_EQ(seen.messages[2].first, "short");
}

TEST_F(WsClient, CompressesWithContextTakeover) {
  expect_compressed_echo(*server, fresh(), url("/echo"), DeflateOptions{});
}

TEST_F(WsClient, CompressesWithoutContextTakeoverAndSmallWindows) {
  DeflateOptions d;
  d.server_no_context_takeover = true;
  d.client_no_context_takeover = true;
  d.server_max_window_bits = 10;
  d.client_max_window_bits = 9;
  expect_compressed_echo(*server, fresh(), url("/echo"), d);
}

// Compressed messages in 100-byte fragments both ways: the server and the
// client each inflate them piece by piece as the fragments arrive.
void expect_fragmented_compressed_echo(TestServer& server, ClientSeen& seen, const std::string& url,
                                       const DeflateOptions& d) {
  std::string text;
  for (int i = 0; i < 300; ++i)
    text += "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5 " + std::to_string(i * 7919) + " ";
  Behavior b = client_behavior(seen, {{text, Opcode::text}, {text, Opcode::text}});
  b.options.deflate = d;
  b.options.fragment_size = 100;
  ASSERT_FALSE(connect(server.server(), url, options_for(seen), b));
  ASSERT_TRUE(wait_until([&] { return seen.message_count() == 2; }));
  std::lock_guard lock(seen.m);
  EXPECT_TRUE(seen.compression);
  EXPECT_EQ(seen.messages[0].first, text);
  EXPECT_EQ(seen.messages[1].first, text);
  EXPECT_EQ(seen.errors.load(), 0);
}

TEST_F(WsClient, FragmentedCompressedMessagesBothWays) {
  expect_fragmented_compressed_echo(*server, fresh(), url("/fragmenting"), DeflateOptions{});
  DeflateOptions fresh_contexts;
  fresh_contexts.server_no_context_takeover = true;
  fresh_contexts.client_no_context_takeover = true;
  expect_fragmented_compressed_echo(*server, fresh(), url("/fragmenting"), fresh_contexts);
}

TEST_F(WsClient, DeflateCanBeTurnedOff) {
  ClientSeen& seen = fresh();
  Behavior b = client_behavior(seen, {{std::string(1000, 'z'), Opcode::text}});
  b.options.deflate.enabled = false;
  ASSERT_FALSE(connect(server->server(), url("/echo"), options_for(seen), b));
  ASSERT_TRUE(wait_until([&] { return seen.message_count() == 1; }));
  std::lock_guard lock(seen.m);
  EXPECT_FALSE(seen.compression);
  EXPECT_EQ(seen.messages[0].first, std::string(1000, 'z'));
}

TEST_F(WsClient, ReassemblesFragmentsAndAnswersPings) {
  ClientSeen& seen = fresh();
  ASSERT_FALSE(
      connect(server->server(), url("/echo"), options_for(seen),
              client_behavior(seen, {{"ping-payload", Opcode::ping}, {"stream", Opcode::text}})));
  ASSERT_TRUE(wait_until([&] { return seen.message_count() == 1; }));
  std::lock_guard lock(seen.m);
  EXPECT_EQ(seen.messages[0].first, "one two three");
  EXPECT_EQ(seen.messages[0].second, Opcode::text);
  ASSERT_EQ(seen.pongs.size(), 1u);
  EXPECT_EQ(seen.pongs[0], "ping-payload");
}

TEST_F(WsClient, ServerInitiatedClose) {
  ClientSeen& seen = fresh();
  ASSERT_FALSE(connect(server->server(), url("/echo"), options_for(seen),
                       client_behavior(seen, {{"close-me", Opcode::text}})));
  ASSERT_TRUE(wait_until([&] { return seen.closes.load() == 1; }));
  EXPECT_EQ(seen.close_code.load(), 4000);
  ASSERT_TRUE(wait_until([&] { return server_close_code.load() == 4000; }));
}

TEST_F(WsClient, ClientInitiatedClose) {
  ClientSeen& seen = fresh();
  Behavior b = client_behavior(seen, {});
  b.on_open = [&seen](WebSocket& ws) {
    ++seen.opens;
    ws.close(4001, "bye");
  };
  ASSERT_FALSE(connect(server->server(), url("/echo"), options_for(seen), b));
  ASSERT_TRUE(wait_until([&] { return server_close_code.load() == 4001; }));
  ASSERT_TRUE(wait_until([&] { return seen.closes.load() == 1; }));
  EXPECT_EQ(seen.close_code.load(), 4001);
  EXPECT_TRUE(wait_until([&] { return server->stats().open == 0; }));
}

TEST_F(WsClient, NegotiatesASubprotocol) {
  ClientSeen& seen = fresh();
  ClientOptions o = options_for(seen);
  o.protocols = {"chat.v1", "chat.v2"};
  ASSERT_FALSE(connect(server->server(), url("/echo"), o, client_behavior(seen, {})));
  ASSERT_TRUE(wait_until([&] { return seen.opens.load() == 1; }));
  std::lock_guard lock(seen.m);
  EXPECT_EQ(seen.protocol, "chat.v2");
}

TEST_F(WsClient, SendsOriginAndExtraHeaders) {
  ClientSeen& seen = fresh();
  ClientOptions o = options_for(seen);
  o.origin = "https://app.test";
  o.headers = {{"X-Token", "secret"}};
  ASSERT_FALSE(connect(server->server(), url("/guarded"), o, client_behavior(seen, {})));
  ASSERT_TRUE(wait_until([&] { return seen.opens.load() == 1; }));

  ClientSeen& refused = fresh();
  ClientOptions no_token = options_for(refused);
  no_token.origin = "https://app.test";
  ASSERT_FALSE(connect(server->server(), url("/guarded"), no_token, client_behavior(refused, {})));
  ASSERT_TRUE(wait_until([&] { return refused.errors.load() == 1; }));
  EXPECT_EQ(refused.opens.load(), 0);
}

TEST_F(WsClient, RefusedHandshakeIsAnError) {
  ClientSeen& seen = fresh();
  ASSERT_FALSE(
      connect(server->server(), url("/plain"), options_for(seen), client_behavior(seen, {})));
  ASSERT_TRUE(wait_until([&] { return seen.errors.load() == 1; }));
  EXPECT_EQ(seen.opens.load(), 0);
  EXPECT_EQ(seen.closes.load(), 0);
  std::lock_guard lock(seen.m);
  EXPECT_EQ(seen.error, "the server did not answer 101");
}

TEST_F(WsClient, RefusedConnectionIsAnError) {
  // A port nobody listens on: bind one, close it, dial it.
  std::uint16_t port = 0;
  {
    weft::http::App other;
    TestServer s(other);
    port = s.port();
  }
  ClientSeen& seen = fresh();
  ASSERT_FALSE(connect(server->server(), "ws://127.0.0.1:" + std::to_string(port) + "/",
                       options_for(seen), client_behavior(seen, {})));
  ASSERT_TRUE(wait_until([&] { return seen.errors.load() == 1; }));
  EXPECT_EQ(seen.opens.load(), 0);
}

TEST_F(WsClient, BadUrlsAreRejected) {
  ClientSeen& seen = fresh();
  for (const char* bad : {"http://127.0.0.1:1/", "ws://", "ws://127.0.0.1:0/", "ws://h:99999/",
                          "ws://127.0.0.1:x/"}) {
    EXPECT_EQ(connect(server->server(), bad, options_for(seen), client_behavior(seen, {})),
              std::make_error_code(std::errc::invalid_argument))
        << bad;
  }
}

// A raw server that answers every request with `answer` (empty: never).
class FakeServer final : public weft::Handler {
 public:
  explicit FakeServer(std::string answer) : answer_(std::move(answer)) {}
  std::size_t on_data(weft::Conn& c, weft::Bytes in) override {
    if (!answer_.empty() && in.find("\r\n\r\n") != weft::Bytes::npos) c.write(answer_);
    return answer_.empty() ? in.size() : 0;
  }

 private:
  std::string answer_;
};

std::string fake_failure(const std::string& answer, std::chrono::milliseconds timeout,
                         std::error_code* ec = nullptr) {
  ClientSeen seen;  // outlives the server below
  std::error_code got;
  FakeServer fake(answer);
  TestServer s(fake);
  ClientOptions o = options_for(seen);
  o.timeout = timeout;
  o.on_error = [&seen, &got](std::error_code e, std::string_view why) {
    std::lock_guard lock(seen.m);
    got = e;
    seen.error = why;
    ++seen.errors;
  };
  Behavior b = client_behavior(seen, {});
  EXPECT_FALSE(connect(s.server(), "ws://127.0.0.1:" + std::to_string(s.port()) + "/", o, b));
  EXPECT_TRUE(wait_until([&] { return seen.errors.load() == 1; }));
  EXPECT_EQ(seen.opens.load(), 0);
  s.stop_and_wait();
  std::lock_guard lock(seen.m);
  if (ec) *ec = got;
  return seen.error;
}

TEST(WsClientHandshake, BadAnswersAreErrors) {
  const std::string head = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n";
  EXPECT_EQ(fake_failure(head + "Connection: Upgrade\r\nSec-WebSocket-Accept: wrong\r\n\r\n",
                         std::chrono::milliseconds(3000)),
            "wrong Sec-WebSocket-Accept");
  EXPECT_EQ(fake_failure(head + "\r\n", std::chrono::milliseconds(3000)),
            "Connection: Upgrade missing in the answer");
  EXPECT_EQ(
      fake_failure("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", std::chrono::milliseconds(3000)),
      "the server did not answer 101");
  EXPECT_EQ(fake_failure(std::string(20000, 'x'), std::chrono::milliseconds(3000)),
            "handshake answer too long");
}

TEST(WsClientHandshake, SilentServerTimesOut) {
  std::error_code ec;
  EXPECT_EQ(fake_failure("", std::chrono::milliseconds(100), &ec),
            "no WebSocket handshake answer in time");
  EXPECT_EQ(ec, std::make_error_code(std::errc::timed_out));
}

TEST(WsClientTls, WssVerifiedAgainstTheCaFile) {
  auto cert = weft::detail::make_self_signed({"localhost", "127.0.0.1"});
  ClientSeen seen, unverified;  // outlive the server (on_close runs at its stop)
  std::atomic<int> server_close_code{0};
  weft::http::App app;
  app.ws("/echo", server_behavior(server_close_code));
  weft::Config cfg = weft::test::test_config();
  cfg.listen = {"tls://127.0.0.1:0"};
  cfg.tls.cert = {cert.cert_pem, cert.key_pem};
  TestServer s(app, cfg);

  ClientOptions o = options_for(seen);
  weft::TlsClientOptions tls;
  tls.ca_file = cert.cert_pem;  // a self-signed certificate is its own CA
  o.tls = std::make_shared<weft::TlsClient>(tls);
  ASSERT_FALSE(connect(s.server(), "wss://localhost:" + std::to_string(s.port()) + "/echo", o,
                       client_behavior(seen, {{"secure", Opcode::text}})));
  ASSERT_TRUE(wait_until([&] { return seen.message_count() == 1; }));
  {
    std::lock_guard lock(seen.m);
    EXPECT_EQ(seen.messages[0].first, "secure");
  }

  // Without the CA the certificate does not verify: an error, no on_open.
  ClientOptions plain = options_for(unverified);
  ASSERT_FALSE(connect(s.server(), "wss://localhost:" + std::to_string(s.port()) + "/echo", plain,
                       client_behavior(unverified, {})));
  ASSERT_TRUE(wait_until([&] { return unverified.errors.load() == 1; }));
  EXPECT_EQ(unverified.opens.load(), 0);
}

}  // namespace
