// weft::http::App end to end over loopback, with raw client sockets (the
// exact bytes on the wire) and a small response parser of the test's own:
// keep-alive, pipelining and response order (also with asynchronous and
// cross-thread answers), bodies (Content-Length, chunked, split at every
// byte), 100-continue, streaming responses and uploads, head limits,
// slowloris, request smuggling defences, clients that abort mid-body, the
// router's 404/405/params, and every descriptor given back afterwards.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "test_support.hpp"
#include "weft/conn.hpp"
#include "weft/error.hpp"
#include "weft/http.hpp"
#include "weft/loop.hpp"

namespace {

using namespace weft::test;
using namespace std::string_literals;
using weft::Conn;
using weft::http::App;
using weft::http::Options;
using weft::http::Request;
using weft::http::Response;
using SteadyClock = std::chrono::steady_clock;

constexpr std::size_t kKiB = 1024;
constexpr std::size_t kMiB = 1024 * 1024;

// --- responses as the client sees them ---------------------------------------------

bool iequal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; };
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

// Bytes made printable for failure messages.
std::string printable(std::string_view s, std::size_t max = 400) {
  std::string out;
  for (char c : s.substr(0, max)) {
    if (c == '\r') {
      out += "\\r";
    } else if (c == '\n') {
      out += "\\n";
    } else if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      out += "\\x" + std::to_string(static_cast<unsigned char>(c));
    } else {
      out += c;
    }
  }
  if (s.size() > max) out += "...(" + std::to_string(s.size()) + " bytes)";
  return out;
}

struct Reply {
  std::string version;  // "HTTP/1.1"
  int status = 0;
  std::string reason;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  bool chunked = false;  // the body came chunked
  std::size_t chunks = 0;

  std::string header(std::string_view name) const {
    for (const auto& [k, v] : headers) {
      if (iequal(k, name)) return v;
    }
    return {};
  }
  bool has(std::string_view name) const {
    for (const auto& h : headers) {
      if (iequal(h.first, name)) return true;
    }
    return false;
  }
  std::size_t count(std::string_view name) const {
    std::size_t n = 0;
    for (const auto& h : headers)
      n += iequal(h.first, name) ? 1 : 0;
    return n;
  }
};

enum class Parsed { ok, incomplete, bad };

// Parses one response from the start of `in`. `head_only`: the answer to a
// HEAD (no body whatever the headers say). `eof`: the peer has closed (a
// body with neither length nor chunked ends there). Strict: a response
// weft should never send is `bad`, with `why` set.
Parsed parse_reply(std::string_view in, bool head_only, bool eof, Reply& out, std::size_t& used,
                   std::string& why) {
  const auto end = in.find("\r\n\r\n");
  if (end == std::string_view::npos) return Parsed::incomplete;
  std::string_view head = in.substr(0, end + 2);
  auto line_end = head.find("\r\n");
  std::string_view status_line = head.substr(0, line_end);
  head.remove_prefix(line_end + 2);
  // HTTP/1.x SP 3DIGIT [SP reason]
  if (status_line.size() < 12 || !status_line.starts_with("HTTP/1.") || status_line[8] != ' ' ||
      (status_line.size() > 12 && status_line[12] != ' ')) {
    why = "bad status line";
    return Parsed::bad;
  }
  out = Reply{};
  out.version = std::string(status_line.substr(0, 8));
  for (std::size_t i = 9; i < 12; ++i) {
    if (status_line[i] < '0' || status_line[i] > '9') {
      why = "bad status code";
      return Parsed::bad;
    }
    out.status = out.status * 10 + (status_line[i] - '0');
  }
  if (status_line.size() > 13) out.reason = std::string(status_line.substr(13));
  while (!head.empty()) {
    line_end = head.find("\r\n");
    std::string_view line = head.substr(0, line_end);
    head.remove_prefix(line_end + 2);
    auto colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0 ||
        line.find('\n') != std::string_view::npos || line.find('\r') != std::string_view::npos ||
        line[colon - 1] == ' ') {
      why = "bad header line '" + std::string(line) + "'";
      return Parsed::bad;
    }
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t'))
      value.remove_prefix(1);
    while (!value.empty() && (value.back() == ' ' || value.back() == '\t'))
      value.remove_suffix(1);
    out.headers.emplace_back(std::string(line.substr(0, colon)), std::string(value));
  }
  std::size_t pos = end + 4;
  const bool no_body = head_only || out.status < 200 || out.status == 204 || out.status == 304;
  if (out.count("Content-Length") > 1 ||
      (out.has("Content-Length") && out.has("Transfer-Encoding"))) {
    why = "ambiguous framing";
    return Parsed::bad;
  }
  if (no_body) {
    used = pos;
    return Parsed::ok;
  }
  if (iequal(out.header("Transfer-Encoding"), "chunked")) {
    out.chunked = true;
    for (;;) {
      auto eol = in.find("\r\n", pos);
      if (eol == std::string_view::npos) return Parsed::incomplete;
      std::string_view size_line = in.substr(pos, eol - pos);
      std::uint64_t size = 0;
      if (size_line.empty() || size_line.size() > 15) {
        why = "bad chunk size line";
        return Parsed::bad;
      }
      for (char c : size_line) {
        int d = c >= '0' && c <= '9'   ? c - '0'
                : c >= 'a' && c <= 'f' ? c - 'a' + 10
                : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                       : -1;
        if (d < 0) {
          why = "bad chunk size '" + std::string(size_line) + "'";
          return Parsed::bad;
        }
        size = size * 16 + static_cast<std::uint64_t>(d);
      }
      pos = eol + 2;
      if (size == 0) {
        if (in.size() < pos + 2) return Parsed::incomplete;
        if (in.substr(pos, 2) != "\r\n") {
          why = "trailers or garbage after the last chunk";
          return Parsed::bad;
        }
        used = pos + 2;
        return Parsed::ok;
      }
      if (in.size() < pos + size + 2) return Parsed::incomplete;
      out.body.append(in.substr(pos, size));
      ++out.chunks;
      if (in.substr(pos + size, 2) != "\r\n") {
        why = "no CRLF after chunk data";
        return Parsed::bad;
      }
      pos += size + 2;
    }
  }
  if (out.has("Transfer-Encoding")) {
    why = "unexpected Transfer-Encoding";
    return Parsed::bad;
  }
  if (out.has("Content-Length")) {
    std::uint64_t n = 0;
    const std::string v = out.header("Content-Length");
    if (v.empty() || v.size() > 15 || v.find_first_not_of("0123456789") != std::string::npos) {
      why = "bad Content-Length";
      return Parsed::bad;
    }
    n = std::stoull(v);
    if (in.size() - pos < n) return Parsed::incomplete;
    out.body = std::string(in.substr(pos, n));
    used = pos + n;
    return Parsed::ok;
  }
  // Delimited by close (HTTP/1.0 streaming).
  if (!eof) return Parsed::incomplete;
  out.body = std::string(in.substr(pos));
  used = in.size();
  return Parsed::ok;
}

