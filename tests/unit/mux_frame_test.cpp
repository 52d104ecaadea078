// The smux frame codec and config validation, checked against the bytes
// and messages of xtaci/smux 1.5.16.
#include <gtest/gtest.h>

#include <string>

#include "weft/mux/config.hpp"
#include "weft/mux/errors.hpp"
#include "weft/mux/frame.hpp"

namespace weft::mux {
namespace {

std::string header(int ver, Cmd cmd, std::uint16_t len, std::uint32_t sid) {
  std::string h(kHeaderSize, '\0');
  encode_header(h.data(), ver, cmd, len, sid);
  return h;
}

TEST(MuxFrame, HeaderIsLittleEndian) {
  EXPECT_EQ(header(1, Cmd::psh, 0x1234, 0x01020304),
            std::string("\x01\x02\x34\x12\x04\x03\x02\x01", 8));
  FrameHeader h = decode_header(header(2, Cmd::upd, 8, 0xfffffffe).data());
  EXPECT_EQ(h.version, 2);
  EXPECT_EQ(h.cmd, Cmd::upd);
  EXPECT_EQ(h.length, 8);
  EXPECT_EQ(h.stream_id, 0xfffffffeu);
}

TEST(MuxFrame, UpdPayload) {
  char p[kUpdSize];
  encode_upd(p, {0x11223344, 65536});
  EXPECT_EQ(std::string(p, 8), std::string("\x44\x33\x22\x11\x00\x00\x01\x00", 8));
  Upd u = decode_upd(p);
  EXPECT_EQ(u.consumed, 0x11223344u);
  EXPECT_EQ(u.window, 65536u);
}

TEST(MuxFrame, DecodesWholeFramesOnly) {
  std::string f = header(1, Cmd::psh, 5, 3) + "hello" + header(1, Cmd::nop, 0, 0);
  for (std::size_t cut = 0; cut < kHeaderSize + 5; ++cut)
    EXPECT_EQ(decode_frame(Bytes(f).substr(0, cut), 1, false).status, Decoded::need_more) << cut;
  Decoded d = decode_frame(f, 1, false);
  ASSERT_EQ(d.status, Decoded::ok);
  EXPECT_EQ(d.size, kHeaderSize + 5);
  EXPECT_EQ(d.frame.payload, "hello");
  EXPECT_EQ(d.frame.header.stream_id, 3u);
  Decoded nop = decode_frame(Bytes(f).substr(d.size), 1, false);
  ASSERT_EQ(nop.status, Decoded::ok);
  EXPECT_EQ(nop.frame.header.cmd, Cmd::nop);
}

std::error_code error_of(const std::string& in, int ver, bool names = false) {
  Decoded d = decode_frame(in, ver, names);
  EXPECT_EQ(d.status, Decoded::bad);
  return d.error;
}

TEST(MuxFrame, RejectsBadHeadersBeforeThePayloadArrives) {
  EXPECT_EQ(error_of(header(2, Cmd::nop, 0, 0), 1), errc::invalid_protocol);
  EXPECT_EQ(error_of(header(1, static_cast<Cmd>(9), 0, 0), 1), errc::invalid_protocol);
  EXPECT_EQ(error_of(header(1, Cmd::upd, 8, 1), 1), errc::upd_on_v1);
  EXPECT_EQ(error_of(header(2, Cmd::upd, 4, 1), 2), errc::bad_upd_length);
  EXPECT_EQ(error_of(header(1, Cmd::syn, 3, 1), 1), errc::unexpected_payload);
  EXPECT_EQ(error_of(header(1, Cmd::fin, 1, 1), 1, true), errc::unexpected_payload);
  EXPECT_EQ(error_of(header(1, Cmd::nop, 1, 0), 1, true), errc::unexpected_payload);
  EXPECT_FALSE(error_of(header(1, Cmd::nop, 1, 0), 1).message().empty());
}

TEST(MuxFrame, SynCarriesANameWhenNamesAreOn) {
  std::string f = header(2, Cmd::syn, 4, 1) + "echo";
  Decoded d = decode_frame(f, 2, true);
  ASSERT_EQ(d.status, Decoded::ok);
  EXPECT_EQ(d.frame.payload, "echo");
  EXPECT_EQ(decode_frame(header(2, Cmd::syn, 0, 1), 2, false).status, Decoded::ok);
}

TEST(MuxConfig, DefaultsAreSmuxs) {
  Config c;
  EXPECT_EQ(c.version, 1);
  EXPECT_EQ(c.keepalive_interval.count(), 10000);
  EXPECT_EQ(c.keepalive_timeout.count(), 30000);
  EXPECT_EQ(c.max_frame_size, 32768);
  EXPECT_EQ(c.max_receive_buffer, 4194304);
  EXPECT_EQ(c.max_stream_buffer, 65536);
  EXPECT_FALSE(c.names);
  EXPECT_EQ(validate(c), "");
}

TEST(MuxConfig, ValidatesAsSmuxDoes) {
  auto with = [](auto change) {
    Config c;
    change(c);
    return validate(c);
  };
  EXPECT_EQ(with([](Config& c) { c.version = 3; }), "unsupported protocol version");
  EXPECT_EQ(with([](Config& c) { c.keepalive_interval = std::chrono::milliseconds(0); }),
            "keep-alive interval must be positive");
  EXPECT_EQ(with([](Config& c) { c.keepalive_timeout = std::chrono::milliseconds(5000); }),
            "keep-alive timeout must be larger than keep-alive interval");
  EXPECT_EQ(with([](Config& c) {
              c.keepalive_disabled = true;
              c.keepalive_interval = std::chrono::milliseconds(0);
            }),
            "");
  EXPECT_EQ(with([](Config& c) { c.max_frame_size = 0; }), "max frame size must be positive");
  EXPECT_EQ(with([](Config& c) { c.max_frame_size = 65536; }),
            "max frame size must not be larger than 65535");
  EXPECT_EQ(with([](Config& c) { c.max_frame_size = 65535; }), "");
  EXPECT_EQ(with([](Config& c) { c.max_receive_buffer = 0; }),
            "max receive buffer must be positive");
  EXPECT_EQ(with([](Config& c) { c.max_stream_buffer = 0; }), "max stream buffer must be positive");
  EXPECT_EQ(with([](Config& c) { c.max_stream_buffer = c.max_receive_buffer + 1; }),
            "max stream buffer must not be larger than max receive buffer");
  EXPECT_EQ(with([](Config& c) {
              c.max_receive_buffer = 1LL << 40;
              c.max_stream_buffer = 1LL << 32;
            }),
            "max stream buffer cannot be larger than 2147483647");
}

}  // namespace
}  // namespace weft::mux
