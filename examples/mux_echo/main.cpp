// mux_echo: an smux server that echoes every stream, and a client that
// drives it (or any smux echo server, e.g. Go's) and prints the throughput.
//   build/examples/mux_echo                           (tcp://127.0.0.1:7000)
//   build/examples/mux_echo --listen tcp://127.0.0.1:7000 --version 2 --names
//   build/examples/mux_echo --cert c.pem --key k.pem --listen tls://127.0.0.1:7443
//   build/examples/mux_echo --connect tcp://127.0.0.1:7000 --streams 16 --bytes 16777216
// Client options: --write W (bytes per write, default 65536), --rounds R
// (open the K streams R times, one round after another), --ca PEM (trust for
// a tls:// target; default: the system store). Both sides: --receive-buffer
// and --stream-buffer set smux's MaxReceiveBuffer and MaxStreamBuffer
// (validated as smux validates them). Every echoed byte is
// checked; the exit status is 0 only if all came back intact. Plus the
// shared flags (--listen, --loops, --config, --io, ...; see --help).
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <weft/mux.hpp>
#include <weft/weft.hpp>

namespace {

namespace mux = weft::mux;

constexpr std::string_view kOwnUsage =
    "mux_echo flags:\n"
    "  --version 1|2   smux protocol version (default 1)\n"
    "  --names         gmux stream names (both sides must enable them)\n"
    "  --receive-buffer B  smux MaxReceiveBuffer: unconsumed bytes per session\n"
    "                  before reading stops (default 4194304)\n"
    "  --stream-buffer B   smux MaxStreamBuffer: the version 2 window (65536)\n"
    "  --connect URL   client mode: drive the smux echo server at URL\n"
    "  --streams K     client: streams at once (default 1)\n"
    "  --bytes B       client: bytes echoed per stream (default 1048576)\n"
    "  --write W       client: bytes per write (default 65536)\n"
    "  --rounds R      client: open the K streams R times (default 1)\n"
    "  --ca PEM        client: CA for a tls:// target (default: system store)\n";

struct Options {
  std::string connect;
  std::string ca_file;
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
    // Echo what the stream can take now. When the peer is not reading, the
    // rest stays in the stream's receive buffer (it counts against the
    // session's receive budget) and reading pauses until on_writable.
    const std::size_t n = s.write_some(in);
    if (n < in.size()) s.pause_reading();
    return n;
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
    for (const auto& url : server.addresses())
      std::printf("listening on %s\n", url.c_str());
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
      : mux::Endpoint(c, o.mux, RoleChoice::client), target_(o.connect) {
    if (!o.ca_file.empty()) {
      weft::TlsClientOptions tls;
      tls.ca_file = o.ca_file;
      dial_.tls = std::make_shared<weft::TlsClient>(tls);
    }
  }
  void on_ready(weft::Server& server) override {
    if (std::error_code ec = server.dial(target_, dial_)) {
      on_dial_error(server, target_, nullptr, ec);
    }
  }
  void on_dial_error(weft::Server& server, const std::string& target, void*,
                     std::error_code why) override {
    std::fprintf(stderr, "mux_echo: cannot connect to %s: %s\n", target.c_str(),
                 why.message().c_str());
    server.stop();
  }

 private:
  std::string target_;
  weft::DialOptions dial_;
};

// Takes this example's own flags out of argv; the rest goes to
// weft::parse_command_line. Throws ConfigError on a bad value.
Options take_mux_flags(int& argc, char** argv) {
  Options o;
  weft::take_own_flags(argc, argv, [&o](weft::OwnFlag& f) {
    const std::string_view name = f.name();
    if (name == "--names") {
      f.no_value();
      o.mux.names = true;
    } else if (name == "--version") {
      const std::size_t v = f.count();
      if (v != 1 && v != 2) throw weft::ConfigError("--version: must be 1 or 2");
      o.mux.version = static_cast<int>(v);
    } else if (name == "--receive-buffer") {
      o.mux.max_receive_buffer = static_cast<std::int64_t>(f.count());
    } else if (name == "--stream-buffer") {
      o.mux.max_stream_buffer = static_cast<std::int64_t>(f.count());
    } else if (name == "--connect") {
      o.connect = f.value();
    } else if (name == "--ca") {
      o.ca_file = f.value();
    } else if (name == "--streams") {
      o.streams = f.count();
    } else if (name == "--bytes") {
      o.bytes = f.count(/*zero_ok=*/true);
    } else if (name == "--write") {
      o.write_size = f.count();
    } else if (name == "--rounds") {
      o.rounds = f.count();
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
    Options o = take_mux_flags(argc, argv);
    // The client only dials, but a weft::Server wants an address to serve.
    const char* client_listen = "tcp://127.0.0.1:0";
    auto cli = weft::parse_command_line(argc, argv,
                                        o.connect.empty() ? "tcp://127.0.0.1:7000" : client_listen);
    if (cli.help) {
      std::fputs(cli.usage.c_str(), stdout);
      std::fputs(kOwnUsage.data(), stdout);
      return 0;
    }
    if (o.connect.empty()) {
      EchoServer echo;
      ServerEndpoint ep(echo, o.mux, mux::Endpoint::RoleChoice::server);
      return weft::serve(ep, cli.config);
    }
    if (cli.config.listen != std::vector<std::string>{client_listen}) {
      throw weft::ConfigError("--connect: a client does not take --listen");
    }
    EchoClient client(o);
    ClientEndpoint ep(client, o);
    weft::Server server(ep, cli.config);
    client.set_server(server);
    if (std::error_code ec = server.run()) return 1;
    return client.ok() ? 0 : 1;
  } catch (const weft::ConfigError& e) {
    std::fprintf(stderr, "mux_echo: %s\n", e.what());
    return 2;
  }
}
