// weft/sniffer.hpp — several protocols on one port: a Handler that looks at
// a connection's first bytes and hands the connection to the handler whose
// matcher says yes (connaxis' tcphttpws, evio's protocol detection).
//
//   weft::Sniffer mux;
//   mux.add(weft::http::looks_like_http, http_app).otherwise(custom_protocol);
//   weft::serve(mux, cfg);
#pragma once

#include <functional>
#include <vector>

#include "weft/handler.hpp"

namespace weft {

enum class Match { yes, no, more };

class Sniffer : public Handler {
 public:
  /// Tells whether the first bytes (everything received so far) belong to
  /// a protocol; `more` waits for more bytes.
  using Matcher = std::function<Match(Bytes first)>;

  /// Matchers are asked in order; the first yes wins.
  Sniffer& add(Matcher m, Handler& h);
  /// For connections no matcher claims (default: they are closed).
  Sniffer& otherwise(Handler& h);

  /// Server-wide events go to every distinct handler, in order.
  void on_ready(Server& s) override;
  Tick on_tick(Server& s) override;
  void on_shutdown(Server& s) override;

  /// Picks the handler, switches the connection to it, then gives it
  /// on_open and these bytes (they are not lost).
  std::size_t on_data(Conn& c, Bytes in) override;

 private:
  std::vector<Handler*> distinct() const;
  std::vector<std::pair<Matcher, Handler*>> routes_;
  Handler* fallback_ = nullptr;
};

}  // namespace weft
