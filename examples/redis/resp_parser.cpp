// resp_parser.cpp — follows Redis' processMultibulkBuffer/processInlineBuffer
// (same limits, same error texts), but is stricter in one place: a bulk
// must end in CRLF, where Redis skips two bytes unchecked.
#include "resp_parser.hpp"

#include <algorithm>
#include <cstring>

#include "integer.hpp"

namespace redis {
namespace {

constexpr auto npos = std::string_view::npos;

// C's isspace() in the "C" locale: what Redis' sdssplitargs skips.
bool is_space(char c) noexcept {
  return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

void RespParser::reset() noexcept {
  pos_ = 0;
  scanned_ = 0;
  pending_ = -1;
  bulk_ = -1;
  spans_.clear();
}

ParseStatus RespParser::parse(std::string_view in) {
  args_.clear();
  if (args_.capacity() > 4096) args_.shrink_to_fit();  // after a huge command
  if (in.empty()) return ParseStatus::incomplete;
  return in[0] == '*' ? parse_multibulk(in) : parse_inline(in);
}

// Finds `byte` at or after pos_, skipping what earlier calls searched.
std::size_t RespParser::find_byte(std::string_view in, char byte) {
  const std::size_t from = pos_ + scanned_;
  const void* hit =
      from < in.size() ? std::memchr(in.data() + from, byte, in.size() - from) : nullptr;
  if (hit == nullptr) {
    scanned_ = in.size() - pos_;
    return npos;
  }
  scanned_ = 0;
  return static_cast<std::size_t>(static_cast<const char*>(hit) - in.data());
}

ParseStatus RespParser::complete(std::size_t used) {
  used_ = used;
  reset();
  // A huge command must not pin its argument table for the loop's life.
  if (spans_.capacity() > 4096) spans_ = {};
  return ParseStatus::command;
}

ParseStatus RespParser::fail(std::string_view msg) {
  error_.assign(msg);
  reset();
  return ParseStatus::error;
}

ParseStatus RespParser::parse_multibulk(std::string_view in) {
  if (pending_ < 0) {
    const std::size_t cr = find_byte(in, '\r');
    if (cr == npos) {
      if (in.size() > kMaxInlineSize) return fail("Protocol error: too big mbulk count string");
      return ParseStatus::incomplete;
    }
    if (cr + 1 >= in.size()) return ParseStatus::incomplete;  // the '\n' is still to come
    long long n = 0;
    if (in[cr + 1] != '\n' || !parse_integer(in.substr(1, cr - 1), n) || n > kMaxArgs)
      return fail("Protocol error: invalid multibulk length");
    if (n <= 0) return complete(cr + 2);  // "*0" and "*-1" are skipped, as by Redis
    pos_ = cr + 2;
    pending_ = n;
    // Do not trust the count for the allocation: the bytes have to follow.
    spans_.reserve(static_cast<std::size_t>(std::min(n, 1024LL)));
  }
  while (pending_ > 0) {
    if (bulk_ < 0) {
      const std::size_t cr = find_byte(in, '\r');
      if (cr == npos) {
        if (in.size() - pos_ > kMaxInlineSize)
          return fail("Protocol error: too big bulk count string");
        return ParseStatus::incomplete;
      }
      if (cr + 1 >= in.size()) return ParseStatus::incomplete;
      if (in[pos_] != '$') {
        // Redis prints the byte raw, but CR/LF become spaces in error replies.
        const char got = in[pos_] == '\r' || in[pos_] == '\n' ? ' ' : in[pos_];
        return fail(std::string("Protocol error: expected '$', got '") + got + "'");
      }
      long long len = 0;
      if (in[cr + 1] != '\n' || !parse_integer(in.substr(pos_ + 1, cr - pos_ - 1), len) ||
          len < 0 || len > kMaxBulkLen)
        return fail("Protocol error: invalid bulk length");
      bulk_ = len;
      pos_ = cr + 2;
    }
    const auto len = static_cast<std::size_t>(bulk_);
    if (in.size() - pos_ < len + 2) return ParseStatus::incomplete;
    if (in[pos_ + len] != '\r' || in[pos_ + len + 1] != '\n')
      return fail("Protocol error: expected CRLF after bulk");
    spans_.push_back({pos_, len});
    pos_ += len + 2;
    bulk_ = -1;
    --pending_;
  }
  args_.reserve(spans_.size());
  for (const Span& s : spans_)
    args_.emplace_back(in.data() + s.off, s.len);
  return complete(pos_);
}

ParseStatus RespParser::parse_inline(std::string_view in) {
  const std::size_t nl = find_byte(in, '\n');
  if (nl == npos) {
    if (in.size() > kMaxInlineSize) return fail("Protocol error: too big inline request");
    return ParseStatus::incomplete;
  }
  std::string_view line = in.substr(0, nl);
  if (line.ends_with('\r')) line.remove_suffix(1);
  // Redis splits the line as a C string: nothing after a NUL counts.
  line = line.substr(0, line.find('\0'));
  if (!split_inline(line)) return fail("Protocol error: unbalanced quotes in request");
  return complete(nl + 1);
}

// Splits like Redis' sdssplitargs: blanks separate arguments; "..." takes
// \n \r \t \b \a \xHH escapes, '...' takes \'; a closing quote must be
// followed by a blank or the end. Unquoted arguments stay views into the
// line; only arguments with quotes are decoded into decoded_.
bool RespParser::split_inline(std::string_view line) {
  const std::size_t n = line.size();
  auto at = [&](std::size_t k) { return k < n ? line[k] : '\0'; };
  bool reserved = false;
  std::size_t i = 0;
  for (;;) {
    while (i < n && is_space(line[i]))
      ++i;
    if (i == n) return true;
    const std::size_t start = i;
    while (i < n && line[i] != ' ' && line[i] != '\t' && line[i] != '\n' && line[i] != '\r' &&
           line[i] != '"' && line[i] != '\'')
      ++i;
    if (i == n || (line[i] != '"' && line[i] != '\'')) {
      args_.push_back(line.substr(start, i - start));
      continue;
    }
    if (!reserved) {
      // Decoding never grows the text, so views into decoded_ stay valid.
      decoded_.clear();
      decoded_.reserve(n);
      reserved = true;
    }
    const std::size_t out = decoded_.size();
    decoded_.append(line.substr(start, i - start));
    bool in_dq = false, in_sq = false, done = false;
    while (!done) {
      const char c = at(i);
      if (in_dq) {
        if (c == '\\' && at(i + 1) == 'x' && hex_value(at(i + 2)) >= 0 &&
            hex_value(at(i + 3)) >= 0) {
          decoded_.push_back(static_cast<char>(hex_value(at(i + 2)) * 16 + hex_value(at(i + 3))));
          i += 3;
        } else if (c == '\\' && at(i + 1) != '\0') {
          ++i;
          switch (line[i]) {
            case 'n':
              decoded_.push_back('\n');
              break;
            case 'r':
              decoded_.push_back('\r');
              break;
            case 't':
              decoded_.push_back('\t');
              break;
            case 'b':
              decoded_.push_back('\b');
              break;
            case 'a':
              decoded_.push_back('\a');
              break;
            default:
              decoded_.push_back(line[i]);
              break;
          }
        } else if (c == '"') {
          if (at(i + 1) != '\0' && !is_space(at(i + 1))) return false;
          done = true;
        } else if (c == '\0') {
          return false;
        } else {
          decoded_.push_back(c);
        }
      } else if (in_sq) {
        if (c == '\\' && at(i + 1) == '\'') {
          ++i;
          decoded_.push_back('\'');
        } else if (c == '\'') {
          if (at(i + 1) != '\0' && !is_space(at(i + 1))) return false;
          done = true;
        } else if (c == '\0') {
          return false;
        } else {
          decoded_.push_back(c);
        }
      } else {
        switch (c) {
          case ' ':
          case '\n':
          case '\r':
          case '\t':
          case '\0':
            done = true;
            break;
          case '"':
            in_dq = true;
            break;
          case '\'':
            in_sq = true;
            break;
          default:
            decoded_.push_back(c);
            break;
        }
      }
      if (c != '\0') ++i;
    }
    args_.emplace_back(decoded_.data() + out, decoded_.size() - out);
  }
}

}  // namespace redis
