// The HTTP/1.1 client (http::fetch) over loopback: against our own App
// (methods, headers, query, bodies both ways, a streamed chunked answer,
// https:// verified and refused), from a server with no listener, against a
// raw server's canned answers (every body framing, interim 1xx, HEAD, every
// limit, garbage, silence, a close mid-body), and the errors fetch() gives
// at once (bad URLs, header injection).
#include <gtest/gtest.h>

#include <future>
#include <memory>
#include <string>
#include <utility>

#include "test_support.hpp"
#include "tls/self_signed.hpp"
#include "weft/conn.hpp"
#include "weft/dial.hpp"
#include "weft/http.hpp"
#include "weft/server.hpp"

namespace {

using weft::http::fetch;
using weft::http::FetchOptions;
using weft::http::FetchResult;
using weft::test::TestServer;
using namespace std::chrono_literals;

// Starts a request with `start(callback)` (fetch or Client::fetch) and
// waits for its callback (on a loop thread).
template <typename Start>
FetchResult wait_for_answer(const std::string& url, Start start) {
  auto done = std::make_shared<std::promise<FetchResult>>();
  std::future<FetchResult> result = done->get_future();
  if (const std::error_code ec = start([done](FetchResult& r) { done->set_value(std::move(r)); })) {
    FetchResult r;
    r.error = ec;
    r.why = "refused at once";
    return r;
  }
  if (result.wait_for(10s) != std::future_status::ready) {
    ADD_FAILURE() << "no callback for " << url;
    return {};
  }
  return result.get();
}

FetchResult fetch_wait(weft::Server& s, const std::string& url, FetchOptions o = {}) {
  return wait_for_answer(url, [&](weft::http::FetchCallback cb) {
    return fetch(s, url, std::move(o), std::move(cb));
  });
}

std::string base(const TestServer& s, std::string_view scheme = "http",
                 std::string_view host = "127.0.0.1") {
  return std::string(scheme) + "://" + std::string(host) + ":" + std::to_string(s.port());
}

class HttpFetch : public ::testing::Test {
 protected:
  void SetUp() override {
    app.get("/hello", [](weft::http::Request& req, weft::http::Response& res) {
      res.header("X-Query", req.query()).send("Hello");
    });
    app.post("/echo", [](weft::http::Request& req, weft::http::Response& res) {
      res.header("X-Token", req.header("X-Token")).send(req.body(), "application/octet-stream");
    });
    app.put("/put", [](weft::http::Request& req, weft::http::Response& res) {
      res.status(201).send(req.method());
    });
    app.get("/stream", [](weft::http::Request&, weft::http::Response& res) {
      res.begin();  // no length: chunked
      for (int i = 0; i < 64; ++i)
        res.write(weft::test::pattern(1000, 1000u * i));
      res.end();
    });
    // Answers 50 ms later, from a timer: requests overlap for sure.
    app.get("/slow", [](weft::http::Request& req, weft::http::Response& res) {
      req.conn().loop().run_after(50ms, [ref = res.ref()] { (void)ref.send(200, "slow"); });
    });
    server = std::make_unique<TestServer>(app);
  }

