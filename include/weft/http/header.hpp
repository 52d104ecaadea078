// weft/http/header.hpp — a header as parsed (views into the input), and the
// case-insensitive comparison header names need.
#pragma once

#include <string_view>

namespace weft::http {

struct Header {
  std::string_view name;   ///< as sent (compare case-insensitively)
  std::string_view value;  ///< leading/trailing spaces and tabs removed
};

/// ASCII case-insensitive comparison, for header names and tokens.
bool iequals(std::string_view a, std::string_view b) noexcept;

}  // namespace weft::http
