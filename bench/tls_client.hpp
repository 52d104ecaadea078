// tls_client.hpp: the non-blocking OpenSSL client connection shared by the
// TLS load tools (tls_handshakes.cpp, tls_idle.cpp). No weft dependency.
//
// One TlsClient is one TCP connection driven through: connect -> TLS
// handshake -> one request -> its complete, checked response. Three kinds of
// exchange:
//   http: "GET PATH HTTP/1.1" (keep-alive); the response must be a
//         "HTTP/1.1 200" with a Content-Length, read to its last byte;
//   echo: 16 bytes, which must come back unchanged;
//   ws:   a WebSocket opening handshake (the 101 is checked), then one
//         masked 16-byte binary message, which must come back as an
//         unmasked binary message with the same payload (WsExchange).
// Epoll is level-triggered; drive() is called on every event and says which
// events to wait for next.
#pragma once

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <optional>
#include <string>

#include "loadgen/ws_client.hpp"

namespace tlsbench {

inline uint64_t now_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000u + static_cast<uint64_t>(ts.tv_nsec);
}

inline uint64_t self_cpu_ns() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  auto tv_ns = [](timeval tv) {
    return static_cast<uint64_t>(tv.tv_sec) * 1'000'000'000u +
           static_cast<uint64_t>(tv.tv_usec) * 1000u;
  };
  return tv_ns(ru.ru_utime) + tv_ns(ru.ru_stime);
}

// utime + stime (clock ticks) from /proc/PID/stat, fields 14 and 15.
inline std::optional<uint64_t> stat_ticks(pid_t pid) {
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
  if (std::sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime,
                  &stime) != 2)
    return std::nullopt;
  return utime + stime;
}

// Sum of sum_exec_runtime (ns) over all threads: /proc/PID/task/*/schedstat.
inline std::optional<uint64_t> exec_ns(pid_t pid) {
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

// Busy ticks of the whole machine: user + nice + system + irq + softirq + steal.
inline std::optional<uint64_t> machine_busy_ticks() {
  FILE* f = std::fopen("/proc/stat", "r");
  if (!f) return std::nullopt;
  unsigned long long v[8] = {};
  int n = std::fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3],
                      &v[4], &v[5], &v[6], &v[7]);
  std::fclose(f);
  if (n != 8) return std::nullopt;
  return v[0] + v[1] + v[2] + v[5] + v[6] + v[7];
}

inline std::string openssl_errors() {
  std::string out;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out.empty() ? std::string("no OpenSSL error") : out;
}

// A client context: no certificate verification (the server's cost does not
// depend on it; the CertificateVerify signature is still checked, TLS
// requires it), no session reuse, TLS `version` only ("1.2" or "1.3").
inline SSL_CTX* make_client_ctx(const std::string& version) {
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  if (!ctx) return nullptr;
  const int v = version == "1.2" ? TLS1_2_VERSION : TLS1_3_VERSION;
  SSL_CTX_set_min_proto_version(ctx, v);
  SSL_CTX_set_max_proto_version(ctx, v);
  SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
  SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
  return ctx;
}

enum class Exchange { http, echo, ws };

// What every connection of a ws exchange sends and expects; one key and one
// mask for all of them (the server's memory does not depend on their values).
struct WsExchange {
  std::string key = wsclient::make_key();
  std::string upgrade;  // the GET request
  std::string frame;    // one masked binary frame carrying `payload`
  std::string payload = "weft-tls-idle-16";

  WsExchange(const std::string& path, int port)
      : upgrade(wsclient::upgrade_request("127.0.0.1", port, path, key)) {
    constexpr uint32_t kMask = 0x5a17c3e1u;
    frame.resize(wsclient::client_header_size(payload.size()) + payload.size());
    auto* p = reinterpret_cast<uint8_t*>(frame.data());
    const size_t h = wsclient::write_client_header(p, wsclient::kOpBinary, payload.size(), kMask);
    std::memcpy(p + h, payload.data(), payload.size());
    wsclient::apply_mask(p + h, payload.size(), kMask);
  }
};

