// weft/callbacks.hpp — a Handler made of lambdas, for small servers that do
// not want a class (tcpio's style):
//
//   weft::Callbacks cb;
//   cb.data = [](weft::Conn& c, weft::Bytes in) { c.write(in); return in.size(); };
//   return weft::serve(cb, {});
#pragma once

#include <functional>

#include "weft/conn.hpp"
#include "weft/datagram.hpp"
#include "weft/handler.hpp"

namespace weft {

class Callbacks final : public Handler {
 public:
  std::function<void(Server&)> ready;
  std::function<Action(Conn&)> open;
  std::function<std::size_t(Conn&, Bytes)> data;
  std::function<void(Conn&)> drained;
  std::function<void(Conn&, std::error_code)> closed;
  std::function<void(Datagram&)> datagram;
  std::function<Tick(Server&)> tick;

  void on_ready(Server& s) override {
    if (ready) ready(s);
  }
  Action on_open(Conn& c) override { return open ? open(c) : Action::none; }
  std::size_t on_data(Conn& c, Bytes in) override { return data ? data(c, in) : in.size(); }
  void on_drained(Conn& c) override {
    if (drained) drained(c);
  }
  void on_close(Conn& c, std::error_code why) override {
    if (closed) closed(c, why);
  }
  void on_datagram(Datagram& d) override {
    if (datagram) datagram(d);
  }
  Tick on_tick(Server& s) override { return tick ? tick(s) : Tick{}; }
};

}  // namespace weft
