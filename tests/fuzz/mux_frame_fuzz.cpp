// libFuzzer target for the smux frame decoder, and for a whole session fed
// the same bytes (an echoing server over a transport that drops output).
// The first input byte picks version, names and how the input is split.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "weft/error.hpp"
#include "weft/loop.hpp"
#include "weft/mux.hpp"

namespace {

namespace mux = weft::mux;

class NullTransport final : public mux::Transport {
 public:
  explicit NullTransport(weft::EventLoop& l) : loop_(l) {}
  void writev(std::span<const weft::Bytes> pieces) override {
    for (weft::Bytes p : pieces)
      sent += p.size();
  }
  std::size_t queued() const noexcept override { return 0; }
  void pause_reading() noexcept override { paused = true; }
  void resume_reading() noexcept override { paused = false; }
  void close() noexcept override { closed = true; }
  void abort() noexcept override { closed = true; }
  weft::EventLoop& loop() const noexcept override { return loop_; }
  std::size_t sent = 0;
  bool paused = false;
  bool closed = false;

 private:
  weft::EventLoop& loop_;
};

class Echo final : public mux::SessionHandler {
 public:
  std::size_t on_data(mux::Stream& s, weft::Bytes in) override {
    if (in.size() % 3 == 0) return in.size() / 2;  // leave some buffered
    s.write(in);
    return in.size();
  }
  void on_fin(mux::Stream& s) override { s.close_write(); }
  void on_accept(mux::Stream& s) override {
    if (s.id() % 5 == 0) s.close();
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::uint8_t mode = data[0];
  weft::Bytes in(reinterpret_cast<const char*>(data + 1), size - 1);
  const int version = (mode & 1) ? 2 : 1;
  const bool names = mode & 2;

  // The decoder alone: every frame it returns lies inside the input.
  weft::Bytes rest = in;
  while (true) {
    mux::Decoded d = mux::decode_frame(rest, version, names);
    if (d.status != mux::Decoded::ok) break;
    if (d.size < mux::kHeaderSize || d.size > rest.size()) __builtin_trap();
    rest.remove_prefix(d.size);
  }

  // A session: fed in chunks, keeping the unconsumed tail like a Conn does.
  static weft::EventLoop loop;
  NullTransport t(loop);
  Echo echo;
  mux::Config cfg;
  cfg.version = version;
  cfg.names = names;
  cfg.keepalive_disabled = true;
  cfg.max_receive_buffer = 65536;
  cfg.max_stream_buffer = 16384;
  cfg.max_frame_size = 1024;
  mux::Session s(t, (mode & 4) ? mux::Role::client : mux::Role::server, echo, cfg);
  s.start();
  if (mode & 8) s.open("x");
  const std::size_t chunk = 1 + (mode >> 4) * 7;
  std::string held;
  for (std::size_t at = 0; at < in.size() && !t.closed; at += chunk) {
    held.append(in.substr(at, chunk));
    held.erase(0, s.feed(held));
  }
  s.transport_closed({});
  return 0;
}
