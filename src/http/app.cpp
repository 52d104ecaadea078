// The HTTP/1.1 server loop for one connection: parse a head in place, wait
// for its body (or stream it to the route), dispatch, repeat while pipelined
// requests remain in the input. Responses leave in request order (see
// response.cpp); everything a handler writes inside on_data is gathered by
// the connection's cork, so a pipelined batch goes out in one write.
#include "weft/http/app.hpp"

#include "http/conn_state.hpp"
#include "weft/conn.hpp"
#include "weft/log.hpp"

namespace weft::http {

namespace {

ConnState* state_of(Conn& c) {
  return static_cast<ConnState*>(c.context());
}

// Header slots for the head being parsed: per thread (a loop parses one
// head at a time), so connections do not carry them.
Header* header_slots(std::size_t n) {
  thread_local std::vector<Header> slots;
  if (slots.size() < n) slots.resize(n);
  return slots.data();
}

constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";

// A route upgraded the connection (WebSocket): the HTTP state goes, and the
// new handler gets the connection and whatever input followed the request.
std::size_t hand_over(Conn& c, ConnState* st, Bytes rest) {
  Handler& next = *st->upgrade_handler;
  void* ctx = st->upgrade_context;
  if (st->header_timer) c.loop().cancel(st->header_timer);
  delete st;
  c.set_context(ctx);
  c.set_handler(next);
  if (next.on_open(c) == Action::close) {
    c.close();
    return rest.size();
  }
  return rest.empty() || c.closing() ? rest.size() : next.on_data(c, rest);
}

}  // namespace

App::App(Options opts) : opts_(std::move(opts)) {}
App::~App() = default;

Action App::on_open(Conn&) {
  return Action::none;
}

void App::on_close(Conn& c, std::error_code) {
  ConnState* st = state_of(c);
  if (!st) return;
  if (st->header_timer) c.loop().cancel(st->header_timer);
  c.set_context(nullptr);
  delete st;
}

std::size_t App::on_data(Conn& c, Bytes in) {
  ConnState* st = state_of(c);
  if (!st) {
    st = new ConnState;
    c.set_context(st);
  }
  if (st->closing) return in.size();  // a response will close: the rest is not read
  std::size_t used = 0;
  bool stop = false;
  st->partial_head = false;
  while (used < in.size() && !stop && !st->closing && !c.closing() && !st->upgrade_handler) {
    used += serve_one(c, *st, in.substr(used), stop);
  }
  if (st->upgrade_handler) return used + hand_over(c, st, in.substr(used));
  if (st->closing) return in.size();
  // Part of a head is waiting: it must be complete before its deadline
  // (a body in progress is not timed here; idleLimit covers silence).
  if (st->partial_head) arm_header_timer(c, *st);
  return used;
}

void App::head_done(Conn& c, ConnState& st) {
  if (!st.header_timer) return;
  c.loop().cancel(st.header_timer);
  st.header_timer = 0;
  ++st.header_epoch;  // a timer already queued finds a new epoch and does nothing
}

void App::arm_header_timer(Conn& c, ConnState& st) {
  if (opts_.header_timeout_ms <= 0 || st.header_timer) return;
  st.header_timer = c.loop().run_after(
      Millis{opts_.header_timeout_ms}, [this, h = c.handle(), epoch = st.header_epoch] {
        (void)h.post([this, epoch](Conn& conn) {
          ConnState* s = state_of(conn);
          if (!s || s->header_epoch != epoch || s->closing) return;
          s->header_timer = 0;
          reject(conn, *s, 408, "request head not received in time");
        });
      });
}

void App::reject(Conn& c, ConnState& st, int status, const char* reason) {
  Response& res = st.add(this, &c);
  res.close_after_ = true;
  st.closing = true;
  std::string body(reason);
  body.push_back('\n');
  res.send(status, body);
}

std::size_t App::serve_one(Conn& c, ConnState& st, std::string_view in, bool& stop) {
  // A streaming route is reading its body.
  if (st.streaming_body) {
    std::size_t used = 0;
    bool done = false;
    if (st.body_kind == BodyKind::length) {
      std::size_t n =
          static_cast<std::size_t>(std::min<std::uint64_t>(st.body_remaining, in.size()));
      if (st.body_fn && n) st.body_fn(in.substr(0, n), false);
      used = n;
      st.body_remaining -= n;
      done = st.body_remaining == 0;
    } else {
      for (;;) {
        auto step = st.chunks.feed(in.substr(used));
        if (step.status == ChunkedDecoder::Status::error) {
          // The route is not told "last": its response carries the error.
          st.body_fn = nullptr;
          st.streaming_body = false;
          const int status = st.chunks.over_limit() ? 413 : 400;
          const char* why = status == 413 ? "request body too large" : "bad chunked body";
          Response* open = st.find(st.stream_seq);
          if (open && open->state_ == Response::State::open) {
            open->close_after_ = true;
            st.closing = true;
            open->send(status, std::string(why) + "\n");
          } else if (open && open->state_ == Response::State::streaming) {
            c.abort();  // its answer is half sent: nothing correct can follow
          } else {
            reject(c, st, status, why);
          }
          stop = true;
          return in.size();
        }
        used += step.consumed;
        if (st.body_fn && !step.data.empty()) st.body_fn(step.data, false);
        if (step.status == ChunkedDecoder::Status::done) {
          done = true;
          break;
        }
        if (step.consumed == 0) break;
      }
    }
    if (done) {
      st.streaming_body = false;
      if (st.body_fn) {
        Request::BodyFn fn = std::move(st.body_fn);
        st.body_fn = nullptr;
        fn({}, true);
      }
    } else {
      stop = true;
    }
    return used;
  }

  // Still no end of head since the last look, and not much more input: wait
  // (the parser would only re-scan the same bytes). Every 1 KiB it parses
  // anyway, so garbage is still rejected early.
  if (st.head_scanned > 0 && in.size() >= st.head_scanned) {
    const std::size_t from = st.head_scanned > 3 ? st.head_scanned - 3 : 0;
    const bool ended = in.find("\r\n\r\n", from) != std::string_view::npos;
    if (!ended && in.size() <= opts_.max_head_bytes && in.size() < st.head_parsed_at + 1024) {
      st.head_scanned = in.size();
      st.partial_head = true;
      stop = true;
      return 0;
    }
  }
  RequestHead head;
  HeadLimits limits{opts_.max_request_line, opts_.max_head_bytes, opts_.max_headers};
  head.headers = header_slots(opts_.max_headers);
  ParseResult parsed = parse_request_head(in, head, limits);
  if (parsed.status == ParseStatus::incomplete) {
    st.partial_head = true;
    st.head_scanned = st.head_parsed_at = in.size();
    stop = true;
    return 0;
  }
  st.head_scanned = st.head_parsed_at = 0;
  head_done(c, st);
  if (parsed.status == ParseStatus::error) {
    reject(c, st, parsed.error_status, parsed.reason);
    stop = true;
    return in.size();
  }

  std::string_view path = head.target.substr(0, head.target.find('?'));
  std::string allow;
  const RouteEntry* route = match(head.method, path, st.params, &allow);
  const bool streams = route && route->streaming;

  // The body: whole (buffered routes) or not at all yet (streaming routes).
  std::string_view body;
  std::size_t total = head.head_bytes;
  if (head.body != BodyKind::none && head.content_length > opts_.max_body) {
    reject(c, st, 413, "request body too large");
    stop = true;
    return in.size();
  }
  auto waiting_for_body = [&] {
    // 100-continue only when nothing is owed before it (order) and once.
    if (head.expect_continue && st.pending.empty() && !st.closing && in.size() == head.head_bytes) {
      c.write(kContinue);
    }
    stop = true;
    return std::size_t{0};
  };
  if (!streams && head.body == BodyKind::length) {
    if (in.size() - head.head_bytes < head.content_length) return waiting_for_body();
    body = in.substr(head.head_bytes, static_cast<std::size_t>(head.content_length));
    total += body.size();
  } else if (!streams && head.body == BodyKind::chunked) {
    ChunkedDecoder dec;
    dec.set_limit(opts_.max_body);
    st.decoded_body.clear();
    std::size_t pos = head.head_bytes;
    for (;;) {
      auto step = dec.feed(in.substr(pos));
      if (step.status == ChunkedDecoder::Status::error) {
        reject(c, st, dec.over_limit() ? 413 : 400, "bad chunked body");
        stop = true;
        return in.size();
      }
      pos += step.consumed;
      st.decoded_body.append(step.data);
      if (step.status == ChunkedDecoder::Status::done) break;
      if (step.consumed == 0) return waiting_for_body();
    }
    body = st.decoded_body;
    total = pos;
  }

  Response& res = st.add(this, &c);
  res.head_request_ = head.method == "HEAD";
  res.http10_ = head.version_minor == 0;
  res.close_after_ = !head.keep_alive;
  if (!head.keep_alive) st.closing = true;  // nothing after this request is read

  Request req;
  req.head_ = &head;
  req.body_ = body;
  req.params_ = &st.params;
  req.conn_ = &c;
  if (!route) {
    if (allow.empty()) {
      res.send(404, "not found\n");
    } else {
      res.header("Allow", allow);
      res.send(405, "method not allowed\n");
    }
    return total;
  }
  if (streams && head.body != BodyKind::none) {
    st.streaming_body = true;
    st.body_kind = head.body;
    st.body_remaining = head.content_length;
    st.chunks.reset();
    st.chunks.set_limit(opts_.max_body);
    st.stream_seq = res.seq_;
    req.body_fn_ = &st.body_fn;
    if (head.expect_continue && in.size() == head.head_bytes) res.emit(kContinue);
  }
  route->fn(req, res);
  if (streams && head.body == BodyKind::none && st.body_fn) {
    Request::BodyFn fn = std::move(st.body_fn);
    st.body_fn = nullptr;
    fn({}, true);
  }
  return total;
}

// --- Request -----------------------------------------------------------------

std::string_view Request::method() const noexcept {
  return head_->method;
}
std::string_view Request::target() const noexcept {
  return head_->target;
}
std::string_view Request::path() const noexcept {
  return head_->target.substr(0, head_->target.find('?'));
}
std::string_view Request::query() const noexcept {
  auto q = head_->target.find('?');
  return q == std::string_view::npos ? std::string_view() : head_->target.substr(q + 1);
}
int Request::version_minor() const noexcept {
  return head_->version_minor;
}
std::string_view Request::header(std::string_view name) const noexcept {
  return head_->header(name);
}
std::span<const Header> Request::headers() const noexcept {
  return {head_->headers, head_->header_count};
}
std::string_view Request::param(std::string_view name) const noexcept {
  for (const auto& [k, v] : *params_) {
    if (k == name) return v;
  }
  return {};
}
bool Request::keep_alive() const noexcept {
  return head_->keep_alive;
}
void Request::on_body(BodyFn fn) {
  if (body_fn_) *body_fn_ = std::move(fn);
}

}  // namespace weft::http
