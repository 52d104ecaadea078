// WebSocket topics (publish/subscribe) end to end over loopback. Raw
// clients drive a route whose messages are commands ("sub t", "pub t text",
// ...) run on the socket's loop thread, so every API call happens where it
// must: subscribing and its idempotence, publish leaving out the sender,
// delivery across two loops from a loop and from a foreign thread, closed
// sockets leaving their topics (also while a delivery walks the list),
// subscribers with and without permessage-deflate mixed, and a slow
// subscriber whose queued output stays bounded under both send-buffer
// policies.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
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

// The sockets of a test by name ("?name" in the request target), for
// commands that act on another socket (same loop only).
struct Registry {
  std::mutex m;
  std::map<std::string, WebSocket*> by_name;
  // Runs in a socket's on_close (on its loop thread), with its name.
  std::function<void(WebSocket&, const std::string&)> on_close;

  WebSocket* get(const std::string& name) {
    std::lock_guard lock(m);
    auto it = by_name.find(name);
    return it == by_name.end() ? nullptr : it->second;
  }
};

std::string name_of(WebSocket& ws) {
  return ws.user_data() ? *static_cast<std::string*>(ws.user_data()) : std::string();
}

// "cmd topic rest...": the reply (if any) goes back as a text message.
void run_command(Registry& reg, WebSocket& ws, std::string_view msg) {
  std::istringstream in{std::string(msg)};
  std::string cmd, topic;
  in >> cmd >> topic;
  std::string rest;
  if (msg.size() > cmd.size() + topic.size() + 2) rest = msg.substr(cmd.size() + topic.size() + 2);
  auto yes = [](bool b) { return b ? "true" : "false"; };
  if (cmd == "sub") {
    ws.send_text(std::string("sub ") + yes(ws.subscribe(topic)));
  } else if (cmd == "unsub") {
    ws.send_text(std::string("unsub ") + yes(ws.unsubscribe(topic)));
  } else if (cmd == "is") {
    ws.send_text(std::string("is ") + yes(ws.subscribed(topic)));
  } else if (cmd == "count") {
    ws.send_text("count " + std::to_string(subscribers(ws.conn().loop(), topic)));
  } else if (cmd == "loop") {
    ws.send_text("loop " + std::to_string(ws.conn().loop().index()));
  } else if (cmd == "pub") {
    (void)ws.publish(topic, rest, Opcode::text);
  } else if (cmd == "pubraw") {
    (void)ws.publish(topic, rest, Opcode::text, false);
  } else if (cmd == "puball") {
    (void)publish(ws.conn().server(), topic, rest, Opcode::text);
  } else if (cmd == "flood") {  // flood topic count size
    std::istringstream args(rest);
    int n = 0;
    std::size_t size = 0;
    args >> n >> size;
    const std::string block(size, 'f');
    for (int i = 0; i < n; ++i)
      (void)ws.publish(topic, block, Opcode::binary);
  } else if (cmd == "queued") {  // queued name: that socket's buffered amount
    WebSocket* other = reg.get(topic);
    ws.send_text("queued " + std::to_string(other ? other->buffered_amount() : 0));
  } else if (cmd == "chat") {  // what the chat example does
    (void)ws.publish("chat", msg.substr(5), Opcode::text);
    ws.send_text(msg.substr(5));
  }
}

Behavior command_behavior(Registry& reg) {
  Behavior b;
  b.options.ping_interval_ms = 0;
  b.options.close_timeout_ms = 300;
  b.options.deflate.threshold = 16;
  b.on_upgrade = [](UpgradeRequest& up) { up.set_user_data(new std::string(up.query())); };
  b.on_open = [&reg](WebSocket& ws) {
    std::lock_guard lock(reg.m);
    reg.by_name[name_of(ws)] = &ws;
  };
  b.on_message = [&reg](WebSocket& ws, std::string_view msg, Opcode) { run_command(reg, ws, msg); };
  b.on_close = [&reg](WebSocket& ws, std::uint16_t, std::string_view) {
    const std::string name = name_of(ws);
    {
      std::lock_guard lock(reg.m);
      reg.by_name.erase(name);
    }
    if (reg.on_close) reg.on_close(ws, name);
    delete static_cast<std::string*>(ws.user_data());
    ws.set_user_data(nullptr);
  };
  return b;
}

