// Small, self-contained helpers for server_test: RAII descriptors, loopback
// clients for tcp/tcp6/unix/udp URLs with timed receives, a started-server
// guard, child-process helpers and a capturing log sink. Header-only, so
// server_test depends on nothing but weft and GoogleTest.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <functional>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "weft/log.hpp"
#include "weft/server.hpp"

namespace weft::srvtest {

using namespace std::chrono_literals;
using Ms = std::chrono::milliseconds;
using SteadyClock = std::chrono::steady_clock;

/// Polls `pred` until it holds or `timeout` passes; returns its last value.
inline bool wait_until(const std::function<bool()>& pred, Ms timeout = 5000ms) {
  const auto deadline = SteadyClock::now() + timeout;
  for (;;) {
    if (pred()) return true;
    if (SteadyClock::now() > deadline) return pred();
    std::this_thread::sleep_for(1ms);
  }
}

/// An owned descriptor.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) noexcept : fd_(fd) {}
  ~Fd() { reset(); }
  Fd(Fd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  Fd& operator=(Fd&& o) noexcept {
    if (this != &o) {
      reset();
      fd_ = std::exchange(o.fd_, -1);
    }
    return *this;
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;

  int get() const noexcept { return fd_; }
  bool valid() const noexcept { return fd_ >= 0; }
  void reset() noexcept {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
};

/// The parts of a bound URL: scheme, host (no brackets), port, or path.
struct UrlParts {
  std::string scheme;
  std::string host;
  std::uint16_t port = 0;
  std::string path;
};

inline UrlParts split_url(std::string_view url) {
  UrlParts p;
  auto sep = url.find("://");
  if (sep == std::string_view::npos) return p;
  p.scheme = std::string(url.substr(0, sep));
  std::string_view rest = url.substr(sep + 3);
  if (p.scheme == "unix") {
    p.path = std::string(rest);
    return p;
  }
  if (auto q = rest.find('?'); q != std::string_view::npos) rest = rest.substr(0, q);
  std::string_view port_text;
  if (!rest.empty() && rest.front() == '[') {
    auto close = rest.find(']');
    p.host = std::string(rest.substr(1, close - 1));
    if (close + 1 < rest.size() && rest[close + 1] == ':') port_text = rest.substr(close + 2);
  } else {
    auto colon = rest.rfind(':');
    p.host = std::string(rest.substr(0, colon));
    if (colon != std::string_view::npos) port_text = rest.substr(colon + 1);
  }
  p.port = static_cast<std::uint16_t>(std::stoul(std::string(port_text.empty() ? "0" : port_text)));
  return p;
}

inline bool fill_inet(const std::string& host, std::uint16_t port, sockaddr_storage& ss,
                      socklen_t& len) {
  ss = {};
  if (host.find(':') != std::string::npos) {
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&ss);
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons(port);
    if (inet_pton(AF_INET6, host.c_str(), &in6->sin6_addr) != 1) return false;
    len = sizeof(sockaddr_in6);
  } else {
    auto* in4 = reinterpret_cast<sockaddr_in*>(&ss);
    in4->sin_family = AF_INET;
    in4->sin_port = htons(port);
    if (inet_pton(AF_INET, host.empty() ? "127.0.0.1" : host.c_str(), &in4->sin_addr) != 1) {
      return false;
    }
    len = sizeof(sockaddr_in);
  }
  return true;
}

/// Can this host bind a socket to ::1?
inline bool ipv6_loopback_available() {
  Fd fd(::socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return false;
  sockaddr_in6 a{};
  a.sin6_family = AF_INET6;
  a.sin6_addr = in6addr_loopback;
  return ::bind(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
}

/// Can this host bind a socket to `ip4` (e.g. "127.0.0.2")?
inline bool ipv4_bindable(const char* ip4) {
  Fd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return false;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  if (inet_pton(AF_INET, ip4, &a.sin_addr) != 1) return false;
  return ::bind(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
}

/// A connected, blocking stream client with timed receives.
class Client {
 public:
  Client() = default;
  explicit Client(Fd fd) noexcept : fd_(std::move(fd)) {}

  /// Connects to a bound stream URL (tcp://, tcp4://, tcp6://, unix://).
  /// `bind_ip` (IPv4 only) picks the client's source address. Invalid on failure.
  static Client connect_url(const std::string& url, const char* bind_ip = nullptr) {
    UrlParts p = split_url(url);
    if (p.scheme == "unix") return connect_unix(p.path);
    sockaddr_storage ss{};
    socklen_t len = 0;
    if (!fill_inet(p.host, p.port, ss, len)) return {};
    Fd fd(::socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd.valid()) return {};
    if (bind_ip != nullptr) {
      sockaddr_in src{};
      src.sin_family = AF_INET;
      inet_pton(AF_INET, bind_ip, &src.sin_addr);
      if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&src), sizeof src) < 0) return {};
    }
    if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&ss), len) < 0) return {};
    int one = 1;
    ::setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return Client(std::move(fd));
  }

  static Client connect_unix(const std::string& path) {
    Fd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd.valid()) return {};
    sockaddr_un un{};
    un.sun_family = AF_UNIX;
    if (path.size() >= sizeof un.sun_path) return {};
    std::memcpy(un.sun_path, path.data(), path.size());
    auto len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size() + 1);
    if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&un), len) < 0) return {};
    return Client(std::move(fd));
  }

  bool valid() const noexcept { return fd_.valid(); }
  int fd() const noexcept { return fd_.get(); }
  void close() noexcept { fd_.reset(); }

  bool send_all(std::string_view data) {
    while (!data.empty()) {
      ssize_t n = ::send(fd_.get(), data.data(), data.size(), MSG_NOSIGNAL);
      if (n < 0) {
        if (errno == EINTR) continue;
        return false;
      }
      data.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
  }

  /// Up to `n` bytes; fewer on EOF, error or timeout.
  std::string recv_exact(std::size_t n, Ms timeout = 2000ms) {
    std::string out;
    const auto deadline = SteadyClock::now() + timeout;
    char buf[4096];
    while (out.size() < n) {
      auto left = std::chrono::duration_cast<Ms>(deadline - SteadyClock::now()).count();
      if (left < 0) break;
      pollfd pfd{fd_.get(), POLLIN, 0};
      int r = ::poll(&pfd, 1, static_cast<int>(left));
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) break;
      ssize_t got = ::recv(fd_.get(), buf, std::min(sizeof buf, n - out.size()), 0);
      if (got < 0 && errno == EINTR) continue;
      if (got <= 0) {
        eof_ = true;
        break;
      }
      out.append(buf, static_cast<std::size_t>(got));
    }
    return out;
  }

  /// A line ending in '\n' (without it); empty on timeout/EOF.
  std::string recv_line(Ms timeout = 2000ms) {
    std::string out;
    const auto deadline = SteadyClock::now() + timeout;
    while (SteadyClock::now() < deadline) {
      std::string c = recv_exact(1, std::chrono::duration_cast<Ms>(deadline - SteadyClock::now()));
      if (c.empty()) return {};
      if (c[0] == '\n') return out;
      out += c;
    }
    return {};
  }

  /// Sends `msg` and reads back as many bytes: true if they came back intact.
  bool echo(std::string_view msg, Ms timeout = 2000ms) {
    if (!send_all(msg)) return false;
    return recv_exact(msg.size(), timeout) == msg;
  }

  /// True if nothing at all arrives within `timeout` (and no EOF).
  bool silent_for(Ms timeout) {
    pollfd pfd{fd_.get(), POLLIN, 0};
    return ::poll(&pfd, 1, static_cast<int>(timeout.count())) == 0;
  }

  /// Waits for EOF or an error; true if one came in time.
  bool wait_closed(Ms timeout = 2000ms) {
    const auto deadline = SteadyClock::now() + timeout;
    char buf[4096];
    while (SteadyClock::now() < deadline) {
      auto left = std::chrono::duration_cast<Ms>(deadline - SteadyClock::now()).count();
      pollfd pfd{fd_.get(), POLLIN, 0};
      int r = ::poll(&pfd, 1, static_cast<int>(std::max<long long>(left, 0)));
      if (r <= 0) continue;
      ssize_t got = ::recv(fd_.get(), buf, sizeof buf, 0);
      if (got <= 0) return true;
    }
    return false;
  }

  bool eof() const noexcept { return eof_; }

 private:
  Fd fd_;
  bool eof_ = false;
};

