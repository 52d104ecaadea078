// weft-loadgen: a small, self-contained echo load generator.
//
// Single thread, plain epoll (level-triggered), no dependency on the weft
// library. Every connection keeps `--depth` messages in flight; each echoed
// byte is checked against the pattern it was sent with, and the round-trip
// latency of every message goes into a log-linear histogram.
//
// Load mode (default):
//   weft-loadgen --port N [--host 127.0.0.1 | --unix PATH] --conns N
//                --size BYTES --depth N --duration S --warmup S
//                [--server-pid PID]
//   Prints one machine-readable result line:
//     msgs=... secs=... msgs_per_sec=... p50_us=... p99_us=... ... errors=0
//   With --server-pid, the server's CPU time is sampled exactly at the start
//   and at the end of the measured window and reported as server_cpu_us=...
//
// Idle mode (for memory measurements):
//   weft-loadgen --port N --idle-conns N --hold S
//   Opens N connections, echoes one 16-byte message on each, verifies it,
//   prints "idle-ready ..." and keeps the connections open for S seconds.
//
// WebSocket (both modes): --ws PATH
//   Every connection first completes an RFC 6455 opening handshake for PATH
//   (random key, 101 and Sec-WebSocket-Accept checked, no extensions
//   offered), then each message goes out as one masked binary frame of
//   --size payload bytes; the echoed frames must be unmasked binary messages
//   (any fragmentation) whose payload is byte-for-byte the one sent.

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cerrno>
#include <csignal>
#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "ws_client.hpp"

namespace {

// ---------------------------------------------------------------- utilities

[[noreturn]] __attribute__((format(printf, 1, 2))) void die(const char* fmt, ...) {
  std::fputs("weft-loadgen: error: ", stderr);
  va_list ap;
  va_start(ap, fmt);
  std::vfprintf(stderr, fmt, ap);
  va_end(ap);
  std::fputc('\n', stderr);
  std::exit(1);
}

[[noreturn]] void die_errno(const char* what) {
  die("%s: %s", what, std::strerror(errno));
}

uint64_t now_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000u + static_cast<uint64_t>(ts.tv_nsec);
}

uint64_t rusage_cpu_ns() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  auto tv_ns = [](timeval tv) {
    return static_cast<uint64_t>(tv.tv_sec) * 1'000'000'000u +
           static_cast<uint64_t>(tv.tv_usec) * 1000u;
  };
  return tv_ns(ru.ru_utime) + tv_ns(ru.ru_stime);
}

// ------------------------------------------------------------------ options

struct Options {
  std::string host = "127.0.0.1";
  int port = 0;
  std::string unix_path;
  int conns = 50;
  size_t size = 64;
  int depth = 1;
  double duration = 5.0;
  double warmup = 1.0;
  pid_t server_pid = 0;
  int idle_conns = 0;
  double hold = 0.0;
  std::string ws_path;  // non-empty: WebSocket mode
};

[[noreturn]] void usage() {
  std::fputs(
      "usage: weft-loadgen [--host ADDR] --port N | --unix PATH\n"
      "                    [--conns N] [--size BYTES] [--depth N]\n"
      "                    [--duration S] [--warmup S] [--server-pid PID] [--ws PATH]\n"
      "       weft-loadgen [--host ADDR] --port N | --unix PATH --idle-conns N --hold S\n"
      "                    [--ws PATH]\n",
      stderr);
  std::exit(2);
}

