// libFuzzer target for the WebSocket receive path (ws/decoder.hpp). The
// first byte picks the role, whether permessage-deflate is on, the message
// limit and a split point; the rest is the byte stream from the peer. The
// decoder must never crash, must consume only what it was given, must
// report the same messages and the same error whether the stream arrives
// whole or in two pieces, and every text message it delivers uncompressed
// must be valid UTF-8.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "ws/decoder.hpp"
#include "ws/utf8.hpp"

namespace {

using weft::ws::Opcode;
using weft::ws::detail::Decoder;
using weft::ws::detail::DecodeResult;
using weft::ws::detail::FrameSink;
using weft::ws::detail::Role;
using weft::ws::detail::Utf8Validator;

void check(bool ok) {
  if (!ok) std::abort();
}

class Record final : public FrameSink {
 public:
  bool on_message(Opcode op, std::string_view payload, bool compressed) override {
    if (op == Opcode::text && !compressed) check(Utf8Validator::valid(payload));
    check(op == Opcode::text || op == Opcode::binary);
    log.push_back(static_cast<char>(op));
    log.push_back(compressed ? 'z' : '-');
    log.append(std::to_string(payload.size())).append(":").append(payload);
    return true;
  }
  // Pieces of a compressed message, logged as one message when it ends.
  bool on_compressed_piece(Opcode op, std::string_view piece, bool last) override {
    partial.append(piece);
    if (!last) return true;
    const bool go_on = on_message(op, partial, true);
    partial.clear();
    return go_on;
  }
  bool on_control(Opcode op, std::string_view payload) override {
    check(payload.size() <= 125);
    log.push_back(static_cast<char>(op));
    log.append(payload);
    if (op == Opcode::close) stopped = true;
    return !stopped;
  }
  std::string log;
  std::string partial;
  bool stopped = false;  // a close frame ends decoding, as in a session
};

struct Run {
  std::string log;
  std::uint16_t error = 0;
};

// Feeds the pieces, keeping the unconsumed tail as Conn does.
Run decode(Role role, bool deflate, std::size_t max, std::string_view a, std::string_view b) {
  Decoder d;
  d.configure(role, deflate, max);
  Record sink;
  Run run;
  std::string held;
  for (std::string_view piece : {a, b}) {
    held.append(piece);
    const DecodeResult r = d.feed(held, sink);
    check(r.consumed <= held.size());
    if (r.error) {
      check(r.error == 1002 || r.error == 1007 || r.error == 1009);
      run.error = r.error;
      break;
    }
    held.erase(0, r.consumed);
    if (sink.stopped) break;
  }
  run.log = sink.log;
  return run;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::uint8_t ctl = data[0];
  const std::string_view in(reinterpret_cast<const char*>(data + 1), size - 1);
  const Role role = (ctl & 1) ? Role::client : Role::server;
  const bool deflate = ctl & 2;
  const std::size_t max = (ctl & 4) ? 64 : (1u << 20);
  const std::size_t cut = in.empty() ? 0 : (static_cast<std::size_t>(ctl) * 131) % (in.size() + 1);

  const Run whole = decode(role, deflate, max, in, {});
  const Run split = decode(role, deflate, max, in.substr(0, cut), in.substr(cut));
  // A close frame stops decoding; an error may be found before the split
  // delivers what a whole read would have reported after it — but never a
  // different error, and never different messages up to the stop.
  check(whole.error == split.error);
  check(whole.log == split.log);
  return 0;
}
