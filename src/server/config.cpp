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
  check_size("httpMaxRequestLine", http.max_request_line, 64, kMiB);
  check_size("httpMaxHeadBytes", http.max_head_bytes, 256, 16 * kMiB);
  check_size("httpMaxHeaders", http.max_headers, 1, 10000);
  check_size("httpMaxBody", http.max_body, 0, 1024 * kGiB);
  check_range("httpHeaderTimeout", http.header_timeout_ms, 0, 3600000);
  if (http.max_request_line > http.max_head_bytes) {
    bad_field("httpMaxRequestLine", "must not exceed httpMaxHeadBytes");
  }
  for (char ch : http.server_name) {
    if (ch == '\r' || ch == '\n' || ch == '\0')
      bad_field("httpServerName", "must not contain CR, LF or NUL");
  }
  validate_tls();
}

void Config::validate_tls() const {
  bool any = false;
  for (const auto& url : listen)
    any = any || listener_tls(url);
  if (tls.mode != SslMode::plain && tls.mode != SslMode::tls && tls.mode != SslMode::both) {
    bad_field("sslMode", "must be plain, tls or both");
  }
  if (any && (tls.cert.pem.empty() || tls.cert.key.empty())) {
    bad_field(tls.cert.pem.empty() ? "sslPem" : "sslKey",
              "a TLS listener needs a certificate and key (sslPem and sslKey)");
  }
  for (const auto& pair : tls.sni) {
    if (pair.pem.empty() || pair.key.empty()) {
      bad_field("sslCerts", "every entry needs sslPem and sslKey");
    }
  }
  auto version = [](const std::string& v) { return v == "1.2" ? 2 : v == "1.3" ? 3 : 0; };
  if (!version(tls.min_version)) bad_field("tlsMinVersion", "must be \"1.2\" or \"1.3\"");
  if (!version(tls.max_version)) bad_field("tlsMaxVersion", "must be \"1.2\" or \"1.3\"");
  if (version(tls.min_version) > version(tls.max_version)) {
    bad_field("tlsMinVersion", "is above tlsMaxVersion");
  }
  for (const auto& proto : tls.alpn) {
    if (proto.empty() || proto.size() > 255) {
      bad_field("tlsNextProtos", "each protocol name must be 1..255 bytes");
    }
  }
  check_range("tlsSessionTicketRotation", tls.ticket_rotation_s, 60, 7 * 86400);
  check_range("tlsSessionTicketPrevious", tls.ticket_previous_keys, 0, 100);
  if (tls.client_auth != ClientAuth::none && tls.client_ca.empty()) {
    bad_field("tlsClientCA", "tlsClientAuth request/require needs a CA file to verify against");
  }
  check_range("tlsHandshakeTimeout", tls.handshake_timeout_ms, 0, 3600000);
  check_range("tlsMaxHandshakes", tls.max_handshakes, 0, kIntMax);
}

bool Config::listener_tls(const std::string& url, bool* sniff) const {
  ListenUrl u = ListenUrl::parse(url);
  bool both = false;
  bool on = false;
  switch (u.tls) {
    case UrlTls::on:
      on = true;
      break;
    case UrlTls::both:
      on = both = true;
      break;
    case UrlTls::off:
      break;
    case UrlTls::inherit:
      on = u.transport != Transport::udp && tls.mode != SslMode::plain;
      both = on && tls.mode == SslMode::both;
      break;
  }
  if (sniff) *sniff = both;
  return on;
}

std::size_t Config::loop_count() const noexcept {
  if (ncpu == -1) {
    const unsigned n = std::thread::hardware_concurrency();
    return n == 0 ? 1 : n;  // 0: the count is unknown
  }
  return ncpu > 1 ? static_cast<std::size_t>(ncpu) : 1;
}

}  // namespace weft