// A receive buffer that stays small but not below one loopback segment
// (smaller ones make the kernel wait on zero-window probes, seconds apart).
constexpr int kSmallWindow = 64 * 1024;

weft::Config two_loops() {
  weft::Config cfg = weft::test::test_config();
  // One acceptor handing connections out round-robin: they alternate loops.
  cfg.listen = {"tcp://127.0.0.1:0?reuseport=false"};
  cfg.ncpu = 2;
  cfg.lb_strategy = weft::LbStrategy::rr;
  return cfg;
}

class WsTopics : public ::testing::Test {
 protected:
  void start(weft::Config cfg = weft::test::test_config()) {
    app.ws("/t", command_behavior(reg));
    Behavior chat;
    chat.options.ping_interval_ms = 0;
    chat.on_open = [](WebSocket& ws) { ws.subscribe("chat"); };
    chat.on_message = [](WebSocket& ws, std::string_view msg, Opcode op) {
      (void)ws.publish("chat", msg, op);
      ws.send(msg, op);
    };
    app.ws("/chat", chat);
    server = std::make_unique<TestServer>(app, cfg);
  }

  WsClient client(const std::string& name, std::string_view extra = {}) {
    WsClient w = WsClient::connect(server->port(), "/t?" + name, extra);
    EXPECT_EQ(w.status(), 101) << name;
    return w;
  }

  Registry reg;
  weft::http::App app;
  std::unique_ptr<TestServer> server;
};

// subscribers() asked on loop i's thread (0 if it does not answer).
std::size_t subscribers_on(weft::Server& server, std::size_t i, const std::string& topic) {
  struct Answer {
    std::atomic<std::size_t> n{0};
    std::atomic<bool> done{false};
  };
  auto a = std::make_shared<Answer>();
  weft::EventLoop& loop = server.loop(i);
  (void)loop.post([a, &loop, topic] {
    a->n = subscribers(loop, topic);
    a->done = true;
  });
  wait_until([&] { return a->done.load(); });
  return a->n;
}

// Sends a command and returns the next message (the reply).
std::string ask(WsClient& w, const std::string& cmd) {
  w.send(text(cmd));
  auto f = w.read_data();
  return f ? f->payload : std::string("<no reply>");
}

// Nothing arrives on `w` within a short while (reads are bounded).
bool quiet(WsClient& w) {
  return !w.read_data(150ms).has_value();
}

TEST_F(WsTopics, SubscribeUnsubscribeAndIdempotence) {
  start();
  WsClient a = client("a");
  EXPECT_EQ(ask(a, "is news"), "is false");
  EXPECT_EQ(ask(a, "sub news"), "sub true");
  EXPECT_EQ(ask(a, "sub news"), "sub false");  // already in
  EXPECT_EQ(ask(a, "is news"), "is true");
  EXPECT_EQ(ask(a, "sub sport"), "sub true");
  EXPECT_EQ(ask(a, "sub weather"), "sub true");
  EXPECT_EQ(ask(a, "count news"), "count 1");
  // Leaving the middle one of three keeps the others.
  EXPECT_EQ(ask(a, "unsub sport"), "unsub true");
  EXPECT_EQ(ask(a, "unsub sport"), "unsub false");
  EXPECT_EQ(ask(a, "is sport"), "is false");
  EXPECT_EQ(ask(a, "is news"), "is true");
  EXPECT_EQ(ask(a, "is weather"), "is true");
  EXPECT_EQ(ask(a, "count sport"), "count 0");
  EXPECT_EQ(ask(a, "unsub nothing"), "unsub false");
  // A topic name is any bytes, the empty one included.
  EXPECT_EQ(ask(a, "sub"), "sub true");
  EXPECT_EQ(ask(a, "is"), "is true");

  WsClient b = client("b");
  EXPECT_EQ(ask(b, "sub news"), "sub true");
  EXPECT_EQ(ask(b, "count news"), "count 2");
  EXPECT_EQ(ask(a, "unsub news"), "unsub true");
  EXPECT_EQ(ask(b, "count news"), "count 1");
  EXPECT_EQ(ask(b, "is news"), "is true");
}