// An IMF-fixdate (RFC 9110 §5.6.7): "Sun, 06 Nov 1994 08:49:37 GMT".
bool imf_fixdate(std::string_view d) {
  constexpr std::string_view kForm = "Www, 00 Mmm 0000 00:00:00 GMT";
  constexpr std::string_view kDays = "Mon Tue Wed Thu Fri Sat Sun";
  constexpr std::string_view kMonths = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec";
  if (d.size() != kForm.size()) return false;
  for (std::size_t i = 0; i < d.size(); ++i) {
    if (kForm[i] == '0' ? d[i] < '0' || d[i] > '9'
                        : std::string_view("WwMm").find(kForm[i]) == std::string_view::npos &&
                              d[i] != kForm[i]) {
      return false;
    }
  }
  const auto day = kDays.find(d.substr(0, 3));
  const auto month = kMonths.find(d.substr(8, 3));
  return d.ends_with(" GMT") && day != std::string_view::npos && day % 4 == 0 &&
         month != std::string_view::npos && month % 4 == 0;
}

// A raw client connection with a receive buffer and the parser above.
class Wire {
 public:
  explicit Wire(std::uint16_t port) : c_(Client::tcp(port)) { c_.set_nodelay(true); }

  bool send(std::string_view s) { return c_.send_all(s) == s.size(); }

  /// The next response (1xx included), or nullopt on timeout or close
  /// before it was complete (a malformed response fails the test).
  std::optional<Reply> read(Ms timeout = 5s, bool head_only = false) {
    const auto deadline = SteadyClock::now() + timeout;
    for (;;) {
      Reply r;
      std::size_t used = 0;
      std::string why;
      Parsed p = parse_reply(buf_, head_only, c_.peer_closed(), r, used, why);
      if (p == Parsed::ok) {
        buf_.erase(0, used);
        return r;
      }
      if (p == Parsed::bad) {
        ADD_FAILURE() << "malformed response (" << why << "): " << printable(buf_);
        return std::nullopt;
      }
      if (c_.peer_closed()) return std::nullopt;
      const auto left = std::chrono::duration_cast<Ms>(deadline - SteadyClock::now());
      if (left.count() <= 0) return std::nullopt;
      std::string got = c_.recv_some(256 * kKiB, left);
      if (got.empty() && !c_.peer_closed()) return std::nullopt;  // timed out
      buf_ += got;
    }
  }
  /// The next final (non-1xx) response.
  std::optional<Reply> read_final(Ms timeout = 5s, bool head_only = false) {
    for (;;) {
      auto r = read(timeout, head_only);
      if (!r || r->status >= 200) return r;
    }
  }
  /// Waits for the server to close; true when it did and sent nothing
  /// more (what it sent anyway stays in buffer()).
  bool closed_with_nothing_more(Ms timeout = 3s) {
    buf_ += c_.recv_until_eof(timeout);
    return c_.peer_closed() && buf_.empty();
  }
  /// Whether anything (or a close) arrives within `timeout`.
  bool quiet_for(Ms timeout) {
    std::string got = c_.recv_some(65536, timeout);
    buf_ += got;
    return got.empty() && !c_.peer_closed();
  }
  std::string& buffer() noexcept { return buf_; }
  Client& client() noexcept { return c_; }

 private:
  Client c_;
  std::string buf_;
};

std::string get(std::string_view target, std::string_view extra = "") {
  return "GET "s.append(target) + " HTTP/1.1\r\nHost: test\r\n" + std::string(extra) + "\r\n";
}
std::string post(std::string_view target, std::string_view body, std::string_view extra = "") {
  return "POST "s.append(target) +
         " HTTP/1.1\r\nHost: test\r\nContent-Length: " + std::to_string(body.size()) + "\r\n" +
         std::string(extra) + "\r\n" + std::string(body);
}
// `data` in the chunked coding, `piece` bytes per chunk.
std::string chunked(std::string_view data, std::size_t piece) {
  std::string out;
  char size[32];
  for (std::size_t i = 0; i < data.size(); i += piece) {
    auto part = data.substr(i, piece);
    std::snprintf(size, sizeof size, "%zx\r\n", part.size());
    out.append(size).append(part).append("\r\n");
  }
  return out + "0\r\n\r\n";
}

// --- the application under test -----------------------------------------------

struct Upload {
  std::uint64_t bytes = 0;
  std::uint64_t pieces = 0;
  bool corrupt = false;
};

class TestApp : public App {
 public:
  explicit TestApp(Options opts) : App(std::move(opts)) {
    get("/", [](Request&, Response& res) { res.send("Hello, World!"); });
    get("/n/:id",
        [](Request& req, Response& res) { res.send("n=" + std::string(req.param("id"))); });
    get("/q", [](Request& req, Response& res) { res.send("q=" + std::string(req.query())); });
    get("/users/:id/posts/:post", [](Request& req, Response& res) {
      res.send("user=" + std::string(req.param("id")) + " post=" + std::string(req.param("post")));
    });
    get("/files/*",
        [](Request& req, Response& res) { res.send("rest=" + std::string(req.param("*"))); });
    put("/only", [](Request&, Response& res) { res.send("put"); });
    del("/only", [](Request&, Response& res) { res.send("deleted"); });
    post("/echo", [](Request& req, Response& res) {
      res.header("X-Body-Bytes", std::to_string(req.body().size()));
      res.send(req.body(), "application/octet-stream");
    });
    get("/version", [](Request& req, Response& res) {
      res.send("1." + std::to_string(req.version_minor()) +
               (req.keep_alive() ? " keep-alive" : " close"));
    });
    // Answers from a loop timer after :ms milliseconds.
    get("/async/:id/:ms", [](Request& req, Response& res) {
      Response::Ref ref = res.ref();
      std::string id(req.param("id"));
      const int ms = std::stoi(std::string(req.param("ms")));
      req.conn().loop().run_after(weft::Millis{ms},
                                  [ref, id] { (void)ref.send(200, "async=" + id); });
    });
    // Left open: the test answers through the Ref (any thread) or never.
    get("/held/:id", [this](Request& req, Response& res) {
      std::lock_guard lock(mu_);
      held_.emplace_back(std::string(req.param("id")), res.ref());
    });
    get("/stream/chunked", [](Request&, Response& res) {
      res.header("X-Streamed", "yes");
      res.begin(std::nullopt, "text/plain");
      EXPECT_TRUE(res.write("alpha"));
      EXPECT_TRUE(res.write(std::string(10000, 'b')));  // over 4 KiB: written uncopied
      EXPECT_TRUE(res.write("gamma"));
      res.end();
    });
    get("/stream/length", [](Request&, Response& res) {
      res.begin(15, "text/plain");
      res.write("alpha");
      res.write("-beta");
      res.write("-gamm");
      res.end();
    });
    // Counts a streamed body, checks it against the test pattern, answers at the end.
    stream("POST", "/upload", [this](Request& req, Response& res) {
      auto up = std::make_shared<Upload>();
      uploads_started_.fetch_add(1);
      req.on_body([this, up, &res](std::string_view data, bool last) {
        if (!data.empty()) {
          if (pattern_mismatch(data, up->bytes) != std::string::npos) up->corrupt = true;
          up->bytes += data.size();
          ++up->pieces;
        }
        if (last) {
          {
            std::lock_guard lock(mu_);
            last_upload_ = *up;
          }
          uploads_finished_.fetch_add(1);
          res.send(up->corrupt ? 422 : 200, "bytes=" + std::to_string(up->bytes));
        }
      });
    });
  }

