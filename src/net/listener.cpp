#include "net/listener.hpp"

#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <utility>

#include "net/worker.hpp"
#include "weft/datagram.hpp"
#include "weft/log.hpp"
#include "weft/server.hpp"

namespace weft::detail {
namespace {

constexpr int kAcceptBatch = 64;  // per readiness event, then let others run
constexpr int kDatagramBatch = 64;
constexpr Millis kExhaustedBackoff{100};
constexpr Millis kCapBackoff{20};

std::uint64_t fnv1a(const unsigned char* p, std::size_t n) noexcept {
  std::uint64_t h = 1469598103934665603ULL;
  for (std::size_t i = 0; i < n; ++i)
    h = (h ^ p[i]) * 1099511628211ULL;
  return h;
}

// The client's IP only: the same client lands on the same loop whatever its port.
std::uint64_t hash_peer(const sockaddr_storage& ss) noexcept {
  if (ss.ss_family == AF_INET) {
    const auto& in4 = reinterpret_cast<const sockaddr_in&>(ss);
    return fnv1a(reinterpret_cast<const unsigned char*>(&in4.sin_addr), sizeof in4.sin_addr);
  }
  if (ss.ss_family == AF_INET6) {
    const auto& in6 = reinterpret_cast<const sockaddr_in6&>(ss);
    return fnv1a(reinterpret_cast<const unsigned char*>(&in6.sin6_addr), sizeof in6.sin6_addr);
  }
  return 0;
}

// An accepted descriptor on its way to another loop. If the task carrying it
// is dropped (that loop stopped first), the descriptor is closed here and the
// reservation returned, so nothing leaks.
struct HandOff {
  Worker* to = nullptr;
  int fd = -1;
  HandOff() = default;
  HandOff(const HandOff&) = delete;
  HandOff& operator=(const HandOff&) = delete;
  ~HandOff() {
    if (fd >= 0) {
      ::close(fd);
      to->unreserve();
    }
  }
};

}  // namespace

StreamAcceptor::StreamAcceptor(int fd, std::uint16_t index, bool is_unix,
                               std::vector<Worker*> targets, LbStrategy lb)
    : Listener(fd, index),
      reserve_fd_(::open("/dev/null", O_RDONLY | O_CLOEXEC)),
      is_unix_(is_unix),
      targets_(std::move(targets)),
      lb_(lb) {}

void Listener::arm() {
  if (fd_ < 0 || armed_) return;
  armed_ = true;
  owner_->loop().watch(fd_, this, kReadable);
}

void Listener::close() noexcept {
  if (fd_ < 0) return;
  if (armed_) owner_->loop().unwatch(fd_);
  ::close(fd_);
  fd_ = -1;
}

StreamAcceptor::~StreamAcceptor() {
  if (reserve_fd_ >= 0) ::close(reserve_fd_);
}

Worker* StreamAcceptor::pick(const void* addr) noexcept {
  if (targets_.empty()) return owner_;
  std::size_t n = targets_.size();
  switch (lb_) {
    case LbStrategy::rr:
      return targets_[rr_next_++ % n];
    case LbStrategy::random:
      rng_ ^= rng_ << 13;  // xorshift64: no locks, no shared state
      rng_ ^= rng_ >> 7;
      rng_ ^= rng_ << 17;
      return targets_[rng_ % n];
    case LbStrategy::leastconn: {
      Worker* best = targets_[0];
      for (Worker* w : targets_) {
        if (w->assigned.load(std::memory_order_relaxed) <
            best->assigned.load(std::memory_order_relaxed)) {
          best = w;
        }
      }
      return best;
    }
    case LbStrategy::hash:
      return targets_[hash_peer(*static_cast<const sockaddr_storage*>(addr)) % n];
  }
  return owner_;
}

void StreamAcceptor::pause_for(Millis delay) {
  if (paused_ || fd_ < 0) return;
  paused_ = true;
  owner_->loop().rewatch(fd_, this, 0);
  owner_->loop().run_after(delay, [this] {
    paused_ = false;
    if (fd_ >= 0) owner_->loop().rewatch(fd_, this, kReadable);
  });
}

void StreamAcceptor::handle_exhaustion(int err) {
  owner_->stats().fd_exhausted.add();
  logf(LogLevel::warn, "accept: %s; shedding one connection and pausing accepts for %lld ms",
       std::strerror(err), static_cast<long long>(kExhaustedBackoff.count()));
  // Free the reserve so the pending client can be accepted and closed at
  // once (it sees a clean close instead of hanging in the backlog).
  if (reserve_fd_ >= 0) {
    ::close(reserve_fd_);
    int fd = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd >= 0) ::close(fd);
    reserve_fd_ = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  }
  pause_for(kExhaustedBackoff);
}

