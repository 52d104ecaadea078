// smux_peer: weft's side of the smux interop test; the mirror of
// smux_peer_go (same server conventions, same client cases).
//
//   smux_peer --mode server --version 2 [--keepalive MS]     (prints "listening ADDR")
//   smux_peer --mode client --addr ADDR --version 2 [--case all|a,b] [--keepalive MS]
//
// Server: every stream is echoed until FIN; a stream whose first bytes are
// "HOLD" is never read; "PUSH" opens 4 streams of 64 KiB to the client.
// Client: each case runs on a fresh connection and prints "ok <case>";
// the first failure prints "FAIL ..." and exits 1.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <weft/mux.hpp>
#include <weft/weft.hpp>

namespace {

using namespace std::chrono_literals;
namespace mux = weft::mux;
using SteadyClock = std::chrono::steady_clock;

constexpr int kPushStreams = 4;
constexpr std::size_t kPushBytes = 64 * 1024;

struct Args {
  std::string mode = "server";
  std::string addr = "127.0.0.1:0";
  int version = 1;
  int keepalive_ms = 0;
  std::string cases = "all";
};

char pattern(std::size_t off) {
  return static_cast<char>(off * 7 + off / 251);
}

std::string fill(std::size_t n, std::size_t start) {
  // Computed once: cases build many payloads inside callbacks, and a slow
  // (sanitizer) build must not stall the loop for a keepalive timeout.
  static const std::string cache = [] {
    std::string c((1u << 20) + 4096, '\0');
    for (std::size_t i = 0; i < c.size(); ++i)
      c[i] = pattern(i);
    return c;
  }();
  if (start + n <= cache.size()) return cache.substr(start, n);
  std::string s(n, '\0');
  for (std::size_t i = 0; i < n; ++i)
    s[i] = pattern(start + i);
  return s;
}

mux::Config make_config(const Args& a) {
  mux::Config c;
  c.version = a.version;
  if (a.keepalive_ms > 0) {
    c.keepalive_interval = std::chrono::milliseconds(a.keepalive_ms);
    c.keepalive_timeout = 4 * c.keepalive_interval;
  }
  return c;
}

// --- server ------------------------------------------------------------------

// Streams we push: the data goes out, the reply (if any) is drained.
class Drain final : public mux::StreamHandler {
 public:
  std::size_t on_data(mux::Stream&, weft::Bytes in) override { return in.size(); }
  void on_fin(mux::Stream& s) override { s.close_write(); }
};

class PeerServer final : public mux::SessionHandler {
 public:
  void on_accept(mux::Stream& s) override { s.set_context(nullptr); }

  std::size_t on_data(mux::Stream& s, weft::Bytes in) override {
    if (!s.context()) {  // the first 4 bytes pick the behaviour
      if (in.size() < 4) return 0;
      s.set_context(this);
      if (in.substr(0, 4) == "HOLD") {
        s.pause_reading();  // never read: the window stays shut
        return 0;
      }
      if (in.substr(0, 4) == "PUSH") push(s.session());
    }
    if (!s.write(in)) s.pause_reading();
    return in.size();
  }
  void on_writable(mux::Stream& s) override { s.resume_reading(); }
  void on_fin(mux::Stream& s) override {
    s.set_context(this);
    s.close_write();
  }
  void on_session_close(mux::Session&, std::error_code why) override {
    if (why) std::printf("session error: %s\n", why.message().c_str());
    std::fflush(stdout);
  }

 private:
  void push(mux::Session& session) {
    for (int i = 0; i < kPushStreams; ++i) {
      mux::Stream* st = session.open({}, &drain_);
      if (!st) return;
      st->write(fill(kPushBytes, static_cast<std::size_t>(i)));
      st->close_write();
    }
  }
  Drain drain_;
};

class ServerEndpoint final : public mux::Endpoint {
 public:
  using mux::Endpoint::Endpoint;
  void on_ready(weft::Server& server) override {
    std::string url = server.addresses().front();
    std::printf("listening %s\n", url.substr(url.find("://") + 3).c_str());
    std::fflush(stdout);
  }
};

int run_server(const Args& a) {
  PeerServer handler;
  ServerEndpoint ep(handler, make_config(a), mux::Endpoint::RoleChoice::server);
  weft::Config cfg;
  cfg.listen = {"tcp://" + a.addr};
  return weft::serve(ep, cfg);
}

// --- client ------------------------------------------------------------------

class Client;

// One echo exchange on one stream: steps of writes, each step's echo read
// back before the next step starts (after its delay); then FIN both ways.
class EchoJob final : public mux::StreamHandler {
 public:
  struct Step {
    std::chrono::milliseconds delay{0};
    std::vector<std::string> writes;
  };
  EchoJob(Client& c, std::vector<Step> steps, std::function<void()> done)
      : client_(c), steps_(std::move(steps)), done_(std::move(done)) {}
  bool start(mux::Session& s);
  std::size_t on_data(mux::Stream& s, weft::Bytes in) override;
  void on_writable(mux::Stream& s) override { send_more(s); }
  void on_close(mux::Stream& s, std::error_code why) override;