  weft::http::App app;
  std::unique_ptr<TestServer> server;
};

TEST_F(HttpFetch, GetsAnAnswerWithItsHeadersAndQuery) {
  const FetchResult r = fetch_wait(server->server(), base(*server) + "/hello?a=1&b=2");
  ASSERT_FALSE(r.error) << r.why;
  EXPECT_EQ(r.response.status, 200);
  EXPECT_EQ(r.response.reason, "OK");
  EXPECT_EQ(r.response.body, "Hello");
  EXPECT_EQ(r.response.header("x-query"), "a=1&b=2");
  EXPECT_EQ(r.response.header("content-length"), "5");
  EXPECT_EQ(r.response.header("no-such-header"), "");
}

TEST_F(HttpFetch, PostsABodyWithHeaders) {
  FetchOptions o;
  o.method = "POST";
  o.headers = {{"X-Token", "secret"}};
  o.body = weft::test::pattern(300000);
  const FetchResult r = fetch_wait(server->server(), base(*server) + "/echo", o);
  ASSERT_FALSE(r.error) << r.why;
  EXPECT_EQ(r.response.status, 200);
  EXPECT_EQ(r.response.header("X-Token"), "secret");
  EXPECT_EQ(r.response.body.size(), o.body.size());
  EXPECT_EQ(r.response.body, o.body);
}

TEST_F(HttpFetch, OtherMethodsAndStatuses) {
  FetchOptions o;
  o.method = "PUT";
  FetchResult r = fetch_wait(server->server(), base(*server) + "/put", o);
  ASSERT_FALSE(r.error) << r.why;
  EXPECT_EQ(r.response.status, 201);
  EXPECT_EQ(r.response.body, "PUT");
  r = fetch_wait(server->server(), base(*server) + "/nowhere");
  ASSERT_FALSE(r.error) << r.why;
  EXPECT_EQ(r.response.status, 404);
}

TEST_F(HttpFetch, ReadsAChunkedAnswer) {
  const FetchResult r = fetch_wait(server->server(), base(*server) + "/stream");
  ASSERT_FALSE(r.error) << r.why;
  EXPECT_EQ(r.response.header("Transfer-Encoding"), "chunked");
  ASSERT_EQ(r.response.body.size(), 64000u);
  EXPECT_EQ(weft::test::pattern_mismatch(r.response.body), std::string::npos);
}

TEST_F(HttpFetch, StreamsTheBodyThroughOnBody) {
  FetchOptions o;
  o.max_body = 1000;  // not applied while streaming
  std::string got;
  int pieces = 0;
  int status = 0;
  o.on_body = [&](const weft::http::ClientResponse& head, std::string_view piece) {
    status = head.status;
    got.append(piece);
    ++pieces;
    return true;
  };
  const FetchResult r = fetch_wait(server->server(), base(*server) + "/stream", o);
  ASSERT_FALSE(r.error) << r.why;
  EXPECT_TRUE(r.response.body.empty());
  EXPECT_EQ(r.response.status, 200);
  EXPECT_EQ(status, 200);
  EXPECT_GE(pieces, 1);
  ASSERT_EQ(got.size(), 64000u);
  EXPECT_EQ(weft::test::pattern_mismatch(got), std::string::npos);
}

TEST_F(HttpFetch, OnBodyCanStopTheTransfer) {
  FetchOptions o;
  o.method = "POST";
  o.body = weft::test::pattern(3 * 1024 * 1024);
  std::size_t got = 0;
  int calls = 0;
  o.on_body = [&](const weft::http::ClientResponse&, std::string_view piece) {
    got += piece.size();
    ++calls;
    return false;
  };
  const FetchResult r = fetch_wait(server->server(), base(*server) + "/echo", o);
  EXPECT_EQ(r.error, std::make_error_code(std::errc::operation_canceled)) << r.why;
  EXPECT_EQ(r.why, "on_body stopped the transfer");
  EXPECT_EQ(calls, 1);
  EXPECT_GT(got, 0u);
  EXPECT_LT(got, o.body.size());
}

TEST_F(HttpFetch, ResolvesAHostName) {
  const FetchResult r = fetch_wait(server->server(), base(*server, "http", "localhost") + "/hello");
  ASSERT_FALSE(r.error) << r.why;
  EXPECT_EQ(r.response.body, "Hello");
}

TEST_F(HttpFetch, ManyAtOnceEachGetsItsOwnAnswer) {
  constexpr int kCount = 50;
  std::vector<std::shared_ptr<std::promise<FetchResult>>> done;
  std::vector<std::future<FetchResult>> results;
  for (int i = 0; i < kCount; ++i) {
    done.push_back(std::make_shared<std::promise<FetchResult>>());
    results.push_back(done.back()->get_future());
    ASSERT_FALSE(fetch(server->server(), base(*server) + "/hello?n=" + std::to_string(i), {},
                       [p = done.back()](FetchResult& r) { p->set_value(std::move(r)); }));
  }
  for (int i = 0; i < kCount; ++i) {
    ASSERT_EQ(results[i].wait_for(10s), std::future_status::ready);
    const FetchResult r = results[i].get();
    ASSERT_FALSE(r.error) << r.why;
    EXPECT_EQ(r.response.header("X-Query"), "n=" + std::to_string(i));
  }
  // Every connection ends with its exchange.
  EXPECT_TRUE(weft::test::wait_until([&] { return server->stats().open == 0; }));
}

TEST_F(HttpFetch, RefusedUrlsAndRequests) {
  for (const char* bad :
       {"ws://127.0.0.1:1/", "http://", "http://127.0.0.1:0/", "http://h:99999/",
        "http://user@127.0.0.1:1/", "http://[::1/", "http://a b/", "ftp://127.0.0.1/"}) {
    EXPECT_EQ(fetch(server->server(), bad, {}, [](FetchResult&) { ADD_FAILURE(); }),
              std::make_error_code(std::errc::invalid_argument))
        << bad;
  }
  FetchOptions injected;
  injected.headers = {{"X-A", "1\r\nX-B: 2"}};
  EXPECT_EQ(fetch(server->server(), base(*server) + "/hello", injected,
                  [](FetchResult&) { ADD_FAILURE(); }),
            std::make_error_code(std::errc::invalid_argument));
  FetchOptions method;
  method.method = "GE T";
  EXPECT_EQ(fetch(server->server(), base(*server) + "/hello", method,
                  [](FetchResult&) { ADD_FAILURE(); }),
            std::make_error_code(std::errc::invalid_argument));
}

TEST_F(HttpFetch, DialFailuresAreReported) {
  // A port nobody listens on: the dial's own error.
  TestServer closed(app);
  const std::string url = base(closed) + "/";
  closed.stop_and_wait();
  FetchResult r = fetch_wait(server->server(), url);
  EXPECT_TRUE(r.error == std::errc::connection_refused) << r.error.message();
  EXPECT_NE(r.why.find("could not connect to tcp://127.0.0.1:"), std::string::npos) << r.why;
  // A name that does not resolve (RFC 6761 keeps .invalid unresolvable).
  r = fetch_wait(server->server(), "http://no-such-host.invalid/");
  EXPECT_TRUE(r.error);
  EXPECT_STREQ(r.error.category().name(), "getaddrinfo") << r.why;
}

TEST(HttpFetchOutboundOnly, AServerWithoutListenersFetches) {
  weft::http::App app;
  app.get("/", [](weft::http::Request&, weft::http::Response& res) { res.send("up"); });
  TestServer upstream(app);
  weft::Config cfg = weft::test::test_config();
  cfg.listen.clear();
  weft::http::App idle;  // never sees a connection
  TestServer client(idle, cfg);
  EXPECT_TRUE(client.addresses().empty());
  const FetchResult r = fetch_wait(client.server(), base(upstream) + "/");
  ASSERT_FALSE(r.error) << r.why;
  EXPECT_EQ(r.response.body, "up");
}

TEST(HttpFetchTls, HttpsVerifiedAgainstTheCaFileAndRefusedWithout) {
  const auto cert = weft::detail::make_self_signed({"localhost", "127.0.0.1"});
  weft::http::App app;
  app.get("/secure", [](weft::http::Request&, weft::http::Response& res) { res.send("sealed"); });
  weft::Config cfg = weft::test::test_config();
  cfg.listen = {"tls://127.0.0.1:0"};
  cfg.tls.cert = {cert.cert_pem, cert.key_pem};
  TestServer s(app, cfg);

  FetchOptions o;
  weft::TlsClientOptions tls;
  tls.ca_file = cert.cert_pem;  // a self-signed certificate is its own CA
  o.tls = std::make_shared<weft::TlsClient>(tls);
  FetchResult r = fetch_wait(s.server(), base(s, "https", "localhost") + "/secure", o);
  ASSERT_FALSE(r.error) << r.why;
  EXPECT_EQ(r.response.body, "sealed");

  // The system store does not know this certificate.
  r = fetch_wait(s.server(), base(s, "https", "localhost") + "/secure");
  EXPECT_TRUE(r.error);
  EXPECT_TRUE(r.response.body.empty());
}

// A raw server: answers the first request head with `answer` (nothing if
// empty), then closes if `close_after`.
class CannedServer final : public weft::Handler {
 public:
  CannedServer(std::string answer, bool close_after)
      : answer_(std::move(answer)), close_after_(close_after) {}
  std::size_t on_data(weft::Conn& c, weft::Bytes in) override {
    if (answered_) return in.size();
    if (in.find("\r\n\r\n") == weft::Bytes::npos) return 0;
    answered_ = true;
    if (!answer_.empty()) c.write(answer_);
    if (close_after_) c.close();
    return in.size();
  }
  weft::Action on_open(weft::Conn&) override {
    answered_ = false;
    return weft::Action::none;
  }

