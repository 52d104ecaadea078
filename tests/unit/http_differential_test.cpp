// http_differential_test.cpp — our request parser against libhttp_parser
// (nodejs' http-parser as Debian ships it, strict build, lenient flags off)
// over a corpus of hand-written cases and systematic mutations of valid
// requests. The property: whenever the reference rejects a message, we
// reject it too. We may reject more (we are stricter: Host is required,
// bare LF and obs-fold are errors, ...); those cases are counted and a few
// are printed.
//
// Two disagreements are deliberate and recognised precisely, not waived in
// bulk: the reference only knows a fixed table of methods (RFC 9110 allows
// any token), and it refuses a repeated Content-Length even with the same
// value (RFC 9110 §8.6 allows accepting it; we do).
#include <gtest/gtest.h>
#include <http_parser.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "http/request_parser.hpp"

namespace {

using weft::http::BodyKind;
using weft::http::ChunkedDecoder;
using weft::http::Header;
using weft::http::HeadLimits;
using weft::http::ParseStatus;
using weft::http::RequestHead;

enum class Verdict { accepted, rejected, incomplete };

const char* name_of(Verdict v) {
  switch (v) {
    case Verdict::accepted:
      return "accepted";
    case Verdict::rejected:
      return "rejected";
    case Verdict::incomplete:
      return "incomplete";
  }
  return "?";
}

// ---------------------------------------------------------------------------
// The reference

struct RefCounts {
  int begun = 0;
  int headers = 0;
  int completed = 0;
  std::size_t body = 0;  // body bytes of the first message
};

int on_begin(http_parser* p) {
  ++static_cast<RefCounts*>(p->data)->begun;
  return 0;
}
int on_headers(http_parser* p) {
  ++static_cast<RefCounts*>(p->data)->headers;
  return 0;
}
int on_body(http_parser* p, const char* /*at*/, std::size_t len) {
  auto* counts = static_cast<RefCounts*>(p->data);
  if (counts->completed == 0) counts->body += len;
  return 0;
}
int on_complete(http_parser* p) {
  ++static_cast<RefCounts*>(p->data)->completed;
  return 0;
}

struct RefResult {
  Verdict verdict = Verdict::incomplete;
  http_errno error = HPE_OK;
  std::size_t body = 0;
};

// Rejected when the reference errs before the first message is complete;
// what happens after it (a pipelined next message) does not count.
RefResult reference(std::string_view in) {
  http_parser parser;
  http_parser_init(&parser, HTTP_REQUEST);
  parser.lenient_http_headers = 0;
  parser.allow_chunked_length = 0;
  RefCounts counts;
  parser.data = &counts;
  http_parser_settings settings;
  http_parser_settings_init(&settings);
  settings.on_message_begin = on_begin;
  settings.on_headers_complete = on_headers;
  settings.on_body = on_body;
  settings.on_message_complete = on_complete;
  http_parser_execute(&parser, &settings, in.data(), in.size());
  RefResult r;
  r.error = HTTP_PARSER_ERRNO(&parser);
  r.body = counts.body;
  if (counts.completed > 0) {
    r.verdict = Verdict::accepted;
  } else if (r.error != HPE_OK) {
    r.verdict = Verdict::rejected;
  } else {
    r.verdict = Verdict::incomplete;
  }
  return r;
}

bool reference_knows_method(std::string_view m) {
  static const std::vector<std::string_view> methods = {
#define WEFT_METHOD(num, name, string) #string,
      HTTP_METHOD_MAP(WEFT_METHOD)
#undef WEFT_METHOD
  };
  for (const auto known : methods) {
    if (known == m) return true;
  }
  return false;
}

// ---------------------------------------------------------------------------
// Ours: the head, then the body as the server would read it.

struct OurResult {
  Verdict verdict = Verdict::incomplete;
  std::string reason;
  std::string method;
  std::size_t content_lengths = 0;  // Content-Length field lines
  std::size_t body = 0;             // body bytes, when accepted
};

OurResult ours(std::string_view in) {
  const HeadLimits limits;
  std::vector<Header> slots(limits.max_headers);
  RequestHead head;
  head.headers = slots.data();
  const auto r = weft::http::parse_request_head(in, head, limits);
  OurResult out;
  out.method = std::string(head.method);
  if (r.status == ParseStatus::error) {
    out.verdict = Verdict::rejected;
    out.reason = std::to_string(r.error_status) + " " + r.reason;
    return out;
  }
  if (r.status == ParseStatus::incomplete) return out;
  for (std::size_t i = 0; i < head.header_count; ++i) {
    if (weft::http::iequals(head.headers[i].name, "content-length")) ++out.content_lengths;
  }
  std::string_view rest = in.substr(head.head_bytes);
  switch (head.body) {
    case BodyKind::none:
      out.verdict = Verdict::accepted;
      break;
    case BodyKind::length:
      out.verdict = rest.size() >= head.content_length ? Verdict::accepted : Verdict::incomplete;
      out.body = static_cast<std::size_t>(head.content_length);
      break;
    case BodyKind::chunked: {
      ChunkedDecoder dec;
      for (;;) {
        const auto step = dec.feed(rest);
        rest.remove_prefix(step.consumed);
        out.body += step.data.size();
        if (step.status == ChunkedDecoder::Status::error) {
          out.verdict = Verdict::rejected;
          out.reason = "chunked body";
          break;
        }
        if (step.status == ChunkedDecoder::Status::done) {
          out.verdict = Verdict::accepted;
          break;
        }
        if (step.consumed == 0) break;  // incomplete
      }
      break;
    }
  }
  return out;
}

// ---------------------------------------------------------------------------
// The corpus

const std::vector<std::string>& base_requests() {
  static const std::vector<std::string> bases = {
      std::string("GET /index.html?a=1&b=2 HTTP/1.1\r\n"
                  "Host: www.example.com\r\n"
                  "User-Agent: curl/7.88.1\r\n"
                  "Accept: */*\r\n"
                  "\r\n"),
      std::string("POST /form HTTP/1.1\r\n"
                  "Host: example.com:8080\r\n"
                  "Content-Type: application/x-www-form-urlencoded\r\n"
                  "Content-Length: 7\r\n"
                  "\r\n"
                  "a=1&b=2"),
      std::string("PUT /upload HTTP/1.1\r\n"
                  "Host: x\r\n"
                  "Transfer-Encoding: chunked\r\n"
                  "\r\n"
                  "4;ext=1\r\nWiki\r\n"
                  "5\r\npedia\r\n"
                  "0\r\n"
                  "Expires: never\r\n"
                  "\r\n"),
      std::string("GET http://example.com/p HTTP/1.0\r\n"
                  "Connection: keep-alive\r\n"
                  "\r\n"),
      "OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n",
      "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n",
  };
  return bases;
}

std::vector<std::string> hand_written() {
  const std::string get = "GET / HTTP/1.1\r\nHost: x\r\n";
  return {
      // valid
      get + "\r\n",
      "GET / HTTP/1.0\r\n\r\n",
      "\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n",
      get + "Content-Length: 0\r\n\r\n",
      get + "Content-Length: 3\r\nContent-Length: 3\r\n\r\nabc",
      get + "Transfer-Encoding: Chunked\r\n\r\n0\r\n\r\n",
      get + "Connection: Upgrade\r\nUpgrade: websocket\r\n\r\n",
      get + "Expect: 100-continue\r\nContent-Length: 1\r\n\r\nx",
      get + "X: a\tb\r\n\r\n",
      "DELETE /x HTTP/1.1\r\nHost: x\r\n\r\n",
      "M-SEARCH * HTTP/1.1\r\nHost: x\r\n\r\n",
      // smuggling
      get + "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
      get + "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n",
      get + "Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
      get + "Transfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n",
      get + "Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
      get + "Transfer-Encoding: identity\r\n\r\n",
      get + "Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
      get + "Transfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n\r\n",
      get + "Transfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n",
      get + "Transfer-Encoding: xchunked\r\n\r\n0\r\n\r\n",
      get + "Transfer-Encoding: \r\n\r\n",
      "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
      get + "X: a\r\n b\r\n\r\n",
      "GET / HTTP/1.1\r\nHost : x\r\n\r\n",
      get + "X: a\x01b\r\n\r\n",
      get + "X: a\x7f\r\n\r\n",
      get + "X: a\rb\r\n\r\n",
      std::string("GET / HTTP/1.1\r\nHost: x\r\nX: a\0b\r\n\r\n", 33),
      get + "Content-Length: +5\r\n\r\nhello",
      get + "Content-Length: -5\r\n\r\n",
      get + "Content-Length: 5 5\r\n\r\nhello",
      get + "Content-Length: 0x5\r\n\r\nhello",
      get + "Content-Length: 99999999999999999999\r\n\r\n",
      get + "Content-Length: 18446744073709551615\r\n\r\n",
      // syntax
      "GET / HTTP/1.1\nHost: x\n\n",
      "GET / HTTP/1.1\r\nHost: x\n\r\n",
      "GET  / HTTP/1.1\r\nHost: x\r\n\r\n",
      "GET / HTTP/2.0\r\nHost: x\r\n\r\n",
      "GET / HTTP/1.1 \r\nHost: x\r\n\r\n",
      "GET / http/1.1\r\nHost: x\r\n\r\n",
      "GET /\r\n\r\n",
      "GET /a\tb HTTP/1.1\r\nHost: x\r\n\r\n",
      "GET http://a@b@c/ HTTP/1.1\r\nHost: x\r\n\r\n",
      "GET * HTTP/1.1\r\nHost: x\r\n\r\n",
      "CONNECT / HTTP/1.1\r\nHost: x\r\n\r\n",
      "GET / HTTP/1.1\r\n\r\n",
      // chunked bodies
      get + "Transfer-Encoding: chunked\r\n\r\n3\r\nabcX\r\n0\r\n\r\n",
      get + "Transfer-Encoding: chunked\r\n\r\nfffffffffffffffff\r\n",
      get + "Transfer-Encoding: chunked\r\n\r\n-1\r\n",
      get + "Transfer-Encoding: chunked\r\n\r\n 1\r\nx\r\n0\r\n\r\n",
      get + "Transfer-Encoding: chunked\r\n\r\n1\nx\r\n0\r\n\r\n",
      get + "Transfer-Encoding: chunked\r\n\r\n1;a=\"b\"\r\nx\r\n0\r\nT: v\r\n\r\n",
      get + "Transfer-Encoding: chunked\r\n\r\n0\r\nT v\r\n\r\n",
  };
}

std::vector<std::string> corpus() {
  std::vector<std::string> out = hand_written();
  for (const std::string& base : base_requests()) {
    out.push_back(base);
    for (std::size_t i = 0; i < base.size(); ++i) {
      // Byte flips: a bit that changes case, one that makes a CTL or
      // obs-text, the lowest bit.
      for (const unsigned mask : {0x01u, 0x20u, 0x40u, 0x80u}) {
        std::string m = base;
        m[i] = static_cast<char>(static_cast<unsigned char>(m[i]) ^ mask);
        out.push_back(std::move(m));
      }
      // Insertions.
      for (const char c : {'\r', '\n', '\0', ' ', '\t'}) {
        std::string m = base;
        m.insert(m.begin() + static_cast<std::ptrdiff_t>(i), c);
        out.push_back(std::move(m));
      }
      // Deletion and truncation.
      std::string d = base;
      d.erase(i, 1);
      out.push_back(std::move(d));
      out.push_back(base.substr(0, i));
    }
    // Each header line twice, as is and with another value.
    std::size_t line = base.find("\r\n") + 2;
    for (;;) {
      const std::size_t end = base.find("\r\n", line);
      if (end == std::string::npos || end == line) break;
      const std::string field = base.substr(line, end + 2 - line);
      out.push_back(base.substr(0, end + 2) + field + base.substr(end + 2));
      std::string other = field;
      other.insert(other.size() - 2, "0");
      out.push_back(base.substr(0, end + 2) + other + base.substr(end + 2));
      line = end + 2;
    }
  }
  return out;
}

std::string printable(std::string_view s) {
  std::string out;
  for (const char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '\r') {
      out += "\\r";
    } else if (c == '\n') {
      out += "\\n";
    } else if (u < 0x20 || u >= 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", u);
      out += buf;
    } else {
      out += c;
    }
  }
  return out;
}