  void on_close(Conn& c, std::error_code why) override {
    App::on_close(c, why);
    closes_.fetch_add(1);
  }

  int closes() const { return closes_.load(); }
  std::size_t held_count() {
    std::lock_guard lock(mu_);
    return held_.size();
  }
  std::vector<std::pair<std::string, Response::Ref>> take_held() {
    std::lock_guard lock(mu_);
    return std::exchange(held_, {});
  }
  Upload last_upload() {
    std::lock_guard lock(mu_);
    return last_upload_;
  }
  int uploads_started() const { return uploads_started_.load(); }
  int uploads_finished() const { return uploads_finished_.load(); }

 private:
  std::atomic<int> closes_{0};
  std::atomic<int> uploads_started_{0};
  std::atomic<int> uploads_finished_{0};
  std::mutex mu_;
  std::vector<std::pair<std::string, Response::Ref>> held_;
  Upload last_upload_;
};

// Small limits, so that the limit tests need few bytes.
Options small_options() {
  Options o;
  o.max_request_line = 1024;
  o.max_head_bytes = 4096;
  o.max_headers = 16;
  o.max_body = 64 * kKiB;
  o.header_timeout_ms = 3000;
  return o;
}

// Every test runs its own server and must give back every descriptor.
class HttpServerTest : public ::testing::Test {
 protected:
  void SetUp() override { fd_base_ = count_open_fds(); }
  void TearDown() override {
    server_.reset();
    app_.reset();
    EXPECT_TRUE(wait_until([&] { return count_open_fds() == fd_base_; }, 3s))
        << count_open_fds() << " descriptors open, " << fd_base_ << " before the test";
  }

  TestApp& start(Options opts = small_options()) {
    app_ = std::make_unique<TestApp>(std::move(opts));
    weft::Config cfg = test_config();
    cfg.pkt_size_limit = std::max<std::size_t>(cfg.pkt_size_limit, 2 * app_->options().max_body);
    server_ = std::make_unique<TestServer>(*app_, cfg);
    return *app_;
  }
  Wire connect() { return Wire(server_->port()); }

  std::unique_ptr<TestApp> app_;
  std::unique_ptr<TestServer> server_;
  int fd_base_ = 0;
};

// Asserts that `w` gets exactly one answer with `status` and is then
// closed, nothing answered after it.
void expect_rejected(Wire& w, int status, const std::string& what) {
  auto r = w.read_final(3s);
  ASSERT_TRUE(r) << what << ": no response; got " << printable(w.buffer());
  EXPECT_EQ(r->status, status) << what << ": " << r->reason << " / " << printable(r->body);
  EXPECT_EQ(r->header("Connection"), "close") << what;
  EXPECT_TRUE(w.closed_with_nothing_more(3s))
      << what << ": still open, or answered more: " << printable(w.buffer());
}

// --- basics -------------------------------------------------------------------

TEST_F(HttpServerTest, GetRootHasDateContentLengthAndServer) {
  start();
  Wire w = connect();
  ASSERT_TRUE(w.send(get("/")));
  auto r = w.read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->version, "HTTP/1.1");
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->reason, "OK");
  EXPECT_EQ(r->body, "Hello, World!");
  EXPECT_EQ(r->header("Content-Length"), "13");
  EXPECT_EQ(r->header("Content-Type"), "text/plain; charset=utf-8");
  EXPECT_EQ(r->header("Server"), "weft");
  EXPECT_TRUE(imf_fixdate(r->header("Date"))) << r->header("Date");
  EXPECT_FALSE(r->has("Connection"));  // HTTP/1.1 keep-alive is the default
  EXPECT_EQ(r->count("Date"), 1u);
  // Still open: a second request on the same connection.
  ASSERT_TRUE(w.send(get("/n/2")));
  auto r2 = w.read();
  ASSERT_TRUE(r2);
  EXPECT_EQ(r2->body, "n=2");
}

TEST_F(HttpServerTest, ServerNameOptionAndLeadingEmptyLines) {
  Options o = small_options();
  o.server_name = "";
  start(o);
  Wire w = connect();
  ASSERT_TRUE(w.send("\r\n\r\n" + get("/")));  // RFC 9112 §2.2: empty lines first are ignored
  auto r = w.read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_FALSE(r->has("Server"));
}

TEST_F(HttpServerTest, ThousandRequestsOnOneConnection) {
  TestApp& app = start();
  Wire w = connect();
  for (int i = 0; i < 1000; ++i) {
    ASSERT_TRUE(w.send(get("/n/" + std::to_string(i))));
    auto r = w.read();
    ASSERT_TRUE(r) << "request " << i;
    ASSERT_EQ(r->status, 200) << "request " << i;
    ASSERT_EQ(r->body, "n=" + std::to_string(i));
  }
  EXPECT_EQ(app.closes(), 0);
  EXPECT_EQ(server_->stats().accepted, 1u);
}

TEST_F(HttpServerTest, SixteenPipelinedRequestsAnsweredInOrder) {
  start();
  Wire w = connect();
  std::string batch;
  for (int i = 0; i < 16; ++i)
    batch += get("/n/" + std::to_string(i));
  ASSERT_TRUE(w.send(batch));
  for (int i = 0; i < 16; ++i) {
    auto r = w.read();
    ASSERT_TRUE(r) << "response " << i;
    EXPECT_EQ(r->body, "n=" + std::to_string(i));
  }
  EXPECT_TRUE(w.quiet_for(100ms)) << printable(w.buffer());
  // Mixed with bodies and a HEAD in between.
  ASSERT_TRUE(w.send(post("/echo", "abc") + "HEAD / HTTP/1.1\r\nHost: t\r\n\r\n" + get("/n/x") +
                     post("/echo", "")));
  auto a = w.read();
  auto b = w.read(5s, /*head_only=*/true);
  auto c = w.read();
  auto d = w.read();
  ASSERT_TRUE(a && b && c && d);
  EXPECT_EQ(a->body, "abc");
  EXPECT_EQ(b->header("Content-Length"), "13");
  EXPECT_EQ(c->body, "n=x");
  EXPECT_EQ(d->body, "");
  EXPECT_EQ(d->header("Content-Length"), "0");
}

// --- asynchronous answers ------------------------------------------------------

