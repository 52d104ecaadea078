// Connection events for WebSocket sessions, and keepalive: one timer per
// loop walks that loop's sessions once per ping interval.
#include "ws/endpoint.hpp"

#include <algorithm>

#include "weft/conn.hpp"
#include "ws/session.hpp"

namespace weft::ws::detail {

namespace {
Session* session_of(Conn& c) noexcept {
  return static_cast<Session*>(c.context());
}
}  // namespace

Endpoint::~Endpoint() = default;

Action Endpoint::on_open(Conn& c) {
  Session* s = session_of(c);
  if (!s) return Action::close;
  track(*s);
  if (b_.on_open) b_.on_open(*s);
  return Action::none;
}

std::size_t Endpoint::on_data(Conn& c, Bytes in) {
  Session* s = session_of(c);
  if (!s || in.empty()) return in.size();
  return s->on_data(in);
}

void Endpoint::on_drained(Conn& c) {
  Session* s = session_of(c);
  if (s && b_.on_drain && !s->closing()) b_.on_drain(*s);
}

void Endpoint::on_close(Conn& c, std::error_code) {
  Session* s = session_of(c);
  if (!s) return;
  s->on_closed();
  untrack(*s);
  c.set_context(nullptr);
  delete s;
}

void Endpoint::on_stop(Conn& c) {
  Session* s = session_of(c);
  if (!s) return c.close();
  // The peer answers and the connection closes; one that does not answer is
  // aborted after close_timeout_ms (or the server's stopTimeout).
  s->close(close_code::going_away, "server stopping");
}

void Endpoint::track(Session& s) {
  const int interval = b_.options.ping_interval_ms;
  if (interval <= 0) return;
  EventLoop& loop = s.conn().loop();
  LoopSessions* ls = nullptr;
  {
    std::lock_guard lock(mu_);
    auto it =
        std::find_if(loops_.begin(), loops_.end(), [&](const auto& l) { return l->loop == &loop; });
    if (it == loops_.end()) {
      loops_.push_back(std::make_unique<LoopSessions>());
      loops_.back()->loop = &loop;
      it = loops_.end() - 1;
    }
    ls = it->get();
  }
  s.ka_home = ls;
  s.ka_prev = nullptr;
  s.ka_next = ls->head;
  if (ls->head) ls->head->ka_prev = &s;
  ls->head = &s;
  if (!ls->timer) ls->timer = loop.run_every(Millis{interval}, [this, ls] { sweep(*ls); });
}

void Endpoint::untrack(Session& s) noexcept {
  LoopSessions* ls = s.ka_home;
  if (!ls) return;
  if (ls->cursor == &s) ls->cursor = s.ka_next;
  if (s.ka_prev) {
    s.ka_prev->ka_next = s.ka_next;
  } else {
    ls->head = s.ka_next;
  }
  if (s.ka_next) s.ka_next->ka_prev = s.ka_prev;
  s.ka_prev = s.ka_next = nullptr;
  s.ka_home = nullptr;
  // No sessions left on this loop: no timer either (a stopped server's
  // loops hold nothing of ours).
  if (!ls->head && ls->timer) {
    ls->loop->cancel(ls->timer);
    ls->timer = 0;
  }
}

void Endpoint::sweep(LoopSessions& ls) {
  // A tick may close sessions (and user callbacks others): untrack() moves
  // the cursor past any session that goes.
  ls.cursor = ls.head;
  while (Session* s = ls.cursor) {
    ls.cursor = s->ka_next;
    s->keepalive_tick();
  }
}

}  // namespace weft::ws::detail
