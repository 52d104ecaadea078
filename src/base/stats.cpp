#include "weft/stats.hpp"

#include <cstdio>

namespace weft {

void StatsSnapshot::add(const LoopStats& s) noexcept {
  accepted += s.accepted.get();
  open += s.open.get();
  closed += s.closed.get();
  closed_peer += s.closed_peer.get();
  closed_local += s.closed_local.get();
  closed_error += s.closed_error.get();
  closed_idle += s.closed_idle.get();
  closed_pkt += s.closed_pkt.get();
  closed_sbuf += s.closed_sbuf.get();
  closed_stop += s.closed_stop.get();
  bytes_in += s.bytes_in.get();
  bytes_out += s.bytes_out.get();
  msgs_in += s.msgs_in.get();
  msgs_out += s.msgs_out.get();
  datagrams_in += s.datagrams_in.get();
  datagrams_out += s.datagrams_out.get();
  datagrams_dropped += s.datagrams_dropped.get();
  accept_errors += s.accept_errors.get();
  fd_exhausted += s.fd_exhausted.get();
  sbuf_pauses += s.sbuf_pauses.get();
  dials += s.dials.get();
  dial_errors += s.dial_errors.get();
  name_lookups += s.name_lookups.get();
  tls_handshakes += s.tls_handshakes.get();
  tls_resumed += s.tls_resumed.get();
  tls_failed += s.tls_failed.get();
  tls_timeouts += s.tls_timeouts.get();
  tls_handshaking += s.tls_handshaking.get();
  ktls_offloaded += s.ktls_offloaded.get();
  ktls_tx_only += s.ktls_tx_only.get();
  ktls_no_kernel += s.ktls_no_kernel.get();
  ktls_cipher += s.ktls_cipher.get();
  ktls_declined += s.ktls_declined.get();
  tls_own_records += s.tls_own_records.get();
}

std::string StatsSnapshot::to_string() const {
  char line[512];
  std::snprintf(
      line, sizeof line,
      "open=%llu accepted=%llu closed=%llu (peer=%llu local=%llu error=%llu idle=%llu "
      "pkt=%llu sbuf=%llu stop=%llu) in=%lluB/%llu msgs out=%lluB/%llu msgs "
      "udp_in=%llu udp_out=%llu udp_dropped=%llu accept_err=%llu fd_exhausted=%llu "
      "sbuf_pauses=%llu",
      static_cast<unsigned long long>(open), static_cast<unsigned long long>(accepted),
      static_cast<unsigned long long>(closed), static_cast<unsigned long long>(closed_peer),
      static_cast<unsigned long long>(closed_local), static_cast<unsigned long long>(closed_error),
      static_cast<unsigned long long>(closed_idle), static_cast<unsigned long long>(closed_pkt),
      static_cast<unsigned long long>(closed_sbuf), static_cast<unsigned long long>(closed_stop),
      static_cast<unsigned long long>(bytes_in), static_cast<unsigned long long>(msgs_in),
      static_cast<unsigned long long>(bytes_out), static_cast<unsigned long long>(msgs_out),
      static_cast<unsigned long long>(datagrams_in), static_cast<unsigned long long>(datagrams_out),
      static_cast<unsigned long long>(datagrams_dropped),
      static_cast<unsigned long long>(accept_errors), static_cast<unsigned long long>(fd_exhausted),
      static_cast<unsigned long long>(sbuf_pauses));
  std::string out = line;
  if (dials || name_lookups) {
    std::snprintf(line, sizeof line, " dials=%llu dial_errors=%llu lookups=%llu",
                  static_cast<unsigned long long>(dials),
                  static_cast<unsigned long long>(dial_errors),
                  static_cast<unsigned long long>(name_lookups));
    out += line;
  }
  if (tls_handshakes || tls_failed || tls_handshaking) {
    std::snprintf(line, sizeof line,
                  " tls: handshakes=%llu resumed=%llu failed=%llu timeouts=%llu active=%llu "
                  "own_records=%llu ktls: offloaded=%llu tx_only=%llu no_kernel=%llu cipher=%llu "
                  "declined=%llu",
                  static_cast<unsigned long long>(tls_handshakes),
                  static_cast<unsigned long long>(tls_resumed),
                  static_cast<unsigned long long>(tls_failed),
                  static_cast<unsigned long long>(tls_timeouts),
                  static_cast<unsigned long long>(tls_handshaking),
                  static_cast<unsigned long long>(tls_own_records),
                  static_cast<unsigned long long>(ktls_offloaded),
                  static_cast<unsigned long long>(ktls_tx_only),
                  static_cast<unsigned long long>(ktls_no_kernel),
                  static_cast<unsigned long long>(ktls_cipher),
                  static_cast<unsigned long long>(ktls_declined));
    out += line;
  }
  return out;
}

}  // namespace weft
