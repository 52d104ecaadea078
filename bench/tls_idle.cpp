// weft-tls-idle: many idle TLS connections, for memory measurements.
//
// Single thread, non-blocking OpenSSL over level-triggered epoll. Opens
// --conns connections, at most --burst of them connecting or handshaking at
// a time; on each, a full TLS handshake and one checked exchange (an HTTP
// GET with keep-alive, a 16-byte echo, or a WebSocket handshake and one
// 16-byte message echoed). Then it prints "ready N" and keeps
// every connection open, silent, until SIGTERM/SIGINT or --hold seconds.
// Connections the server closes meanwhile are counted and reported on exit.
//
//   weft-tls-idle --port N --conns 10000 [--host 127.0.0.1] [--burst 128]
//                 [--tls 1.3|1.2] [--http PATH | --echo | --ws PATH] [--hold S]
//
// Needs an open-file limit of --conns + a few. Exit status 1 if a connection
// failed before "ready".
#include <algorithm>
#include <csignal>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "tls_client.hpp"

namespace {

using tlsbench::TlsClient;

volatile std::sig_atomic_t g_stop = 0;
void on_signal(int) {
  g_stop = 1;
}

struct Options {
  std::string host = "127.0.0.1";
  int port = 0;
  int conns = 0;
  int burst = 128;
  double hold = 0;  // 0: until a signal
  std::string tls = "1.3";
  tlsbench::Exchange exchange = tlsbench::Exchange::http;
  std::string path = "/";
};

[[noreturn]] void usage(int status) {
  std::fputs(
      "usage: weft-tls-idle --port N --conns N [--host 127.0.0.1] [--burst 128]\n"
      "                     [--tls 1.3|1.2] [--http PATH | --echo | --ws PATH] [--hold S]\n",
      status == 0 ? stdout : stderr);
  std::exit(status);
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (a == "-h" || a == "--help") usage(0);
    if (a == "--echo") {
      o.exchange = tlsbench::Exchange::echo;
      continue;
    }
    if (i + 1 >= argc) usage(2);
    const char* v = argv[++i];
    if (a == "--host") {
      o.host = v;
    } else if (a == "--port") {
      o.port = std::atoi(v);
    } else if (a == "--conns") {
      o.conns = std::atoi(v);
    } else if (a == "--burst") {
      o.burst = std::atoi(v);
    } else if (a == "--hold") {
      o.hold = std::atof(v);
    } else if (a == "--tls") {
      o.tls = v;
    } else if (a == "--http") {
      o.exchange = tlsbench::Exchange::http;
      o.path = v;
    } else if (a == "--ws") {
      o.exchange = tlsbench::Exchange::ws;
      o.path = v;
    } else {
      usage(2);
    }
  }
  if (o.port <= 0 || o.conns <= 0 || o.burst <= 0 || (o.tls != "1.2" && o.tls != "1.3")) usage(2);
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  const Options o = parse(argc, argv);
  std::signal(SIGPIPE, SIG_IGN);
  std::signal(SIGTERM, on_signal);
  std::signal(SIGINT, on_signal);

