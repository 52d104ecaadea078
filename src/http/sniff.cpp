#include "weft/http/sniff.hpp"

#include <algorithm>
#include <string_view>

namespace weft::http {

Match looks_like_http(Bytes first) noexcept {
  static constexpr std::string_view kMethods[] = {
      "GET ", "POST ", "PUT ", "HEAD ", "DELETE ", "OPTIONS ", "PATCH ", "CONNECT ", "TRACE "};
  bool prefix = false;
  for (std::string_view m : kMethods) {
    const std::size_t n = std::min(m.size(), first.size());
    if (first.substr(0, n) != m.substr(0, n)) continue;
    if (n == m.size()) return Match::yes;
    prefix = true;
  }
  return prefix ? Match::more : Match::no;
}

}  // namespace weft::http
