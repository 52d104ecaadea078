// weft/mux/endpoint.hpp — smux sessions on weft connections: a weft::Handler
// that runs one Session per connection.
//
//   struct Echo : weft::mux::SessionHandler {
//     std::size_t on_data(weft::mux::Stream& s, weft::Bytes in) override {
//       s.write(in);
//       return in.size();
//     }
//     void on_fin(weft::mux::Stream& s) override { s.close_write(); }
//   } echo;
//   weft::mux::Endpoint ep(echo);               // accepted: server role
//   return weft::serve(ep, cfg);                // dialled: client role
#pragma once

#include <system_error>

#include "weft/handler.hpp"
#include "weft/mux/session.hpp"

namespace weft::mux {

class Endpoint : public weft::Handler {
 public:
  /// Role: automatic picks server for accepted connections, client for
  /// dialled ones (Server::dial).
  enum class RoleChoice { automatic, server, client };

  /// Validates `cfg` (throws weft::ConfigError with smux's message).
  explicit Endpoint(SessionHandler& h, const Config& cfg = {},
                    RoleChoice role = RoleChoice::automatic);

  /// The session running on `c` (null before on_open / after on_close).
  static Session* session(Conn& c) noexcept;

  Action on_open(Conn& c) override;
  std::size_t on_data(Conn& c, Bytes in) override;
  void on_drained(Conn& c) override;
  void on_close(Conn& c, std::error_code why) override;

 private:
  SessionHandler* handler_;
  Config cfg_;
  RoleChoice role_;
};

}  // namespace weft::mux
