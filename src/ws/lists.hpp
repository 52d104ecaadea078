// Header value lists (RFC 9110 §5.6.1): Sec-WebSocket-Protocol,
// Sec-WebSocket-Extensions and their parameters.
#pragma once

#include <string_view>
#include <vector>

namespace weft::ws::detail {

/// Without leading and trailing spaces and tabs.
std::string_view trim(std::string_view s) noexcept;
/// Splits a comma-separated list into trimmed, non-empty elements.
std::vector<std::string_view> split_list(std::string_view list);

}  // namespace weft::ws::detail
