// redial: an outbound connection kept up (weft::Redialer). It dials URL,
// sends "ping N" every --every milliseconds, prints what comes back, and
// when the peer goes away dials again with exponential backoff and jitter.
//   build/examples/echo &                                   (tcp://127.0.0.1:5000)
//   build/examples/redial --connect tcp://127.0.0.1:5000    (stop and restart echo)
// Flags: --connect URL (required; tcp://, unix:// or tls://), --every MS
// (default 1000), --max-delay MS (longest wait between dials, default
// 10000), --give-up N (stop after N failures in a row; default never), plus
// the shared flags (--loops, --io, ...; see --help).
#include <cstdio>
#include <string>
#include <string_view>

#include <weft/weft.hpp>

namespace {

struct Options {
  std::string connect;
  long every_ms = 1000;
  weft::RedialPolicy policy;
};

constexpr std::string_view kOwnUsage =
    "redial flags:\n"
    "  --connect URL    where to stay connected (tcp://, unix://, tls://)\n"
    "  --every MS       send a ping this often (default 1000)\n"
    "  --max-delay MS   longest wait between dials (default 10000)\n"
    "  --give-up N      stop after N failed dials in a row (default: never)\n";

// The connection's events; the Redialer passes them on and redials.
class Pinger final : public weft::Handler {
 public:
  explicit Pinger(const Options& o) : opts_(o) {}
  void set_redialer(weft::Redialer& r) { redialer_ = &r; }

  weft::Action on_open(weft::Conn& c) override {
    std::printf("connected to %s (connection %llu)\n", redialer_->url().c_str(),
                static_cast<unsigned long long>(redialer_->connections()));
    std::fflush(stdout);
    ping(c);
    timer_ = c.loop().run_every(std::chrono::milliseconds(opts_.every_ms), [this] {
      if (weft::Conn* now = redialer_->conn()) ping(*now);
    });
    return weft::Action::none;
  }
  std::size_t on_data(weft::Conn&, weft::Bytes in) override {
    std::printf("reply: %.*s", static_cast<int>(in.size()), in.data());
    if (!in.empty() && in.back() != '\n') std::printf("\n");
    std::fflush(stdout);
    return in.size();
  }
  void on_close(weft::Conn& c, std::error_code why) override {
    c.loop().cancel(timer_);
    std::printf("closed%s%s; %s\n", why ? ": " : "", why ? why.message().c_str() : "",
                next().c_str());
    std::fflush(stdout);
    if (!redialer_->active()) c.server().stop();
  }
  void on_dial_error(weft::Server& server, const std::string& target, void*,
                     std::error_code why) override {
    std::printf("dial %s failed: %s; %s\n", target.c_str(), why.message().c_str(), next().c_str());
    std::fflush(stdout);
    if (!redialer_->active()) server.stop();  // gave up (--give-up): nothing left to do
  }

 private:
  // What the redialer settled on before passing the event here.
  std::string next() const {
    if (!redialer_->active()) return "not dialing again";
    return "dialing again in " + std::to_string(redialer_->next_delay().count()) +
           " ms (failures in a row: " + std::to_string(redialer_->failures()) + ")";
  }
  void ping(weft::Conn& c) { c.write("ping " + std::to_string(++sent_) + "\n"); }

  const Options& opts_;
  weft::Redialer* redialer_ = nullptr;
  weft::TimerId timer_ = 0;
  unsigned long sent_ = 0;
};

// The server only runs the loops; its handler starts the redialer.
class Starter final : public weft::Handler {
 public:
  explicit Starter(weft::Redialer& r) : redialer_(r) {}
  void on_ready(weft::Server& server) override { redialer_.start(server); }
  std::size_t on_data(weft::Conn&, weft::Bytes in) override { return in.size(); }

 private:
  weft::Redialer& redialer_;
};

Options take_flags(int& argc, char** argv) {
  Options o;
  o.policy.max_delay = std::chrono::milliseconds(10000);
  weft::take_own_flags(argc, argv, [&o](weft::OwnFlag& f) {
    const std::string_view name = f.name();
    if (name == "--connect") {
      o.connect = f.value();
    } else if (name == "--every") {
      o.every_ms = static_cast<long>(f.count());
    } else if (name == "--max-delay") {
      o.policy.max_delay = std::chrono::milliseconds(f.count());
    } else if (name == "--give-up") {
      o.policy.max_failures = static_cast<int>(f.count());
    } else {
      return false;
    }
    return true;
  });
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    Options o = take_flags(argc, argv);
    // A client: the server's listener is a formality on a free port.
    auto cli = weft::parse_command_line(argc, argv, "tcp://127.0.0.1:0");
    if (cli.help) {
      std::fputs(cli.usage.c_str(), stdout);
      std::fputs(kOwnUsage.data(), stdout);
      return 0;
    }
    if (o.connect.empty()) throw weft::ConfigError("--connect URL is required");
    Pinger pinger(o);
    weft::Redialer redialer(o.connect, pinger, {}, o.policy);
    pinger.set_redialer(redialer);
    Starter starter(redialer);
    return weft::serve(starter, cli.config);
  } catch (const weft::ConfigError& e) {
    std::fprintf(stderr, "redial: %s\n", e.what());
    return 2;
  }
}
