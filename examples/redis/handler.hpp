// handler.hpp — the weft handler of the redis example: parses each batch of
// input, runs the commands and writes their replies back in one go.
#pragma once

#include <weft/weft.hpp>

#include "store.hpp"

namespace redis {

class RedisHandler final : public weft::Handler {
 public:
  explicit RedisHandler(Store& store) noexcept : store_(store) {}

  /// Prints "listening on <url>" for every bound address.
  void on_ready(weft::Server& server) override;
  std::size_t on_data(weft::Conn& c, weft::Bytes in) override;
  void on_close(weft::Conn& c, std::error_code why) override;
  /// Active expiry, ten times a second like Redis' default hz.
  weft::Tick on_tick(weft::Server& server) override;

 private:
  Store& store_;
};

}  // namespace redis