Options parse_options(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "-h" || arg == "--help") usage();
    if (i + 1 >= argc) die("missing value for %s", argv[i]);
    const char* val = argv[++i];
    char* end = nullptr;
    auto as_long = [&](long lo, long hi) {
      errno = 0;
      long v = std::strtol(val, &end, 10);
      if (errno != 0 || *end != '\0' || v < lo || v > hi)
        die("bad value for %s: %s", argv[i - 1], val);
      return v;
    };
    auto as_double = [&] {
      double v = std::strtod(val, &end);
      if (*end != '\0' || !(v >= 0.0)) die("bad value for %s: %s", argv[i - 1], val);
      return v;
    };
    if (arg == "--host")
      o.host = val;
    else if (arg == "--port")
      o.port = static_cast<int>(as_long(1, 65535));
    else if (arg == "--unix")
      o.unix_path = val;
    else if (arg == "--conns")
      o.conns = static_cast<int>(as_long(1, 1'000'000));
    else if (arg == "--size")
      o.size = static_cast<size_t>(as_long(1, 64L << 20));
    else if (arg == "--depth")
      o.depth = static_cast<int>(as_long(1, 1'000'000));
    else if (arg == "--duration")
      o.duration = as_double();
    else if (arg == "--warmup")
      o.warmup = as_double();
    else if (arg == "--server-pid")
      o.server_pid = static_cast<pid_t>(as_long(1, 1L << 30));
    else if (arg == "--idle-conns")
      o.idle_conns = static_cast<int>(as_long(1, 1'000'000));
    else if (arg == "--hold")
      o.hold = as_double();
    else if (arg == "--ws")
      o.ws_path = val;
    else
      die("unknown option %s (try --help)", argv[i - 1]);
  }
  if (o.port == 0 && o.unix_path.empty()) die("need --port or --unix (try --help)");
  if (o.idle_conns == 0 && o.duration <= 0.0) die("--duration must be > 0");
  if (!o.ws_path.empty() && o.ws_path.front() != '/') die("--ws: the path must start with /");
  return o;
}

// ------------------------------------------------------------------ sockets

int connect_one(const Options& o) {
  int fd = -1;
  if (!o.unix_path.empty()) {
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    if (o.unix_path.size() >= sizeof(sa.sun_path)) die("unix path too long");
    std::memcpy(sa.sun_path, o.unix_path.c_str(), o.unix_path.size() + 1);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) die_errno("socket");
    if (connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) die_errno("connect");
  } else {
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(static_cast<uint16_t>(o.port));
    if (inet_pton(AF_INET, o.host.c_str(), &sa.sin_addr) != 1)
      die("--host must be an IPv4 address: %s", o.host.c_str());
    fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) die_errno("socket");
    if (connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) die_errno("connect");
    int one = 1;
    if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0) die_errno("TCP_NODELAY");
  }
  return fd;
}

// The WebSocket opening handshake on a blocking socket; dies if it fails.
void ws_handshake(int fd, const Options& o) {
  const std::string key = wsclient::make_key();
  const std::string req = wsclient::upgrade_request(o.host, o.port, o.ws_path, key);
  for (size_t off = 0; off < req.size();) {
    ssize_t n = send(fd, req.data() + off, req.size() - off, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) die_errno("send (handshake)");
    off += static_cast<size_t>(n);
  }
  // The server sends nothing after the 101 before we do: read until the blank line.
  std::string head;
  char buf[1024];
  size_t end = std::string::npos;
  while ((end = head.find("\r\n\r\n")) == std::string::npos) {
    if (head.size() > 16 * 1024) die("handshake: response head over 16 KiB");
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) die_errno("recv (handshake)");
    if (n == 0) die("handshake: connection closed by the server after %zu bytes", head.size());
    head.append(buf, static_cast<size_t>(n));
  }
  std::string err =
      wsclient::check_upgrade_response(std::string_view(head).substr(0, end + 4), key);
  if (!err.empty()) die("handshake: %s", err.c_str());
  if (head.size() != end + 4) die("handshake: unexpected bytes after the 101 response");
}

// Cheap mask keys (xorshift32): the server's unmasking cost does not depend
// on how unpredictable they are.
uint32_t next_mask(uint32_t& state) {
  state ^= state << 13;
  state ^= state >> 17;
  state ^= state << 5;
  return state;
}

void set_nonblocking(int fd) {
  int flags = fcntl(fd, F_GETFL);
  if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) die_errno("fcntl(O_NONBLOCK)");
}