TEST_F(HttpServerTest, AsyncAnswerFromLoopTimerKeepsRequestOrder) {
  start();
  Wire w = connect();
  const auto t0 = SteadyClock::now();
  ASSERT_TRUE(
      w.send(get("/async/0/200") + get("/n/1") + get("/n/2") + get("/async/3/50") + get("/n/4")));
  // Nothing may leave before the slow first answer.
  EXPECT_TRUE(w.quiet_for(120ms)) << "answered before the first response: "
                                  << printable(w.buffer());
  const char* want[] = {"async=0", "n=1", "n=2", "async=3", "n=4"};
  for (const char* body : want) {
    auto r = w.read();
    ASSERT_TRUE(r) << body;
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->body, body);
  }
  EXPECT_GE(SteadyClock::now() - t0, 190ms);
  // The connection goes on.
  ASSERT_TRUE(w.send(get("/n/5")));
  auto r = w.read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "n=5");
}

TEST_F(HttpServerTest, RefAnsweredFromAnotherThreadInRequestOrder) {
  TestApp& app = start();
  Wire w = connect();
  ASSERT_TRUE(w.send(get("/held/a") + get("/held/b") + get("/n/c")));
  ASSERT_TRUE(wait_until([&] { return app.held_count() == 2; }, 3s));
  EXPECT_TRUE(w.quiet_for(50ms));
  auto held = app.take_held();
  ASSERT_EQ(held.size(), 2u);
  EXPECT_TRUE(held[0].second.alive());
  std::error_code ec_b, ec_a;
  // The later response first, then the earlier one, from a thread that is not a loop.
  std::thread answerer([&] {
    ec_b = held[1].second.send(201, "thread=" + held[1].first);
    std::this_thread::sleep_for(50ms);
    ec_a = held[0].second.send(202, "thread=" + held[0].first, "text/x-test");
  });
  answerer.join();
  EXPECT_FALSE(ec_a) << ec_a.message();
  EXPECT_FALSE(ec_b) << ec_b.message();
  auto a = w.read();
  auto b = w.read();
  auto c = w.read();
  ASSERT_TRUE(a && b && c);
  EXPECT_EQ(a->status, 202);
  EXPECT_EQ(a->body, "thread=a");
  EXPECT_EQ(a->header("Content-Type"), "text/x-test");
  EXPECT_EQ(b->status, 201);
  EXPECT_EQ(b->body, "thread=b");
  EXPECT_EQ(c->body, "n=c");
  // A Ref answers once: a second send adds nothing to the stream.
  (void)held[0].second.send(500, "again");
  ASSERT_TRUE(w.send(get("/n/d")));
  auto d = w.read();
  ASSERT_TRUE(d);
  EXPECT_EQ(d->body, "n=d");
  EXPECT_TRUE(w.quiet_for(50ms)) << printable(w.buffer());
}

TEST_F(HttpServerTest, RefAnswerGivesTheWholeResponseOnItsLoop) {
  TestApp& app = start();
  Wire w = connect();
  ASSERT_TRUE(w.send(get("/held/h") + get("/n/after")));
  ASSERT_TRUE(wait_until([&] { return app.held_count() == 1; }, 3s));
  auto held = app.take_held();
  std::atomic<bool> ran{false};
  std::error_code ec;
  std::thread answerer([&] {
    ec = held[0].second.answer([&ran](Response& res) {
      ran = true;
      res.status(203).header("X-From", "answer").send("with headers", "text/x-test");
    });
  });
  answerer.join();
  EXPECT_FALSE(ec) << ec.message();
  auto a = w.read();
  auto b = w.read();
  ASSERT_TRUE(a && b);
  EXPECT_TRUE(ran.load());
  EXPECT_EQ(a->status, 203);
  EXPECT_EQ(a->header("X-From"), "answer");
  EXPECT_EQ(a->header("Content-Type"), "text/x-test");
  EXPECT_EQ(a->body, "with headers");
  EXPECT_EQ(b->body, "n=after");
  // Answered: a second answer() finds no response and runs nothing.
  std::atomic<bool> again{false};
  (void)held[0].second.answer([&again](Response&) { again = true; });
  ASSERT_TRUE(w.send(get("/n/last")));
  auto c = w.read();
  ASSERT_TRUE(c);
  EXPECT_EQ(c->body, "n=last");
  EXPECT_FALSE(again.load());
}

TEST_F(HttpServerTest, RefAfterClientClosedIsHarmless) {
  TestApp& app = start();
  {
    Wire w = connect();
    ASSERT_TRUE(w.send(get("/held/gone")));
    ASSERT_TRUE(wait_until([&] { return app.held_count() == 1; }, 3s));
    // A loop timer that fires after the close as well.
    ASSERT_TRUE(w.send(get("/async/late/150")));
  }
  ASSERT_TRUE(wait_until([&] { return app.closes() == 1; }, 3s));
  auto held = app.take_held();
  ASSERT_EQ(held.size(), 1u);
  EXPECT_FALSE(held[0].second.alive());
  std::error_code ec;
  std::thread t([&] { ec = held[0].second.send(200, "too late"); });
  t.join();
  EXPECT_EQ(ec, weft::errc::conn_gone) << ec.message();  // (a no-op would be fine too)
  std::this_thread::sleep_for(250ms);                    // the timer of /async/late has fired
  // A default Ref is harmless as well.
  EXPECT_FALSE(Response::Ref().alive());
  (void)Response::Ref().send(200, "nobody");
  // The server goes on.
  Wire w2 = connect();
  ASSERT_TRUE(w2.send(get("/")));
  auto r = w2.read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
}

// --- connection management ------------------------------------------------------

TEST_F(HttpServerTest, ConnectionCloseClosesAfterTheResponse) {
  TestApp& app = start();
  Wire w = connect();
  // The pipelined request after it must not be answered.
  ASSERT_TRUE(w.send(get("/n/1", "Connection: close\r\n") + get("/n/2")));
  auto r = w.read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "n=1");
  EXPECT_EQ(r->header("Connection"), "close");
  EXPECT_TRUE(w.closed_with_nothing_more()) << printable(w.buffer());
  EXPECT_TRUE(wait_until([&] { return app.closes() == 1; }, 2s));
}

TEST_F(HttpServerTest, AsyncAnswersBeforeCloseAndErrorsKeepTheirPlace) {
  start();
  {  // Connection: close on a request answered later: answer, then close
    Wire w = connect();
    ASSERT_TRUE(w.send(get("/async/c/100", "Connection: close\r\n") + get("/n/no")));
    auto r = w.read();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->body, "async=c");
    EXPECT_EQ(r->header("Connection"), "close");
    EXPECT_TRUE(w.closed_with_nothing_more()) << printable(w.buffer());
  }
  {  // a bad request behind a pending answer: the answer, then the 400, then close
    Wire w = connect();
    ASSERT_TRUE(w.send(get("/async/a/100") + get("/n/b") + "GET / HTTP/1.1\r\nHost : x\r\n\r\n" +
                       get("/n/no")));
    auto a = w.read();
    auto b = w.read();
    ASSERT_TRUE(a && b);
    EXPECT_EQ(a->body, "async=a");
    EXPECT_EQ(b->body, "n=b");
    expect_rejected(w, 400, "bad head behind a pending answer");
  }
}

