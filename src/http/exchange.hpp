// One HTTP/1.1 request and its answer, apart from any connection: the bytes
// to send, and the parse of what comes back (head in place, interim 1xx
// skipped, the body collected as framed: Content-Length, chunked, or until
// the server closes). The connection handlers in client.cpp feed it and
// decide what happens to the connection afterwards.
#pragma once

#include <cstdint>
#include <string>
#include <system_error>
#include <vector>

#include "http/request_parser.hpp"
#include "http/response_parser.hpp"
#include "weft/bytes.hpp"
#include "weft/http/client.hpp"

namespace weft::http::detail {

class Exchange {
 public:
  enum class Outcome { more, answered, failed };

  Exchange(FetchOptions opts, FetchCallback done, std::string request, std::string dial_url);

  const FetchOptions& options() const noexcept { return opts_; }
  const std::string& request() const noexcept { return request_; }
  const std::string& dial_url() const noexcept { return dial_url_; }

  /// Parses answer bytes; `used` says how many it took. `answered` and
  /// `failed` are final (the error is set for `failed`).
  Outcome feed(Bytes in, std::size_t& used);
  /// The connection ended: `answered` for a body that ends with it, else
  /// `failed` with `why` (or connection_reset) as the error.
  Outcome closed(std::error_code why);
  void set_error(std::error_code ec, std::string why);

  /// Whether any byte of an answer arrived (a request that got none may be
  /// sent again on a new connection).
  bool answer_started() const noexcept { return started_; }
  /// An answer that leaves the connection fit for another request.
  bool keeps_connection() const noexcept;
  /// Whether sending the request twice does no more than sending it once
  /// (RFC 9110 §9.2.2).
  bool idempotent() const noexcept;

  /// Calls the callback with the result; only the first call does anything.
  void deliver();

 private:
  enum class State { head, length, chunked, until_close, done };

  std::size_t consume(Bytes in);
  std::size_t consume_head(Bytes in);
  // Collects a piece of the body, or hands it to on_body.
  void take_body(std::string_view piece);
  void fail(std::error_code ec, std::string why);
  std::string& body() noexcept { return result_.response.body; }

  FetchOptions opts_;
  FetchCallback done_;
  std::string request_;
  std::string dial_url_;  // for messages: the URL's host, not the address it resolved to
  HeadLimits limits_;
  ResponseHead head_;
  ChunkedDecoder chunks_;
  FetchResult result_;
  State state_ = State::head;
  std::uint64_t remaining_ = 0;
  bool started_ = false;
  bool delivered_ = false;
};

}  // namespace weft::http::detail
