#include "ws/inflate_message.hpp"

#include "ws/decoder.hpp"
#include "ws/deflate.hpp"

namespace weft::ws::detail {

void MessageInflater::begin(Inflater* inf, bool text) {
  end();
  out_ = take_message_buffer();
  inf_ = inf;
  taken_ = 0;
  utf8_.reset();
  text_ = text;
}

namespace {
MessageInflater::Status status_of(Inflater::Result r) noexcept {
  switch (r) {
    case Inflater::Result::too_big:
      return MessageInflater::Status::too_big;
    case Inflater::Result::error:
      return MessageInflater::Status::bad_data;
    case Inflater::Result::ok:
      break;
  }
  return MessageInflater::Status::ok;
}
}  // namespace

MessageInflater::Status MessageInflater::check_utf8(std::size_t from) {
  if (text_ && !utf8_.feed(std::string_view(*out_).substr(from))) return Status::bad_utf8;
  return Status::ok;
}

MessageInflater::Status MessageInflater::feed(std::string_view piece, std::size_t max) {
  taken_ += piece.size();
  if (taken_ > max) return Status::too_big;
  const std::size_t from = out_->size();
  const Status s = status_of(inf_->feed(piece, *out_, max));
  return s == Status::ok ? check_utf8(from) : s;
}

MessageInflater::Status MessageInflater::finish(std::size_t max, bool reset) {
  const std::size_t from = out_->size();
  Status s = status_of(inf_->finish(*out_, max, reset));
  if (s == Status::ok) s = check_utf8(from);
  if (s == Status::ok && text_ && !utf8_.complete()) s = Status::bad_utf8;
  return s;
}

void MessageInflater::end() noexcept {
  give_message_buffer(out_);
  out_ = nullptr;
  inf_ = nullptr;
}

}  // namespace weft::ws::detail
