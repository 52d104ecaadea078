// Writing responses in request order: the oldest owed response writes to
// the connection, later ones hold their bytes until it is done.
#include "weft/http/response.hpp"

#include <charconv>

#include "http/conn_state.hpp"
#include "weft/conn.hpp"
#include "weft/http/app.hpp"

namespace weft::http {

namespace {

bool clean(std::string_view s) noexcept {
  for (char ch : s) {
    if (ch == '\r' || ch == '\n' || ch == '\0') return false;
  }
  return true;
}

void append_number(std::string& out, std::uint64_t n) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, n);
  (void)ec;
  out.append(buf, end);
}

void append_hex(std::string& out, std::uint64_t n) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, n, 16);
  (void)ec;
  out.append(buf, end);
}

// Built per thread, then written (or held) at once: no allocation per response.
std::string& scratch() {
  thread_local std::string s;
  s.clear();
  return s;
}

}  // namespace

Response& ConnState::add(App* app, Conn* conn) {
  std::unique_ptr<Response> r;
  if (!spare.empty()) {
    r = std::move(spare.back());
    spare.pop_back();
    r->status_ = 200;
    r->state_ = Response::State::open;
    r->chunked_ = false;
    r->extra_headers_.clear();
    r->held_.clear();
  } else {
    r = std::make_unique<Response>();
  }
  r->app_ = app;
  r->conn_state_ = this;
  r->conn_ = conn;
  r->seq_ = next_seq++;
  pending.push_back(std::move(r));
  return *pending.back();
}

void ConnState::advance() {
  while (!pending.empty()) {
    Response& front = *pending.front();
    if (!front.held_.empty()) {
      front.conn_->write(front.held_);
      front.held_.clear();
    }
    if (front.state_ != Response::State::done) return;
    const bool close = front.close_after_;
    Conn* conn = front.conn_;
    spare.push_back(std::move(pending.front()));
    pending.erase(pending.begin());
    if (close) {
      conn->close();
      return;
    }
  }
}

Response& Response::header(std::string_view name, std::string_view value) {
  if (name.empty() || !clean(name) || !clean(value) || name.find(':') != std::string_view::npos) {
    return *this;
  }
  extra_headers_.append(name).append(": ").append(value).append("\r\n");
  return *this;
}

void Response::emit(std::string_view bytes) {
  if (conn_state_->pending.front().get() == this) {
    conn_->write(bytes);
  } else {
    held_.append(bytes);
  }
}

void Response::finish() {
  state_ = State::done;
  conn_state_->advance();
}

namespace {
void append_head(std::string& out, int status, bool http10, bool close, std::string_view server,
                 std::string_view content_type, std::string_view extra) {
  out.append(http10 ? "HTTP/1.0 " : "HTTP/1.1 ");
  append_number(out, static_cast<std::uint64_t>(status));
  out.push_back(' ');
  out.append(reason_phrase(status));
  out.append("\r\n");
  if (!server.empty()) out.append("Server: ").append(server).append("\r\n");
  out.append("Date: ").append(http_date()).append("\r\n");
  if (!content_type.empty()) out.append("Content-Type: ").append(content_type).append("\r\n");
  if (close) {
    out.append("Connection: close\r\n");
  } else if (http10) {
    out.append("Connection: keep-alive\r\n");
  }
  out.append(extra);
}

// 1xx, 204 and 304 carry no body and no Content-Length.
bool bodyless(int status) {
  return status < 200 || status == 204 || status == 304;
}
}  // namespace

void Response::send(std::string_view body, std::string_view content_type) {
  if (state_ != State::open) return;
  std::string& out = scratch();
  append_head(out, status_, http10_, close_after_, app_->options().server_name,
              bodyless(status_) ? std::string_view() : content_type, extra_headers_);
  if (!bodyless(status_)) {
    out.append("Content-Length: ");
    append_number(out, body.size());
    out.append("\r\n");
  }
  out.append("\r\n");
  if (!head_request_ && !bodyless(status_)) out.append(body);
  emit(out);
  finish();
}

void Response::begin(std::optional<std::uint64_t> length, std::string_view content_type) {
  if (state_ != State::open) return;
  std::string& out = scratch();
  // HTTP/1.0 has no chunked coding: an unknown length ends at close.
  if (!length && http10_) close_after_ = true;
  append_head(out, status_, http10_, close_after_, app_->options().server_name, content_type,
              extra_headers_);
  if (length) {
    out.append("Content-Length: ");
    append_number(out, *length);
    out.append("\r\n");
  } else if (!http10_) {
    out.append("Transfer-Encoding: chunked\r\n");
    chunked_ = !head_request_;
  }
  out.append("\r\n");
  emit(out);
  state_ = State::streaming;
}

bool Response::write(std::string_view data) {
  if (state_ != State::streaming) return false;
  if (head_request_ || data.empty()) return true;
  if (chunked_) {
    std::string& out = scratch();
    append_hex(out, data.size());
    out.append("\r\n");
    if (data.size() <= 4096) {
      out.append(data).append("\r\n");
      emit(out);
    } else {  // large pieces are not copied into the scratch buffer
      std::string size_line = out;
      emit(size_line);
      emit(data);
      emit("\r\n");
    }
  } else {
    emit(data);
  }
  return !conn_->closing();
}

void Response::end() {
  if (state_ != State::streaming) return;
  if (chunked_) emit("0\r\n\r\n");
  finish();
}

std::size_t Response::queued() const noexcept {
  return conn_->queued();
}

Response::Ref Response::ref() const {
  Ref r;
  r.conn_ = conn_->handle();
  r.seq_ = seq_;
  return r;
}

std::error_code Response::Ref::send(int code, std::string body, std::string content_type) const {
  return conn_.dispatch(
      [seq = seq_, code, body = std::move(body), type = std::move(content_type)](Conn& c) {
        auto* st = static_cast<ConnState*>(c.context());
        if (!st) return;
        if (Response* r = st->find(seq)) r->send(code, body, type);
      });
}

std::error_code Response::Ref::answer(std::function<void(Response&)> fn) const {
  return conn_.dispatch([seq = seq_, fn = std::move(fn)](Conn& c) {
    auto* st = static_cast<ConnState*>(c.context());
    if (!st) return;
    if (Response* r = st->find(seq)) fn(*r);
  });
}

}  // namespace weft::http
