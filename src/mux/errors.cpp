#include "weft/mux/errors.hpp"

#include <string>

namespace weft::mux {
namespace {

class MuxCategory final : public std::error_category {
 public:
  const char* name() const noexcept override { return "weft.mux"; }
  std::string message(int ev) const override {
    switch (static_cast<errc>(ev)) {
      case errc::invalid_protocol:
        return "invalid protocol (wrong version or unknown command)";
      case errc::unexpected_payload:
        return "SYN, FIN or NOP frame with a payload";
      case errc::upd_on_v1:
        return "UPD frame on a version 1 session";
      case errc::bad_upd_length:
        return "UPD frame whose payload is not 8 bytes";
      case errc::consumed_too_much:
        return "peer consumed more than sent";
      case errc::bad_stream_id:
        return "SYN with a stream id the peer may not use";
      case errc::truncated_frame:
        return "connection ended inside a frame";
      case errc::keepalive_timeout:
        return "no frame within the keepalive timeout";
      case errc::go_away:
        return "stream ids exhausted, start a new session";
      case errc::session_closed:
        return "session closed";
      case errc::transport_closed:
        return "connection closed with the stream open";
      case errc::aborted:
        return "stream aborted";
    }
    return "unknown mux error";
  }
};

}  // namespace

const std::error_category& error_category() noexcept {
  static const MuxCategory category;
  return category;
}

}  // namespace weft::mux
