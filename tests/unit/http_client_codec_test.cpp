// http_client_codec_test.cpp — the HTTP/1.1 client codec without sockets:
// status lines, header syntax, body framing (RFC 9112 §6.3), keep-alive,
// restartable parsing at every split point, chunked bodies, and request and
// chunk writing (byte-exact, refusing injection, parsed back by the server's
// request parser).
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "http/request_parser.hpp"
#include "http/response_parser.hpp"

namespace {

using weft::http::BodyKind;
using weft::http::ChunkedDecoder;
using weft::http::Header;
using weft::http::HeadLimits;
using weft::http::ParseResult;
using weft::http::ParseStatus;
using weft::http::RequestHead;
using weft::http::ResponseHead;
using namespace std::string_view_literals;

// A response head parser with its own header array.
class Response {
 public:
  explicit Response(HeadLimits limits = {}) : limits_(limits), headers_(limits.max_headers) {
    head.headers = headers_.data();
  }
  ParseResult parse(std::string_view in, std::string_view method = "GET") {
    return weft::http::parse_response_head(in, head, limits_, method);
  }
  ParseStatus status(std::string_view in, std::string_view method = "GET") {
    return parse(in, method).status;
  }

  ResponseHead head;

 private:
  HeadLimits limits_;
  std::vector<Header> headers_;
};

ParseStatus parse_status(std::string_view in, std::string_view method = "GET") {
  Response r;
  return r.status(in, method);
}

// ---------------------------------------------------------------- status line

TEST(HttpClientCodec, StatusLineWithReason) {
  Response r;
  const std::string_view in = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
  const ParseResult res = r.parse(in);
  ASSERT_EQ(res.status, ParseStatus::complete) << res.reason;
  EXPECT_EQ(res.error_status, 0);
  EXPECT_EQ(r.head.version_minor, 1);
  EXPECT_EQ(r.head.status, 200);
  EXPECT_EQ(r.head.reason, "OK");
  EXPECT_EQ(r.head.head_bytes, in.size());
  EXPECT_EQ(r.head.header_count, 1U);
}

TEST(HttpClientCodec, StatusLineReasonWithSpacesTabsAndObsText) {
  Response r;
  ASSERT_EQ(r.status("HTTP/1.0 404 Not Found\r\n\r\n"), ParseStatus::complete);
  EXPECT_EQ(r.head.version_minor, 0);
  EXPECT_EQ(r.head.status, 404);
  EXPECT_EQ(r.head.reason, "Not Found");

  ASSERT_EQ(r.status("HTTP/1.1 599 Very\tOdd \xe9t\xe9 \r\n\r\n"), ParseStatus::complete);
  EXPECT_EQ(r.head.status, 599);
  EXPECT_EQ(r.head.reason, "Very\tOdd \xe9t\xe9 ");
}

TEST(HttpClientCodec, StatusLineEmptyReason) {
  Response r;
  ASSERT_EQ(r.status("HTTP/1.1 200 \r\n\r\n"), ParseStatus::complete);
  EXPECT_EQ(r.head.status, 200);
  EXPECT_EQ(r.head.reason, "");
  EXPECT_EQ(r.head.head_bytes, 17U);

  // Without the SP before the (empty) reason, as some servers send it.
  ASSERT_EQ(r.status("HTTP/1.1 200\r\n\r\n"), ParseStatus::complete);
  EXPECT_EQ(r.head.status, 200);
  EXPECT_EQ(r.head.reason, "");
  EXPECT_EQ(r.head.head_bytes, 16U);
}

TEST(HttpClientCodec, StatusCodeRange) {
  Response r;
  ASSERT_EQ(r.status("HTTP/1.1 100 Continue\r\n\r\n"), ParseStatus::complete);
  EXPECT_EQ(r.head.status, 100);
  ASSERT_EQ(r.status("HTTP/1.1 999 Whatever\r\nContent-Length: 0\r\n\r\n"), ParseStatus::complete);
  EXPECT_EQ(r.head.status, 999);
  EXPECT_EQ(r.status("HTTP/1.1 099 Low\r\n\r\n"), ParseStatus::error);
  EXPECT_EQ(r.status("HTTP/1.1 000 Zero\r\n\r\n"), ParseStatus::error);
}

TEST(HttpClientCodec, LaterMinorVersionsAreHttp11) {
  Response r;
  ASSERT_EQ(r.status("HTTP/1.2 200 OK\r\nContent-Length: 0\r\n\r\n"), ParseStatus::complete);
  EXPECT_EQ(r.head.version_minor, 2);
  EXPECT_TRUE(r.head.keep_alive);
}

TEST(HttpClientCodec, BadStatusLines) {
  const std::string_view bad[] = {
      "HTTP/2 200 OK\r\n\r\n",       "HTTP/2.0 200 OK\r\n\r\n",     "HTTP/0.9 200 OK\r\n\r\n",
      "HTTP/1.x 200 OK\r\n\r\n",     "HTTP/1. 200 OK\r\n\r\n",      "HTTP/11 200 OK\r\n\r\n",
      "HTTP/1.10 200 OK\r\n\r\n",    "http/1.1 200 OK\r\n\r\n",     "HTTPS/1.1 200 OK\r\n\r\n",
      "ICY 200 OK\r\n\r\n",          " HTTP/1.1 200 OK\r\n\r\n",    "\r\nHTTP/1.1 200 OK\r\n\r\n",
      "HTTP/1.1  200 OK\r\n\r\n",    "HTTP/1.1\t200 OK\r\n\r\n",    "HTTP/1.1 20 OK\r\n\r\n",
      "HTTP/1.1 2000 OK\r\n\r\n",    "HTTP/1.1 20x OK\r\n\r\n",     "HTTP/1.1 200OK\r\n\r\n",
      "HTTP/1.1 200\tOK\r\n\r\n",    "HTTP/1.1 -20 OK\r\n\r\n",     "HTTP/1.1 200 OK\n\r\n",
      "HTTP/1.1 200\n\r\n",          "HTTP/1.1 200 OK\r\r\n\r\n",   "HTTP/1.1 200 OK\rX\n\r\n",
      "HTTP/1.1 200 O\0K\r\n\r\n"sv, "HTTP/1.1 200 O\x01K\r\n\r\n", "HTTP/1.1 200 O\x7fK\r\n\r\n",
      "HTTP/1.1 200 O\x1bK\r\n\r\n",
  };
  for (const std::string_view in : bad) {
    Response r;
    const ParseResult res = r.parse(in);
    EXPECT_EQ(res.status, ParseStatus::error) << testing::PrintToString(std::string(in));
    EXPECT_EQ(res.error_status, 0);
    EXPECT_NE(std::string_view(res.reason), "");
  }
}

TEST(HttpClientCodec, BadPrefixIsRejectedBeforeTheLineEnds) {
  EXPECT_EQ(parse_status("HTTX"), ParseStatus::error);
  EXPECT_EQ(parse_status("HTTP/2"), ParseStatus::error);
  EXPECT_EQ(parse_status("HTTP/1.1 2x"), ParseStatus::error);
  EXPECT_EQ(parse_status("HTTP/1.1 200 O\x01"), ParseStatus::error);
  EXPECT_EQ(parse_status("HTTP/1.1 200 OK\r\nBad Name"), ParseStatus::error);
}

TEST(HttpClientCodec, StatusLineLimit) {
  HeadLimits limits;
  limits.max_request_line = 20;
  Response r(limits);
  // Exactly 20 bytes before the CRLF is allowed; 21 is not.
  const std::string ok = "HTTP/1.1 200 " + std::string(7, 'r') + "\r\nContent-Length: 0\r\n\r\n";
  const std::string long_line =
      "HTTP/1.1 200 " + std::string(8, 'r') + "\r\nContent-Length: 0\r\n\r\n";
  EXPECT_EQ(r.status(ok), ParseStatus::complete);
  EXPECT_EQ(r.status(long_line), ParseStatus::error);
  EXPECT_EQ(r.parse(long_line).error_status, 431);
  // An unfinished line over the limit is an error too, not a wait.
  EXPECT_EQ(r.status("HTTP/1.1 200 " + std::string(30, 'r')), ParseStatus::error);
  EXPECT_EQ(r.status("HTTP/1.1 200 " + std::string(7, 'r')), ParseStatus::incomplete);
}

// -------------------------------------------------------------------- headers

TEST(HttpClientCodec, HeadersAreViewsWithTrimmedValues) {
  Response r;
  const std::string in =
      "HTTP/1.1 200 OK\r\n"
      "Content-Type: text/plain\r\n"
      "X-Empty:\r\n"
      "X-Spaces: \t padded value \t \r\n"
      "Set-Cookie: a=1\r\n"
      "set-cookie: b=2\r\n"
      "Content-Length: 3\r\n"
      "\r\n"
      "abc";
  ASSERT_EQ(r.status(in), ParseStatus::complete);
  EXPECT_EQ(r.head.head_bytes, in.size() - 3);
  ASSERT_EQ(r.head.header_count, 6U);
  EXPECT_EQ(r.head.headers[0].name, "Content-Type");
  EXPECT_EQ(r.head.headers[0].value, "text/plain");
  EXPECT_EQ(r.head.headers[1].value, "");
  EXPECT_EQ(r.head.headers[2].value, "padded value");
  EXPECT_EQ(r.head.headers[4].name, "set-cookie");
  for (std::size_t i = 0; i < r.head.header_count; ++i) {
    const Header& h = r.head.headers[i];
    EXPECT_GE(h.name.data(), in.data());
    EXPECT_LE(h.value.data() + h.value.size(), in.data() + in.size());
  }
  EXPECT_EQ(r.head.header("content-type"), "text/plain");
  EXPECT_EQ(r.head.header("SET-COOKIE"), "a=1");
  EXPECT_EQ(r.head.header("X-Missing"), "");
  EXPECT_EQ(r.head.reason.data(), in.data() + 13);
}

TEST(HttpClientCodec, HeaderValueMayHoldObsTextAndTabs) {
  Response r;
  ASSERT_EQ(r.status("HTTP/1.1 200 OK\r\nX-Name: caf\xc3\xa9\tbar\r\nContent-Length: 0\r\n\r\n"),
            ParseStatus::complete);
  EXPECT_EQ(r.head.header("x-name"), "caf\xc3\xa9\tbar");
}

TEST(HttpClientCodec, HeaderRejections) {
  const std::string_view bad[] = {
      "HTTP/1.1 200 OK\r\nX-Fold: a\r\n b\r\nContent-Length: 0\r\n\r\n",   // obs-fold
      "HTTP/1.1 200 OK\r\nX-Fold: a\r\n\tb\r\nContent-Length: 0\r\n\r\n",  // obs-fold (tab)
      "HTTP/1.1 200 OK\r\n Leading: a\r\nContent-Length: 0\r\n\r\n",       // ws first line
      "HTTP/1.1 200 OK\r\nContent-Length : 0\r\n\r\n",                     // SP before colon
      "HTTP/1.1 200 OK\r\nContent-Length\t: 0\r\n\r\n",                    // tab before colon
      "HTTP/1.1 200 OK\r\n: value\r\nContent-Length: 0\r\n\r\n",           // empty name
      "HTTP/1.1 200 OK\r\nX(y): 1\r\nContent-Length: 0\r\n\r\n",           // not a token
      "HTTP/1.1 200 OK\r\nX\xe9: 1\r\nContent-Length: 0\r\n\r\n",          // not a token
      "HTTP/1.1 200 OK\r\nNo colon here\r\nContent-Length: 0\r\n\r\n",     // no colon
      "HTTP/1.1 200 OK\r\nNoColon\r\n\r\n",                                // no colon
      "HTTP/1.1 200 OK\r\nX: a\0b\r\nContent-Length: 0\r\n\r\n"sv,         // NUL
      "HTTP/1.1 200 OK\r\nX: a\001b\r\nContent-Length: 0\r\n\r\n",         // CTL
      "HTTP/1.1 200 OK\r\nX: a\177b\r\nContent-Length: 0\r\n\r\n",         // DEL
      "HTTP/1.1 200 OK\r\nX: a\rb\r\nContent-Length: 0\r\n\r\n",           // bare CR
      "HTTP/1.1 200 OK\r\nX: a\nContent-Length: 0\r\n\r\n",                // bare LF
      "HTTP/1.1 200 OK\r\nX: a\r\n\n",                                     // bare LF ending
      "HTTP/1.1 200 OK\r\nX: a\r\n\rX",                                    // CR then junk
      "HTTP/1.1 200 OK\r\nX: a\r\r\n\r\n",                                 // CR CR LF
  };
  for (const std::string_view in : bad) {
    Response r;
    const ParseResult res = r.parse(in);
    EXPECT_EQ(res.status, ParseStatus::error) << testing::PrintToString(std::string(in));
    EXPECT_EQ(res.error_status, 0);
  }
}

TEST(HttpClientCodec, HeaderCountLimit) {
  HeadLimits limits;
  limits.max_headers = 2;
  Response r(limits);
  EXPECT_EQ(r.status("HTTP/1.1 200 OK\r\nA: 1\r\nContent-Length: 0\r\n\r\n"),
            ParseStatus::complete);
  EXPECT_EQ(r.status("HTTP/1.1 200 OK\r\nA: 1\r\nB: 2\r\nContent-Length: 0\r\n\r\n"),
            ParseStatus::error);
  EXPECT_EQ(r.parse("HTTP/1.1 200 OK\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n").error_status, 431);

  HeadLimits none;
  none.max_headers = 0;
  Response z(none);
  EXPECT_EQ(z.status("HTTP/1.1 204 No Content\r\n\r\n"), ParseStatus::complete);
  EXPECT_EQ(z.status("HTTP/1.1 204 No Content\r\nA: 1\r\n\r\n"), ParseStatus::error);
}

TEST(HttpClientCodec, HeadSizeLimit) {
  const std::string head = "HTTP/1.1 200 OK\r\nX-Pad: " + std::string(40, 'p') + "\r\n\r\n";
  HeadLimits limits;
  limits.max_head_bytes = head.size();
  Response r(limits);
  // A head that ends exactly at the limit is fine, whatever follows.
  EXPECT_EQ(r.status(head), ParseStatus::complete);
  EXPECT_EQ(r.status(head + "body"), ParseStatus::complete);
  EXPECT_EQ(r.head.head_bytes, head.size());

  limits.max_head_bytes = head.size() - 1;
  Response small(limits);
  EXPECT_EQ(small.status(head), ParseStatus::error);
  // Up to the limit it may still be waiting for the rest...
  EXPECT_EQ(small.status(head.substr(0, head.size() - 1)), ParseStatus::incomplete);
  // ...but one byte past it without an end is too large.
  EXPECT_EQ(small.status(head.substr(0, head.size() - 1) + "x"), ParseStatus::error);
  EXPECT_EQ(small.parse(head).error_status, 431);
}

// -------------------------------------------------------------------- framing

TEST(HttpClientCodec, ContentLengthFraming) {
  Response r;
  ASSERT_EQ(r.status("HTTP/1.1 200 OK\r\nContent-Length: 42\r\n\r\n"), ParseStatus::complete);
  EXPECT_EQ(r.head.body, BodyKind::length);
  EXPECT_EQ(r.head.content_length, 42U);
  EXPECT_FALSE(r.head.until_close);
  EXPECT_TRUE(r.head.keep_alive);

  ASSERT_EQ(r.status("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"), ParseStatus::complete);
  EXPECT_EQ(r.head.body, BodyKind::length);
  EXPECT_EQ(r.head.content_length, 0U);

  ASSERT_EQ(r.status("HTTP/1.1 200 OK\r\ncontent-length:  7 \r\n\r\n"), ParseStatus::complete);
  EXPECT_EQ(r.head.content_length, 7U);

  ASSERT_EQ(r.status("HTTP/1.1 200 OK\r\nContent-Length: 18446744073709551615\r\n\r\n"),
            ParseStatus::complete);
  EXPECT_EQ(r.head.content_length, UINT64_MAX);

  ASSERT_EQ(r.status("HTTP/1.1 200 OK\r\nContent-Length: 000012\r\n\r\n"), ParseStatus::complete);
  EXPECT_EQ(r.head.content_length, 12U);
}

TEST(HttpClientCodec, DuplicateContentLengthMustAgree) {
  Response r;
  ASSERT_EQ(r.status("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n"),
            ParseStatus::complete);
  EXPECT_EQ(r.head.body, BodyKind::length);
  EXPECT_EQ(r.head.content_length, 5U);
  EXPECT_EQ(r.status("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n"),
            ParseStatus::error);
}

TEST(HttpClientCodec, InvalidContentLength) {
  const std::string_view values[] = {
      "",
      "-1",
      "+5",
      "5, 5",
      "0x10",
      "1e3",
      "5 5",
      "five",
      "18446744073709551616",
      "99999999999999999999999",
      "\xef\xbc\x95",
  };
  for (const std::string_view v : values) {
    const std::string in = "HTTP/1.1 200 OK\r\nContent-Length: " + std::string(v) + "\r\n\r\n";
    EXPECT_EQ(parse_status(in), ParseStatus::error) << v;
    // Invalid even where the response has no body.
    EXPECT_EQ(parse_status(in, "HEAD"), ParseStatus::error) << v;
  }
}

TEST(HttpClientCodec, ChunkedFraming) {
  const std::string_view chunked[] = {
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: CHUNKED\r\n\r\n",
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n",
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: , gzip ,, chunked ,\r\n\r\n",
  };
  for (const std::string_view in : chunked) {
    Response r;
    ASSERT_EQ(r.status(in), ParseStatus::complete) << in;
    EXPECT_EQ(r.head.body, BodyKind::chunked) << in;
    EXPECT_FALSE(r.head.until_close);
    EXPECT_TRUE(r.head.keep_alive);
    EXPECT_EQ(r.head.head_bytes, in.size());
  }
}

TEST(HttpClientCodec, TransferEncodingNotEndingInChunkedReadsUntilClose) {
  Response r;
  ASSERT_EQ(r.status("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n"), ParseStatus::complete);
  EXPECT_EQ(r.head.body, BodyKind::none);
  EXPECT_TRUE(r.head.until_close);
  EXPECT_FALSE(r.head.keep_alive);
}

TEST(HttpClientCodec, InvalidTransferEncoding) {
  const std::string_view bad[] = {
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n",
      "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
      "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: gzip\r\n\r\n",
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n",
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, chunked\r\n\r\n",
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
      "HTTP/1.1 200 OK\r\nTransfer-Encoding:\r\n\r\n",
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: ,\r\n\r\n",
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: ;x=1\r\n\r\n",
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: gz ip\r\n\r\n",
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: \"chunked\"\r\n\r\n",
      "HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
  };
  for (const std::string_view in : bad) {
    EXPECT_EQ(parse_status(in), ParseStatus::error) << in;
  }
}

TEST(HttpClientCodec, NoFramingReadsUntilClose) {
  Response r;
  ASSERT_EQ(r.status("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nand then..."),
            ParseStatus::complete);
  EXPECT_EQ(r.head.body, BodyKind::none);
  EXPECT_TRUE(r.head.until_close);
  EXPECT_FALSE(r.head.keep_alive);

  ASSERT_EQ(r.status("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\n\r\n"), ParseStatus::complete);
  EXPECT_TRUE(r.head.until_close);
  EXPECT_FALSE(r.head.keep_alive);
}

TEST(HttpClientCodec, ResponsesWithoutBody) {
  struct Case {
    std::string_view in;
    std::string_view method;
  };
  const Case cases[] = {
      {"HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n", "HEAD"},
      {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", "HEAD"},
      {"HTTP/1.1 200 OK\r\n\r\n", "HEAD"},
      {"HTTP/1.1 100 Continue\r\n\r\n", "POST"},
      {"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
       "GET"},
      {"HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n", "GET"},
      {"HTTP/1.1 204 No Content\r\n\r\n", "GET"},
      {"HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\n", "DELETE"},
      {"HTTP/1.1 304 Not Modified\r\nContent-Length: 99\r\n\r\n", "GET"},
      {"HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\n", "GET"},
      {"HTTP/1.1 200 Connection established\r\n\r\n", "CONNECT"},
  };
  for (const Case& c : cases) {
    Response r;
    ASSERT_EQ(r.status(c.in, c.method), ParseStatus::complete) << c.in;
    EXPECT_EQ(r.head.body, BodyKind::none) << c.in;
    EXPECT_FALSE(r.head.until_close) << c.in;
    EXPECT_EQ(r.head.content_length, 0U) << c.in;
    EXPECT_EQ(r.head.head_bytes, c.in.size()) << c.in;
    EXPECT_TRUE(r.head.keep_alive) << c.in;
  }
}

TEST(HttpClientCodec, BodyRulesOnlyForTheRightStatusAndMethod) {
  Response r;
  // 205 and 200 answers to GET, and a refused CONNECT, have bodies.
  ASSERT_EQ(r.status("HTTP/1.1 205 Reset Content\r\nContent-Length: 0\r\n\r\n"),
            ParseStatus::complete);
  EXPECT_EQ(r.head.body, BodyKind::length);
  ASSERT_EQ(r.status("HTTP/1.1 407 Proxy Auth\r\nContent-Length: 3\r\n\r\n", "CONNECT"),
            ParseStatus::complete);
  EXPECT_EQ(r.head.body, BodyKind::length);
  EXPECT_EQ(r.head.content_length, 3U);
  // The method is case-sensitive: "head" is not HEAD.
  ASSERT_EQ(r.status("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n", "head"),
            ParseStatus::complete);
  EXPECT_EQ(r.head.body, BodyKind::length);
}

// ---------------------------------------------------------------- keep-alive

TEST(HttpClientCodec, KeepAlive) {
  struct Case {
    std::string_view in;
    bool keep_alive;
  };
  const Case cases[] = {
      {"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", true},
      {"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n", false},
      {"HTTP/1.1 200 OK\r\nConnection: Close\r\nContent-Length: 0\r\n\r\n", false},
      {"HTTP/1.1 200 OK\r\nConnection: keep-alive, close\r\nContent-Length: 0\r\n\r\n", false},
      {"HTTP/1.1 200 OK\r\nConnection: upgrade\r\nConnection: close\r\nContent-Length: 0\r\n\r\n",
       false},
      {"HTTP/1.1 200 OK\r\nConnection: closed\r\nContent-Length: 0\r\n\r\n", true},
      {"HTTP/1.1 200 OK\r\nX-Connection: close\r\nContent-Length: 0\r\n\r\n", true},
      {"HTTP/1.1 200 OK\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n", false},
      {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", true},
      {"HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n", false},
      {"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n", true},
      {"HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 0\r\n\r\n", true},
      {"HTTP/1.0 200 OK\r\nConnection: keep-alive, close\r\nContent-Length: 0\r\n\r\n", false},
      {"HTTP/1.0 304 Not Modified\r\nConnection: keep-alive\r\n\r\n", true},
      {"HTTP/1.0 304 Not Modified\r\n\r\n", false},
      {"HTTP/1.1 200 OK\r\n\r\n", false},  // until close
  };
  for (const Case& c : cases) {
    Response r;
    ASSERT_EQ(r.status(c.in), ParseStatus::complete) << c.in;
    EXPECT_EQ(r.head.keep_alive, c.keep_alive) << c.in;
  }
}

// ---------------------------------------------------------- restartability

TEST(HttpClientCodec, IncompleteAtEverySplitPoint) {
  const std::string_view responses[] = {
      "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Type: text/plain\r\n\r\n",
      "HTTP/1.1 200 \r\nTransfer-Encoding: chunked\r\n\r\n",
      "HTTP/1.1 204\r\n\r\n",
      "HTTP/1.0 404 Not Found\r\nX-Empty:\r\nX-Pad:   v  \r\n\r\n",
      "HTTP/1.1 100 Continue\r\n\r\n",
  };
  for (const std::string_view full : responses) {
    for (std::size_t k = 0; k < full.size(); ++k) {
      Response r;
      const ParseResult res = r.parse(full.substr(0, k));
      EXPECT_EQ(res.status, ParseStatus::incomplete) << "prefix " << k << " of " << full;
    }
    Response r;
    ASSERT_EQ(r.status(full), ParseStatus::complete) << full;
    EXPECT_EQ(r.head.head_bytes, full.size());
    // Whatever follows the head is not part of it.
    const std::string more = std::string(full) + "HTTP/1.1 200 OK\r\n";
    Response again;
    ASSERT_EQ(again.status(more), ParseStatus::complete) << full;
    EXPECT_EQ(again.head.head_bytes, full.size());
  }
}

TEST(HttpClientCodec, ReparsingResetsEarlierResults) {
  Response r;
  ASSERT_EQ(r.status("HTTP/1.1 200 OK\r\nContent-Length: 9\r\nA: b\r\n\r\n"),
            ParseStatus::complete);
  ASSERT_EQ(r.status("HTTP/1.1 304 Not Modified\r\n\r\n"), ParseStatus::complete);
  EXPECT_EQ(r.head.header_count, 0U);
  EXPECT_EQ(r.head.body, BodyKind::none);
  EXPECT_EQ(r.head.content_length, 0U);
  EXPECT_EQ(r.head.header("A"), "");
}

// -------------------------------------------------------------- chunked body

// Decodes a chunked body delivered in pieces of `step` bytes, the way a
// client would: unconsumed input stays buffered and comes back with more.
std::string decode_chunked(std::string_view body, std::size_t step, bool* done,
                           std::size_t* consumed_total) {
  ChunkedDecoder dec;
  std::string out;
  std::string buffered;
  std::size_t fed = 0;
  *done = false;
  *consumed_total = 0;
  for (;;) {
    const std::size_t n = std::min(step, body.size() - fed);
    buffered.append(body.substr(fed, n));
    fed += n;
    std::string_view in = buffered;
    for (;;) {
      const ChunkedDecoder::Step s = dec.feed(in);
      if (s.status == ChunkedDecoder::Status::error) return "<error>";
      out.append(s.data);
      in.remove_prefix(s.consumed);
      *consumed_total += s.consumed;
      if (s.status == ChunkedDecoder::Status::done) {
        *done = true;
        return out;
      }
      if (s.consumed == 0) break;  // needs more input
    }
    buffered.erase(0, buffered.size() - in.size());
    if (fed == body.size()) return out;  // out of input before the end
  }
}

TEST(HttpClientCodec, ChunkedResponseDecodes) {
  std::string wire = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
  const std::size_t head_size = wire.size();
  weft::http::write_chunk(wire, "hello");
  weft::http::write_chunk(wire, ", ");
  weft::http::write_chunk(wire, std::string(300, 'w'));
  weft::http::write_chunk(wire, "");
  wire += "HTTP/1.1 204 No Content\r\n\r\n";  // the next response on the connection

  Response r;
  ASSERT_EQ(r.status(wire), ParseStatus::complete);
  ASSERT_EQ(r.head.head_bytes, head_size);
  ASSERT_EQ(r.head.body, BodyKind::chunked);
  const std::string_view body = std::string_view(wire).substr(head_size);
  const std::string expected = "hello, " + std::string(300, 'w');
  const std::size_t body_size =
      body.size() - std::string_view("HTTP/1.1 204 No Content\r\n\r\n").size();
  for (const std::size_t step : {body.size(), std::size_t{1}, std::size_t{2}, std::size_t{7}}) {
    bool done = false;
    std::size_t consumed = 0;
    EXPECT_EQ(decode_chunked(body, step, &done, &consumed), expected) << "step " << step;
    EXPECT_TRUE(done) << "step " << step;
    EXPECT_EQ(consumed, body_size) << "step " << step;
  }
  // The next response follows the terminating chunk.
  Response next;
  ASSERT_EQ(next.status(body.substr(body_size)), ParseStatus::complete);
  EXPECT_EQ(next.head.status, 204);
}

TEST(HttpClientCodec, ChunkedResponseWithExtensionsAndTrailers) {
  const std::string_view body =
      "4;name=value\r\nWiki\r\n5\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0\r\nExpires: "
      "never\r\n\r\n";
  bool done = false;
  std::size_t consumed = 0;
  EXPECT_EQ(decode_chunked(body, body.size(), &done, &consumed), "Wikipedia in\r\n\r\nchunks.");
  EXPECT_TRUE(done);
  EXPECT_EQ(consumed, body.size());
}

// ------------------------------------------------------------- write_request

TEST(HttpClientCodec, WriteGetRequest) {
  std::string out = "previous;";
  const Header headers[] = {{"Accept", "*/*"}, {"User-Agent", "weft/0.1"}};
  ASSERT_TRUE(weft::http::write_request(out, "GET", "/index.html?q=1", "example.com", headers));
  EXPECT_EQ(out,
            "previous;"
            "GET /index.html?q=1 HTTP/1.1\r\n"
            "Host: example.com\r\n"
            "Accept: */*\r\n"
            "User-Agent: weft/0.1\r\n"
            "\r\n");

  std::string bare;
  ASSERT_TRUE(weft::http::write_request(bare, "GET", "/", "127.0.0.1:8080"));
  EXPECT_EQ(bare, "GET / HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n");
}

TEST(HttpClientCodec, WritePostRequest) {
  std::string out;
  const Header headers[] = {{"Content-Type", "application/json"}};
  ASSERT_TRUE(weft::http::write_request(out, "POST", "/api/v1/items", "api.example", headers,
                                        R"({"a":1})"));
  EXPECT_EQ(out,
            "POST /api/v1/items HTTP/1.1\r\n"
            "Host: api.example\r\n"
            "Content-Type: application/json\r\n"
            "Content-Length: 7\r\n"
            "\r\n"
            R"({"a":1})");
}

TEST(HttpClientCodec, ContentLengthWhenTheMethodExpectsABody) {
  for (const std::string_view method : {"POST"sv, "PUT"sv, "PATCH"sv}) {
    std::string out;
    ASSERT_TRUE(weft::http::write_request(out, method, "/x", "h"));
    EXPECT_EQ(out, std::string(method) + " /x HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n");
  }
  for (const std::string_view method : {"GET"sv, "DELETE"sv, "OPTIONS"sv, "post"sv}) {
    std::string out;
    ASSERT_TRUE(weft::http::write_request(out, method, "/x", "h"));
    EXPECT_EQ(out, std::string(method) + " /x HTTP/1.1\r\nHost: h\r\n\r\n");
  }
  // Any method with a body gets a length.
  std::string out;
  ASSERT_TRUE(weft::http::write_request(out, "DELETE", "/x", "h", {}, "abc"));
  EXPECT_EQ(out, "DELETE /x HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc");
}

TEST(HttpClientCodec, CallerFramingIsKept) {
  std::string out;
  const Header length[] = {{"content-length", "11"}};
  ASSERT_TRUE(weft::http::write_request(out, "PUT", "/f", "h", length, "hello"));
  EXPECT_EQ(out, "PUT /f HTTP/1.1\r\nHost: h\r\ncontent-length: 11\r\n\r\nhello");

  out.clear();
  const Header chunked[] = {{"Transfer-Encoding", "chunked"}};
  std::string body;
  weft::http::write_chunk(body, "data");
  weft::http::write_chunk(body, "");
  ASSERT_TRUE(weft::http::write_request(out, "POST", "/up", "h", chunked, body));
  EXPECT_EQ(out,
            "POST /up HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
            "4\r\ndata\r\n0\r\n\r\n");
}

TEST(HttpClientCodec, InjectionIsRefused) {
  struct Case {
    std::string_view method;
    std::string_view target;
    std::string_view host;
    Header header;
  };
  const Header ok{"X-Ok", "fine"};
  const Case cases[] = {
      {"GET\r\nX: y", "/", "h", ok},
      {"GET\n", "/", "h", ok},
      {"G\0T"sv, "/", "h", ok},
      {"G ET", "/", "h", ok},
      {"", "/", "h", ok},
      {"GET", "", "h", ok},
      {"GET", "/\r\nX-Injected: 1", "h", ok},
      {"GET", "/a\nb", "h", ok},
      {"GET", "/a\0b"sv, "h", ok},
      {"GET", "/a b", "h", ok},
      {"GET", "/a HTTP/1.0\r\n\r\nGET /evil", "h", ok},
      {"GET", "/", "h\r\nX-Injected: 1", ok},
      {"GET", "/", "h\n", ok},
      {"GET", "/", "h\0"sv, ok},
      {"GET", "/", "h x", ok},
      {"GET", "/", "h", {"X-Bad\r\nInjected", "1"}},
      {"GET", "/", "h", {"X-Bad\n", "1"}},
      {"GET", "/", "h", {"X\0Bad"sv, "1"}},
      {"GET", "/", "h", {"Bad Name", "1"}},
      {"GET", "/", "h", {"Bad:", "1"}},
      {"GET", "/", "h", {"", "1"}},
      {"GET", "/", "h", {"X-Value", "a\r\nInjected: 1"}},
      {"GET", "/", "h", {"X-Value", "a\rb"}},
      {"GET", "/", "h", {"X-Value", "a\nb"}},
      {"GET", "/", "h", {"X-Value", "a\0b"sv}},
      {"GET", "/", "h", {"X-Value", "a\001b"}},
      {"GET", "/", "h", {"Host", "other"}},  // a second Host
  };
  for (const Case& c : cases) {
    std::string out = "kept";
    const Header headers[] = {{"Accept", "*/*"}, c.header};
    EXPECT_FALSE(weft::http::write_request(out, c.method, c.target, c.host, headers, "body"))
        << testing::PrintToString(std::string(c.method)) << " "
        << testing::PrintToString(std::string(c.target)) << " "
        << testing::PrintToString(std::string(c.host)) << " "
        << testing::PrintToString(std::string(c.header.name)) << ": "
        << testing::PrintToString(std::string(c.header.value));
    EXPECT_EQ(out, "kept");
  }
  // Both framings at once would be a smuggling vector.
  std::string out = "kept";
  const Header both[] = {{"Content-Length", "4"}, {"Transfer-Encoding", "chunked"}};
  EXPECT_FALSE(weft::http::write_request(out, "POST", "/", "h", both, "body"));
  EXPECT_EQ(out, "kept");
}

TEST(HttpClientCodec, HeaderValuesMayHoldTabsAndObsText) {
  std::string out;
  const Header headers[] = {{"X-A", "a\tb"}, {"X-B", "caf\xc3\xa9"}, {"X-Empty", ""}};
  ASSERT_TRUE(weft::http::write_request(out, "GET", "/", "h", headers));
  EXPECT_EQ(out, "GET / HTTP/1.1\r\nHost: h\r\nX-A: a\tb\r\nX-B: caf\xc3\xa9\r\nX-Empty: \r\n\r\n");
}

// ---------------------------------------------------------------- write_chunk

TEST(HttpClientCodec, WriteChunk) {
  std::string out = ">";
  weft::http::write_chunk(out, "hello");
  EXPECT_EQ(out, ">5\r\nhello\r\n");

  out.clear();
  weft::http::write_chunk(out, std::string(255, 'x'));
  EXPECT_EQ(out, "ff\r\n" + std::string(255, 'x') + "\r\n");

  out.clear();
  weft::http::write_chunk(out, std::string(4096, 'y'));
  EXPECT_EQ(out.substr(0, 6), "1000\r\n");
  EXPECT_EQ(out.size(), 6 + 4096 + 2U);

  out.clear();
  weft::http::write_chunk(out, "");
  EXPECT_EQ(out, "0\r\n\r\n");

  out = "a";
  weft::http::write_chunk(out, "\r\n");  // data is opaque
  EXPECT_EQ(out, "a2\r\n\r\n\r\n");
}

// ----------------------------------------------------------------- round trip

TEST(HttpClientCodec, WrittenRequestsParseBack) {
  struct Case {
    std::string_view method;
    std::string_view target;
    std::string_view body;
  };
  const Case cases[] = {
      {"GET", "/", ""},
      {"GET", "/search?q=a%20b&x=1", ""},
      {"POST", "/api/items", R"({"name":"x"})"},
      {"PUT", "/file", ""},
      {"DELETE", "/items/7", "why"},
      {"OPTIONS", "*", ""},
  };
  const Header headers[] = {{"Accept", "application/json"}, {"X-Trace", "abc\tdef"}};
  for (const Case& c : cases) {
    std::string wire;
    ASSERT_TRUE(
        weft::http::write_request(wire, c.method, c.target, "example.com:8080", headers, c.body));
    std::array<Header, 100> storage{};
    RequestHead req;
    req.headers = storage.data();
    const ParseResult res = weft::http::parse_request_head(wire, req, HeadLimits{});
    ASSERT_EQ(res.status, ParseStatus::complete) << wire << " " << res.reason;
    EXPECT_EQ(req.method, c.method);
    EXPECT_EQ(req.target, c.target);
    EXPECT_EQ(req.version_minor, 1);
    EXPECT_EQ(req.host, "example.com:8080");
    EXPECT_TRUE(req.keep_alive);
    const bool has_length = !c.body.empty() || c.method == "POST" || c.method == "PUT";
    ASSERT_EQ(req.header_count, has_length ? 4U : 3U) << wire;
    EXPECT_EQ(req.headers[0].name, "Host");
    EXPECT_EQ(req.headers[1].name, "Accept");
    EXPECT_EQ(req.headers[1].value, "application/json");
    EXPECT_EQ(req.headers[2].name, "X-Trace");
    EXPECT_EQ(req.headers[2].value, "abc\tdef");
    if (has_length) {
      EXPECT_EQ(req.body, BodyKind::length);
      EXPECT_EQ(req.content_length, c.body.size());
    } else {
      EXPECT_EQ(req.body, BodyKind::none);
    }
    EXPECT_EQ(req.head_bytes + c.body.size(), wire.size());
    EXPECT_EQ(std::string_view(wire).substr(req.head_bytes), c.body);
  }
}

TEST(HttpClientCodec, ChunkedRequestParsesBack) {
  std::string body;
  weft::http::write_chunk(body, "part one;");
  weft::http::write_chunk(body, "part two");
  weft::http::write_chunk(body, "");
  std::string wire;
  const Header headers[] = {{"Transfer-Encoding", "chunked"}};
  ASSERT_TRUE(weft::http::write_request(wire, "POST", "/stream", "h", headers, body));

  std::array<Header, 100> storage{};
  RequestHead req;
  req.headers = storage.data();
  ASSERT_EQ(weft::http::parse_request_head(wire, req, HeadLimits{}).status, ParseStatus::complete);
  EXPECT_EQ(req.body, BodyKind::chunked);
  bool done = false;
  std::size_t consumed = 0;
  EXPECT_EQ(decode_chunked(std::string_view(wire).substr(req.head_bytes), 3, &done, &consumed),
            "part one;part two");
  EXPECT_TRUE(done);
  EXPECT_EQ(req.head_bytes + consumed, wire.size());
}

}  // namespace
