// The HTTP/1.1 client: one Exchange per fetch. It is the connection's
// Handler from the dial to on_close: it sends the request, parses the answer
// with the client codec (response_parser), collects the body as framed
// (Content-Length, chunked, or until the server closes), reports once, and
// deletes itself when the connection is gone.
#include "weft/http/client.hpp"

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "http/request_parser.hpp"
#include "http/response_parser.hpp"
#include "http/url_target.hpp"
#include "weft/conn.hpp"
#include "weft/loop.hpp"
#include "weft/server.hpp"

namespace weft::http {

std::string_view ClientResponse::header(std::string_view name) const noexcept {
  for (const auto& [n, v] : headers) {
    if (iequals(n, name)) return v;
  }
  return {};
}

namespace {

std::error_code protocol_error() {
  return std::make_error_code(std::errc::protocol_error);
}

std::error_code too_large() {
  return std::make_error_code(std::errc::message_size);
}

class Exchange final : public Handler {
 public:
  ~Exchange() override = default;  // by itself at on_close, or by fetch() when no dial was queued

  Exchange(FetchOptions opts, FetchCallback done, std::string request, std::string dial_url)
      : opts_(std::move(opts)),
        done_(std::move(done)),
        request_(std::move(request)),
        dial_url_(std::move(dial_url)),
        header_slots_(opts_.max_headers) {
    limits_.max_head_bytes = opts_.max_head_bytes;
    limits_.max_request_line = opts_.max_head_bytes;
    limits_.max_headers = opts_.max_headers;
    head_.headers = header_slots_.data();
    chunks_.set_limit(opts_.max_body);
  }

  Action on_open(Conn& c) override {
    c.write(request_);
    release(request_);
    if (opts_.timeout.count() > 0) {
      timer_ = c.loop().run_after(Millis{opts_.timeout.count()}, [this, &c] {
        timer_ = 0;
        fail(c, std::make_error_code(std::errc::timed_out), "no complete answer in time");
      });
    }
    return Action::none;
  }

  std::size_t on_data(Conn& c, Bytes in) override {
    std::size_t used = 0;
    while (!reported_ && used < in.size()) {
      const std::size_t step = consume(c, in.substr(used));
      if (step == 0) break;  // needs more input
      used += step;
    }
    return reported_ ? in.size() : used;
  }

  void on_close(Conn& c, std::error_code why) override {
    cancel_timer(c);
    if (!reported_) {
      if (state_ == State::until_close && !why) {
        finish(c);  // the body was framed by the close
      } else {
        report(why ? why : std::make_error_code(std::errc::connection_reset),
               state_ == State::head ? "the connection closed before an answer"
                                     : "the connection closed in the middle of the body");
      }
    }
    delete this;
  }

  void on_dial_error(Server&, const std::string& /*address*/, void*, std::error_code why) override {
    report(why, "could not connect to " + dial_url_ + ": " + why.message());
    delete this;
  }

 private:
  enum class State { head, length, chunked, until_close };

  // Uses what it can of `in`; 0 when it needs more bytes first.
  std::size_t consume(Conn& c, Bytes in) {
    switch (state_) {
      case State::head:
        return consume_head(c, in);
      case State::length: {
        const std::size_t n =
            static_cast<std::size_t>(std::min<std::uint64_t>(remaining_, in.size()));
        body().append(in.data(), n);
        remaining_ -= n;
        if (remaining_ == 0) finish(c);
        return n;
      }
      case State::chunked: {
        const ChunkedDecoder::Step s = chunks_.feed(in);
        body().append(s.data);
        if (s.status == ChunkedDecoder::Status::done) {
          finish(c);
        } else if (s.status == ChunkedDecoder::Status::error) {
          if (chunks_.over_limit()) {
            fail(c, too_large(), "the body is over " + std::to_string(opts_.max_body) + " bytes");
          } else {
            fail(c, protocol_error(), "bad chunked framing in the answer");
          }
        }
        return s.consumed;
      }
      case State::until_close:
        if (body().size() + in.size() > opts_.max_body) {
          fail(c, too_large(), "the body is over " + std::to_string(opts_.max_body) + " bytes");
        } else {
          body().append(in.data(), in.size());
        }
        return in.size();
    }
    return 0;
  }