 private:
  void begin_step(mux::Stream& s);
  void send_more(mux::Stream& s);
  Client& client_;
  std::vector<Step> steps_;
  std::function<void()> done_;
  std::size_t step_ = 0;
  std::size_t write_idx_ = 0;
  std::size_t write_off_ = 0;
  std::string expected_;
  std::size_t got_ = 0;
  bool finished_ = false;
};

class Client final : public mux::SessionHandler {
 public:
  Client(Args a, weft::Server*& server) : args_(std::move(a)), server_(server) {}

  void start_next_case();
  void fail(const std::string& why) {
    std::printf("FAIL %s: %s\n", current_.c_str(), why.c_str());
    std::fflush(stdout);
    failed_ = true;
    server_->stop();
  }
  void case_done() {
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(SteadyClock::now() - started_);
    std::printf("ok %s (%lldms)\n", current_.c_str(), static_cast<long long>(ms.count()));
    std::fflush(stdout);
    closing_ = true;
    session_->close();
  }
  bool failed() const { return failed_; }
  weft::EventLoop& loop() { return server_->loop(0); }

  // mux::SessionHandler
  void on_session(mux::Session& s) override;
  void on_accept(mux::Stream& s) override;
  std::size_t on_data(mux::Stream& s, weft::Bytes in) override;  // pushed streams
  void on_fin(mux::Stream& s) override;
  void on_session_close(mux::Session&, std::error_code why) override {
    session_ = nullptr;
    if (!closing_ && !failed_) return fail("session ended: " + why.message());
    closing_ = false;
    if (!failed_) start_next_case();
  }

 private:
  using Steps = std::vector<EchoJob::Step>;
  void run_jobs(std::vector<Steps> jobs, std::size_t parallel);
  void launch_job();
  void job_done();
  void hold_case();