  rlimit rl{};
  getrlimit(RLIMIT_NOFILE, &rl);
  if (rl.rlim_cur < static_cast<rlim_t>(o.conns) + 16) {
    rl.rlim_cur = std::min<rlim_t>(rl.rlim_max, static_cast<rlim_t>(o.conns) + 16);
    setrlimit(RLIMIT_NOFILE, &rl);
    if (rl.rlim_cur < static_cast<rlim_t>(o.conns) + 16) {
      std::fprintf(stderr, "weft-tls-idle: open-file limit %llu is too low for %d connections\n",
                   static_cast<unsigned long long>(rl.rlim_cur), o.conns);
      return 2;
    }
  }

  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(o.port));
  if (inet_pton(AF_INET, o.host.c_str(), &addr.sin_addr) != 1) {
    std::fprintf(stderr, "weft-tls-idle: bad --host %s\n", o.host.c_str());
    return 2;
  }
  SSL_CTX* ctx = tlsbench::make_client_ctx(o.tls);
  const std::string request = o.exchange == tlsbench::Exchange::http
                                  ? tlsbench::http_request(o.path, o.port)
                                  : tlsbench::echo_message();
  const tlsbench::WsExchange ws(o.path, o.port);

  const int ep = epoll_create1(EPOLL_CLOEXEC);
  std::vector<std::unique_ptr<TlsClient>> clients;
  clients.reserve(static_cast<size_t>(o.conns));
  int started = 0, ready = 0, in_flight = 0, closed_by_server = 0;
  std::string first_close;
  const uint64_t t0 = tlsbench::now_ns();

  auto launch_more = [&]() {
    while (started < o.conns && in_flight < o.burst) {
      clients.push_back(std::make_unique<TlsClient>());
      TlsClient& c = *clients.back();
      if (!c.start(addr, ctx, o.exchange, request, &ws)) {
        std::fprintf(stderr, "weft-tls-idle: connection %d: %s\n", started, c.error().c_str());
        std::exit(1);
      }
      epoll_event e{};
      e.events = EPOLLOUT;
      e.data.u32 = static_cast<uint32_t>(started);
      epoll_ctl(ep, EPOLL_CTL_ADD, c.fd(), &e);
      ++started;
      ++in_flight;
    }
  };

  launch_more();
  std::vector<epoll_event> events(1024);
  bool announced = false;
  const uint64_t hold_ns = static_cast<uint64_t>(o.hold * 1e9);
  uint64_t ready_at = 0;
  while (!g_stop) {
    if (announced && hold_ns && tlsbench::now_ns() - ready_at >= hold_ns) break;
    const int n = epoll_wait(ep, events.data(), static_cast<int>(events.size()), 200);
    if (n < 0) {
      if (errno == EINTR) continue;
      std::perror("epoll_wait");
      return 1;
    }
    for (int k = 0; k < n; ++k) {
      const uint32_t i = events[static_cast<size_t>(k)].data.u32;
      TlsClient& c = *clients[i];
      if (c.state() == TlsClient::State::done) {
        // An established, idle connection became readable: the server
        // closed it (or sent something it should not have).
        char buf[256];
        ERR_clear_error();
        const int r = SSL_read(c.ssl(), buf, sizeof buf);
        const int err = r > 0 ? SSL_ERROR_NONE : SSL_get_error(c.ssl(), r);
        if (err != SSL_ERROR_WANT_READ) {
          if (closed_by_server == 0) {
            first_close = r > 0                          ? "unexpected data"
                          : err == SSL_ERROR_ZERO_RETURN ? "close_notify"
                          : err == SSL_ERROR_SYSCALL     ? (errno ? std::strerror(errno) : "EOF")
                                                         : tlsbench::openssl_errors();
            first_close +=
                " after " + std::to_string((tlsbench::now_ns() - t0) / 1'000'000) + " ms";
          }
          ++closed_by_server;
          epoll_ctl(ep, EPOLL_CTL_DEL, c.fd(), nullptr);
          ERR_clear_error();
        }
        continue;
      }
      const uint32_t want = c.drive();
      if (c.state() == TlsClient::State::failed) {
        std::fprintf(stderr, "weft-tls-idle: connection %u failed after %d ready: %s\n", i, ready,
                     c.error().c_str());
        return 1;
      }
      epoll_event e{};
      e.data.u32 = i;
      if (c.state() == TlsClient::State::done) {
        ++ready;
        --in_flight;
        e.events = EPOLLIN;  // from now on only to notice a close
      } else {
        e.events = want;
      }
      epoll_ctl(ep, EPOLL_CTL_MOD, c.fd(), &e);
    }
    launch_more();
    if (!announced && ready == o.conns) {
      announced = true;
      ready_at = tlsbench::now_ns();
      std::printf("ready %d secs=%.2f\n", ready, static_cast<double>(ready_at - t0) / 1e9);
      std::fflush(stdout);
    }
  }
  if (closed_by_server) {
    std::fprintf(stderr,
                 "weft-tls-idle: %d of %d connections were closed by the server (first: %s)\n",
                 closed_by_server, ready, first_close.c_str());
  }
  // Exit without tearing 10000 connections down one by one: the kernel does it.
  std::fflush(stdout);
  std::_Exit(closed_by_server ? 3 : 0);
}
