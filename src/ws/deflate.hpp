// permessage-deflate (RFC 7692) with zlib: negotiating the parameters from
// a Sec-WebSocket-Extensions offer, compressing and decompressing messages
// (whole, or in pieces as they arrive), and counting the memory zlib
// contexts hold.
//
// A side without context takeover needs no memory between messages, so it
// uses a context shared by every connection on the thread (reset after each
// message). A side with context takeover gets its own context, made at its
// first compressed message and counted against DeflateOptions::memory_limit.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <zlib.h>

#include "weft/ws/behavior.hpp"
#include "ws/inflate_message.hpp"

namespace weft::ws::detail {

/// What the handshake agreed on.
struct DeflateParams {
  std::uint8_t server_window_bits = 15;  ///< window of the server's compressor
  std::uint8_t client_window_bits = 15;  ///< window of the client's compressor
  bool server_no_takeover = false;
  bool client_no_takeover = false;
};

struct DeflateOffer {
  bool accepted = false;
  DeflateParams params;
  std::string response;  ///< the Sec-WebSocket-Extensions value to answer with
};

/// Server side: the first acceptable permessage-deflate offer in `offers`
/// (a Sec-WebSocket-Extensions value). Offers with unknown or repeated
/// parameters or bad values are skipped, as is server_max_window_bits=8
/// (zlib cannot compress with a 256-byte window). `force_client_no_takeover`
/// asks the client for client_no_context_takeover even if ours does not.
DeflateOffer negotiate_deflate(std::string_view offers, const DeflateOptions& ours,
                               bool force_client_no_takeover);

/// Estimated bytes a zlib context holds (zlib's own formula, plus the
/// z_stream and state).
std::size_t deflater_memory(int window_bits, int mem_level) noexcept;
std::size_t inflater_memory(int window_bits) noexcept;

/// Process-wide accounting of context-takeover contexts.
bool reserve_deflate_memory(std::size_t bytes, std::size_t limit) noexcept;
void release_deflate_memory(std::size_t bytes) noexcept;

class Deflater {
 public:
  Deflater() = default;
  ~Deflater();
  Deflater(const Deflater&) = delete;
  Deflater& operator=(const Deflater&) = delete;
  bool init(int window_bits, int level, int mem_level) noexcept;
  /// One message into `out` (replaced): a sync flush with its final
  /// 00 00 FF FF removed (RFC 7692 §7.2.1). `reset`: no context takeover.
  bool compress(std::string_view in, std::string& out, bool reset);

 private:
  z_stream z_{};
  bool ready_ = false;
};

class Inflater {
 public:
  enum class Result : std::uint8_t { ok, too_big, error };
  Inflater() = default;
  ~Inflater();
  Inflater(const Inflater&) = delete;
  Inflater& operator=(const Inflater&) = delete;
  bool init(int window_bits) noexcept;
  /// One message (without its final 00 00 FF FF) into `out` (replaced),
  /// at most `max` bytes. `reset`: no context takeover.
  Result decompress(std::string_view in, std::string& out, std::size_t max, bool reset);

  /// The same in pieces, as a message arrives: feed() appends what `in`
  /// inflates to onto `out` (at most `max` bytes in all), finish() adds the
  /// message's end (the 00 00 FF FF tail and what zlib still holds).
  Result feed(std::string_view in, std::string& out, std::size_t max);
  Result finish(std::string& out, std::size_t max, bool reset);

 private:
  Result run(std::string_view in, std::string& out, std::size_t max);
  z_stream z_{};
  bool ready_ = false;
  bool ended_ = false;  // a final block ended the message's stream: nothing may follow
};

/// The permessage-deflate state of one connection (WebSocket::deflate_).
struct Deflate {
  DeflateParams params;
  const DeflateOptions* options = nullptr;
  Deflater* own_deflater = nullptr;  // context takeover only, made at the first use
  Inflater* own_inflater = nullptr;
  std::size_t reserved = 0;       // bytes counted in deflate_memory() for this connection
  bool deflater_refused = false;  // no budget for a compressor: send uncompressed
  bool server_side = true;        // which of params' directions is ours

  ~Deflate();
  bool our_no_takeover() const noexcept {
    return server_side ? params.server_no_takeover : params.client_no_takeover;
  }
  bool peer_no_takeover() const noexcept {
    return server_side ? params.client_no_takeover : params.server_no_takeover;
  }
  int our_window() const noexcept {
    return server_side ? params.server_window_bits : params.client_window_bits;
  }
  int peer_window() const noexcept {
    return server_side ? params.client_window_bits : params.server_window_bits;
  }
  /// The compressor for the next message (shared or own), or null when none
  /// may be used (no memory budget): then send uncompressed.
  Deflater* deflater();
  /// The decompressor for the next message, or null if zlib failed.
  Inflater* inflater();
  /// The decompressor for a message inflated piece by piece across reads.
  /// The thread's shared one cannot be: another connection may use it
  /// between two reads. So a peer without context takeover gets a context
  /// of its own for that message only (counted in deflate_memory() while it
  /// lives, given back by drop_piecewise_inflater()).
  Inflater* piecewise_inflater();
  void drop_piecewise_inflater() noexcept;

  MessageInflater partial;  // the compressed message being inflated piece by piece
};

/// Per-thread buffers: compressed output for sends, decompressed input for
/// deliveries (kept apart: a callback may send while it reads a message).
std::string& compress_buffer();
std::string& inflate_buffer();
/// Frees a per-thread buffer that grew past 1 MiB (after a large message).
void trim_buffer(std::string& buf) noexcept;

}  // namespace weft::ws::detail
