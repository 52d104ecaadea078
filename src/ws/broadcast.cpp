// One published message on one loop: a header made once, compressed bytes
// made once per shared compressor, one writev per subscriber; and the hop
// to the other loops (one shared copy of the payload, one task per loop).
#include "ws/broadcast.hpp"

#include <memory>

#include "weft/conn.hpp"
#include "weft/loop.hpp"
#include "weft/server.hpp"
#include "ws/deflate.hpp"
#include "ws/endpoint.hpp"
#include "ws/topic_table.hpp"

namespace weft::ws::detail {

Broadcast::Broadcast(Bytes data, Opcode op, bool compress, const Config& cfg) noexcept
    : data_(data), op_(op), compress_(compress) {
  header_size_ =
      static_cast<std::uint8_t>(write_frame_header(header_, op, true, false, data.size(), nullptr));
  // With the pause policy the core stops reading from a connection over its
  // limit but keeps queueing what we write; a publisher that is not that
  // peer would grow the queue without bound. So such a subscriber misses
  // messages until it drains. (With the close policy the core closes it.)
  if (cfg.sbuf_policy == SbufPolicy::pause) skip_over_ = cfg.cli_sbuf_limit;
}

const Broadcast::Packed& Broadcast::packed_by(Deflater& d) {
  for (const Packed& p : packed_) {
    if (p.by == &d) return p;
  }
  Packed& p = packed_.emplace_back();
  p.by = &d;
  // A shared context is reset per message, so every subscriber using it
  // would get these same bytes; when they are not smaller, plain goes.
  if (!d.compress(data_, p.bytes, true) || p.bytes.size() >= data_.size()) {
    p.plain = true;
    std::string().swap(p.bytes);
  } else {
    p.header_size = static_cast<std::uint8_t>(
        write_frame_header(p.header, op_, true, true, p.bytes.size(), nullptr));
  }
  return p;
}

bool Broadcast::to(WebSocket& ws) {
  if (ws.closing() || (ws.flags_ & WebSocket::kFragmenting)) return false;
  if (skip_over_ && ws.conn_->queued() > skip_over_) return false;
  // Clients mask each frame with their own key: nothing to share.
  if (ws.flags_ & WebSocket::kClient) return ws.send(data_, op_, compress_) != SendStatus::dropped;
  const std::size_t piece = ws.endpoint_->behavior().options.fragment_size;
  Deflate* z = ws.deflate_;
  if (z && compress_ && data_.size() >= z->options->threshold) {
    // An own (context takeover) compressor has a history only this socket's
    // peer knows: it compresses for itself.
    if (!z->our_no_takeover()) return ws.send(data_, op_, true) != SendStatus::dropped;
    if (Deflater* d = z->deflater()) {
      const Packed& p = packed_by(*d);
      if (!p.plain) {
        if (piece && p.bytes.size() > piece) {
          return ws.write_message(op_, p.bytes, true) != SendStatus::dropped;
        }
        const Bytes head(reinterpret_cast<const char*>(p.header), p.header_size);
        ws.conn_->writev({head, Bytes(p.bytes)});
        return true;
      }
    }
  }
  if (piece && data_.size() > piece) {
    return ws.write_message(op_, data_, false) != SendStatus::dropped;
  }
  ws.conn_->writev({Bytes(reinterpret_cast<const char*>(header_), header_size_), data_});
  return true;
}

std::size_t deliver(Server& server, EventLoop& loop, std::string_view topic, Bytes data, Opcode op,
                    bool compress, const WebSocket* except) {
  TopicTable* table = TopicTable::find(loop);
  if (!table || table->size() == 0) return 0;
  Broadcast b(data, op, compress, server.config());
  std::size_t sent = 0;
  table->for_each_subscriber(topic, [&](WebSocket& ws) {
    if (&ws != except && b.to(ws)) ++sent;
  });
  return sent;
}

namespace {
// What travels to the other loops: one copy, shared by their tasks.
struct Published {
  std::string topic;
  std::string data;
  Opcode op;
  bool compress;
};
}  // namespace

std::error_code post_to_loops(Server& server, const EventLoop* skip, std::string_view topic,
                              Bytes data, Opcode op, bool compress) {
  std::shared_ptr<const Published> msg;
  std::error_code first;
  const std::size_t loops = server.loop_count();
  for (std::size_t i = 0; i < loops; ++i) {
    EventLoop& loop = server.loop(i);
    if (&loop == skip) continue;
    if (!msg) {
      msg = std::make_shared<const Published>(
          Published{std::string(topic), std::string(data), op, compress});
    }
    const std::error_code ec = loop.post([msg, &server, &loop] {
      deliver(server, loop, msg->topic, msg->data, msg->op, msg->compress, nullptr);
    });
    if (ec && !first) first = ec;
  }
  return first;
}

}  // namespace weft::ws::detail
