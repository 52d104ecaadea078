// weft-ws-broadcast: the load side of the WebSocket broadcast benchmark.
// Opens N subscriber WebSockets to /sub and one control socket to /ctl,
// then per round asks the server (through /ctl) to publish one message and
// times how long until every subscriber has received it whole. Server CPU
// comes from /proc/<pid>: per round from the threads' schedstat (ns), over
// all rounds from utime+stime in stat (clock ticks).
//
//   weft-ws-broadcast --port P --server-pid PID [--subs 8000] [--size 64]
//                     [--rounds 30] [--deflate] [--label NAME]
//
// --deflate offers permessage-deflate with server_no_context_takeover (and
// client_no_context_takeover): the server may compress each message once
// and send the same bytes to everyone. Frames are counted, not inflated.
//
// Prints a line per round ("ROUND label round=R warmup=0|1 wall_ms=W
// cpu_ns=C", C = server CPU per delivered message) and a summary line
// starting with "RESULT" (medians, extremes, and utime+stime per message).
// Plain epoll, blocking nothing; no dependency on weft.
#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

struct Options {
  int port = 0;
  int server_pid = 0;
  int subs = 8000;
  std::size_t size = 64;
  int rounds = 30;
  bool deflate = false;
  std::string label = "weft";
};

[[noreturn]] void die(const char* what) {
  std::fprintf(stderr, "error: %s: %s\n", what, std::strerror(errno));
  std::exit(1);
}

// One subscriber (or the control socket): handshake, then frame counting.
struct Sock {
  int fd = -1;
  bool open = false;          // the 101 arrived
  std::string head;           // the response head until it is complete
  std::uint8_t hdr[10] = {};  // a frame header split across reads
  std::size_t hdr_len = 0;
  std::uint64_t skip = 0;  // payload bytes of the current frame still to come
  bool counted = false;    // the current frame is a data frame (control frames are skipped)
  int frames = 0;          // whole data frames received
};

std::string request(std::string_view path, bool deflate) {
  std::string r = "GET ";
  r.append(path).append(
      " HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n");
  if (deflate) {
    r.append(
        "Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover; "
        "client_no_context_takeover\r\n");
  }
  return r.append("\r\n");
}

int connect_to(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) die("socket");
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) < 0 && errno != EINPROGRESS) {
    die("connect");
  }
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

// Feeds bytes to a socket's parser: the response head first, then frames.
void consume(Sock& s, const char* p, std::size_t n) {
  if (!s.open) {
    s.head.append(p, n);
    const auto end = s.head.find("\r\n\r\n");
    if (end == std::string::npos) return;
    if (s.head.compare(0, 12, "HTTP/1.1 101") != 0) {
      std::fprintf(stderr, "error: handshake refused: %.40s\n", s.head.c_str());
      std::exit(1);
    }
    s.open = true;
    const std::string rest = s.head.substr(end + 4);
    s.head.clear();
    s.head.shrink_to_fit();
    if (!rest.empty()) consume(s, rest.data(), rest.size());
    return;
  }
  while (n > 0) {
    if (s.skip > 0) {
      const std::size_t take = static_cast<std::size_t>(std::min<std::uint64_t>(s.skip, n));
      s.skip -= take;
      p += take;
      n -= take;
      if (s.skip == 0 && s.counted) ++s.frames;
      continue;
    }
    s.hdr[s.hdr_len++] = static_cast<std::uint8_t>(*p++);
    --n;
    if (s.hdr_len < 2) continue;
    const std::uint8_t len7 = s.hdr[1] & 0x7f;
    const std::size_t need = len7 < 126 ? 2 : len7 == 126 ? 4 : 10;
    if (s.hdr_len < need) continue;
    std::uint64_t len = len7;
    if (len7 == 126) len = (std::uint64_t{s.hdr[2]} << 8) | s.hdr[3];
    if (len7 == 127) {
      len = 0;
      for (int i = 2; i < 10; ++i)
        len = (len << 8) | s.hdr[i];
    }
    s.counted = (s.hdr[0] & 0x0f) == 1 || (s.hdr[0] & 0x0f) == 2;
    s.hdr_len = 0;
    s.skip = len;
    if (len == 0 && s.counted) ++s.frames;
  }
}

void send_all(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t w = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (w < 0) {
      if (errno == EAGAIN || errno == EINTR) continue;
      die("send");
    }
    data.remove_prefix(static_cast<std::size_t>(w));
  }
}

