// The HTTP/1.1 client's connections. A ClientConn is a connection's Handler
// from the dial to on_close, then deletes itself: it sends each Exchange's
// request, feeds it the answer, and afterwards closes the connection or,
// for a Client, parks it in its loop's idle list for the next request to
// the same origin.
#include "weft/http/client.hpp"

#include <atomic>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "http/exchange.hpp"
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

namespace detail {

class ClientConn;

// A Client's state, shared with its connections (the last one to go frees
// it). loops[i] is touched only on loop i's thread.
struct Pool : std::enable_shared_from_this<Pool> {
  Pool(Server& s, PoolOptions o) : server(s), options(o), loops(s.loop_count()) {}

  // Runs on `loop`: an idle connection to the origin takes the request, or
  // a new one is dialed.
  void start(std::size_t loop, const std::string& origin, std::unique_ptr<Exchange> ex);
  void dial(std::size_t loop, const std::string& origin, std::unique_ptr<Exchange> ex);
  // A connection whose answer left it open; false when it should close.
  bool park(ClientConn& cc);
  void unpark(ClientConn& cc);
  void close_idle(std::size_t loop);

  struct LoopIdle {
    std::unordered_map<std::string, std::vector<ClientConn*>> by_origin;
  };
  Server& server;
  const PoolOptions options;
  std::vector<LoopIdle> loops;
  std::atomic<bool> closing{false};
  std::atomic<std::size_t> next_loop{0};
  std::atomic<std::uint64_t> opened{0};
  std::atomic<std::size_t> idle{0};
};

class ClientConn final : public Handler {
 public:
  ClientConn(std::shared_ptr<Pool> pool, std::string origin, std::size_t loop,
             std::unique_ptr<Exchange> ex)
      : pool_(std::move(pool)), origin_(std::move(origin)), loop_(loop), ex_(std::move(ex)) {}
  // Deleted by itself at on_close / on_dial_error, or by its maker when no
  // dial started.
  ~ClientConn() override = default;

  const std::string& origin() const noexcept { return origin_; }
  std::size_t loop_index() const noexcept { return loop_; }
  Conn& conn() noexcept { return *conn_; }
  std::unique_ptr<Exchange> take_exchange() noexcept { return std::move(ex_); }
  bool parked = false;  // in its Pool's idle list

  // An idle connection takes the next request.
  void reuse(std::unique_ptr<Exchange> ex) {
    cancel(idle_timer_);
    ex_ = std::move(ex);
    reused_ = true;
    send(*conn_);
  }

  void arm_idle_timer() {
    idle_timer_ = conn_->loop().run_after(Millis{pool_->options.idle_timeout.count()}, [this] {
      idle_timer_ = 0;
      conn_->close();
    });
  }

  Action on_open(Conn& c) override {
    conn_ = &c;
    send(c);
    return Action::none;
  }

  std::size_t on_data(Conn& c, Bytes in) override {
    if (!ex_) {  // bytes nobody asked for: the connection cannot be trusted
      c.abort();
      return in.size();
    }
    std::size_t used = 0;
    const Exchange::Outcome outcome = ex_->feed(in, used);
    if (outcome == Exchange::Outcome::more) return used;
    cancel(answer_timer_);
    std::unique_ptr<Exchange> ex = std::move(ex_);
    if (outcome == Exchange::Outcome::failed) {
      c.abort();
    } else if (!(used == in.size() && ex->keeps_connection() && pool_ && pool_->park(*this))) {
      c.close();
    }
    ex->deliver();  // after parking, so that the callback's next request may use it
    return in.size();
  }

  void on_close(Conn& /*c*/, std::error_code why) override {
    cancel(answer_timer_);
    cancel(idle_timer_);
    if (parked) pool_->unpark(*this);
    if (std::unique_ptr<Exchange> ex = std::move(ex_)) {
      // A reused connection the server closed as the request went out: no
      // answer came, so an idempotent request goes again, on a new one.
      if (reused_ && !ex->answer_started() && ex->idempotent() && !pool_->closing) {
        pool_->dial(loop_, origin_, std::move(ex));
      } else {
        (void)ex->closed(why);
        ex->deliver();
      }
    }
    delete this;
  }

