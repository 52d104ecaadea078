// weft/datagram.hpp — one datagram received on a udp:// listener.
#pragma once

#include <cstddef>
#include <system_error>

#include "weft/address.hpp"
#include "weft/bytes.hpp"

namespace weft {

class EventLoop;
struct LoopStats;

class Datagram {
 public:
  Datagram(EventLoop& loop, int fd, std::size_t listener, Bytes data, const SockAddr& peer,
           LoopStats* stats = nullptr) noexcept
      : loop_(&loop), fd_(fd), listener_(listener), data_(data), peer_(&peer), stats_(stats) {}

  /// The payload; valid only during on_datagram.
  Bytes data() const noexcept { return data_; }
  const SockAddr& peer() const noexcept { return *peer_; }
  std::size_t listener() const noexcept { return listener_; }
  EventLoop& loop() const noexcept { return *loop_; }
  /// Sends `payload` to the peer from the socket the datagram came in on.
  std::error_code reply(Bytes payload) const noexcept;
  /// Sends to any address from the same socket.
  std::error_code send_to(const SockAddr& to, Bytes payload) const noexcept;

 private:
  EventLoop* loop_;
  int fd_;
  std::size_t listener_;
  Bytes data_;
  const SockAddr* peer_;
  LoopStats* stats_;
};

}  // namespace weft
