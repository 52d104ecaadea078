// The io_uring backend: see docs/ARCHITECTURE.md ("The io_uring backend").
//
// Plain stream sockets registered with kCompletion get a receive (re-armed
// after each completion) into a ring of loop-owned buffers, and their sends are copied into a
// staging chunk and queued with MSG_DONTWAIT (the kernel sends at once or
// says EAGAIN: it never parks the request). Every queued operation goes to
// the kernel in the one io_uring_enter that also waits, so a busy loop makes
// one system call per batch instead of a read and a write per request.
// Other descriptors (listeners, the wake-up eventfd, TLS and UDP sockets)
// get level-triggered readiness from one-shot polls re-armed after each
// report, so their code is the same as on epoll.
#include <liburing.h>
#include <poll.h>
#include <pthread.h>
#include <sys/mman.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <system_error>
#include <vector>

#include "loop/poller.hpp"

namespace weft::detail {
namespace {

constexpr unsigned kQueueDepth = 1024;
// 64 x 128 KiB: one receive takes what one epoll read would (bufSize's
// default), so bulk transfers cost no more completions than reads.
constexpr unsigned kBufferCount = 64;  // a power of two (ring mask)
constexpr std::size_t kBufferSize = 128 * 1024;
constexpr std::size_t kChunkSize = 64 * 1024;
// Sends up to this size are copied and queued; larger ones are written
// directly by the caller: their copy would cost more than the system call
// it saves, which is amortised over many bytes anyway.
constexpr std::size_t kStageMax = 4096;
constexpr std::size_t kMaxChunks = 256;  // chunk index fits 8 bits of user_data
constexpr int kBufferGroup = 0;

// user_data: generation (32) | fd (20) | staging chunk (8) | operation (4).
enum Op : std::uint64_t { kPoll = 1, kRecv = 2, kSend = 3, kCancel = 4 };

std::uint64_t pack(Op op, int fd, std::uint32_t gen, std::size_t chunk = 0) {
  return (static_cast<std::uint64_t>(gen) << 32) | (static_cast<std::uint64_t>(fd) << 12) |
         (static_cast<std::uint64_t>(chunk) << 4) | op;
}
Op op_of(std::uint64_t ud) {
  return static_cast<Op>(ud & 0xf);
}
int fd_of(std::uint64_t ud) {
  return static_cast<int>((ud >> 12) & 0xfffff);
}
std::size_t chunk_of(std::uint64_t ud) {
  return (ud >> 4) & 0xff;
}
std::uint32_t gen_of(std::uint64_t ud) {
  return static_cast<std::uint32_t>(ud >> 32);
}

unsigned to_poll(std::uint32_t events) {
  unsigned m = 0;
  if (events & IoWatcher::kReadable) m |= POLLIN | POLLRDHUP;
  if (events & IoWatcher::kWritable) m |= POLLOUT;
  return m;
}

std::uint32_t from_poll(unsigned m) {
  std::uint32_t events = 0;
  if (m & (POLLIN | POLLRDHUP | POLLPRI)) events |= IoWatcher::kReadable;
  if (m & POLLOUT) events |= IoWatcher::kWritable;
  if (m & (POLLERR | POLLHUP)) events |= IoWatcher::kHangup;
  return events;
}

// What the loop knows of one registered descriptor: 24 bytes, one per
// descriptor number, so it counts in the memory of an idle connection.
struct Reg {
  IoWatcher* watcher = nullptr;
  std::uint32_t gen = 0;        // bumped by add and remove: older completions are stale
  std::uint32_t send_off = 0;   // the staged send in flight: where in its chunk,
  std::uint32_t send_len = 0;   // and how long (0: none)
  std::uint16_t poll_mask = 0;  // the armed poll's events; 0: none armed
  std::uint8_t want = 0;        // kReadable | kWritable
  bool live : 1 = false;
  bool completion : 1 = false;   // receives and sends are ours
  bool recv_active : 1 = false;  // a receive is in the kernel
  bool recv_cancelling : 1 = false;
  bool poll_cancelling : 1 = false;
};
static_assert(sizeof(Reg) <= 24);

struct Chunk {
  std::unique_ptr<char[]> mem{new char[kChunkSize]};
  std::size_t used = 0;
  unsigned in_flight = 0;
};

struct Event {
  std::uint64_t user_data;
  std::int32_t res;
  std::uint32_t flags;
};

class UringPoller final : public Poller {
 public:
  // `deferred`: the ring was made with DEFER_TASKRUN, SINGLE_ISSUER and
  // R_DISABLED, and is enabled by the first poll(): the thread that runs the
  // loop becomes its one submitter, whichever thread built the loop.
  UringPoller(io_uring ring, bool deferred)
      : ring_(ring), deferred_(deferred), enabled_(!deferred) {}
  ~UringPoller() override {
    if (buf_ring_) io_uring_unregister_buf_ring(&ring_, kBufferGroup);
    io_uring_queue_exit(&ring_);
    if (buf_ring_) ::munmap(buf_ring_, ring_bytes());
    if (buffers_) ::munmap(buffers_, kBufferCount * kBufferSize);
  }

