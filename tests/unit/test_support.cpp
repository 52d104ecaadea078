#include "test_support.hpp"

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <stdexcept>
#include <system_error>
#include <thread>

namespace weft::test {

using SteadyClock = std::chrono::steady_clock;

// --- server ------------------------------------------------------------------

Config test_config() {
  Config cfg;
  cfg.listen = {"tcp://127.0.0.1:0"};
  cfg.ncpu = 1;
  // Short waits so that stop() and timers never sit on a long poll.
  cfg.poll_wait_ms = 100;
  return cfg;
}

std::uint16_t port_of(std::string_view url) {
  auto scheme = url.find("://");
  if (scheme == std::string_view::npos) return 0;
  std::string_view rest = url.substr(scheme + 3);
  if (url.substr(0, scheme).starts_with("unix")) return 0;
  auto q = rest.find('?');
  if (q != std::string_view::npos) rest = rest.substr(0, q);
  auto colon = rest.rfind(':');
  if (colon == std::string_view::npos) return 0;
  if (auto bracket = rest.rfind(']'); bracket != std::string_view::npos && bracket > colon)
    return 0;
  unsigned long v = 0;
  for (char ch : rest.substr(colon + 1)) {
    if (ch < '0' || ch > '9') return 0;
    v = v * 10 + static_cast<unsigned long>(ch - '0');
    if (v > 65535) return 0;
  }
  return static_cast<std::uint16_t>(v);
}

TestServer::TestServer(Handler& handler, Config cfg) : server_(handler, std::move(cfg)) {
  if (auto ec = server_.start()) {
    throw std::system_error(ec, "TestServer: start failed");
  }
  auto addrs = server_.addresses();
  if (!addrs.empty()) port_ = port_of(addrs[0]);
}

TestServer::~TestServer() {
  stop_and_wait();
}

std::uint16_t TestServer::port(std::size_t i) const {
  return port_of(server_.addresses().at(i));
}

void TestServer::stop_and_wait() {
  if (stopped_) return;
  stopped_ = true;
  server_.stop();
  server_.wait();
}

// --- client ------------------------------------------------------------------

namespace {

int connect_to(const sockaddr* sa, socklen_t len, int rcvbuf) {
  int fd = ::socket(sa->sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::system_error(errno, std::system_category(), "socket");
  if (rcvbuf > 0) ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  // Bounded connect: loopback never takes long, but a full backlog could.
  timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  int rc;
  do {
    rc = ::connect(fd, sa, len);
  } while (rc < 0 && errno == EINTR);
  if (rc < 0) {
    int err = errno;
    ::close(fd);
    throw std::system_error(err, std::system_category(), "connect");
  }
  timeval zero{0, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &zero, sizeof zero);
  return fd;
}

}  // namespace

Client& Client::operator=(Client&& o) noexcept {
  if (this != &o) {
    close();
    fd_ = o.release();
    eof_ = o.eof_;
    error_ = o.error_;
  }
  return *this;
}

Client Client::tcp(std::uint16_t port, int rcvbuf) {
  sockaddr_in in{};
  in.sin_family = AF_INET;
  in.sin_port = htons(port);
  in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return Client(connect_to(reinterpret_cast<const sockaddr*>(&in), sizeof in, rcvbuf));
}

Client Client::tcp6(std::uint16_t port, int rcvbuf) {
  sockaddr_in6 in6{};
  in6.sin6_family = AF_INET6;
  in6.sin6_port = htons(port);
  in6.sin6_addr = in6addr_loopback;
  return Client(connect_to(reinterpret_cast<const sockaddr*>(&in6), sizeof in6, rcvbuf));
}

Client Client::unix_path(const std::string& path) {
  sockaddr_un un{};
  un.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof un.sun_path) {
    throw std::invalid_argument("unix path too long or empty: " + path);
  }
  std::memcpy(un.sun_path, path.data(), path.size());
  if (path[0] == '@') un.sun_path[0] = '\0';
  auto len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size() +
                                    (path[0] == '@' ? 0 : 1));
  return Client(connect_to(reinterpret_cast<const sockaddr*>(&un), len, 0));
}