/// A UDP socket bound to 127.0.0.1:0.
class UdpClient {
 public:
  UdpClient() : fd_(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(fd_.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) < 0) fd_.reset();
  }
  bool valid() const noexcept { return fd_.valid(); }

  bool send_to(const std::string& url, std::string_view payload) {
    UrlParts p = split_url(url);
    sockaddr_storage ss{};
    socklen_t len = 0;
    if (!fill_inet(p.host, p.port, ss, len)) return false;
    ssize_t n = ::sendto(fd_.get(), payload.data(), payload.size(), 0,
                         reinterpret_cast<sockaddr*>(&ss), len);
    return n == static_cast<ssize_t>(payload.size());
  }

  /// One datagram, or nullopt on timeout. `from_port` receives the sender's port.
  std::optional<std::string> recv(Ms timeout = 2000ms, std::uint16_t* from_port = nullptr) {
    pollfd pfd{fd_.get(), POLLIN, 0};
    if (::poll(&pfd, 1, static_cast<int>(timeout.count())) <= 0) return std::nullopt;
    char buf[65536];
    sockaddr_in from{};
    socklen_t len = sizeof from;
    ssize_t n = ::recvfrom(fd_.get(), buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &len);
    if (n < 0) return std::nullopt;
    if (from_port) *from_port = ntohs(from.sin_port);
    return std::string(buf, static_cast<std::size_t>(n));
  }

 private:
  Fd fd_;
};