  Args args_;
  weft::Server*& server_;
  std::vector<std::string> cases_;
  std::size_t next_case_ = 0;
  std::string current_;
  SteadyClock::time_point started_;
  mux::Session* session_ = nullptr;
  bool closing_ = false;
  bool failed_ = false;
  // echo jobs of the current case
  std::vector<Steps> pending_;
  std::size_t next_job_ = 0;
  std::size_t running_ = 0;
  std::vector<std::unique_ptr<EchoJob>> jobs_;
  std::function<void()> after_jobs_;
  // push case
  int pushed_ok_ = 0;
  bool push_ctl_done_ = false;
  // hold case
  mux::Stream* held_ = nullptr;
};

bool EchoJob::start(mux::Session& s) {
  mux::Stream* st = s.open({}, this);
  if (!st) return false;
  if (st->id() % 2 != 1) client_.fail("client stream id is not odd");
  begin_step(*st);
  return true;
}

void EchoJob::begin_step(mux::Stream& s) {
  expected_.clear();
  got_ = 0;
  write_idx_ = write_off_ = 0;
  for (const auto& w : steps_[step_].writes)
    expected_ += w;
  send_more(s);
}

void EchoJob::send_more(mux::Stream& s) {
  if (step_ >= steps_.size()) return;  // the last echo is in: nothing left to send
  auto& writes = steps_[step_].writes;
  while (write_idx_ < writes.size()) {
    const std::string& w = writes[write_idx_];
    std::size_t n = std::min<std::size_t>(w.size() - write_off_, 64 * 1024);
    bool more = s.write(weft::Bytes(w).substr(write_off_, n));
    write_off_ += n;
    if (write_off_ >= w.size()) {
      ++write_idx_;
      write_off_ = 0;
    }
    if (!more) return;  // on_writable continues
  }
}

std::size_t EchoJob::on_data(mux::Stream& s, weft::Bytes in) {
  if (in.size() > expected_.size() - got_ || in != weft::Bytes(expected_).substr(got_, in.size())) {
    client_.fail("echo differs on stream " + std::to_string(s.id()));
    return in.size();
  }
  got_ += in.size();
  if (got_ < expected_.size()) return in.size();
  if (++step_ == steps_.size()) {
    s.close_write();
  } else {
    mux::Stream* sp = &s;
    client_.loop().run_after(steps_[step_].delay, [this, sp] { begin_step(*sp); });
  }
  return in.size();
}

void EchoJob::on_close(mux::Stream&, std::error_code why) {
  if (finished_) return;
  finished_ = true;
  if (why || step_ != steps_.size()) {
    client_.fail("stream ended early: " + (why ? why.message() : std::string("FIN")));
    return;
  }
  done_();
}

void Client::start_next_case() {
  if (cases_.empty() && next_case_ == 0) {
    std::vector<std::string> all = {"small", "big", "seq", "concurrent", "zero", "push"};
    if (args_.keepalive_ms > 0) all.emplace_back("keepalive");
    if (args_.version >= 2) all.emplace_back("hold");
    if (args_.cases != "all") {
      all.clear();
      std::size_t pos = 0;
      while (pos <= args_.cases.size()) {
        std::size_t comma = args_.cases.find(',', pos);
        if (comma == std::string::npos) comma = args_.cases.size();
        all.push_back(args_.cases.substr(pos, comma - pos));
        pos = comma + 1;
      }
    }
    cases_ = all;
  }
  if (next_case_ == cases_.size()) {
    server_->stop();
    return;
  }
  current_ = cases_[next_case_++];
  started_ = SteadyClock::now();
  weft::DialOptions opts;
  server_->dial("tcp://" + args_.addr, opts);
}

void Client::on_session(mux::Session& s) {
  session_ = &s;
  jobs_.clear();
  pending_.clear();
  next_job_ = running_ = 0;
  auto one = [](std::vector<std::string> writes) {
    return std::vector<EchoJob::Step>{{0ms, std::move(writes)}};
  };
  const std::string& c = current_;
  std::vector<Steps> jobs;
  std::size_t parallel = 1;
  if (c == "small") {
    for (int i = 0; i < 10; ++i)
      jobs.push_back(one({"hello " + std::to_string(i)}));
  } else if (c == "big") {
    jobs.push_back(one({fill(1 << 20, 0)}));
  } else if (c == "seq") {
    for (std::size_t i = 0; i < 1000; ++i)
      jobs.push_back(one({fill(100, i)}));
  } else if (c == "concurrent") {
    for (std::size_t i = 0; i < 256; ++i)
      jobs.push_back(one({fill(64 * 1024, i)}));
    parallel = 256;
  } else if (c == "zero") {
    jobs.push_back(one({"", "", "abc", "", "de"}));
  } else if (c == "keepalive") {
    // One stream stays open across an idle period of 3 keepalive timeouts.
    std::chrono::milliseconds idle(args_.keepalive_ms * 12);
    jobs.push_back({{0ms, {"before"}}, {idle, {"after"}}});
  } else if (c == "push") {
    pushed_ok_ = 0;
    push_ctl_done_ = false;
    jobs.push_back(one({"PUSH"}));
    after_jobs_ = [this] {
      push_ctl_done_ = true;
      if (pushed_ok_ == kPushStreams) case_done();
    };
    return run_jobs(std::move(jobs), 1);
  } else if (c == "hold") {
    return hold_case();
  } else {
    return fail("unknown case");
  }
  after_jobs_ = [this] { case_done(); };
  run_jobs(std::move(jobs), parallel);
}

void Client::run_jobs(std::vector<Steps> jobs, std::size_t parallel) {
  pending_ = std::move(jobs);
  for (std::size_t i = 0; i < parallel && next_job_ < pending_.size(); ++i)
    launch_job();
}

void Client::launch_job() {
  auto job =
      std::make_unique<EchoJob>(*this, std::move(pending_[next_job_++]), [this] { job_done(); });
  ++running_;
  EchoJob* raw = job.get();
  jobs_.push_back(std::move(job));
  if (!raw->start(*session_)) fail("open: " + session_->open_error().message());
}

void Client::job_done() {
  --running_;
  if (failed_) return;
  if (next_job_ < pending_.size()) return launch_job();
  if (running_ == 0 && after_jobs_) {
    auto then = std::move(after_jobs_);
    after_jobs_ = nullptr;
    then();
  }
}

// Streams the server opened (push case): 64 KiB of one pattern, then FIN.
void Client::on_accept(mux::Stream& s) {
  if (s.id() % 2 != 0) fail("server stream id is not even");
  s.set_context(new std::string);
}

std::size_t Client::on_data(mux::Stream& s, weft::Bytes in) {
  auto* got = static_cast<std::string*>(s.context());
  if (got) got->append(in);
  return in.size();
}

void Client::on_fin(mux::Stream& s) {
  auto* got = static_cast<std::string*>(s.context());
  bool ok = false;
  for (int j = 0; got && j < kPushStreams; ++j)
    ok = ok || *got == fill(kPushBytes, static_cast<std::size_t>(j));
  delete got;
  s.set_context(nullptr);
  s.close_write();
  if (!ok) return fail("pushed stream content differs");
  if (++pushed_ok_ == kPushStreams && push_ctl_done_) case_done();
}

// v2: a stream writes 8 MiB the server never reads; 20 echoes on other
// streams must each finish within 2 s meanwhile, and the window must hold
// the 8 MiB back.
class HeldWriter final : public mux::StreamHandler {
 public:
  explicit HeldWriter(std::size_t total) : data_("HOLD" + fill(total, 0)) {}
  std::size_t on_data(mux::Stream&, weft::Bytes in) override { return in.size(); }
  void on_writable(mux::Stream& s) override { pump(s); }
  void pump(mux::Stream& s) {
    while (off_ < data_.size()) {
      std::size_t n = std::min<std::size_t>(data_.size() - off_, 64 * 1024);
      bool more = s.write(weft::Bytes(data_).substr(off_, n));
      off_ += n;
      if (!more) return;
    }
  }
  std::size_t handed() const { return off_; }

