// Internal: stream buffers recycled per thread (each loop is one thread).
// A stream gives its buffer back as soon as it empties, so idle streams
// hold no memory; busy streams take warm buffers instead of fresh ones (a
// new large allocation is fresh pages, and the page faults cost more than
// the copy into it). A stream that buffers megabytes (a paused reader
// under a 4 MiB receive budget) gets its big buffer back next time instead
// of growing a new one from nothing, copy after copy.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace weft::mux::detail {

class BufferPool {
 public:
  static constexpr std::size_t kMaxSpare = 32;
  static constexpr std::size_t kMinCapacity = 4096;
  /// Most bytes of spare capacity one thread keeps.
  static constexpr std::size_t kMaxSpareBytes = 16 * 1024 * 1024;

  /// Gives `dst` (empty, without storage) a spare buffer, if there is one.
  static void take(std::string& dst) {
    Spares& p = spares();
    if (dst.capacity() > 15 || p.list.empty()) return;  // 15: the small-string buffer
    dst.swap(p.list.back());
    p.list.pop_back();
    p.bytes -= dst.capacity();
    dst.clear();
  }
  /// Takes `b`'s storage; `b` is left empty, without storage.
  static void give(std::string& b) {
    std::string out;
    out.swap(b);
    Spares& p = spares();
    const std::size_t cap = out.capacity();
    if (cap < kMinCapacity || p.list.size() >= kMaxSpare || p.bytes + cap > kMaxSpareBytes)
      return;  // freed here
    out.clear();
    p.bytes += cap;
    p.list.push_back(std::move(out));
  }

 private:
  struct Spares {
    std::vector<std::string> list;
    std::size_t bytes = 0;
  };
  static Spares& spares() {
    thread_local Spares s;
    return s;
  }
};

}  // namespace weft::mux::detail
