// Prometheus text exposition of the loop counters: the exact lines for known
// counts, the TLS families appearing with TLS, label escaping, option
// checks, a structural check of every line, and a live scrape through
// http::metrics_route. (tests/interop/metrics_interop.sh has promtool lint
// a real scrape.)
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "test_support.hpp"
#include "weft/error.hpp"
#include "weft/http/app.hpp"
#include "weft/http/metrics.hpp"
#include "weft/metrics.hpp"

namespace weft {
namespace {

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    out.push_back(line);
  return out;
}

bool has_line(const std::string& text, const std::string& line) {
  return text.find("\n" + line + "\n") != std::string::npos || text.starts_with(line + "\n");
}

bool is_name(std::string_view s) {
  if (s.empty() || (s[0] >= '0' && s[0] <= '9')) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == ':';
  });
}

bool is_number(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// The structure the format requires: every sample belongs to the family
// whose TYPE came last, each family is declared once, no series repeats,
// names and values have the right shape, the text ends with a newline.
// (Hand-parsed: g++ 12 warns inside <regex> under the sanitizer builds.)
void expect_well_formed(const std::string& text) {
  ASSERT_FALSE(text.empty());
  EXPECT_EQ(text.back(), '\n');
  std::string family;
  std::set<std::string> families;
  std::set<std::string> series;
  for (const std::string& line : lines_of(text)) {
    if (line.starts_with("# HELP ")) continue;
    if (line.starts_with("# TYPE ")) {
      const std::string rest = line.substr(7);
      const std::size_t sp = rest.find(' ');
      ASSERT_NE(sp, std::string::npos) << line;
      family = rest.substr(0, sp);
      const std::string type = rest.substr(sp + 1);
      EXPECT_TRUE(is_name(family)) << line;
      EXPECT_TRUE(type == "counter" || type == "gauge") << line;
      EXPECT_TRUE(families.insert(family).second) << "declared twice: " << family;
      EXPECT_EQ(type == "counter", family.ends_with("_total")) << family;
      continue;
    }
    const std::size_t open = line.find('{');
    const std::size_t close = line.rfind("} ");
    ASSERT_TRUE(open != std::string::npos && close != std::string::npos && open < close)
        << "not a sample: " << line;
    EXPECT_EQ(line.substr(0, open), family) << "sample outside its family: " << line;
    EXPECT_TRUE(is_number(std::string_view(line).substr(close + 2))) << line;
    EXPECT_TRUE(series.insert(line.substr(0, close + 1)).second) << "repeated series: " << line;
  }
}

TEST(Metrics, ZeroCountersGiveEverySeriesPerLoop) {
  LoopStats a;
  LoopStats b;
  const LoopStats* loops[] = {&a, &b};
  const std::string text = prometheus_text(loops);
  expect_well_formed(text);
  EXPECT_TRUE(has_line(text, "# TYPE weft_connections_open gauge"));
  EXPECT_TRUE(has_line(text, "weft_connections_open{loop=\"0\"} 0"));
  EXPECT_TRUE(has_line(text, "weft_connections_open{loop=\"1\"} 0"));
  EXPECT_TRUE(
      has_line(text, "weft_connections_closed_total{loop=\"1\",reason=\"server_stopping\"} 0"));
  // No TLS seen: no TLS families.
  EXPECT_EQ(text.find("tls"), std::string::npos);
}

TEST(Metrics, CountsLandOnTheirLoopAndLabel) {
  LoopStats a;
  LoopStats b;
  a.accepted.add(7);
  a.open.add(3);
  b.closed_idle.add(2);
  b.closed_peer.add(5);
  b.bytes_in.add(1234567890123ULL);
  a.sbuf_pauses.add(1);
  b.dials.add(3);
  b.dial_errors.add(2);
  const LoopStats* loops[] = {&a, &b};
  const std::string text = prometheus_text(loops);
  expect_well_formed(text);
  EXPECT_TRUE(has_line(text, "weft_connections_accepted_total{loop=\"0\"} 7"));
  EXPECT_TRUE(has_line(text, "weft_connections_accepted_total{loop=\"1\"} 0"));
  EXPECT_TRUE(has_line(text, "weft_connections_open{loop=\"0\"} 3"));
  EXPECT_TRUE(
      has_line(text, "weft_connections_closed_total{loop=\"1\",reason=\"idle_timeout\"} 2"));
  EXPECT_TRUE(has_line(text, "weft_connections_closed_total{loop=\"1\",reason=\"peer\"} 5"));
  EXPECT_TRUE(has_line(text, "weft_connections_closed_total{loop=\"0\",reason=\"peer\"} 0"));
  EXPECT_TRUE(has_line(text, "weft_received_bytes_total{loop=\"1\"} 1234567890123"));
  EXPECT_TRUE(has_line(text, "weft_read_pauses_total{loop=\"0\"} 1"));
  EXPECT_TRUE(has_line(text, "weft_dials_total{loop=\"1\"} 3"));
  EXPECT_TRUE(has_line(text, "weft_dial_errors_total{loop=\"1\"} 2"));
  EXPECT_TRUE(has_line(text, "weft_name_lookups_total{loop=\"0\"} 0"));
}

TEST(Metrics, TlsFamiliesOnceAHandshakeStartedOrWhenAsked) {
  LoopStats a;
  const LoopStats* loops[] = {&a};
  EXPECT_EQ(prometheus_text(loops).find("weft_tls_"), std::string::npos);
  MetricsOptions always;
  always.always_tls = true;
  std::string text = prometheus_text(loops, always);
  expect_well_formed(text);
  EXPECT_TRUE(has_line(text, "weft_tls_handshakes_in_progress{loop=\"0\"} 0"));

  a.tls_handshaking.add();
  a.ktls_no_kernel.add(4);
  a.ktls_offloaded.add(1);
  text = prometheus_text(loops);
  expect_well_formed(text);
  EXPECT_TRUE(has_line(text, "# TYPE weft_tls_handshakes_in_progress gauge"));
  EXPECT_TRUE(has_line(text, "weft_tls_handshakes_in_progress{loop=\"0\"} 1"));
  EXPECT_TRUE(has_line(text, "weft_ktls_fallbacks_total{loop=\"0\",reason=\"no_kernel\"} 4"));
  EXPECT_TRUE(has_line(text, "weft_ktls_offloaded_total{loop=\"0\",mode=\"tx_rx\"} 1"));
  EXPECT_TRUE(has_line(text, "weft_ktls_offloaded_total{loop=\"0\",mode=\"tx\"} 0"));
}

TEST(Metrics, PrefixAndLabelsGoOnEverySeriesEscaped) {
  LoopStats a;
  const LoopStats* loops[] = {&a};
  MetricsOptions o;
  o.prefix = "gw:edge";
  o.labels = {{"service", "a\"b\\c\nd"}, {"zone", "eu"}};
  const std::string text = prometheus_text(loops, o);
  expect_well_formed(text);
  EXPECT_TRUE(
      has_line(text, R"(gw:edge_connections_open{service="a\"b\\c\nd",zone="eu",loop="0"} 0)"));
  for (const std::string& line : lines_of(text)) {
    if (line.starts_with("#")) {
      EXPECT_NE(line.find(" gw:edge_"), std::string::npos) << line;
    } else {
      EXPECT_TRUE(line.starts_with("gw:edge_")) << line;
      EXPECT_NE(line.find(R"({service="a\"b\\c\nd",zone="eu",loop=")"), std::string::npos) << line;
    }
  }
}

TEST(Metrics, OptionsAreChecked) {
  auto why = [](std::string prefix, std::vector<std::pair<std::string, std::string>> labels) {
    MetricsOptions o;
    o.prefix = std::move(prefix);
    o.labels = std::move(labels);
    return validate(o);
  };
  EXPECT_EQ(why("weft", {}), "");
  EXPECT_EQ(why("_a:b9", {{"x1", ""}}), "");
  EXPECT_NE(why("", {}), "");
  EXPECT_NE(why("9lives", {}), "");
  EXPECT_NE(why("a-b", {}), "");
  EXPECT_NE(why("weft", {{"a:b", "v"}}), "");
  EXPECT_NE(why("weft", {{"__name", "v"}}), "");
  EXPECT_NE(why("weft", {{"loop", "v"}}), "");
  EXPECT_NE(why("weft", {{"reason", "v"}}), "");
  EXPECT_NE(why("weft", {{"a", "1"}, {"a", "2"}}), "");
  EXPECT_NE(why("weft", {{"", "v"}}), "");

  LoopStats a;
  const LoopStats* loops[] = {&a};
  MetricsOptions bad;
  bad.prefix = "a b";
  EXPECT_THROW(prometheus_text(loops, bad), ConfigError);
  http::App app;
  Server server(app, test::test_config());
  EXPECT_THROW(http::metrics_route(server, bad), ConfigError);
}

TEST(Metrics, ScrapeThroughTheRouteCountsTheScraper) {
  http::App app;
  Config cfg = test::test_config();
  cfg.ncpu = 2;
  // Routes go in before the loops start, and TestServer makes its Server
  // itself: the route finds it through a pointer published once it exists.
  std::atomic<const Server*> server{nullptr};
  app.get("/metrics", [&server](http::Request& req, http::Response& res) {
    http::metrics_route (*server.load())(req, res);
  });
  auto ts = std::make_unique<test::TestServer>(app, cfg);
  server.store(&ts->server());

  test::Client c = test::Client::tcp(ts->port());
  const std::string request = "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  ASSERT_EQ(c.send_all(request), request.size());
  const std::string reply = c.recv_until_eof();
  ASSERT_TRUE(reply.starts_with("HTTP/1.1 200 ")) << reply.substr(0, 200);
  const std::size_t body_at = reply.find("\r\n\r\n");
  ASSERT_NE(body_at, std::string::npos);
  const std::string head = reply.substr(0, body_at);
  EXPECT_NE(head.find("Content-Type: text/plain; version=0.0.4; charset=utf-8"), std::string::npos)
      << head;
  const std::string body = reply.substr(body_at + 4);
  expect_well_formed(body);
  // Two loops, and the scraping connection is open on one of them.
  EXPECT_NE(body.find("weft_connections_open{loop=\"1\"} "), std::string::npos);
  std::map<std::string, int> open;
  for (const std::string& line : lines_of(body)) {
    if (line.starts_with("weft_connections_open{")) open[line] = 1;
  }
  EXPECT_TRUE(open.count("weft_connections_open{loop=\"0\"} 1") +
                  open.count("weft_connections_open{loop=\"1\"} 1") ==
              1)
      << body;
}

}  // namespace
}  // namespace weft