 private:
  std::string data_;
  std::size_t off_ = 0;
};

void Client::hold_case() {
  static HeldWriter writer(8u << 20);
  held_ = session_->open({}, &writer);
  if (!held_) return fail("open");
  writer.pump(*held_);
  loop().run_after(200ms, [this] {
    std::vector<Steps> jobs;
    for (std::size_t i = 0; i < 20; ++i)
      jobs.push_back({{0ms, {fill(1024, i)}}});
    auto t0 = std::make_shared<SteadyClock::time_point>(SteadyClock::now());
    after_jobs_ = [this, t0] {
      auto took = SteadyClock::now() - *t0;
      if (took > 20 * 2s) return fail("the other streams were held up");
      // The window keeps all but ~256 KiB of the 8 MiB queued here.
      if (held_->queued() == 0 && writer.handed() >= (8u << 20))
        return fail("8 MiB left although the peer reads nothing");
      case_done();
    };
    run_jobs(std::move(jobs), 1);
  });
}

class ClientEndpoint final : public mux::Endpoint {
 public:
  ClientEndpoint(Client& c, const mux::Config& cfg)
      : mux::Endpoint(c, cfg, RoleChoice::client), client_(c) {}
  void on_ready(weft::Server&) override { client_.start_next_case(); }
  void on_dial_error(weft::Server&, const std::string& target, void*,
                     std::error_code why) override {
    client_.fail("dial " + target + ": " + why.message());
  }

 private:
  Client& client_;
};

int run_client(const Args& a) {
  weft::Server* server = nullptr;
  Client client(a, server);
  ClientEndpoint ep(client, make_config(a));
  weft::Config cfg;
  cfg.listen = {"tcp://127.0.0.1:0"};  // unused: the client only dials
  weft::Server s(ep, cfg);
  server = &s;
  // A bound on the whole run, so a hang fails instead of blocking the suite.
  std::thread watchdog([] {
    std::this_thread::sleep_for(120s);
    std::printf("FAIL timeout\n");
    std::fflush(stdout);
    std::_Exit(1);
  });
  watchdog.detach();
  std::error_code ec = s.run();
  if (ec) {
    std::printf("FAIL run: %s\n", ec.message().c_str());
    return 1;
  }
  return client.failed() ? 1 : 0;
}

}  // namespace

int main(int argc, char** argv) {
  Args a;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i], v = argv[i + 1];
    if (k == "--mode")
      a.mode = v;
    else if (k == "--addr")
      a.addr = v;
    else if (k == "--version")
      a.version = std::atoi(v.c_str());
    else if (k == "--keepalive")
      a.keepalive_ms = std::atoi(v.c_str());
    else if (k == "--case")
      a.cases = v;
    else {
      std::fprintf(stderr, "smux_peer: unknown option %s\n", k.c_str());
      return 2;
    }
  }
  try {
    return a.mode == "server" ? run_server(a) : run_client(a);
  } catch (const weft::ConfigError& e) {
    std::fprintf(stderr, "smux_peer: %s\n", e.what());
    return 2;
  }
}
