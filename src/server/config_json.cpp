// Config <-> JSON with connaxis field names. Strict on purpose: a typo in a
// field name or a value of the wrong type is an error, never a silent default.
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "weft/config.hpp"
#include "weft/error.hpp"

namespace weft {
namespace {

using json = nlohmann::json;

// JSON-quoted, so odd bytes in a name or value print visibly.
std::string quote(std::string_view s) {
  return json(std::string(s)).dump(-1, ' ', false, json::error_handler_t::replace);
}

[[noreturn]] void bad(std::string_view field, const std::string& why) {
  throw ConfigError("config field " + quote(field) + ": " + why);
}

std::string kind(const json& v) {
  if (v.is_number_float()) return "number " + v.dump();
  return v.type_name();
}

std::int64_t get_integer(std::string_view field, const json& v) {
  // nlohmann stores integers beyond 64 bits as doubles.
  if (v.is_number_float() && std::abs(v.get<double>()) >= 9.2e18) {
    bad(field, v.dump() + " is out of range");
  }
  if (!v.is_number_integer()) bad(field, "expected an integer, got " + kind(v));
  if (v.is_number_unsigned()) {
    const auto u = v.get<std::uint64_t>();
    if (u > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
      bad(field, std::to_string(u) + " is out of range");
    }
    return static_cast<std::int64_t>(u);
  }
  return v.get<std::int64_t>();
}

int get_int(std::string_view field, const json& v) {
  const std::int64_t n = get_integer(field, v);
  if (n < std::numeric_limits<int>::min() || n > std::numeric_limits<int>::max()) {
    bad(field, std::to_string(n) + " is out of range");
  }
  return static_cast<int>(n);
}

std::size_t get_size(std::string_view field, const json& v) {
  const std::int64_t n = get_integer(field, v);
  if (n < 0) bad(field, "must not be negative, got " + std::to_string(n));
  return static_cast<std::size_t>(n);
}

bool get_bool(std::string_view field, const json& v) {
  if (!v.is_boolean()) bad(field, "expected true or false, got " + kind(v));
  return v.get<bool>();
}

const std::string& get_string(std::string_view field, const json& v) {
  if (!v.is_string()) bad(field, "expected a string, got " + kind(v));
  return v.get_ref<const std::string&>();
}

constexpr std::string_view kLbNames[] = {"rr", "random", "leastconn", "hash"};
constexpr std::string_view kSbufNames[] = {"pause", "close"};
constexpr std::string_view kBackendNames[] = {"epoll", "io_uring", "auto"};
constexpr std::string_view kSslModeNames[] = {"plain", "tls", "both"};
constexpr std::string_view kKtlsNames[] = {"off", "auto", "required"};
constexpr std::string_view kRecordLayerNames[] = {"weft", "openssl"};
constexpr std::string_view kClientAuthNames[] = {"none", "request", "require"};

template <typename Enum, std::size_t N>
Enum get_enum(std::string_view field, const json& v, const std::string_view (&names)[N]) {
  const std::string& s = get_string(field, v);
  std::string choices;
  for (std::size_t i = 0; i < N; ++i) {
    if (s == names[i]) return static_cast<Enum>(i);
    choices += (i == 0 ? "" : i + 1 == N ? " or " : ", ") + quote(names[i]);
  }
  bad(field, "must be " + choices + ", got " + quote(s));
}

std::vector<std::string> get_listen(std::string_view field, const json& v) {
  if (!v.is_array()) bad(field, "expected an array of strings, got " + kind(v));
  std::vector<std::string> out;
  for (std::size_t i = 0; i < v.size(); ++i) {
    out.push_back(get_string(std::string(field) + "[" + std::to_string(i) + "]", v[i]));
  }
  return out;
}

std::vector<TlsCertPair> get_cert_pairs(std::string_view field, const json& v) {
  if (!v.is_array()) bad(field, "expected an array of {\"sslPem\", \"sslKey\"} objects");
  std::vector<TlsCertPair> out;
  for (std::size_t i = 0; i < v.size(); ++i) {
    const std::string at = std::string(field) + "[" + std::to_string(i) + "]";
    const json& e = v[i];
    if (!e.is_object()) bad(at, "expected an object with sslPem and sslKey");
    TlsCertPair pair;
    for (const auto& [key, value] : e.items()) {
      if (key == "sslPem") {
        pair.pem = get_string(at + ".sslPem", value);
      } else if (key == "sslKey") {
        pair.key = get_string(at + ".sslKey", value);
      } else {
        bad(at, "unknown field " + quote(key) + " (known: sslPem, sslKey)");
      }
    }
    out.push_back(std::move(pair));
  }
  return out;
}

struct Field {
  std::string_view name;
  void (*apply)(std::string_view name, const json& v, Config& c);
};

// One row per JSON field, in the order docs/CONFIG.md and to_json use.
const Field kFields[] = {
    {"listenAddrs", [](auto n, const json& v, Config& c) { c.listen = get_listen(n, v); }},
    {"ncpu", [](auto n, const json& v, Config& c) { c.ncpu = get_int(n, v); }},
    {"lbStrategy", [](auto n, const json& v,
                      Config& c) { c.lb_strategy = get_enum<LbStrategy>(n, v, kLbNames); }},
    {"bufSize", [](auto n, const json& v, Config& c) { c.buf_size = get_size(n, v); }},
    {"chanSize", [](auto n, const json& v, Config& c) { c.chan_size = get_size(n, v); }},
    {"pktSizeLimit", [](auto n, const json& v, Config& c) { c.pkt_size_limit = get_size(n, v); }},
    {"cliSbufLimit", [](auto n, const json& v, Config& c) { c.cli_sbuf_limit = get_size(n, v); }},
    {"cliSbufPolicy", [](auto n, const json& v,
                         Config& c) { c.sbuf_policy = get_enum<SbufPolicy>(n, v, kSbufNames); }},
    {"idleCheckInt", [](auto n, const json& v, Config& c) { c.idle_check_int_ms = get_int(n, v); }},
    {"idleLimit", [](auto n, const json& v, Config& c) { c.idle_limit_ms = get_int(n, v); }},
    {"maxAcceptFD", [](auto n, const json& v, Config& c) { c.max_accept_fd = get_int(n, v); }},
    {"pollWait", [](auto n, const json& v, Config& c) { c.poll_wait_ms = get_int(n, v); }},
    {"ioBackend", [](auto n, const json& v,
                     Config& c) { c.io_backend = get_enum<IoBackend>(n, v, kBackendNames); }},
    {"printStat", [](auto n, const json& v, Config& c) { c.print_stat = get_bool(n, v); }},
    {"statInterval", [](auto n, const json& v, Config& c) { c.stat_interval_ms = get_int(n, v); }},
    {"tcpNoDelay", [](auto n, const json& v, Config& c) { c.tcp_nodelay = get_bool(n, v); }},
    {"tcpKeepAlive", [](auto n, const json& v, Config& c) { c.tcp_keepalive_s = get_int(n, v); }},
    {"stopTimeout", [](auto n, const json& v, Config& c) { c.stop_timeout_ms = get_int(n, v); }},
    {"sslMode",
     [](auto n, const json& v, Config& c) { c.tls.mode = get_enum<SslMode>(n, v, kSslModeNames); }},
    {"sslPem", [](auto n, const json& v, Config& c) { c.tls.cert.pem = get_string(n, v); }},
    {"sslKey", [](auto n, const json& v, Config& c) { c.tls.cert.key = get_string(n, v); }},
    {"sslCerts", [](auto n, const json& v, Config& c) { c.tls.sni = get_cert_pairs(n, v); }},
    {"tlsMinVersion",
     [](auto n, const json& v, Config& c) { c.tls.min_version = get_string(n, v); }},
    {"tlsMaxVersion",
     [](auto n, const json& v, Config& c) { c.tls.max_version = get_string(n, v); }},
    {"tlsNextProtos", [](auto n, const json& v, Config& c) { c.tls.alpn = get_listen(n, v); }},
    {"tlsSessionTicketsDisabled",
     [](auto n, const json& v, Config& c) { c.tls.tickets_disabled = get_bool(n, v); }},
    {"tlsSessionTicketSeed",
     [](auto n, const json& v, Config& c) { c.tls.ticket_seed = get_string(n, v); }},
    {"tlsSessionTicketContext",
     [](auto n, const json& v, Config& c) { c.tls.ticket_context = get_string(n, v); }},
    {"tlsSessionTicketRotation",
     [](auto n, const json& v, Config& c) { c.tls.ticket_rotation_s = get_int(n, v); }},
    {"tlsSessionTicketPrevious",
     [](auto n, const json& v, Config& c) { c.tls.ticket_previous_keys = get_int(n, v); }},
    {"sslOcspStaple",
     [](auto n, const json& v, Config& c) { c.tls.ocsp_staple = get_string(n, v); }},
    {"tlsClientAuth",
     [](auto n, const json& v, Config& c) {
       c.tls.client_auth = get_enum<ClientAuth>(n, v, kClientAuthNames);
     }},
    {"tlsClientCA", [](auto n, const json& v, Config& c) { c.tls.client_ca = get_string(n, v); }},
    {"tlsHandshakeTimeout",
     [](auto n, const json& v, Config& c) { c.tls.handshake_timeout_ms = get_int(n, v); }},
    {"tlsMaxHandshakes",
     [](auto n, const json& v, Config& c) { c.tls.max_handshakes = get_int(n, v); }},
    {"ktlsPolicy",
     [](auto n, const json& v, Config& c) { c.tls.ktls = get_enum<KtlsPolicy>(n, v, kKtlsNames); }},
    {"tlsRecordLayer",
     [](auto n, const json& v,
        Config& c) { c.tls.record_layer = get_enum<TlsRecordLayer>(n, v, kRecordLayerNames); }},
    {"httpMaxRequestLine",
     [](auto n, const json& v, Config& c) { c.http.max_request_line = get_size(n, v); }},
    {"httpMaxHeadBytes",
     [](auto n, const json& v, Config& c) { c.http.max_head_bytes = get_size(n, v); }},
    {"httpMaxHeaders",
     [](auto n, const json& v, Config& c) { c.http.max_headers = get_size(n, v); }},
    {"httpMaxBody", [](auto n, const json& v, Config& c) { c.http.max_body = get_size(n, v); }},
    {"httpHeaderTimeout",
     [](auto n, const json& v, Config& c) { c.http.header_timeout_ms = get_int(n, v); }},
    {"httpServerName",
     [](auto n, const json& v, Config& c) { c.http.server_name = get_string(n, v); }},
};

// connaxis fields weft has no equivalent for yet: named, so a connaxis file
// fails with a clear reason rather than "unknown".
constexpr std::string_view kNotYet[] = {
    "tlsEngine",
    "twInterval",
    "dialKeepAlive",
    "dialPolling",
};

bool iequal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    auto lo = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
    if (lo(a[i]) != lo(b[i])) return false;
  }
  return true;
}

