// Session lifecycle: construction, opening streams, closing, and the
// deferred work (sending, on_writable, on_close) that runs when the
// outermost entry point returns, so callbacks never see a half-updated
// session and streams stay valid until their on_close returns.
#include "weft/mux/session.hpp"

#include <utility>
#include <vector>

#include "mux/buffer_pool.hpp"
#include "mux/session_entry.hpp"
#include "weft/error.hpp"
#include "weft/mux/errors.hpp"

namespace weft::mux {

Session::Session(Transport& t, Role role, SessionHandler& h, const Config& cfg)
    : transport_(&t),
      loop_(&t.loop()),
      handler_(&h),
      cfg_(cfg),
      role_(role),
      next_id_(role == Role::client ? 1 : 0) {
  if (std::string why = validate(cfg_); !why.empty()) throw ConfigError("mux: " + why);
  headers_.resize((kMaxFramesPerWrite + 1) * kHeaderSize);
}

Session::Session(std::unique_ptr<Transport> t, Role role, SessionHandler& h, const Config& cfg)
    : Session(*t, role, h, cfg) {
  owned_ = std::move(t);
}

Session::~Session() {
  if (ping_timer_) loop_->cancel(ping_timer_);
  if (check_timer_) loop_->cancel(check_timer_);
  for (auto& [id, s] : streams_)
    delete s;
  for (auto& [s, why] : done_)
    delete s;
}

void Session::start() {
  Entry e(*this);
  if (!cfg_.keepalive_disabled) {
    ping_timer_ = loop_->run_every(cfg_.keepalive_interval, [this] {
      Entry inner(*this);
      keepalive_tick();
    });
    check_timer_ = loop_->run_every(cfg_.keepalive_timeout, [this] {
      Entry inner(*this);
      keepalive_check();
    });
  }
  handler_->on_session(*this);
}

Stream* Session::open(Bytes name, StreamHandler* h) {
  Entry e(*this);
  if (ended_ || closing_) {
    open_error_ = make_error_code(errc::session_closed);
    return nullptr;
  }
  if (go_away_) {
    open_error_ = make_error_code(errc::go_away);
    return nullptr;
  }
  if (cfg_.names && name.size() > kMaxPayload) {
    open_error_ = std::make_error_code(std::errc::invalid_argument);
    return nullptr;
  }
  next_id_ += 2;
  if (next_id_ == next_id_ % 2) {  // wrapped: ids are never reused
    go_away_ = true;
    open_error_ = make_error_code(errc::go_away);
    return nullptr;
  }
  auto* s = new Stream(this, h ? h : handler_, next_id_);
  s->peer_window_ = kInitialPeerWindow;
  s->name_.assign(name);
  streams_.emplace(s->id_, s);
  queue_control(Cmd::syn, s->id_, cfg_.names ? name : Bytes());
  return s;
}

void Session::close() {
  Entry e(*this);
  if (ended_ || closing_) return;
  closing_ = true;
  std::vector<Stream*> all;
  all.reserve(streams_.size());
  for (auto& [id, s] : streams_)
    all.push_back(s);
  for (Stream* s : all)
    finish(*s, make_error_code(errc::session_closed));
  if (!ctrl_.empty()) {  // the FINs just queued, and anything else pending
    Bytes ctrl = ctrl_;
    transport_->writev(std::span<const Bytes>(&ctrl, 1));
    ctrl_.clear();
  }
  transport_->close();
}

void Session::transport_drained() {
  Entry e(*this);
  want_pump_ = true;
}

void Session::transport_closed(std::error_code why) {
  Entry e(*this);
  if (ended_) return;
  ended_ = true;
  if (!error_) {
    if (why && why != weft::make_error_code(weft::errc::aborted)) {
      error_ = why;
    } else if (tail_ || psh_left_) {
      error_ = make_error_code(errc::truncated_frame);
    }
  }
  if (ping_timer_) loop_->cancel(ping_timer_);
  if (check_timer_) loop_->cancel(check_timer_);
  ping_timer_ = check_timer_ = 0;
  std::error_code stream_why = error_ ? error_ : make_error_code(errc::transport_closed);
  std::vector<Stream*> all;
  all.reserve(streams_.size());
  for (auto& [id, s] : streams_)
    all.push_back(s);
  for (Stream* s : all)
    finish(*s, stream_why);
  ring_ = nullptr;
  ctrl_.clear();
  announce_close_ = true;
}

void Session::release() noexcept {
  if (depth_ > 0) {
    release_pending_ = true;
    return;
  }
  delete this;
}

// Protocol errors end the session at once: queued output is dropped.
void Session::fail(std::error_code ec) {
  if (ended_) return;
  if (!error_) error_ = ec;
  closing_ = true;
  transport_->abort();
}

void Session::finish(Stream& s, std::error_code why) {
  if (s.flags_ & Stream::kDone) return;
  s.flags_ |= Stream::kDone;
  ring_remove(s);
  if (s.queued() > 0) {
    send_queued_ -= s.queued();
    want_pump_ = true;  // wakes streams blocked on the session's budget
  }
  if (s.flags_ & Stream::kBlocked) std::erase(blocked_, &s);
  streams_.erase(s.id_);
  drop_received(s);
  detail::BufferPool::give(s.sbuf_);
  s.sbuf_off_ = 0;
  done_.emplace_back(&s, why);
}

// Runs the deferred work until none is left. Callbacks may add more.
void Session::settle() {
  ++depth_;
  settle_once();
  --depth_;
  if (release_pending_ && depth_ == 0) delete this;
}

void Session::settle_once() {
  for (int guard = 0; guard < 1000000; ++guard) {
    if (want_pump_ && !ended_ && !closing_) {
      want_pump_ = false;
      pump();
      continue;
    }
    if (!notify_.empty()) {
      std::vector<Stream*> batch;
      batch.swap(notify_);
      for (Stream* s : batch) {
        if (s->flags_ & Stream::kDone) continue;
        if (s->flags_ & Stream::kRedeliver) {
          s->flags_ &= static_cast<std::uint16_t>(~Stream::kRedeliver);
          deliver(*s);
        }
        if (s->flags_ & Stream::kDone) continue;
        if ((s->flags_ & Stream::kWantWritable) && !(s->flags_ & Stream::kBlocked)) {
          if (s->queued() <= cfg_.stream_send_buffer / 2 &&
              send_queued_ <= kSessionSendBudget / 2) {
            s->flags_ &= static_cast<std::uint16_t>(~Stream::kWantWritable);
            s->handler_->on_writable(*s);
          } else {  // filled up again meanwhile: wait for the next drain
            s->flags_ |= Stream::kBlocked;
            blocked_.push_back(s);
          }
        }
      }
      continue;
    }
    if (!done_.empty()) {
      auto batch = std::move(done_);
      done_.clear();
      for (auto& [s, why] : batch) {
        s->handler_->on_close(*s, why);
        delete s;
      }
      continue;
    }
    if (announce_close_) {
      announce_close_ = false;
      handler_->on_session_close(*this, error_);
      continue;
    }
    break;
  }
}

}  // namespace weft::mux
