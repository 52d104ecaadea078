// The descriptors a server listens on: stream acceptors (TCP, unix) and
// datagram sockets (UDP). Each lives on one loop.
#pragma once

#include <cstdint>
#include <vector>

#include "weft/config.hpp"
#include "weft/loop.hpp"

namespace weft::detail {

class Worker;

/// A bound socket (owned: closed on destruction), the listen URL it serves
/// (`index` into the server's list) and the worker whose loop it runs on.
class Listener : public IoWatcher {
 public:
  Listener(int fd, std::uint16_t index) noexcept : fd_(fd), index_(index) {}
  virtual ~Listener() { close(); }
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;

  /// Binds the listener to its worker (before the loop runs).
  void set_owner(Worker& w) noexcept { owner_ = &w; }
  /// Starts listening on the owner's loop (after on_ready; loop thread).
  void arm();
  /// Stops listening and closes the descriptor (loop thread, or after it stopped).
  void close() noexcept;

 protected:
  int fd_;
  std::uint16_t index_;
  Worker* owner_ = nullptr;
  bool armed_ = false;
};

/// Accepts connections. With `targets` empty every connection stays on the
/// owning loop (a per-loop SO_REUSEPORT listener); otherwise each one goes
/// to a loop picked by `lb`.
class StreamAcceptor final : public Listener {
 public:
  StreamAcceptor(int fd, std::uint16_t index, bool is_unix, std::vector<Worker*> targets,
                 LbStrategy lb);
  ~StreamAcceptor() override;
  void on_io(std::uint32_t events) override;

 private:
  Worker* pick(const void* addr) noexcept;
  void pause_for(Millis delay);
  void handle_exhaustion(int err);

  int reserve_fd_;  // released to accept-and-close when descriptors run out
  bool is_unix_;
  bool paused_ = false;
  std::vector<Worker*> targets_;
  LbStrategy lb_;
  std::uint64_t rr_next_ = 0;
  std::uint64_t rng_ = 0x9e3779b97f4a7c15ULL;
};

/// Receives datagrams and hands each to Handler::on_datagram.
class DatagramSocket final : public Listener {
 public:
  using Listener::Listener;
  void on_io(std::uint32_t events) override;
};

}  // namespace weft::detail
