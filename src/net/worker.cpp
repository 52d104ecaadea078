#include "net/worker.hpp"

#include <unistd.h>

#include <cstdlib>
#include <new>
#include <string_view>

#include "net/listener.hpp"
#include "net/pending_dial.hpp"
#include "net/secure_layer.hpp"
#include "net/socket.hpp"
#include "weft/error.hpp"
#include "weft/log.hpp"
#include "weft/server.hpp"

namespace weft::detail {

// The idle-memory budget is measured with this layout (bench/run_memory.sh).
static_assert(sizeof(Conn) <= 88, "Conn grew: re-measure idle memory and update the docs");

namespace {
// The configured backend, unless WEFT_IO_BACKEND says otherwise.
IoBackend backend_for(const Config& cfg) noexcept {
  const char* env = std::getenv("WEFT_IO_BACKEND");
  if (!env || !*env) return cfg.io_backend;
  const std::string_view e(env);
  if (e == "io_uring") return IoBackend::io_uring;
  if (e == "epoll") return IoBackend::epoll;
  return IoBackend::automatic;
}
}  // namespace

Worker::Worker(ServerShared& shared, std::size_t index)
    : shared_(shared),
      index_(index),
      loop_(backend_for(*shared.config)),
      scratch_(new char[shared.config->buf_size]),
      scratch_size_(shared.config->buf_size),
      epoch_(Clock::now()) {
  loop_.set_index(index);
  loop_.set_poll_wait(Millis{shared.config->poll_wait_ms});
  loop_.set_queue_limit(shared.config->chan_size);
  loop_.set_after_io([this] { after_io(); });
  if (shared.config->idle_limit_ms > 0) {
    loop_.run_every(Millis{shared.config->idle_check_int_ms}, [this] { check_idle(); });
  }
}

Worker::~Worker() {
  close_all_now();
  after_io();
  for (std::uint32_t i = 0; i < chunk_count_; ++i)
    delete chunks_[i].load();
}

// --- slab ------------------------------------------------------------------

Conn* Worker::slot_ptr(std::uint32_t slot) noexcept {
  Chunk* chunk = chunks_[slot >> kChunkBits].load(std::memory_order_relaxed);
  return std::launder(reinterpret_cast<Conn*>(chunk->storage[slot & (kChunkSize - 1)]));
}

std::uint32_t Worker::take_slot() {
  if (free_slots_.empty()) {
    if (chunk_count_ == kMaxChunks) throw std::bad_alloc();
    auto* chunk = new Chunk;
    chunks_[chunk_count_].store(chunk, std::memory_order_release);
    // Hand out low slots first (the free list is a stack).
    for (std::uint32_t i = kChunkSize; i-- > 0;)
      free_slots_.push_back(chunk_count_ * kChunkSize + i);
    ++chunk_count_;
  }
  std::uint32_t slot = free_slots_.back();
  free_slots_.pop_back();
  return slot;
}

bool Worker::alive(std::uint32_t slot, std::uint32_t gen) const noexcept {
  if ((slot >> kChunkBits) >= kMaxChunks) return false;
  Chunk* chunk = chunks_[slot >> kChunkBits].load(std::memory_order_acquire);
  return chunk && chunk->gen[slot & (kChunkSize - 1)].load(std::memory_order_acquire) == gen;
}

Conn* Worker::find(std::uint32_t slot, std::uint32_t gen) noexcept {
  return alive(slot, gen) ? slot_ptr(slot) : nullptr;
}

// --- connection lifecycle ---------------------------------------------------

void Worker::adopt(int fd, std::uint16_t listener, bool is_unix) {
  SecureLayerFactory* tls =
      listener < shared_.transports.size() ? shared_.transports[listener] : nullptr;
  Conn* c = place(fd, listener, is_unix, shared_.handler, tls == nullptr);
  if (!c) return;
  // TLS listeners: on_open waits for the handshake (or, with sslMode both,
  // for the first byte that says whether there is one).
  if (tls) {
    if (tls->sniff()) {
      c->flags_ |= Conn::kSniffing;
    } else {
      c->start_tls();
    }
    return;
  }
  open_conn(*c);
}

Conn* Worker::place(int fd, std::uint16_t listener, bool is_unix, Handler* handler, bool plain) {
  // Refused connections are closed at once; the loop keeps serving.
  auto refuse = [&](const char* why) -> Conn* {
    if (why) logf(LogLevel::warn, "dropping a connection: %s", why);
    ::close(fd);
    unreserve();
    return nullptr;
  };
  if (stopping_) return refuse(nullptr);
  std::uint32_t slot;
  try {
    slot = take_slot();
  } catch (const std::bad_alloc&) {
    stats_.accept_errors.add();
    return refuse("no connection slot left on this loop");
  }
  Chunk* chunk = chunks_[slot >> kChunkBits].load(std::memory_order_relaxed);
  auto& gen = chunk->gen[slot & (kChunkSize - 1)];
  std::uint32_t g = gen.load(std::memory_order_relaxed) + 1;  // odd: live
  Conn* c =
      new (chunk->storage[slot & (kChunkSize - 1)]) Conn(this, handler, fd, slot, g, listener);
  try {
    const bool completion = plain && loop_.backend() == IoBackend::io_uring;
    loop_.watch(fd, c, IoWatcher::kReadable | (completion ? IoWatcher::kCompletion : 0u));
    if (completion) c->flags_ |= Conn::kCompletion;
  } catch (const std::system_error& e) {  // e.g. the epoll watch limit
    c->~Conn();
    free_slots_.push_back(slot);
    stats_.accept_errors.add();
    return refuse(e.what());
  }
  gen.store(g, std::memory_order_release);
  ++live_;
  stats_.accepted.add();
  stats_.open.add();

  const Config& cfg = config();
  if (is_unix) {
    c->flags_ |= Conn::kUnix;
  } else {
    if (cfg.tcp_nodelay) set_nodelay(fd, true);
    if (cfg.tcp_keepalive_s > 0) set_keepalive(fd, cfg.tcp_keepalive_s, 10, 3);
  }
  c->flags_ |= Conn::kReadArmed;
  idle_link(*c);
  return c;
}

void Worker::open_conn(Conn& c) {
  current = &c;
  Action a = c.handler_->on_open(c);
  c.flush_cork();
  current = nullptr;
  if (a == Action::close) c.close();
  if (a == Action::shutdown) server().stop();
  c.finish_dispatch();
}

SecureLayer* Worker::make_transport(Conn& c) noexcept {
  try {
    return shared_.transports.at(c.listener_)->make(c.fd_, static_cast<int>(index_)).release();
  } catch (const std::exception& e) {
    logf(LogLevel::warn, "cannot start TLS on a connection: %s", e.what());
    return nullptr;
  }
}

void Worker::begin_handshake(Conn& c, int timeout_ms, bool bypass_cap) {
  stats_.tls_handshaking.add();
  if (int ms = timeout_ms; ms > 0) {
    c.tls_->handshake_timer = loop_.run_after(Millis{ms}, [this, slot = c.slot_, gen = c.gen_] {
      Conn* late = find(slot, gen);
      if (!late || !late->tls_pending_handshake()) return;
      late->tls_->handshake_timer = 0;
      stats_.tls_timeouts.add();
      late->abort_with(errc::tls_handshake_timeout);
    });
  }
  int cap = config().tls.max_handshakes;
  if (bypass_cap || cap <= 0 || handshakes_ < cap) {
    ++handshakes_;
    c.flags_ |= Conn::kHandshaking;
  } else {
    c.flags_ |= Conn::kHandshakeQueued;
    handshake_queue_.emplace_back(c.slot_, c.gen_);
  }
  c.update_interest();
}

void Worker::end_handshake(Conn& c) noexcept {
  if (c.flags_ & Conn::kHandshaking) {
    --handshakes_;
  } else if (!(c.flags_ & Conn::kHandshakeQueued)) {
    return;  // sniffing, or already ended
  }
  c.flags_ &= static_cast<std::uint32_t>(~(Conn::kHandshaking | Conn::kHandshakeQueued));
  stats_.tls_handshaking.sub();
  if (c.tls_->handshake_timer) {
    loop_.cancel(c.tls_->handshake_timer);
    c.tls_->handshake_timer = 0;
  }
  // Admit the oldest waiting connection (entries of closed ones are skipped).
  while (!handshake_queue_.empty()) {
    int cap = config().tls.max_handshakes;
    if (cap > 0 && handshakes_ >= cap) break;
    auto [slot, gen] = handshake_queue_.front();
    handshake_queue_.pop_front();
    Conn* next = find(slot, gen);
    if (!next || !(next->flags_ & Conn::kHandshakeQueued)) continue;
    next->flags_ =
        static_cast<std::uint16_t>((next->flags_ & ~Conn::kHandshakeQueued) | Conn::kHandshaking);
    ++handshakes_;
    next->update_interest();  // its ClientHello waits in the socket: epoll reports it
  }
}

void Worker::teardown(Conn& c, std::error_code why, bool close_fd) noexcept {
  if (c.flags_ & Conn::kDead) return;
  // A connection that never reached on_open (TLS handshake or sniffing)
  // closes without on_close.
  const bool opened = !c.tls_pending_handshake();
  if (c.tls_) {
    end_handshake(c);
    if (!why && opened) c.tls_->shutdown();  // close_notify, best effort
  }
  c.flags_ |= Conn::kDead;
  Chunk* chunk = chunks_[c.slot_ >> kChunkBits].load(std::memory_order_relaxed);
  chunk->gen[c.slot_ & (kChunkSize - 1)].store(c.gen_ + 1, std::memory_order_release);
  idle_unlink(c);
  loop_.unwatch(c.fd_);

  stats_.closed.add();
  if (!why) {
    ((c.flags_ & Conn::kPeerClosed) ? stats_.closed_peer : stats_.closed_local).add();
  } else if (why == errc::idle_timeout) {
    stats_.closed_idle.add();
  } else if (why == errc::packet_too_large) {
    stats_.closed_pkt.add();
  } else if (why == errc::send_buffer_full) {
    stats_.closed_sbuf.add();
  } else if (why == errc::server_stopping) {
    stats_.closed_stop.add();
  } else if (why == errc::aborted || why == errc::detached) {
    stats_.closed_local.add();
  } else {
    stats_.closed_error.add();
  }

  if (opened) {
    c.handler_->on_close(c, why);
  } else if (c.listener_ == kDialedListener) {
    report_dial_error(*c.handler_, c.remote_addr().to_string(), c.context_, why);
  }
  if (close_fd) ::close(c.fd_);
  stats_.open.sub();  // after close(): open == 0 means every descriptor is released
  --live_;
  unreserve();
  dead_.push_back(&c);
  if (stopping_) maybe_finish_stop();
}

void Worker::after_io() noexcept {
  // Wake-ups first: they run like any other input event.
  if (!woken_.empty()) {
    auto woken = std::move(woken_);
    woken_.clear();
    for (auto [slot, gen] : woken) {
      Conn* c = find(slot, gen);
      if (!c) continue;
      if (c->flags_ & Conn::kWoken) {
        c->deliver_wake();
      } else if (c->tls_ && !c->reading_paused() && !c->closing() && c->tls_->has_pending()) {
        c->tls_readable();  // resumed with decrypted input waiting inside TLS
      }
    }
  }
  for (Conn* c : dead_) {
    std::uint32_t slot = c->slot_;
    c->~Conn();
    free_slots_.push_back(slot);
  }
  dead_.clear();
}

void Worker::schedule_wake(Conn& c) {
  woken_.emplace_back(c.slot_, c.gen_);
}

// --- idle list: O(1) per input event, the check walks only expired ones ----

std::uint32_t Worker::now_ms() const noexcept {
  return static_cast<std::uint32_t>(
      std::chrono::duration_cast<Millis>(loop_.now() - epoch_).count());
}

void Worker::idle_link(Conn& c) noexcept {
  if (config().idle_limit_ms <= 0) return;
  c.last_active_ = now_ms();
  c.idle_prev_ = idle_tail_;
  c.idle_next_ = 0;
  if (idle_tail_) {
    slot_ptr(idle_tail_ - 1)->idle_next_ = c.slot_ + 1;
  } else {
    idle_head_ = c.slot_ + 1;
  }
  idle_tail_ = c.slot_ + 1;
}

void Worker::idle_unlink(Conn& c) noexcept {
  if (config().idle_limit_ms <= 0) return;
  if (c.idle_prev_) {
    slot_ptr(c.idle_prev_ - 1)->idle_next_ = c.idle_next_;
  } else {
    idle_head_ = c.idle_next_;
  }
  if (c.idle_next_) {
    slot_ptr(c.idle_next_ - 1)->idle_prev_ = c.idle_prev_;
  } else {
    idle_tail_ = c.idle_prev_;
  }
  c.idle_prev_ = c.idle_next_ = 0;
}

void Worker::touch(Conn& c) noexcept {
  if (config().idle_limit_ms <= 0) return;
  if (idle_tail_ != c.slot_ + 1) {
    idle_unlink(c);
    idle_link(c);
  } else {
    c.last_active_ = now_ms();
  }
}

void Worker::check_idle() noexcept {
  auto limit = static_cast<std::uint32_t>(config().idle_limit_ms);
  std::uint32_t now = now_ms();
  while (idle_head_) {
    Conn* c = slot_ptr(idle_head_ - 1);
    if (now - c->last_active_ < limit) break;
    c->abort_with(errc::idle_timeout);
  }
}

// --- listeners and stop --------------------------------------------------------

void Worker::add_listener(std::unique_ptr<Listener> l) {
  l->set_owner(*this);
  listeners_.push_back(std::move(l));
}

void Worker::arm_listeners() {
  if (stopping_) return;
  for (auto& l : listeners_)
    l->arm();
}

template <typename Fn>
void Worker::for_each_live(Fn fn) {
  for (std::uint32_t slot = 0; slot < chunk_count_ * kChunkSize; ++slot) {
    Chunk* chunk = chunks_[slot >> kChunkBits].load(std::memory_order_relaxed);
    std::uint32_t gen = chunk->gen[slot & (kChunkSize - 1)].load(std::memory_order_relaxed);
    if (gen & 1) fn(*slot_ptr(slot));
  }
}

void Worker::begin_stop() {
  if (stopping_) return;
  stopping_ = true;
  cancel_dials();
  for (auto& l : listeners_)
    l->close();
  for_each_live([](Conn& c) {
    if (c.closing()) return;
    if (c.tls_pending_handshake()) {
      c.close();  // no on_open yet: nothing to say goodbye to
    } else {
      c.handler().on_stop(c);
    }
  });
  loop_.run_after(Millis{config().stop_timeout_ms}, [this] {
    for_each_live([](Conn& c) { c.abort_with(errc::server_stopping); });
    loop_.stop();
  });
  maybe_finish_stop();
}

void Worker::maybe_finish_stop() noexcept {
  if (live_ == 0) loop_.stop();
}

void Worker::close_all_now() noexcept {
  stopping_ = true;
  cancel_dials();
  for (auto& l : listeners_)
    l->close();
  for_each_live([this](Conn& c) { teardown(c, errc::server_stopping); });
}

}  // namespace weft::detail
