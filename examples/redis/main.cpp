// main.cpp — a Redis-compatible key-value server on weft (strings with
// expiry; see README.md). Try: redis-cli -p 6380 SET k v EX 10
#include <cstdio>
#include <exception>

#include <weft/weft.hpp>

#include "handler.hpp"
#include "store.hpp"

int main(int argc, char** argv) {
  try {
    weft::CommandLine cl = weft::parse_command_line(argc, argv, "tcp://127.0.0.1:6380");
    if (cl.help) {
      std::fputs(cl.usage.c_str(), stdout);
      return 0;
    }
    weft::Config cfg = std::move(cl.config);
    // A command must fit in the input buffer, and Redis allows 512 MiB
    // values: use Redis' client-query-buffer-limit (1 GiB) unless the
    // configuration chose a limit of its own.
    if (cfg.pkt_size_limit == weft::Config{}.pkt_size_limit) cfg.pkt_size_limit = 1024UL << 20;

    redis::Store store(redis::Store::shards_for_loops(cfg.loop_count()));
    redis::RedisHandler handler(store);
    return weft::serve(handler, std::move(cfg));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "redis: %s\n", e.what());
    return 2;
  }
}