 private:
  std::string answer_;
  bool close_after_;
  bool answered_ = false;
};

FetchResult canned(const std::string& answer, bool close_after, FetchOptions o = {}) {
  CannedServer handler(answer, close_after);
  TestServer s(handler);
  if (o.timeout == FetchOptions{}.timeout) o.timeout = 3s;
  return fetch_wait(s.server(), base(s) + "/", o);
}

TEST(HttpFetchFraming, EveryWayABodyCanEnd) {
  FetchResult r = canned("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", false);
  ASSERT_FALSE(r.error) << r.why;
  EXPECT_EQ(r.response.body, "hello");

  r = canned(
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
      "3;ext=1\r\nabc\r\n2\r\nde\r\n0\r\nX-Trailer: t\r\n\r\n",
      false);
  ASSERT_FALSE(r.error) << r.why;
  EXPECT_EQ(r.response.body, "abcde");

  // No length: the body ends when the server closes (HTTP/1.0 style).
  r = canned("HTTP/1.0 200 OK\r\nServer: old\r\n\r\nuntil the end", true);
  ASSERT_FALSE(r.error) << r.why;
  EXPECT_EQ(r.response.body, "until the end");

  // 204 and 304 have no body whatever they say.
  r = canned("HTTP/1.1 204 No Content\r\n\r\n", false);
  ASSERT_FALSE(r.error) << r.why;
  EXPECT_EQ(r.response.status, 204);
}

TEST(HttpFetchFraming, HeadAnswersHaveNoBody) {
  FetchOptions o;
  o.method = "HEAD";
  // The server stays open: the client must not wait for 5 bytes.
  const FetchResult r = canned("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", false, o);
  ASSERT_FALSE(r.error) << r.why;
  EXPECT_EQ(r.response.header("Content-Length"), "5");
  EXPECT_TRUE(r.response.body.empty());
}

TEST(HttpFetchFraming, InterimAnswersAreSkipped) {
  const FetchResult r = canned(
      "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\n"
      "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
      false);
  ASSERT_FALSE(r.error) << r.why;
  EXPECT_EQ(r.response.status, 200);
  EXPECT_EQ(r.response.body, "ok");
  EXPECT_EQ(r.response.header("Link"), "");
}

TEST(HttpFetchErrors, BadAnswersEndTheExchange) {
  const auto protocol = std::make_error_code(std::errc::protocol_error);
  FetchResult r = canned("SSH-2.0-OpenSSH_9.2\r\n\r\n", false);
  EXPECT_EQ(r.error, protocol) << r.why;
  EXPECT_EQ(r.why.rfind("not an HTTP/1.x answer: ", 0), 0u) << r.why;

  r = canned("HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\n\r\n", false);
  EXPECT_EQ(r.error, protocol) << r.why;

  r = canned("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nx", false);
  EXPECT_EQ(r.error, protocol) << r.why;

  r = canned("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", false);
  EXPECT_EQ(r.error, protocol) << r.why;
  EXPECT_EQ(r.why, "bad chunked framing in the answer");
}

TEST(HttpFetchErrors, LimitsHold) {
  const auto too_large = std::make_error_code(std::errc::message_size);
  FetchOptions o;
  o.max_body = 10;
  FetchResult r = canned("HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\n01234567890", false, o);
  EXPECT_EQ(r.error, too_large) << r.why;
  EXPECT_TRUE(r.response.body.empty());
  r = canned(
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: "
      "chunked\r\n\r\n6\r\nabcdef\r\n6\r\nghijkl\r\n0\r\n\r\n",
      false, o);
  EXPECT_EQ(r.error, too_large) << r.why;
  r = canned("HTTP/1.0 200 OK\r\n\r\n" + std::string(11, 'x'), true, o);
  EXPECT_EQ(r.error, too_large) << r.why;

  FetchOptions head;
  head.max_head_bytes = 1024;
  r = canned("HTTP/1.1 200 OK\r\nX-Long: " + std::string(2000, 'v') + "\r\n\r\n", false, head);
  EXPECT_EQ(r.error, too_large) << r.why;
  head.max_headers = 2;
  r = canned("HTTP/1.1 200 OK\r\nA: 1\r\nB: 2\r\nC: 3\r\nContent-Length: 0\r\n\r\n", false, head);
  EXPECT_EQ(r.error, too_large) << r.why;
}

TEST(HttpFetchErrors, SilenceAndEarlyCloses) {
  FetchOptions quick;
  quick.timeout = 150ms;
  FetchResult r = canned("", false, quick);
  EXPECT_EQ(r.error, std::make_error_code(std::errc::timed_out)) << r.why;
  EXPECT_EQ(r.why, "no complete answer in time");

  r = canned("", true);
  EXPECT_TRUE(r.error);
  EXPECT_EQ(r.why, "the connection closed before an answer");

  r = canned("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly part", true);
  EXPECT_TRUE(r.error);
  EXPECT_EQ(r.why, "the connection closed in the middle of the body");
  EXPECT_EQ(r.response.status, 200);  // what did arrive is kept
}

}  // namespace