TEST_F(WsTopics, PublishReachesSubscribersButNotTheSender) {
  start();
  WsClient a = client("a"), b = client("b"), c = client("c"), d = client("d");
  for (WsClient* w : {&a, &b, &c})
    EXPECT_EQ(ask(*w, "sub t"), "sub true");
  EXPECT_EQ(ask(d, "sub other"), "sub true");
  a.send(text("pub t hello"));
  for (WsClient* w : {&b, &c}) {
    auto f = w->read_data();
    ASSERT_TRUE(f);
    EXPECT_EQ(f->opcode, 1);
    EXPECT_FALSE(f->rsv1);
    EXPECT_EQ(f->payload, "hello");
  }
  // The sender's next message is the answer to its next command.
  EXPECT_EQ(ask(a, "count t"), "count 3");
  EXPECT_TRUE(quiet(d));
  // A publish that includes the sender, and one to a topic nobody has.
  a.send(text("puball t to all"));
  for (WsClient* w : {&a, &b, &c}) {
    auto f = w->read_data();
    ASSERT_TRUE(f);
    EXPECT_EQ(f->payload, "to all");
  }
  a.send(text("pub empty nobody"));
  EXPECT_EQ(ask(a, "count empty"), "count 0");
  EXPECT_TRUE(quiet(b));
}

TEST_F(WsTopics, DeliveryAcrossLoopsFromALoopAndFromAnotherThread) {
  start(two_loops());
  std::vector<WsClient> clients;
  std::map<std::string, int> per_loop;
  for (int i = 0; i < 6; ++i) {
    clients.push_back(client("c" + std::to_string(i)));
    ++per_loop[ask(clients.back(), "loop")];
    EXPECT_EQ(ask(clients.back(), "sub t"), "sub true");
  }
  ASSERT_EQ(per_loop.size(), 2u);  // both loops hold subscribers
  EXPECT_EQ(per_loop["loop 0"], 3);

  // From a loop: every other subscriber, on both loops.
  clients[0].send(text("pub t from c0"));
  for (std::size_t i = 1; i < clients.size(); ++i) {
    auto f = clients[i].read_data();
    ASSERT_TRUE(f) << i;
    EXPECT_EQ(f->payload, "from c0");
  }
  // Per loop, the count is that loop's.
  EXPECT_EQ(ask(clients[0], "count t"), "count 3");
  EXPECT_EQ(ask(clients[1], "count t"), "count 3");

  // Control frames are no messages: refused, nothing sent.
  EXPECT_EQ(publish(server->server(), "t", "x", Opcode::ping),
            std::make_error_code(std::errc::invalid_argument));
  // From a thread that is no loop: everyone, in publish order.
  for (int k = 0; k < 3; ++k) {
    const std::string m = "foreign " + std::to_string(k);
    EXPECT_FALSE(publish(server->server(), "t", m, Opcode::text));
  }
  for (auto& w : clients) {
    for (int k = 0; k < 3; ++k) {
      auto f = w.read_data();
      ASSERT_TRUE(f);
      EXPECT_EQ(f->payload, "foreign " + std::to_string(k));
    }
  }
}

