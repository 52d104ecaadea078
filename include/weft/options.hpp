// weft/options.hpp — the command line every weft example shares:
//   --listen URL (repeatable)  --loops N  --config FILE  --cert PEM --key PEM
//   --print-config  --help
#pragma once

#include <string>
#include <string_view>

#include "weft/config.hpp"

namespace weft {

struct CommandLine {
  Config config;
  bool help = false;  ///< --help was given; usage() has the text
  std::string usage;
};

/// Builds a Config from argv: defaults, then --config FILE, then the flags
/// (--listen replaces the config's addresses; --loops sets ncpu).
/// `default_listen` is used when neither file nor flags name an address.
/// Throws ConfigError on a bad flag or value.
CommandLine parse_command_line(int argc, char** argv, std::string_view default_listen);
/// As above over `base` (its listen list is the default address list), for
/// programs that preset fields, e.g. a generated certificate.
CommandLine parse_command_line(int argc, char** argv, const Config& base);

}  // namespace weft
