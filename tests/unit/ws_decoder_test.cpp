// The WebSocket receive path (ws/decoder.hpp) against every rule of RFC 6455
// that the bytes decide: each broken rule maps to its close code, every
// valid stream decodes the same however the input is split (every cut
// point, one byte at a time), control frames interleave with fragments,
// UTF-8 errors are caught in the fragment that holds them, and compressed
// messages in pieces are handed out as they arrive.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "ws/decoder.hpp"
#include "ws_test_frames.hpp"

namespace {

using namespace weft::ws;
using namespace weft::ws::detail;
using namespace weft::ws::test;

struct Event {
  Opcode op;
  std::string payload;
  bool compressed = false;
  bool operator==(const Event&) const = default;
};

class Collect final : public FrameSink {
 public:
  bool on_message(Opcode op, std::string_view payload, bool compressed) override {
    events.push_back({op, std::string(payload), compressed});
    return !stop_after_message;
  }
  // Compressed pieces are put back together into one event.
  bool on_compressed_piece(Opcode op, std::string_view piece, bool last) override {
    partial.append(piece);
    if (!last) return true;
    events.push_back({op, partial, true});
    partial.clear();
    return !stop_after_message;
  }
  bool on_control(Opcode op, std::string_view payload) override {
    events.push_back({op, std::string(payload), false});
    return op != Opcode::close;
  }
  std::vector<Event> events;
  std::string partial;
  bool stop_after_message = false;
};

struct Outcome {
  std::vector<Event> events;
  std::uint16_t error = 0;
  std::size_t consumed = 0;
};

// Feeds `wire` in pieces of `step` bytes (0: all at once), keeping the
// unconsumed tail like Conn does.
Outcome decode(const std::string& wire, std::size_t step = 0, Role role = Role::server,
               bool deflate = false, std::size_t max = 1 << 20, bool in_place = false) {
  Decoder d;
  d.configure(role, deflate, max);
  Collect sink;
  Outcome out;
  std::string held;
  std::size_t fed = 0;
  while (fed < wire.size() || !held.empty()) {
    const std::size_t n = step ? std::min(step, wire.size() - fed) : wire.size() - fed;
    held += wire.substr(fed, n);
    fed += n;
    const DecodeResult r = d.feed(held, sink, in_place);
    out.consumed += r.consumed;
    if (r.error) {
      out.error = r.error;
      break;
    }
    held.erase(0, r.consumed);
    if (n == 0) break;  // nothing new and the rest is incomplete
  }
  out.events = sink.events;
  return out;
}

TEST(WsDecoder, WholeMessages) {
  const std::string wire = text("hello") + binary(std::string("\0\1\2", 3)) + text("");
  const Outcome o = decode(wire);
  EXPECT_EQ(o.error, 0);
  ASSERT_EQ(o.events.size(), 3u);
  EXPECT_EQ(o.events[0], (Event{Opcode::text, "hello"}));
  EXPECT_EQ(o.events[1], (Event{Opcode::binary, std::string("\0\1\2", 3)}));
  EXPECT_EQ(o.events[2], (Event{Opcode::text, ""}));
  EXPECT_EQ(o.consumed, wire.size());
}

TEST(WsDecoder, FragmentsWithControlFramesInterleaved) {
  const std::string wire = text("Hel", false) + frame(9, "p1") + cont("lo, ", false) +
                           frame(10, "p2") + cont("", false) + cont("world") + binary("b");
  for (std::size_t step : {0u, 1u, 2u, 3u, 5u, 7u}) {
    const Outcome o = decode(wire, step);
    EXPECT_EQ(o.error, 0) << step;
    ASSERT_EQ(o.events.size(), 4u) << step;
    EXPECT_EQ(o.events[0], (Event{Opcode::ping, "p1"}));
    EXPECT_EQ(o.events[1], (Event{Opcode::pong, "p2"}));
    EXPECT_EQ(o.events[2], (Event{Opcode::text, "Hello, world"}));
    EXPECT_EQ(o.events[3], (Event{Opcode::binary, "b"}));
  }
}

TEST(WsDecoder, EverySplitPointGivesTheSameMessages) {
  std::string big(70000, 'x');
  for (std::size_t i = 0; i < big.size(); ++i)
    big[i] = static_cast<char>('a' + i % 26);
  const std::string wire = text("\xce\xba\xe1\xbd\xb9", false) + cont("\xcf\x83\xce\xbc\xce\xb5") +
                           binary(big) + frame(9, "") + text(std::string(200, 'q'));
  const Outcome whole = decode(wire);
  ASSERT_EQ(whole.error, 0);
  ASSERT_EQ(whole.events.size(), 4u);
  for (std::size_t step : {1u, 2u, 3u, 13u, 126u, 4096u, 65536u}) {
    const Outcome o = decode(wire, step);
    EXPECT_EQ(o.error, 0) << step;
    EXPECT_EQ(o.events, whole.events) << step;
  }
}

TEST(WsDecoder, UnmaskingInPlaceGivesTheSameMessages) {
  std::string big(70000, 'x');
  for (std::size_t i = 0; i < big.size(); ++i)
    big[i] = static_cast<char>('a' + i % 26);
  const std::string wire = binary(std::string(3000, 'm')) + text("caf\xc3\xa9") +
                           text("\xce\xba", false) + cont("\xcf\x83") + binary(big) +
                           frame(9, "pi") + text(std::string(200, 'q'));
  const Outcome whole = decode(wire);
  ASSERT_EQ(whole.error, 0);
  ASSERT_EQ(whole.events.size(), 6u);
  for (std::size_t step : {0u, 1u, 3u, 126u, 4096u, 65536u}) {
    const Outcome o = decode(wire, step, Role::server, false, 1 << 20, /*in_place=*/true);
    EXPECT_EQ(o.error, 0) << step;
    EXPECT_EQ(o.events, whole.events) << step;
  }
}

// A whole message is handed out where it lies; the unconsumed rest (a
// message still arriving) keeps its masked bytes.
class PayloadAt final : public FrameSink {
 public:
  bool on_message(Opcode, std::string_view payload, bool) override {
    at.push_back(payload.data());
    return true;
  }
  bool on_compressed_piece(Opcode, std::string_view, bool) override { return true; }
  bool on_control(Opcode, std::string_view) override { return true; }
  std::vector<const char*> at;
};

TEST(WsDecoder, UnmaskingInPlaceLeavesTheRestAsItCame) {
  const std::string first = binary(std::string(2000, 'f'));
  const std::string second = binary(std::string(5000, 's'));
  std::string input = first + second.substr(0, 100);
  const std::string tail = input.substr(first.size());
  Decoder d;
  d.configure(Role::server, false, 1 << 20);
  PayloadAt sink;
  const DecodeResult r = d.feed(input, sink, /*in_place=*/true);
  EXPECT_EQ(r.error, 0);
  ASSERT_EQ(sink.at.size(), 1u);
  EXPECT_EQ(sink.at[0], input.data() + first.size() - 2000);  // inside the input
  EXPECT_EQ(input.substr(first.size() - 2000, 2000), std::string(2000, 'f'));
  // The second message's start is copied into the decoder's own buffer as
  // it streams in (or left for the next read): either way, not changed.
  EXPECT_GE(r.consumed, first.size());
  EXPECT_EQ(input.substr(first.size()), tail);
}

TEST(WsDecoder, LeavesOnlySmallPiecesUnconsumed) {
  // A large frame's payload is taken as it arrives; only a partial header
  // (or a control frame) stays in the connection's input.
  Decoder d;
  d.configure(Role::server, false, 1 << 20);
  Collect sink;
  const std::string wire = binary(std::string(100000, 'z'));
  DecodeResult r = d.feed(std::string_view(wire).substr(0, 5000), sink);
  EXPECT_EQ(r.consumed, 5000u);
  EXPECT_GT(d.held(), 0u);
  r = d.feed(std::string_view(wire).substr(5000), sink);
  EXPECT_EQ(r.consumed, wire.size() - 5000);
  ASSERT_EQ(sink.events.size(), 1u);
  EXPECT_EQ(sink.events[0].payload, std::string(100000, 'z'));
  EXPECT_EQ(d.held(), 0u);                                // idle again: no buffer
  r = d.feed(std::string_view("\x82\xfe\x01", 3), sink);  // partial header
  EXPECT_EQ(r.consumed, 0u);
  EXPECT_EQ(r.error, 0);
}

struct Broken {
  const char* what;
  std::string wire;
  std::uint16_t code;
};

TEST(WsDecoder, EveryBrokenRuleHasItsCloseCode) {
  const std::vector<Broken> cases = {
      {"unmasked client frame", frame(1, "hi", true, false), 1002},
      {"RSV1 without an extension", frame(1, "hi", true, true, 0x40), 1002},
      {"RSV2", frame(2, "hi", true, true, 0x20), 1002},
      {"RSV3", frame(2, "hi", true, true, 0x10), 1002},
      {"reserved data opcode 3", frame(3, "x"), 1002},
      {"reserved data opcode 7", frame(7, "x"), 1002},
      {"reserved control opcode 11", frame(11, "x"), 1002},
      {"reserved control opcode 15", frame(15, ""), 1002},
      {"fragmented ping", frame(9, "x", false), 1002},
      {"fragmented close", frame(8, "", false), 1002},
      {"ping over 125 bytes", frame(9, std::string(126, 'p')), 1002},
      {"close over 125 bytes", frame(8, std::string("\x03\xe8", 2) + std::string(124, 'r')), 1002},
      {"RSV1 on a ping", frame(9, "", true, true, 0x40), 1002},
      {"continuation without a message", cont("x"), 1002},
      {"text inside a fragmented message", text("a", false) + text("b"), 1002},
      {"binary inside a fragmented message", binary("a", false) + binary("b"), 1002},
      {"non-shortest length", std::string("\x82\xfe\x00\x05\0\0\0\0hello", 13), 1002},
      {"close with one byte", frame(8, "\x03"), 1002},
      {"close code 999", close_frame(999), 1002},
      {"close code 1004", close_frame(1004), 1002},
      {"close code 1005", close_frame(1005), 1002},
      {"close code 1006", close_frame(1006), 1002},
      {"close code 1015", close_frame(1015), 1002},
      {"close code 1016", close_frame(1016), 1002},
      {"close code 2999", close_frame(2999), 1002},
      {"close code 5000", close_frame(5000), 1002},
      {"close reason not UTF-8", close_frame(1000, "\xff"), 1007},
      {"text not UTF-8", text("ab\xc0\xaf"), 1007},
      {"text ending mid-character", text("ab\xe2\x82"), 1007},
      {"fragmented text ending mid-character", text("ab\xe2", false) + cont("\x82"), 1007},
      {"message over the limit", binary(std::string(1001, 'x')), 1009},
      {"fragments over the limit",
       binary(std::string(600, 'x'), false) + cont(std::string(401, 'y')), 1009},
  };
  for (const auto& c : cases) {
    for (std::size_t step : {0u, 1u}) {
      const Outcome o = decode(c.wire, step, Role::server, false, 1000);
      EXPECT_EQ(o.error, c.code) << c.what << " (step " << step << ")";
      EXPECT_TRUE(o.events.empty() || o.events.back().op != Opcode::text || c.code != 1007)
          << c.what;
    }
  }
}

TEST(WsDecoder, ValidCloseFramesPass) {
  for (std::uint16_t code :
       {1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1014, 3000, 3999, 4000, 4999}) {
    const Outcome o = decode(close_frame(code, "bye \xc3\xa9"));
    EXPECT_EQ(o.error, 0) << code;
    ASSERT_EQ(o.events.size(), 1u);
    EXPECT_EQ(o.events[0].op, Opcode::close);
  }
  const Outcome empty = decode(frame(8, ""));
  EXPECT_EQ(empty.error, 0);
  ASSERT_EQ(empty.events.size(), 1u);
}

TEST(WsDecoder, BadUtf8FailsInTheFragmentThatHoldsIt) {
  // The message never ends: the error must still come, right at the bad fragment.
  const std::string first = text("\xce\xba\xe1\xbd\xb9", false);
  const std::string bad = cont("\xce\xba\xed\xa0\x80", false);
  Decoder d;
  d.configure(Role::server, false, 1 << 20);
  Collect sink;
  DecodeResult r = d.feed(first, sink);
  EXPECT_EQ(r.error, 0);
  r = d.feed(bad, sink);
  EXPECT_EQ(r.error, close_code::invalid_payload);

  // Within one frame whose payload is still arriving: the bad byte is seen
  // before the rest of the frame.
  Decoder d2;
  d2.configure(Role::server, false, 1 << 20);
  const std::string frame_bytes =
      text(std::string("valid start ") + "\xff" + std::string(5000, 'a'));
  r = d2.feed(std::string_view(frame_bytes).substr(0, 30), sink);
  EXPECT_EQ(r.error, close_code::invalid_payload);
}

TEST(WsDecoder, Rsv1MarksCompressedMessagesWhenNegotiated) {
  const std::string wire =
      frame(1, "zz", false, true, 0x40) + cont("yy") + frame(2, "b", true, true, 0x40);
  const Outcome o = decode(wire, 0, Role::server, true);
  EXPECT_EQ(o.error, 0);
  ASSERT_EQ(o.events.size(), 2u);
  EXPECT_EQ(o.events[0], (Event{Opcode::text, "zzyy", true}));
  EXPECT_EQ(o.events[1], (Event{Opcode::binary, "b", true}));
  // RSV1 on a continuation stays an error even with the extension.
  EXPECT_EQ(decode(text("a", false) + frame(0, "b", true, true, 0x40), 0, Role::server, true).error,
            1002);
  // A compressed text payload is not UTF-8 checked before inflating.
  EXPECT_EQ(decode(frame(1, "\xff\xfe", true, true, 0x40), 0, Role::server, true).error, 0);
}

TEST(WsDecoder, CompressedMessagesInPiecesAreHandedOutAsTheyArrive) {
  // A fragmented compressed message is not assembled: each piece goes to
  // the sink unmasked at once (it inflates and checks as it goes).
  Decoder d;
  d.configure(Role::server, true, 1000);
  Collect sink;
  const std::string first = frame(1, "abc", false, true, 0x40);
  DecodeResult r = d.feed(first, sink);
  EXPECT_EQ(r.error, 0);
  EXPECT_EQ(r.consumed, first.size());
  EXPECT_EQ(sink.partial, "abc");
  EXPECT_TRUE(sink.events.empty());
  EXPECT_EQ(d.held(), 0u);
  // A frame cut across reads: its first bytes come out before the rest.
  const std::string second = cont("defgh");
  r = d.feed(std::string_view(second).substr(0, second.size() - 2), sink);
  EXPECT_EQ(sink.partial, "abcdef");
  r = d.feed(std::string_view(second).substr(second.size() - 2), sink);
  ASSERT_EQ(sink.events.size(), 1u);
  EXPECT_EQ(sink.events[0], (Event{Opcode::text, "abcdefgh", true}));
  // Each frame is still checked against the limit at its header.
  EXPECT_EQ(decode(frame(2, "z", false, true, 0x40) + cont(std::string(1001, 'y')), 0, Role::server,
                   true, 1000)
                .error,
            1009);
}

TEST(WsDecoder, ClientRoleWantsUnmaskedFrames) {
  const Outcome ok = decode(frame(1, "hi", true, false), 0, Role::client);
  EXPECT_EQ(ok.error, 0);
  ASSERT_EQ(ok.events.size(), 1u);
  EXPECT_EQ(ok.events[0].payload, "hi");
  EXPECT_EQ(decode(frame(1, "hi", true, true), 0, Role::client).error, 1002);
}

TEST(WsDecoder, StopsWhenTheSinkSaysSo) {
  Decoder d;
  d.configure(Role::server, false, 1 << 20);
  Collect sink;
  const std::string wire = text("a") + close_frame(1000) + text("after");
  const DecodeResult r = d.feed(wire, sink);
  EXPECT_EQ(r.error, 0);
  ASSERT_EQ(sink.events.size(), 2u);
  EXPECT_EQ(sink.events[1].op, Opcode::close);
  EXPECT_EQ(r.consumed, text("a").size() + close_frame(1000).size());
}

}  // namespace
