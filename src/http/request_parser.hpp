// HTTP/1.1 request heads, parsed in place: every string is a view into the
// connection's input, valid until on_data returns. The parser is
// restartable rather than incremental: give it everything received so far
// and it either finds a complete head, asks for more, or rejects with the
// status code to answer. Heads are small, so re-scanning a partial one is
// cheaper than keeping parser state in every idle connection.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "weft/http/header.hpp"  // Header, iequals

namespace weft::http {

/// Limits a request head must fit in (from the server config).
struct HeadLimits {
  std::size_t max_request_line = 8192;  ///< longer: 414 (target) or 400
  std::size_t max_head_bytes = 65536;   ///< request line + headers; longer: 431
  std::size_t max_headers = 100;        ///< more: 431
};

/// What the parse found.
enum class ParseStatus { complete, incomplete, error };

/// How a request body is framed.
enum class BodyKind : std::uint8_t { none, length, chunked };

struct RequestHead {
  std::string_view method;    ///< e.g. "GET" (a token; case-sensitive)
  std::string_view target;    ///< request-target as sent
  int version_minor = 1;      ///< HTTP/1.<minor>: 0 or 1
  Header* headers = nullptr;  ///< caller-provided array (max_headers entries)
  std::size_t header_count = 0;
  std::size_t head_bytes = 0;  ///< bytes of the head, final CRLF included

  // Derived from the headers while parsing:
  BodyKind body = BodyKind::none;
  std::uint64_t content_length = 0;  ///< when body == length
  bool keep_alive = true;            ///< Connection semantics for this version
  bool expect_continue = false;      ///< "Expect: 100-continue"
  bool upgrade = false;              ///< "Connection: upgrade" + an Upgrade header
  std::string_view host;             ///< Host header value ("" when absent)

  /// The first header with this name (case-insensitive), or "" when absent.
  std::string_view header(std::string_view name) const noexcept;
  bool has_header(std::string_view name) const noexcept;
};

struct ParseResult {
  ParseStatus status = ParseStatus::incomplete;
  int error_status = 0;     ///< on error: 400, 414, 431, 501, 505
  const char* reason = "";  ///< on error: a short, fixed explanation
};

/// Parses one request head from the start of `in` into `out` (whose
/// `headers` array must hold limits.max_headers entries). Leading empty
/// lines (CRLF) before a request line are skipped, as RFC 9112 allows.
///
/// Rejected (status in parentheses): bad method token, target or version
/// syntax (400; unknown major version 505), a request line over the limit
/// (414), a head over max_head_bytes or more than max_headers headers (431),
/// obs-fold, whitespace before a colon, a header name that is not a token,
/// NUL/CR/LF or other control bytes in a value, bare LF line endings (400);
/// Content-Length together with Transfer-Encoding, duplicate Content-Length
/// with different values, a Content-Length that is not digits or overflows
/// (over 19 digits), HTAB around a Content-Length or Transfer-Encoding
/// value (400); a Transfer-Encoding in which chunked is not the last coding
/// (400), or that names any coding other than chunked, e.g. "gzip, chunked"
/// or "identity" (501); HTTP/1.0 with Transfer-Encoding (400). HTTP/1.1
/// without Host, more than one Host, or an invalid Host is 400 as well.
/// HTTP/1.2 to 1.9 are answered as 1.1 (version_minor 1).
ParseResult parse_request_head(std::string_view in, RequestHead& out, const HeadLimits& limits);

/// Decodes a chunked body incrementally. Chunk extensions are accepted and
/// ignored; trailers are accepted and skipped. Chunk data is handed out as
/// views into the input.
class ChunkedDecoder {
 public:
  enum class Status { more, done, error };
  struct Step {
    Status status = Status::more;
    std::size_t consumed = 0;  ///< input bytes used (data and framing)
    std::string_view data;     ///< body bytes found (may be empty)
  };
  /// Consumes from `in` up to the end of the first piece of chunk data (or
  /// the end of the body). Call again with the rest until `done` or until it
  /// consumes nothing (it needs more input). Invalid or overflowing chunk
  /// sizes, a missing CRLF after data, and lines over 4 KiB are errors.
  Step feed(std::string_view in) noexcept;
  /// Whole-body limit: data beyond it is an error (413 for the caller).
  void set_limit(std::uint64_t max_body) noexcept { limit_ = max_body; }
  std::uint64_t total() const noexcept { return total_; }
  bool over_limit() const noexcept { return over_limit_; }
  void reset() noexcept { *this = ChunkedDecoder(); }

 private:
  enum class State : std::uint8_t { size, data, data_crlf, trailers, done, failed };
  State state_ = State::size;
  std::uint64_t remaining_ = 0;  // of the current chunk
  std::uint64_t total_ = 0;
  std::uint64_t limit_ = UINT64_MAX;
  bool over_limit_ = false;
};

/// Whether a comma-separated header value (e.g. Connection) lists `token`.
bool has_token(std::string_view list, std::string_view token) noexcept;

}  // namespace weft::http
