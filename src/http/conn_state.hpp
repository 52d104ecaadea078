// What the HTTP layer keeps per connection (Conn::context while the App
// serves it): the responses still owed in request order, a streaming body
// in progress, and the slowloris timer. Made at the first request.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "http/request_parser.hpp"
#include "weft/handler.hpp"
#include "weft/http/request.hpp"
#include "weft/http/response.hpp"
#include "weft/loop.hpp"

namespace weft::http {

struct ConnState {
  /// Responses not yet fully written, oldest first; only the first writes
  /// to the socket, the others hold their bytes.
  std::vector<std::unique_ptr<Response>> pending;
  std::vector<std::unique_ptr<Response>> spare;  // finished ones, for reuse
  std::uint64_t next_seq = 0;
  bool closing = false;  // a response will close the connection: parse no more

  // A streaming route reading its body.
  bool streaming_body = false;
  BodyKind body_kind = BodyKind::none;
  std::uint64_t body_remaining = 0;
  ChunkedDecoder chunks;
  Request::BodyFn body_fn;
  std::uint64_t stream_seq = 0;  // the response of the streaming request

  // The input ends inside a head (not inside a body): the head deadline runs.
  bool partial_head = false;
  // Of that partial head: bytes known to hold no end of head, and the size
  // at the last full parse. A head arriving a byte at a time is then scanned
  // once, not once per byte.
  std::size_t head_scanned = 0;
  std::size_t head_parsed_at = 0;

  // Slowloris: the deadline for the head being received.
  TimerId header_timer = 0;
  std::uint64_t header_epoch = 0;

  // A route switched protocols (WebSocket): after this request the
  // connection belongs to this handler, with this context.
  Handler* upgrade_handler = nullptr;
  void* upgrade_context = nullptr;

  std::string decoded_body;  // a chunked body, decoded
  std::vector<std::pair<std::string_view, std::string_view>> params;

  Response* find(std::uint64_t seq) noexcept {
    for (auto& r : pending) {
      if (r->seq_ == seq) return r.get();
    }
    return nullptr;
  }
  /// A fresh response at the back of the queue.
  Response& add(App* app, Conn* conn);
  /// Writes what the oldest responses hold, drops the finished ones; closes
  /// the connection after one that asked for it.
  void advance();
};

/// The Date header value for now ("Sun, 06 Nov 1994 08:49:37 GMT"), cached
/// per thread and refreshed once a second.
std::string_view http_date() noexcept;
/// "OK", "Not Found", ...; "" for codes weft does not name.
std::string_view reason_phrase(int status) noexcept;

}  // namespace weft::http
