#include <string>

#include "net/worker.hpp"
#include "weft/error.hpp"
#include "weft/handle.hpp"

namespace weft {

bool ConnHandle::alive() const noexcept {
  return worker_ && worker_->alive(slot_, gen_);
}

std::error_code ConnHandle::send(Bytes data) const {
  if (!alive()) return errc::conn_gone;
  if (worker_->loop().in_loop_thread()) {
    if (Conn* c = worker_->find(slot_, gen_)) c->write(data);
    return {};
  }
  return worker_->loop().post([w = worker_, slot = slot_, gen = gen_, copy = std::string(data)] {
    if (Conn* c = w->find(slot, gen)) c->write(copy);
  });
}

std::error_code ConnHandle::close() const {
  return post([](Conn& c) { c.close(); });
}

std::error_code ConnHandle::post(std::function<void(Conn&)> fn) const {
  if (!alive()) return errc::conn_gone;
  return worker_->loop().post([w = worker_, slot = slot_, gen = gen_, fn = std::move(fn)] {
    if (Conn* c = w->find(slot, gen)) fn(*c);
  });
}

std::error_code ConnHandle::dispatch(std::function<void(Conn&)> fn) const {
  if (worker_ == nullptr || !worker_->loop().in_loop_thread()) return post(std::move(fn));
  Conn* c = worker_->find(slot_, gen_);
  if (c == nullptr) return errc::conn_gone;
  fn(*c);
  return {};
}

}  // namespace weft
