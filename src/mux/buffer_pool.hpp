// Internal: stream buffers recycled per thread (each loop is one thread).
// A stream gives its buffer back as soon as it empties, so idle streams
// hold no memory; busy streams take warm buffers instead of fresh ones (a
// new large allocation is fresh pages, and the page faults cost more than
// the copy into it).
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace weft::mux::detail {

class BufferPool {
 public:
  static constexpr std::size_t kMaxSpare = 32;
  static constexpr std::size_t kMinCapacity = 4096;
  static constexpr std::size_t kMaxCapacity = 1024 * 1024;

  /// Gives `dst` (empty, without storage) a spare buffer, if there is one.
  static void take(std::string& dst) {
    auto& spare = list();
    if (dst.capacity() > 15 || spare.empty()) return;  // 15: the small-string buffer
    dst.swap(spare.back());
    spare.pop_back();
    dst.clear();
  }
  /// Takes `b`'s storage; `b` is left empty, without storage.
  static void give(std::string& b) {
    std::string out;
    out.swap(b);
    auto& spare = list();
    if (out.capacity() < kMinCapacity || out.capacity() > kMaxCapacity || spare.size() >= kMaxSpare)
      return;  // freed here
    out.clear();
    spare.push_back(std::move(out));
  }

 private:
  static std::vector<std::string>& list() {
    thread_local std::vector<std::string> spare;
    return spare;
  }
};

}  // namespace weft::mux::detail
