#include "ws/deflate.hpp"

#include <algorithm>
#include <atomic>
#include <memory>
#include <vector>

#include "http/request_parser.hpp"
#include "ws/lists.hpp"

namespace weft::ws::detail {

namespace {

std::atomic<std::size_t> g_context_bytes{0};

constexpr std::string_view kName = "permessage-deflate";
constexpr char kTail[4] = {0, 0, '\xff', '\xff'};

// "8".."15" (a quoted form is allowed too: RFC 7692 §7.1). 0 when invalid.
int window_bits(std::string_view v) noexcept {
  if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
  if (v.empty() || v.size() > 2 || v[0] == '0') return 0;
  int n = 0;
  for (char c : v) {
    if (c < '0' || c > '9') return 0;
    n = n * 10 + (c - '0');
  }
  return n >= 8 && n <= 15 ? n : 0;
}

struct Offer {
  bool server_no_takeover = false;
  bool client_no_takeover = false;
  int server_bits = 0;  // 0: not offered
  int client_bits = 0;  // 0: not offered; 15 when offered without a value
  bool client_bits_offered = false;
};

// One extension element's parameters, each after a ';' ("" when none);
// false when the offer is unusable.
bool parse_offer(std::string_view params, Offer& o) {
  bool seen_snt = false, seen_cnt = false, seen_sb = false, seen_cb = false;
  while (!params.empty()) {
    if (params.front() != ';') return false;
    params.remove_prefix(1);
    const auto semi = params.find(';');
    std::string_view p = trim(params.substr(0, semi));
    params = semi == std::string_view::npos ? std::string_view() : params.substr(semi);
    if (p.empty()) return false;
    const auto eq = p.find('=');
    const std::string_view name = trim(p.substr(0, eq));
    const bool has_value = eq != std::string_view::npos;
    const std::string_view value = has_value ? trim(p.substr(eq + 1)) : std::string_view();
    if (http::iequals(name, "server_no_context_takeover")) {
      if (seen_snt || has_value) return false;
      seen_snt = o.server_no_takeover = true;
    } else if (http::iequals(name, "client_no_context_takeover")) {
      if (seen_cnt || has_value) return false;
      seen_cnt = o.client_no_takeover = true;
    } else if (http::iequals(name, "server_max_window_bits")) {
      if (seen_sb || !has_value) return false;
      seen_sb = true;
      o.server_bits = window_bits(value);
      if (!o.server_bits) return false;
    } else if (http::iequals(name, "client_max_window_bits")) {
      if (seen_cb) return false;
      seen_cb = o.client_bits_offered = true;
      o.client_bits = has_value ? window_bits(value) : 15;
      if (!o.client_bits) return false;
    } else {
      return false;  // an unknown parameter: decline this offer
    }
  }
  return true;
}

}  // namespace

DeflateOffer negotiate_deflate(std::string_view offers, const DeflateOptions& ours,
                               bool force_client_no_takeover) {
  DeflateOffer out;
  if (!ours.enabled) return out;
  const int our_server_bits = std::clamp(ours.server_max_window_bits, 9, 15);
  const int our_client_bits = std::clamp(ours.client_max_window_bits, 8, 15);
  for (std::string_view element : split_list(offers)) {
    const auto semi = element.find(';');
    if (!http::iequals(trim(element.substr(0, semi)), kName)) continue;
    Offer o;
    if (!parse_offer(semi == std::string_view::npos ? std::string_view() : element.substr(semi),
                     o)) {
      continue;
    }
    if (o.server_bits == 8) continue;  // zlib's raw deflate needs at least 9
    DeflateParams p;
    p.server_no_takeover = o.server_no_takeover || ours.server_no_context_takeover;
    p.client_no_takeover =
        o.client_no_takeover || ours.client_no_context_takeover || force_client_no_takeover;
    p.server_window_bits = static_cast<std::uint8_t>(
        o.server_bits ? std::min(o.server_bits, our_server_bits) : our_server_bits);
    p.client_window_bits = static_cast<std::uint8_t>(
        o.client_bits_offered ? std::min(o.client_bits, our_client_bits) : 15);
    out.accepted = true;
    out.params = p;
    out.response.assign(kName);
    if (p.server_no_takeover) out.response.append("; server_no_context_takeover");
    if (p.client_no_takeover) out.response.append("; client_no_context_takeover");
    if (o.server_bits || p.server_window_bits < 15) {
      out.response.append("; server_max_window_bits=").append(std::to_string(p.server_window_bits));
    }
    if (o.client_bits_offered) {
      out.response.append("; client_max_window_bits=").append(std::to_string(p.client_window_bits));
    }
    return out;
  }
  return out;
}

std::size_t deflater_memory(int window_bits, int mem_level) noexcept {
  return (std::size_t{1} << (window_bits + 2)) + (std::size_t{1} << (mem_level + 9)) + 6 * 1024;
}

std::size_t inflater_memory(int window_bits) noexcept {
  return (std::size_t{1} << window_bits) + 7 * 1024;
}

bool reserve_deflate_memory(std::size_t bytes, std::size_t limit) noexcept {
  std::size_t cur = g_context_bytes.load(std::memory_order_relaxed);
  do {
    if (cur + bytes > limit) return false;
  } while (!g_context_bytes.compare_exchange_weak(cur, cur + bytes, std::memory_order_relaxed));
  return true;
}

void release_deflate_memory(std::size_t bytes) noexcept {
  g_context_bytes.fetch_sub(bytes, std::memory_order_relaxed);
}

// --- Deflater ------------------------------------------------------------------

Deflater::~Deflater() {
  if (ready_) deflateEnd(&z_);
}

bool Deflater::init(int window_bits, int level, int mem_level) noexcept {
  ready_ = deflateInit2(&z_, std::clamp(level, 1, 9), Z_DEFLATED, -std::clamp(window_bits, 9, 15),
                        std::clamp(mem_level, 1, 9), Z_DEFAULT_STRATEGY) == Z_OK;
  return ready_;
}

bool Deflater::compress(std::string_view in, std::string& out, bool reset) {
  out.clear();
  if (!ready_) return false;
  z_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z_.avail_in = static_cast<uInt>(in.size());
  std::size_t used = 0;
  for (;;) {
    const std::size_t room = std::max<std::size_t>(256, in.size() / 2 + 64);
    out.resize(used + room);
    z_.next_out = reinterpret_cast<Bytef*>(out.data() + used);
    z_.avail_out = static_cast<uInt>(room);
    const int rc = deflate(&z_, Z_SYNC_FLUSH);
    used += room - z_.avail_out;
    if (rc != Z_OK && rc != Z_BUF_ERROR) {
      out.clear();
      deflateReset(&z_);
      return false;
    }
    if (z_.avail_out != 0 && z_.avail_in == 0) break;
  }
  out.resize(used);
  if (out.size() >= 4 &&
      std::string_view(out).substr(out.size() - 4) == std::string_view(kTail, 4)) {
    out.resize(out.size() - 4);
  }
  if (reset) deflateReset(&z_);
  return true;
}

// --- Inflater ------------------------------------------------------------------

Inflater::~Inflater() {
  if (ready_) inflateEnd(&z_);
}

bool Inflater::init(int window_bits) noexcept {
  // A window at least as large as the peer's decodes its stream; zlib's
  // raw inflate accepts 8..15, 9 is used for 8 to stay clear of old quirks.
  ready_ = inflateInit2(&z_, -std::clamp(window_bits, 9, 15)) == Z_OK;
  return ready_;
}

Inflater::Result Inflater::run(std::string_view in, std::string& out, std::size_t max) {
  if (in.empty()) return Result::ok;
  if (ended_) return Result::error;  // data after the final block
  z_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z_.avail_in = static_cast<uInt>(in.size());
  while (z_.avail_in > 0) {
    std::size_t used = out.size();
    const std::size_t room = std::clamp<std::size_t>(in.size() * 4, 1024, 256 * 1024);
    out.resize(used + room);
    z_.next_out = reinterpret_cast<Bytef*>(out.data() + used);
    z_.avail_out = static_cast<uInt>(room);
    const int rc = inflate(&z_, Z_SYNC_FLUSH);
    out.resize(used + room - z_.avail_out);
    if (out.size() > max) return Result::too_big;
    if (rc == Z_STREAM_END) {
      // A final block ends the stream; nothing may follow it in this message.
      inflateReset(&z_);
      ended_ = true;
      return z_.avail_in == 0 ? Result::ok : Result::error;
    }
    if (rc == Z_BUF_ERROR && z_.avail_out != 0) return Result::error;  // no progress possible
    if (rc != Z_OK && rc != Z_BUF_ERROR) return Result::error;
  }
  return Result::ok;
}

Inflater::Result Inflater::feed(std::string_view in, std::string& out, std::size_t max) {
  if (!ready_) return Result::error;
  const Result r = run(in, out, max);
  if (r != Result::ok) {
    inflateReset(&z_);
    ended_ = false;
  }
  return r;
}

Inflater::Result Inflater::finish(std::string& out, std::size_t max, bool reset) {
  if (!ready_) return Result::error;
  // After a final block the stream is over: the tail would only start a new one.
  Result r = ended_ ? Result::ok : run(std::string_view(kTail, 4), out, max);
  // Output zlib still holds after the tail: keep draining it.
  while (r == Result::ok && z_.avail_out == 0) {
    std::size_t used = out.size();
    out.resize(used + 1024);
    z_.next_out = reinterpret_cast<Bytef*>(out.data() + used);
    z_.avail_out = 1024;
    const int rc = inflate(&z_, Z_SYNC_FLUSH);
    out.resize(used + 1024 - z_.avail_out);
    if (out.size() > max) r = Result::too_big;
    if (rc != Z_OK && rc != Z_BUF_ERROR && rc != Z_STREAM_END) r = Result::error;
    if (rc != Z_OK) break;
  }
  ended_ = false;
  if (reset || r != Result::ok) inflateReset(&z_);
  return r;
}

Inflater::Result Inflater::decompress(std::string_view in, std::string& out, std::size_t max,
                                      bool reset) {
  out.clear();
  const Result r = feed(in, out, max);
  return r == Result::ok ? finish(out, max, reset) : r;
}

// --- per-connection and per-thread contexts -----------------------------------------

namespace {

struct SharedDeflater {
  int window_bits, level, mem_level;
  std::unique_ptr<Deflater> d;
};

Deflater* shared_deflater(int window_bits, int level, int mem_level) {
  thread_local std::vector<SharedDeflater> all;
  for (auto& s : all) {
    if (s.window_bits == window_bits && s.level == level && s.mem_level == mem_level) {
      return s.d.get();
    }
  }
  auto d = std::make_unique<Deflater>();
  if (!d->init(window_bits, level, mem_level)) return nullptr;
  all.push_back({window_bits, level, mem_level, std::move(d)});
  return all.back().d.get();
}

Inflater* shared_inflater() {
  thread_local Inflater inf;
  thread_local const bool ready = inf.init(15);
  return ready ? &inf : nullptr;
}

}  // namespace

Deflate::~Deflate() {
  delete own_deflater;
  delete own_inflater;
  if (reserved) release_deflate_memory(reserved);
}

Deflater* Deflate::deflater() {
  if (our_no_takeover()) return shared_deflater(our_window(), options->level, options->mem_level);
  if (own_deflater) return own_deflater;
  if (deflater_refused) return nullptr;
  const std::size_t need = deflater_memory(our_window(), options->mem_level);
  if (!reserve_deflate_memory(need, options->memory_limit)) {
    deflater_refused = true;
    return nullptr;
  }
  auto d = std::make_unique<Deflater>();
  if (!d->init(our_window(), options->level, options->mem_level)) {
    release_deflate_memory(need);
    deflater_refused = true;
    return nullptr;
  }
  reserved += need;
  own_deflater = d.release();
  return own_deflater;
}

Inflater* Deflate::piecewise_inflater() {
  if (!peer_no_takeover()) return inflater();
  if (own_inflater) return own_inflater;
  // A message in progress is bounded by max_message anyway; its context is
  // counted but not refused.
  auto inf = std::make_unique<Inflater>();
  if (!inf->init(peer_window())) return nullptr;
  const std::size_t need = inflater_memory(std::max(peer_window(), 9));
  (void)reserve_deflate_memory(need, static_cast<std::size_t>(-1));  // no limit: cannot fail
  reserved += need;
  own_inflater = inf.release();
  return own_inflater;
}

void Deflate::drop_piecewise_inflater() noexcept {
  if (!peer_no_takeover() || !own_inflater) return;
  delete own_inflater;
  own_inflater = nullptr;
  const std::size_t need = inflater_memory(std::max(peer_window(), 9));
  release_deflate_memory(need);
  reserved -= need;
}

Inflater* Deflate::inflater() {
  if (peer_no_takeover()) return shared_inflater();
  if (own_inflater) return own_inflater;
  // The memory was reserved at the handshake (the peer's context takeover
  // cannot be refused later).
  auto inf = std::make_unique<Inflater>();
  if (!inf->init(peer_window())) return nullptr;
  own_inflater = inf.release();
  return own_inflater;
}

std::string& compress_buffer() {
  thread_local std::string buf;
  return buf;
}

std::string& inflate_buffer() {
  thread_local std::string buf;
  return buf;
}

void trim_buffer(std::string& buf) noexcept {
  if (buf.capacity() > (1u << 20)) std::string().swap(buf);
}

}  // namespace weft::ws::detail

namespace weft::ws {
std::size_t deflate_memory() noexcept {
  return detail::g_context_bytes.load(std::memory_order_relaxed);
}
}  // namespace weft::ws