TEST_F(HttpServerTest, Http10WithoutKeepAliveClosesAfter) {
  start();
  Wire w = connect();
  ASSERT_TRUE(w.send("GET /version HTTP/1.0\r\n\r\n"));
  auto r = w.read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->version, "HTTP/1.0");
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "1.0 close");
  EXPECT_EQ(r->header("Content-Length"), "9");
  EXPECT_TRUE(w.closed_with_nothing_more()) << printable(w.buffer());
}

TEST_F(HttpServerTest, Http10WithKeepAliveStaysOpen) {
  start();
  Wire w = connect();
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(w.send("GET /version HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
    auto r = w.read();
    ASSERT_TRUE(r) << i;
    EXPECT_EQ(r->version, "HTTP/1.0");
    EXPECT_EQ(r->body, "1.0 keep-alive");
    EXPECT_TRUE(iequal(r->header("Connection"), "keep-alive")) << r->header("Connection");
  }
  EXPECT_TRUE(w.quiet_for(100ms));
  // The last one without keep-alive closes.
  ASSERT_TRUE(w.send("GET /n/end HTTP/1.0\r\n\r\n"));
  auto r = w.read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "n=end");
  EXPECT_TRUE(w.closed_with_nothing_more());
}

TEST_F(HttpServerTest, HeadHasContentLengthButNoBody) {
  start();
  Wire w = connect();
  // If HEAD sent a body, it would be read as the start of the next response.
  ASSERT_TRUE(w.send("HEAD / HTTP/1.1\r\nHost: t\r\n\r\n" + get("/n/after-head") +
                     "HEAD /stream/chunked HTTP/1.1\r\nHost: t\r\n\r\n" +
                     "HEAD /stream/length HTTP/1.1\r\nHost: t\r\n\r\n" + get("/n/last")));
  auto h = w.read(5s, true);
  ASSERT_TRUE(h);
  EXPECT_EQ(h->status, 200);
  EXPECT_EQ(h->header("Content-Length"), "13");
  auto g = w.read();
  ASSERT_TRUE(g);
  EXPECT_EQ(g->body, "n=after-head");
  auto hs = w.read(5s, true);
  ASSERT_TRUE(hs);
  EXPECT_EQ(hs->header("Transfer-Encoding"), "chunked");
  auto hl = w.read(5s, true);
  ASSERT_TRUE(hl);
  EXPECT_EQ(hl->header("Content-Length"), "15");
  auto last = w.read();
  ASSERT_TRUE(last);
  EXPECT_EQ(last->body, "n=last") << printable(w.buffer());
}

// --- request bodies ---------------------------------------------------------------

TEST_F(HttpServerTest, PostBodySplitAtEveryPoint) {
  start();
  Wire w = connect();
  const std::string req = post("/echo", "hello, split world");
  for (std::size_t i = 1; i < req.size(); ++i) {
    ASSERT_TRUE(w.send(req.substr(0, i)));
    std::this_thread::sleep_for(2ms);  // separate reads on the server
    ASSERT_TRUE(w.send(req.substr(i)));
    auto r = w.read();
    ASSERT_TRUE(r) << "split at " << i;
    ASSERT_EQ(r->status, 200) << "split at " << i;
    ASSERT_EQ(r->body, "hello, split world") << "split at " << i;
  }
  // One byte per send.
  for (char c : req) {
    ASSERT_TRUE(w.send(std::string(1, c)));
    std::this_thread::sleep_for(1ms);
  }
  auto r = w.read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "hello, split world");
  EXPECT_EQ(r->header("X-Body-Bytes"), "18");
}

TEST_F(HttpServerTest, ChunkedBodyWithExtensionsAndTrailers) {
  start();
  Wire w = connect();
  const std::string req =
      "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
      "5;name=value\r\nhello\r\n"
      "1 ; a ; b=\"q;\\\"x\"\r\n,\r\n"
      "00006\r\n world\r\n"
      "0;last\r\nX-Trailer: yes\r\nX-Other: 1\r\n\r\n";
  ASSERT_TRUE(w.send(req + get("/n/after")));
  auto r = w.read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "hello, world");
  auto after = w.read();
  ASSERT_TRUE(after);
  EXPECT_EQ(after->body, "n=after");
  // The same request split at every point.
  for (std::size_t i = 1; i < req.size(); ++i) {
    ASSERT_TRUE(w.send(req.substr(0, i)));
    std::this_thread::sleep_for(2ms);
    ASSERT_TRUE(w.send(req.substr(i)));
    auto s = w.read();
    ASSERT_TRUE(s) << "split at " << i;
    ASSERT_EQ(s->body, "hello, world") << "split at " << i;
  }
  // A bigger body in many chunks.
  const std::string big = pattern(40 * kKiB);
  ASSERT_TRUE(w.send("POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n" +
                     chunked(big, 1000)));
  auto b = w.read();
  ASSERT_TRUE(b);
  EXPECT_EQ(b->body.size(), big.size());
  EXPECT_EQ(pattern_mismatch(b->body), std::string::npos);
}

TEST_F(HttpServerTest, ExpectContinueBeforeTheBody) {
  start();
  Wire w = connect();
  ASSERT_TRUE(w.send(
      "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n"));
  const std::string interim = w.client().recv_exact(25, 2s);
  EXPECT_EQ(interim, "HTTP/1.1 100 Continue\r\n\r\n");
  ASSERT_TRUE(w.send("hello"));
  auto r = w.read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "hello");
  // Head and body in one send: no interim response is needed, one final answer.
  ASSERT_TRUE(w.send(post("/echo", "again", "Expect: 100-continue\r\n")));
  auto r2 = w.read_final();
  ASSERT_TRUE(r2);
  EXPECT_EQ(r2->body, "again");
  // Too large: 413 instead of 100.
  ASSERT_TRUE(w.send(
      "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 1000000\r\nExpect: 100-continue\r\n\r\n"));
  auto r3 = w.read();
  ASSERT_TRUE(r3);
  EXPECT_EQ(r3->status, 413);
  EXPECT_TRUE(w.closed_with_nothing_more());
}

TEST_F(HttpServerTest, ExpectContinueOnStreamingRoute) {
  TestApp& app = start();
  Wire w = connect();
  ASSERT_TRUE(w.send(
      "POST /upload HTTP/1.1\r\nHost: t\r\nContent-Length: 3000\r\nExpect: 100-continue\r\n\r\n"));
  auto interim = w.read(2s);
  ASSERT_TRUE(interim);
  EXPECT_EQ(interim->status, 100);
  ASSERT_TRUE(w.send(pattern(3000)));
  auto r = w.read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "bytes=3000");
  EXPECT_EQ(app.uploads_finished(), 1);
}

