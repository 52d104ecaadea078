// Name resolution off the loops: a thread that runs getaddrinfo for dials
// whose host is a name, one request at a time, and hands each answer to a
// callback (which posts it back to the dialing loop). One per server,
// started by the first name it is given.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <system_error>
#include <vector>

#include "weft/address.hpp"

namespace weft::detail {

/// getaddrinfo's errors (EAI_*) as std::error_code: message() is
/// gai_strerror's ("Name or service not known").
const std::error_category& resolver_category() noexcept;

class Resolver {
 public:
  /// The addresses in getaddrinfo's order (empty with an error).
  using Done = std::function<void(std::vector<SockAddr>, std::error_code)>;

  Resolver() = default;
  /// Answers still to come are dropped; a lookup in progress finishes on its
  /// own thread, which then exits (it is detached: getaddrinfo cannot be
  /// interrupted, and a server must not wait for a slow DNS server to stop).
  ~Resolver();
  Resolver(const Resolver&) = delete;
  Resolver& operator=(const Resolver&) = delete;

  /// Queues a lookup of `host`:`port` (family AF_INET, AF_INET6 or 0 for
  /// either; stream sockets). `done` runs on the resolver thread, never
  /// after the Resolver is destroyed. Any thread.
  void resolve(std::string host, std::uint16_t port, int family, Done done);

 private:
  struct Request {
    std::string host;
    std::uint16_t port;
    int family;
    Done done;
  };
  // Shared with the thread, which may outlive the Resolver.
  struct State {
    std::mutex mu;
    std::condition_variable cv;
    std::deque<Request> queue;
    bool closed = false;
    bool running = false;
  };
  static void run(const std::shared_ptr<State>& st);

  std::shared_ptr<State> state_ = std::make_shared<State>();
};

}  // namespace weft::detail
