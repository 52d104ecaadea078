#include "weft/error.hpp"

namespace weft {
namespace {

class WeftCategory final : public std::error_category {
 public:
  const char* name() const noexcept override { return "weft"; }
  std::string message(int ev) const override {
    switch (static_cast<errc>(ev)) {
      case errc::packet_too_large:
        return "unconsumed input exceeds pktSizeLimit";
      case errc::send_buffer_full:
        return "queued output exceeds cliSbufLimit";
      case errc::idle_timeout:
        return "idle for longer than idleLimit";
      case errc::server_stopping:
        return "server stopped before the connection finished";
      case errc::aborted:
        return "connection aborted by the application";
      case errc::detached:
        return "connection detached by the application";
      case errc::conn_gone:
        return "connection is gone";
      case errc::loop_stopped:
        return "event loop is not running";
      case errc::queue_full:
        return "event loop task queue is full";
      case errc::tls_handshake_failed:
        return "TLS handshake failed";
      case errc::tls_handshake_timeout:
        return "TLS handshake timed out";
      case errc::tls_error:
        return "TLS protocol error";
      case errc::tls_busy:
        return "too many TLS handshakes waiting";
    }
    return "unknown weft error";
  }
};

}  // namespace

const std::error_category& error_category() noexcept {
  static const WeftCategory category;
  return category;
}

}  // namespace weft