void StreamAcceptor::on_io(std::uint32_t) {
  const Config& cfg = owner_->config();
  for (int i = 0; i < kAcceptBatch && fd_ >= 0; ++i) {
    if (cfg.max_accept_fd > 0 &&
        owner_->shared().open_conns.load(std::memory_order_relaxed) >= cfg.max_accept_fd) {
      pause_for(kCapBackoff);  // re-checked when the pause ends
      return;
    }
    sockaddr_storage peer{};
    socklen_t len = sizeof peer;
    int fd = ::accept4(fd_, reinterpret_cast<sockaddr*>(&peer), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      int err = errno;
      if (err == EAGAIN || err == EWOULDBLOCK) return;
      if (err == EINTR || err == ECONNABORTED || err == EPROTO) continue;
      owner_->stats().accept_errors.add();
      if (err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM) {
        handle_exhaustion(err);
      } else {
        logf(LogLevel::error, "accept: %s", std::strerror(err));
      }
      return;
    }
    Worker* target = pick(&peer);
    target->reserve();  // counted from now on, for maxAcceptFD and leastconn
    if (target == owner_) {
      target->adopt(fd, index_, is_unix_);
      continue;
    }
    auto handoff = std::make_shared<HandOff>();
    handoff->to = target;
    handoff->fd = fd;
    // A failed post drops the lambda, and with it the last reference.
    (void)target->loop().post_control([handoff, idx = index_, unix = is_unix_] {
      handoff->to->adopt(std::exchange(handoff->fd, -1), idx, unix);
    });
  }
}

// --- datagrams -----------------------------------------------------------------

void DatagramSocket::on_io(std::uint32_t) {
  Handler& handler = owner_->server().handler();
  for (int i = 0; i < kDatagramBatch && fd_ >= 0; ++i) {
    SockAddr peer;
    *peer.size_ptr() = sizeof(sockaddr_storage);
    // MSG_TRUNC reports the datagram's real length: one larger than the
    // buffer is dropped and counted, never delivered cut short.
    ssize_t n = ::recvfrom(fd_, owner_->scratch(), owner_->scratch_size(), MSG_DONTWAIT | MSG_TRUNC,
                           peer.get(), peer.size_ptr());
    if (n < 0) {
      if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
        logf(LogLevel::warn, "recvfrom: %s", std::strerror(errno));
      }
      return;
    }
    if (static_cast<std::size_t>(n) > owner_->scratch_size()) {
      owner_->stats().datagrams_dropped.add();
      logf(LogLevel::debug, "dropped a %zd-byte datagram from %s: larger than bufSize", n,
           peer.to_string().c_str());
      continue;
    }
    owner_->stats().datagrams_in.add();
    owner_->stats().bytes_in.add(static_cast<std::uint64_t>(n));
    Datagram d(owner_->loop(), fd_, index_, Bytes(owner_->scratch(), static_cast<std::size_t>(n)),
               peer, &owner_->stats());
    handler.on_datagram(d);
  }
}

}  // namespace weft::detail