Client Client::to_url(const std::string& url, int rcvbuf) {
  if (url.starts_with("unix://")) return unix_path(url.substr(7));
  if (url.starts_with("tcp6://")) return tcp6(port_of(url), rcvbuf);
  if (url.find('[') != std::string::npos) return tcp6(port_of(url), rcvbuf);
  return tcp(port_of(url), rcvbuf);
}

int Client::release() noexcept {
  int fd = fd_;
  fd_ = -1;
  return fd;
}

void Client::close() noexcept {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

void Client::close_rst() noexcept {
  if (fd_ < 0) return;
  linger lg{1, 0};
  ::setsockopt(fd_, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
  close();
}

void Client::shutdown_write() noexcept {
  if (fd_ >= 0) ::shutdown(fd_, SHUT_WR);
}

bool Client::set_rcvbuf(int bytes) noexcept {
  return ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof bytes) == 0;
}

bool Client::set_sndbuf(int bytes) noexcept {
  return ::setsockopt(fd_, SOL_SOCKET, SO_SNDBUF, &bytes, sizeof bytes) == 0;
}

bool Client::set_nodelay(bool on) noexcept {
  int v = on ? 1 : 0;
  return ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &v, sizeof v) == 0;
}

bool Client::set_nonblocking(bool on) noexcept {
  int flags = ::fcntl(fd_, F_GETFL);
  if (flags < 0) return false;
  flags = on ? (flags | O_NONBLOCK) : (flags & ~O_NONBLOCK);
  return ::fcntl(fd_, F_SETFL, flags) == 0;
}

std::size_t Client::send_all(std::string_view data, Ms timeout) {
  auto deadline = SteadyClock::now() + timeout;
  std::size_t sent = 0;
  while (sent < data.size()) {
    auto left = std::chrono::duration_cast<Ms>(deadline - SteadyClock::now()).count();
    if (left <= 0) break;
    pollfd p{fd_, POLLOUT, 0};
    int pr = ::poll(&p, 1, static_cast<int>(left));
    if (pr < 0 && errno == EINTR) continue;
    if (pr <= 0) break;
    ssize_t w = ::send(fd_, data.data() + sent, data.size() - sent, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (w < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) continue;
      error_ = errno;
      break;
    }
    sent += static_cast<std::size_t>(w);
  }
  return sent;
}

long Client::try_send(std::string_view data) noexcept {
  ssize_t w = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
  if (w >= 0) return static_cast<long>(w);
  if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return 0;
  error_ = errno;
  return -static_cast<long>(errno);
}

std::size_t Client::recv_into(char* buf, std::size_t max, SteadyClock::time_point deadline) {
  if (fd_ < 0 || eof_ || error_) return 0;
  for (;;) {
    auto left = std::chrono::duration_cast<Ms>(deadline - SteadyClock::now()).count();
    if (left < 0) left = 0;
    pollfd p{fd_, POLLIN, 0};
    int pr = ::poll(&p, 1, static_cast<int>(left));
    if (pr < 0 && errno == EINTR) continue;
    if (pr <= 0) return 0;  // timeout
    ssize_t n = ::recv(fd_, buf, max, MSG_DONTWAIT);
    if (n > 0) return static_cast<std::size_t>(n);
    if (n == 0) {
      eof_ = true;
      return 0;
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
      if (left == 0) return 0;
      continue;
    }
    error_ = errno;
    return 0;
  }
}

std::string Client::recv_exact(std::size_t n, Ms timeout) {
  auto deadline = SteadyClock::now() + timeout;
  std::string out(n, '\0');
  std::size_t got = 0;
  while (got < n) {
    std::size_t r = recv_into(out.data() + got, n - got, deadline);
    if (r == 0) break;
    got += r;
  }
  out.resize(got);
  return out;
}

std::string Client::recv_some(std::size_t max, Ms timeout) {
  std::string out(max, '\0');
  out.resize(recv_into(out.data(), max, SteadyClock::now() + timeout));
  return out;
}

