// HTTP/1.1 request heads (RFC 9112), parsed in place. One pass over the
// bytes: memchr finds each line end, a 256-entry class table checks every
// byte of the method, target, header names and values, and the framing
// headers are interpreted as they are met. Nothing is allocated.
//
// Restartable: when the head is not complete yet, the partial line at the
// end is still checked (running out of bytes is `incomplete`, a byte that
// can never become valid is an error), so a client cannot hold a connection
// with garbage until the limit is reached.
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

#include "http/request_parser.hpp"

namespace weft::http {

namespace {

// ---------------------------------------------------------------------------
// Character classes

enum : std::uint8_t {
  kTchar = 1,    // tchar (RFC 9110 §5.6.2): method, header names, codings
  kTarget = 2,   // request-target byte: visible ASCII or obs-text (no CTL, SP, DEL)
  kField = 4,    // field-value byte: HTAB, SP, visible ASCII, obs-text
  kRegName = 8,  // reg-name byte (RFC 3986): unreserved, sub-delims, '%'
  kHex = 16,     // HEXDIG
  kAlpha = 32,   // ALPHA
};

constexpr std::array<std::uint8_t, 256> make_classes() {
  std::array<std::uint8_t, 256> t{};
  constexpr std::string_view kTcharPunct = "!#$%&'*+-.^_`|~";
  constexpr std::string_view kRegPunct = "-._~!$&'()*+,;=%";
  for (unsigned c = 0; c < 256; ++c) {
    std::uint8_t v = 0;
    const bool digit = c >= '0' && c <= '9';
    const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    const char ch = static_cast<char>(c);
    if (digit || alpha || kTcharPunct.find(ch) != std::string_view::npos) v |= kTchar;
    if (c > 0x20 && c != 0x7f) v |= kTarget;
    if (c == '\t' || (c >= 0x20 && c != 0x7f)) v |= kField;
    if (digit || alpha || kRegPunct.find(ch) != std::string_view::npos) v |= kRegName;
    if (digit || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')) v |= kHex;
    if (alpha) v |= kAlpha;
    t[c] = v;
  }
  return t;
}

constexpr std::array<std::uint8_t, 256> kClass = make_classes();

constexpr std::array<char, 256> make_lower() {
  std::array<char, 256> t{};
  for (unsigned c = 0; c < 256; ++c) {
    t[c] = static_cast<char>(c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c);
  }
  return t;
}

constexpr std::array<char, 256> kLower = make_lower();

inline bool is(char c, std::uint8_t cls) noexcept {
  return (kClass[static_cast<unsigned char>(c)] & cls) != 0;
}

inline bool is_ows(char c) noexcept {
  return c == ' ' || c == '\t';
}

std::string_view trim_ows(std::string_view s) noexcept {
  while (!s.empty() && is_ows(s.front()))
    s.remove_prefix(1);
  while (!s.empty() && is_ows(s.back()))
    s.remove_suffix(1);
  return s;
}

// `s` equals `lower` (already lower case) ignoring ASCII case.
inline bool iequals_lower(std::string_view s, std::string_view lower) noexcept {
  if (s.size() != lower.size()) return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (kLower[static_cast<unsigned char>(s[i])] != lower[i]) return false;
  }
  return true;
}

// Every byte is a field-value byte. Eight at a time while none is below
// 0x20 or DEL (the usual case; HTAB drops to the byte loop), then one by one.
bool valid_field_value(std::string_view v) noexcept {
  constexpr std::uint64_t kOnes = 0x0101010101010101ULL;
  constexpr std::uint64_t kHigh = 0x8080808080808080ULL;
  const char* p = v.data();
  const std::size_t n = v.size();
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    std::uint64_t x = 0;
    std::memcpy(&x, p + i, sizeof x);
    const std::uint64_t below_space = (x - kOnes * 0x20) & ~x & kHigh;
    const std::uint64_t d = x ^ (kOnes * 0x7f);
    const std::uint64_t del = (d - kOnes) & ~d & kHigh;
    if ((below_space | del) != 0) break;
  }
  for (; i < n; ++i) {
    if (!is(p[i], kField)) return false;
  }
  return true;
}

// ---------------------------------------------------------------------------
// Results

constexpr ParseResult kComplete{ParseStatus::complete, 0, ""};
constexpr ParseResult kIncomplete{ParseStatus::incomplete, 0, ""};

constexpr ParseResult fail(int status, const char* reason) noexcept {
  return {ParseStatus::error, status, reason};
}

inline bool failed(const ParseResult& r) noexcept {
  return r.status == ParseStatus::error;
}

// ---------------------------------------------------------------------------
// Request line

// authority = host [ ":" port ] (RFC 3986), host a reg-name or an IP literal
// in brackets. No userinfo (RFC 9110 §4.2.4). `need_port`: CONNECT's
// authority-form, whose port is required.
bool valid_authority(std::string_view a, bool need_port) noexcept {
  std::size_t i = 0;
  const std::size_t n = a.size();
  if (n != 0 && a[0] == '[') {
    i = 1;
    while (i < n && (is(a[i], kHex) || a[i] == ':' || a[i] == '.'))
      ++i;
    if (i == 1 || i == n || a[i] != ']') return false;
    ++i;
  } else {
    while (i < n && is(a[i], kRegName))
      ++i;
    if (i == 0) return false;
  }
  if (i == n) return !need_port;
  if (a[i] != ':') return false;
  const std::size_t digits = n - i - 1;
  if (digits > 5 || (need_port && digits == 0)) return false;
  for (++i; i < n; ++i) {
    if (a[i] < '0' || a[i] > '9') return false;
  }
  return true;
}

// absolute-form: scheme "://" authority [ path-abempty ] [ "?" query ]. The
// scheme is letters only (http, https, ws, wss). Bytes after the authority
// have been checked by the caller.
bool valid_absolute_form(std::string_view t) noexcept {
  std::size_t i = 0;
  while (i < t.size() && is(t[i], kAlpha))
    ++i;
  if (i == 0 || t.substr(i, 3) != "://") return false;
  t.remove_prefix(i + 3);
  const std::size_t end = t.find_first_of("/?");
  return valid_authority(t.substr(0, end), false);
}

// The request-target's form fits the method (RFC 9112 §3.2): nullptr when
// it does, else the reason.
const char* check_target_form(std::string_view method, std::string_view target) noexcept {
  const bool connect = method == "CONNECT";
  if (target[0] == '/') return connect ? "CONNECT needs authority-form" : nullptr;
  if (connect) return valid_authority(target, true) ? nullptr : "bad CONNECT authority";
  if (target == "*") return method == "OPTIONS" ? nullptr : "asterisk-form outside OPTIONS";
  return valid_absolute_form(target) ? nullptr : "bad request target";
}

// "HTTP/" DIGIT "." DIGIT. HTTP/1.0 and 1.1 are served; a higher 1.x is
// answered as 1.1 (RFC 9110 §6.2); any other major version is 505.
ParseResult parse_version(std::string_view v, bool partial, RequestHead& out) noexcept {
  constexpr std::string_view kPattern = "HTTP/1.1";
  if (v.size() == kPattern.size() && v == kPattern) {  // the common case
    out.version_minor = 1;
    return partial ? kIncomplete : kComplete;
  }
  const std::size_t m = v.size() < kPattern.size() ? v.size() : kPattern.size();
  for (std::size_t i = 0; i < m; ++i) {
    const bool ok = (i == 5 || i == 7) ? (v[i] >= '0' && v[i] <= '9') : v[i] == kPattern[i];
    if (!ok) return fail(400, "bad HTTP version");
  }
  if (v.size() < kPattern.size()) return partial ? kIncomplete : fail(400, "bad HTTP version");
  if (v.size() > kPattern.size()) return fail(400, "bad HTTP version");
  if (v[5] != '1') return fail(505, "HTTP version not supported");
  out.version_minor = v[7] == '0' ? 0 : 1;
  return partial ? kIncomplete : kComplete;
}

// method SP request-target SP HTTP-version, without its CRLF. `partial`:
// the line has not ended yet; running out of bytes is then `incomplete`.
ParseResult parse_request_line(std::string_view line, bool partial, RequestHead& out) noexcept {
  if (partial && !line.empty() && line.back() == '\r') {
    // Everything but the LF: judge the line as if complete.
    const ParseResult r = parse_request_line(line.substr(0, line.size() - 1), false, out);
    return failed(r) ? r : kIncomplete;
  }
  const char* const b = line.data();
  const std::size_t n = line.size();
  std::size_t i = 0;
  while (i < n && is(b[i], kTchar))
    ++i;
  if (i == n) return partial ? kIncomplete : fail(400, "bad request line");
  if (b[i] != ' ' || i == 0) return fail(400, "bad method");
  out.method = line.substr(0, i);
  const std::size_t t = ++i;
  while (i < n && is(b[i], kTarget))
    ++i;
  if (i == n) return partial ? kIncomplete : fail(400, "bad request line");
  if (b[i] != ' ' || i == t) return fail(400, "bad request target");
  out.target = line.substr(t, i - t);
  if (const char* why = check_target_form(out.method, out.target)) return fail(400, why);
  return parse_version(line.substr(i + 1), partial, out);
}

// ---------------------------------------------------------------------------
// Header fields

// field-name ":" OWS field-value OWS, without its CRLF. No whitespace
// before the colon (RFC 9112 §5.1), no obs-fold (the caller rejects lines
// starting with whitespace), no CTL but HTAB in the value.
ParseResult parse_header_line(std::string_view line, bool partial, Header& h) noexcept {
  if (partial && !line.empty() && line.back() == '\r') {
    const ParseResult r = parse_header_line(line.substr(0, line.size() - 1), false, h);
    return failed(r) ? r : kIncomplete;
  }
  const std::size_t n = line.size();
  std::size_t i = 0;
  while (i < n && is(line[i], kTchar))
    ++i;
  if (i == n) return partial ? kIncomplete : fail(400, "bad header line");
  if (line[i] != ':') {
    return fail(400, is_ows(line[i]) ? "whitespace before colon" : "bad header name");
  }
  if (i == 0) return fail(400, "empty header name");
  h.name = line.substr(0, i);
  ++i;
  while (i < n && is_ows(line[i]))
    ++i;
  std::string_view value = line.substr(i);
  if (!valid_field_value(value)) return fail(400, "bad byte in header value");
  while (!value.empty() && is_ows(value.back()))
    value.remove_suffix(1);
  h.value = value;
  return partial ? kIncomplete : kComplete;
}

// What the framing and connection headers said so far.
struct Framing {
  bool content_length = false;
  bool transfer_encoding = false;
  bool te_last_chunked = false;   // the latest coding listed is chunked
  bool te_chunked_early = false;  // chunked followed by another coding
  bool te_other = false;          // a coding other than chunked
  bool host = false;
  bool close = false;
  bool keep_alive = false;
  bool connection_upgrade = false;
  bool upgrade_header = false;
  bool expect_continue = false;
};

// Content-Length = 1*DIGIT; at most 19 digits, so it always fits.
bool parse_content_length(std::string_view v, std::uint64_t& out) noexcept {
  if (v.empty() || v.size() > 19) return false;
  std::uint64_t n = 0;
  for (const char c : v) {
    if (c < '0' || c > '9') return false;
    n = n * 10 + static_cast<std::uint64_t>(c - '0');
  }
  out = n;
  return true;
}

// Transfer-Encoding = 1#transfer-coding; several field lines form one list.
// Parameters and empty elements are refused: only "chunked" is served.
bool add_transfer_codings(std::string_view v, Framing& f) noexcept {
  f.transfer_encoding = true;
  for (;;) {
    const std::size_t comma = v.find(',');
    const std::string_view coding = trim_ows(v.substr(0, comma));
    if (coding.empty()) return false;
    for (const char c : coding) {
      if (!is(c, kTchar)) return false;
    }
    if (f.te_last_chunked) f.te_chunked_early = true;
    f.te_last_chunked = iequals_lower(coding, "chunked");
    if (!f.te_last_chunked) f.te_other = true;
    if (comma == std::string_view::npos) return true;
    v.remove_prefix(comma + 1);
  }
}

// Interprets one header field if it is one the parser derives state from.
// `line` is the whole field line (without CRLF).
ParseResult derive(const Header& h, std::string_view line, Framing& f, RequestHead& out) noexcept {
  const std::string_view name = h.name;
  const std::string_view v = h.value;
  switch (name.size()) {
    case 4:
      if (iequals_lower(name, "host")) {
        if (f.host) return fail(400, "duplicate Host");
        if (!v.empty() && !valid_authority(v, false)) return fail(400, "bad Host");
        f.host = true;
        out.host = v;
      }
      break;
    case 6:
      if (iequals_lower(name, "expect") && iequals_lower(v, "100-continue")) {
        f.expect_continue = true;
      }
      break;
    case 7:
      if (iequals_lower(name, "upgrade") && !v.empty()) f.upgrade_header = true;
      break;
    case 10:
      if (iequals_lower(name, "connection")) {
        f.close = f.close || has_token(v, "close");
        f.keep_alive = f.keep_alive || has_token(v, "keep-alive");
        f.connection_upgrade = f.connection_upgrade || has_token(v, "upgrade");
      }
      break;
    case 14:
      if (iequals_lower(name, "content-length")) {
        // HTAB is OWS, but not every hop trims it around framing headers
        // (libhttp_parser refuses "5\t"): refuse it here rather than read
        // the framing differently from the next hop.
        if (line.find('\t') != std::string_view::npos) return fail(400, "HTAB in Content-Length");
        std::uint64_t n = 0;
        if (!parse_content_length(v, n)) return fail(400, "bad Content-Length");
        if (f.content_length && n != out.content_length) {
          return fail(400, "conflicting Content-Length");
        }
        f.content_length = true;
        out.content_length = n;
      }
      break;
    case 17:
      if (iequals_lower(name, "transfer-encoding")) {
        // As above: "chunked\t" is not chunked to every parser.
        if (line.find('\t') != std::string_view::npos || !add_transfer_codings(v, f)) {
          return fail(400, "bad Transfer-Encoding");
        }
      }
      break;
    default:
      break;
  }
  return kComplete;
}

// The head is complete: framing and connection semantics (RFC 9112 §6.3,
// §9.3; RFC 9110 §7.8, §10.1.1).
ParseResult finish(const Framing& f, RequestHead& out) noexcept {
  const bool http11 = out.version_minor == 1;
  if (http11 && !f.host) return fail(400, "missing Host");
  if (f.transfer_encoding) {
    if (!http11) return fail(400, "Transfer-Encoding in HTTP/1.0");
    if (f.content_length) return fail(400, "Content-Length with Transfer-Encoding");
    if (f.te_chunked_early) return fail(400, "chunked is not the final coding");
    if (f.te_other) return fail(501, "unsupported transfer coding");
    out.body = BodyKind::chunked;
    out.content_length = 0;
  } else if (f.content_length) {
    out.body = BodyKind::length;
  }
  out.keep_alive = !f.close && (http11 || f.keep_alive);
  out.upgrade = http11 && f.connection_upgrade && f.upgrade_header;
  out.expect_continue = http11 && f.expect_continue;
  return kComplete;
}

}  // namespace