[[noreturn]] void unknown_field(const std::string& key) {
  for (std::string_view n : kNotYet) {
    if (key == n) {
      throw ConfigError(
          "config field " + quote(key) + " (connaxis) is not supported yet by weft; remove it" +
          (key == "dialKeepAlive" ? " (weft::Redialer keeps a dialed connection up)" : ""));
    }
  }
  std::string msg = "unknown config field " + quote(key);
  for (const Field& f : kFields) {
    if (iequal(key, f.name)) msg += " (did you mean " + quote(f.name) + "?)";
  }
  throw ConfigError(msg);
}

json parse_json(std::string_view text) {
  // Config files are shallow; a deep document is a mistake or an attack.
  constexpr int kMaxDepth = 16;
  std::vector<std::string> seen;
  auto check = [&](int depth, json::parse_event_t ev, json& parsed) {
    if (depth > kMaxDepth) throw ConfigError("config is nested too deeply");
    if (ev == json::parse_event_t::key && depth == 1) {
      const auto& key = parsed.get_ref<const std::string&>();
      for (const auto& s : seen) {
        if (s == key) throw ConfigError("config field " + quote(key) + " is given twice");
      }
      seen.push_back(key);
    }
    return true;
  };
  try {
    return json::parse(text.begin(), text.end(), check, true, /*ignore_comments=*/true);
  } catch (const json::exception& e) {
    // parse_error, or out_of_range for a number like 1e400. Drop nlohmann's
    // "[json.exception.parse_error.101] " tag; keep the position.
    std::string_view what = e.what();
    if (auto tag = what.find("] "); tag != std::string_view::npos) what.remove_prefix(tag + 2);
    throw ConfigError("invalid JSON: " + std::string(what));
  }
}

}  // namespace

