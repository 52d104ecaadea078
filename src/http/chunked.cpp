// The chunked transfer coding (RFC 9112 §7.1), decoded incrementally:
//
//   chunked-body = *chunk last-chunk trailer-section CRLF
//   chunk        = chunk-size [ chunk-ext ] CRLF chunk-data CRLF
//   last-chunk   = 1*("0") [ chunk-ext ] CRLF
//
// Framing lines are only consumed whole (a partial one is left for the next
// call, after checking that what has arrived can still become valid); chunk
// data is handed out as soon as any of it is there.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

#include "http/request_parser.hpp"

namespace weft::http {

namespace {

constexpr std::size_t kMaxLine = 4096;             // a size or trailer line, CRLF included
constexpr std::uint64_t kMaxTrailers = 64 * 1024;  // all trailer lines together
constexpr std::size_t kMaxSizeDigits = 16;
constexpr std::uint64_t kMaxChunk = INT64_MAX;  // sizes from 2^63 up are refused

enum class Line : std::uint8_t { ok, incomplete, bad };

int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool is_tchar(char c) noexcept {
  if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return true;
  return c != '\0' && std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

// field-vchar, SP or HTAB (obs-text allowed).
bool is_field_char(char c) noexcept {
  const auto u = static_cast<unsigned char>(c);
  return u == '\t' || (u >= 0x20 && u != 0x7f);
}

// Skips a token at `i`; false when there is none.
bool skip_token(std::string_view s, std::size_t& i) noexcept {
  const std::size_t from = i;
  while (i < s.size() && is_tchar(s[i]))
    ++i;
  return i != from;
}

// BWS in a chunk line. RFC 9110 allows HTAB as well, but parsers disagree
// on it there (libhttp_parser refuses "4\t;x"), so only SP is accepted.
void skip_bws(std::string_view s, std::size_t& i) noexcept {
  while (i < s.size() && s[i] == ' ')
    ++i;
}

// chunk-size [ chunk-ext ], without CRLF. When `partial` the line has not
// ended yet, and running out of bytes is `incomplete`.
//   chunk-ext = *( BWS ";" BWS chunk-ext-name [ BWS "=" BWS chunk-ext-val ] )
//   chunk-ext-val = token / quoted-string
Line parse_size_line(std::string_view s, bool partial, std::uint64_t& size) noexcept {
  if (partial && !s.empty() && s.back() == '\r') {
    const Line r = parse_size_line(s.substr(0, s.size() - 1), false, size);
    return r == Line::bad ? r : Line::incomplete;
  }
  const Line out_of_bytes = partial ? Line::incomplete : Line::bad;
  const std::size_t n = s.size();
  std::size_t i = 0;
  std::uint64_t v = 0;
  for (int d = 0; i < n && (d = hex_value(s[i])) >= 0; ++i) {
    if (i == kMaxSizeDigits) return Line::bad;
    v = v << 4 | static_cast<std::uint64_t>(d);
  }
  if (i == 0) return n == 0 ? out_of_bytes : Line::bad;
  if (v > kMaxChunk) return Line::bad;
  size = v;
  for (;;) {
    skip_bws(s, i);
    if (i == n) {
      // Whitespace is only allowed before ';' (BWS).
      return partial ? Line::incomplete : (s[n - 1] == ' ' ? Line::bad : Line::ok);
    }
    if (s[i] != ';') return Line::bad;
    ++i;
    skip_bws(s, i);
    if (!skip_token(s, i)) return i == n ? out_of_bytes : Line::bad;
    std::size_t j = i;
    skip_bws(s, j);
    if (j == n || s[j] != '=') continue;
    i = j + 1;
    skip_bws(s, i);
    if (i == n) return out_of_bytes;
    if (s[i] != '"') {
      if (!skip_token(s, i)) return Line::bad;
      continue;
    }
    // quoted-string: qdtext or quoted-pair, any field byte but '"' and '\'.
    for (++i;; ++i) {
      if (i == n) return out_of_bytes;
      if (s[i] == '"') break;
      if (s[i] == '\\' && ++i == n) return out_of_bytes;
      if (!is_field_char(s[i])) return Line::bad;
    }
    ++i;
  }
}

// A trailer field line, without CRLF: field-name ":" OWS field-value OWS.
// Trailers are skipped, but must still be well-formed.
Line check_trailer_line(std::string_view s, bool partial) noexcept {
  if (partial && !s.empty() && s.back() == '\r') {
    const Line r = check_trailer_line(s.substr(0, s.size() - 1), false);
    return r == Line::bad ? r : Line::incomplete;
  }
  std::size_t i = 0;
  if (!skip_token(s, i)) return s.empty() && partial ? Line::incomplete : Line::bad;
  if (i == s.size()) return partial ? Line::incomplete : Line::bad;
  if (s[i] != ':') return Line::bad;
  for (++i; i < s.size(); ++i) {
    if (!is_field_char(s[i])) return Line::bad;
  }
  return partial ? Line::incomplete : Line::ok;
}

// Finds the line at the start of `in`: its length without CRLF in `len`.
// `incomplete` when no LF is there yet, `bad` when it would be too long or
// ends in a bare LF.
Line find_line(std::string_view in, std::size_t& len) noexcept {
  const std::size_t window = in.size() < kMaxLine ? in.size() : kMaxLine;
  const void* lf = std::memchr(in.data(), '\n', window);
  if (lf == nullptr) {
    len = window;
    return in.size() >= kMaxLine ? Line::bad : Line::incomplete;
  }
  const std::size_t end = static_cast<const char*>(lf) - in.data();
  if (end == 0 || in[end - 1] != '\r') return Line::bad;
  len = end - 1;
  return Line::ok;
}

}  // namespace

ChunkedDecoder::Step ChunkedDecoder::feed(std::string_view in) noexcept {
  std::size_t pos = 0;
  const auto error = [&] {
    state_ = State::failed;  // sticky: nothing more is decoded
    return Step{Status::error, pos, {}};
  };
  const auto more = [&] { return Step{Status::more, pos, {}}; };
  for (;;) {
    const std::string_view rest = in.substr(pos);
    switch (state_) {
      case State::size: {
        std::size_t len = 0;
        const Line found = find_line(rest, len);
        std::uint64_t size = 0;
        const Line parsed = parse_size_line(rest.substr(0, len), found != Line::ok, size);
        if (found == Line::bad || parsed == Line::bad) return error();
        if (found == Line::incomplete) return more();
        pos += len + 2;
        if (size == 0) {
          state_ = State::trailers;
          remaining_ = 0;  // counts trailer bytes from here on
          break;
        }
        if (size > limit_ - total_) {
          over_limit_ = true;
          return error();
        }
        remaining_ = size;
        state_ = State::data;
        break;
      }
      case State::data: {
        const std::size_t take =
            rest.size() < remaining_ ? rest.size() : static_cast<std::size_t>(remaining_);
        if (take == 0) return more();
        remaining_ -= take;
        total_ += take;
        pos += take;
        if (remaining_ == 0) state_ = State::data_crlf;
        return Step{Status::more, pos, rest.substr(0, take)};
      }
      case State::data_crlf:
        if (rest.empty()) return more();
        if (rest[0] != '\r' || (rest.size() > 1 && rest[1] != '\n')) return error();
        if (rest.size() < 2) return more();
        pos += 2;
        state_ = State::size;
        break;
      case State::trailers: {
        if (rest.empty()) return more();
        if (rest[0] == '\r') {
          if (rest.size() < 2) return more();
          if (rest[1] != '\n') return error();
          pos += 2;
          state_ = State::done;
          return Step{Status::done, pos, {}};
        }
        std::size_t len = 0;
        const Line found = find_line(rest, len);
        const Line checked = check_trailer_line(rest.substr(0, len), found != Line::ok);
        if (found == Line::bad || checked == Line::bad) return error();
        if (found == Line::incomplete) {
          return remaining_ + len > kMaxTrailers ? error() : more();
        }
        remaining_ += len + 2;
        if (remaining_ > kMaxTrailers) return error();
        pos += len + 2;
        break;
      }
      case State::done:
        return Step{Status::done, 0, {}};
      case State::failed:
        return Step{Status::error, 0, {}};
    }
  }
}

}  // namespace weft::http
