// A compressed (permessage-deflate) message inflated piece by piece as its
// frames arrive, so that corrupt data, invalid UTF-8 in text or an inflated
// size over the limit fail the connection in the fragment (the read) that
// shows them, not once the whole message is in.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "ws/utf8.hpp"

namespace weft::ws::detail {

class Inflater;

class MessageInflater {
 public:
  enum class Status : std::uint8_t { ok, too_big, bad_data, bad_utf8 };

  MessageInflater() = default;
  ~MessageInflater() { end(); }
  MessageInflater(const MessageInflater&) = delete;
  MessageInflater& operator=(const MessageInflater&) = delete;

  /// A message is open (begin() called, end() not yet).
  bool open() const noexcept { return out_ != nullptr; }
  /// Starts a message inflated by `inf` (which must not serve another
  /// message until end()); `text`: check UTF-8 as it comes out.
  void begin(Inflater* inf, bool text);
  /// The next piece of compressed payload. `max` bounds both the compressed
  /// bytes taken and the inflated size.
  Status feed(std::string_view piece, std::size_t max);
  /// The message's end: its tail, then UTF-8 must be complete. `reset`: no
  /// context takeover. After ok, data() is the whole message.
  Status finish(std::size_t max, bool reset);
  std::string_view data() const noexcept { return out_ ? std::string_view(*out_) : ""; }
  /// Frees the output (the inflater is only borrowed).
  void end() noexcept;

 private:
  // ok, or bad_utf8 when what came out past `from` cannot be text.
  Status check_utf8(std::size_t from);

  std::string* out_ = nullptr;  // inflated so far (a recycled message buffer)
  Inflater* inf_ = nullptr;
  std::uint64_t taken_ = 0;  // compressed bytes so far
  Utf8Validator utf8_;
  bool text_ = false;
};

}  // namespace weft::ws::detail
