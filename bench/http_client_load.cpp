// weft-http-load: HTTP/1.1 load from weft's own client (http::Client), the
// contender to wrk in bench/run_http_client.sh. C requests stay in flight on
// one loop, each sent again as soon as its answer is in, over kept-alive
// connections, for D seconds. Prints one line:
//   requests=N errors=E seconds=S rps=R cpu_us_per_req=U
// where U is this process's user+system CPU over the run, per answer.
//   weft-http-load -c 50 -d 10 http://127.0.0.1:8080/
#include <sys/resource.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

#include <weft/http.hpp>
#include <weft/weft.hpp>

namespace {

double cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

struct NoListener final : weft::Handler {
  std::size_t on_data(weft::Conn&, weft::Bytes in) override { return in.size(); }
};

// One request slot: sends, and on each answer sends again until told to stop.
struct Load {
  weft::http::Client* client = nullptr;
  std::string url;
  std::atomic<bool> running{true};
  std::atomic<long> answers{0}, errors{0}, in_flight{0};

  void send() {
    ++in_flight;
    const std::error_code ec = client->fetch(url, {}, [this](weft::http::FetchResult& r) {
      if (r.error || r.response.status != 200) {
        ++errors;
        if (errors.load() <= 3) std::fprintf(stderr, "error: %s\n", r.why.c_str());
      } else {
        ++answers;
      }
      --in_flight;
      if (running.load()) send();
    });
    if (ec) {
      --in_flight;
      ++errors;
    }
  }
};

}  // namespace

int main(int argc, char** argv) {
  long conns = 50;
  double seconds = 10;
  std::string url;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "-c" && i + 1 < argc) {
      conns = std::atol(argv[++i]);
    } else if (a == "-d" && i + 1 < argc) {
      seconds = std::atof(argv[++i]);
    } else {
      url = a;
    }
  }
  if (url.empty() || conns < 1 || seconds <= 0) {
    std::fprintf(stderr, "usage: weft-http-load [-c CONNS] [-d SECONDS] URL\n");
    return 2;
  }
  weft::set_log_level(weft::LogLevel::warn);
  weft::Config cfg;
  cfg.listen.clear();
  cfg.ncpu = 1;
  NoListener handler;
  weft::Server server(handler, cfg);
  if (server.start()) return 1;
  long answers = 0;
  long errors = 0;
  double elapsed = 0;
  double cpu = 0;
  {
    weft::http::PoolOptions pool;
    pool.max_idle_per_origin = static_cast<std::size_t>(conns);
    weft::http::Client client(server, pool);
    Load load;
    load.client = &client;
    load.url = url;
    const double cpu0 = cpu_seconds();
    const auto t0 = std::chrono::steady_clock::now();
    for (long i = 0; i < conns; ++i)
      load.send();
    std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
    load.running = false;
    elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    cpu = cpu_seconds() - cpu0;
    answers = load.answers.load();
    errors = load.errors.load();
    while (load.in_flight.load() > 0)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  server.stop();
  server.wait();
  std::printf("requests=%ld errors=%ld seconds=%.2f rps=%.0f cpu_us_per_req=%.2f\n", answers,
              errors, elapsed, static_cast<double>(answers) / elapsed,
              answers > 0 ? cpu * 1e6 / static_cast<double>(answers) : 0.0);
  return errors > 0 ? 1 : 0;
}
