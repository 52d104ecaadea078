// weft/ws/topics.hpp — publish/subscribe for WebSockets: a socket joins
// topics with WebSocket::subscribe(), and a message published to a topic
// goes to every subscriber on every loop of the server.
//
//   app.ws("/chat", {.on_open = [](auto& ws) { ws.subscribe("chat"); },
//                    .on_message = [](auto& ws, std::string_view m, weft::ws::Opcode op) {
//                      ws.publish("chat", m, op);  // everyone else
//                      ws.send(m, op);             // and the sender
//                    }});
//   // From any thread (a timer, a worker pool, another server's callback):
//   weft::ws::publish(server, "chat", "server going down at noon", weft::ws::Opcode::text);
//
// Each loop keeps its own table of topics and their subscribers, touched
// only by its thread: subscribing, unsubscribing and delivering take no
// lock. A message for other loops travels as one shared copy in one task
// per loop; each loop then encodes the frame header once and writes the
// same bytes to all its subscribers.
#pragma once

#include <cstddef>
#include <string_view>
#include <system_error>

#include "weft/bytes.hpp"
#include "weft/ws/websocket.hpp"

namespace weft {
class EventLoop;
class Server;
}  // namespace weft

namespace weft::ws {

/// Sends one message to every subscriber of `topic` on every loop of
/// `server`. Any thread, while the server exists: the loop the caller runs
/// on (if it is one of the server's) delivers at once, the others through
/// one posted task each. Returns the first loop's refusal (errc::queue_full
/// past chanSize, errc::loop_stopped; the other loops still get it), or
/// std::errc::invalid_argument for an `op` other than text or binary.
std::error_code publish(Server& server, std::string_view topic, Bytes data,
                        Opcode op = Opcode::binary, bool compress = true);

/// Subscribers of `topic` on `loop` (its thread only).
std::size_t subscribers(EventLoop& loop, std::string_view topic);

}  // namespace weft::ws
