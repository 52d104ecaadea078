// reply.hpp — appends RESP2 replies to an output buffer. The handler keeps
// one buffer per loop and writes it once per input batch, so building a
// reply costs no allocation once the buffer has grown.
#pragma once

#include <charconv>
#include <cstddef>
#include <string>
#include <string_view>

namespace redis {

class Reply {
 public:
  explicit Reply(std::string& out) noexcept : out_(out) {}

  /// "+OK\r\n"
  void status(std::string_view s) { line('+', s); }
  /// "-ERR ...\r\n": `msg` carries its own prefix ("ERR", "WRONGTYPE", ...).
  void error(std::string_view msg) { line('-', msg); }
  /// ":42\r\n"
  void integer(long long n) { number(':', n); }
  /// "$3\r\nbar\r\n"
  void bulk(std::string_view s) {
    number('$', static_cast<long long>(s.size()));
    out_.append(s);
    out_.append("\r\n");
  }
  /// "$-1\r\n": RESP2's null (missing key).
  void null() { out_.append("$-1\r\n"); }
  /// "*2\r\n", followed by the elements.
  void array(std::size_t n) { number('*', static_cast<long long>(n)); }

  /// For replies built piecewise (error messages with arguments).
  std::string& raw() noexcept { return out_; }

 private:
  void line(char type, std::string_view s) {
    out_.push_back(type);
    out_.append(s);
    out_.append("\r\n");
  }
  void number(char type, long long n) {
    char buf[24];
    buf[0] = type;
    const auto r = std::to_chars(buf + 1, buf + sizeof buf - 2, n);
    r.ptr[0] = '\r';
    r.ptr[1] = '\n';
    out_.append(buf, static_cast<std::size_t>(r.ptr + 2 - buf));
  }

  std::string& out_;
};

}  // namespace redis