/// Starts a weft::Server on its own threads; stops and joins it at scope exit.
class Started {
 public:
  Started(Handler& h, Config cfg) : server_(h, std::move(cfg)) { ec_ = server_.start(); }
  ~Started() { stop(); }
  Started(const Started&) = delete;
  Started& operator=(const Started&) = delete;

  Server& server() noexcept { return server_; }
  Server* operator->() noexcept { return &server_; }
  std::error_code error() const noexcept { return ec_; }
  bool ok() const noexcept { return !ec_; }
  std::string url(std::size_t i = 0) const { return server_.addresses().at(i); }
  void stop() {
    if (stopped_ || ec_) return;
    stopped_ = true;
    server_.stop();
    server_.wait();
  }

 private:
  Server server_;
  std::error_code ec_;
  bool stopped_ = false;
};

/// Collects every log line while alive (the sink is process-wide); restores
/// the default sink at scope exit.
class LogCapture {
 public:
  LogCapture() {
    std::lock_guard lock(mu());
    lines().clear();
    weft::set_log_sink(&LogCapture::sink);
  }
  ~LogCapture() {
    weft::set_log_sink(nullptr);
    std::lock_guard lock(mu());
    lines().clear();
  }
  LogCapture(const LogCapture&) = delete;
  LogCapture& operator=(const LogCapture&) = delete;

  std::vector<std::string> snapshot() const {
    std::lock_guard lock(mu());
    return lines();
  }
  bool contains(std::string_view needle) const {
    for (const auto& l : snapshot()) {
      if (l.find(needle) != std::string::npos) return true;
    }
    return false;
  }
  std::string all() const {
    std::string s;
    for (const auto& l : snapshot())
      s.append(l).append("\n");
    return s;
  }