// ---- http::Client: connections kept between requests ----------------------

FetchResult client_wait(weft::http::Client& client, const std::string& url, FetchOptions o = {}) {
  return wait_for_answer(url, [&](weft::http::FetchCallback cb) {
    return client.fetch(url, std::move(o), std::move(cb));
  });
}

TEST_F(HttpFetch, AClientReusesItsConnection) {
  weft::http::Client client(server->server());
  for (int i = 0; i < 10; ++i) {
    const FetchResult r = client_wait(client, base(*server) + "/hello?i=" + std::to_string(i));
    ASSERT_FALSE(r.error) << r.why;
    EXPECT_EQ(r.response.header("X-Query"), "i=" + std::to_string(i));
    EXPECT_EQ(r.response.header("Connection"), "");  // no Connection: close asked
  }
  FetchOptions post;
  post.method = "POST";
  post.body = weft::test::pattern(100000);
  const FetchResult r = client_wait(client, base(*server) + "/echo", post);
  ASSERT_FALSE(r.error) << r.why;
  EXPECT_EQ(r.response.body, post.body);
  EXPECT_EQ(client.connections_opened(), 1u);
  EXPECT_EQ(client.idle_connections(), 1u);
}

TEST_F(HttpFetch, AClientKeepsNoMoreIdleThanAllowed) {
  weft::http::PoolOptions limits;
  limits.max_idle_per_origin = 3;
  weft::http::Client client(server->server(), limits);
  constexpr int kCount = 10;
  std::vector<std::shared_ptr<std::promise<FetchResult>>> done;
  std::vector<std::future<FetchResult>> results;
  for (int i = 0; i < kCount; ++i) {
    done.push_back(std::make_shared<std::promise<FetchResult>>());
    results.push_back(done.back()->get_future());
    ASSERT_FALSE(client.fetch(base(*server) + "/slow", {},
                              [p = done.back()](FetchResult& r) { p->set_value(std::move(r)); }));
  }
  for (auto& f : results) {
    ASSERT_EQ(f.wait_for(10s), std::future_status::ready);
    const FetchResult r = f.get();
    ASSERT_FALSE(r.error) << r.why;
    EXPECT_EQ(r.response.body, "slow");
  }
  EXPECT_EQ(client.connections_opened(), static_cast<std::uint64_t>(kCount));
  EXPECT_EQ(client.idle_connections(), 3u);
  // The server sees the ones over the limit closed.
  EXPECT_TRUE(weft::test::wait_until([&] { return server->stats().open == 6; }));
}