// The timeout is for the head: a body that follows a complete head slowly
// (here after 100-continue, as curl does) is not a slowloris head.
TEST_F(HttpServerTest, SlowBodyAfterCompleteHeadIsNotAHeadTimeout) {
  Options o = small_options();
  o.header_timeout_ms = 300;
  start(o);
  Wire w = connect();
  ASSERT_TRUE(w.send(
      "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n"));
  auto interim = w.read(2s);
  ASSERT_TRUE(interim);
  EXPECT_EQ(interim->status, 100);
  for (char c : std::string("slow")) {
    if (!w.quiet_for(150ms)) break;  // answered (or closed) before the body is complete
    if (!w.send(std::string(1, c))) break;
  }
  auto r = w.read();
  ASSERT_TRUE(r) << "no final response; got '" << printable(w.buffer()) << "', socket error "
                 << w.client().error() << ", eof " << w.client().eof();
  EXPECT_EQ(r->status, 200) << "a body arriving within 600 ms of a complete head got " << r->status
                            << " " << r->reason;
  EXPECT_EQ(r->body, "slow");
}

TEST_F(HttpServerTest, BodyOverMaxBodyIs413AndCloses) {
  start();  // max_body 64 KiB
  {
    Wire w = connect();
    ASSERT_TRUE(
        w.send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 65537\r\n\r\n" + get("/n/no")));
    expect_rejected(w, 413, "Content-Length over max_body");
  }
  {  // exactly the limit is fine
    Wire w = connect();
    ASSERT_TRUE(w.send(post("/echo", std::string(64 * kKiB, 'x'))));
    auto r = w.read();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->body.size(), 64 * kKiB);
  }
  {  // chunked, over the limit
    Wire w = connect();
    ASSERT_TRUE(w.send("POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n" +
                       chunked(std::string(64 * kKiB + 1, 'x'), 4096)));
    expect_rejected(w, 413, "chunked body over max_body");
  }
  {  // the body sent right behind the head: the 413 still arrives
    Wire w = connect();
    ASSERT_TRUE(w.send(post("/echo", std::string(200 * kKiB, 'y'))));
    auto r = w.read_final(3s);
    ASSERT_TRUE(r) << "error " << w.client().error();
    EXPECT_EQ(r->status, 413);
  }
}

// --- streaming ----------------------------------------------------------------------