// ------------------------------------------------------------------ pattern
//
// Message (conn, seq) = 16-byte header [seq:8][conn:4][hash:4] followed by a
// window of a fixed pseudo-random pattern starting at a hash-dependent shift.
// Writing a message is two memcpy()s, verifying a chunk is a memcmp(); a
// message that is lost, duplicated, reordered or sent to the wrong connection
// fails on its header.

constexpr size_t kHeader = 16;
constexpr size_t kShifts = 4096;

uint64_t mix64(uint64_t x) {  // splitmix64 finalizer
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return x;
}

struct MsgKey {
  std::array<uint8_t, kHeader> header;
  size_t shift;
};

MsgKey make_key(uint32_t conn, uint64_t seq) {
  uint64_t h = mix64((static_cast<uint64_t>(conn) << 40) ^ seq ^ 0x5eedULL);
  uint32_t h32 = static_cast<uint32_t>(h);
  MsgKey k{};
  std::memcpy(k.header.data(), &seq, 8);
  std::memcpy(k.header.data() + 8, &conn, 4);
  std::memcpy(k.header.data() + 12, &h32, 4);
  k.shift = static_cast<size_t>(h >> 32) % kShifts;
  return k;
}

class Pattern {
 public:
  explicit Pattern(size_t msg_size) : size_(msg_size), bytes_(msg_size + kShifts) {
    uint64_t x = 0x243f6a8885a308d3ULL;
    for (auto& b : bytes_)
      b = static_cast<uint8_t>(mix64(++x) >> 56);
  }

  void write(uint8_t* dst, const MsgKey& k) const {
    std::memcpy(dst, k.header.data(), std::min(size_, kHeader));
    if (size_ > kHeader)
      std::memcpy(dst + kHeader, bytes_.data() + k.shift + kHeader, size_ - kHeader);
  }

  // Checks bytes [off, off + n) of message k against src.
  bool verify(const uint8_t* src, size_t off, size_t n, const MsgKey& k) const {
    size_t i = 0;
    for (; i < n && off + i < kHeader; ++i)
      if (src[i] != k.header[off + i]) return false;
    return i == n || std::memcmp(src + i, bytes_.data() + k.shift + off + i, n - i) == 0;
  }

  // Offset within the message of the first wrong byte (slow path, errors only).
  size_t first_mismatch(const uint8_t* src, size_t off, size_t n, const MsgKey& k) const {
    for (size_t i = 0; i < n; ++i)
      if (!verify(src + i, off + i, 1, k)) return off + i;
    return off + n;
  }

 private:
  size_t size_;
  std::vector<uint8_t> bytes_;
};

// ---------------------------------------------------------------- histogram
//
// Log-linear: exact below 64 ns, then 32 sub-buckets per power of two
// (<= ~3% relative error). Fixed size, no allocation while recording.

class Histogram {
 public:
  void record(uint64_t v) {
    ++counts_[index(v)];
    ++total_;
    max_ = std::max(max_, v);
  }
  void reset() { *this = Histogram{}; }
  uint64_t count() const { return total_; }
  uint64_t max() const { return max_; }

  uint64_t percentile(double q) const {
    if (total_ == 0) return 0;
    auto rank = static_cast<uint64_t>(q * static_cast<double>(total_));
    rank = std::clamp<uint64_t>(rank, 1, total_);
    uint64_t seen = 0;
    for (size_t i = 0; i < counts_.size(); ++i) {
      seen += counts_[i];
      if (seen >= rank) return std::min(midpoint(i), max_);
    }
    return max_;
  }

 private:
  static constexpr size_t kLinear = 64;
  static constexpr size_t kSub = 32;
  static constexpr size_t kBuckets = kLinear + (64 - 6) * kSub;

  static size_t index(uint64_t v) {
    if (v < kLinear) return static_cast<size_t>(v);
    auto msb = static_cast<unsigned>(std::bit_width(v) - 1);  // >= 6
    unsigned shift = msb - 5;
    return kLinear + (msb - 6) * kSub + static_cast<size_t>((v >> shift) - kSub);
  }
  static uint64_t midpoint(size_t i) {
    if (i < kLinear) return i;
    size_t msb = (i - kLinear) / kSub + 6;
    uint64_t m = (i - kLinear) % kSub + kSub;
    unsigned shift = static_cast<unsigned>(msb - 5);
    return (m << shift) + (uint64_t{1} << shift) / 2;
  }