  void on_dial_error(Server& /*server*/, const std::string& /*address*/, void* /*context*/,
                     std::error_code why) override {
    if (ex_) {
      ex_->set_error(why, "could not connect to " + ex_->dial_url() + ": " + why.message());
      ex_->deliver();
    }
    delete this;
  }

 private:
  void send(Conn& c) {
    c.write(ex_->request());
    const auto timeout = ex_->options().timeout;
    if (timeout.count() <= 0) return;
    answer_timer_ = c.loop().run_after(Millis{timeout.count()}, [this] {
      answer_timer_ = 0;
      std::unique_ptr<Exchange> ex = std::move(ex_);
      ex->set_error(std::make_error_code(std::errc::timed_out), "no complete answer in time");
      conn_->abort();
      ex->deliver();
    });
  }

  void cancel(TimerId& t) noexcept {
    if (t && conn_) conn_->loop().cancel(t);
    t = 0;
  }

  std::shared_ptr<Pool> pool_;  // null for a one-shot fetch
  std::string origin_;
  std::size_t loop_;
  std::unique_ptr<Exchange> ex_;  // the request in progress; null while idle
  Conn* conn_ = nullptr;
  TimerId answer_timer_ = 0;
  TimerId idle_timer_ = 0;
  bool reused_ = false;
};

namespace {

// Dials for `cc`'s exchange; on an error the dial never started and `cc`
// is still the caller's.
std::error_code dial_for(Server& server, ClientConn& cc, const Exchange& ex, int loop) {
  const FetchOptions& o = ex.options();
  DialOptions dial;
  dial.handler = &cc;
  dial.timeout = o.timeout;
  dial.tls = o.tls;
  dial.server_name = o.server_name;
  dial.loop = loop;
  try {
    return server.dial(ex.dial_url(), dial);
  } catch (...) {
    return std::make_error_code(std::errc::invalid_argument);
  }
}

// Parses the URL and writes the request; null when either cannot be done.
std::unique_ptr<Exchange> make_exchange(std::string_view url, FetchOptions o, FetchCallback done,
                                        bool keep_alive) {
  UrlTarget target;
  if (!parse_url_target(url, "http", "https", target)) return nullptr;
  std::vector<Header> headers;
  headers.reserve(o.headers.size() + 1);
  bool connection = false;
  for (const auto& [name, value] : o.headers) {
    headers.push_back({name, value});
    connection = connection || iequals(name, "connection");
  }
  if (!connection && !keep_alive) headers.push_back({"Connection", "close"});
  std::string request;
  if (!write_request(request, o.method, target.resource, target.host, headers, o.body)) {
    return nullptr;
  }
  if (o.server_name.empty()) o.server_name = target.sni;
  return std::make_unique<Exchange>(std::move(o), std::move(done), std::move(request),
                                    std::move(target.dial_url));
}

// Connections to one origin may serve each other's requests: same address,
// same TLS context, same name verified.
std::string origin_of(const Exchange& ex) {
  const FetchOptions& o = ex.options();
  return ex.dial_url() + '\n' + o.server_name + '\n' +
         std::to_string(reinterpret_cast<std::uintptr_t>(o.tls.get()));
}

}  // namespace

void Pool::start(std::size_t loop, const std::string& origin, std::unique_ptr<Exchange> ex) {
  auto& idle_here = loops[loop].by_origin;
  if (auto it = idle_here.find(origin); it != idle_here.end() && !it->second.empty()) {
    ClientConn* cc = it->second.back();  // the most recently used: the likeliest to be alive
    it->second.pop_back();
    if (it->second.empty()) idle_here.erase(it);
    cc->parked = false;
    idle.fetch_sub(1, std::memory_order_relaxed);
    cc->reuse(std::move(ex));
    return;
  }
  dial(loop, origin, std::move(ex));
}

void Pool::dial(std::size_t loop, const std::string& origin, std::unique_ptr<Exchange> ex) {
  const Exchange& held = *ex;
  auto* cc = new ClientConn(shared_from_this(), origin, loop, std::move(ex));
  if (const std::error_code ec = dial_for(server, *cc, held, static_cast<int>(loop))) {
    std::unique_ptr<Exchange> refused = cc->take_exchange();
    delete cc;
    refused->set_error(ec, "could not connect to " + refused->dial_url() + ": " + ec.message());
    refused->deliver();
    return;
  }
  opened.fetch_add(1, std::memory_order_relaxed);
}

bool Pool::park(ClientConn& cc) {
  if (closing) return false;
  auto& list = loops[cc.loop_index()].by_origin[cc.origin()];
  if (list.size() >= options.max_idle_per_origin) return false;
  list.push_back(&cc);
  cc.parked = true;
  idle.fetch_add(1, std::memory_order_relaxed);
  cc.arm_idle_timer();
  return true;
}

void Pool::unpark(ClientConn& cc) {
  auto& idle_here = loops[cc.loop_index()].by_origin;
  auto it = idle_here.find(cc.origin());
  if (it == idle_here.end()) return;
  std::erase(it->second, &cc);
  if (it->second.empty()) idle_here.erase(it);
  cc.parked = false;
  idle.fetch_sub(1, std::memory_order_relaxed);
}

void Pool::close_idle(std::size_t loop) {
  auto parked_here = std::move(loops[loop].by_origin);
  loops[loop].by_origin.clear();
  for (auto& [origin, list] : parked_here) {
    for (ClientConn* cc : list) {
      cc->parked = false;
      idle.fetch_sub(1, std::memory_order_relaxed);
      cc->conn().close();
    }
  }
}

}  // namespace detail