 private:
  static std::mutex& mu() {
    static std::mutex m;
    return m;
  }
  static std::vector<std::string>& lines() {
    static std::vector<std::string> v;
    return v;
  }
  static void sink(LogLevel, std::string_view line) {
    std::lock_guard lock(mu());
    lines().emplace_back(line);
  }
};

/// CPU time (user + system) of a process, in seconds, from /proc/<pid>/stat.
inline double cpu_seconds(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto close = text.rfind(')');
  if (close == std::string::npos) return -1;
  std::istringstream rest(text.substr(close + 2));
  std::string field;
  unsigned long long utime = 0, stime = 0;
  // Fields after the command: state(3) ... utime(14) stime(15).
  for (int i = 3; i <= 15 && rest >> field; ++i) {
    if (i == 14) utime = std::stoull(field);
    if (i == 15) stime = std::stoull(field);
  }
  return static_cast<double>(utime + stime) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

/// Waits for `pid` to exit; its wait status, or nullopt on timeout (the
/// process is then still running).
inline std::optional<int> wait_exit(pid_t pid, Ms timeout) {
  const auto deadline = SteadyClock::now() + timeout;
  for (;;) {
    int status = 0;
    pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) return status;
    if (r < 0) return std::nullopt;
    if (SteadyClock::now() > deadline) return std::nullopt;
    std::this_thread::sleep_for(2ms);
  }
}

/// Kills and reaps `pid` if it is still running (cleanup on a failed test).
inline void kill_and_reap(pid_t pid) {
  if (pid <= 0) return;
  if (!wait_exit(pid, 0ms)) {
    ::kill(pid, SIGKILL);
    (void)wait_exit(pid, 5000ms);
  }
}

/// A child process running an executable with stdout on a pipe; killed and
/// reaped at scope exit if still running.
class Child {
 public:
  explicit Child(const std::vector<std::string>& argv) {
    int out[2];
    if (::pipe2(out, O_CLOEXEC) < 0) return;
    pid_ = ::fork();
    if (pid_ == 0) {
      ::dup2(out[1], STDOUT_FILENO);
      std::vector<char*> args;
      for (const auto& a : argv)
        args.push_back(const_cast<char*>(a.c_str()));
      args.push_back(nullptr);
      ::execv(args[0], args.data());
      ::_exit(127);
    }
    ::close(out[1]);
    out_ = Fd(out[0]);
  }
  ~Child() { kill_and_reap(reaped_ ? -1 : pid_); }
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  pid_t pid() const noexcept { return pid_; }
  /// One stdout line (without '\n'); nullopt on timeout or EOF.
  std::optional<std::string> read_line(Ms timeout = 5000ms) {
    const auto deadline = SteadyClock::now() + timeout;
    for (;;) {
      if (auto nl = buf_.find('\n'); nl != std::string::npos) {
        std::string line = buf_.substr(0, nl);
        buf_.erase(0, nl + 1);
        return line;
      }
      auto left = std::chrono::duration_cast<Ms>(deadline - SteadyClock::now()).count();
      if (left <= 0) return std::nullopt;
      pollfd pfd{out_.get(), POLLIN, 0};
      int r = ::poll(&pfd, 1, static_cast<int>(left));
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) return std::nullopt;
      char tmp[512];
      ssize_t n = ::read(out_.get(), tmp, sizeof tmp);
      if (n <= 0) return std::nullopt;
      buf_.append(tmp, static_cast<std::size_t>(n));
    }
  }
  /// Waits for exit; the wait status, or nullopt on timeout.
  std::optional<int> wait(Ms timeout) {
    auto st = wait_exit(pid_, timeout);
    if (st) reaped_ = true;
    return st;
  }

 private:
  pid_t pid_ = -1;
  Fd out_;
  std::string buf_;
  bool reaped_ = false;
};

}  // namespace weft::srvtest
