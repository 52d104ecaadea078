// The WebSocket codec's building blocks, each against the RFC: frame
// headers (every length form, the shortest-form rule), masking (against a
// byte-by-byte reference at every size and phase), the incremental UTF-8
// validator (RFC 3629 edge cases, split at every byte, failing at the first
// bad byte), close codes, Sec-WebSocket-Accept and key checks, list headers.
#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <string>
#include <string_view>

#include "weft/ws/websocket.hpp"
#include "ws/frame.hpp"
#include "ws/handshake.hpp"
#include "ws/mask.hpp"
#include "ws/utf8.hpp"

namespace {

using namespace weft::ws;
using namespace weft::ws::detail;

FrameHeader parse_ok(const std::string& bytes) {
  FrameHeader h;
  EXPECT_EQ(
      parse_frame_header(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size(), h),
      HeaderParse::ok);
  return h;
}

std::string header_bytes(Opcode op, bool fin, bool rsv1, std::uint64_t len,
                         const std::uint8_t* mask) {
  std::uint8_t buf[kMaxHeader];
  const std::size_t n = write_frame_header(buf, op, fin, rsv1, len, mask);
  return {reinterpret_cast<const char*>(buf), n};
}

TEST(WsFrame, WritesAndParsesEveryLengthForm) {
  const std::uint8_t key[4] = {1, 2, 3, 4};
  for (std::uint64_t len :
       {0ull, 1ull, 125ull, 126ull, 127ull, 65535ull, 65536ull, 1ull << 32, (1ull << 63) - 1}) {
    for (bool masked : {false, true}) {
      const std::string b = header_bytes(Opcode::binary, true, false, len, masked ? key : nullptr);
      const std::size_t want = (len < 126 ? 2 : len <= 0xffff ? 4 : 10) + (masked ? 4 : 0);
      ASSERT_EQ(b.size(), want) << len;
      const FrameHeader h = parse_ok(b);
      EXPECT_EQ(h.length, len);
      EXPECT_EQ(h.size, want);
      EXPECT_EQ(h.masked, masked);
      EXPECT_TRUE(h.fin);
      EXPECT_EQ(h.opcode, 2);
      if (masked) {
        EXPECT_EQ(std::string(reinterpret_cast<const char*>(h.mask), 4), "\1\2\3\4");
      }
      // Every shorter prefix asks for more.
      for (std::size_t cut = 0; cut < b.size(); ++cut) {
        FrameHeader p;
        EXPECT_EQ(parse_frame_header(reinterpret_cast<const std::uint8_t*>(b.data()), cut, p),
                  HeaderParse::more)
            << "len " << len << " cut " << cut;
      }
    }
  }
}

TEST(WsFrame, BitsAndOpcodes) {
  const FrameHeader h = parse_ok(std::string("\x71\x00", 2));  // RSV1|RSV2|RSV3, opcode 1, no FIN
  EXPECT_FALSE(h.fin);
  EXPECT_TRUE(h.rsv1);
  EXPECT_TRUE(h.rsv2);
  EXPECT_TRUE(h.rsv3);
  EXPECT_EQ(h.opcode, 1);
  EXPECT_EQ(header_bytes(Opcode::ping, true, false, 0, nullptr), std::string("\x89\x00", 2));
  EXPECT_EQ(header_bytes(Opcode::text, false, true, 5, nullptr), std::string("\x41\x05", 2));
  for (int op = 0; op < 16; ++op) {
    const bool known = op == 0 || op == 1 || op == 2 || op == 8 || op == 9 || op == 10;
    EXPECT_EQ(known_opcode(static_cast<std::uint8_t>(op)), known) << op;
    EXPECT_EQ(is_control(static_cast<std::uint8_t>(op)), op >= 8) << op;
  }
}

TEST(WsFrame, RejectsLengthsNotInShortestFormAndTheTopBit) {
  FrameHeader h;
  auto parse = [&](const std::string& b) {
    return parse_frame_header(reinterpret_cast<const std::uint8_t*>(b.data()), b.size(), h);
  };
  EXPECT_EQ(parse(std::string("\x82\x7e\x00\x7d", 4)), HeaderParse::bad_length);  // 125 in 16 bits
  EXPECT_EQ(parse(std::string("\x82\x7e\x00\x7e", 4)), HeaderParse::ok);
  EXPECT_EQ(parse(std::string("\x82\x7f\x00\x00\x00\x00\x00\x00\xff\xff", 10)),
            HeaderParse::bad_length);
  EXPECT_EQ(parse(std::string("\x82\x7f\x00\x00\x00\x00\x00\x01\x00\x00", 10)), HeaderParse::ok);
  EXPECT_EQ(parse(std::string("\x82\x7f\x80\x00\x00\x00\x00\x00\x00\x00", 10)),
            HeaderParse::bad_length);
}

TEST(WsMask, MatchesTheByteByByteDefinitionAtEverySizeAndPhase) {
  std::mt19937 rng(7);
  const std::uint8_t key[4] = {0x37, 0xfa, 0x21, 0x3d};
  for (std::size_t n = 0; n < 300; ++n) {
    std::string src(n, '\0');
    for (auto& c : src)
      c = static_cast<char>(rng());
    for (unsigned phase = 0; phase < 4; ++phase) {
      std::string want = src;
      for (std::size_t i = 0; i < n; ++i)
        want[i] = static_cast<char>(src[i] ^ key[(phase + i) % 4]);
      std::string got(n, '\0');
      const unsigned next = apply_mask(got.data(), src.data(), n, key, phase);
      ASSERT_EQ(got, want) << "n " << n << " phase " << phase;
      EXPECT_EQ(next, (phase + n) % 4);
      std::string in_place = src;  // dst == src
      apply_mask(in_place.data(), in_place.data(), n, key, phase);
      ASSERT_EQ(in_place, want);
    }
  }
}

// Every form this CPU runs (AVX-512 where present, and the portable one),
// at every alignment, across the sizes where each switches loops.
TEST(WsMask, EveryImplementationAgrees) {
  const auto impls = mask_implementations();
  ASSERT_FALSE(impls.empty());
  EXPECT_STREQ(impls.back().name, "vec16");
  std::mt19937 rng(11);
  const std::uint8_t key[4] = {0x01, 0x80, 0xff, 0x5a};
  std::string buf(4096 + 64, '\0');
  for (auto& c : buf)
    c = static_cast<char>(rng());
  for (const MaskImpl& impl : impls) {
    for (std::size_t n :
         {0u, 1u, 15u, 63u, 64u, 65u, 127u, 128u, 129u, 191u, 192u, 255u, 1000u, 4096u}) {
      for (std::size_t align = 0; align < 64; align += 7) {
        for (unsigned phase = 0; phase < 4; ++phase) {
          const std::string src = buf.substr(align, n);
          std::string want = src;
          for (std::size_t i = 0; i < n; ++i)
            want[i] = static_cast<char>(src[i] ^ key[(phase + i) % 4]);
          std::string out = buf;
          const unsigned next = impl.fn(out.data() + align, out.data() + align, n, key, phase);
          ASSERT_EQ(out.substr(align, n), want)
              << impl.name << " n " << n << " align " << align << " phase " << phase;
          EXPECT_EQ(out.substr(0, align), buf.substr(0, align)) << impl.name;  // nothing else
          EXPECT_EQ(out.substr(align + n), buf.substr(align + n)) << impl.name;
          EXPECT_EQ(next, (phase + n) % 4);
        }
      }
    }
  }
}

TEST(WsMask, PiecewiseEqualsWhole) {
  // A payload unmasked in pieces (as reads split it) equals one pass.
  const std::uint8_t key[4] = {9, 8, 7, 6};
  std::string src(1000, '\0');
  for (std::size_t i = 0; i < src.size(); ++i)
    src[i] = static_cast<char>(i * 31);
  std::string whole(src.size(), '\0');
  apply_mask(whole.data(), src.data(), src.size(), key, 0);
  for (std::size_t step : {1u, 3u, 7u, 13u, 64u, 333u}) {
    std::string pieces(src.size(), '\0');
    unsigned phase = 0;
    for (std::size_t at = 0; at < src.size(); at += step) {
      const std::size_t n = std::min(step, src.size() - at);
      phase = apply_mask(pieces.data() + at, src.data() + at, n, key, phase);
    }
    EXPECT_EQ(pieces, whole) << step;
  }
}

TEST(WsMask, RandomKeysVary) {
  std::uint8_t a[4], b[4];
  random_mask(a);
  random_mask(b);
  std::uint8_t c[4];
  random_mask(c);
  const bool all_same = std::string_view(reinterpret_cast<char*>(a), 4) ==
                            std::string_view(reinterpret_cast<char*>(b), 4) &&
                        std::string_view(reinterpret_cast<char*>(b), 4) ==
                            std::string_view(reinterpret_cast<char*>(c), 4);
  EXPECT_FALSE(all_same);
}

// --- UTF-8 ---------------------------------------------------------------------

const char* const kValid[] = {
    "",
    "hello",
    "\x7f",
    "\xc2\x80",                                      // U+0080
    "\xdf\xbf",                                      // U+07FF
    "\xe0\xa0\x80",                                  // U+0800
    "\xed\x9f\xbf",                                  // U+D7FF
    "\xee\x80\x80",                                  // U+E000
    "\xef\xbf\xbf",                                  // U+FFFF
    "\xf0\x90\x80\x80",                              // U+10000
    "\xf4\x8f\xbf\xbf",                              // U+10FFFF
    "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5",  // "κόσμε"
    "Hello-\xc2\xb5@\xc3\x9f\xc3\xb6\xc3\xa4\xc3\xbc\xc3\xa0\xc3\xa1-UTF-8!!",
};

// Each with the index of the first byte that cannot belong to valid UTF-8
// (-1: only incomplete at the end).
const std::pair<const char*, int> kInvalid[] = {
    {"\x80", 0},  // lone continuation
    {"\xbf", 0},
    {"\xc0\xaf", 0},  // overlong '/'
    {"\xc1\xbf", 0},
    {"\xe0\x80\xaf", 1},  // overlong 3-byte
    {"\xe0\x9f\xbf", 1},
    {"\xf0\x80\x80\xaf", 1},  // overlong 4-byte
    {"\xf0\x8f\xbf\xbf", 1},
    {"\xed\xa0\x80", 1},      // U+D800 surrogate
    {"\xed\xbf\xbf", 1},      // U+DFFF
    {"\xf4\x90\x80\x80", 1},  // U+110000
    {"\xf5\x80\x80\x80", 0},
    {"\xfe", 0},
    {"\xff", 0},
    {"\xc2\x41", 1},  // lead without its continuation
    {"\xe1\x80\x41", 2},
    {"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80"
     "edited",
     12},
    {"\xc2", -1},  // truncated at the end
    {"\xe1\x80", -1},
    {"\xf0\x90\x80", -1},
};

TEST(WsUtf8, ValidTexts) {
  for (const char* s : kValid) {
    EXPECT_TRUE(Utf8Validator::valid(s)) << s;
  }
  std::string long_ascii(1000, 'a');
  long_ascii += "\xc3\xa9";
  long_ascii += std::string(17, 'b');
  EXPECT_TRUE(Utf8Validator::valid(long_ascii));
}

TEST(WsUtf8, InvalidTextsFailAtTheFirstBadByteWhateverTheSplit) {
  for (const auto& [s, bad_at] : kInvalid) {
    const std::string text(s);
    EXPECT_FALSE(Utf8Validator::valid(text)) << text;
    // Fed a byte at a time: the failure comes exactly at bad_at.
    Utf8Validator v;
    int failed_at = -1;
    for (std::size_t i = 0; i < text.size(); ++i) {
      if (!v.feed(text.substr(i, 1))) {
        failed_at = static_cast<int>(i);
        break;
      }
    }
    EXPECT_EQ(failed_at, bad_at) << "text #" << (&s - &kInvalid[0].first);
    if (bad_at < 0) {
      EXPECT_FALSE(v.complete());
    } else {
      EXPECT_TRUE(v.failed());
      EXPECT_FALSE(v.feed("a"));  // stays failed
    }
  }
}

TEST(WsUtf8, SplitAtEveryPointAgreesWithWhole) {
  for (const char* s : kValid) {
    const std::string text(s);
    for (std::size_t cut = 0; cut <= text.size(); ++cut) {
      Utf8Validator v;
      ASSERT_TRUE(v.feed(text.substr(0, cut)));
      ASSERT_TRUE(v.feed(text.substr(cut)));
      EXPECT_TRUE(v.complete()) << text << " cut " << cut;
    }
  }
}

TEST(WsUtf8, AgreesWithAReferenceOnEveryCodePoint) {
  // Every scalar value encoded by hand is valid; every surrogate is not.
  auto encode = [](std::uint32_t cp) {
    std::string s;
    if (cp < 0x80) {
      s += static_cast<char>(cp);
    } else if (cp < 0x800) {
      s += static_cast<char>(0xc0 | (cp >> 6));
      s += static_cast<char>(0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
      s += static_cast<char>(0xe0 | (cp >> 12));
      s += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
      s += static_cast<char>(0x80 | (cp & 0x3f));
    } else {
      s += static_cast<char>(0xf0 | (cp >> 18));
      s += static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
      s += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
      s += static_cast<char>(0x80 | (cp & 0x3f));
    }
    return s;
  };
  for (std::uint32_t cp = 0; cp <= 0x10ffff; cp += (cp < 0x20000 ? 1 : 97)) {
    const bool surrogate = cp >= 0xd800 && cp <= 0xdfff;
    ASSERT_EQ(Utf8Validator::valid(encode(cp)), !surrogate) << std::hex << cp;
  }
}

// --- close codes, handshake ----------------------------------------------------------

TEST(WsCloseCode, WireValidity) {
  for (int c = 0; c < 6000; ++c) {
    const bool want =
        (c >= 1000 && c <= 1003) || (c >= 1007 && c <= 1014) || (c >= 3000 && c <= 4999);
    EXPECT_EQ(valid_close_code(static_cast<std::uint16_t>(c)), want) << c;
  }
}

TEST(WsHandshake, AcceptKeyOfTheRfcExample) {
  EXPECT_EQ(accept_key("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

TEST(WsHandshake, ClientKeyMustBeSixteenBytesOfBase64) {
  EXPECT_TRUE(valid_client_key("dGhlIHNhbXBsZSBub25jZQ=="));
  EXPECT_TRUE(valid_client_key("AAAAAAAAAAAAAAAAAAAAAA=="));
  EXPECT_FALSE(valid_client_key(""));
  EXPECT_FALSE(valid_client_key("dGhlIHNhbXBsZSBub25jZQ="));  // 23 characters
  EXPECT_FALSE(valid_client_key("dGhlIHNhbXBsZSBub25jZQ=x"));
  EXPECT_FALSE(valid_client_key("dGhlIHNhbXBsZSBub25jZR=="));  // stray bits before the padding
  EXPECT_FALSE(valid_client_key("dGhlIHNhbXBsZSBub2*jZQ=="));
  EXPECT_FALSE(valid_client_key("dGhlIHNhbXBsZSBub25jZQ==dGhl"));
}

TEST(WsHandshake, SplitsLists) {
  auto v = split_list(" chat , superchat,,  v2.json ");
  ASSERT_EQ(v.size(), 3u);
  EXPECT_EQ(v[0], "chat");
  EXPECT_EQ(v[1], "superchat");
  EXPECT_EQ(v[2], "v2.json");
  EXPECT_TRUE(split_list("").empty());
  EXPECT_TRUE(split_list(" , ").empty());
}

}  // namespace