TEST_F(HttpServerTest, StreamingResponseChunkedAndWithLength) {
  start();
  Wire w = connect();
  ASSERT_TRUE(w.send(get("/stream/chunked")));
  auto c = w.read();
  ASSERT_TRUE(c);
  EXPECT_EQ(c->status, 200);
  EXPECT_TRUE(c->chunked);
  EXPECT_FALSE(c->has("Content-Length"));
  EXPECT_EQ(c->chunks, 3u);
  EXPECT_EQ(c->body, "alpha" + std::string(10000, 'b') + "gamma");
  EXPECT_EQ(c->header("X-Streamed"), "yes");
  EXPECT_EQ(c->header("Content-Type"), "text/plain");
  ASSERT_TRUE(w.send(get("/stream/length")));
  auto l = w.read();
  ASSERT_TRUE(l);
  EXPECT_FALSE(l->chunked);
  EXPECT_EQ(l->header("Content-Length"), "15");
  EXPECT_EQ(l->body, "alpha-beta-gamm");
  // HTTP/1.0 has no chunked coding: the body ends at close.
  Wire w10 = connect();
  ASSERT_TRUE(w10.send("GET /stream/chunked HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
  auto o = w10.read();
  ASSERT_TRUE(o);
  EXPECT_EQ(o->version, "HTTP/1.0");
  EXPECT_FALSE(o->has("Transfer-Encoding"));
  EXPECT_FALSE(o->has("Content-Length"));
  EXPECT_EQ(o->header("Connection"), "close");
  EXPECT_EQ(o->body, "alpha" + std::string(10000, 'b') + "gamma");
}

TEST_F(HttpServerTest, StreamingUploadOf8MiB) {
  Options o = small_options();
  o.max_body = 16 * kMiB;
  TestApp& app = start(o);
  Wire w = connect();
  constexpr std::size_t kSize = 8 * kMiB;
  std::string body = pattern(kSize);
  ASSERT_TRUE(w.send(
      "POST /upload HTTP/1.1\r\nHost: t\r\nContent-Length: " + std::to_string(kSize) + "\r\n\r\n"));
  for (std::size_t i = 0; i < kSize; i += 256 * kKiB) {
    ASSERT_TRUE(w.send(std::string_view(body).substr(i, 256 * kKiB)));
  }
  auto r = w.read(20s);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "bytes=" + std::to_string(kSize));
  Upload up = app.last_upload();
  EXPECT_EQ(up.bytes, kSize);
  EXPECT_FALSE(up.corrupt);
  EXPECT_GT(up.pieces, 8u) << "the body should arrive in pieces, not buffered whole";
  // The same connection, a chunked upload of 1 MiB.
  const std::string one = pattern(kMiB);
  ASSERT_TRUE(w.send("POST /upload HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n" +
                     chunked(one, 10000) + get("/n/after")));
  auto r2 = w.read(10s);
  ASSERT_TRUE(r2);
  EXPECT_EQ(r2->status, 200);
  EXPECT_EQ(r2->body, "bytes=" + std::to_string(kMiB));
  EXPECT_FALSE(app.last_upload().corrupt);
  auto r3 = w.read();
  ASSERT_TRUE(r3);
  EXPECT_EQ(r3->body, "n=after");
  EXPECT_EQ(app.uploads_finished(), 2);
}

// A streamed upload whose chunked framing breaks halfway (or grows past
// max_body) must not look like a complete one: the route is not told
// "last" as for a good body, and the client gets only the 400/413.
TEST_F(HttpServerTest, StreamingUploadWithBadChunkIsNotASuccess) {
  TestApp& app = start();  // max_body 64 KiB
  struct Case {
    const char* what;
    std::string body;
    int status;
  };
  const std::vector<Case> cases = {
      {"invalid chunk size after 16 good bytes", "10\r\n" + pattern(16) + "\r\nzz\r\n", 400},
      {"chunks past max_body", chunked(pattern(80 * kKiB), 8 * kKiB), 413},
  };
  for (const Case& c : cases) {
    const int finished = app.uploads_finished();
    Wire w = connect();
    ASSERT_TRUE(
        w.send("POST /upload HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n" + c.body));
    auto r = w.read_final(3s);
    ASSERT_TRUE(r) << c.what << ": " << printable(w.buffer());
    EXPECT_EQ(r->status, c.status)
        << c.what << ": the route took the broken body as complete and answered '"
        << printable(r->body) << "'; then came: " << printable(w.buffer());
    w.buffer() += w.client().recv_until_eof(2s);
    EXPECT_TRUE(w.client().peer_closed()) << c.what;
    EXPECT_EQ(app.uploads_finished(), finished) << c.what << ": on_body got last == true";
  }
}

// --- limits -----------------------------------------------------------------------------

TEST_F(HttpServerTest, RequestLineTooLongIs414) {
  start();  // max_request_line 1024
  {
    Wire w = connect();
    ASSERT_TRUE(w.send(get("/" + std::string(1100, 'a')) + get("/n/no")));
    expect_rejected(w, 414, "request line of 1100 bytes");
  }
  {  // not even ended: refused without waiting for the rest
    Wire w = connect();
    ASSERT_TRUE(w.send("GET /" + std::string(2000, 'a')));
    expect_rejected(w, 414, "request line of 2000 bytes, no CRLF yet");
  }
  {  // just under the limit is fine
    Wire w = connect();
    ASSERT_TRUE(w.send(get("/files/" + std::string(900, 'a'))));
    auto r = w.read();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
  }
}

TEST_F(HttpServerTest, TooManyHeadersOrHeadTooBigIs431) {
  start();  // max_headers 16, max_head_bytes 4096
  {
    std::string many;
    for (int i = 0; i < 20; ++i)
      many += "X-H" + std::to_string(i) + ": v\r\n";
    Wire w = connect();
    ASSERT_TRUE(w.send(get("/", many) + get("/n/no")));
    expect_rejected(w, 431, "20 headers");
  }
  {
    std::string big;
    for (int i = 0; i < 8; ++i)
      big += "X-Big" + std::to_string(i) + ": " + std::string(700, 'v') + "\r\n";
    Wire w = connect();
    ASSERT_TRUE(w.send(get("/", big) + get("/n/no")));
    expect_rejected(w, 431, "a head of 5.6 KiB");
  }
  {  // growing past the limit without an end: refused without waiting
    Wire w = connect();
    std::string partial = "GET / HTTP/1.1\r\nHost: t\r\n";
    for (int i = 0; i < 7; ++i)
      partial += "X-Big" + std::to_string(i) + ": " + std::string(700, 'v') + "\r\n";
    ASSERT_TRUE(w.send(partial));
    expect_rejected(w, 431, "an unfinished head over max_head_bytes");
  }
  {  // within both limits
    std::string ok;
    for (int i = 0; i < 14; ++i)
      ok += "X-H" + std::to_string(i) + ": " + std::string(200, 'v') + "\r\n";
    Wire w = connect();
    ASSERT_TRUE(w.send(get("/", ok)));
    auto r = w.read();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
  }
}

TEST_F(HttpServerTest, SlowlorisHeadTimesOutWith408) {
  Options o = small_options();
  o.header_timeout_ms = 300;
  TestApp& app = start(o);
  Wire good = connect();  // an idle keep-alive connection is not a slow head
  ASSERT_TRUE(good.send(get("/n/1")));
  ASSERT_TRUE(good.read());
  Wire w = connect();
  const std::string head = "GET / HTTP/1.1\r\nHost: t\r\nX-Slow: " + std::string(1000, 's');
  const auto t0 = SteadyClock::now();
  std::size_t sent = 0;
  std::string got;
  while (sent < head.size() && SteadyClock::now() - t0 < 3s) {
    if (!w.send(head.substr(sent++, 1))) break;
    got = w.client().recv_some(65536, 100ms);
    if (!got.empty() || w.client().peer_closed()) break;
  }
  w.buffer() += got;
  auto r = w.read(2s);
  const auto answered = SteadyClock::now() - t0;
  ASSERT_TRUE(r) << "no answer after " << sent << " bytes";
  EXPECT_EQ(r->status, 408);
  EXPECT_TRUE(w.closed_with_nothing_more(1s));
  const auto closed = SteadyClock::now() - t0;
  EXPECT_GE(answered, 280ms);
  EXPECT_LE(answered, 600ms) << "408 after " << std::chrono::duration_cast<Ms>(answered).count()
                             << " ms";
  EXPECT_LE(closed, 700ms);
  EXPECT_LT(sent, 10u);
  // The idle one was not touched.
  ASSERT_TRUE(good.send(get("/n/2")));
  auto g = good.read();
  ASSERT_TRUE(g);
  EXPECT_EQ(g->body, "n=2");
  EXPECT_TRUE(wait_until([&] { return app.closes() == 1; }, 1s));
}

// The deadline is per head: a keep-alive client whose every send completes
// one head within 50 ms and starts the next (reads that end mid-head, as
// under steady pipelining) must never be taken for a slowloris.
TEST_F(HttpServerTest, EachHeadGetsItsOwnDeadline) {
  Options o = small_options();
  o.header_timeout_ms = 300;
  start(o);
  Wire w = connect();
  const std::string req = get("/n/x");
  const std::size_t half = req.size() / 2;
  ASSERT_TRUE(w.send(req.substr(0, half)));
  const auto t0 = SteadyClock::now();
  for (int i = 0; i < 20; ++i) {  // 1 s, over three times the timeout
    std::this_thread::sleep_for(50ms);
    ASSERT_TRUE(w.send(req.substr(half) + req.substr(0, half))) << "request " << i;
    auto r = w.read(2s);
    ASSERT_TRUE(r) << "request " << i;
    ASSERT_EQ(r->status, 200) << "request " << i << ", whose head took 50 ms, got " << r->status
                              << " " << printable(r->body) << " at "
                              << std::chrono::duration_cast<Ms>(SteadyClock::now() - t0).count()
                              << " ms";
  }
}

// --- request smuggling -------------------------------------------------------------------

TEST_F(HttpServerTest, SmugglingAttemptsAreRefusedAndClosed) {
  TestApp& app = start();
  struct Case {
    const char* what;
    std::string request;
    int status;
  };
  const std::string te = "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n";
  const std::vector<Case> cases = {
      {"Content-Length and Transfer-Encoding",
       "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"
       "0\r\n\r\n",
       400},
      {"Transfer-Encoding and Content-Length",
       "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n"
       "0\r\n\r\n",
       400},
      {"two different Content-Length",
       "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
       400},
      {"Content-Length list",
       "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5, 6\r\n\r\nhello!", 400},
      {"Content-Length +5", "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: +5\r\n\r\nhello",
       400},
      {"Transfer-Encoding: chunked, gzip",
       "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n", 400},
      {"Transfer-Encoding: gzip",
       "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip\r\n\r\n0\r\n\r\n", 501},
      {"HTTP/1.0 with Transfer-Encoding",
       "POST /echo HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400},
      {"obs-fold", "GET / HTTP/1.1\r\nHost: t\r\nX-A: a\r\n b\r\n\r\n", 400},
      {"obs-fold of Transfer-Encoding",
       "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding:\r\n chunked\r\n\r\n0\r\n\r\n", 400},
      {"'Host : x'", "GET / HTTP/1.1\r\nHost : x\r\n\r\n", 400},
      {"'Transfer-Encoding : chunked'",
       "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding : chunked\r\n\r\n0\r\n\r\n", 400},
      {"NUL in a header value", "GET / HTTP/1.1\r\nHost: t\r\nX-A: a\0b\r\n\r\n"s, 400},
      {"bare LF line ending", "GET / HTTP/1.1\nHost: t\n\n", 400},
      {"no Host in HTTP/1.1", "GET / HTTP/1.1\r\n\r\n", 400},
      {"invalid chunk size zz", te + "zz\r\nhello\r\n0\r\n\r\n", 400},
      {"chunk size overflow", te + "10000000000000000\r\nhello\r\n0\r\n\r\n", 400},
      {"chunk size 2^64-1", te + "ffffffffffffffff\r\nhello\r\n0\r\n\r\n", 400},
      {"no CRLF after chunk data", te + "5\r\nhelloXX0\r\n\r\n", 400},
      {"negative chunk size", te + "-5\r\nhello\r\n0\r\n\r\n", 400},
  };
  int expected_closes = 0;
  for (const Case& c : cases) {
    Wire w = connect();
    // A request smuggled behind: never answered.
    ASSERT_TRUE(w.send(c.request + get("/n/smuggled")));
    expect_rejected(w, c.status, c.what);
    EXPECT_EQ(w.buffer().find("n=smuggled"), std::string::npos) << c.what;
    ++expected_closes;
  }
  EXPECT_TRUE(wait_until([&] { return app.closes() == expected_closes; }, 2s))
      << app.closes() << " of " << expected_closes;
  // Each bad request was refused before any route ran, and the server serves.
  Wire w = connect();
  ASSERT_TRUE(w.send(get("/")));
  auto r = w.read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
}

// --- clients that go away --------------------------------------------------------------

TEST_F(HttpServerTest, ClientAbortMidBody) {
  TestApp& app = start();
  Wire bystander = connect();
  ASSERT_TRUE(bystander.send(get("/n/0")));
  ASSERT_TRUE(bystander.read());
  const int fds_serving = count_open_fds();
  {  // buffered route, RST after half the body
    Wire w = connect();
    ASSERT_TRUE(w.send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 60000\r\n\r\n" +
                       std::string(30000, 'x')));
    std::this_thread::sleep_for(20ms);
    w.client().close_rst();
  }
  {  // buffered chunked body, FIN mid-chunk
    Wire w = connect();
    ASSERT_TRUE(
        w.send("POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
               "1000\r\n" +
               std::string(2000, 'x')));
    std::this_thread::sleep_for(20ms);
  }
  {  // streaming route, RST after half the body
    Wire w = connect();
    ASSERT_TRUE(w.send("POST /upload HTTP/1.1\r\nHost: t\r\nContent-Length: 60000\r\n\r\n" +
                       pattern(30000)));
    ASSERT_TRUE(wait_until([&] { return app.uploads_started() == 1; }, 2s));
    w.client().close_rst();
  }
  {  // streaming route, half-close: the server cannot get the rest
    Wire w = connect();
    ASSERT_TRUE(w.send("POST /upload HTTP/1.1\r\nHost: t\r\nContent-Length: 60000\r\n\r\n" +
                       pattern(1000)));
    ASSERT_TRUE(wait_until([&] { return app.uploads_started() == 2; }, 2s));
    w.client().shutdown_write();
    w.buffer() += w.client().recv_until_eof(2s);
    EXPECT_TRUE(w.client().peer_closed());
  }
  EXPECT_TRUE(wait_until([&] { return app.closes() == 4; }, 3s)) << app.closes();
  EXPECT_EQ(app.uploads_finished(), 0) << "an aborted upload was reported complete";
  EXPECT_TRUE(wait_until([&] { return count_open_fds() == fds_serving; }, 2s))
      << count_open_fds() << " vs " << fds_serving;
  // Everyone else is served.
  ASSERT_TRUE(bystander.send(post("/echo", "still here")));
  auto r = bystander.read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "still here");
  Wire fresh = connect();
  ASSERT_TRUE(fresh.send(get("/")));
  auto f = fresh.read();
  ASSERT_TRUE(f);
  EXPECT_EQ(f->status, 200);
}

