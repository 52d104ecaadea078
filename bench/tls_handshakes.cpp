// weft-tls-handshakes: full TLS handshakes per second against a server.
//
// Single thread, non-blocking OpenSSL over level-triggered epoll, `--conc`
// connections in flight. Each connection: TCP connect, a full handshake (no
// session ticket or ID is ever offered, so the server can never resume),
// one request and its complete, checked response (an HTTP GET, or a 16-byte
// echo), close_notify and close; then a new connection takes its place.
// The request makes sure the server has finished its side of the handshake
// (it reads the client's Finished and sends its tickets before it can answer).
//
//   weft-tls-handshakes --port N [--host 127.0.0.1] [--conc 8] [--duration 5]
//                       [--warmup 1] [--tls 1.3|1.2] [--http PATH | --echo]
//                       [--server-pid PID]
//
// Prints one result line:
//   handshakes=... secs=... handshakes_per_sec=... full=... errors=0
//   version=TLSv1.3 cipher=... group=... sig=... client_cpu_pct=...
//   [server_cpu_us=... server_stat_cpu_us=... server_cpu_pct=...
//    server_cpu_us_per_hs=... other_cpu_pct=...]
// server_cpu_* come from /proc/PID/task/*/schedstat (ns) and /proc/PID/stat
// (utime+stime ticks), sampled exactly at the start and end of the measured
// window. Exit status 1 if any connection failed.
#include <openssl/evp.h>
#include <openssl/objects.h>

#include <algorithm>
#include <csignal>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "tls_client.hpp"

namespace {

using tlsbench::TlsClient;

struct Options {
  std::string host = "127.0.0.1";
  int port = 0;
  int conc = 8;
  double duration = 5;
  double warmup = 1;
  std::string tls = "1.3";
  tlsbench::Exchange exchange = tlsbench::Exchange::http;
  std::string path = "/";
  pid_t server_pid = 0;
};

[[noreturn]] void usage(int status) {
  std::fputs(
      "usage: weft-tls-handshakes --port N [--host 127.0.0.1] [--conc 8] [--duration 5]\n"
      "                           [--warmup 1] [--tls 1.3|1.2] [--http PATH | --echo]\n"
      "                           [--server-pid PID]\n",
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
    } else if (a == "--conc") {
      o.conc = std::atoi(v);
    } else if (a == "--duration") {
      o.duration = std::atof(v);
    } else if (a == "--warmup") {
      o.warmup = std::atof(v);
    } else if (a == "--tls") {
      o.tls = v;
    } else if (a == "--http") {
      o.exchange = tlsbench::Exchange::http;
      o.path = v;
    } else if (a == "--server-pid") {
      o.server_pid = static_cast<pid_t>(std::atoi(v));
    } else {
      usage(2);
    }
  }
  if (o.port <= 0 || o.conc <= 0 || o.duration <= 0 || (o.tls != "1.2" && o.tls != "1.3")) {
    usage(2);
  }
  return o;
}

struct Sample {
  uint64_t t = 0;
  uint64_t self = 0;
  std::optional<uint64_t> exec, ticks, machine;
};

