// commands.hpp — the command table: runs one parsed command against the
// store and appends the reply, formatted byte for byte as Redis 7 does.
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "store.hpp"

namespace redis {

/// What the connection should do after the reply.
enum class After {
  keep_open,
  close,  ///< QUIT: close once the reply is flushed
};

/// Runs `argv` (argv[0] is the command name, any case) and appends its
/// RESP2 reply to `out`. `now` is the clock expiry is judged by.
After execute(Store& store, std::span<const std::string_view> argv, Millis now, std::string& out);

}  // namespace redis