// A masked text frame (a zero key: the payload goes as is).
std::string text_frame(std::string_view payload) {
  std::string f;
  f.push_back(static_cast<char>(0x81));
  f.push_back(static_cast<char>(0x80 | payload.size()));  // short control texts only
  f.append(4, '\0');
  f.append(payload);
  return f;
}

// Server CPU, all threads: nanoseconds on CPU (schedstat), and utime+stime ticks.
std::uint64_t server_cpu_ns(int pid) {
  std::uint64_t total = 0;
  const std::string dir = "/proc/" + std::to_string(pid) + "/task";
  DIR* d = ::opendir(dir.c_str());
  if (!d) return 0;
  while (dirent* e = ::readdir(d)) {
    if (e->d_name[0] == '.') continue;
    std::ifstream f(dir + "/" + e->d_name + "/schedstat");
    std::uint64_t ns = 0;
    if (f >> ns) total += ns;
  }
  ::closedir(d);
  return total;
}

std::uint64_t server_cpu_ticks(int pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  std::getline(f, line);
  const auto close = line.rfind(')');
  std::istringstream in(line.substr(close + 2));
  std::string field;
  std::uint64_t utime = 0, stime = 0;
  for (int i = 3; i <= 15 && in >> field; ++i) {
    if (i == 14) utime = std::strtoull(field.c_str(), nullptr, 10);
    if (i == 15) stime = std::strtoull(field.c_str(), nullptr, 10);
  }
  return utime + stime;
}

