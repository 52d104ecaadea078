// libFuzzer target for ListenUrl::parse. ConfigError is the only allowed
// failure; anything else (another exception, a crash, a broken invariant)
// is a bug.
#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "weft/address.hpp"
#include "weft/error.hpp"

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  try {
    const weft::ListenUrl u = weft::ListenUrl::parse(in);
    check(u.text == in);
    check(u.backlog >= 1 && u.backlog <= 65535);
    if (u.transport == weft::Transport::unix_stream) {
      check(u.family == AF_UNIX && !u.path.empty() && u.host.empty() && !u.reuseport);
    } else {
      check(u.family == AF_INET || u.family == AF_INET6);
      check(u.path.empty());
    }
    // Parsing is a pure function of the text.
    const weft::ListenUrl again = weft::ListenUrl::parse(u.text);
    check(again.family == u.family && again.host == u.host && again.port == u.port &&
          again.path == u.path && again.reuseport == u.reuseport && again.backlog == u.backlog &&
          again.v6only == u.v6only && again.transport == u.transport);
  } catch (const weft::ConfigError&) {
  }
  return 0;
}
