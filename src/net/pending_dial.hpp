// A connect in progress (Server::dial): watched for writability, bounded by
// a timer; owned by its Worker until it becomes a Conn or fails.
#pragma once

#include "net/worker.hpp"

namespace weft::detail {

class PendingDial final : public IoWatcher {
 public:
  PendingDial(Worker& w, int sock, DialSpec what) : worker(w), fd(sock), spec(std::move(what)) {}
  void on_io(std::uint32_t events) override { worker.finish_dial(*this, events); }

  Worker& worker;
  int fd;
  DialSpec spec;
  TimerId timer = 0;
};

}  // namespace weft::detail