Sample sample(pid_t server) {
  Sample s;
  s.t = tlsbench::now_ns();
  s.self = tlsbench::self_cpu_ns();
  if (server > 0) {
    s.exec = tlsbench::exec_ns(server);
    s.ticks = tlsbench::stat_ticks(server);
    s.machine = tlsbench::machine_busy_ticks();
  }
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  const Options o = parse(argc, argv);
  std::signal(SIGPIPE, SIG_IGN);

  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(o.port));
  if (inet_pton(AF_INET, o.host.c_str(), &addr.sin_addr) != 1) {
    std::fprintf(stderr, "weft-tls-handshakes: bad --host %s\n", o.host.c_str());
    return 2;
  }
  SSL_CTX* ctx = tlsbench::make_client_ctx(o.tls);
  if (!ctx) {
    std::fprintf(stderr, "weft-tls-handshakes: %s\n", tlsbench::openssl_errors().c_str());
    return 1;
  }
  const std::string request = o.exchange == tlsbench::Exchange::http
                                  ? tlsbench::http_request(o.path, o.port)
                                  : tlsbench::echo_message();

  const int ep = epoll_create1(EPOLL_CLOEXEC);
  std::vector<std::unique_ptr<TlsClient>> clients;
  for (int i = 0; i < o.conc; ++i)
    clients.push_back(std::make_unique<TlsClient>());

  uint64_t counted = 0, full = 0, errors = 0;
  std::string version, cipher, group, sig, first_error;
  bool measuring = false;

  // (Re)starts client i and registers it (EPOLLOUT: connect completed);
  // a start that fails at once counts as an error.
  auto launch = [&](uint32_t i) {
    TlsClient& c = *clients[i];
    for (int attempt = 0; attempt < 3; ++attempt) {
      if (c.start(addr, ctx, o.exchange, request)) {
        epoll_event e{};
        e.events = EPOLLOUT;
        e.data.u32 = i;
        epoll_ctl(ep, EPOLL_CTL_ADD, c.fd(), &e);
        return;
      }
      ++errors;
      if (first_error.empty()) first_error = c.error();
    }
    std::fprintf(stderr, "weft-tls-handshakes: cannot connect: %s\n", first_error.c_str());
    std::exit(1);
  };

  const uint64_t t0 = tlsbench::now_ns();
  const uint64_t warm_end = t0 + static_cast<uint64_t>(o.warmup * 1e9);
  const uint64_t end = warm_end + static_cast<uint64_t>(o.duration * 1e9);
  Sample a;
  if (o.warmup <= 0) {
    a = sample(o.server_pid);
    measuring = true;
  }
  for (int i = 0; i < o.conc; ++i)
    launch(static_cast<uint32_t>(i));

  std::vector<epoll_event> events(static_cast<size_t>(o.conc));
  for (;;) {
    const uint64_t now = tlsbench::now_ns();
    if (!measuring && now >= warm_end) {
      a = sample(o.server_pid);
      measuring = true;
    }
    if (now >= end) break;
    const int timeout_ms = static_cast<int>(
        std::min<uint64_t>(((measuring ? end : warm_end) - now) / 1'000'000 + 1, 100));
    const int n = epoll_wait(ep, events.data(), static_cast<int>(events.size()), timeout_ms);
    if (n < 0) {
      if (errno == EINTR) continue;
      std::perror("epoll_wait");
      return 1;
    }
    for (int k = 0; k < n; ++k) {
      const uint32_t i = events[static_cast<size_t>(k)].data.u32;
      TlsClient& c = *clients[i];
      const uint32_t want = c.drive();
      if (c.state() == TlsClient::State::done) {
        SSL* ssl = c.ssl();
        if (version.empty()) {
          version = SSL_get_version(ssl);
          cipher = SSL_get_cipher_name(ssl);
          const int g = SSL_get_negotiated_group(ssl);
          group = g ? OBJ_nid2sn(g & ~TLSEXT_nid_unknown) : "none";
          int type = 0, hash = 0;
          if (SSL_get_peer_signature_type_nid(ssl, &type) == 1) {
            sig = type == EVP_PKEY_EC        ? "ECDSA"
                  : type == EVP_PKEY_RSA_PSS ? "RSA-PSS"
                  : type == EVP_PKEY_RSA     ? "RSA"
                                             : OBJ_nid2sn(type);
            if (SSL_get_peer_signature_nid(ssl, &hash) == 1)
              sig += std::string("+") + OBJ_nid2sn(hash);
          } else {
            sig = "none";
          }
        }
        if (measuring) {
          ++counted;
          if (SSL_session_reused(ssl) == 0) ++full;
        }
        c.close_gracefully();
        launch(i);
      } else if (c.state() == TlsClient::State::failed) {
        ++errors;
        if (first_error.empty()) first_error = c.error();
        c.reset();
        launch(i);
      } else {
        epoll_event e{};
        e.events = want;
        e.data.u32 = i;
        epoll_ctl(ep, EPOLL_CTL_MOD, c.fd(), &e);
      }
    }
  }
  const Sample b = sample(o.server_pid);
  const double secs = static_cast<double>(b.t - a.t) / 1e9;
  const double window_ns = static_cast<double>(b.t - a.t);
  std::printf(
      "handshakes=%llu secs=%.3f handshakes_per_sec=%.0f full=%llu errors=%llu version=%s "
      "cipher=%s group=%s sig=%s client_cpu_pct=%.1f",
      static_cast<unsigned long long>(counted), secs, static_cast<double>(counted) / secs,
      static_cast<unsigned long long>(full), static_cast<unsigned long long>(errors),
      version.c_str(), cipher.c_str(), group.c_str(), sig.c_str(),
      100.0 * static_cast<double>(b.self - a.self) / window_ns);
  if (o.server_pid > 0 && a.exec && b.exec) {
    const double tick_ns = 1e9 / static_cast<double>(sysconf(_SC_CLK_TCK));
    const double cpu_ns = static_cast<double>(*b.exec - *a.exec);
    std::printf(" server_cpu_us=%.0f", cpu_ns / 1000);
    if (a.ticks && b.ticks) {
      std::printf(" server_stat_cpu_us=%.0f",
                  static_cast<double>(*b.ticks - *a.ticks) * tick_ns / 1000);
    }
    std::printf(" server_cpu_pct=%.1f server_cpu_us_per_hs=%.2f", 100.0 * cpu_ns / window_ns,
                counted ? cpu_ns / 1000 / static_cast<double>(counted) : 0.0);
    if (a.machine && b.machine) {
      const double machine_ns = static_cast<double>(*b.machine - *a.machine) * tick_ns;
      const double other = machine_ns - cpu_ns - static_cast<double>(b.self - a.self);
      std::printf(" other_cpu_pct=%.1f", std::max(0.0, 100.0 * other / window_ns));
    }
  }
  std::printf("\n");
  if (errors)
    std::fprintf(stderr, "weft-tls-handshakes: %llu failed connection(s), first: %s\n",
                 static_cast<unsigned long long>(errors), first_error.c_str());
  std::fflush(stdout);
  for (auto& c : clients)
    c->reset();
  SSL_CTX_free(ctx);
  return errors ? 1 : 0;
}