TEST_F(HttpFetch, IdleConnectionsCloseAfterTheTimeoutAndWithTheClient) {
  weft::http::PoolOptions quick;
  quick.idle_timeout = 100ms;
  {
    weft::http::Client client(server->server(), quick);
    ASSERT_FALSE(client_wait(client, base(*server) + "/hello").error);
    EXPECT_EQ(client.idle_connections(), 1u);
    EXPECT_TRUE(weft::test::wait_until([&] { return client.idle_connections() == 0; }));
    EXPECT_TRUE(weft::test::wait_until([&] { return server->stats().open == 0; }));
  }
  {
    weft::http::Client client(server->server());
    ASSERT_FALSE(client_wait(client, base(*server) + "/hello").error);
    EXPECT_EQ(server->stats().open, 2u);  // both ends, on the same server
  }
  EXPECT_TRUE(weft::test::wait_until([&] { return server->stats().open == 0; }));
}

TEST_F(HttpFetch, AClientRefusesWhatFetchRefuses) {
  weft::http::Client client(server->server());
  EXPECT_EQ(client.fetch("ftp://127.0.0.1/", {}, [](FetchResult&) { ADD_FAILURE(); }),
            std::make_error_code(std::errc::invalid_argument));
  FetchOptions far;
  far.loop = 7;  // the test server has one loop
  EXPECT_EQ(client.fetch(base(*server) + "/hello", far, [](FetchResult&) { ADD_FAILURE(); }),
            std::make_error_code(std::errc::invalid_argument));
}

