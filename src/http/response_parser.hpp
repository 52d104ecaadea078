// The client side of HTTP/1.1: writing requests and parsing response heads
// in place (views into the input), for Server::dial users and for tests.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "http/request_parser.hpp"

namespace weft::http {

struct ResponseHead {
  int version_minor = 1;
  int status = 0;             ///< 100..999
  std::string_view reason;    ///< may be empty
  Header* headers = nullptr;  ///< caller-provided array (max_headers entries)
  std::size_t header_count = 0;
  std::size_t head_bytes = 0;

  BodyKind body = BodyKind::none;    ///< none for 1xx/204/304 and HEAD answers
  std::uint64_t content_length = 0;  ///< when body == length
  bool until_close = false;          ///< no length and not chunked: the body ends at EOF
  bool keep_alive = true;

  std::string_view header(std::string_view name) const noexcept;
};

/// Parses one response head from the start of `in`. `request_method` is the
/// method of the request it answers ("HEAD" means no body whatever the
/// headers say). Errors: bad status line, bad header syntax (as for
/// requests), conflicting or invalid framing headers — 0 in error_status;
/// a status line, header count or head over `limits` — 431.
ParseResult parse_response_head(std::string_view in, ResponseHead& out, const HeadLimits& limits,
                                std::string_view request_method = "GET");

/// Appends an HTTP/1.1 request to `out`: request line, Host, the given
/// headers, Content-Length when there is a body (or the method expects one),
/// then the body. Header names/values with CR, LF or NUL are refused
/// (returns false, `out` unchanged) so a caller cannot inject headers.
bool write_request(std::string& out, std::string_view method, std::string_view target,
                   std::string_view host, std::span<const Header> headers = {},
                   std::string_view body = {});

/// Appends a chunked-body chunk ("<hex>\r\n<data>\r\n"); empty data writes
/// the last chunk ("0\r\n\r\n").
void write_chunk(std::string& out, std::string_view data);

}  // namespace weft::http