  std::array<uint64_t, kBuckets> counts_{};
  uint64_t total_ = 0;
  uint64_t max_ = 0;
};

// ------------------------------------------------------- server CPU sampling

// Sum of sum_exec_runtime (ns) over all threads: /proc/PID/task/*/schedstat.
std::optional<uint64_t> server_exec_ns(pid_t pid) {
  std::string dir = "/proc/" + std::to_string(pid) + "/task";
  DIR* d = opendir(dir.c_str());
  if (!d) return std::nullopt;
  uint64_t sum = 0;
  bool any = false;
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] == '.') continue;
    std::string path = dir + "/" + e->d_name + "/schedstat";
    if (FILE* f = std::fopen(path.c_str(), "r")) {
      unsigned long long ns = 0;
      if (std::fscanf(f, "%llu", &ns) == 1) {
        sum += ns;
        any = true;
      }
      std::fclose(f);
    }
  }
  closedir(d);
  if (!any) return std::nullopt;
  return sum;
}

// utime + stime (clock ticks) from /proc/PID/stat, fields 14 and 15.
std::optional<uint64_t> server_stat_ticks(pid_t pid) {
  std::string path = "/proc/" + std::to_string(pid) + "/stat";
  FILE* f = std::fopen(path.c_str(), "r");
  if (!f) return std::nullopt;
  char buf[1024];
  size_t n = std::fread(buf, 1, sizeof buf - 1, f);
  std::fclose(f);
  buf[n] = '\0';
  const char* p = std::strrchr(buf, ')');  // comm may contain spaces
  if (!p) return std::nullopt;
  unsigned long long utime = 0, stime = 0;
  // After ")": field 3 (state) ... field 14 (utime), field 15 (stime).
  if (std::sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime,
                  &stime) != 2)
    return std::nullopt;
  return utime + stime;
}

// Busy clock ticks of the whole machine (all CPUs) from the first line of
// /proc/stat: user + nice + system + irq + softirq + steal.
std::optional<uint64_t> machine_busy_ticks() {
  FILE* f = std::fopen("/proc/stat", "r");
  if (!f) return std::nullopt;
  unsigned long long v[8] = {};
  int n = std::fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3],
                      &v[4], &v[5], &v[6], &v[7]);
  std::fclose(f);
  if (n != 8) return std::nullopt;
  return v[0] + v[1] + v[2] + v[5] + v[6] + v[7];
}

struct CpuSample {
  std::optional<uint64_t> exec_ns;  // server, schedstat
  std::optional<uint64_t> ticks;    // server, /proc/PID/stat
  std::optional<uint64_t> machine;  // whole machine, /proc/stat
  uint64_t self_ns = 0;             // this process, getrusage
};

CpuSample sample_cpu(pid_t server) {
  CpuSample s;
  if (server > 0) {
    s.exec_ns = server_exec_ns(server);
    s.ticks = server_stat_ticks(server);
    s.machine = machine_busy_ticks();
  }
  s.self_ns = rusage_cpu_ns();
  return s;
}

// --------------------------------------------------------------- load mode

struct Conn {
  int fd = -1;
  uint32_t id = 0;
  uint64_t next_send = 0;  // sequence number of the next message to send
  uint64_t next_recv = 0;  // sequence number of the message being received
  size_t recv_off = 0;     // bytes of message `next_recv` already verified
  MsgKey recv_key{};
  std::unique_ptr<uint64_t[]> sent_at;  // ring of `depth` send timestamps
  std::unique_ptr<uint8_t[]> out;       // depth * wire message bytes, never grows
  size_t out_begin = 0, out_end = 0;    // unsent bytes are [out_begin, out_end)
  bool want_out = false;                // EPOLLOUT registered
  uint32_t mask_state = 0;              // WebSocket: mask key generator
  wsclient::FrameReader frames;         // WebSocket: the echoed frames
};

