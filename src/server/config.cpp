// Config::validate and loop_count. The limits here are the documented valid
// ranges (docs/CONFIG.md); messages use the JSON field names users write.
#include <cstdint>
#include <string>
#include <thread>

#include "weft/address.hpp"
#include "weft/config.hpp"
#include "weft/error.hpp"

namespace weft {
namespace {

[[noreturn]] void bad_field(const char* field, const std::string& why) {
  throw ConfigError(std::string("config field \"") + field + "\": " + why);
}

void check_range(const char* field, std::int64_t v, std::int64_t lo, std::int64_t hi) {
  if (v < lo || v > hi) {
    bad_field(field, "must be between " + std::to_string(lo) + " and " + std::to_string(hi) +
                         ", got " + std::to_string(v));
  }
}

// size_t fields: compared unsigned so huge values are not wrapped negative.
void check_size(const char* field, std::size_t v, std::uint64_t lo, std::uint64_t hi) {
  if (v < lo || v > hi) {
    bad_field(field, "must be between " + std::to_string(lo) + " and " + std::to_string(hi) +
                         ", got " + std::to_string(v));
  }
}

constexpr std::uint64_t kMiB = 1024 * 1024;
constexpr std::uint64_t kGiB = 1024 * kMiB;
constexpr std::int64_t kIntMax = 2147483647;

}  // namespace

void Config::validate() const {
  if (listen.empty()) bad_field("listenAddrs", "must name at least one address");
  for (std::size_t i = 0; i < listen.size(); ++i) {
    try {
      (void)ListenUrl::parse(listen[i]);
    } catch (const ConfigError& e) {
      bad_field("listenAddrs", e.what());
    }
    for (std::size_t j = 0; j < i; ++j) {
      if (listen[j] == listen[i]) bad_field("listenAddrs", "\"" + listen[i] + "\" is listed twice");
    }
  }
  check_range("ncpu", ncpu, -1, 1024);
  if (lb_strategy != LbStrategy::rr && lb_strategy != LbStrategy::random &&
      lb_strategy != LbStrategy::leastconn && lb_strategy != LbStrategy::hash) {
    bad_field("lbStrategy", "must be rr, random, leastconn or hash");
  }
  check_size("bufSize", buf_size, 4096, 64 * kMiB);
  check_size("chanSize", chan_size, 0, 16 * kMiB);
  check_size("pktSizeLimit", pkt_size_limit, 0, 4 * kGiB);
  check_size("cliSbufLimit", cli_sbuf_limit, 0, 4 * kGiB);
  if (sbuf_policy != SbufPolicy::pause && sbuf_policy != SbufPolicy::close) {
    bad_field("cliSbufPolicy", "must be pause or close");
  }
  check_range("idleCheckInt", idle_check_int_ms, 1, 3600000);
  check_range("idleLimit", idle_limit_ms, 0, kIntMax);
  check_range("maxAcceptFD", max_accept_fd, 0, kIntMax);
  check_range("pollWait", poll_wait_ms, 1, 60000);
  check_range("statInterval", stat_interval_ms, 100, 86400000);
  // Linux caps TCP_KEEPIDLE at 32767 seconds.
  check_range("tcpKeepAlive", tcp_keepalive_s, 0, 32767);
  check_range("stopTimeout", stop_timeout_ms, 0, 3600000);
}

std::size_t Config::loop_count() const noexcept {
  if (ncpu == -1) {
    const unsigned n = std::thread::hardware_concurrency();
    return n == 0 ? 1 : n;  // 0: the count is unknown
  }
  return ncpu > 1 ? static_cast<std::size_t>(ncpu) : 1;
}

}  // namespace weft
