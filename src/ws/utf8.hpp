// An incremental UTF-8 validator (RFC 3629: no overlongs, no surrogates,
// nothing above U+10FFFF). It keeps one byte of state between pieces, so a
// text message split across frames or reads is checked as it arrives and
// rejected at the first byte that cannot belong to valid UTF-8.
#pragma once

#include <cstdint>
#include <string_view>

namespace weft::ws::detail {

class Utf8Validator {
 public:
  /// Checks the next piece; false as soon as the text can no longer be
  /// valid (the validator then stays failed).
  bool feed(std::string_view piece) noexcept;
  /// The text so far ends on a character boundary.
  bool complete() const noexcept { return state_ == kAccept; }
  bool failed() const noexcept { return state_ == kReject; }
  void reset() noexcept { state_ = kAccept; }
  std::uint8_t state() const noexcept { return state_; }

  /// Checks a whole text.
  static bool valid(std::string_view text) noexcept {
    Utf8Validator v;
    return v.feed(text) && v.complete();
  }

 private:
  // What the next byte must be: kNeedN continuation bytes (80..BF), or the
  // narrowed second byte after E0 (A0..BF), ED (80..9F), F0 (90..BF), F4 (80..8F).
  enum : std::uint8_t {
    kAccept,
    kNeed1,
    kNeed2,
    kNeed3,
    kAfterE0,
    kAfterED,
    kAfterF0,
    kAfterF4,
    kReject
  };
  std::uint8_t state_ = kAccept;
};

}  // namespace weft::ws::detail