  // The receive buffers and their ring; false when the kernel lacks them.
  bool setup_buffers(const char** why) {
    void* ring =
        ::mmap(nullptr, ring_bytes(), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    void* bufs = ::mmap(nullptr, kBufferCount * kBufferSize, PROT_READ | PROT_WRITE,
                        MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (ring == MAP_FAILED || bufs == MAP_FAILED) {
      if (ring != MAP_FAILED) ::munmap(ring, ring_bytes());
      if (bufs != MAP_FAILED) ::munmap(bufs, kBufferCount * kBufferSize);
      *why = "cannot map receive buffers";
      return false;
    }
    buf_ring_ = static_cast<io_uring_buf_ring*>(ring);
    buffers_ = static_cast<char*>(bufs);
    io_uring_buf_ring_init(buf_ring_);
    io_uring_buf_reg reg{};
    reg.ring_addr = reinterpret_cast<std::uint64_t>(buf_ring_);
    reg.ring_entries = kBufferCount;
    reg.bgid = kBufferGroup;
    if (io_uring_register_buf_ring(&ring_, &reg, 0) != 0) {
      ::munmap(buf_ring_, ring_bytes());
      ::munmap(buffers_, kBufferCount * kBufferSize);
      buf_ring_ = nullptr;
      buffers_ = nullptr;
      *why = "the kernel has no provided-buffer rings";
      return false;
    }
    // The first page of every buffer is faulted in now: the ring hands the
    // buffers out in turn, so the first 128 small receives would touch them
    // all anyway. That is a fixed 512 KiB per loop, paid at start rather than
    // on the first connections (and their latency).
    for (unsigned i = 0; i < kBufferCount; ++i)
      buffers_[static_cast<std::size_t>(i) * kBufferSize] = 0;
    for (unsigned i = 0; i < kBufferCount; ++i)
      give_back(static_cast<std::uint16_t>(i), static_cast<int>(i));
    io_uring_buf_ring_advance(buf_ring_, static_cast<int>(kBufferCount));
    return true;
  }

  void add(int fd, IoWatcher* w, std::uint32_t events) override {
    if (fd < 0 || fd > 0xfffff) throw std::system_error(EBADF, std::system_category(), "io_uring");
    if (static_cast<std::size_t>(fd) >= regs_.size())
      regs_.resize(static_cast<std::size_t>(fd) + 64);
    Reg& r = regs_[static_cast<std::size_t>(fd)];
    const std::uint32_t gen = r.gen + 1;
    r = Reg{};
    r.gen = gen;
    r.watcher = w;
    r.want = static_cast<std::uint8_t>(events & (IoWatcher::kReadable | IoWatcher::kWritable));
    r.completion = events & IoWatcher::kCompletion;
    r.live = true;
    arm(fd);
  }

  void modify(int fd, IoWatcher* w, std::uint32_t events) noexcept override {
    if (!registered(fd)) return;
    Reg& r = regs_[static_cast<std::size_t>(fd)];
    r.watcher = w;
    r.want = static_cast<std::uint8_t>(events & (IoWatcher::kReadable | IoWatcher::kWritable));
    arm(fd);
  }

  void remove(int fd) noexcept override {
    if (!registered(fd)) return;
    Reg& r = regs_[static_cast<std::size_t>(fd)];
    // Queued operations name the descriptor by number: they must reach the
    // kernel before the caller closes it (the number may be reused).
    if (io_uring_sq_ready(&ring_) > 0) io_uring_submit(&ring_);
    if (r.recv_active || r.poll_mask) {
      // Synchronously, so nothing reads the socket after this returns (a
      // detached descriptor is the user's from here on).
      io_uring_sync_cancel_reg cancel{};
      cancel.fd = fd;
      cancel.flags = IORING_ASYNC_CANCEL_FD | IORING_ASYNC_CANCEL_ALL;
      cancel.timeout.tv_sec = -1;
      cancel.timeout.tv_nsec = -1;
      io_uring_register_sync_cancel(&ring_, &cancel);
      // With deferred task work the cancelled requests let go of the socket
      // only when completions are next reaped; reap now, so that closing the
      // descriptor closes the socket even if the loop is about to exit.
      if (deferred_) io_uring_get_events(&ring_);
    }
    const std::uint32_t gen = r.gen + 1;
    r = Reg{};
    r.gen = gen;
  }

  bool send(int fd, const std::string_view* pieces, std::size_t n,
            std::size_t total) noexcept override {
    if (!registered(fd) || total > kStageMax) return false;
    Reg& r = regs_[static_cast<std::size_t>(fd)];
    if (!r.completion || r.send_len != 0) return false;
    const std::size_t ci = staging_chunk(total);
    if (ci == kMaxChunks) return false;
    Chunk& c = chunks_[ci];
    char* at = c.mem.get() + c.used;
    char* p = at;
    for (std::size_t i = 0; i < n; ++i) {
      if (pieces[i].empty()) continue;  // an empty view may have no data pointer
      std::memcpy(p, pieces[i].data(), pieces[i].size());
      p += pieces[i].size();
    }
    io_uring_sqe* sqe = next_sqe();
    io_uring_prep_send(sqe, fd, at, total, MSG_DONTWAIT | MSG_NOSIGNAL);
    io_uring_sqe_set_data64(sqe, pack(kSend, fd, r.gen, ci));
    c.used += total;
    ++c.in_flight;
    r.send_off = static_cast<std::uint32_t>(at - c.mem.get());
    r.send_len = static_cast<std::uint32_t>(total);
    return true;
  }

  void poll(int timeout_ms) override {
    if (!enabled_) {
      if (int rc = enable(); rc < 0)
        throw std::system_error(-rc, std::system_category(), "io_uring enable");
    } else if (deferred_ && !::pthread_equal(owner_, ::pthread_self())) {
      throw_not_owner();
    }
    int rc;
    if (timeout_ms == 0) {
      rc = io_uring_submit_and_get_events(&ring_);
    } else {
      io_uring_cqe* cqe = nullptr;
      __kernel_timespec ts{};
      ts.tv_sec = timeout_ms / 1000;
      ts.tv_nsec = static_cast<long long>(timeout_ms % 1000) * 1000000;
      rc = io_uring_submit_and_wait_timeout(&ring_, &cqe, 1, timeout_ms < 0 ? nullptr : &ts,
                                            nullptr);
    }
    if (rc == -EEXIST && deferred_) throw_not_owner();  // a recycled thread id fooled the check
    if (rc < 0 && rc != -ETIME && rc != -EINTR && rc != -EAGAIN && rc != -EBUSY) {
      throw std::system_error(-rc, std::system_category(), "io_uring_enter");
    }
    // Copy a batch out before acting on it: callbacks queue new work and
    // may even submit (a full queue), which must not disturb the walk.
    for (int rounds = 0; rounds < 4; ++rounds) {
      io_uring_cqe* cqes[256];
      unsigned got = io_uring_peek_batch_cqe(&ring_, cqes, 256);
      if (got == 0) break;
      batch_.clear();
      for (unsigned i = 0; i < got; ++i)
        batch_.push_back({cqes[i]->user_data, cqes[i]->res, cqes[i]->flags});
      io_uring_cq_advance(&ring_, got);
      for (const Event& e : batch_)
        dispatch(e);
      if (got < 256) break;
    }
  }

 private:
  static std::size_t ring_bytes() { return kBufferCount * sizeof(io_uring_buf); }

  // Makes the calling thread the ring's one submitter: 0 or -errno.
  int enable() noexcept {
    // io_uring_enable_rings() is declared by liburing 2.3 but not exported.
    const int rc = io_uring_register(ring_.ring_fd, IORING_REGISTER_ENABLE_RINGS, nullptr, 0);
    if (rc < 0) return rc;
    enabled_ = true;
    owner_ = ::pthread_self();
    return 0;
  }

  [[noreturn]] static void throw_not_owner() {
    throw std::logic_error(
        "weft: an io_uring loop can only be run by the thread that first ran it "
        "(or that queued over 1024 operations on it before it ran)");
  }

  bool registered(int fd) const noexcept {
    return fd >= 0 && static_cast<std::size_t>(fd) < regs_.size() &&
           regs_[static_cast<std::size_t>(fd)].live;
  }

  void give_back(std::uint16_t bid, int offset) noexcept {
    io_uring_buf_ring_add(buf_ring_, buffers_ + static_cast<std::size_t>(bid) * kBufferSize,
                          kBufferSize, bid, io_uring_buf_ring_mask(kBufferCount), offset);
  }

  io_uring_sqe* next_sqe() noexcept {
    io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
    // Before the loop runs the ring is not enabled and nothing can be
    // submitted. Only a few polls are usually queued by then, but if the
    // queue fills, the ring is enabled here: this thread becomes its owner.
    if (!sqe && !enabled_ && enable() < 0) {
      std::fputs("weft: the kernel refused to enable an io_uring ring\n", stderr);
      std::abort();  // nothing could ever be submitted: better loud than a hang
    }
    while (!sqe) {  // the queue is full: hand it to the kernel, then there is room
      io_uring_submit(&ring_);
      sqe = io_uring_get_sqe(&ring_);
    }
    return sqe;
  }

  // A chunk with `n` free bytes: the current one, else any with nothing in
  // flight (its bytes are all sent), else a new one. kMaxChunks: none.
  std::size_t staging_chunk(std::size_t n) {
    if (current_ < chunks_.size()) {
      Chunk& c = chunks_[current_];
      if (c.in_flight == 0) c.used = 0;
      if (kChunkSize - c.used >= n) return current_;
    }
    for (std::size_t i = 0; i < chunks_.size(); ++i) {
      if (chunks_[i].in_flight == 0) {
        chunks_[i].used = 0;
        return current_ = i;
      }
    }
    if (chunks_.size() == kMaxChunks) return kMaxChunks;
    chunks_.emplace_back();
    return current_ = chunks_.size() - 1;
  }

  // Brings the kernel's view in line with what the watcher wants.
  void arm(int fd) noexcept {
    Reg& r = regs_[static_cast<std::size_t>(fd)];
    const bool want_recv = r.completion && (r.want & IoWatcher::kReadable);
    if (want_recv && !r.recv_active) {
      // One-shot, re-armed after each completion (an SQE, no system call):
      // at most one buffer of input is ever taken ahead of the handler, so
      // a paused connection holds no more than epoll's one read would.
      io_uring_sqe* sqe = next_sqe();
      io_uring_prep_recv(sqe, fd, nullptr, kBufferSize, 0);
      sqe->flags |= IOSQE_BUFFER_SELECT;
      sqe->buf_group = kBufferGroup;
      io_uring_sqe_set_data64(sqe, pack(kRecv, fd, r.gen));
      r.recv_active = true;
    } else if (!want_recv && r.recv_active && !r.recv_cancelling) {
      // Reading paused: the armed receive may still bring one buffer, which
      // the connection holds until it resumes.
      io_uring_sqe* sqe = next_sqe();
      io_uring_prep_cancel64(sqe, pack(kRecv, fd, r.gen), 0);
      io_uring_sqe_set_data64(sqe, pack(kCancel, fd, r.gen));
      r.recv_cancelling = true;
    }
    const unsigned mask = to_poll(r.completion ? (r.want & IoWatcher::kWritable) : r.want);
    if (r.poll_mask == 0) {
      if (mask) {
        io_uring_sqe* sqe = next_sqe();
        io_uring_prep_poll_add(sqe, fd, mask);
        io_uring_sqe_set_data64(sqe, pack(kPoll, fd, r.gen));
        r.poll_mask = static_cast<std::uint16_t>(mask);
      }
    } else if (mask != r.poll_mask && !r.poll_cancelling) {
      // Re-armed with the new mask when the old poll's completion arrives.
      io_uring_sqe* sqe = next_sqe();
      io_uring_prep_poll_remove(sqe, pack(kPoll, fd, r.gen));
      io_uring_sqe_set_data64(sqe, pack(kCancel, fd, r.gen));
      r.poll_cancelling = true;
    }
  }

  Reg* current_reg(int fd, std::uint32_t gen) noexcept {
    if (!registered(fd)) return nullptr;
    Reg& r = regs_[static_cast<std::size_t>(fd)];
    return r.gen == gen ? &r : nullptr;
  }

  void dispatch(const Event& e) {
    const int fd = fd_of(e.user_data);
    const std::uint32_t gen = gen_of(e.user_data);
    switch (op_of(e.user_data)) {
      case kRecv:
        return on_recv(e, fd, gen);
      case kSend:
        return on_send(e, fd, gen);
      case kPoll:
        return on_poll(e, fd, gen);
      case kCancel:
        return;
    }
  }

  void on_recv(const Event& e, int fd, std::uint32_t gen) {
    const bool has_buffer = e.flags & IORING_CQE_F_BUFFER;
    const auto bid = static_cast<std::uint16_t>(e.flags >> IORING_CQE_BUFFER_SHIFT);
    const bool more = e.flags & IORING_CQE_F_MORE;
    if (Reg* r = current_reg(fd, gen)) {
      if (!more) r->recv_active = r->recv_cancelling = false;
      IoWatcher* w = r->watcher;
      if (e.res > 0 && has_buffer) {
        const char* data = buffers_ + static_cast<std::size_t>(bid) * kBufferSize;
        w->on_complete({IoWatcher::Completion::Op::recv, e.res,
                        std::string_view(data, static_cast<std::size_t>(e.res))});
      } else if (e.res == 0 || (e.res < 0 && e.res != -ENOBUFS && e.res != -ECANCELED)) {
        w->on_complete({IoWatcher::Completion::Op::recv, e.res, {}});
      }
      // Ran out of buffers or ended: receive again if still wanted.
      if (!more && current_reg(fd, gen)) arm(fd);
    }
    if (has_buffer) {
      give_back(bid, 0);
      io_uring_buf_ring_advance(buf_ring_, 1);
    }
  }

  void on_send(const Event& e, int fd, std::uint32_t gen) {
    const std::size_t ci = chunk_of(e.user_data);
    if (Reg* r = current_reg(fd, gen)) {
      const std::string_view sent(chunks_[ci].mem.get() + r->send_off, r->send_len);
      r->send_len = 0;
      r->watcher->on_complete({IoWatcher::Completion::Op::send, e.res, sent});
    }
    if (ci < chunks_.size() && chunks_[ci].in_flight > 0) --chunks_[ci].in_flight;
  }

  void on_poll(const Event& e, int fd, std::uint32_t gen) {
    Reg* r = current_reg(fd, gen);
    if (!r) return;
    r->poll_mask = 0;
    r->poll_cancelling = false;
    if (e.res > 0) {
      std::uint32_t events = from_poll(static_cast<unsigned>(e.res));
      events &= r->want | IoWatcher::kHangup;
      if (r->completion) events &= ~IoWatcher::kReadable;  // the recv reports input
      if (events) r->watcher->on_io(events);
    }
    if (current_reg(fd, gen)) arm(fd);  // level-triggered: ask again
  }

  io_uring ring_;
  bool deferred_;
  bool enabled_;
  // The ring's one submitter thread, once enabled (pthread_self(): gettid()
  // would be a system call on every wait).
  pthread_t owner_{};
  io_uring_buf_ring* buf_ring_ = nullptr;
  char* buffers_ = nullptr;
  std::vector<Reg> regs_;
  std::vector<Chunk> chunks_;
  std::size_t current_ = 0;
  std::vector<Event> batch_;
};

bool kernel_at_least(int major, int minor) {
  utsname u{};
  if (::uname(&u) != 0) return false;
  int ma = 0, mi = 0;
  if (std::sscanf(u.release, "%d.%d", &ma, &mi) != 2) return false;
  return ma > major || (ma == major && mi >= minor);
}

}  // namespace

std::unique_ptr<Poller> make_uring_poller(const char** why) {
  *why = nullptr;
  if (!kernel_at_least(6, 0)) {  // multishot receive
    *why = "the kernel is older than 6.0";
    return nullptr;
  }
  // Completions are processed only inside our io_uring_enter (deferred task
  // work): a packet arriving while the loop is busy costs no interruption,
  // and each wait reaps everything that came meanwhile in one go. Kernels
  // before 6.1 lack it; they get cooperative task work instead.
  io_uring ring{};
  bool deferred = true;
  io_uring_params p{};
  p.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_R_DISABLED |
            IORING_SETUP_SUBMIT_ALL | IORING_SETUP_CQSIZE;
  p.cq_entries = kQueueDepth * 8;
  int rc = io_uring_queue_init_params(kQueueDepth, &ring, &p);
  if (rc == -EINVAL) {
    deferred = false;
    p = io_uring_params{};
    p.flags = IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG | IORING_SETUP_SUBMIT_ALL |
              IORING_SETUP_CQSIZE;
    p.cq_entries = kQueueDepth * 8;
    rc = io_uring_queue_init_params(kQueueDepth, &ring, &p);
  }
  if (rc < 0) {
    *why = rc == -EPERM || rc == -ENOSYS ? "io_uring is disabled here" : "io_uring_setup failed";
    return nullptr;
  }
  auto poller = std::make_unique<UringPoller>(ring, deferred);
  if (!poller->setup_buffers(why)) return nullptr;
  return poller;
}

}  // namespace weft::detail