TEST_F(WsTopics, ChatPatternOnTwoLoops) {
  start(two_loops());
  std::vector<WsClient> clients;
  for (int i = 0; i < 4; ++i) {
    clients.push_back(WsClient::connect(server->port(), "/chat"));
    ASSERT_EQ(clients.back().status(), 101);
  }
  // on_open subscribed each one; wait until the loops hold all four.
  ASSERT_TRUE(wait_until([&] {
    return subscribers_on(server->server(), 0, "chat") +
               subscribers_on(server->server(), 1, "chat") ==
           4;
  }));
  for (std::size_t i = 0; i < clients.size(); ++i)
    clients[i].send(text("hi from " + std::to_string(i)));
  for (auto& w : clients) {
    std::vector<std::string> got;
    for (std::size_t i = 0; i < clients.size(); ++i) {
      auto f = w.read_data();
      ASSERT_TRUE(f);
      got.push_back(f->payload);
    }
    std::sort(got.begin(), got.end());
    EXPECT_EQ(got, (std::vector<std::string>{"hi from 0", "hi from 1", "hi from 2", "hi from 3"}));
  }
}

TEST_F(WsTopics, ClosedSocketsLeaveTheirTopics) {
  start();
  WsClient a = client("a");
  {
    WsClient b = client("b"), c = client("c");
    for (WsClient* w : {&a, &b, &c}) {
      for (const char* t : {"x", "y", "z"})
        EXPECT_EQ(ask(*w, std::string("sub ") + t), "sub true");
    }
    EXPECT_EQ(ask(a, "count y"), "count 3");
    b.send(close_frame(1000));  // a closing handshake
    EXPECT_TRUE(b.wait_closed());
    c.socket().close_rst();  // and a reset
  }
  EXPECT_TRUE(wait_until([&] { return ask(a, "count x") == "count 1"; }));
  EXPECT_EQ(ask(a, "count y"), "count 1");
  EXPECT_EQ(ask(a, "count z"), "count 1");
  a.send(text("pub y into the void"));
  EXPECT_TRUE(quiet(a));
  // The last subscriber leaving drops the topic; a new one starts it again.
  EXPECT_EQ(ask(a, "unsub x"), "unsub true");
  EXPECT_EQ(ask(a, "count x"), "count 0");
  WsClient d = client("d");
  EXPECT_EQ(ask(d, "sub x"), "sub true");
  a.send(text("pub x back"));
  auto f = d.read_data();
  ASSERT_TRUE(f);
  EXPECT_EQ(f->payload, "back");
}

// A subscriber closed while a delivery walks the list (the close policy
// drops it mid-publish), whose on_close publishes again and terminates a
// subscriber further down the same list: the walk skips it, nothing dangles.
TEST_F(WsTopics, SubscribersClosingDuringADelivery) {
  weft::Config cfg = weft::test::test_config();
  cfg.cli_sbuf_limit = 256 * 1024;
  cfg.sbuf_policy = weft::SbufPolicy::close;
  reg.on_close = [this](WebSocket& ws, const std::string& name) {
    if (name != "victim") return;
    (void)ws.publish("t", "bye", Opcode::text);
    if (WebSocket* other = reg.get("other")) other->terminate();
  };
  start(cfg);
  WsClient victim = client("victim"), other = client("other"), watcher = client("watcher");
  WsClient pub = client("pub");
  victim.socket().set_rcvbuf(kSmallWindow);
  for (WsClient* w : {&victim, &other, &watcher})
    EXPECT_EQ(ask(*w, "sub t"), "sub true");

  const std::string block(64 * 1024, 'b');
  bool bye = false;
  int sent = 0;
  for (; sent < 4000 && !bye; ++sent) {
    pub.send(text("pub t " + block));
    for (;;) {
      auto f = watcher.read_data();
      ASSERT_TRUE(f) << sent;
      if (f->payload == "bye") {
        bye = true;
        continue;  // the message being delivered follows
      }
      EXPECT_EQ(f->payload.size(), block.size());
      break;
    }
    if (!bye) {
      auto f = other.read_data();
      ASSERT_TRUE(f);
    }
  }
  ASSERT_TRUE(bye) << "the victim was never closed";
  EXPECT_TRUE(victim.wait_closed(10000ms));
  EXPECT_TRUE(other.wait_closed());
  EXPECT_TRUE(wait_until([&] { return ask(pub, "count t") == "count 1"; }));
  pub.send(text("pub t after"));
  auto f = watcher.read_data();
  ASSERT_TRUE(f);
  EXPECT_TRUE(f->payload == "after") << f->payload.size() << " bytes";
}