double percentile(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  const double at = q * static_cast<double>(v.size() - 1);
  const auto lo = static_cast<std::size_t>(at);
  const std::size_t hi = std::min(lo + 1, v.size() - 1);
  return v[lo] + (v[hi] - v[lo]) * (at - static_cast<double>(lo));
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    const char* v = i + 1 < argc ? argv[i + 1] : "0";
    if (a == "--port") {
      o.port = std::atoi(v), ++i;
    } else if (a == "--server-pid") {
      o.server_pid = std::atoi(v), ++i;
    } else if (a == "--subs") {
      o.subs = std::atoi(v), ++i;
    } else if (a == "--size") {
      o.size = std::strtoul(v, nullptr, 10), ++i;
    } else if (a == "--rounds") {
      o.rounds = std::atoi(v), ++i;
    } else if (a == "--label") {
      o.label = v, ++i;
    } else if (a == "--deflate") {
      o.deflate = true;
    } else {
      std::fprintf(stderr,
                   "usage: %s --port P --server-pid PID [--subs N] [--size B] [--rounds R] "
                   "[--deflate] [--label NAME]\n",
                   argv[0]);
      std::exit(2);
    }
  }
  if (!o.port || !o.server_pid || o.subs <= 0 || o.rounds <= 0) {
    std::fprintf(stderr, "error: --port and --server-pid are required\n");
    std::exit(2);
  }
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  const Options o = parse(argc, argv);
  const int ep = ::epoll_create1(EPOLL_CLOEXEC);
  if (ep < 0) die("epoll_create1");
  std::vector<Sock> socks(static_cast<std::size_t>(o.subs) + 1);  // [subs] is the control socket
  std::vector<char> buf(1 << 16);

  // Reads whatever is ready (up to `timeout_ms`); returns false on a closed socket.
  std::vector<epoll_event> events(1024);
  auto poll_once = [&](int timeout_ms) {
    const int n = ::epoll_wait(ep, events.data(), static_cast<int>(events.size()), timeout_ms);
    for (int i = 0; i < n; ++i) {
      Sock& s = socks[events[static_cast<std::size_t>(i)].data.u32];
      for (;;) {
        const ssize_t r = ::recv(s.fd, buf.data(), buf.size(), 0);
        if (r > 0) {
          consume(s, buf.data(), static_cast<std::size_t>(r));
          if (static_cast<std::size_t>(r) < buf.size()) break;
          continue;
        }
        if (r < 0 && (errno == EAGAIN || errno == EINTR)) break;
        std::fprintf(stderr, "error: the server closed a connection\n");
        std::exit(1);
      }
    }
  };

  // Connect and upgrade, a bounded number of handshakes at a time.
  const std::string sub_req = request("/sub", o.deflate);
  const auto t_connect = Clock::now();
  std::size_t started = 0, opened = 0;
  while (opened < socks.size()) {
    while (started < socks.size() && started - opened < 256) {
      Sock& s = socks[started];
      s.fd = connect_to(o.port);
      epoll_event ev{};
      ev.events = EPOLLIN;
      ev.data.u32 = static_cast<std::uint32_t>(started);
      if (::epoll_ctl(ep, EPOLL_CTL_ADD, s.fd, &ev) < 0) die("epoll_ctl");
      // The request waits in the socket buffer until the connection is made.
      const std::string& req =
          started == static_cast<std::size_t>(o.subs) ? request("/ctl", false) : sub_req;
      for (;;) {
        const ssize_t w = ::send(s.fd, req.data(), req.size(), MSG_NOSIGNAL);
        if (w == static_cast<ssize_t>(req.size())) break;
        if (w < 0 && errno != EAGAIN && errno != ENOTCONN && errno != EINPROGRESS) die("send");
        poll_once(1);
      }
      ++started;
    }
    poll_once(10);
    opened = 0;
    for (std::size_t i = 0; i < started; ++i)
      opened += socks[i].open;
    if (Clock::now() - t_connect > std::chrono::seconds(60)) {
      std::fprintf(stderr, "error: only %zu of %zu connections upgraded in 60 s\n", opened,
                   socks.size());
      return 1;
    }
  }
  std::fprintf(stderr, "%zu connections upgraded in %.1f s\n", opened,
               std::chrono::duration<double>(Clock::now() - t_connect).count());

  const std::string pub = text_frame("pub " + std::to_string(o.size));
  std::vector<double> wall_ms, cpu_ns_per_msg;
  std::uint64_t ticks_before = 0;
  const int warmup = 2;
  for (int round = 1; round <= warmup + o.rounds; ++round) {
    if (round == warmup + 1) ticks_before = server_cpu_ticks(o.server_pid);
    const std::uint64_t cpu0 = server_cpu_ns(o.server_pid);
    const auto t0 = Clock::now();
    send_all(socks.back().fd, pub);
    std::size_t done = 0;
    while (done < static_cast<std::size_t>(o.subs)) {
      poll_once(100);
      done = 0;
      for (int i = 0; i < o.subs; ++i)
        done += socks[static_cast<std::size_t>(i)].frames >= round;
      if (Clock::now() - t0 > std::chrono::seconds(30)) {
        std::fprintf(stderr, "error: round %d: only %zu of %d subscribers got the message\n", round,
                     done, o.subs);
        return 1;
      }
    }
    const auto t1 = Clock::now();
    // The server has written its last byte by now; let its loop settle.
    const std::uint64_t cpu1 = server_cpu_ns(o.server_pid);
    const double ms = std::chrono::duration<double, std::milli>(t1 - t0).count();
    const double per = static_cast<double>(cpu1 - cpu0) / o.subs;
    if (round > warmup) {
      wall_ms.push_back(ms);
      cpu_ns_per_msg.push_back(per);
    }
    std::printf("ROUND %s round=%d warmup=%d wall_ms=%.3f cpu_ns=%.0f\n", o.label.c_str(), round,
                round <= warmup ? 1 : 0, ms, per);
  }
  const std::uint64_t ticks = server_cpu_ticks(o.server_pid) - ticks_before;
  const double tick_ns = 1e9 / static_cast<double>(::sysconf(_SC_CLK_TCK));
  const double stat_ns =
      static_cast<double>(ticks) * tick_ns / (static_cast<double>(o.subs) * o.rounds);
  std::printf(
      "RESULT %s subs=%d size=%zu deflate=%d rounds=%d wall_ms_median=%.2f wall_ms_min=%.2f "
      "wall_ms_max=%.2f cpu_ns_median=%.0f cpu_ns_min=%.0f cpu_ns_max=%.0f stat_cpu_ns=%.0f\n",
      o.label.c_str(), o.subs, o.size, o.deflate ? 1 : 0, o.rounds, percentile(wall_ms, 0.5),
      percentile(wall_ms, 0), percentile(wall_ms, 1), percentile(cpu_ns_per_msg, 0.5),
      percentile(cpu_ns_per_msg, 0), percentile(cpu_ns_per_msg, 1), stat_ns);
  for (Sock& s : socks)
    ::close(s.fd);
  ::close(ep);
  return 0;
}
