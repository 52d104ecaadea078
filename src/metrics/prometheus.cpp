// LoopStats as Prometheus text (exposition format 0.0.4): a table of metric
// families, each a list of (counter, label value) pairs, rendered per loop.
#include <algorithm>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "weft/error.hpp"
#include "weft/metrics.hpp"
#include "weft/server.hpp"

namespace weft {
namespace {

struct Series {
  Counter LoopStats::*counter;
  const char* label_value;  // the family's label (reason, mode), or null
};

struct Family {
  const char* name;  // after the prefix
  const char* type;  // counter | gauge
  const char* help;
  const char* label;  // the label that tells the series apart, or null
  std::initializer_list<Series> series;
  bool tls;  // shown once TLS was seen (or MetricsOptions::always_tls)
};

const std::initializer_list<Family> kFamilies = {
    {"connections_accepted_total",
     "counter",
     "Connections accepted onto the loop.",
     nullptr,
     {{&LoopStats::accepted, nullptr}},
     false},
    {"connections_open",
     "gauge",
     "Connections open now, accepted and dialed.",
     nullptr,
     {{&LoopStats::open, nullptr}},
     false},
    {"connections_closed_total",
     "counter",
     "Connections closed, by reason.",
     "reason",
     {{&LoopStats::closed_peer, "peer"},
      {&LoopStats::closed_local, "local"},
      {&LoopStats::closed_error, "error"},
      {&LoopStats::closed_idle, "idle_timeout"},
      {&LoopStats::closed_pkt, "packet_too_large"},
      {&LoopStats::closed_sbuf, "send_buffer_full"},
      {&LoopStats::closed_stop, "server_stopping"}},
     false},
    {"received_bytes_total",
     "counter",
     "Bytes read from connections.",
     nullptr,
     {{&LoopStats::bytes_in, nullptr}},
     false},
    {"sent_bytes_total",
     "counter",
     "Bytes handed to the kernel for connections.",
     nullptr,
     {{&LoopStats::bytes_out, nullptr}},
     false},
    {"data_events_total",
     "counter",
     "on_data calls that consumed bytes.",
     nullptr,
     {{&LoopStats::msgs_in, nullptr}},
     false},
    {"writes_total",
     "counter",
     "write() and writev() calls on connections.",
     nullptr,
     {{&LoopStats::msgs_out, nullptr}},
     false},
    {"datagrams_received_total",
     "counter",
     "UDP datagrams received.",
     nullptr,
     {{&LoopStats::datagrams_in, nullptr}},
     false},
    {"datagrams_sent_total",
     "counter",
     "UDP datagrams sent.",
     nullptr,
     {{&LoopStats::datagrams_out, nullptr}},
     false},
    {"datagrams_dropped_total",
     "counter",
     "UDP datagrams dropped for being larger than bufSize.",
     nullptr,
     {{&LoopStats::datagrams_dropped, nullptr}},
     false},
    {"accept_errors_total",
     "counter",
     "Failed accept() calls, descriptor exhaustion included.",
     nullptr,
     {{&LoopStats::accept_errors, nullptr}},
     false},
    {"fd_exhausted_total",
     "counter",
     "Accepts that hit EMFILE or ENFILE.",
     nullptr,
     {{&LoopStats::fd_exhausted, nullptr}},
     false},
    {"read_pauses_total",
     "counter",
     "Reads paused because queued output passed cliSbufLimit.",
     nullptr,
     {{&LoopStats::sbuf_pauses, nullptr}},
     false},
    {"dials_total",
     "counter",
     "Outbound connects started; each address of a name counts.",
     nullptr,
     {{&LoopStats::dials, nullptr}},
     false},
    {"dial_errors_total",
     "counter",
     "Outbound dials that failed before on_open.",
     nullptr,
     {{&LoopStats::dial_errors, nullptr}},
     false},
    {"name_lookups_total",
     "counter",
     "Host names looked up for outbound dials.",
     nullptr,
     {{&LoopStats::name_lookups, nullptr}},
     false},
    {"tls_handshakes_total",
     "counter",
     "TLS handshakes completed.",
     nullptr,
     {{&LoopStats::tls_handshakes, nullptr}},
     true},
    {"tls_resumed_handshakes_total",
     "counter",
     "Completed TLS handshakes that resumed a session.",
     nullptr,
     {{&LoopStats::tls_resumed, nullptr}},
     true},
    {"tls_handshake_failures_total",
     "counter",
     "TLS handshakes that failed.",
     nullptr,
     {{&LoopStats::tls_failed, nullptr}},
     true},
    {"tls_handshake_timeouts_total",
     "counter",
     "TLS handshakes closed by tlsHandshakeTimeout.",
     nullptr,
     {{&LoopStats::tls_timeouts, nullptr}},
     true},
    {"tls_handshakes_in_progress",
     "gauge",
     "TLS handshakes in progress or waiting.",
     nullptr,
     {{&LoopStats::tls_handshaking, nullptr}},
     true},
    {"tls_own_record_layer_total",
     "counter",
     "TLS 1.3 connections handed from OpenSSL to weft's record layer.",
     nullptr,
     {{&LoopStats::tls_own_records, nullptr}},
     true},
    {"ktls_offloaded_total",
     "counter",
     "TLS connections offloaded to the kernel, by direction.",
     "mode",
     {{&LoopStats::ktls_offloaded, "tx_rx"}, {&LoopStats::ktls_tx_only, "tx"}},
     true},
    {"ktls_fallbacks_total",
     "counter",
     "TLS connections kept in user space, by reason.",
     "reason",
     {{&LoopStats::ktls_no_kernel, "no_kernel"},
      {&LoopStats::ktls_cipher, "cipher"},
      {&LoopStats::ktls_declined, "declined"}},
     true},
};

bool name_char(char c, bool first, bool colon_ok) {
  const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
  const bool digit = c >= '0' && c <= '9';
  return alpha || (colon_ok && c == ':') || (!first && digit);
}

bool valid_name(std::string_view s, bool colon_ok) {
  if (s.empty()) return false;
  for (std::size_t i = 0; i < s.size(); ++i)
    if (!name_char(s[i], i == 0, colon_ok)) return false;
  return true;
}

// Label values escape backslash, double quote and newline.
void append_escaped(std::string& out, std::string_view v) {
  for (char c : v) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
}

bool saw_tls(std::span<const LoopStats* const> loops) {
  return std::any_of(loops.begin(), loops.end(), [](const LoopStats* s) {
    return s->tls_handshakes.get() || s->tls_failed.get() || s->tls_handshaking.get();
  });
}

}  // namespace

std::string validate(const MetricsOptions& opts) {
  if (!valid_name(opts.prefix, true))
    return "prefix: \"" + opts.prefix + "\" is not a metric name ([a-zA-Z_:][a-zA-Z0-9_:]*)";
  for (std::size_t i = 0; i < opts.labels.size(); ++i) {
    const std::string& name = opts.labels[i].first;
    if (!valid_name(name, false) || name.starts_with("__"))
      return "labels: \"" + name + "\" is not a label name ([a-zA-Z_][a-zA-Z0-9_]*, no leading __)";
    if (name == "loop" || name == "reason" || name == "mode")
      return "labels: \"" + name + "\" is weft's own label";
    for (std::size_t j = 0; j < i; ++j)
      if (opts.labels[j].first == name) return "labels: \"" + name + "\" given twice";
  }
  return {};
}

std::string prometheus_text(std::span<const LoopStats* const> loops, const MetricsOptions& opts) {
  if (std::string why = validate(opts); !why.empty()) throw ConfigError("metrics: " + why);
  std::string common;  // `name="value",` for the caller's labels
  for (const auto& [name, value] : opts.labels) {
    common += name;
    common += "=\"";
    append_escaped(common, value);
    common += "\",";
  }
  const bool tls = opts.always_tls || saw_tls(loops);
  std::string out;
  out.reserve(256 * kFamilies.size() * (loops.size() + 1));
  for (const Family& f : kFamilies) {
    if (f.tls && !tls) continue;
    const std::string name = opts.prefix + "_" + f.name;
    out += "# HELP " + name + ' ' + f.help + '\n';
    out += "# TYPE " + name + ' ' + f.type + '\n';
    for (std::size_t i = 0; i < loops.size(); ++i) {
      for (const Series& s : f.series) {
        out += name;
        out += '{';
        out += common;
        out += "loop=\"" + std::to_string(i) + '"';
        if (f.label) out += std::string(",") + f.label + "=\"" + s.label_value + '"';
        out += "} ";
        out += std::to_string((loops[i]->*s.counter).get());
        out += '\n';
      }
    }
  }
  return out;
}

std::string prometheus_text(const Server& server, const MetricsOptions& opts) {
  std::vector<const LoopStats*> loops;
  loops.reserve(server.loop_count());
  for (std::size_t i = 0; i < server.loop_count(); ++i)
    loops.push_back(&server.loop_stats(i));
  return prometheus_text(loops, opts);
}

}  // namespace weft
