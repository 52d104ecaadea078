// weft/http/response.hpp — the answer to one request. Responses leave in
// request order even when a later request is answered first (pipelining):
// weft buffers an early answer until the ones before it are complete.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "weft/handle.hpp"

namespace weft {
class Conn;
}

namespace weft::http {

class App;
struct ConnState;

class Response {
 public:
  /// Sets the status (default 200).
  Response& status(int code) noexcept {
    status_ = code;
    return *this;
  }
  /// Adds a header. Names and values with CR, LF or NUL are dropped (no
  /// response splitting). Content-Length, Transfer-Encoding, Date and
  /// Connection are weft's to write.
  Response& header(std::string_view name, std::string_view value);

  /// A complete response: the body with Content-Length (no body bytes for
  /// HEAD). `content_type` "" leaves it out.
  void send(std::string_view body, std::string_view content_type = "text/plain; charset=utf-8");
  void send(int code, std::string_view body,
            std::string_view content_type = "text/plain; charset=utf-8") {
    status(code);
    send(body, content_type);
  }
  void json(std::string_view json_text) { send(json_text, "application/json"); }

  /// Streaming: sends the head now, with Content-Length when `length` is
  /// known, else chunked (HTTP/1.1) or until close (HTTP/1.0).
  void begin(std::optional<std::uint64_t> length = std::nullopt,
             std::string_view content_type = "application/octet-stream");
  /// Sends part of the body (after begin). Returns false once the
  /// connection is gone.
  bool write(std::string_view data);
  /// Ends a streamed body.
  void end();

  /// Output queued on the connection but not yet taken by the kernel: a
  /// streaming writer waits (App::Options::on_drained or polling) when this grows.
  std::size_t queued() const noexcept;
  bool finished() const noexcept { return state_ == State::done; }

  /// A reference for answering later, from the loop or another thread
  /// (a copyable value; a no-op once the connection has closed).
  class Ref {
   public:
    Ref() = default;
    /// Sends a complete response (copies the body). Any thread; on the
    /// connection's loop it is sent at once.
    std::error_code send(int code, std::string body,
                         std::string content_type = "text/plain; charset=utf-8") const;
    /// Runs `fn` with the Response on its connection's loop, if the
    /// connection and the response are still there: for answers with their
    /// own headers, or streamed. Any thread; on the connection's loop `fn`
    /// runs at once.
    std::error_code answer(std::function<void(Response&)> fn) const;
    bool alive() const noexcept { return conn_.alive(); }

   private:
    friend class Response;
    ConnHandle conn_;
    std::uint64_t seq_ = 0;
  };
  /// Keeps the response open after the handler returns; answer through the
  /// Ref. (A handler that returns without answering defers implicitly; the
  /// Ref is how it finds the response again.)
  Ref ref() const;

 private:
  friend class App;
  friend struct ConnState;
  enum class State : std::uint8_t { open, streaming, done };
  void emit(std::string_view bytes);
  void finish();

  App* app_ = nullptr;
  ConnState* conn_state_ = nullptr;
  Conn* conn_ = nullptr;
  std::uint64_t seq_ = 0;
  int status_ = 200;
  State state_ = State::open;
  bool head_request_ = false;
  bool close_after_ = false;
  bool http10_ = false;
  bool chunked_ = false;
  std::string extra_headers_;  // "Name: value\r\n"...
  std::string held_;           // output waiting for earlier responses
};

}  // namespace weft::http
