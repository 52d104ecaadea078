// A contiguous byte buffer with a read offset: appended at the back,
// consumed from the front. Used for a connection's leftover input and its
// queued output; both exist only while they hold bytes.
#pragma once

#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string_view>

namespace weft::detail {

class Buffer {
 public:
  Buffer() = default;
  explicit Buffer(std::string_view initial) { append(initial); }
  ~Buffer() { std::free(data_); }
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;

  const char* data() const noexcept { return data_ + begin_; }
  std::size_t size() const noexcept { return end_ - begin_; }
  bool empty() const noexcept { return begin_ == end_; }
  std::string_view view() const noexcept { return {data(), size()}; }

  void append(std::string_view bytes) {
    if (bytes.empty()) return;
    reserve_back(bytes.size());
    std::memcpy(data_ + end_, bytes.data(), bytes.size());
    end_ += bytes.size();
  }

  void consume(std::size_t n) noexcept {
    begin_ += n;
    if (begin_ == end_) begin_ = end_ = 0;
  }

  void clear() noexcept { begin_ = end_ = 0; }
  std::size_t capacity() const noexcept { return cap_; }

  /// Gives memory back when a large buffer is nearly empty (a burst is over).
  void shrink_if_sparse(std::size_t keep) {
    if (cap_ <= keep || size() > cap_ / 8) return;
    compact();
    std::size_t want = size() > keep ? size() : keep;
    resize_storage(want);
  }

 private:
  void compact() noexcept {
    if (begin_ == 0) return;
    std::memmove(data_, data_ + begin_, size());
    end_ -= begin_;
    begin_ = 0;
  }

  void reserve_back(std::size_t n) {
    if (cap_ - end_ >= n) return;
    // Slide down first when the consumed front would make room.
    if (begin_ > 0 && cap_ - size() >= n && begin_ >= size()) {
      compact();
      return;
    }
    compact();
    std::size_t want = cap_ ? cap_ : 256;
    while (want - end_ < n)
      want *= 2;
    resize_storage(want);
  }

  void resize_storage(std::size_t cap) {
    char* p = static_cast<char*>(std::realloc(data_, cap));
    if (!p) throw std::bad_alloc();
    data_ = p;
    cap_ = cap;
  }

  char* data_ = nullptr;
  std::size_t begin_ = 0, end_ = 0, cap_ = 0;
};

}  // namespace weft::detail