class LoadGen {
 public:
  explicit LoadGen(const Options& o)
      : o_(o),
        pattern_(o.size),
        depth_(static_cast<uint64_t>(o.depth)),
        ws_(!o.ws_path.empty()),
        wire_size_(o.size + (ws_ ? wsclient::client_header_size(o.size) : 0)),
        rbuf_(new uint8_t[kReadBuf]) {}

  int run() {
    ep_ = epoll_create1(EPOLL_CLOEXEC);
    if (ep_ < 0) die_errno("epoll_create1");
    conns_.resize(static_cast<size_t>(o_.conns));
    for (size_t i = 0; i < conns_.size(); ++i) {
      Conn& c = conns_[i];
      c.id = static_cast<uint32_t>(i);
      c.fd = connect_one(o_);
      if (ws_) ws_handshake(c.fd, o_);
      set_nonblocking(c.fd);
      c.sent_at.reset(new uint64_t[depth_]);
      c.out.reset(new uint8_t[depth_ * wire_size_]);
      c.mask_state = 0x9e3779b9u ^ (c.id * 0x85ebca6bu) ^ static_cast<uint32_t>(now_ns());
      if (c.mask_state == 0) c.mask_state = 1;
      epoll_event ev{};
      ev.events = EPOLLIN;
      ev.data.u32 = c.id;
      if (epoll_ctl(ep_, EPOLL_CTL_ADD, c.fd, &ev) != 0) die_errno("epoll_ctl");
    }

    const uint64_t t0 = now_ns();
    const uint64_t warmup_end = t0 + static_cast<uint64_t>(o_.warmup * 1e9);
    const auto window = static_cast<uint64_t>(o_.duration * 1e9);
    for (Conn& c : conns_) {
      for (uint64_t i = 0; i < depth_; ++i)
        enqueue(c, t0);
      flush(c);
    }

    uint64_t window_start = 0, window_end = 0;
    CpuSample cpu_start, cpu_end;
    std::array<epoll_event, 256> events{};
    for (;;) {
      uint64_t now = now_ns();
      if (!measuring_ && now >= warmup_end) {
        cpu_start = sample_cpu(o_.server_pid);
        window_start = now_ns();
        measuring_ = true;
        msgs_ = 0;
        hist_.reset();
      }
      if (measuring_ && now >= window_start + window) {
        window_end = now_ns();
        cpu_end = sample_cpu(o_.server_pid);
        break;
      }
      uint64_t deadline = measuring_ ? window_start + window : warmup_end;
      int timeout_ms = static_cast<int>((deadline - now) / 1'000'000 + 1);
      int n = epoll_wait(ep_, events.data(), static_cast<int>(events.size()), timeout_ms);
      if (n < 0) {
        if (errno == EINTR) continue;
        die_errno("epoll_wait");
      }
      for (int i = 0; i < n; ++i) {
        Conn& c = conns_[events[static_cast<size_t>(i)].data.u32];
        uint32_t evs = events[static_cast<size_t>(i)].events;
        if (evs & EPOLLIN)
          on_readable(c);
        else if (evs & (EPOLLERR | EPOLLHUP))
          die("conn %u: socket error/hangup", c.id);
        if ((evs & EPOLLOUT) && c.want_out) flush(c);
      }
    }

    report(window_end - window_start, cpu_start, cpu_end);
    for (Conn& c : conns_)
      close(c.fd);
    close(ep_);
    return 0;
  }

 private:
  static constexpr size_t kReadBuf = 256 * 1024;

