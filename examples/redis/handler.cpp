// handler.cpp — framing, batching and connection lifetime for the redis
// example. An idle connection costs nothing extra: a parser is attached to
// a connection only while a long command is half received.
#include "handler.hpp"

#include <cstdio>
#include <string>

#include "commands.hpp"
#include "resp_parser.hpp"

namespace redis {
namespace {

// Per loop thread: the parser for commands that arrive whole (the usual
// case) and the buffer a batch's replies are gathered in, so a batch costs
// one write and, once warm, no allocation.
struct LoopScratch {
  RespParser parser;
  std::string out;
};
thread_local LoopScratch scratch;

// Re-parsing a partial command from its start on the next read is cheaper
// than allocating a parser for the connection, until the part already
// parsed is this large (a huge MSET, a long inline line trickling in).
constexpr std::size_t kKeepParserAfter = 1024;
// Replies are handed to weft once this much has gathered, so a batch of
// GETs of big values does not build one giant buffer first.
constexpr std::size_t kFlushOutputAt = 256 * 1024;
// A loop keeps its reply buffer between batches, but not a huge one.
constexpr std::size_t kMaxIdleOutput = 1024 * 1024;

void drop_parser(weft::Conn& c) noexcept {
  delete static_cast<RespParser*>(c.context());
  c.set_context(nullptr);
}

}  // namespace

void RedisHandler::on_ready(weft::Server& server) {
  for (const std::string& url : server.addresses())
    std::printf("listening on %s\n", url.c_str());
  std::fflush(stdout);  // scripts wait for this line
}

std::size_t RedisHandler::on_data(weft::Conn& c, weft::Bytes in) {
  if (in.empty()) return 0;  // woken: nothing arrived
  auto* saved = static_cast<RespParser*>(c.context());
  RespParser& parser = saved != nullptr ? *saved : scratch.parser;
  std::string& out = scratch.out;
  out.clear();
  const Millis now = monotonic_ms();  // one clock read per batch, as Redis caches it per command

  bool quit = false;
  const RespParser::Batch batch = parser.parse_all(in, [&](std::span<const std::string_view> argv) {
    quit = execute(store_, argv, now, out) == After::close;
    if (out.size() >= kFlushOutputAt) {
      c.write(out);
      out.clear();
    }
    return !quit;
  });
  if (batch.error) out.append("-ERR ").append(parser.error()).append("\r\n");
  if (!out.empty()) c.write(out);
  if (out.capacity() > kMaxIdleOutput) out = std::string();

  if (batch.error || quit) {
    // As Redis does: the replies so far, then close once they are flushed;
    // whatever else the client sent is dropped.
    parser.reset();
    drop_parser(c);
    c.close();
    return in.size();
  }
  if (batch.consumed < in.size() && parser.progress() >= kKeepParserAfter) {
    if (saved == nullptr) {
      c.set_context(new RespParser(std::move(scratch.parser)));
      scratch.parser = RespParser();
    }
  } else {
    parser.reset();  // any partial command is parsed afresh next time
    if (saved != nullptr) drop_parser(c);
  }
  return batch.consumed;
}

void RedisHandler::on_close(weft::Conn& c, std::error_code why) {
  (void)why;
  drop_parser(c);
}

weft::Tick RedisHandler::on_tick(weft::Server& server) {
  (void)server;
  store_.sweep(monotonic_ms());
  return {std::chrono::milliseconds(100)};
}

}  // namespace redis
