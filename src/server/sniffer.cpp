#include "weft/sniffer.hpp"

#include <algorithm>

#include "weft/conn.hpp"
#include "weft/server.hpp"

namespace weft {

Sniffer& Sniffer::add(Matcher m, Handler& h) {
  routes_.emplace_back(std::move(m), &h);
  return *this;
}

Sniffer& Sniffer::otherwise(Handler& h) {
  fallback_ = &h;
  return *this;
}

std::vector<Handler*> Sniffer::distinct() const {
  std::vector<Handler*> all;
  for (const auto& r : routes_) {
    if (std::find(all.begin(), all.end(), r.second) == all.end()) all.push_back(r.second);
  }
  if (fallback_ && std::find(all.begin(), all.end(), fallback_) == all.end()) {
    all.push_back(fallback_);
  }
  return all;
}

void Sniffer::on_ready(Server& s) {
  for (Handler* h : distinct())
    h->on_ready(s);
}

Tick Sniffer::on_tick(Server& s) {
  // The soonest next tick any handler asks for; any shutdown wins.
  Tick out;
  for (Handler* h : distinct()) {
    Tick t = h->on_tick(s);
    if (t.action == Action::shutdown) out.action = Action::shutdown;
    if (t.next.count() > 0 && (out.next.count() <= 0 || t.next < out.next)) out.next = t.next;
  }
  return out;
}

void Sniffer::on_shutdown(Server& s) {
  for (Handler* h : distinct())
    h->on_shutdown(s);
}

std::size_t Sniffer::on_data(Conn& c, Bytes in) {
  if (in.empty()) return 0;  // a wake-up before any byte
  Handler* chosen = nullptr;
  bool undecided = false;
  for (const auto& [match, handler] : routes_) {
    const Match m = match(in);
    if (m == Match::yes) {
      chosen = handler;
      break;
    }
    if (m == Match::more) undecided = true;
  }
  if (!chosen && undecided) return 0;  // wait for more bytes
  if (!chosen) chosen = fallback_;
  if (!chosen) {
    c.close();
    return in.size();
  }
  c.set_handler(*chosen);
  const Action a = chosen->on_open(c);
  if (a == Action::close) {
    c.close();
    return in.size();
  }
  if (a == Action::shutdown) c.server().stop();
  return chosen->on_data(c, in);
}

}  // namespace weft
