#include "http/exchange.hpp"

#include <algorithm>
#include <utility>

namespace weft::http::detail {

namespace {

std::error_code protocol_error() {
  return std::make_error_code(std::errc::protocol_error);
}

std::error_code too_large() {
  return std::make_error_code(std::errc::message_size);
}

}  // namespace

Exchange::Exchange(FetchOptions opts, FetchCallback done, std::string request, std::string dial_url)
    : opts_(std::move(opts)),
      done_(std::move(done)),
      request_(std::move(request)),
      dial_url_(std::move(dial_url)) {
  limits_.max_head_bytes = opts_.max_head_bytes;
  limits_.max_request_line = opts_.max_head_bytes;
  limits_.max_headers = opts_.max_headers;
  if (!opts_.on_body) chunks_.set_limit(opts_.max_body);
}

Exchange::Outcome Exchange::feed(Bytes in, std::size_t& used) {
  used = 0;
  if (!in.empty()) started_ = true;
  while (state_ != State::done && used < in.size()) {
    const std::size_t step = consume(in.substr(used));
    if (step == 0) break;  // needs more input
    used += step;
  }
  if (result_.error) return Outcome::failed;
  return state_ == State::done ? Outcome::answered : Outcome::more;
}

Exchange::Outcome Exchange::closed(std::error_code why) {
  if (state_ == State::done) return result_.error ? Outcome::failed : Outcome::answered;
  if (state_ == State::until_close && !why) {
    state_ = State::done;  // the body was framed by the close
    return Outcome::answered;
  }
  fail(why ? why : std::make_error_code(std::errc::connection_reset),
       state_ == State::head ? "the connection closed before an answer"
                             : "the connection closed in the middle of the body");
  return Outcome::failed;
}

void Exchange::set_error(std::error_code ec, std::string why) {
  fail(ec, std::move(why));
}

bool Exchange::keeps_connection() const noexcept {
  return state_ == State::done && !result_.error && head_.keep_alive && !head_.until_close;
}

bool Exchange::idempotent() const noexcept {
  const std::string& m = opts_.method;
  return m == "GET" || m == "HEAD" || m == "PUT" || m == "DELETE" || m == "OPTIONS" || m == "TRACE";
}

void Exchange::deliver() {
  if (delivered_) return;
  delivered_ = true;
  if (done_) done_(result_);
}

void Exchange::fail(std::error_code ec, std::string why) {
  if (result_.error) return;
  result_.error = ec;
  result_.why = std::move(why);
  state_ = State::done;
}

// Uses what it can of `in`; 0 when it needs more bytes first.
std::size_t Exchange::consume(Bytes in) {
  switch (state_) {
    case State::head:
      return consume_head(in);
    case State::length: {
      const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(remaining_, in.size()));
      remaining_ -= n;
      if (remaining_ == 0) state_ = State::done;
      take_body(in.substr(0, n));
      return n;
    }
    case State::chunked: {
      const ChunkedDecoder::Step s = chunks_.feed(in);
      if (s.status == ChunkedDecoder::Status::error) {
        if (chunks_.over_limit()) {
          fail(too_large(), "the body is over " + std::to_string(opts_.max_body) + " bytes");
        } else {
          fail(protocol_error(), "bad chunked framing in the answer");
        }
        return s.consumed;
      }
      if (s.status == ChunkedDecoder::Status::done) state_ = State::done;
      take_body(s.data);
      return s.consumed;
    }
    case State::until_close:
      if (!opts_.on_body && body().size() + in.size() > opts_.max_body) {
        fail(too_large(), "the body is over " + std::to_string(opts_.max_body) + " bytes");
      } else {
        take_body(in);
      }
      return in.size();
    case State::done:
      break;
  }
  return 0;
}

std::size_t Exchange::consume_head(Bytes in) {
  // Header slots are per thread: the head is copied out before this returns.
  thread_local std::vector<Header> slots;
  if (slots.size() < opts_.max_headers) slots.resize(opts_.max_headers);
  head_.headers = opts_.max_headers > 0 ? slots.data() : nullptr;
  const ParseResult r = parse_response_head(in, head_, limits_, opts_.method);
  if (r.status == ParseStatus::incomplete) return 0;  // the parser bounds the wait
  if (r.status == ParseStatus::error) {
    if (r.error_status == 431) {
      fail(too_large(), std::string("the answer's head is over the limits: ") + r.reason);
    } else {
      fail(protocol_error(), std::string("not an HTTP/1.x answer: ") + r.reason);
    }
    return 0;
  }
  if (head_.status < 200) {
    // 100 Continue, 103 Early Hints: the final answer follows. A switch of
    // protocols was never asked for.
    if (head_.status == 101) fail(protocol_error(), "an unrequested 101 Switching Protocols");
    return head_.head_bytes;
  }
  ClientResponse& res = result_.response;
  res.status = head_.status;
  res.reason = head_.reason;
  res.headers.reserve(head_.header_count);
  for (std::size_t i = 0; i < head_.header_count; ++i) {
    res.headers.emplace_back(head_.headers[i].name, head_.headers[i].value);
  }
  switch (head_.body) {
    case BodyKind::none:
      state_ = head_.until_close ? State::until_close : State::done;
      break;
    case BodyKind::length:
      if (!opts_.on_body && head_.content_length > opts_.max_body) {
        fail(too_large(),
             "the body's Content-Length is over " + std::to_string(opts_.max_body) + " bytes");
        break;
      }
      remaining_ = head_.content_length;
      if (!opts_.on_body) body().reserve(static_cast<std::size_t>(remaining_));
      state_ = remaining_ == 0 ? State::done : State::length;
      break;
    case BodyKind::chunked:
      state_ = State::chunked;
      break;
  }
  return head_.head_bytes;
}

void Exchange::take_body(std::string_view piece) {
  if (!opts_.on_body) {
    body().append(piece);
    return;
  }
  if (piece.empty()) return;
  if (!opts_.on_body(result_.response, piece)) {
    fail(std::make_error_code(std::errc::operation_canceled), "on_body stopped the transfer");
  }
}

}  // namespace weft::http::detail