TEST_F(WsTopics, CompressedAndPlainSubscribersMixed) {
  start();
  WsClient pub = client("pub");
  WsClient plain = client("plain");
  const char* no_takeover =
      "Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover; "
      "client_no_context_takeover\r\n";
  WsClient shared1 = client("shared1", no_takeover), shared2 = client("shared2", no_takeover);
  WsClient own = client("own", "Sec-WebSocket-Extensions: permessage-deflate\r\n");
  WsClient small = client("small",
                          "Sec-WebSocket-Extensions: permessage-deflate; "
                          "server_no_context_takeover; server_max_window_bits=10\r\n");
  EXPECT_EQ(shared1.header("Sec-WebSocket-Extensions"),
            "permessage-deflate; server_no_context_takeover; client_no_context_takeover");
  EXPECT_EQ(own.header("Sec-WebSocket-Extensions"), "permessage-deflate");
  for (WsClient* w : {&plain, &shared1, &shared2, &own, &small})
    EXPECT_EQ(ask(*w, "sub t"), "sub true");

  weft::ws::detail::Inflater own_inflater;  // keeps the server's window across messages
  ASSERT_TRUE(own_inflater.init(15));
  auto inflate = [](weft::ws::detail::Inflater& z, const Frame& f, bool reset) {
    std::string out;
    EXPECT_EQ(z.decompress(f.payload, out, 1 << 20, reset), weft::ws::detail::Inflater::Result::ok);
    return out;
  };
  std::string msg;
  for (int i = 0; i < 12; ++i)
    msg += "the same words again and again, ";
  for (int round = 0; round < 2; ++round) {
    pub.send(text("pub t " + msg));
    auto p = plain.read_data();
    ASSERT_TRUE(p);
    EXPECT_FALSE(p->rsv1);
    EXPECT_EQ(p->payload, msg);
    auto s1 = shared1.read_data(), s2 = shared2.read_data();
    ASSERT_TRUE(s1 && s2);
    EXPECT_TRUE(s1->rsv1 && s2->rsv1);
    EXPECT_EQ(s1->payload, s2->payload);  // compressed once for both
    EXPECT_LT(s1->payload.size(), msg.size());
    weft::ws::detail::Inflater fresh;
    ASSERT_TRUE(fresh.init(15));
    EXPECT_EQ(inflate(fresh, *s1, true), msg);
    auto o = own.read_data();
    ASSERT_TRUE(o);
    EXPECT_TRUE(o->rsv1);
    EXPECT_EQ(inflate(own_inflater, *o, false), msg);
    if (round == 1) {
      EXPECT_LT(o->payload.size(), s1->payload.size());  // its window remembers
    }
    auto sm = small.read_data();
    ASSERT_TRUE(sm);
    EXPECT_TRUE(sm->rsv1);
    weft::ws::detail::Inflater fresh10;
    ASSERT_TRUE(fresh10.init(10));
    EXPECT_EQ(inflate(fresh10, *sm, true), msg);
  }
  // compress=false, and a message under the threshold: plain for everyone.
  pub.send(text("pubraw t " + msg));
  pub.send(text("pub t tiny"));
  for (WsClient* w : {&plain, &shared1, &shared2, &own, &small}) {
    auto f = w->read_data();
    ASSERT_TRUE(f);
    EXPECT_FALSE(f->rsv1);
    EXPECT_EQ(f->payload, msg);
    f = w->read_data();
    ASSERT_TRUE(f);
    EXPECT_FALSE(f->rsv1);
    EXPECT_EQ(f->payload, "tiny");
  }
}

