// The publish/subscribe API: WebSocket's topic members and the publish
// any thread may call (weft/ws/topics.hpp).
#include "weft/ws/topics.hpp"

#include "weft/conn.hpp"
#include "weft/error.hpp"
#include "weft/loop.hpp"
#include "weft/server.hpp"
#include "ws/broadcast.hpp"
#include "ws/topic_table.hpp"

namespace weft::ws {

namespace {
// Topics carry messages; control frames belong to one connection.
bool is_message(Opcode op) noexcept {
  return op == Opcode::text || op == Opcode::binary;
}
}  // namespace

bool WebSocket::subscribe(std::string_view topic) {
  if (closing()) return false;
  return detail::TopicTable::of(conn_->loop()).subscribe(*this, topic);
}

// A socket with memberships (topics_ != 0) implies its loop's table.
bool WebSocket::unsubscribe(std::string_view topic) {
  if (!topics_) return false;
  return detail::TopicTable::find(conn_->loop())->unsubscribe(*this, topic);
}

bool WebSocket::subscribed(std::string_view topic) const {
  if (!topics_) return false;
  return detail::TopicTable::find(conn_->loop())->subscribed(*this, topic);
}

std::error_code WebSocket::publish(std::string_view topic, Bytes data, Opcode op, bool compress) {
  if (!is_message(op)) return std::make_error_code(std::errc::invalid_argument);
  Server& server = conn_->server();
  EventLoop& here = conn_->loop();
  // The other loops first: they work while this one writes. A loop that no
  // longer runs is a server being torn down (on_close from its destructor):
  // the other loops may be gone already.
  std::error_code ec = make_error_code(errc::loop_stopped);
  if (here.running()) ec = detail::post_to_loops(server, &here, topic, data, op, compress);
  detail::deliver(server, here, topic, data, op, compress, this);
  return ec;
}

std::error_code publish(Server& server, std::string_view topic, Bytes data, Opcode op,
                        bool compress) {
  if (!is_message(op)) return std::make_error_code(std::errc::invalid_argument);
  EventLoop* here = nullptr;
  for (std::size_t i = 0; i < server.loop_count() && !here; ++i) {
    if (server.loop(i).in_loop_thread()) here = &server.loop(i);
  }
  const std::error_code ec = detail::post_to_loops(server, here, topic, data, op, compress);
  if (here) detail::deliver(server, *here, topic, data, op, compress, nullptr);
  return ec;
}

std::size_t subscribers(EventLoop& loop, std::string_view topic) {
  const detail::TopicTable* table = detail::TopicTable::find(loop);
  return table ? table->subscribers(topic) : 0;
}

}  // namespace weft::ws