std::error_code fetch(Server& server, std::string_view url, FetchOptions options,
                      FetchCallback done) {
  auto ex = detail::make_exchange(url, std::move(options), std::move(done), false);
  if (!ex) return std::make_error_code(std::errc::invalid_argument);
  const int loop = ex->options().loop;
  const detail::Exchange& held = *ex;
  auto* cc = new detail::ClientConn(nullptr, {}, 0, std::move(ex));
  const std::error_code ec = detail::dial_for(server, *cc, held, loop);
  if (ec) delete cc;  // never queued: no callback will come
  return ec;
}

Client::Client(Server& server, PoolOptions options)
    : pool_(std::make_shared<detail::Pool>(server, options)) {}

Client::~Client() {
  pool_->closing = true;
  for (std::size_t i = 0; i < pool_->loops.size(); ++i) {
    // A stopped server has closed them already.
    (void)pool_->server.loop(i).post_control([pool = pool_, i] { pool->close_idle(i); });
  }
}

std::error_code Client::fetch(std::string_view url, FetchOptions options, FetchCallback done) {
  auto ex = detail::make_exchange(url, std::move(options), std::move(done), true);
  if (!ex) return std::make_error_code(std::errc::invalid_argument);
  const int chosen = ex->options().loop;
  const std::size_t loops = pool_->loops.size();
  if (chosen >= 0 && static_cast<std::size_t>(chosen) >= loops) {
    return std::make_error_code(std::errc::invalid_argument);
  }
  const std::size_t loop =
      chosen >= 0 ? static_cast<std::size_t>(chosen) : pool_->next_loop.fetch_add(1) % loops;
  std::string origin = detail::origin_of(*ex);
  EventLoop& target = pool_->server.loop(loop);
  if (target.in_loop_thread()) {  // from a callback on that loop: no trip through its queue
    pool_->start(loop, origin, std::move(ex));
    return {};
  }
  // std::function needs a copyable task: the exchange rides in a shared box.
  auto box = std::make_shared<std::unique_ptr<detail::Exchange>>(std::move(ex));
  return target.post([pool = pool_, loop, origin = std::move(origin), box] {
    pool->start(loop, origin, std::move(*box));
  });
}

std::uint64_t Client::connections_opened() const noexcept {
  return pool_->opened.load(std::memory_order_relaxed);
}

std::size_t Client::idle_connections() const noexcept {
  return pool_->idle.load(std::memory_order_relaxed);
}

}  // namespace weft::http
