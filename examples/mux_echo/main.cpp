// mux_echo: an smux server that echoes every stream, and a client that
// drives it (or any smux echo server, e.g. Go's) and prints the throughput.
//   build/examples/mux_echo --listen tcp://127.0.0.1:7000 [--version 2] [--names]
//   build/examples/mux_echo --connect tcp://127.0.0.1:7000 --streams 16 --bytes 16777216
// Client options: --write W (bytes per write, default 65536), --rounds R
// (open the K streams R times, one round after another). Every echoed byte
// is checked; the exit status is 0 only if all came back intact.
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <weft/mux.hpp>
#include <weft/weft.hpp>

namespace {

namespace mux = weft::mux;

struct Options {
  std::string listen;
  std::string connect;
  mux::Config mux;
  std::size_t streams = 1;
  std::size_t bytes = 1 << 20;
  std::size_t write_size = 64 * 1024;
  std::size_t rounds = 1;
};

// --- server ------------------------------------------------------------------

class EchoServer final : public mux::SessionHandler {
 public:
  std::size_t on_data(mux::Stream& s, weft::Bytes in) override {
    if (!s.write(in)) s.pause_reading();  // the peer is not reading: stop reading too
    return in.size();
  }
  void on_writable(mux::Stream& s) override { s.resume_reading(); }
  void on_fin(mux::Stream& s) override { s.close_write(); }
  void on_accept(mux::Stream& s) override {
    if (!s.name().empty()) std::printf("stream %u named \"%s\"\n", s.id(), s.name().c_str());
  }
  void on_session_close(mux::Session& s, std::error_code why) override {
    if (why) std::printf("session ended: %s\n", why.message().c_str());
    (void)s;
  }
};

class ServerEndpoint final : public mux::Endpoint {
 public:
  using mux::Endpoint::Endpoint;
  void on_ready(weft::Server& server) override {
    std::printf("listening on %s\n", server.addresses().front().c_str());
    std::fflush(stdout);
  }
};

// --- client ------------------------------------------------------------------

double cpu_seconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  auto sec = [](timeval t) { return static_cast<double>(t.tv_sec) + t.tv_usec / 1e6; };
  return sec(ru.ru_utime) + sec(ru.ru_stime);
}

// Stream i carries a 64 KiB block of its own pattern, repeated.
constexpr std::size_t kBlock = 64 * 1024;

class EchoClient final : public mux::SessionHandler {
 public:
  explicit EchoClient(const Options& o) : opts_(o), blocks_(o.streams) {
    for (std::size_t i = 0; i < o.streams; ++i) {
      blocks_[i].resize(kBlock);
      for (std::size_t j = 0; j < kBlock; ++j)
        blocks_[i][j] = static_cast<char>(j * 7 + i * 13 + j / 251);
    }
    states_.resize(o.streams);
  }
  void set_server(weft::Server& s) { server_ = &s; }
  bool ok() const { return ok_; }

  void on_session(mux::Session& s) override {
    session_ = &s;
    start_ = std::chrono::steady_clock::now();
    start_round();
  }
  std::size_t on_data(mux::Stream& s, weft::Bytes in) override {
    State& st = state(s);
    const std::string& block = blocks_[index(s)];
    for (std::size_t done = 0; done < in.size();) {
      std::size_t at = st.received % kBlock;
      std::size_t n = std::min(in.size() - done, kBlock - at);
      if (st.received + n > opts_.bytes ||
          std::memcmp(in.data() + done, block.data() + at, n) != 0) {
        return fail("stream " + std::to_string(s.id()) + ": echo differs"), in.size();
      }
      st.received += n;
      done += n;
    }
    return in.size();
  }
  void on_writable(mux::Stream& s) override { send(s); }
  void on_fin(mux::Stream& s) override {
    if (state(s).received != opts_.bytes) fail("stream ended before its echo was complete");
  }
  void on_close(mux::Stream& s, std::error_code why) override {
    if (why) return fail("stream " + std::to_string(s.id()) + ": " + why.message());
    if (--open_ == 0) {
      if (++round_ < opts_.rounds) return start_round();
      finish();
    }
  }
  void on_session_close(mux::Session&, std::error_code why) override {
    if (!finished_) fail("session ended: " + (why ? why.message() : std::string("closed")));
  }