class TlsClient {
 public:
  enum class State { idle, connecting, handshaking, writing, reading, done, failed };

  TlsClient() = default;
  TlsClient(const TlsClient&) = delete;
  TlsClient& operator=(const TlsClient&) = delete;
  ~TlsClient() { reset(); }

  State state() const { return state_; }
  int fd() const { return fd_; }
  SSL* ssl() const { return ssl_; }
  const std::string& error() const { return error_; }

  // Starts a non-blocking connect; false (with error()) if it fails at once.
  // For Exchange::ws, `ws` says what to send and `request` is ignored.
  bool start(const sockaddr_in& addr, SSL_CTX* ctx, Exchange ex, const std::string& request,
             const WsExchange* ws = nullptr) {
    reset();
    ctx_ = ctx;
    exchange_ = ex;
    request_ = &request;
    ws_ = ws;
    if (ex == Exchange::ws) request_ = &ws->upgrade;
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd_ < 0) return fail(std::string("socket: ") + std::strerror(errno));
    int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (::connect(fd_, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0) {
      return begin_tls();
    }
    if (errno != EINPROGRESS) return fail(std::string("connect: ") + std::strerror(errno));
    state_ = State::connecting;
    events_ = EPOLLOUT;
    return true;
  }

  // Advances as far as possible. Returns the epoll events to wait for (0 when
  // done or failed).
  uint32_t drive() {
    for (;;) {
      switch (state_) {
        case State::connecting: {
          int err = 0;
          socklen_t len = sizeof err;
          ::getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len);
          if (err == EINPROGRESS || err == EALREADY) return EPOLLOUT;
          if (err != 0) {
            fail(std::string("connect: ") + std::strerror(err));
            return 0;
          }
          if (!begin_tls()) return 0;
          continue;
        }
        case State::handshaking: {
          ERR_clear_error();
          const int r = SSL_connect(ssl_);
          if (r == 1) {
            state_ = State::writing;
            continue;
          }
          if (!would_block(r, "handshake")) return 0;
          return events_;
        }
        case State::writing: {
          ERR_clear_error();
          const int r = SSL_write(ssl_, request_->data(), static_cast<int>(request_->size()));
          if (r > 0) {
            state_ = State::reading;
            continue;
          }
          if (!would_block(r, "write")) return 0;
          return events_;
        }
        case State::reading: {
          char buf[32 * 1024];
          ERR_clear_error();
          const int r = SSL_read(ssl_, buf, sizeof buf);
          if (r > 0) {
            response_.append(buf, static_cast<size_t>(r));
            const int c = complete();
            if (c < 0) return 0;
            if (c == 1) {
              state_ = State::done;
              return 0;
            }
            if (c == 2) state_ = State::writing;  // the next request of the exchange
            continue;
          }
          if (!would_block(r, "read")) return 0;
          return events_;
        }
        case State::idle:
        case State::done:
        case State::failed:
          return 0;
      }
    }
  }

  // Sends close_notify (best effort) and closes.
  void close_gracefully() {
    if (ssl_ && state_ == State::done) {
      ERR_clear_error();
      (void)SSL_shutdown(ssl_);
      ERR_clear_error();
    }
    reset();
  }

  void reset() {
    if (ssl_) SSL_free(ssl_);
    ssl_ = nullptr;
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
    state_ = State::idle;
    response_.clear();
    error_.clear();
    events_ = 0;
    upgraded_ = false;
    ws_payload_.clear();
    frames_ = wsclient::FrameReader{};
  }

 private:
  bool begin_tls() {
    ssl_ = SSL_new(ctx_);
    if (!ssl_ || SSL_set_fd(ssl_, fd_) != 1) return fail("SSL_new: " + openssl_errors());
    SSL_set_tlsext_host_name(ssl_, "localhost");
    SSL_set_connect_state(ssl_);
    state_ = State::handshaking;
    return true;
  }

  // After a non-positive SSL_* result: sets events_ and returns true when it
  // only has to wait; else records the failure.
  bool would_block(int r, const char* what) {
    const int err = SSL_get_error(ssl_, r);
    if (err == SSL_ERROR_WANT_READ) {
      events_ = EPOLLIN;
      return true;
    }
    if (err == SSL_ERROR_WANT_WRITE) {
      events_ = EPOLLOUT;
      return true;
    }
    std::string why = std::string(what) + ": ";
    if (err == SSL_ERROR_ZERO_RETURN) {
      why += "server closed the connection (close_notify)";
    } else if (err == SSL_ERROR_SYSCALL) {
      why += errno ? std::strerror(errno) : "unexpected EOF";
      ERR_clear_error();
    } else {
      why += openssl_errors();
    }
    fail(why);
    return false;
  }

  // 1: the whole response is here and right; 2: right, and the exchange
  // goes on with the next request in request_; 0: not yet; -1: wrong.
  int complete() {
    if (exchange_ == Exchange::ws) return complete_ws();
    if (exchange_ == Exchange::echo) {
      if (response_.size() < request_->size()) {
        return request_->compare(0, response_.size(), response_) == 0 ? 0 : bad("echo mismatch");
      }
      return response_ == *request_ ? 1 : bad("echo mismatch");
    }
    const size_t end = response_.find("\r\n\r\n");
    if (end == std::string::npos) return 0;
    if (response_.compare(0, 12, "HTTP/1.1 200") != 0) {
      return bad("not a 200 response: " + response_.substr(0, response_.find('\r')));
    }
    size_t at = response_.find("Content-Length:");
    if (at == std::string::npos || at > end) at = response_.find("content-length:");
    if (at == std::string::npos || at > end) return bad("response without Content-Length");
    const size_t length = std::strtoull(response_.c_str() + at + 15, nullptr, 10);
    const size_t total = end + 4 + length;
    if (response_.size() < total) return 0;
    if (response_.size() > total) return bad("more bytes than the response");
    return 1;
  }

  int complete_ws() {
    if (!upgraded_) {
      const size_t end = response_.find("\r\n\r\n");
      if (end == std::string::npos) return 0;
      std::string err = wsclient::check_upgrade_response(response_, ws_->key);
      if (!err.empty()) return bad(err);
      if (response_.size() != end + 4) return bad("unexpected bytes after the 101 response");
      upgraded_ = true;
      response_.clear();
      request_ = &ws_->frame;
      return 2;
    }
    bool done = false;
    std::string err = frames_.consume(
        reinterpret_cast<const uint8_t*>(response_.data()), response_.size(),
        [&](const uint8_t* p, size_t n) {
          ws_payload_.append(reinterpret_cast<const char*>(p), n);
        },
        [&] { done = true; });
    response_.clear();
    if (!err.empty()) return bad(err);
    if (ws_payload_.size() > ws_->payload.size() || (done && ws_payload_ != ws_->payload))
      return bad("echoed WebSocket message differs from the one sent");
    return done ? 1 : 0;
  }

  int bad(const std::string& why) {
    fail(why);
    return -1;
  }

  bool fail(const std::string& why) {
    error_ = why;
    state_ = State::failed;
    events_ = 0;
    return false;
  }

  SSL_CTX* ctx_ = nullptr;
  SSL* ssl_ = nullptr;
  int fd_ = -1;
  State state_ = State::idle;
  Exchange exchange_ = Exchange::http;
  const std::string* request_ = nullptr;
  const WsExchange* ws_ = nullptr;
  bool upgraded_ = false;         // ws: the 101 came, the message is next
  std::string ws_payload_;        // ws: the echoed payload so far
  wsclient::FrameReader frames_;  // ws: parses the echoed frames
  std::string response_;
  std::string error_;
  uint32_t events_ = 0;
};

inline std::string http_request(const std::string& path, int port) {
  return "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) + "\r\n\r\n";
}

inline std::string echo_message() {
  return "weft-tls-idle-16";  // 16 bytes
}

}  // namespace tlsbench
