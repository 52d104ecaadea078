// permessage-deflate (RFC 7692): negotiation of every parameter, round
// trips with and without context takeover (the window really is kept or
// dropped), the RFC's own example bytes, decompression bombs stopped at the
// size limit, corrupt input refused, and the memory of own contexts counted.
#include <gtest/gtest.h>

#include <random>
#include <string>

#include "weft/ws/behavior.hpp"
#include "ws/deflate.hpp"

namespace {

using namespace weft::ws;
using namespace weft::ws::detail;

DeflateOffer negotiate(std::string_view offers, DeflateOptions o = {}, bool force = false) {
  return negotiate_deflate(offers, o, force);
}

TEST(WsDeflateNegotiation, PlainOffer) {
  const DeflateOffer d = negotiate("permessage-deflate");
  ASSERT_TRUE(d.accepted);
  EXPECT_EQ(d.response, "permessage-deflate");
  EXPECT_FALSE(d.params.server_no_takeover);
  EXPECT_FALSE(d.params.client_no_takeover);
  EXPECT_EQ(d.params.server_window_bits, 15);
  EXPECT_EQ(d.params.client_window_bits, 15);
}

TEST(WsDeflateNegotiation, WhatBrowsersAndPythonOffer) {
  const DeflateOffer d = negotiate("permessage-deflate; client_max_window_bits");
  ASSERT_TRUE(d.accepted);
  EXPECT_EQ(d.response, "permessage-deflate; client_max_window_bits=15");
  DeflateOptions small;
  small.client_max_window_bits = 10;
  EXPECT_EQ(negotiate("permessage-deflate; client_max_window_bits", small).response,
            "permessage-deflate; client_max_window_bits=10");
}

TEST(WsDeflateNegotiation, EveryParameter) {
  const DeflateOffer d = negotiate(
      "permessage-deflate; server_no_context_takeover; client_no_context_takeover; "
      "server_max_window_bits=10; client_max_window_bits=12");
  ASSERT_TRUE(d.accepted);
  EXPECT_TRUE(d.params.server_no_takeover);
  EXPECT_TRUE(d.params.client_no_takeover);
  EXPECT_EQ(d.params.server_window_bits, 10);
  EXPECT_EQ(d.params.client_window_bits, 12);
  EXPECT_EQ(d.response,
            "permessage-deflate; server_no_context_takeover; client_no_context_takeover; "
            "server_max_window_bits=10; client_max_window_bits=12");
  // Quoted values are allowed.
  EXPECT_EQ(
      negotiate("permessage-deflate; server_max_window_bits=\"11\"").params.server_window_bits, 11);
}

TEST(WsDeflateNegotiation, OurOwnSettingsGoIntoTheAnswer) {
  DeflateOptions o;
  o.server_no_context_takeover = true;
  o.client_no_context_takeover = true;
  o.server_max_window_bits = 12;
  const DeflateOffer d = negotiate("permessage-deflate", o);
  ASSERT_TRUE(d.accepted);
  EXPECT_EQ(d.response,
            "permessage-deflate; server_no_context_takeover; client_no_context_takeover; "
            "server_max_window_bits=12");
  // A client asking for a smaller window than ours gets it.
  EXPECT_EQ(negotiate("permessage-deflate; server_max_window_bits=9", o).params.server_window_bits,
            9);
  // The budget can force client_no_context_takeover.
  EXPECT_TRUE(negotiate("permessage-deflate", {}, true).params.client_no_takeover);
}

TEST(WsDeflateNegotiation, BadOffersAreSkippedForTheNextOne) {
  for (const char* bad : {
           "permessage-deflate; server_max_window_bits",  // needs a value
           "permessage-deflate; server_max_window_bits=16",
           "permessage-deflate; server_max_window_bits=7",
           "permessage-deflate; server_max_window_bits=08",
           "permessage-deflate; server_max_window_bits=8",  // zlib cannot
           "permessage-deflate; client_max_window_bits=abc",
           "permessage-deflate; server_no_context_takeover=1",
           "permessage-deflate; client_no_context_takeover; client_no_context_takeover",
           "permessage-deflate; mystery",
           "permessage-deflate;",
       }) {
    EXPECT_FALSE(negotiate(bad).accepted) << bad;
    const DeflateOffer next =
        negotiate(std::string(bad) + ", permessage-deflate; client_no_context_takeover");
    ASSERT_TRUE(next.accepted) << bad;
    EXPECT_TRUE(next.params.client_no_takeover) << bad;
  }
  EXPECT_FALSE(negotiate("x-webkit-deflate-frame").accepted);
  EXPECT_FALSE(negotiate("").accepted);
  DeflateOptions off;
  off.enabled = false;
  EXPECT_FALSE(negotiate("permessage-deflate", off).accepted);
}

std::string sample_text(std::size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  static const char* words[] = {"weft ", "loop ", "frame ", "message ", "deflate ", "socket "};
  std::string s;
  while (s.size() < n)
    s += words[rng() % 6];
  s.resize(n);
  return s;
}

TEST(WsDeflate, RfcExampleHello) {
  // RFC 7692 §7.2.3.1: "Hello" compressed in one block, sync-flushed, tail removed.
  Inflater inf;
  ASSERT_TRUE(inf.init(15));
  std::string out;
  EXPECT_EQ(inf.decompress(std::string("\xf2\x48\xcd\xc9\xc9\x07\x00", 7), out, 100, false),
            Inflater::Result::ok);
  EXPECT_EQ(out, "Hello");
  // §7.2.3.2: the same message again with context takeover, as a back-reference.
  EXPECT_EQ(inf.decompress(std::string("\xf2\x00\x11\x00\x00", 5), out, 100, false),
            Inflater::Result::ok);
  EXPECT_EQ(out, "Hello");
  // §7.2.3.3: a stored (uncompressed) block.
  Inflater fresh;
  ASSERT_TRUE(fresh.init(15));
  EXPECT_EQ(fresh.decompress(std::string("\x00\x05\x00\xfa\xff"
                                         "Hello"
                                         "\x00",
                                         11),
                             out, 100, true),
            Inflater::Result::ok);
  EXPECT_EQ(out, "Hello");
}

TEST(WsDeflate, RoundTripWithAndWithoutContextTakeover) {
  for (bool takeover : {true, false}) {
    Deflater d;
    Inflater inf;
    ASSERT_TRUE(d.init(15, 6, 8));
    ASSERT_TRUE(inf.init(15));
    std::size_t second_size = 0, first_size = 0;
    std::mt19937 rng(3);
    std::string msg(5000, '\0');
    for (auto& c : msg)
      c = static_cast<char>(rng());  // incompressible on its own
    for (int i = 0; i < 3; ++i) {
      std::string z, back;
      ASSERT_TRUE(d.compress(msg, z, !takeover));
      ASSERT_GE(z.size(), 1u);
      EXPECT_NE(z.substr(z.size() >= 4 ? z.size() - 4 : 0), std::string("\0\0\xff\xff", 4));
      ASSERT_EQ(inf.decompress(z, back, 1 << 20, !takeover), Inflater::Result::ok);
      EXPECT_EQ(back, msg);
      if (i == 0) first_size = z.size();
      if (i == 1) second_size = z.size();
    }
    // With the window kept, a repeated message is a few back-references.
    if (takeover) {
      EXPECT_LT(second_size * 10, first_size);
    } else {
      EXPECT_EQ(second_size, first_size);
    }
  }
}

TEST(WsDeflate, SmallWindowsAndEmptyMessages) {
  for (int bits = 9; bits <= 15; ++bits) {
    Deflater d;
    Inflater inf;
    ASSERT_TRUE(d.init(bits, 1, 1));
    ASSERT_TRUE(inf.init(bits));
    for (const std::string& msg :
         {std::string(), sample_text(3000, bits), std::string(70000, 'a')}) {
      std::string z, back;
      ASSERT_TRUE(d.compress(msg, z, false));
      ASSERT_EQ(inf.decompress(z, back, 1 << 20, false), Inflater::Result::ok) << bits;
      EXPECT_EQ(back, msg);
    }
  }
}

TEST(WsDeflate, BombsStopAtTheLimit) {
  Deflater d;
  ASSERT_TRUE(d.init(15, 9, 9));
  std::string z;
  ASSERT_TRUE(d.compress(std::string(10 << 20, '\0'), z, true));  // 10 MiB of zeros
  EXPECT_LT(z.size(), 20000u);
  Inflater inf;
  ASSERT_TRUE(inf.init(15));
  std::string out;
  EXPECT_EQ(inf.decompress(z, out, 1 << 20, false), Inflater::Result::too_big);
  EXPECT_LE(out.size(), (1u << 20) + 256 * 1024);
  // The inflater is usable again afterwards.
  std::string z2, back;
  Deflater d2;
  ASSERT_TRUE(d2.init(15, 6, 8));
  ASSERT_TRUE(d2.compress("again", z2, true));
  EXPECT_EQ(inf.decompress(z2, back, 100, true), Inflater::Result::ok);
  EXPECT_EQ(back, "again");
}

TEST(WsDeflate, CorruptInputIsAnError) {
  Inflater inf;
  ASSERT_TRUE(inf.init(15));
  std::string out;
  EXPECT_EQ(inf.decompress(std::string("\xff\xff\xff\xff\xff", 5), out, 1000, false),
            Inflater::Result::error);
  // A back-reference before any data.
  Inflater fresh;
  ASSERT_TRUE(fresh.init(15));
  EXPECT_EQ(fresh.decompress(std::string("\xf2\x00\x11\x00\x00", 5), out, 100, false),
            Inflater::Result::error);
}

TEST(WsDeflate, OwnContextsAreCountedAndBounded) {
  const std::size_t before = deflate_memory();
  DeflateOptions o;
  o.memory_limit = before + deflater_memory(15, 8) + 10;  // room for exactly one compressor
  {
    Deflate a;
    a.options = &o;
    Deflate b;
    b.options = &o;
    ASSERT_NE(a.deflater(), nullptr);
    EXPECT_EQ(deflate_memory(), before + deflater_memory(15, 8));
    EXPECT_EQ(b.deflater(), nullptr);  // over budget: b sends uncompressed
    EXPECT_EQ(b.deflater(), nullptr);
    // No context takeover needs no own context and no budget.
    Deflate shared;
    shared.options = &o;
    shared.params.server_no_takeover = true;
    shared.params.client_no_takeover = true;
    EXPECT_NE(shared.deflater(), nullptr);
    EXPECT_NE(shared.inflater(), nullptr);
    EXPECT_EQ(shared.deflater(), shared.deflater());
    EXPECT_EQ(deflate_memory(), before + deflater_memory(15, 8));
  }
  EXPECT_EQ(deflate_memory(), before);  // released with the connections
  EXPECT_TRUE(reserve_deflate_memory(100, before + 100));
  EXPECT_FALSE(reserve_deflate_memory(1, before + 100));
  release_deflate_memory(100);
  EXPECT_EQ(deflate_memory(), before);
}

}  // namespace
