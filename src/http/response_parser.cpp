// The HTTP/1.1 client codec: response heads parsed in place (restartable,
// like the request parser: give it everything received so far), framing per
// RFC 9112 §6.3, and request/chunk writing that refuses header injection.
#include "http/response_parser.hpp"

#include <charconv>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace weft::http {

namespace {

constexpr ParseResult kComplete{ParseStatus::complete, 0, ""};
constexpr ParseResult kIncomplete{ParseStatus::incomplete, 0, ""};

ParseResult fail(const char* reason) {
  return {ParseStatus::error, 0, reason};
}

// Over one of the HeadLimits: 431, as for a request, so a caller can tell
// "too large" from "not HTTP".
ParseResult over_limit(const char* reason) {
  return {ParseStatus::error, 431, reason};
}

// tchar (RFC 9110 §5.6.2).
bool is_tchar(unsigned char c) noexcept {
  if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return true;
  switch (c) {
    case '!':
    case '#':
    case '$':
    case '%':
    case '&':
    case '\'':
    case '*':
    case '+':
    case '-':
    case '.':
    case '^':
    case '_':
    case '`':
    case '|':
    case '~':
      return true;
    default:
      return false;
  }
}

bool is_token(std::string_view s) noexcept {
  if (s.empty()) return false;
  for (const char c : s) {
    if (!is_tchar(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

bool is_digit(char c) noexcept {
  return c >= '0' && c <= '9';
}
bool is_ows(char c) noexcept {
  return c == ' ' || c == '\t';
}

// field-vchar / SP / HTAB (obs-text allowed): no NUL, CR, LF, other CTLs or DEL.
bool is_field_char(unsigned char c) noexcept {
  return c == '\t' || (c >= 0x20 && c != 0x7f);
}

std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() && is_ows(s.front()))
    s.remove_prefix(1);
  while (!s.empty() && is_ows(s.back()))
    s.remove_suffix(1);
  return s;
}

// A Content-Length value: 1*DIGIT that fits in 64 bits.
bool parse_length(std::string_view s, std::uint64_t& out) noexcept {
  if (s.empty()) return false;
  std::uint64_t v = 0;
  for (const char c : s) {
    if (!is_digit(c)) return false;
    const auto d = static_cast<std::uint64_t>(c - '0');
    if (v > (UINT64_MAX - d) / 10) return false;
    v = v * 10 + d;
  }
  out = v;
  return true;
}

// The status line: "HTTP/1." DIGIT SP 3DIGIT [ SP reason-phrase ] CRLF. The
// SP before an empty reason may be missing (some servers omit it).
// `pos` is set past the CRLF when complete.
ParseResult parse_status_line(std::string_view in, ResponseHead& out, std::size_t max_line,
                              std::size_t& pos) {
  constexpr std::string_view kPrefix = "HTTP/";
  const std::size_t n = in.size();
  for (std::size_t i = 0; i < kPrefix.size(); ++i) {
    if (i == n) return kIncomplete;
    if (in[i] != kPrefix[i]) return fail("bad status line");
  }
  // "1.x"
  if (n < 6) return kIncomplete;
  if (!is_digit(in[5])) return fail("bad version");
  if (in[5] != '1') return fail("unsupported version");
  if (n < 7) return kIncomplete;
  if (in[6] != '.') return fail("bad version");
  if (n < 8) return kIncomplete;
  if (!is_digit(in[7])) return fail("bad version");
  out.version_minor = in[7] - '0';
  if (n < 9) return kIncomplete;
  if (in[8] != ' ') return fail("bad status line");
  int status = 0;
  for (std::size_t i = 9; i < 12; ++i) {
    if (i == n) return kIncomplete;
    if (!is_digit(in[i])) return fail("bad status code");
    status = status * 10 + (in[i] - '0');
  }
  if (status < 100) return fail("bad status code");
  out.status = status;
  if (n < 13) return kIncomplete;
  std::size_t i = 12;
  std::size_t reason_begin = 12;
  if (in[12] == ' ') {
    reason_begin = 13;
    i = 13;
  } else if (in[12] != '\r') {
    return fail(in[12] == '\n' ? "bare LF" : "bad status line");
  }
  for (;; ++i) {
    if (i > max_line) return over_limit("status line too long");
    if (i == n) return kIncomplete;
    const auto c = static_cast<unsigned char>(in[i]);
    if (c == '\r') break;
    if (c == '\n') return fail("bare LF");
    if (!is_field_char(c)) return fail("control byte in reason phrase");
  }
  if (i + 1 == n) return kIncomplete;
  if (in[i + 1] != '\n') return fail("CR without LF");
  out.reason = in.substr(reason_begin, i - reason_begin);
  pos = i + 2;
  return kComplete;
}

// Header lines from `pos` up to and including the empty line. Sets
// out.header_count and out.head_bytes when complete.
ParseResult parse_header_lines(std::string_view in, ResponseHead& out, std::size_t max_headers,
                               std::size_t pos) {
  const std::size_t n = in.size();
  std::size_t count = 0;
  for (;;) {
    if (pos == n) return kIncomplete;
    const char first = in[pos];
    if (first == '\r') {
      if (pos + 1 == n) return kIncomplete;
      if (in[pos + 1] != '\n') return fail("CR without LF");
      out.header_count = count;
      out.head_bytes = pos + 2;
      return kComplete;
    }
    if (first == '\n') return fail("bare LF");
    if (is_ows(first)) return fail("obs-fold");
    // field-name ":"
    const std::size_t name_begin = pos;
    for (;; ++pos) {
      if (pos == n) return kIncomplete;
      const char c = in[pos];
      if (c == ':') break;
      if (is_ows(c)) return fail("whitespace before colon");
      if (!is_tchar(static_cast<unsigned char>(c))) return fail("bad header name");
    }
    if (pos == name_begin) return fail("empty header name");
    const std::string_view name = in.substr(name_begin, pos - name_begin);
    ++pos;
    // OWS field-value OWS CRLF
    const std::size_t value_begin = pos;
    for (;; ++pos) {
      if (pos == n) return kIncomplete;
      const auto c = static_cast<unsigned char>(in[pos]);
      if (c == '\r') break;
      if (c == '\n') return fail("bare LF");
      if (!is_field_char(c)) return fail("control byte in header value");
    }
    if (pos + 1 == n) return kIncomplete;
    if (in[pos + 1] != '\n') return fail("CR without LF");
    if (count == max_headers || out.headers == nullptr) return over_limit("too many headers");
    out.headers[count++] = Header{name, trim(in.substr(value_begin, pos - value_begin))};
    pos += 2;
  }
}

// Transfer-Encoding lists across all its header lines. Sets `chunked` when
// the final coding is chunked; chunked anywhere but last (or twice) and
// empty or malformed codings are errors.
bool parse_transfer_encoding(const ResponseHead& h, bool& chunked) noexcept {
  chunked = false;
  bool seen_coding = false;
  for (std::size_t i = 0; i < h.header_count; ++i) {
    if (!iequals(h.headers[i].name, "transfer-encoding")) continue;
    std::string_view rest = h.headers[i].value;
    while (true) {
      const std::size_t comma = rest.find(',');
      std::string_view element = rest.substr(0, comma);
      const std::size_t semi = element.find(';');
      const std::string_view coding = trim(element.substr(0, semi));
      if (!coding.empty()) {
        if (!is_token(coding)) return false;
        if (chunked) return false;  // something after chunked, or chunked twice
        chunked = iequals(coding, "chunked");
        seen_coding = true;
      } else if (semi != std::string_view::npos) {
        return false;  // parameters without a coding
      }
      if (comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
    }
  }
  return seen_coding;
}

// Body framing and connection reuse (RFC 9112 §6.3, §9.3).
ParseResult derive_framing(ResponseHead& out, std::string_view request_method) {
  bool has_te = false;
  bool has_cl = false;
  std::uint64_t length = 0;
  bool close = false;
  bool keep_alive_token = false;
  for (std::size_t i = 0; i < out.header_count; ++i) {
    const Header& h = out.headers[i];
    if (iequals(h.name, "content-length")) {
      std::uint64_t v = 0;
      if (!parse_length(h.value, v)) return fail("bad Content-Length");
      if (has_cl && v != length) return fail("conflicting Content-Length");
      has_cl = true;
      length = v;
    } else if (iequals(h.name, "transfer-encoding")) {
      has_te = true;
    } else if (iequals(h.name, "connection")) {
      close = close || has_token(h.value, "close");
      keep_alive_token = keep_alive_token || has_token(h.value, "keep-alive");
    }
  }
  bool chunked = false;
  if (has_te) {
    if (has_cl) return fail("Content-Length with Transfer-Encoding");
    if (out.version_minor == 0) return fail("Transfer-Encoding in HTTP/1.0");
    if (!parse_transfer_encoding(out, chunked)) return fail("bad Transfer-Encoding");
  }
  out.keep_alive = out.version_minor >= 1 ? !close : keep_alive_token && !close;

  const bool no_body = request_method == "HEAD" || out.status < 200 || out.status == 204 ||
                       out.status == 304 ||
                       (request_method == "CONNECT" && out.status >= 200 && out.status < 300);
  if (no_body) {
    out.body = BodyKind::none;
  } else if (has_te) {
    if (chunked) {
      out.body = BodyKind::chunked;
    } else {
      out.until_close = true;  // a coding we cannot delimit: read to EOF
    }
  } else if (has_cl) {
    out.body = BodyKind::length;
    out.content_length = length;
  } else {
    out.until_close = true;
  }
  if (out.until_close) out.keep_alive = false;
  return kComplete;
}

bool is_target_char(unsigned char c) noexcept {
  return c > 0x20 && c < 0x7f;
}

// Header values we write: field-vchar, SP and HTAB only.
bool is_safe_value(std::string_view v) noexcept {
  for (const char c : v) {
    if (!is_field_char(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

void append_decimal(std::string& out, std::uint64_t v) {
  char buf[24];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

}  // namespace

std::string_view ResponseHead::header(std::string_view name) const noexcept {
  for (std::size_t i = 0; i < header_count; ++i) {
    if (iequals(headers[i].name, name)) return headers[i].value;
  }
  return {};
}

ParseResult parse_response_head(std::string_view in, ResponseHead& out, const HeadLimits& limits,
                                std::string_view request_method) {
  Header* const headers = out.headers;
  out = ResponseHead{};
  out.headers = headers;

  // Only the first max_head_bytes can hold the head; if it does not end
  // there and more input exists, the head is too large.
  const std::string_view scan = in.substr(0, limits.max_head_bytes);
  std::size_t pos = 0;
  ParseResult r = parse_status_line(scan, out, limits.max_request_line, pos);
  if (r.status == ParseStatus::complete) r = parse_header_lines(scan, out, limits.max_headers, pos);
  if (r.status == ParseStatus::incomplete && in.size() > scan.size()) {
    return over_limit("response head too large");
  }
  if (r.status != ParseStatus::complete) return r;
  return derive_framing(out, request_method);
}

bool write_request(std::string& out, std::string_view method, std::string_view target,
                   std::string_view host, std::span<const Header> headers, std::string_view body) {
  if (!is_token(method) || target.empty()) return false;
  for (const char c : target) {
    if (!is_target_char(static_cast<unsigned char>(c))) return false;
  }
  for (const char c : host) {
    if (!is_target_char(static_cast<unsigned char>(c))) return false;
  }
  bool has_cl = false;
  bool has_te = false;
  std::size_t size = method.size() + target.size() + host.size() + body.size() + 64;
  for (const Header& h : headers) {
    if (!is_token(h.name) || !is_safe_value(h.value)) return false;
    // A second Host would make the request invalid (RFC 9112 §3.2).
    if (iequals(h.name, "host")) return false;
    has_cl = has_cl || iequals(h.name, "content-length");
    has_te = has_te || iequals(h.name, "transfer-encoding");
    size += h.name.size() + h.value.size() + 4;
  }
  if (has_cl && has_te) return false;
  const bool framed = has_cl || has_te;
  const bool expects_body = method == "POST" || method == "PUT" || method == "PATCH";

  out.reserve(out.size() + size);  // the only step that may throw, before any change
  out.append(method).append(" ").append(target).append(" HTTP/1.1\r\nHost: ");
  out.append(host).append("\r\n");
  for (const Header& h : headers) {
    out.append(h.name).append(": ").append(h.value).append("\r\n");
  }
  if (!framed && (!body.empty() || expects_body)) {
    out.append("Content-Length: ");
    append_decimal(out, body.size());
    out.append("\r\n");
  }
  out.append("\r\n").append(body);
  return true;
}

void write_chunk(std::string& out, std::string_view data) {
  char buf[20];
  const auto r = std::to_chars(buf, buf + sizeof buf, static_cast<std::uint64_t>(data.size()), 16);
  out.reserve(out.size() + static_cast<std::size_t>(r.ptr - buf) + data.size() + 4);
  out.append(buf, r.ptr).append("\r\n");
  if (data.empty()) {
    out.append("\r\n");
    return;
  }
  out.append(data).append("\r\n");
}

}  // namespace weft::http