std::string Client::recv_until_eof(Ms timeout) {
  auto deadline = SteadyClock::now() + timeout;
  std::string out;
  char buf[65536];
  for (;;) {
    std::size_t r = recv_into(buf, sizeof buf, deadline);
    if (r == 0) break;
    out.append(buf, r);
  }
  return out;
}

bool Client::wait_closed(Ms timeout) {
  auto deadline = SteadyClock::now() + timeout;
  char buf[65536];
  while (!peer_closed()) {
    if (recv_into(buf, sizeof buf, deadline) == 0 && !peer_closed()) return false;
  }
  return true;
}

// --- process probes --------------------------------------------------------------

int count_open_fds() {
  DIR* d = ::opendir("/proc/self/fd");
  if (!d) return -1;
  int n = 0;
  while (dirent* e = ::readdir(d)) {
    if (e->d_name[0] != '.') ++n;
  }
  ::closedir(d);
  return n - 1;  // the directory's own descriptor
}

std::size_t rss_bytes() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.starts_with("VmRSS:")) {
      unsigned long long kb = 0;
      std::sscanf(line.c_str() + 6, "%llu", &kb);
      return static_cast<std::size_t>(kb) * 1024;
    }
  }
  return 0;
}

bool wait_until(const std::function<bool()>& pred, Ms timeout) {
  auto deadline = SteadyClock::now() + timeout;
  for (;;) {
    if (pred()) return true;
    if (SteadyClock::now() >= deadline) return pred();
    std::this_thread::sleep_for(1ms);
  }
}

namespace {

// pattern_byte(i) for i in one aligned 256-byte block depends only on
// i & 255 and on a per-block constant: 256 precomputed rows make every
// block one memcpy/memcmp (fast under the sanitizers too).
using PatternRow = std::array<char, 256>;

const std::array<PatternRow, 256>& pattern_rows() {
  static const auto rows = [] {
    std::array<PatternRow, 256> r{};
    for (std::size_t c = 0; c < 256; ++c) {
      for (std::size_t k = 0; k < 256; ++k)
        r[c][k] = static_cast<char>((k * 131 + c) & 0xff);
    }
    return r;
  }();
  return rows;
}

// Calls fn(row_bytes, length, position) for each run of [offset, offset + n)
// that lies within one 256-byte block.
template <typename Fn>
void for_each_run(std::size_t n, std::uint64_t offset, Fn fn) {
  const auto& rows = pattern_rows();
  std::size_t pos = 0;
  while (pos < n) {
    std::uint64_t i = offset + pos;
    std::uint64_t block = i >> 8;
    std::size_t k = static_cast<std::size_t>(i & 255);
    std::size_t run = std::min<std::size_t>(256 - k, n - pos);
    const PatternRow& row = rows[static_cast<std::size_t>((block * 7 + (block >> 8)) & 0xff)];
    if (!fn(row.data() + k, run, pos)) return;
    pos += run;
  }
}

}  // namespace

std::string pattern(std::size_t n, std::uint64_t offset) {
  std::string s(n, '\0');
  for_each_run(n, offset, [&s](const char* src, std::size_t len, std::size_t pos) {
    std::memcpy(s.data() + pos, src, len);
    return true;
  });
  return s;
}

std::size_t pattern_mismatch(std::string_view data, std::uint64_t offset) {
  std::size_t at = std::string_view::npos;
  for_each_run(data.size(), offset, [&](const char* want, std::size_t len, std::size_t pos) {
    if (std::memcmp(data.data() + pos, want, len) == 0) return true;
    for (std::size_t j = 0; j < len; ++j) {
      if (data[pos + j] != want[j]) {
        at = pos + j;
        break;
      }
    }
    return false;
  });
  return at;
}

std::string unique_abstract_name() {
  static std::atomic<int> seq{0};
  return "@weft-test-" + std::to_string(::getpid()) + "-" + std::to_string(seq.fetch_add(1));
}

}  // namespace weft::test