Config parse_config(std::string_view text) {
  return parse_config(text, Config{});
}

Config parse_config(std::string_view text, const Config& base) {
  const json doc = parse_json(text);
  if (!doc.is_object()) {
    throw ConfigError("config must be a JSON object, got " + std::string(doc.type_name()));
  }
  Config cfg = base;
  for (const auto& [key, value] : doc.items()) {
    const Field* field = nullptr;
    for (const Field& f : kFields) {
      if (f.name == key) field = &f;
    }
    if (field == nullptr) unknown_field(key);
    field->apply(field->name, value, cfg);
  }
  cfg.validate();
  return cfg;
}

Config load_config(const std::string& path) {
  return load_config(path, Config{});
}

Config load_config(const std::string& path, const Config& base) {
  auto fail = [&](const std::string& why) {
    return ConfigError("config file " + quote(path) + ": " + why);
  };
  auto sys = [] { return std::error_code(errno, std::generic_category()).message(); };
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> f(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (!f) throw fail(sys());
  constexpr std::size_t kMaxBytes = 16 * 1024 * 1024;
  std::string text;
  char buf[16384];
  while (std::size_t n = std::fread(buf, 1, sizeof(buf), f.get())) {
    text.append(buf, n);
    if (text.size() > kMaxBytes) throw fail("larger than 16 MiB; is this a config file?");
  }
  if (std::ferror(f.get())) throw fail(sys());
  try {
    return parse_config(text, base);
  } catch (const ConfigError& e) {
    throw fail(e.what());
  }
}

std::string to_json(const Config& cfg) {
  // ordered_json keeps the documented field order instead of sorting.
  nlohmann::ordered_json j;
  j["listenAddrs"] = cfg.listen;
  j["ncpu"] = cfg.ncpu;
  const auto lb = static_cast<std::size_t>(cfg.lb_strategy);
  j["lbStrategy"] = std::string(lb < std::size(kLbNames) ? kLbNames[lb] : "?");
  j["bufSize"] = cfg.buf_size;
  j["chanSize"] = cfg.chan_size;
  j["pktSizeLimit"] = cfg.pkt_size_limit;
  j["cliSbufLimit"] = cfg.cli_sbuf_limit;
  const auto sp = static_cast<std::size_t>(cfg.sbuf_policy);
  j["cliSbufPolicy"] = std::string(sp < std::size(kSbufNames) ? kSbufNames[sp] : "?");
  j["idleCheckInt"] = cfg.idle_check_int_ms;
  j["idleLimit"] = cfg.idle_limit_ms;
  j["maxAcceptFD"] = cfg.max_accept_fd;
  j["pollWait"] = cfg.poll_wait_ms;
  j["ioBackend"] = std::string(kBackendNames[static_cast<std::size_t>(cfg.io_backend)]);
  j["printStat"] = cfg.print_stat;
  j["statInterval"] = cfg.stat_interval_ms;
  j["tcpNoDelay"] = cfg.tcp_nodelay;
  j["tcpKeepAlive"] = cfg.tcp_keepalive_s;
  j["stopTimeout"] = cfg.stop_timeout_ms;
  const TlsConfig& t = cfg.tls;
  auto name = [](const auto& names, auto e) {
    const auto i = static_cast<std::size_t>(e);
    return std::string(i < std::size(names) ? names[i] : "?");
  };
  j["sslMode"] = name(kSslModeNames, t.mode);
  // PEM text given inline is not echoed back (it may be a private key).
  auto path_or_inline = [](const std::string& v) {
    return v.starts_with("-----BEGIN") ? std::string("(inline PEM)") : v;
  };
  j["sslPem"] = path_or_inline(t.cert.pem);
  j["sslKey"] = path_or_inline(t.cert.key);
  j["sslCerts"] = nlohmann::ordered_json::array();
  for (const auto& pair : t.sni) {
    j["sslCerts"].push_back(
        {{"sslPem", path_or_inline(pair.pem)}, {"sslKey", path_or_inline(pair.key)}});
  }
  j["tlsMinVersion"] = t.min_version;
  j["tlsMaxVersion"] = t.max_version;
  j["tlsNextProtos"] = t.alpn;
  j["tlsSessionTicketsDisabled"] = t.tickets_disabled;
  j["tlsSessionTicketSeed"] = t.ticket_seed.empty() ? "" : "(set)";
  j["tlsSessionTicketContext"] = t.ticket_context;
  j["tlsSessionTicketRotation"] = t.ticket_rotation_s;
  j["tlsSessionTicketPrevious"] = t.ticket_previous_keys;
  j["sslOcspStaple"] = t.ocsp_staple;
  j["tlsClientAuth"] = name(kClientAuthNames, t.client_auth);
  j["tlsClientCA"] = t.client_ca;
  j["tlsHandshakeTimeout"] = t.handshake_timeout_ms;
  j["tlsMaxHandshakes"] = t.max_handshakes;
  j["ktlsPolicy"] = name(kKtlsNames, t.ktls);
  j["tlsRecordLayer"] = name(kRecordLayerNames, t.record_layer);
  j["httpMaxRequestLine"] = cfg.http.max_request_line;
  j["httpMaxHeadBytes"] = cfg.http.max_head_bytes;
  j["httpMaxHeaders"] = cfg.http.max_headers;
  j["httpMaxBody"] = cfg.http.max_body;
  j["httpHeaderTimeout"] = cfg.http.header_timeout_ms;
  j["httpServerName"] = cfg.http.server_name;
  return j.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n";
}

}  // namespace weft