// ---------------------------------------------------------------------------

ParseResult parse_request_head(std::string_view in, RequestHead& out, const HeadLimits& limits) {
  Header* const slots = out.headers;
  out = RequestHead{};
  out.headers = slots;
  const std::size_t capacity = slots != nullptr ? limits.max_headers : 0;
  const std::size_t max_head = limits.max_head_bytes;
  const char* const b = in.data();
  const std::size_t n = in.size();
  // Where a line end may be looked for: the head must end by max_head.
  const std::size_t scan_end = n < max_head ? n : max_head;

  // Empty lines before the request line (RFC 9112 §2.2).
  std::size_t pos = 0;
  while (pos < n && b[pos] == '\r') {
    if (pos + 1 == n) return pos + 2 > max_head ? fail(431, "request head too large") : kIncomplete;
    if (b[pos + 1] != '\n') return fail(400, "bare CR");
    pos += 2;
    if (pos >= max_head) return fail(431, "request head too large");
  }

  // The request line: its LF within max_request_line + CRLF.
  {
    const std::size_t line_cap =
        limits.max_request_line < SIZE_MAX - 2 ? limits.max_request_line + 2 : SIZE_MAX;
    std::size_t window = scan_end - pos;
    if (window > line_cap) window = line_cap;
    const void* lf = std::memchr(b + pos, '\n', window);
    if (lf == nullptr) {
      const ParseResult r = parse_request_line(in.substr(pos, window), true, out);
      if (failed(r)) return r;
      // Over the limit: no LF where it would have to be, or no CR before it.
      const std::size_t max_line = limits.max_request_line;
      if (window > max_line && (window == line_cap || b[pos + max_line] != '\r')) {
        return out.method.empty() ? fail(400, "request line too long")
                                  : fail(414, "request target too long");
      }
      if (n >= max_head) return fail(431, "request head too large");
      return kIncomplete;
    }
    const std::size_t end = static_cast<const char*>(lf) - b;
    if (end == pos || b[end - 1] != '\r') return fail(400, "bare LF");
    const ParseResult r = parse_request_line(in.substr(pos, end - 1 - pos), false, out);
    if (failed(r)) return r;
    pos = end + 1;
  }

  // Header fields, up to the empty line.
  Framing framing;
  Header scratch;
  for (;;) {
    if (pos == n) return pos + 2 > max_head ? fail(431, "request head too large") : kIncomplete;
    const char c = b[pos];
    if (c == '\r') {
      if (pos + 1 == n) {
        return pos + 2 > max_head ? fail(431, "request head too large") : kIncomplete;
      }
      if (b[pos + 1] != '\n') return fail(400, "bare CR");
      pos += 2;
      if (pos > max_head) return fail(431, "request head too large");
      break;
    }
    if (c == '\n') return fail(400, "bare LF");
    if (is_ows(c)) return fail(400, "obs-fold or whitespace before a header");
    Header& h = out.header_count < capacity ? slots[out.header_count] : scratch;
    const void* lf = pos < scan_end ? std::memchr(b + pos, '\n', scan_end - pos) : nullptr;
    if (lf == nullptr) {
      const ParseResult r = parse_header_line(in.substr(pos, scan_end - pos), true, h);
      if (failed(r)) return r;
      if (out.header_count >= capacity) return fail(431, "too many headers");
      if (n >= max_head) return fail(431, "request head too large");
      return kIncomplete;
    }
    const std::size_t end = static_cast<const char*>(lf) - b;
    if (b[end - 1] != '\r') return fail(400, "bare LF");
    const std::string_view line = in.substr(pos, end - 1 - pos);
    const ParseResult r = parse_header_line(line, false, h);
    if (failed(r)) return r;
    if (out.header_count >= capacity) return fail(431, "too many headers");
    ++out.header_count;
    const ParseResult d = derive(h, line, framing, out);
    if (failed(d)) return d;
    pos = end + 1;
  }

  const ParseResult r = finish(framing, out);
  if (failed(r)) return r;
  out.head_bytes = pos;
  return kComplete;
}

std::string_view RequestHead::header(std::string_view name) const noexcept {
  for (std::size_t i = 0; i < header_count; ++i) {
    if (iequals(headers[i].name, name)) return headers[i].value;
  }
  return {};
}

bool RequestHead::has_header(std::string_view name) const noexcept {
  for (std::size_t i = 0; i < header_count; ++i) {
    if (iequals(headers[i].name, name)) return true;
  }
  return false;
}

bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (kLower[static_cast<unsigned char>(a[i])] != kLower[static_cast<unsigned char>(b[i])]) {
      return false;
    }
  }
  return true;
}

bool has_token(std::string_view list, std::string_view token) noexcept {
  for (;;) {
    const std::size_t comma = list.find(',');
    if (iequals(trim_ows(list.substr(0, comma)), token)) return true;
    if (comma == std::string_view::npos) return false;
    list.remove_prefix(comma + 1);
  }
}

}  // namespace weft::http