// --- routing -------------------------------------------------------------------------------

TEST_F(HttpServerTest, NotFoundAndMethodNotAllowed) {
  start();
  Wire w = connect();
  ASSERT_TRUE(w.send(get("/nope")));
  auto nf = w.read();
  ASSERT_TRUE(nf);
  EXPECT_EQ(nf->status, 404);
  EXPECT_EQ(nf->reason, "Not Found");
  ASSERT_TRUE(w.send(get("/only")));
  auto na = w.read();
  ASSERT_TRUE(na);
  EXPECT_EQ(na->status, 405);
  EXPECT_EQ(na->reason, "Method Not Allowed");
  EXPECT_EQ(na->header("Allow"), "PUT, DELETE");
  ASSERT_TRUE(w.send("POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n\r\nhi"));
  auto np = w.read();
  ASSERT_TRUE(np);
  EXPECT_EQ(np->status, 405);
  EXPECT_EQ(np->header("Allow"), "GET");
  // The body of the refused POST was skipped: the connection goes on.
  ASSERT_TRUE(w.send("PUT /only HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n" +
                     "DELETE /only HTTP/1.1\r\nHost: t\r\n\r\n"s + get("/n/ok")));
  auto p = w.read();
  auto d = w.read();
  auto ok = w.read();
  ASSERT_TRUE(p && d && ok);
  EXPECT_EQ(p->body, "put");
  EXPECT_EQ(d->body, "deleted");
  EXPECT_EQ(ok->body, "n=ok");
}

TEST_F(HttpServerTest, ParamAndWildcardRoutes) {
  start();
  Wire w = connect();
  struct Want {
    std::string target;
    int status;
    std::string body;
  };
  const std::vector<Want> wants = {
      {"/users/42/posts/7", 200, "user=42 post=7"},
      {"/users/42/posts/7?x=1", 200, "user=42 post=7"},
      {"/users/42/posts", 404, ""},
      {"/users/42/posts/7/8", 404, ""},
      {"/n/abc", 200, "n=abc"},
      {"/n/", 404, ""},
      {"/n", 404, ""},
      {"/files/a/b/c.txt", 200, "rest=a/b/c.txt"},
      {"/files/x", 200, "rest=x"},
      {"/files/", 200, "rest="},
      {"/files", 200, "rest="},
      {"/q?a=1&b=2", 200, "q=a=1&b=2"},
      {"/q", 200, "q="},
  };
  for (const Want& want : wants) {
    ASSERT_TRUE(w.send(get(want.target)));
    auto r = w.read();
    ASSERT_TRUE(r) << want.target;
    EXPECT_EQ(r->status, want.status) << want.target;
    if (want.status == 200) {
      EXPECT_EQ(r->body, want.body) << want.target;
    }
  }
}

}  // namespace
