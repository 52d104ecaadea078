// resp_parser.hpp — an incremental, zero-copy parser for Redis requests:
// RESP2 multibulk arrays ("*2\r\n$3\r\nGET\r\n$1\r\nk\r\n") and inline
// commands ("GET k\r\n", as typed into telnet).
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace redis {

// Redis' own limits: PROTO_INLINE_MAX_SIZE, the historical multibulk cap,
// and the default proto-max-bulk-len.
inline constexpr std::size_t kMaxInlineSize = 64 * 1024;
inline constexpr long long kMaxArgs = 1024 * 1024;
inline constexpr long long kMaxBulkLen = 512LL * 1024 * 1024;

enum class ParseStatus {
  command,     ///< a whole command: args() and used()
  incomplete,  ///< more bytes needed; nothing to consume yet
  error,       ///< malformed: error() says why; the connection must close
};

class RespParser {
 public:
  /// Parses the command at the start of `in`. After `incomplete`, call
  /// again with the same bytes followed by more: work already done on the
  /// partial command (arguments read, line ends searched for) is resumed,
  /// not redone, so a command arriving in many reads costs O(its size).
  ParseStatus parse(std::string_view in);

  /// After `command`: the arguments, views into `in` (or into the parser,
  /// for quoted inline arguments); valid until the next parse(). Empty for
  /// a blank line or "*0", which Redis ignores.
  std::span<const std::string_view> args() const noexcept { return args_; }
  /// After `command`: how many bytes of `in` the command took.
  std::size_t used() const noexcept { return used_; }
  /// After `error`: Redis' message, e.g. "Protocol error: invalid bulk length".
  std::string_view error() const noexcept { return error_; }

  /// Bytes of a partial command already examined: what keeping this parser
  /// for the next read (rather than starting afresh) saves.
  std::size_t progress() const noexcept { return pos_ + scanned_; }
  /// Forgets any partial command.
  void reset() noexcept;

  struct Batch {
    std::size_t consumed = 0;  ///< bytes of the complete commands handled
    bool error = false;        ///< stopped on malformed input (see error())
  };
  /// Parses every complete command in `in` (a pipelined batch), calling
  /// `on_command(args)` for each non-empty one until it returns false.
  template <class OnCommand>
  Batch parse_all(std::string_view in, OnCommand&& on_command);

 private:
  struct Span {
    std::size_t off, len;  // offsets survive the input moving between reads
  };

  ParseStatus parse_inline(std::string_view in);
  ParseStatus parse_multibulk(std::string_view in);
  bool split_inline(std::string_view line);
  std::size_t find_byte(std::string_view in, char byte);
  ParseStatus complete(std::size_t used);
  ParseStatus fail(std::string_view msg);

  std::vector<Span> spans_;             // multibulk arguments read so far
  std::vector<std::string_view> args_;  // the finished command
  std::string decoded_;                 // inline arguments that had quotes
  std::string error_;
  std::size_t pos_ = 0;      // next unread byte, from the command's start
  std::size_t scanned_ = 0;  // bytes after pos_ known to hold no line end
  long long pending_ = -1;   // arguments still to read; -1: no "*N" line yet
  long long bulk_ = -1;      // length of the bulk at pos_; -1: no "$N" line yet
  std::size_t used_ = 0;
};

template <class OnCommand>
RespParser::Batch RespParser::parse_all(std::string_view in, OnCommand&& on_command) {
  Batch b;
  for (;;) {
    switch (parse(in.substr(b.consumed))) {
      case ParseStatus::incomplete:
        return b;
      case ParseStatus::error:
        b.error = true;
        return b;
      case ParseStatus::command:
        b.consumed += used_;
        if (!args_.empty() && !on_command(args())) return b;
        break;
    }
  }
}

}  // namespace redis