  void enqueue(Conn& c, uint64_t now) {
    if (c.out_begin == c.out_end) {
      c.out_begin = c.out_end = 0;
    } else if (c.out_end + wire_size_ > depth_ * wire_size_) {  // compact
      std::memmove(c.out.get(), c.out.get() + c.out_begin, c.out_end - c.out_begin);
      c.out_end -= c.out_begin;
      c.out_begin = 0;
    }
    uint8_t* dst = c.out.get() + c.out_end;
    if (ws_) {
      const uint32_t mask = next_mask(c.mask_state);
      dst += wsclient::write_client_header(dst, wsclient::kOpBinary, o_.size, mask);
      pattern_.write(dst, make_key(c.id, c.next_send));
      wsclient::apply_mask(dst, o_.size, mask);
    } else {
      pattern_.write(dst, make_key(c.id, c.next_send));
    }
    c.out_end += wire_size_;
    c.sent_at[c.next_send % depth_] = now;
    ++c.next_send;
  }

  void flush(Conn& c) {
    while (c.out_begin < c.out_end) {
      ssize_t n = send(c.fd, c.out.get() + c.out_begin, c.out_end - c.out_begin, MSG_NOSIGNAL);
      if (n > 0) {
        c.out_begin += static_cast<size_t>(n);
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
      die("conn %u: send: %s", c.id, std::strerror(errno));
    }
    bool need_out = c.out_begin < c.out_end;
    if (need_out != c.want_out) {
      epoll_event ev{};
      ev.events = EPOLLIN | (need_out ? EPOLLOUT : 0u);
      ev.data.u32 = c.id;
      if (epoll_ctl(ep_, EPOLL_CTL_MOD, c.fd, &ev) != 0) die_errno("epoll_ctl(MOD)");
      c.want_out = need_out;
    }
  }

  void on_readable(Conn& c) {
    ssize_t n = read(c.fd, rbuf_.get(), kReadBuf);
    if (n == 0)
      die("conn %u: closed by server after %llu messages", c.id,
          static_cast<unsigned long long>(c.next_recv));
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) return;
      die("conn %u: read: %s", c.id, std::strerror(errno));
    }
    const uint64_t now = now_ns();
    const uint8_t* p = rbuf_.get();
    size_t left = static_cast<size_t>(n);
    bool sent = false;
    if (ws_) {  // payload runs as the frames say; a message ends with its FIN frame
      std::string err = c.frames.consume(
          p, left,
          [&](const uint8_t* data, size_t len) {
            if (len > o_.size - c.recv_off)
              die("conn %u: echoed message %llu is longer than the %zu bytes sent", c.id,
                  static_cast<unsigned long long>(c.next_recv), o_.size);
            verify_payload(c, data, len);
          },
          [&] {
            if (c.recv_off != o_.size)
              die("conn %u: echoed message %llu has %zu bytes, %zu were sent", c.id,
                  static_cast<unsigned long long>(c.next_recv), c.recv_off, o_.size);
            complete_message(c, now);
            sent = true;
          });
      if (!err.empty()) die("conn %u: %s", c.id, err.c_str());
    } else {  // a plain byte stream: messages are every --size bytes
      while (left > 0) {
        size_t take = std::min(o_.size - c.recv_off, left);
        verify_payload(c, p, take);
        p += take;
        left -= take;
        if (c.recv_off == o_.size) {
          complete_message(c, now);
          sent = true;
        }
      }
    }
    if (sent) flush(c);  // one send() for everything completed by this read
  }

  // Checks the next `take` echoed bytes of the message being received.
  void verify_payload(Conn& c, const uint8_t* p, size_t take) {
    if (c.recv_off == 0) {
      if (c.next_recv >= c.next_send) die("conn %u: received bytes that were never sent", c.id);
      c.recv_key = make_key(c.id, c.next_recv);
    }
    if (!pattern_.verify(p, c.recv_off, take, c.recv_key))
      die("conn %u: echoed data mismatch in message %llu at byte %zu", c.id,
          static_cast<unsigned long long>(c.next_recv),
          pattern_.first_mismatch(p, c.recv_off, take, c.recv_key));
    bytes_verified_ += take;
    c.recv_off += take;
  }

  // The message being received is complete: record it, send the next one.
  void complete_message(Conn& c, uint64_t now) {
    if (measuring_) {
      hist_.record(now - c.sent_at[c.next_recv % depth_]);
      ++msgs_;
    }
    c.recv_off = 0;
    ++c.next_recv;
    enqueue(c, now);
  }

  void report(uint64_t window_ns, const CpuSample& a, const CpuSample& b) const {
    double secs = static_cast<double>(window_ns) / 1e9;
    double rate = secs > 0 ? static_cast<double>(msgs_) / secs : 0.0;
    auto us = [](uint64_t ns) { return static_cast<double>(ns) / 1000.0; };
    double self_pct =
        100.0 * static_cast<double>(b.self_ns - a.self_ns) / static_cast<double>(window_ns);
    std::printf(
        "# %s%d conns x depth %d x %zu B: %.0f msgs/s, p50 %.1f us, p99 %.1f us, loadgen cpu "
        "%.0f%%\n",
        ws_ ? "WebSocket, " : "", o_.conns, o_.depth, o_.size, rate, us(hist_.percentile(0.5)),
        us(hist_.percentile(0.99)), self_pct);
    std::printf(
        "msgs=%llu secs=%.3f msgs_per_sec=%.0f p50_us=%.1f p99_us=%.1f p999_us=%.1f max_us=%.1f "
        "bytes_verified=%llu errors=0 loadgen_cpu_pct=%.1f",
        static_cast<unsigned long long>(msgs_), secs, rate, us(hist_.percentile(0.5)),
        us(hist_.percentile(0.99)), us(hist_.percentile(0.999)), us(hist_.max()),
        static_cast<unsigned long long>(bytes_verified_), self_pct);
    if (o_.server_pid > 0) {
      if (a.ticks && b.ticks) {
        double tick_us = 1e6 / static_cast<double>(sysconf(_SC_CLK_TCK));
        std::printf(" server_stat_cpu_us=%.0f", static_cast<double>(*b.ticks - *a.ticks) * tick_us);
      }
      double cpu_ns = -1;
      if (a.exec_ns && b.exec_ns) {
        cpu_ns = static_cast<double>(*b.exec_ns - *a.exec_ns);
      } else if (a.ticks && b.ticks) {
        cpu_ns = static_cast<double>(*b.ticks - *a.ticks) * 1e9 /
                 static_cast<double>(sysconf(_SC_CLK_TCK));
      }
      if (cpu_ns >= 0) {
        std::printf(" server_cpu_us=%.0f server_cpu_pct=%.1f server_cpu_ns_per_msg=%.0f",
                    cpu_ns / 1000.0, 100.0 * cpu_ns / static_cast<double>(window_ns),
                    msgs_ > 0 ? cpu_ns / static_cast<double>(msgs_) : 0.0);
        // CPU used by anything but the server and us (other processes,
        // steal, unattributed interrupts): a contaminated run shows here.
        if (a.machine && b.machine) {
          double machine_ns = static_cast<double>(*b.machine - *a.machine) * 1e9 /
                              static_cast<double>(sysconf(_SC_CLK_TCK));
          double other_ns = machine_ns - cpu_ns - static_cast<double>(b.self_ns - a.self_ns);
          std::printf(" other_cpu_pct=%.1f",
                      std::max(0.0, 100.0 * other_ns / static_cast<double>(window_ns)));
        }
      } else {
        std::printf(" server_cpu_us=NA");
      }
    }
    std::printf("\n");
    std::fflush(stdout);
  }

  const Options& o_;
  Pattern pattern_;
  uint64_t depth_;
  bool ws_;
  size_t wire_size_;  // bytes one message takes on the wire, client to server
  std::unique_ptr<uint8_t[]> rbuf_;
  int ep_ = -1;
  std::vector<Conn> conns_;
  Histogram hist_;
  bool measuring_ = false;
  uint64_t msgs_ = 0;
  uint64_t bytes_verified_ = 0;
};

