#include "weft/log.hpp"

#include <sys/time.h>
#include <atomic>
#include <cstdarg>
#include <cstdio>
#include <ctime>

namespace weft {
namespace {

void stderr_sink(LogLevel level, std::string_view line) {
  static constexpr const char* kNames[] = {"debug", "info", "warn", "error", "off"};
  timeval tv{};
  gettimeofday(&tv, nullptr);
  tm parts{};
  localtime_r(&tv.tv_sec, &parts);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%H:%M:%S", &parts);
  // One fprintf per line so concurrent loops do not interleave within a line.
  std::fprintf(stderr, "%s.%03ld weft %s: %.*s\n", stamp, static_cast<long>(tv.tv_usec / 1000),
               kNames[static_cast<int>(level)], static_cast<int>(line.size()), line.data());
}

std::atomic<LogSink> g_sink{&stderr_sink};
std::atomic<LogLevel> g_level{LogLevel::info};

}  // namespace

void set_log_sink(LogSink sink) noexcept {
  g_sink.store(sink ? sink : &stderr_sink);
}
void set_log_level(LogLevel level) noexcept {
  g_level.store(level);
}
LogLevel log_level() noexcept {
  return g_level.load(std::memory_order_relaxed);
}

void logf(LogLevel level, const char* fmt, ...) noexcept {
  if (level < log_level() || level == LogLevel::off) return;
  char line[1024];
  va_list args;
  va_start(args, fmt);
  int n = std::vsnprintf(line, sizeof line, fmt, args);
  va_end(args);
  if (n < 0) return;
  std::size_t len =
      static_cast<std::size_t>(n) < sizeof line ? static_cast<std::size_t>(n) : sizeof line - 1;
  g_sink.load()(level, std::string_view(line, len));
}

}  // namespace weft
