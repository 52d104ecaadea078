// libFuzzer target for permessage-deflate (ws/deflate.hpp). The input is
// used three ways: as a Sec-WebSocket-Extensions offer (negotiation must
// never crash and anything it agrees to must be within RFC 7692's ranges
// and echoed in the answer), as compressed message payloads fed to an
// inflater with and without context takeover (never crash, never exceed
// the size limit by more than one output step, stay usable afterwards),
// as the same payload inflated in two pieces (whatever inflates whole must
// inflate to the same bytes in pieces), and as plain data compressed and
// inflated back (must round-trip exactly).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "ws/deflate.hpp"

namespace {

using namespace weft::ws::detail;

void check(bool ok) {
  if (!ok) std::abort();
}

constexpr std::size_t kMax = 256 * 1024;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);

  // 1. Negotiation.
  weft::ws::DeflateOptions opts;
  opts.server_max_window_bits = 9 + static_cast<int>(size % 7);
  const DeflateOffer offer = negotiate_deflate(in, opts, size % 3 == 0);
  if (offer.accepted) {
    check(offer.params.server_window_bits >= 9 && offer.params.server_window_bits <= 15);
    check(offer.params.client_window_bits >= 8 && offer.params.client_window_bits <= 15);
    check(offer.response.rfind("permessage-deflate", 0) == 0);
    check(offer.response.find('\r') == std::string::npos &&
          offer.response.find('\n') == std::string::npos);
  }

  // 2. Untrusted compressed payloads, split into two messages.
  for (bool takeover : {true, false}) {
    Inflater inf;
    check(inf.init(15));
    std::string out;
    const std::size_t half = size / 2;
    for (std::string_view msg : {in.substr(0, half), in.substr(half)}) {
      const Inflater::Result r = inf.decompress(msg, out, kMax, !takeover);
      check(out.size() <= kMax + 256 * 1024);
      if (r == Inflater::Result::ok) check(out.size() <= kMax);
    }
    // Still usable: a fresh stored block decodes after whatever came before
    // once the context was reset (no takeover, or after an error).
    if (!takeover) {
      check(inf.decompress(std::string_view("\x00\x02\x00\xfd\xffhi", 7), out, kMax, true) ==
            Inflater::Result::ok);
      check(out == "hi");
    }
  }

  // 3. The same payload in two pieces, as a fragmented message arrives.
  {
    Inflater whole_inf, piece_inf;
    check(whole_inf.init(15) && piece_inf.init(15));
    std::string whole, pieces;
    const std::size_t cut = size ? data[0] % (size + 1) : 0;
    const Inflater::Result rw = whole_inf.decompress(in, whole, kMax, true);
    Inflater::Result rp = piece_inf.feed(in.substr(0, cut), pieces, kMax);
    if (rp == Inflater::Result::ok) rp = piece_inf.feed(in.substr(cut), pieces, kMax);
    if (rp == Inflater::Result::ok) rp = piece_inf.finish(pieces, kMax, true);
    check(pieces.size() <= kMax + 256 * 1024);
    if (rw == Inflater::Result::ok) check(rp == Inflater::Result::ok && pieces == whole);
  }

  // 4. Round trip of the input as a message.
  Deflater def;
  Inflater back;
  const int bits = 9 + static_cast<int>(size % 7);
  check(def.init(bits, 1 + static_cast<int>(size % 9), 1 + static_cast<int>(size % 9)));
  check(back.init(bits));
  std::string z, plain;
  for (int round = 0; round < 2; ++round) {
    check(def.compress(in, z, false));
    check(back.decompress(z, plain, size + 1, false) == Inflater::Result::ok);
    check(plain == in);
  }
  return 0;
}