TEST(HttpDifferential, WeRejectWhateverTheReferenceRejects) {
  const std::vector<std::string> cases = corpus();
  ASSERT_GE(cases.size(), 200u);
  std::size_t both_reject = 0;
  std::size_t both_accept = 0;
  std::size_t only_we_reject = 0;
  std::size_t unknown_method = 0;
  std::size_t repeated_length = 0;
  std::size_t both_incomplete = 0;
  std::size_t one_incomplete = 0;  // one side accepts, the other waits for more
  std::vector<std::string> only_ours;
  std::vector<std::string> only_reference;
  std::vector<std::string> deliberate;
  for (const std::string& in : cases) {
    const RefResult ref = reference(in);
    const OurResult we = ours(in);
    const bool ref_rejects = ref.verdict == Verdict::rejected;
    const bool we_reject = we.verdict == Verdict::rejected;
    if (ref_rejects && we_reject) {
      ++both_reject;
    } else if (we_reject) {
      ++only_we_reject;
      if (only_ours.size() < 12) {
        only_ours.push_back(printable(in) + "  -> ours: " + we.reason +
                            "; reference: " + name_of(ref.verdict));
      }
    } else if (ref_rejects) {
      // The deliberate differences, recognised by what each side saw.
      if (ref.error == HPE_INVALID_METHOD && !we.method.empty() &&
          !reference_knows_method(we.method)) {
        ++unknown_method;
        if (unknown_method <= 2) deliberate.push_back(printable(in));
      } else if (ref.error == HPE_UNEXPECTED_CONTENT_LENGTH && we.content_lengths > 1 &&
                 we.verdict == Verdict::accepted) {
        ++repeated_length;
        if (repeated_length <= 2) deliberate.push_back(printable(in));
      } else {
        only_reference.push_back(printable(in) + "  -> reference: " + http_errno_name(ref.error) +
                                 "; ours: " + name_of(we.verdict));
      }
    } else if (ref.verdict == Verdict::accepted && we.verdict == Verdict::accepted) {
      ++both_accept;
      // Both found a message: the same body (no framing disagreement).
      EXPECT_EQ(ref.body, we.body) << printable(in);
    } else if (ref.verdict == we.verdict) {
      ++both_incomplete;
    } else {
      ++one_incomplete;
      std::printf("  one side waits: reference %s, ours %s: %s\n", name_of(ref.verdict),
                  name_of(we.verdict), printable(in).c_str());
    }
  }
  std::printf(
      "differential: %zu cases: %zu both reject, %zu both accept, %zu only we reject, "
      "%zu only the reference rejects, %zu both incomplete, %zu incomplete on one side\n",
      cases.size(), both_reject, both_accept, only_we_reject, only_reference.size(),
      both_incomplete, one_incomplete);
  std::printf(
      "  deliberate: %zu methods outside the reference's table, %zu repeated equal "
      "Content-Length\n",
      unknown_method, repeated_length);
  for (const auto& s : deliberate)
    std::printf("    %s\n", s.c_str());
  std::printf("  some cases only we reject:\n");
  for (const auto& s : only_ours)
    std::printf("    %s\n", s.c_str());
  for (const auto& s : only_reference)
    ADD_FAILURE() << "the reference rejects, we do not: " << s;
  EXPECT_TRUE(only_reference.empty());
  EXPECT_GT(both_reject, 100u);
  EXPECT_GT(both_accept, 10u);
}

// The corpus really holds the cases this test is about.
TEST(HttpDifferential, ReferenceAgreesOnTheHandWrittenBasics) {
  const std::string ok = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
  EXPECT_EQ(reference(ok).verdict, Verdict::accepted);
  EXPECT_EQ(ours(ok).verdict, Verdict::accepted);
  const std::string smuggle =
      "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"
      "0\r\n\r\n";
  EXPECT_EQ(reference(smuggle).verdict, Verdict::rejected);
  EXPECT_EQ(ours(smuggle).verdict, Verdict::rejected);
  for (const std::string& base : base_requests()) {
    EXPECT_EQ(reference(base).verdict, Verdict::accepted) << printable(base);
    EXPECT_EQ(ours(base).verdict, Verdict::accepted) << printable(base);
  }
}

}  // namespace
