// One Session per weft connection; the connection is the transport.
#include "weft/mux/endpoint.hpp"

#include <memory>

#include "weft/conn.hpp"
#include "weft/error.hpp"

namespace weft::mux {
namespace {

class ConnTransport final : public Transport {
 public:
  explicit ConnTransport(Conn& c) noexcept : conn_(&c), loop_(&c.loop()) {}
  void detach() noexcept { conn_ = nullptr; }

  // Batched: the echoes of one read's frames leave in one send, their
  // payloads referenced in the read buffer rather than copied.
  void writev(std::span<const Bytes> pieces) override {
    if (conn_) conn_->writev_batched(pieces);
  }
  std::size_t queued() const noexcept override { return conn_ ? conn_->queued() : 0; }
  void pause_reading() noexcept override {
    if (conn_) conn_->pause_reading();
  }
  void resume_reading() noexcept override {
    if (conn_) conn_->resume_reading();
  }
  void close() noexcept override {
    if (conn_) conn_->close();
  }
  void abort() noexcept override {
    if (conn_) conn_->abort();
  }
  EventLoop& loop() const noexcept override { return *loop_; }

 private:
  Conn* conn_;
  EventLoop* loop_;
};

}  // namespace

Endpoint::Endpoint(SessionHandler& h, const Config& cfg, RoleChoice role)
    : handler_(&h), cfg_(cfg), role_(role) {
  if (std::string why = validate(cfg_); !why.empty()) throw ConfigError("mux: " + why);
}

Session* Endpoint::session(Conn& c) noexcept {
  return static_cast<Session*>(c.context());
}

Action Endpoint::on_open(Conn& c) {
  Role role = role_ == RoleChoice::server   ? Role::server
              : role_ == RoleChoice::client ? Role::client
              : c.dialed()                  ? Role::client
                                            : Role::server;
  auto* s = new Session(std::make_unique<ConnTransport>(c), role, *handler_, cfg_);
  c.set_context(s);
  s->start();
  return Action::none;
}

std::size_t Endpoint::on_data(Conn& c, Bytes in) {
  Session* s = session(c);
  return s ? s->feed(in) : in.size();
}

void Endpoint::on_drained(Conn& c) {
  if (Session* s = session(c)) s->transport_drained();
}

void Endpoint::on_close(Conn& c, std::error_code why) {
  Session* s = session(c);
  if (!s) return;
  c.set_context(nullptr);
  static_cast<ConnTransport&>(s->transport()).detach();
  s->transport_closed(why);
  s->release();
}

}  // namespace weft::mux
