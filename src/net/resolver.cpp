// The resolver thread: getaddrinfo outside the loops. An answer is handed
// over under the lock that the destructor takes to close the resolver, so
// no callback runs once ~Resolver has returned.
#include "net/resolver.hpp"

#include <netdb.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <thread>
#include <utility>

namespace weft::detail {
namespace {

class GaiCategory final : public std::error_category {
 public:
  const char* name() const noexcept override { return "getaddrinfo"; }
  std::string message(int ev) const override { return ::gai_strerror(ev); }
};

// One lookup: the addresses, or why there are none.
std::error_code lookup(const std::string& host, std::uint16_t port, int family,
                       std::vector<SockAddr>& out) {
  addrinfo hints{};
  hints.ai_family = family;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_ADDRCONFIG | AI_NUMERICSERV;
  addrinfo* res = nullptr;
  const std::string service = std::to_string(port);
  const int rc = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &res);
  if (rc == EAI_SYSTEM) return {errno, std::system_category()};
  if (rc != 0) return {rc, resolver_category()};
  for (addrinfo* a = res; a != nullptr; a = a->ai_next)
    out.emplace_back(a->ai_addr, a->ai_addrlen);
  ::freeaddrinfo(res);
  if (out.empty()) return {EAI_NONAME, resolver_category()};
  return {};
}

}  // namespace

const std::error_category& resolver_category() noexcept {
  static const GaiCategory category;
  return category;
}

Resolver::~Resolver() {
  std::lock_guard lock(state_->mu);
  state_->closed = true;
  state_->queue.clear();
  state_->cv.notify_all();
}

void Resolver::resolve(std::string host, std::uint16_t port, int family, Done done) {
  std::lock_guard lock(state_->mu);
  state_->queue.push_back({std::move(host), port, family, std::move(done)});
  if (!state_->running) {
    state_->running = true;
    std::thread([st = state_] { run(st); }).detach();
  }
  state_->cv.notify_one();
}

void Resolver::run(const std::shared_ptr<State>& st) {
  std::unique_lock lock(st->mu);
  for (;;) {
    st->cv.wait(lock, [&] { return st->closed || !st->queue.empty(); });
    if (st->closed) return;
    Request r = std::move(st->queue.front());
    st->queue.pop_front();
    lock.unlock();
    std::vector<SockAddr> addrs;
    const std::error_code ec = lookup(r.host, r.port, r.family, addrs);
    lock.lock();
    if (st->closed) return;
    r.done(std::move(addrs), ec);  // under the lock: ~Resolver waits for it
  }
}

}  // namespace weft::detail
