// integer.hpp — Redis' strict decimal integer syntax (string2ll), shared by
// the protocol parser (lengths) and the commands (INCR, EX, SELECT, ...).
#pragma once

#include <cstdint>
#include <limits>
#include <string_view>

namespace redis {

/// Parses `s` as Redis does: an optional '-', then digits without leading
/// zeros (except "0" itself); no '+', no spaces, nothing after. False on
/// anything else or on overflow of long long.
inline bool parse_integer(std::string_view s, long long& out) noexcept {
  // Redis rejects 21+ characters outright (LONG_STR_SIZE); so do we.
  if (s.empty() || s.size() > 20) return false;
  if (s == "0") {
    out = 0;
    return true;
  }
  std::size_t i = 0;
  const bool negative = s[0] == '-';
  if (negative && ++i == s.size()) return false;
  if (s[i] < '1' || s[i] > '9') return false;
  std::uint64_t v = 0;
  for (; i < s.size(); ++i) {
    const char ch = s[i];
    if (ch < '0' || ch > '9') return false;
    const auto digit = static_cast<std::uint64_t>(ch - '0');
    if (v > (std::numeric_limits<std::uint64_t>::max() - digit) / 10) return false;
    v = v * 10 + digit;
  }
  constexpr auto kMax = static_cast<std::uint64_t>(std::numeric_limits<long long>::max());
  if (negative) {
    if (v > kMax + 1) return false;
    // -v computed in unsigned arithmetic: exact for LLONG_MIN too.
    out = static_cast<long long>(0 - v);
  } else {
    if (v > kMax) return false;
    out = static_cast<long long>(v);
  }
  return true;
}

}  // namespace redis