// --------------------------------------------------------------- idle mode

// Reads one echoed WebSocket message of `msg.size()` bytes and checks it
// against message (i, 0); dies on anything else.
void read_idle_ws_echo(int fd, size_t i, const Pattern& pattern, std::span<uint8_t> msg) {
  wsclient::FrameReader frames;
  size_t got = 0;
  bool done = false;
  const MsgKey k = make_key(static_cast<uint32_t>(i), 0);
  std::array<uint8_t, 64> buf{};
  while (!done) {
    ssize_t n = read(fd, buf.data(), buf.size());
    if (n == 0) die("idle conn %zu: closed by server", i);
    if (n < 0) {
      if (errno == EINTR) continue;
      die_errno("read");
    }
    std::string err = frames.consume(
        buf.data(), static_cast<size_t>(n),
        [&](const uint8_t* data, size_t len) {
          if (done || len > msg.size() - got) die("idle conn %zu: echoed message too long", i);
          if (!pattern.verify(data, got, len, k)) die("idle conn %zu: echoed data mismatch", i);
          got += len;
        },
        [&] {
          if (done || got != msg.size()) die("idle conn %zu: echoed message too short", i);
          done = true;
        });
    if (!err.empty()) die("idle conn %zu: %s", i, err.c_str());
  }
}

