// weft/log.hpp — the logging hook. weft logs rarely (start, stop, errors,
// printStat); route it wherever the application logs.
#pragma once

#include <string_view>

namespace weft {

enum class LogLevel { debug, info, warn, error, off };

/// Receives one formatted line (no trailing newline). Called from loop
/// threads concurrently: the sink must be thread-safe.
using LogSink = void (*)(LogLevel level, std::string_view line);

/// Replaces the sink (nullptr restores the default: stderr with a timestamp).
void set_log_sink(LogSink sink) noexcept;
/// Lines below `level` are dropped before formatting. Default: info.
void set_log_level(LogLevel level) noexcept;
LogLevel log_level() noexcept;

/// printf-style logging used by weft itself; available to applications.
void logf(LogLevel level, const char* fmt, ...) noexcept __attribute__((format(printf, 2, 3)));

}  // namespace weft
