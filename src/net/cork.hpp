// The loop's cork: writes made inside one callback, gathered so they leave
// in one send when the callback returns. Small pieces are copied; a large
// piece that lies inside the input being delivered (an echo, a request body
// handed back) is only referenced, since that input stays put until the
// cork is flushed.
#pragma once

#include <array>
#include <cstddef>
#include <string_view>

#include "net/buffer.hpp"

namespace weft::detail {

class Cork {
 public:
  /// Most pieces the cork holds: with a write of up to as many pieces
  /// again, it still goes out in one writev (64 iovecs).
  static constexpr std::size_t kMaxPieces = 32;

  std::size_t size() const noexcept { return total_; }
  bool empty() const noexcept { return total_ == 0; }
  /// Whether `n` more pieces fit.
  bool has_room(std::size_t n) const noexcept { return count_ + n <= kMaxPieces; }

  void append_copy(std::string_view bytes) {
    if (bytes.empty()) return;
    if (count_ && pieces_[count_ - 1].ref == nullptr) {
      pieces_[count_ - 1].len += bytes.size();  // grows the last copied piece
    } else {
      pieces_[count_++] = {nullptr, owned_.size(), bytes.size()};
    }
    owned_.append(bytes);
    total_ += bytes.size();
  }

  /// The caller promises `bytes` stay valid and unchanged until clear().
  void append_ref(std::string_view bytes) noexcept {
    if (bytes.empty()) return;
    pieces_[count_++] = {bytes.data(), 0, bytes.size()};
    total_ += bytes.size();
  }

  /// Writes the gathered pieces to `out` (room for kMaxPieces); returns how many.
  std::size_t pieces(std::string_view* out) const noexcept {
    for (std::size_t i = 0; i < count_; ++i) {
      const Piece& p = pieces_[i];
      out[i] = {p.ref ? p.ref : owned_.data() + p.off, p.len};
    }
    return count_;
  }

  void clear() noexcept {
    owned_.clear();
    count_ = 0;
    total_ = 0;
  }

 private:
  struct Piece {
    const char* ref;  ///< referenced bytes, or null for bytes in owned_
    std::size_t off;  ///< where in owned_ (copied pieces)
    std::size_t len;
  };
  Buffer owned_;
  std::array<Piece, kMaxPieces> pieces_{};
  std::size_t count_ = 0;
  std::size_t total_ = 0;
};

}  // namespace weft::detail
