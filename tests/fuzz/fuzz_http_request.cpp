// libFuzzer target for the HTTP/1.1 request head parser and the chunked
// decoder. Rejection is a normal outcome; a crash, an out-of-bounds view or
// a broken invariant is a bug:
//   - a complete head's views (method, target, headers, host) lie inside
//     the input, head_bytes <= size, header_count <= max_headers;
//   - the parse is restartable: every proper prefix of a complete head is
//     incomplete, the head alone parses the same;
//   - a chunked body decodes the same whether fed whole or in pieces (sizes
//     derived from the input), consumed never exceeds what was fed, data
//     views lie inside what was fed.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "http/request_parser.hpp"

namespace {

using weft::http::BodyKind;
using weft::http::ChunkedDecoder;
using weft::http::Header;
using weft::http::HeadLimits;
using weft::http::ParseResult;
using weft::http::ParseStatus;
using weft::http::RequestHead;

void check(bool ok) {
  if (!ok) std::abort();
}

bool inside(std::string_view v, std::string_view in) {
  return v.empty() || (v.data() >= in.data() && v.data() + v.size() <= in.data() + in.size());
}

constexpr HeadLimits kLimits{.max_request_line = 256, .max_head_bytes = 1024, .max_headers = 8};

struct Parse {
  std::vector<Header> slots = std::vector<Header>(kLimits.max_headers);
  RequestHead head;
  ParseResult r;
  explicit Parse(std::string_view in) {
    head.headers = slots.data();
    r = weft::http::parse_request_head(in, head, kLimits);
  }
};

void check_head(const Parse& p, std::string_view in) {
  const RequestHead& h = p.head;
  check(h.headers == p.slots.data());
  check(h.header_count <= kLimits.max_headers);
  switch (p.r.status) {
    case ParseStatus::error:
      check(p.r.error_status == 400 || p.r.error_status == 414 || p.r.error_status == 431 ||
            p.r.error_status == 501 || p.r.error_status == 505);
      check(p.r.reason != nullptr && p.r.reason[0] != '\0');
      return;
    case ParseStatus::incomplete:
      return;
    case ParseStatus::complete:
      break;
  }
  check(h.head_bytes <= in.size() && h.head_bytes <= kLimits.max_head_bytes);
  check(in.substr(0, h.head_bytes).ends_with("\r\n\r\n"));
  check(!h.method.empty() && inside(h.method, in));
  check(!h.target.empty() && inside(h.target, in));
  check(inside(h.host, in));
  check(h.version_minor == 0 || h.version_minor == 1);
  for (std::size_t i = 0; i < h.header_count; ++i) {
    const Header& f = h.headers[i];
    check(!f.name.empty() && inside(f.name, in) && inside(f.value, in));
    check(f.name.data() + f.name.size() <= in.data() + h.head_bytes);
    check(f.value.find_first_of("\r\n") == std::string_view::npos);
  }
  check(h.method.data() + h.method.size() <= in.data() + h.head_bytes);
  if (h.body == BodyKind::chunked) check(h.version_minor == 1 && h.content_length == 0);
  if (h.version_minor == 1) check(h.has_header("host"));
  if (h.version_minor == 0) check(!h.upgrade && !h.expect_continue);
}

struct Decoded {
  ChunkedDecoder::Status status = ChunkedDecoder::Status::more;
  std::string body;
  std::size_t consumed = 0;
  bool over_limit = false;
};

// Feeds `held` (an exact-size heap copy, so that ASan sees any overread)
// until the decoder stops; returns what it consumed.
std::size_t feed_all(ChunkedDecoder& dec, std::string_view held, Decoded& out) {
  const std::unique_ptr<char[]> copy(new char[held.size() + 1]);
  std::memcpy(copy.get(), held.data(), held.size());
  const std::string_view buf(copy.get(), held.size());
  std::size_t used = 0;
  for (;;) {
    const std::string_view rest = buf.substr(used);
    const auto step = dec.feed(rest);
    check(step.consumed <= rest.size());
    check(inside(step.data, rest));
    check(step.data.size() <= step.consumed);
    used += step.consumed;
    out.body.append(step.data);
    out.status = step.status;
    if (step.status != ChunkedDecoder::Status::more || step.consumed == 0) return used;
  }
}

void check_chunked(std::string_view body, std::string_view input) {
  // A limit and piece sizes from the input itself.
  std::uint64_t seed = 1469598103934665603ULL;  // FNV-1a
  for (const char c : input) {
    seed = (seed ^ static_cast<unsigned char>(c)) * 1099511628211ULL;
  }
  const std::uint64_t limit = (seed & 3) == 0 ? 16 : UINT64_MAX;

  ChunkedDecoder whole_dec;
  whole_dec.set_limit(limit);
  Decoded whole;
  whole.consumed = feed_all(whole_dec, body, whole);
  whole.over_limit = whole_dec.over_limit();
  check(whole.consumed <= body.size());
  check(whole_dec.total() == whole.body.size() && whole.body.size() <= limit);
  check(whole.over_limit == (limit != UINT64_MAX && whole.over_limit));

  ChunkedDecoder dec;
  dec.set_limit(limit);
  Decoded pieces;
  std::string held;
  std::size_t from = 0;
  while (from < body.size() && pieces.status == ChunkedDecoder::Status::more) {
    seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
    const std::size_t piece = 1 + static_cast<std::size_t>((seed >> 33) % 23);
    const std::size_t n = piece < body.size() - from ? piece : body.size() - from;
    held.append(body.substr(from, n));
    from += n;
    const std::size_t used = feed_all(dec, held, pieces);
    check(used <= held.size());
    held.erase(0, used);
    pieces.consumed += used;
  }
  pieces.over_limit = dec.over_limit();
  check(dec.total() == pieces.body.size());
  // Splitting never changes the outcome.
  check(pieces.status == whole.status);
  check(pieces.body == whole.body);
  check(pieces.over_limit == whole.over_limit);
  if (whole.status == ChunkedDecoder::Status::done) check(pieces.consumed == whole.consumed);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  const Parse p(in);
  check_head(p, in);

  // Deterministic.
  const Parse again(in);
  check(again.r.status == p.r.status && again.r.error_status == p.r.error_status &&
        again.head.head_bytes == p.head.head_bytes);

  if (p.r.status != ParseStatus::complete) return 0;
  const std::size_t head_bytes = p.head.head_bytes;

  // Restartable: the head alone is the same head; any proper prefix of it
  // is incomplete (never an error).
  const Parse head_only(in.substr(0, head_bytes));
  check(head_only.r.status == ParseStatus::complete && head_only.head.head_bytes == head_bytes &&
        head_only.head.header_count == p.head.header_count && head_only.head.body == p.head.body);
  const std::size_t cut = size > 0 ? data[size - 1] % head_bytes : 0;
  check(Parse(in.substr(0, cut)).r.status == ParseStatus::incomplete);
  check(Parse(in.substr(0, head_bytes - 1)).r.status == ParseStatus::incomplete);

  if (p.head.body == BodyKind::chunked) check_chunked(in.substr(head_bytes), in);
  return 0;
}
