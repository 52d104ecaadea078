#include "ws/client_deflate.hpp"

#include <algorithm>
#include <charconv>

#include "http/request_parser.hpp"
#include "ws/lists.hpp"

namespace weft::ws::detail {

namespace {

// A window size parameter: 8..15, digits only.
int parse_bits(std::string_view v) noexcept {
  if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
  int bits = 0;
  const auto r = std::from_chars(v.data(), v.data() + v.size(), bits);
  if (r.ec != std::errc{} || r.ptr != v.data() + v.size() || bits < 8 || bits > 15) return 0;
  return bits;
}

}  // namespace

std::string client_deflate_offer(const DeflateOptions& ours) {
  std::string offer = "permessage-deflate; client_max_window_bits";
  if (ours.server_no_context_takeover) offer += "; server_no_context_takeover";
  if (ours.server_max_window_bits >= 9 && ours.server_max_window_bits < 15) {
    offer += "; server_max_window_bits=" + std::to_string(ours.server_max_window_bits);
  }
  if (ours.client_no_context_takeover) offer += "; client_no_context_takeover";
  return offer;
}

const char* accept_deflate_answer(std::string_view answer, const DeflateOptions& ours,
                                  DeflateParams& params) {
  const auto extensions = split_list(answer);
  if (extensions.size() != 1) return "the server chose an extension we did not offer";
  std::string_view rest = extensions[0];
  bool first = true;
  bool seen_snt = false, seen_cnt = false, seen_sb = false, seen_cb = false;
  params = DeflateParams{};
  while (!rest.empty() || first) {
    const std::size_t semi = rest.find(';');
    const std::string_view item = trim(rest.substr(0, semi));
    rest = semi == std::string_view::npos ? std::string_view{} : rest.substr(semi + 1);
    if (first) {
      if (!http::iequals(item, "permessage-deflate")) {
        return "the server chose an extension we did not offer";
      }
      first = false;
      continue;
    }
    const std::size_t eq = item.find('=');
    const std::string_view name = trim(item.substr(0, eq));
    const std::string_view value =
        eq == std::string_view::npos ? std::string_view{} : trim(item.substr(eq + 1));
    const bool has_value = eq != std::string_view::npos;
    if (http::iequals(name, "server_no_context_takeover") && !has_value && !seen_snt) {
      seen_snt = params.server_no_takeover = true;
    } else if (http::iequals(name, "client_no_context_takeover") && !has_value && !seen_cnt) {
      seen_cnt = params.client_no_takeover = true;
    } else if (http::iequals(name, "server_max_window_bits") && has_value && !seen_sb) {
      seen_sb = true;
      const int bits = parse_bits(value);
      if (!bits) return "bad server_max_window_bits in the answer";
      params.server_window_bits = static_cast<std::uint8_t>(bits);
    } else if (http::iequals(name, "client_max_window_bits") && has_value && !seen_cb) {
      seen_cb = true;
      const int bits = parse_bits(value);
      // zlib cannot compress with a 256-byte window (it would use 512).
      if (!bits || bits == 8) return "unsupported client_max_window_bits in the answer";
      params.client_window_bits = static_cast<std::uint8_t>(bits);
    } else {
      return "bad permessage-deflate parameter in the answer";
    }
  }
  // Our own compressor may always do less than agreed.
  if (ours.client_no_context_takeover) params.client_no_takeover = true;
  const int own = std::clamp(ours.client_max_window_bits, 9, 15);
  params.client_window_bits =
      static_cast<std::uint8_t>(std::min<int>(params.client_window_bits, own));
  return nullptr;
}

}  // namespace weft::ws::detail