  std::size_t consume_head(Conn& c, Bytes in) {
    const ParseResult r = parse_response_head(in, head_, limits_, opts_.method);
    if (r.status == ParseStatus::incomplete) return 0;  // the parser bounds the wait
    if (r.status == ParseStatus::error) {
      if (r.error_status == 431) {
        fail(c, too_large(), std::string("the answer's head is over the limits: ") + r.reason);
      } else {
        fail(c, protocol_error(), std::string("not an HTTP/1.x answer: ") + r.reason);
      }
      return 0;
    }
    if (head_.status < 200) {
      // 100 Continue, 103 Early Hints: the final answer follows. A switch
      // of protocols was never asked for.
      if (head_.status == 101) fail(c, protocol_error(), "an unrequested 101 Switching Protocols");
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
        if (head_.until_close) {
          state_ = State::until_close;
        } else {
          finish(c);
        }
        break;
      case BodyKind::length:
        if (head_.content_length > opts_.max_body) {
          fail(c, too_large(),
               "the body's Content-Length is over " + std::to_string(opts_.max_body) + " bytes");
          break;
        }
        remaining_ = head_.content_length;
        body().reserve(static_cast<std::size_t>(remaining_));
        state_ = State::length;
        if (remaining_ == 0) finish(c);
        break;
      case BodyKind::chunked:
        state_ = State::chunked;
        break;
    }
    return head_.head_bytes;
  }

  std::string& body() noexcept { return result_.response.body; }

  void cancel_timer(Conn& c) noexcept {
    if (timer_) c.loop().cancel(timer_);
    timer_ = 0;
  }

  void finish(Conn& c) {
    cancel_timer(c);
    deliver();
    c.close();
  }

  void fail(Conn& c, std::error_code ec, std::string why) {
    cancel_timer(c);
    report(ec, std::move(why));
    c.abort();
  }

  void report(std::error_code ec, std::string why) {
    result_.error = ec;
    result_.why = std::move(why);
    deliver();
  }

  void deliver() {
    if (reported_) return;
    reported_ = true;
    if (done_) done_(result_);
  }

  static void release(std::string& s) noexcept { std::string().swap(s); }

  FetchOptions opts_;
  FetchCallback done_;
  std::string request_;
  std::string dial_url_;  // for messages: the URL's host, not the address it resolved to
  std::vector<Header> header_slots_;
  HeadLimits limits_;
  ResponseHead head_;
  ChunkedDecoder chunks_;
  FetchResult result_;
  State state_ = State::head;
  std::uint64_t remaining_ = 0;
  TimerId timer_ = 0;
  bool reported_ = false;
};

// The request as bytes, or empty when it cannot be written as given.
std::string build_request(const UrlTarget& target, const FetchOptions& o) {
  std::vector<Header> headers;
  headers.reserve(o.headers.size() + 1);
  bool connection = false;
  for (const auto& [name, value] : o.headers) {
    headers.push_back({name, value});
    connection = connection || iequals(name, "connection");
  }
  if (!connection) headers.push_back({"Connection", "close"});
  std::string out;
  if (!write_request(out, o.method, target.resource, target.host, headers, o.body)) out.clear();
  return out;
}

}  // namespace

std::error_code fetch(Server& server, std::string_view url, FetchOptions options,
                      FetchCallback done) {
  UrlTarget target;
  if (!parse_url_target(url, "http", "https", target)) {
    return std::make_error_code(std::errc::invalid_argument);
  }
  std::string request = build_request(target, options);
  if (request.empty()) return std::make_error_code(std::errc::invalid_argument);
  DialOptions dial;
  dial.timeout = options.timeout;
  dial.tls = options.tls;
  dial.server_name = options.server_name.empty() ? target.sni : options.server_name;
  dial.loop = options.loop;
  auto* exchange =
      new Exchange(std::move(options), std::move(done), std::move(request), target.dial_url);
  dial.handler = exchange;
  std::error_code ec;
  try {
    ec = server.dial(target.dial_url, dial);
  } catch (...) {
    ec = std::make_error_code(std::errc::invalid_argument);
  }
  if (ec) delete exchange;  // never queued: no callback will come
  return ec;
}

}  // namespace weft::http