// A client-role socket (ws::connect, on the server's own loop) may
// subscribe too: what reaches it is sent masked, as every client frame must
// be. Here the published text is itself a command its peer on /t runs,
// which publishes to a second topic a raw client watches.
TEST_F(WsTopics, ClientRoleSubscribersSendMaskedFrames) {
  start();
  WsClient watcher = client("watcher"), pub = client("pub");
  EXPECT_EQ(ask(watcher, "sub relayed"), "sub true");
  std::atomic<bool> open{false};
  Behavior b;
  b.options.ping_interval_ms = 0;
  b.on_open = [&open](WebSocket& ws) {
    ws.subscribe("t");
    open = true;
  };
  ClientOptions opts;
  ASSERT_FALSE(connect(server->server(),
                       "ws://127.0.0.1:" + std::to_string(server->port()) + "/t?dialed", opts, b));
  ASSERT_TRUE(wait_until([&] { return open.load(); }));
  EXPECT_EQ(ask(pub, "count t"), "count 1");
  pub.send(text("pub t pub relayed through a client socket"));
  auto f = watcher.read_data();
  ASSERT_TRUE(f);
  EXPECT_EQ(f->payload, "through a client socket");
}

// A subscriber that never reads, under the pause policy: it misses
// messages while its queue is over cliSbufLimit, so the queue stays within
// the limit plus one message; once it reads again it gets new ones.
TEST_F(WsTopics, SlowSubscriberStaysBounded) {
  weft::Config cfg = weft::test::test_config();
  cfg.cli_sbuf_limit = 256 * 1024;
  cfg.sbuf_policy = weft::SbufPolicy::pause;
  start(cfg);
  WsClient slow = client("slow"), fast = client("fast"), pub = client("pub");
  slow.socket().set_rcvbuf(kSmallWindow);
  EXPECT_EQ(ask(slow, "sub t"), "sub true");
  EXPECT_EQ(ask(fast, "sub t"), "sub true");
  const std::size_t block = 32 * 1024;
  const std::size_t bound = cfg.cli_sbuf_limit + block + 14;

  // One at a time, the fast one reading each: it gets all of them.
  const int n = 200;  // 6.4 MB through a 256 KiB limit
  for (int i = 0; i < n; ++i) {
    pub.send(text("flood t 1 " + std::to_string(block)));
    auto f = fast.read_data();
    ASSERT_TRUE(f) << i;
    ASSERT_EQ(f->payload.size(), block);
  }
  const std::string q = ask(pub, "queued slow");
  const std::size_t queued = std::stoul(q.substr(7));
  EXPECT_GT(queued, 0u);
  EXPECT_LE(queued, bound);
  // All at once (one callback): still bounded.
  pub.send(text("flood t 200 " + std::to_string(block)));
  EXPECT_LE(std::stoul(ask(pub, "queued slow").substr(7)), bound);

  // The slow one reads everything it was sent: fewer than all of them.
  std::size_t got = 0;
  while (auto f = slow.read_data(500ms)) {
    EXPECT_EQ(f->payload.size(), block);
    ++got;
  }
  EXPECT_GT(got, 0u);
  EXPECT_LT(got, 2u * n);
  EXPECT_EQ(ask(pub, "queued slow"), "queued 0");
  pub.send(text("pub t back again"));
  auto f = slow.read_data();
  ASSERT_TRUE(f);
  EXPECT_TRUE(f->payload == "back again") << f->payload.size() << " bytes";
}

// The same slow subscriber under the close policy: dropped, not grown.
TEST_F(WsTopics, SlowSubscriberIsClosedUnderTheClosePolicy) {
  weft::Config cfg = weft::test::test_config();
  cfg.cli_sbuf_limit = 256 * 1024;
  cfg.sbuf_policy = weft::SbufPolicy::close;
  start(cfg);
  WsClient slow = client("slow"), pub = client("pub");
  slow.socket().set_rcvbuf(kSmallWindow);
  EXPECT_EQ(ask(slow, "sub t"), "sub true");
  pub.send(text("flood t 600 16384"));
  EXPECT_TRUE(wait_until([&] { return ask(pub, "count t") == "count 0"; }));
  EXPECT_TRUE(slow.wait_closed(10000ms));
}

}  // namespace
