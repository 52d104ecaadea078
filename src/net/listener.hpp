// The descriptors a server listens on: stream acceptors (TCP, unix) and
// datagram sockets (UDP). Each lives on one loop.
#pragma once

#include <cstdint>
#include <vector>

#include "weft/config.hpp"
#include "weft/loop.hpp"

namespace weft::detail {

class Worker;

class Listener : public IoWatcher {
 public:
  virtual ~Listener() = default;
  /// Binds the listener to its worker (before the loop runs).
  void set_owner(Worker& w) noexcept { owner_ = &w; }
  /// Starts listening on the owner's loop (after on_ready; loop thread).
  virtual void arm() = 0;
  /// Stops listening and closes the descriptor (loop thread, or after it stopped).
  virtual void close() noexcept = 0;

 protected:
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
  void arm() override;
  void close() noexcept override;
  void on_io(std::uint32_t events) override;

 private:
  Worker* pick(const void* addr) noexcept;
  void pause_for(Millis delay);
  void handle_exhaustion(int err);

  int fd_;
  int reserve_fd_;  // released to accept-and-close when descriptors run out
  std::uint16_t index_;
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
  DatagramSocket(int fd, std::uint16_t index) : fd_(fd), index_(index) {}
  ~DatagramSocket() override;
  void arm() override;
  void close() noexcept override;
  void on_io(std::uint32_t events) override;

 private:
  int fd_;
  std::uint16_t index_;
};

}  // namespace weft::detail