// A keep-alive server that answers the first request on each connection and
// closes the connection at the second without answering: what a server
// closing an idle connection looks like when the request crosses the close.
class FirstRequestOnly final : public weft::Handler {
 public:
  std::size_t on_data(weft::Conn& c, weft::Bytes in) override {
    const std::size_t end = in.find("\r\n\r\n");
    if (end == weft::Bytes::npos) return 0;
    if (c.context() != nullptr) {
      c.close();
      return in.size();
    }
    c.set_context(this);
    c.write("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfirst");
    return in.size();
  }
};

TEST(HttpClientPool, AnIdempotentRequestCrossingACloseIsSentAgain) {
  FirstRequestOnly handler;
  TestServer s(handler);
  weft::http::Client client(s.server());
  ASSERT_FALSE(client_wait(client, base(s) + "/").error);
  const FetchResult r = client_wait(client, base(s) + "/again");
  ASSERT_FALSE(r.error) << r.why;
  EXPECT_EQ(r.response.body, "first");  // from a second connection
  EXPECT_EQ(client.connections_opened(), 2u);

  // POST may have had an effect: it is not sent twice.
  FetchOptions post;
  post.method = "POST";
  post.body = "x";
  const FetchResult p = client_wait(client, base(s) + "/", post);
  EXPECT_TRUE(p.error);
  EXPECT_EQ(p.why, "the connection closed before an answer");
  EXPECT_EQ(client.connections_opened(), 2u);
}

TEST(HttpClientPool, AnswersThatEndTheConnectionAreNotReused) {
  CannedServer closing("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok",
                       false);
  TestServer s(closing);
  weft::http::Client client(s.server());
  for (int i = 0; i < 3; ++i) {
    const FetchResult r = client_wait(client, base(s) + "/");
    ASSERT_FALSE(r.error) << r.why;
    EXPECT_EQ(r.response.body, "ok");
  }
  EXPECT_EQ(client.connections_opened(), 3u);
  EXPECT_EQ(client.idle_connections(), 0u);
}
