#include "weft/datagram.hpp"

#include <sys/socket.h>

#include <cerrno>

#include "weft/stats.hpp"

namespace weft {

std::error_code Datagram::reply(Bytes payload) const noexcept {
  return send_to(*peer_, payload);
}

std::error_code Datagram::send_to(const SockAddr& to, Bytes payload) const noexcept {
  ssize_t n = ::sendto(fd_, payload.data(), payload.size(), MSG_DONTWAIT | MSG_NOSIGNAL, to.get(),
                       to.size());
  if (n < 0) return {errno, std::system_category()};
  if (stats_) {
    stats_->datagrams_out.add();
    stats_->bytes_out.add(static_cast<std::uint64_t>(n));
  }
  return {};
}

}  // namespace weft