 private:
  struct State {
    std::size_t sent = 0;
    std::size_t received = 0;
  };
  std::size_t index(mux::Stream& s) { return reinterpret_cast<std::uintptr_t>(s.context()); }
  State& state(mux::Stream& s) { return states_[index(s)]; }

  void start_round() {
    open_ = opts_.streams;
    for (std::size_t i = 0; i < opts_.streams; ++i) {
      states_[i] = {};
      mux::Stream* s = session_->open();
      if (!s) return fail("open: " + session_->open_error().message());
      s->set_context(reinterpret_cast<void*>(i));
      send(*s);
    }
  }
  void send(mux::Stream& s) {
    State& st = state(s);
    const std::string& block = blocks_[index(s)];
    while (st.sent < opts_.bytes) {
      std::size_t at = st.sent % kBlock;
      std::size_t n = std::min({opts_.write_size, kBlock - at, opts_.bytes - st.sent});
      st.sent += n;
      if (!s.write(weft::Bytes(block).substr(at, n))) return;  // on_writable resumes
    }
    s.close_write();
  }
  void finish() {
    finished_ = true;
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    double total = static_cast<double>(opts_.bytes * opts_.streams * opts_.rounds);
    std::printf("streams=%zu rounds=%zu bytes=%.0f seconds=%.3f MB/s=%.1f cpu_s=%.3f\n",
                opts_.streams, opts_.rounds, total, secs, total / secs / 1e6, cpu_seconds());
    ok_ = true;
    session_->close();
    server_->stop();
  }
  void fail(const std::string& why) {
    if (finished_) return;
    finished_ = true;
    std::fprintf(stderr, "mux_echo: %s\n", why.c_str());
    server_->stop();
  }

  const Options& opts_;
  std::vector<std::string> blocks_;
  std::vector<State> states_;
  weft::Server* server_ = nullptr;
  mux::Session* session_ = nullptr;
  std::chrono::steady_clock::time_point start_;
  std::size_t open_ = 0;
  std::size_t round_ = 0;
  bool finished_ = false;
  bool ok_ = false;
};

class ClientEndpoint final : public mux::Endpoint {
 public:
  ClientEndpoint(EchoClient& c, const Options& o)
      : mux::Endpoint(c, o.mux, RoleChoice::client), target_(o.connect) {}
  void on_ready(weft::Server& server) override { server.dial(target_); }
  void on_dial_error(weft::Server& server, const std::string& target, void*,
                     std::error_code why) override {
    std::fprintf(stderr, "mux_echo: cannot connect to %s: %s\n", target.c_str(),
                 why.message().c_str());
    server.stop();
  }

 private:
  std::string target_;
};

int usage() {
  std::fputs(
      "usage: mux_echo --listen URL | --connect URL [--version 1|2] [--names]\n"
      "                [--streams K] [--bytes B] [--write W] [--rounds R]\n",
      stderr);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string k = argv[i];
    if (k == "--names") {
      o.mux.names = true;
      continue;
    }
    if (i + 1 >= argc) return usage();
    std::string v = argv[++i];
    auto num = [&] { return static_cast<std::size_t>(std::strtoull(v.c_str(), nullptr, 10)); };
    if (k == "--listen")
      o.listen = v;
    else if (k == "--connect")
      o.connect = v;
    else if (k == "--version")
      o.mux.version = std::atoi(v.c_str());
    else if (k == "--streams")
      o.streams = num();
    else if (k == "--bytes")
      o.bytes = num();
    else if (k == "--write")
      o.write_size = num();
    else if (k == "--rounds")
      o.rounds = num();
    else
      return usage();
  }
  if (o.listen.empty() == o.connect.empty() || o.streams == 0 || o.write_size == 0) return usage();
  try {
    if (!o.listen.empty()) {
      EchoServer echo;
      ServerEndpoint ep(echo, o.mux, mux::Endpoint::RoleChoice::server);
      weft::Config cfg;
      cfg.listen = {o.listen};
      return weft::serve(ep, cfg);
    }
    EchoClient client(o);
    ClientEndpoint ep(client, o);
    weft::Config cfg;
    cfg.listen = {"tcp://127.0.0.1:0"};  // the client only dials; weft wants a listener
    weft::Server server(ep, cfg);
    client.set_server(server);
    if (std::error_code ec = server.run()) return 1;
    return client.ok() ? 0 : 1;
  } catch (const weft::ConfigError& e) {
    std::fprintf(stderr, "mux_echo: %s\n", e.what());
    return 2;
  }
}
