// weft/options.hpp — the command line every weft example shares:
//   --listen URL (repeatable)  --loops N  --config FILE  --cert PEM --key PEM
//   --print-config  --help
#pragma once

#include <cstddef>
#include <functional>
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

/// One of a program's own flags, met by take_own_flags(); the accessors
/// throw ConfigError naming the flag when its value is missing or bad.
class OwnFlag {
 public:
  OwnFlag(std::string_view name, std::string_view inline_value, bool has_inline, int& i, int argc,
          char** argv) noexcept
      : name_(name),
        inline_(inline_value),
        has_inline_(has_inline),
        i_(i),
        argc_(argc),
        argv_(argv) {}
  std::string_view name() const noexcept { return name_; }
  /// The value: after '=' or the next argument.
  std::string_view value();
  /// The value as a count (`zero_ok`: 0 is allowed).
  std::size_t count(bool zero_ok = false);
  /// For a switch: throws if it was given as --flag=value.
  void no_value() const;

 private:
  std::string_view name_, inline_;
  bool has_inline_;
  int& i_;
  int argc_;
  char** argv_;
};

/// Takes a program's own flags out of argv before parse_command_line sees
/// the rest: `take` is offered every --flag and returns true for those it
/// handled (reading its value through the OwnFlag). Throws ConfigError.
void take_own_flags(int& argc, char** argv, const std::function<bool(OwnFlag&)>& take);

}  // namespace weft
