// weft/bytes.hpp — the view type every callback receives and every write takes.
#pragma once

#include <string_view>

namespace weft {

/// A borrowed, read-only run of bytes. Valid only for the duration of the
/// callback that received it; copy what must outlive the call.
using Bytes = std::string_view;

}  // namespace weft
