// Level-triggered epoll: see docs/ARCHITECTURE.md ("Why level-triggered").
#include <sys/epoll.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>
#include <vector>

#include "loop/poller.hpp"

namespace weft::detail {
namespace {

std::uint32_t to_epoll(std::uint32_t events) {
  std::uint32_t e = 0;
  if (events & IoWatcher::kReadable) e |= EPOLLIN | EPOLLRDHUP;
  if (events & IoWatcher::kWritable) e |= EPOLLOUT;
  return e;
}

std::uint32_t from_epoll(std::uint32_t e) {
  std::uint32_t events = 0;
  if (e & (EPOLLIN | EPOLLRDHUP | EPOLLPRI)) events |= IoWatcher::kReadable;
  if (e & EPOLLOUT) events |= IoWatcher::kWritable;
  if (e & (EPOLLERR | EPOLLHUP)) events |= IoWatcher::kHangup;
  return events;
}

class EpollPoller final : public Poller {
 public:
  EpollPoller() : epfd_(epoll_create1(EPOLL_CLOEXEC)), ready_(256) {
    if (epfd_ < 0) throw std::system_error(errno, std::system_category(), "epoll_create1");
  }
  ~EpollPoller() override { ::close(epfd_); }

  void add(int fd, IoWatcher* w, std::uint32_t events) override {
    epoll_event ev{};
    ev.events = to_epoll(events);
    ev.data.ptr = w;
    if (epoll_ctl(epfd_, EPOLL_CTL_ADD, fd, &ev) < 0) {
      throw std::system_error(errno, std::system_category(), "epoll_ctl");
    }
  }
  void modify(int fd, IoWatcher* w, std::uint32_t events) noexcept override {
    epoll_event ev{};
    ev.events = to_epoll(events);
    ev.data.ptr = w;
    epoll_ctl(epfd_, EPOLL_CTL_MOD, fd, &ev);
  }
  void remove(int fd) noexcept override { epoll_ctl(epfd_, EPOLL_CTL_DEL, fd, nullptr); }

  void poll(int timeout_ms) override {
    int n = epoll_wait(epfd_, ready_.data(), static_cast<int>(ready_.size()), timeout_ms);
    if (n < 0) {
      if (errno == EINTR) return;
      throw std::system_error(errno, std::system_category(), "epoll_wait");
    }
    for (int i = 0; i < n; ++i) {
      static_cast<IoWatcher*>(ready_[i].data.ptr)->on_io(from_epoll(ready_[i].events));
    }
    // A full batch suggests more are waiting: take more next time.
    if (static_cast<std::size_t>(n) == ready_.size() && ready_.size() < 4096) {
      ready_.resize(ready_.size() * 2);
    }
  }

 private:
  int epfd_;
  std::vector<epoll_event> ready_;
};

}  // namespace

std::unique_ptr<Poller> make_epoll_poller() {
  return std::make_unique<EpollPoller>();
}

}  // namespace weft::detail
