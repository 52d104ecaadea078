// libFuzzer target for parse_config. ConfigError is the only allowed
// failure; anything else (another exception, a crash, a config that does not
// survive to_json -> parse_config) is a bug.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "weft/config.hpp"
#include "weft/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  try {
    const weft::Config cfg = weft::parse_config(in);
    const std::string text = weft::to_json(cfg);
    if (weft::to_json(weft::parse_config(text)) != text) std::abort();
  } catch (const weft::ConfigError&) {
  }
  return 0;
}
