// http_parser_test.cpp — the HTTP/1.1 request head parser and the chunked
// decoder, without sockets: syntax, limits, smuggling defences, restarts at
// every split point, pipelining.
#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "http/request_parser.hpp"

namespace {

using weft::http::BodyKind;
using weft::http::ChunkedDecoder;
using weft::http::Header;
using weft::http::HeadLimits;
using weft::http::ParseResult;
using weft::http::ParseStatus;
using weft::http::RequestHead;

// A parse with its own copy of the input and its own header slots (the head
// points into both; neither moves when a Parsed does).
struct Parsed {
  std::unique_ptr<std::string> in;
  std::vector<Header> slots;
  RequestHead head;
  ParseResult r;
};

Parsed parse(std::string_view in, const HeadLimits& limits = {}) {
  Parsed p;
  p.in = std::make_unique<std::string>(in);
  p.slots.resize(limits.max_headers);
  p.head.headers = p.slots.data();
  p.r = weft::http::parse_request_head(*p.in, p.head, limits);
  return p;
}

// The status code of a rejected head; 0 when complete, -1 when incomplete.
int status_of(std::string_view in, const HeadLimits& limits = {}) {
  const Parsed p = parse(in, limits);
  if (p.r.status == ParseStatus::complete) return 0;
  if (p.r.status == ParseStatus::incomplete) return -1;
  EXPECT_NE(std::string_view(p.r.reason), "");
  return p.r.error_status;
}

// A GET with the given header lines (each without CRLF) after Host.
std::string get_with(std::initializer_list<std::string_view> lines,
                     std::string_view version = "1.1") {
  std::string s = "GET / HTTP/" + std::string(version) + "\r\nHost: x\r\n";
  for (const auto l : lines) {
    s.append(l);
    s.append("\r\n");
  }
  s.append("\r\n");
  return s;
}

const std::string kBrowser =
    "GET /search?q=weft&lang=en HTTP/1.1\r\n"
    "Host: www.example.com\r\n"
    "User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0\r\n"
    "Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\n"
    "Accept-Language: en-US,en;q=0.5\r\n"
    "Accept-Encoding: gzip, deflate, br\r\n"
    "Connection: keep-alive\r\n"
    "Cookie: session=abc123; theme=dark\r\n"
    "\r\n";

// ---------------------------------------------------------------------------
// Request line

TEST(HttpParser, ParsesATypicalRequest) {
  const Parsed p = parse(kBrowser);
  ASSERT_EQ(p.r.status, ParseStatus::complete) << p.r.reason;
  EXPECT_EQ(p.head.method, "GET");
  EXPECT_EQ(p.head.target, "/search?q=weft&lang=en");
  EXPECT_EQ(p.head.version_minor, 1);
  EXPECT_EQ(p.head.header_count, 7u);
  EXPECT_EQ(p.head.head_bytes, kBrowser.size());
  EXPECT_EQ(p.head.host, "www.example.com");
  EXPECT_EQ(p.head.body, BodyKind::none);
  EXPECT_TRUE(p.head.keep_alive);
  EXPECT_FALSE(p.head.expect_continue);
  EXPECT_FALSE(p.head.upgrade);
  EXPECT_EQ(p.head.headers[0].name, "Host");
  EXPECT_EQ(p.head.header("accept-encoding"), "gzip, deflate, br");
  EXPECT_EQ(p.head.header("COOKIE"), "session=abc123; theme=dark");
  EXPECT_TRUE(p.head.has_header("user-agent"));
  EXPECT_FALSE(p.head.has_header("content-length"));
  EXPECT_EQ(p.head.header("content-length"), "");
  // Views point into the input.
  EXPECT_EQ(p.head.method.data(), p.in->data());
  EXPECT_EQ(p.head.headers[6].value.data(), p.in->data() + kBrowser.find("session"));
}

TEST(HttpParser, TheMinimalWrkRequest) {
  const std::string in = "GET / HTTP/1.1\r\nHost: localhost:8080\r\n\r\n";
  const Parsed p = parse(in);
  ASSERT_EQ(p.r.status, ParseStatus::complete);
  EXPECT_EQ(p.head.target, "/");
  EXPECT_EQ(p.head.host, "localhost:8080");
  EXPECT_EQ(p.head.head_bytes, in.size());
}

TEST(HttpParser, HeaderValuesLoseSurroundingWhitespaceOnly) {
  const Parsed p = parse(get_with({"X-A: \t a  b \t ", "X-B:", "X-C:   ", "X-D:v"}));
  ASSERT_EQ(p.r.status, ParseStatus::complete);
  EXPECT_EQ(p.head.header("x-a"), "a  b");
  EXPECT_EQ(p.head.header("x-b"), "");
  EXPECT_TRUE(p.head.has_header("x-b"));
  EXPECT_EQ(p.head.header("x-c"), "");
  EXPECT_EQ(p.head.header("x-d"), "v");
}

TEST(HttpParser, FirstOfRepeatedHeadersIsReturned) {
  const Parsed p = parse(get_with({"X-A: 1", "x-a: 2"}));
  ASSERT_EQ(p.r.status, ParseStatus::complete);
  EXPECT_EQ(p.head.header("X-A"), "1");
  EXPECT_EQ(p.head.header_count, 3u);
}

TEST(HttpParser, MethodIsAnyToken) {
  for (const char* m : {"GET", "POST", "PROPFIND", "M-SEARCH", "get", "X_CUSTOM!"}) {
    const std::string in = std::string(m) + " / HTTP/1.1\r\nHost: x\r\n\r\n";
    const Parsed p = parse(in);
    ASSERT_EQ(p.r.status, ParseStatus::complete) << m;
    EXPECT_EQ(p.head.method, m);
  }
  for (const char* bad : {" / HTTP/1.1", "G(T / HTTP/1.1", "GE\tT / HTTP/1.1", "G\"T / HTTP/1.1",
                          "GET\t/ HTTP/1.1", "GET"}) {
    EXPECT_EQ(status_of(std::string(bad) + "\r\nHost: x\r\n\r\n"), 400) << bad;
  }
}

TEST(HttpParser, RequestTargetForms) {
  struct Case {
    const char* line;
    int status;
  };
  const Case cases[] = {
      {"GET /a/b?c=d#e HTTP/1.1", 0},
      {"GET /%7Euser/ HTTP/1.1", 0},
      {"GET /caf\xc3\xa9 HTTP/1.1", 0},  // obs-text
      {"GET http://example.com/x?y HTTP/1.1", 0},
      {"GET http://example.com HTTP/1.1", 0},
      {"GET http://example.com:8080?q HTTP/1.1", 0},
      {"GET https://[::1]:443/ HTTP/1.1", 0},
      {"CONNECT example.com:443 HTTP/1.1", 0},
      {"CONNECT [2001:db8::1]:443 HTTP/1.1", 0},
      {"OPTIONS * HTTP/1.1", 0},
      {"OPTIONS /x HTTP/1.1", 0},
      // wrong form for the method
      {"GET * HTTP/1.1", 400},
      {"CONNECT / HTTP/1.1", 400},
      {"CONNECT example.com HTTP/1.1", 400},
      {"CONNECT example.com: HTTP/1.1", 400},
      {"CONNECT http://example.com:443 HTTP/1.1", 400},
      {"OPTIONS ** HTTP/1.1", 400},
      // malformed absolute-form
      {"GET example.com HTTP/1.1", 400},
      {"GET http:/x HTTP/1.1", 400},
      {"GET http:// HTTP/1.1", 400},
      {"GET http:///x HTTP/1.1", 400},
      {"GET h1tp://x/ HTTP/1.1", 400},
      {"GET http://user@host/ HTTP/1.1", 400},
      {"GET http://host#f HTTP/1.1", 400},
      {"GET http://[::1/ HTTP/1.1", 400},
      {"GET http://host:123456/ HTTP/1.1", 400},
      // bytes that may not appear in a target
      {"GET /a\tb HTTP/1.1", 400},
      {"GET /a\x7f HTTP/1.1", 400},
      {"GET /a\x01 HTTP/1.1", 400},
      {"GET /a\x1f HTTP/1.1", 400},
      {"GET  / HTTP/1.1", 400},
      {"GET / / HTTP/1.1", 400},
      {"GET /  HTTP/1.1", 400},
      {"GET HTTP/1.1", 400},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(status_of(std::string(c.line) + "\r\nHost: x\r\n\r\n"), c.status)
        << testing::PrintToString(std::string(c.line));
  }
  EXPECT_EQ(status_of(std::string("GET /a\0b HTTP/1.1\r\nHost: x\r\n\r\n", 30)), 400);
}

TEST(HttpParser, Versions) {
  const Parsed p10 = parse("GET / HTTP/1.0\r\n\r\n");
  ASSERT_EQ(p10.r.status, ParseStatus::complete);
  EXPECT_EQ(p10.head.version_minor, 0);
  const Parsed p11 = parse("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_EQ(p11.r.status, ParseStatus::complete);
  EXPECT_EQ(p11.head.version_minor, 1);
  // A later 1.x is served as 1.1 (RFC 9110 §6.2): Host is required.
  const Parsed p19 = parse("GET / HTTP/1.9\r\nHost: x\r\n\r\n");
  ASSERT_EQ(p19.r.status, ParseStatus::complete);
  EXPECT_EQ(p19.head.version_minor, 1);
  EXPECT_EQ(status_of("GET / HTTP/1.9\r\n\r\n"), 400);

  for (const char* v : {"HTTP/2.0", "HTTP/3.0", "HTTP/0.9", "HTTP/9.9"}) {
    EXPECT_EQ(status_of("GET / " + std::string(v) + "\r\nHost: x\r\n\r\n"), 505) << v;
  }
  for (const char* v :
       {"HTTP/1.x", "HTTP/11", "HTTP/1.10", "HTTP/10.0", "http/1.1", "HTTP/1", "HTTP/1.",
        "HTTP/ 1.1", "HTTP/1.1 ", "HTTPS/1.1", "HTTP\\1.1", "", "HTTP/2", "HTTP/1,1"}) {
    EXPECT_EQ(status_of("GET / " + std::string(v) + "\r\nHost: x\r\n\r\n"), 400) << v;
  }
  // HTTP/0.9's simple request ("GET /") is not served.
  EXPECT_EQ(status_of("GET /\r\n\r\n"), 400);
}

// ---------------------------------------------------------------------------
// Line endings and header syntax

TEST(HttpParser, StrictCrlf) {
  EXPECT_EQ(status_of("GET / HTTP/1.1\nHost: x\r\n\r\n"), 400);
  EXPECT_EQ(status_of("GET / HTTP/1.1\r\nHost: x\n\r\n"), 400);
  EXPECT_EQ(status_of("GET / HTTP/1.1\r\nHost: x\r\n\n"), 400);
  EXPECT_EQ(status_of("GET / HTTP/1.1\r\nHost: x\r\n\r\r\n"), 400);
  EXPECT_EQ(status_of("GET / HTTP/1.1\rHost: x\r\n\r\n"), 400);
  EXPECT_EQ(status_of("GET / HTTP/1.1\r\nHost: x\rX: y\r\n\r\n"), 400);
  EXPECT_EQ(status_of("\nGET / HTTP/1.1\r\nHost: x\r\n\r\n"), 400);
  EXPECT_EQ(status_of("\r\rGET / HTTP/1.1\r\nHost: x\r\n\r\n"), 400);
}

TEST(HttpParser, LeadingEmptyLinesAreSkipped) {
  const std::string in = "\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n";
  const Parsed p = parse(in);
  ASSERT_EQ(p.r.status, ParseStatus::complete);
  EXPECT_EQ(p.head.method, "GET");
  EXPECT_EQ(p.head.head_bytes, in.size());  // the caller consumes them too
  EXPECT_EQ(status_of("\r\n"), -1);
  EXPECT_EQ(status_of("\r\n\r"), -1);
  EXPECT_EQ(status_of(""), -1);
}

TEST(HttpParser, HeaderSyntax) {
  EXPECT_EQ(status_of(get_with({"X-Fold: a", " b"})), 400);         // obs-fold
  EXPECT_EQ(status_of(get_with({"X-Fold: a", "\tb"})), 400);        // obs-fold
  EXPECT_EQ(status_of("GET / HTTP/1.1\r\n Host: x\r\n\r\n"), 400);  // before the first header
  EXPECT_EQ(status_of("GET / HTTP/1.1\r\nHost : x\r\n\r\n"), 400);
  EXPECT_EQ(status_of("GET / HTTP/1.1\r\nHost\t: x\r\n\r\n"), 400);
  EXPECT_EQ(status_of(get_with({"X A: b"})), 400);
  EXPECT_EQ(status_of(get_with({"X@A: b"})), 400);
  EXPECT_EQ(status_of(get_with({"X(A): b"})), 400);
  EXPECT_EQ(status_of(get_with({": b"})), 400);
  EXPECT_EQ(status_of(get_with({"NoColon"})), 400);
  EXPECT_EQ(status_of(get_with({"X\xc3\xa9: b"})), 400);  // non-ASCII name
  EXPECT_EQ(status_of(get_with({"X-Ok: a:b:c"})), 0);
  EXPECT_EQ(status_of(get_with({"X-Ok: caf\xc3\xa9"})), 0);  // obs-text in a value
  EXPECT_EQ(status_of(get_with({"X-Ok: a\tb"})), 0);         // HTAB inside a value
  EXPECT_EQ(status_of(get_with({"!#$%&'*+-.^_`|~09azAZ: tchars"})), 0);
}

TEST(HttpParser, ControlBytesInValuesAreRejected) {
  for (int c = 0; c < 0x20; ++c) {
    if (c == '\t') continue;
    std::string v = "X-Ctl: ab";
    v.push_back(static_cast<char>(c));
    v.append("cd");
    EXPECT_EQ(status_of(get_with({v})), 400) << "byte " << c;
    // At the end of the value too (where trimming happens).
    std::string e = "X-Ctl: ab";
    e.push_back(static_cast<char>(c));
    EXPECT_EQ(status_of(get_with({e})), 400) << "byte " << c;
  }
  EXPECT_EQ(status_of(get_with({"X-Ctl: ab\x7f"})), 400);
  // Long values go through the word-at-a-time check; a bad byte anywhere.
  const std::string long_value(100, 'v');
  for (std::size_t at = 0; at < long_value.size(); at += 7) {
    std::string v = "X-Long: " + long_value;
    v[8 + at] = '\x01';
    EXPECT_EQ(status_of(get_with({v})), 400) << at;
    v[8 + at] = '\x7f';
    EXPECT_EQ(status_of(get_with({v})), 400) << at;
    v[8 + at] = '\t';
    EXPECT_EQ(status_of(get_with({v})), 0) << at;
    v[8 + at] = '\xff';
    EXPECT_EQ(status_of(get_with({v})), 0) << at;
  }
}

TEST(HttpParser, HostRules) {
  EXPECT_EQ(status_of("GET / HTTP/1.1\r\n\r\n"), 400);
  EXPECT_EQ(status_of("GET / HTTP/1.1\r\nX: y\r\n\r\n"), 400);
  EXPECT_EQ(status_of("GET / HTTP/1.0\r\n\r\n"), 0);  // not required in 1.0
  EXPECT_EQ(status_of("GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n"), 400);
  EXPECT_EQ(status_of("GET / HTTP/1.0\r\nHost: a\r\nhost: b\r\n\r\n"), 400);
  const Parsed empty = parse("GET / HTTP/1.1\r\nHost:\r\n\r\n");  // allowed: no authority
  ASSERT_EQ(empty.r.status, ParseStatus::complete);
  EXPECT_EQ(empty.head.host, "");
  for (const char* ok : {"example.com", "example.com:80", "127.0.0.1:8080", "[::1]", "[::1]:80",
                         "xn--caf-dma.example", "a_b.example", "host:"}) {
    const Parsed p = parse("GET / HTTP/1.1\r\nHost: " + std::string(ok) + "\r\n\r\n");
    EXPECT_EQ(p.r.status, ParseStatus::complete) << ok;
    EXPECT_EQ(p.head.host, ok);
  }
  for (const char* bad : {"a b", "user@host", "host:port", "host:123456", "[::1", "host/path",
                          "host?q", "\"host\"", ":80", "h\xc3\xa9"}) {
    EXPECT_EQ(status_of("GET / HTTP/1.1\r\nHost: " + std::string(bad) + "\r\n\r\n"), 400) << bad;
  }
}

// ---------------------------------------------------------------------------
// Framing: Content-Length, Transfer-Encoding and the smuggling defences

TEST(HttpParser, ContentLength) {
  const Parsed p = parse(get_with({"Content-Length: 42"}));
  ASSERT_EQ(p.r.status, ParseStatus::complete);
  EXPECT_EQ(p.head.body, BodyKind::length);
  EXPECT_EQ(p.head.content_length, 42u);
  const Parsed zero = parse(get_with({"Content-Length: 0"}));
  EXPECT_EQ(zero.head.body, BodyKind::length);
  EXPECT_EQ(zero.head.content_length, 0u);
  const Parsed ows = parse(get_with({"content-length:   7  "}));
  EXPECT_EQ(ows.head.content_length, 7u);
  // HTAB around framing values is refused (see TransferEncoding).
  EXPECT_EQ(status_of(get_with({"Content-Length: 7\t"})), 400);
  EXPECT_EQ(status_of(get_with({"Content-Length:\t7"})), 400);
  const Parsed big = parse(get_with({"Content-Length: 9999999999999999999"}));  // 19 digits
  ASSERT_EQ(big.r.status, ParseStatus::complete);
  EXPECT_EQ(big.head.content_length, 9999999999999999999u);
  const Parsed lead = parse(get_with({"Content-Length: 007"}));
  EXPECT_EQ(lead.head.content_length, 7u);

  for (const char* bad : {"+5", "-5", "5 5", "0x5", "5,5", "5, 5", "", "5a", "a", "5.0", "\"5\"",
                          "18446744073709551615", "18446744073709551616", "99999999999999999999",
                          "00000000000000000001"}) {
    EXPECT_EQ(status_of(get_with({"Content-Length: " + std::string(bad)})), 400) << bad;
  }
}

TEST(HttpParser, DuplicateContentLength) {
  EXPECT_EQ(status_of(get_with({"Content-Length: 5", "Content-Length: 6"})), 400);
  EXPECT_EQ(status_of(get_with({"Content-Length: 5", "Content-Length: 50"})), 400);
  const Parsed same = parse(get_with({"Content-Length: 5", "content-length: 5"}));
  ASSERT_EQ(same.r.status, ParseStatus::complete);
  EXPECT_EQ(same.head.body, BodyKind::length);
  EXPECT_EQ(same.head.content_length, 5u);
  const Parsed zeros = parse(get_with({"Content-Length: 5", "Content-Length: 005"}));
  EXPECT_EQ(zeros.r.status, ParseStatus::complete);  // the same value
}

TEST(HttpParser, TransferEncoding) {
  const Parsed p = parse(get_with({"Transfer-Encoding: chunked"}));
  ASSERT_EQ(p.r.status, ParseStatus::complete);
  EXPECT_EQ(p.head.body, BodyKind::chunked);
  EXPECT_EQ(p.head.content_length, 0u);
  EXPECT_EQ(parse(get_with({"transfer-encoding: Chunked"})).head.body, BodyKind::chunked);
  EXPECT_EQ(parse(get_with({"Transfer-Encoding:  chunked  "})).head.body, BodyKind::chunked);
  // HTAB is OWS, but not to every parser around framing headers: refused.
  EXPECT_EQ(status_of(get_with({"Transfer-Encoding: chunked\t"})), 400);
  EXPECT_EQ(status_of(get_with({"Transfer-Encoding:\tchunked"})), 400);
  EXPECT_EQ(status_of(get_with({"Transfer-Encoding: gzip,\tchunked"})), 400);

  // The smuggling defences.
  EXPECT_EQ(status_of(get_with({"Content-Length: 5", "Transfer-Encoding: chunked"})), 400);
  EXPECT_EQ(status_of(get_with({"Transfer-Encoding: chunked", "Content-Length: 5"})), 400);
  EXPECT_EQ(status_of(get_with({"Transfer-Encoding: chunked", "Content-Length: 0"})), 400);
  EXPECT_EQ(status_of(get_with({"Transfer-Encoding: chunked, gzip"})), 400);
  EXPECT_EQ(status_of(get_with({"Transfer-Encoding: gzip, chunked"})), 501);
  EXPECT_EQ(status_of(get_with({"Transfer-Encoding: identity"})), 501);
  EXPECT_EQ(status_of(get_with({"Transfer-Encoding: gzip"})), 501);
  EXPECT_EQ(status_of(get_with({"Transfer-Encoding: chunked, chunked"})), 400);
  EXPECT_EQ(status_of(get_with({"Transfer-Encoding: chunked", "Transfer-Encoding: chunked"})), 400);
  // Several field lines are one list.
  EXPECT_EQ(status_of(get_with({"Transfer-Encoding: gzip", "Transfer-Encoding: chunked"})), 501);
  EXPECT_EQ(status_of(get_with({"Transfer-Encoding: chunked", "Transfer-Encoding: gzip"})), 400);
  // Malformed lists.
  for (const char* bad : {"", ",", "chunked,", ",chunked", "chunked,,", "chunked;q=1", "chunked x",
                          "\"chunked\"", "chunk ed", "chunked\xc3\xa9"}) {
    EXPECT_EQ(status_of(get_with({"Transfer-Encoding: " + std::string(bad)})), 400) << bad;
  }
  // HTTP/1.0 has no chunked coding.
  EXPECT_EQ(status_of("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n"), 400);
  // Lookalike names are just headers.
  EXPECT_EQ(parse(get_with({"Transfer-Encodings: gzip"})).head.body, BodyKind::none);
  EXPECT_EQ(parse(get_with({"X-Content-Length: x"})).head.body, BodyKind::none);
}

// ---------------------------------------------------------------------------
// Connection semantics

TEST(HttpParser, KeepAlive) {
  EXPECT_TRUE(parse(get_with({})).head.keep_alive);
  EXPECT_FALSE(parse(get_with({"Connection: close"})).head.keep_alive);
  EXPECT_FALSE(parse(get_with({"Connection: Close"})).head.keep_alive);
  EXPECT_FALSE(parse(get_with({"Connection: keep-alive, close"})).head.keep_alive);
  EXPECT_FALSE(parse(get_with({"Connection: keep-alive", "Connection: close"})).head.keep_alive);
  EXPECT_TRUE(parse(get_with({"Connection: closed"})).head.keep_alive);
  EXPECT_TRUE(parse(get_with({"Connection: keep-alive"})).head.keep_alive);
  EXPECT_FALSE(parse(get_with({}, "1.0")).head.keep_alive);
  EXPECT_TRUE(parse(get_with({"Connection: Keep-Alive"}, "1.0")).head.keep_alive);
  EXPECT_TRUE(parse(get_with({"Connection: foo ,\tkeep-alive"}, "1.0")).head.keep_alive);
  EXPECT_FALSE(parse(get_with({"Connection: keep-alive,close"}, "1.0")).head.keep_alive);
  EXPECT_FALSE(parse(get_with({"Connection: keepalive"}, "1.0")).head.keep_alive);
}

TEST(HttpParser, ExpectAndUpgrade) {
  EXPECT_TRUE(parse(get_with({"Expect: 100-continue"})).head.expect_continue);
  EXPECT_TRUE(parse(get_with({"expect:  100-Continue "})).head.expect_continue);
  EXPECT_FALSE(parse(get_with({"Expect: 200-ok"})).head.expect_continue);
  EXPECT_FALSE(parse(get_with({"Expect: 100-continue"}, "1.0")).head.expect_continue);

  EXPECT_TRUE(parse(get_with({"Connection: Upgrade", "Upgrade: websocket"})).head.upgrade);
  EXPECT_TRUE(parse(get_with({"Upgrade: h2c", "Connection: keep-alive, upgrade"})).head.upgrade);
  EXPECT_FALSE(parse(get_with({"Upgrade: websocket"})).head.upgrade);
  EXPECT_FALSE(parse(get_with({"Connection: upgrade"})).head.upgrade);
  EXPECT_FALSE(parse(get_with({"Connection: upgrade", "Upgrade: websocket"}, "1.0")).head.upgrade);
}

TEST(HttpParser, TokensAndCase) {
  using weft::http::has_token;
  using weft::http::iequals;
  EXPECT_TRUE(iequals("Content-Length", "content-LENGTH"));
  EXPECT_TRUE(iequals("", ""));
  EXPECT_FALSE(iequals("a", "ab"));
  EXPECT_FALSE(iequals("[", "{"));  // not a letter: no case folding
  EXPECT_FALSE(iequals("@", "`"));
  EXPECT_TRUE(has_token("close", "close"));
  EXPECT_TRUE(has_token(" a ,\tClose\t, b", "close"));
  EXPECT_TRUE(has_token("a,,close", "close"));
  EXPECT_FALSE(has_token("closed", "close"));
  EXPECT_FALSE(has_token("a close", "close"));
  EXPECT_FALSE(has_token("", "close"));
  EXPECT_TRUE(has_token("keep-alive, Upgrade", "upgrade"));
}

// ---------------------------------------------------------------------------
// Limits

TEST(HttpParser, RequestLineLimit) {
  HeadLimits limits;
  limits.max_request_line = 64;
  const std::string prefix = "GET /";
  const std::string suffix = " HTTP/1.1";
  const std::size_t fill = limits.max_request_line - prefix.size() - suffix.size();
  const std::string at = prefix + std::string(fill, 'a') + suffix;
  ASSERT_EQ(at.size(), limits.max_request_line);
  EXPECT_EQ(status_of(at + "\r\nHost: x\r\n\r\n", limits), 0);
  const std::string past = prefix + std::string(fill + 1, 'a') + suffix;
  EXPECT_EQ(status_of(past + "\r\nHost: x\r\n\r\n", limits), 414);
  // Without waiting for the rest of the line.
  EXPECT_EQ(status_of(past, limits), 414);
  EXPECT_EQ(status_of(prefix + std::string(200, 'a'), limits), 414);
  EXPECT_EQ(status_of(at + "\r", limits), -1);
  EXPECT_EQ(status_of(at, limits), -1);
  // Not even a method within the limit: 400.
  EXPECT_EQ(status_of(std::string(200, 'G'), limits), 400);
}

TEST(HttpParser, HeadBytesLimit) {
  const std::string base = "GET / HTTP/1.1\r\nHost: x\r\nX-Fill: \r\n\r\n";
  HeadLimits limits;
  limits.max_head_bytes = 200;
  const std::string at = get_with({"X-Fill: " + std::string(200 - base.size(), 'f')});
  ASSERT_EQ(at.size(), 200u);
  const Parsed p = parse(at, limits);
  EXPECT_EQ(p.r.status, ParseStatus::complete);
  EXPECT_EQ(p.head.head_bytes, 200u);
  const std::string past = get_with({"X-Fill: " + std::string(201 - base.size(), 'f')});
  EXPECT_EQ(status_of(past, limits), 431);
  // Without waiting for the end of the head: as soon as it cannot fit.
  EXPECT_EQ(status_of(past.substr(0, 197), limits), -1);
  EXPECT_EQ(status_of(past.substr(0, 199), limits), 431);  // no room for the final CRLF
  EXPECT_EQ(status_of(past.substr(0, 200), limits), 431);
  EXPECT_EQ(status_of(get_with({"X-Fill: " + std::string(1000, 'f')}).substr(0, 500), limits), 431);
  // Only the head counts, not a body behind it.
  const std::string with_body =
      get_with({"Content-Length: 100", "X: " + std::string(200 - base.size() - 21, 'f')}) +
      std::string(100, 'b');
  EXPECT_EQ(status_of(with_body, limits), 0);
  // Leading empty lines are part of the head.
  EXPECT_EQ(status_of("\r\n" + at, limits), 431);
}

TEST(HttpParser, HeaderCountLimit) {
  HeadLimits limits;
  limits.max_headers = 5;
  // Host + 4 = 5 headers: fine; one more: 431.
  const std::string at = get_with({"A: 1", "B: 2", "C: 3", "D: 4"});
  const Parsed p = parse(at, limits);
  ASSERT_EQ(p.r.status, ParseStatus::complete);
  EXPECT_EQ(p.head.header_count, 5u);
  const std::string past = get_with({"A: 1", "B: 2", "C: 3", "D: 4", "E: 5"});
  EXPECT_EQ(status_of(past, limits), 431);
  // As soon as the sixth header line starts.
  EXPECT_EQ(status_of(past.substr(0, past.find("E:") + 1), limits), 431);
  EXPECT_EQ(status_of(past.substr(0, past.find("E:")), limits), -1);
}

// ---------------------------------------------------------------------------
// Restarts and pipelining

TEST(HttpParser, EveryPrefixOfAValidHeadIsIncomplete) {
  const std::string requests[] = {
      kBrowser,
      "GET / HTTP/1.1\r\nHost: localhost:8080\r\n\r\n",
      std::string("\r\n\r\nPOST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                  "Expect: 100-continue\r\n\r\n"),
      "OPTIONS * HTTP/1.0\r\nX-Tab: a\tb\r\nX-Empty:\r\n\r\n",
      "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n",
  };
  for (const std::string& req : requests) {
    const Parsed full = parse(req);
    ASSERT_EQ(full.r.status, ParseStatus::complete) << req;
    ASSERT_EQ(full.head.head_bytes, req.size());
    for (std::size_t n = 0; n < req.size(); ++n) {
      const Parsed p = parse(std::string_view(req).substr(0, n));
      EXPECT_EQ(p.r.status, ParseStatus::incomplete) << n << ": " << p.r.reason;
    }
  }
}

TEST(HttpParser, GarbageIsRejectedBeforeTheLineEnds) {
  EXPECT_EQ(status_of("GET /\x01"), 400);
  EXPECT_EQ(status_of("G@"), 400);
  EXPECT_EQ(status_of("GET / HTTP/2"), -1);  // a version is judged once complete
  EXPECT_EQ(status_of("GET / HTTQ"), 400);
  EXPECT_EQ(status_of("GET / HTTP/1.1x"), 400);
  EXPECT_EQ(status_of("GET / HTTP/1.1\r\nHo st"), 400);
  EXPECT_EQ(status_of("GET / HTTP/1.1\r\nHost: a\x01"), 400);
  EXPECT_EQ(status_of("GET / HTTP/1.1\r\nHost: a\rb"), 400);
  EXPECT_EQ(status_of("GET / HTTP/1.1\r\nHost: a\r"), -1);
}

TEST(HttpParser, PipelinedRequests) {
  const std::string first = "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello";
  const std::string second = "GET /b HTTP/1.1\r\nHost: y\r\nConnection: close\r\n\r\n";
  const std::string third = "GET /c HTTP/1.1\r\nHost: z\r\n";  // incomplete
  const std::string in = first + second + third;
  std::string_view rest = in;
  const Parsed a = parse(rest);
  ASSERT_EQ(a.r.status, ParseStatus::complete);
  EXPECT_EQ(a.head.target, "/a");
  EXPECT_EQ(a.head.body, BodyKind::length);
  EXPECT_EQ(rest.substr(a.head.head_bytes, a.head.content_length), "hello");
  rest.remove_prefix(a.head.head_bytes + a.head.content_length);
  const Parsed b = parse(rest);
  ASSERT_EQ(b.r.status, ParseStatus::complete);
  EXPECT_EQ(b.head.target, "/b");
  EXPECT_EQ(b.head.host, "y");
  EXPECT_FALSE(b.head.keep_alive);
  EXPECT_EQ(b.head.head_bytes, second.size());
  rest.remove_prefix(b.head.head_bytes);
  EXPECT_EQ(parse(rest).r.status, ParseStatus::incomplete);
}

TEST(HttpParser, ReusedHeadIsReset) {
  std::vector<Header> slots(100);
  RequestHead head;
  head.headers = slots.data();
  const HeadLimits limits;
  ASSERT_EQ(weft::http::parse_request_head(
                get_with({"Content-Length: 3", "Connection: close", "Expect: 100-continue"}), head,
                limits)
                .status,
            ParseStatus::complete);
  EXPECT_FALSE(head.keep_alive);
  const std::string plain = get_with({});
  ASSERT_EQ(weft::http::parse_request_head(plain, head, limits).status, ParseStatus::complete);
  EXPECT_EQ(head.headers, slots.data());
  EXPECT_EQ(head.header_count, 1u);
  EXPECT_EQ(head.body, BodyKind::none);
  EXPECT_EQ(head.content_length, 0u);
  EXPECT_TRUE(head.keep_alive);
  EXPECT_FALSE(head.expect_continue);
}

// ---------------------------------------------------------------------------
// Chunked bodies

struct Decoded {
  ChunkedDecoder::Status status = ChunkedDecoder::Status::more;
  std::string body;
  std::size_t consumed = 0;
  bool over_limit = false;
};

// Feeds `in` as weft does: each call sees what was not consumed before plus
// the next piece, cut at the given offsets.
Decoded decode(std::string_view in, const std::vector<std::size_t>& cuts = {},
               std::uint64_t limit = UINT64_MAX) {
  ChunkedDecoder dec;
  dec.set_limit(limit);
  Decoded out;
  std::string held;
  std::size_t from = 0;
  auto feed_to = [&](std::size_t to) {
    held.append(in.substr(from, to - from));
    from = to;
    for (;;) {
      const auto step = dec.feed(held);
      EXPECT_LE(step.consumed, held.size());
      out.body.append(step.data);
      out.consumed += step.consumed;
      held.erase(0, step.consumed);
      out.status = step.status;
      if (step.status != ChunkedDecoder::Status::more || step.consumed == 0) return;
    }
  };
  for (const std::size_t cut : cuts) {
    feed_to(cut);
    if (out.status != ChunkedDecoder::Status::more) break;
  }
  if (out.status == ChunkedDecoder::Status::more) feed_to(in.size());
  out.over_limit = dec.over_limit();
  EXPECT_EQ(dec.total(), out.body.size());
  return out;
}

const std::string kChunked =
    "5;name=value\r\nhello\r\n"
    "1 ; a ; b = \"q\\\"s; x\"\r\n,\r\n"
    "000a\r\n world 123\r\n"
    "0;last\r\n"
    "X-Trailer: yes\r\n"
    "Server-Timing: db;dur=53\r\n"
    "\r\n";
constexpr std::string_view kChunkedBody = "hello, world 123";

TEST(HttpChunked, DecodesWithExtensionsAndTrailers) {
  const Decoded d = decode(kChunked + "GET / HTTP/1.1\r\n");
  EXPECT_EQ(d.status, ChunkedDecoder::Status::done);
  EXPECT_EQ(d.body, kChunkedBody);
  EXPECT_EQ(d.consumed, kChunked.size());  // the next request is left alone
}

TEST(HttpChunked, EverySplitPoint) {
  for (std::size_t cut = 0; cut <= kChunked.size(); ++cut) {
    const Decoded d = decode(kChunked, {cut});
    EXPECT_EQ(d.status, ChunkedDecoder::Status::done) << cut;
    EXPECT_EQ(d.body, kChunkedBody) << cut;
    EXPECT_EQ(d.consumed, kChunked.size()) << cut;
  }
  for (std::size_t a = 0; a <= kChunked.size(); a += 3) {
    for (std::size_t b = a; b <= kChunked.size(); b += 5) {
      const Decoded d = decode(kChunked, {a, b});
      EXPECT_EQ(d.body, kChunkedBody) << a << "," << b;
      EXPECT_EQ(d.status, ChunkedDecoder::Status::done);
    }
  }
  std::vector<std::size_t> bytewise;
  for (std::size_t i = 1; i < kChunked.size(); ++i)
    bytewise.push_back(i);
  const Decoded d = decode(kChunked, bytewise);
  EXPECT_EQ(d.status, ChunkedDecoder::Status::done);
  EXPECT_EQ(d.body, kChunkedBody);
}

TEST(HttpChunked, DataIsHandedOutAsItArrives) {
  ChunkedDecoder dec;
  auto s = dec.feed("5\r\nhel");
  EXPECT_EQ(s.status, ChunkedDecoder::Status::more);
  EXPECT_EQ(s.consumed, 6u);
  EXPECT_EQ(s.data, "hel");
  s = dec.feed("");
  EXPECT_EQ(s.consumed, 0u);
  s = dec.feed("lo");
  EXPECT_EQ(s.data, "lo");
  EXPECT_EQ(dec.total(), 5u);
  s = dec.feed("\r");  // a lone CR waits
  EXPECT_EQ(s.consumed, 0u);
  EXPECT_EQ(s.status, ChunkedDecoder::Status::more);
}

TEST(HttpChunked, EmptyBodyAndDone) {
  ChunkedDecoder dec;
  auto s = dec.feed("0\r\n\r\nrest");
  EXPECT_EQ(s.status, ChunkedDecoder::Status::done);
  EXPECT_EQ(s.consumed, 5u);
  s = dec.feed("rest");
  EXPECT_EQ(s.status, ChunkedDecoder::Status::done);
  EXPECT_EQ(s.consumed, 0u);
  dec.reset();
  EXPECT_EQ(dec.feed("000\r\n\r\n").status, ChunkedDecoder::Status::done);
}

TEST(HttpChunked, ChunkSizes) {
  const auto status = [](const std::string& s) { return decode(s).status; };
  using S = ChunkedDecoder::Status;
  EXPECT_EQ(status("A\r\n0123456789\r\n0\r\n\r\n"), S::done);
  EXPECT_EQ(status("0000000000000001\r\nx\r\n0\r\n\r\n"), S::done);    // 16 digits
  EXPECT_EQ(status("00000000000000001\r\nx\r\n0\r\n\r\n"), S::error);  // 17
  EXPECT_EQ(status("7fffffffffffffff\r\n"), S::more);                  // 2^63 - 1: waits for data
  EXPECT_EQ(status("8000000000000000\r\n"), S::error);                 // 2^63
  EXPECT_EQ(status("ffffffffffffffff\r\n"), S::error);
  EXPECT_EQ(status("10000000000000000\r\n"), S::error);  // past 2^64
  for (const char* bad :
       {"\r\n",       "-1\r\n",      "+1\r\n",      " 1\r\n",      "\t1\r\n",          "0x1\r\n",
        "g\r\n",      "1g\r\n",      "1 \r\n",      "1\t\r\n",     "1;\r\n",           "1;=x\r\n",
        "1;a=\r\n",   "1;a=\"x\r\n", "1;a=b c\r\n", "1;a b\r\n",   "1;a=\"\x01\"\r\n", "1\n",
        "1\rx\n",     "1\r\r\n",     ";a\r\n",      "1;a\x7f\r\n", "1\t;a\r\n",        "1;\ta\r\n",
        "1;a\t=b\r\n"}) {
    EXPECT_EQ(status(bad), S::error) << testing::PrintToString(std::string(bad));
  }
  for (const char* ok : {"1;a\r\n", "1;a=b\r\n", "1 ;a\r\n", "1; a = \"\"\r\n", "1;a=\"\t\"\r\n",
                         "1;a=\"\\\"\";b\r\n", "1;a=\"x\xff\"\r\n"}) {
    EXPECT_EQ(status(ok), S::more) << testing::PrintToString(std::string(ok));
  }
  // Rejected before the line is complete when it can no longer be valid.
  EXPECT_EQ(status("x"), S::error);
  EXPECT_EQ(status("1;a b"), S::error);
  EXPECT_EQ(status("1;a"), S::more);
}

TEST(HttpChunked, MissingCrlfAfterData) {
  using S = ChunkedDecoder::Status;
  EXPECT_EQ(decode("3\r\nabcX\r\n0\r\n\r\n").status, S::error);
  EXPECT_EQ(decode("3\r\nabc\n0\r\n\r\n").status, S::error);
  EXPECT_EQ(decode("3\r\nabc\rX0\r\n\r\n").status, S::error);
  EXPECT_EQ(decode("3\r\nabcd\r\n0\r\n\r\n").status, S::error);
  EXPECT_EQ(decode("3\r\nabc0\r\n\r\n").status, S::error);
  EXPECT_EQ(decode("0\r\n\n").status, S::error);
  EXPECT_EQ(decode("0\r\n\rx").status, S::error);
  // Errors stick.
  ChunkedDecoder dec;
  EXPECT_EQ(dec.feed("z\r\n").status, S::error);
  EXPECT_EQ(dec.feed("0\r\n\r\n").status, S::error);
}

TEST(HttpChunked, LineLimits) {
  using S = ChunkedDecoder::Status;
  // A size line of exactly 4096 bytes with its CRLF is fine; 4097 is not.
  const std::string base = "1;e=";
  const std::string at = base + std::string(4096 - base.size() - 2, 'v') + "\r\n";
  ASSERT_EQ(at.size(), 4096u);
  EXPECT_EQ(decode(at + "x\r\n0\r\n\r\n").status, S::done);
  const std::string past = base + std::string(4097 - base.size() - 2, 'v') + "\r\n";
  EXPECT_EQ(decode(past + "x\r\n0\r\n\r\n").status, S::error);
  EXPECT_EQ(decode(base + std::string(5000, 'v')).status, S::error);  // without waiting
  // Trailer lines: each up to 4 KiB, all together up to 64 KiB.
  const std::string line = "X-T: " + std::string(4096 - 7, 't') + "\r\n";
  ASSERT_EQ(line.size(), 4096u);
  EXPECT_EQ(decode("0\r\n" + line + "\r\n").status, S::done);
  EXPECT_EQ(decode("0\r\nX-T: " + std::string(4096 - 6, 't') + "\r\n\r\n").status, S::error);
  std::string sixteen;
  for (int i = 0; i < 16; ++i)
    sixteen += line;
  EXPECT_EQ(decode("0\r\n" + sixteen + "\r\n").status, S::done);  // exactly 64 KiB
  EXPECT_EQ(decode("0\r\n" + sixteen + "X: y\r\n\r\n").status, S::error);
  EXPECT_EQ(decode("0\r\n" + sixteen + "X: y").status, S::error);  // without waiting
  // Malformed trailers.
  for (const char* bad : {"0\r\n folded\r\n\r\n", "0\r\nNo colon\r\n\r\n", "0\r\nX : y\r\n\r\n",
                          "0\r\nX: a\x01\r\n\r\n", "0\r\nX: y\n\r\n", "0\r\n: y\r\n\r\n"}) {
    EXPECT_EQ(decode(bad).status, S::error) << testing::PrintToString(std::string(bad));
  }
}

TEST(HttpChunked, BodyLimit) {
  using S = ChunkedDecoder::Status;
  const std::string body = "3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n";
  const Decoded at = decode(body, {}, 5);
  EXPECT_EQ(at.status, S::done);
  EXPECT_FALSE(at.over_limit);
  const Decoded past = decode(body, {}, 4);
  EXPECT_EQ(past.status, S::error);
  EXPECT_TRUE(past.over_limit);
  EXPECT_EQ(past.body, "abc");  // refused at the size line, before its data
  // A huge declared chunk is refused at once.
  const Decoded huge = decode("7fffffffffffffff\r\n", {}, 1 << 20);
  EXPECT_EQ(huge.status, S::error);
  EXPECT_TRUE(huge.over_limit);
  // Malformed is not over the limit.
  const Decoded bad = decode("q\r\n", {}, 4);
  EXPECT_EQ(bad.status, S::error);
  EXPECT_FALSE(bad.over_limit);
}

}  // namespace