int run_idle(const Options& o) {
  constexpr size_t kSize = 16;
  static_assert(kSize == kHeader, "an idle message is exactly one header");
  const bool ws = !o.ws_path.empty();
  Pattern pattern(kSize);
  std::vector<int> fds;
  fds.reserve(static_cast<size_t>(o.idle_conns));
  std::array<uint8_t, kSize> msg{};
  std::array<uint8_t, wsclient::client_header_size(kSize) + kSize> frame{};
  uint32_t mask_state = 0x2545f491u;
  for (int i = 0; i < o.idle_conns; ++i) {  // blocking sockets: connect, send
    int fd = connect_one(o);
    std::memcpy(msg.data(), make_key(static_cast<uint32_t>(i), 0).header.data(), kSize);
    if (ws) {
      ws_handshake(fd, o);
      const uint32_t mask = next_mask(mask_state);
      const size_t h =
          wsclient::write_client_header(frame.data(), wsclient::kOpBinary, kSize, mask);
      std::memcpy(frame.data() + h, msg.data(), kSize);
      wsclient::apply_mask(frame.data() + h, kSize, mask);
      if (send(fd, frame.data(), frame.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(frame.size()))
        die_errno("send");
    } else if (send(fd, msg.data(), kSize, MSG_NOSIGNAL) != static_cast<ssize_t>(kSize)) {
      die_errno("send");
    }
    fds.push_back(fd);
  }
  uint64_t verified = 0;
  for (size_t i = 0; i < fds.size(); ++i) {  // then collect every echo
    if (ws) {
      read_idle_ws_echo(fds[i], i, pattern, msg);
      verified += kSize;
      continue;
    }
    MsgKey k = make_key(static_cast<uint32_t>(i), 0);
    size_t got = 0;
    while (got < kSize) {
      ssize_t n = read(fds[i], msg.data() + got, kSize - got);
      if (n == 0) die("idle conn %zu: closed by server", i);
      if (n < 0) {
        if (errno == EINTR) continue;
        die_errno("read");
      }
      if (!pattern.verify(msg.data() + got, got, static_cast<size_t>(n), k))
        die("idle conn %zu: echoed data mismatch", i);
      got += static_cast<size_t>(n);
    }
    verified += got;
  }
  std::printf("idle-ready conns=%zu bytes_verified=%llu errors=0\n", fds.size(),
              static_cast<unsigned long long>(verified));
  std::fflush(stdout);
  timespec ts{};
  ts.tv_sec = static_cast<time_t>(o.hold);
  ts.tv_nsec = static_cast<long>((o.hold - static_cast<double>(ts.tv_sec)) * 1e9);
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
  for (int fd : fds)
    close(fd);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);
  Options o = parse_options(argc, argv);
  if (o.idle_conns > 0) return run_idle(o);
  LoadGen gen(o);
  return gen.run();
}
