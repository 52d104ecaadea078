// libFuzzer target for the HTTP/1.1 client codec and the client's answer
// parsing. The input is a response as received: parse_response_head must
// never crash, every view it returns must lie inside the head, the framing
// it derives must be self-consistent, the result must not depend on bytes
// after the head, and a chunked body after it must decode inside the input.
// The client's Exchange, fed the same bytes whole and in three pieces, must
// come to the same answer or error, within its body limit. The same bytes,
// cut in three, are also offered to write_request, which must either refuse
// them or write a request with no line breaks of its own making.
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <string>
#include <string_view>

#include "http/exchange.hpp"
#include "http/request_parser.hpp"
#include "http/response_parser.hpp"

namespace {

using weft::http::BodyKind;
using weft::http::ChunkedDecoder;
using weft::http::Header;
using weft::http::HeadLimits;
using weft::http::ParseResult;
using weft::http::ParseStatus;
using weft::http::ResponseHead;

void check(bool ok) {
  if (!ok) std::abort();
}

bool inside(std::string_view part, std::string_view whole) {
  if (part.empty()) return true;
  return part.data() >= whole.data() && part.data() + part.size() <= whole.data() + whole.size();
}

bool is_ows(char c) {
  return c == ' ' || c == '\t';
}

constexpr std::size_t kMaxHeaders = 16;

struct Parsed {
  std::array<Header, kMaxHeaders> headers{};
  ResponseHead head;
  ParseResult result;
};

void parse(std::string_view in, std::string_view method, const HeadLimits& limits, Parsed& p) {
  p.head.headers = p.headers.data();
  p.result = weft::http::parse_response_head(in, p.head, limits, method);
}

void check_head(std::string_view in, std::string_view method, const HeadLimits& limits,
                const Parsed& p) {
  const ResponseHead& h = p.head;
  // 0, or 431 for a head over the limits.
  check(p.result.error_status == 0 ||
        (p.result.status == ParseStatus::error && p.result.error_status == 431));
  check(p.result.reason != nullptr);
  if (p.result.status != ParseStatus::complete) return;
  check(h.head_bytes <= in.size());
  check(h.head_bytes <= limits.max_head_bytes);
  check(h.head_bytes >= 16);  // "HTTP/1.1 200\r\n\r\n"
  const std::string_view head = in.substr(0, h.head_bytes);
  check(head.ends_with("\r\n\r\n"));
  check(h.status >= 100 && h.status <= 999);
  check(h.version_minor >= 0 && h.version_minor <= 9);
  check(inside(h.reason, head));
  check(h.reason.find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos);
  check(h.header_count <= limits.max_headers);
  for (std::size_t i = 0; i < h.header_count; ++i) {
    const Header& f = h.headers[i];
    check(!f.name.empty() && inside(f.name, head) && inside(f.value, head));
    check(f.name.find_first_of(std::string_view(": \t\r\n\0", 6)) == std::string_view::npos);
    check(f.value.find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos);
    check(f.value.empty() || (!is_ows(f.value.front()) && !is_ows(f.value.back())));
  }
  if (h.body != BodyKind::length) check(h.content_length == 0);
  if (h.until_close) check(h.body == BodyKind::none && !h.keep_alive);
  if (method == "HEAD" || h.status < 200 || h.status == 204 || h.status == 304) {
    check(h.body == BodyKind::none && !h.until_close);
  }
  if (h.body == BodyKind::chunked) {
    bool te = false;
    for (std::size_t i = 0; i < h.header_count; ++i) {
      te = te || weft::http::iequals(h.headers[i].name, "transfer-encoding");
    }
    check(te);
  }
}

// The head alone parses the same; one byte less is not yet a head.
void check_prefixes(std::string_view in, std::string_view method, const HeadLimits& limits,
                    const Parsed& p) {
  if (p.result.status != ParseStatus::complete) return;
  const ResponseHead& h = p.head;
  Parsed again;
  parse(in.substr(0, h.head_bytes), method, limits, again);
  check(again.result.status == ParseStatus::complete);
  check(again.head.head_bytes == h.head_bytes && again.head.status == h.status &&
        again.head.reason == h.reason && again.head.header_count == h.header_count &&
        again.head.body == h.body && again.head.content_length == h.content_length &&
        again.head.until_close == h.until_close && again.head.keep_alive == h.keep_alive);
  Parsed shorter;
  parse(in.substr(0, h.head_bytes - 1), method, limits, shorter);
  check(shorter.result.status == ParseStatus::incomplete);
  Parsed half;
  parse(in.substr(0, h.head_bytes / 2), method, limits, half);
  check(half.result.status == ParseStatus::incomplete);
}

// Decodes whatever chunked body follows the head.
void check_chunked(std::string_view in, const Parsed& p) {
  if (p.result.status != ParseStatus::complete || p.head.body != BodyKind::chunked) return;
  std::string_view rest = in.substr(p.head.head_bytes);
  ChunkedDecoder dec;
  std::uint64_t total = 0;
  for (;;) {
    const ChunkedDecoder::Step s = dec.feed(rest);
    if (s.status == ChunkedDecoder::Status::error) return;
    check(s.consumed <= rest.size());
    check(inside(s.data, rest.substr(0, s.consumed)));
    total += s.data.size();
    rest.remove_prefix(s.consumed);
    if (s.status == ChunkedDecoder::Status::done || s.consumed == 0) break;
  }
  check(dec.total() == total);
}

// A request built from parsed headers: refused only for Host or CL+TE, and
// its head has exactly one line per header plus the request line, Host and
// the blank line.
void check_write_parsed(const Parsed& p) {
  if (p.result.status != ParseStatus::complete) return;
  const std::span<const Header> headers(p.head.headers, p.head.header_count);
  bool host = false;
  bool cl = false;
  bool te = false;
  for (const Header& f : headers) {
    host = host || weft::http::iequals(f.name, "host");
    cl = cl || weft::http::iequals(f.name, "content-length");
    te = te || weft::http::iequals(f.name, "transfer-encoding");
  }
  std::string out;
  const bool ok = weft::http::write_request(out, "GET", "/", "example.com", headers);
  check(ok == !(host || (cl && te)));
  if (!ok) {
    check(out.empty());
    return;
  }
  const auto lines = static_cast<std::size_t>(std::count(out.begin(), out.end(), '\n'));
  check(lines == p.head.header_count + 3);
  check(static_cast<std::size_t>(std::count(out.begin(), out.end(), '\r')) == lines);
  check(out.ends_with("\r\n\r\n"));
}

// Raw method, target and host from thirds of the input: anything accepted
// must not break a line or carry NUL.
void check_write_raw(std::string_view in) {
  const std::size_t third = in.size() / 3;
  const std::string_view method = in.substr(0, third);
  const std::string_view target = in.substr(third, third);
  const std::string_view host = in.substr(2 * third);
  std::string out = "x";
  if (!weft::http::write_request(out, method, target, host, {}, "b")) {
    check(out == "x");
    return;
  }
  check(out.find('\0') == std::string::npos);
  check(std::count(out.begin(), out.end(), '\n') == 4);
  check(std::count(out.begin(), out.end(), '\r') == 4);
  const std::string expected = "x" + std::string(method) + " " + std::string(target) +
                               " HTTP/1.1\r\nHost: " + std::string(host) +
                               "\r\nContent-Length: 1\r\n\r\nb";
  check(out == expected);
}

// Feeds `in` to a client Exchange as a connection would, in pieces cut at
// `cut1` and `cut2` (unconsumed bytes kept for the next call), then closes.
struct ExchangeRun {
  weft::http::FetchResult result;
  bool answered = false;
};

ExchangeRun run_exchange(std::string_view in, std::size_t cut1, std::size_t cut2) {
  using weft::http::detail::Exchange;
  weft::http::FetchOptions o;
  o.max_body = 4096;
  o.max_head_bytes = 2048;
  o.max_headers = kMaxHeaders;
  ExchangeRun run;
  int calls = 0;
  Exchange ex(
      o,
      [&run, &calls](weft::http::FetchResult& r) {
        ++calls;
        run.result = r;
      },
      "GET / HTTP/1.1\r\nHost: x\r\n\r\n", "tcp://x:1");
  std::string held;
  Exchange::Outcome outcome = Exchange::Outcome::more;
  for (const std::string_view piece :
       {in.substr(0, cut1), in.substr(cut1, cut2 - cut1), in.substr(cut2)}) {
    held.append(piece);
    std::size_t used = 0;
    outcome = ex.feed(held, used);
    check(used <= held.size());
    held.erase(0, used);
    if (outcome != Exchange::Outcome::more) break;
  }
  if (outcome == Exchange::Outcome::more) outcome = ex.closed({});  // the server closes
  check(outcome != Exchange::Outcome::more);
  ex.deliver();
  ex.deliver();  // once only
  check(calls == 1);
  run.answered = outcome == Exchange::Outcome::answered;
  check(run.answered == !run.result.error);
  check(run.result.error ? !run.result.why.empty() : run.result.why.empty());
  check(run.result.response.body.size() <= o.max_body);
  if (run.answered) check(run.result.response.status >= 200 && run.result.response.status <= 999);
  return run;
}

void check_exchange(std::string_view in) {
  const ExchangeRun whole = run_exchange(in, in.size(), in.size());
  const ExchangeRun split = run_exchange(in, in.size() / 3, 2 * in.size() / 3);
  check(whole.answered == split.answered);
  check(whole.result.error == split.result.error && whole.result.why == split.result.why);
  check(whole.result.response.status == split.result.response.status);
  check(whole.result.response.body == split.result.response.body);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  HeadLimits limits;
  limits.max_request_line = 256;
  limits.max_head_bytes = 2048;
  limits.max_headers = kMaxHeaders;
  for (const std::string_view method : {"GET", "HEAD", "CONNECT"}) {
    Parsed p;
    parse(in, method, limits, p);
    check_head(in, method, limits, p);
    check_prefixes(in, method, limits, p);
    if (method == "GET") {
      check_chunked(in, p);
      check_write_parsed(p);
    }
  }
  check_write_raw(in);
  check_exchange(in);
  return 0;
}
