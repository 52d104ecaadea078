// Session behaviour: two sessions joined by an in-memory transport pair
// (deterministic: bytes move only when the test says so), raw frames fed
// to one session, and one end-to-end run over loopback through Endpoint.
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "test_support.hpp"
#include "weft/error.hpp"
#include "weft/loop.hpp"
#include "weft/mux.hpp"
#include "weft/server.hpp"

namespace weft::mux {
namespace {

using namespace std::chrono_literals;

// One side of the pair: output collects in `out` until the test moves it.
class MemTransport final : public Transport {
 public:
  explicit MemTransport(EventLoop& l) : loop_(l) {}
  void writev(std::span<const Bytes> pieces) override {
    if (closed) return;
    for (Bytes p : pieces)
      out.append(p);
    ++writes;
  }
  std::size_t queued() const noexcept override { return backlog ? out.size() : 0; }
  void pause_reading() noexcept override { paused = true; }
  void resume_reading() noexcept override { paused = false; }
  void close() noexcept override { closed = true; }
  void abort() noexcept override { closed = aborted = true; }
  EventLoop& loop() const noexcept override { return loop_; }

  std::string out;
  std::string in;        // bytes offered but not consumed yet
  bool backlog = false;  // pretend the kernel took nothing (queued() = out.size())
  bool paused = false;
  bool closed = false;
  bool aborted = false;
  int writes = 0;

 private:
  EventLoop& loop_;
};

// Records everything; echoes when asked.
class Recorder : public SessionHandler {
 public:
  std::size_t on_data(Stream& s, Bytes in) override {
    if (hold || hold_ids.count(s.id())) {
      s.pause_reading();
      return 0;
    }
    if (take_max > 0 && in.size() > take_max) in = in.substr(0, take_max);
    data[s.id()].append(in);
    if (echo) s.write(in);
    return in.size();
  }
  void on_fin(Stream& s) override {
    fins.push_back(s.id());
    if (echo) s.close_write();
  }
  void on_writable(Stream& s) override { writable.push_back(s.id()); }
  void on_close(Stream& s, std::error_code why) override { closed[s.id()] = why; }
  void on_accept(Stream& s) override {
    streams[s.id()] = &s;
    accepted.push_back(s.id());
    names.push_back(s.name());
  }
  void on_session_close(Session&, std::error_code why) override {
    session_closed = true;
    session_error = why;
  }

  bool echo = false;
  bool hold = false;
  std::size_t take_max = 0;  // > 0: consume at most this much per on_data
  std::set<std::uint32_t> hold_ids;
  std::map<std::uint32_t, Stream*> streams;
  std::map<std::uint32_t, std::string> data;
  std::vector<std::uint32_t> fins, writable, accepted;
  std::vector<std::string> names;
  std::map<std::uint32_t, std::error_code> closed;
  bool session_closed = false;
  std::error_code session_error;
};

struct Pair {
  explicit Pair(Config cfg = {}, Config server_cfg_override = {}, bool override_server = false)
      : ct(loop), st(loop) {
    cfg.keepalive_disabled = true;
    server_cfg_override.keepalive_disabled = true;
    client = std::make_unique<Session>(ct, Role::client, ch, cfg);
    server = std::make_unique<Session>(st, Role::server, sh,
                                       override_server ? server_cfg_override : cfg);
    client->start();
    server->start();
  }
  // Moves bytes both ways until nothing moves (a side that paused reading
  // gets nothing).
  void run() {
    for (int i = 0; i < 100000; ++i) {
      // Both directions every round (no short circuit).
      const bool to_server = move(ct, st, *server);
      const bool to_client = move(st, ct, *client);
      if (!to_server && !to_client) return;
    }
    FAIL() << "no quiescence";
  }
  static bool move(MemTransport& from, MemTransport& to, Session& dst) {
    if (to.paused || to.closed) return false;
    if (from.out.empty() && to.in.empty()) return false;
    std::size_t before = to.in.size() + from.out.size();
    to.in += from.out;
    from.out.clear();
    std::size_t used = dst.feed(to.in);
    to.in.erase(0, used);
    return used > 0 || to.in.size() != before;
  }

  EventLoop loop;
  MemTransport ct, st;
  Recorder ch, sh;
  std::unique_ptr<Session> client, server;
};

struct WireFrame {
  FrameHeader h;
  std::string payload;
};
std::vector<WireFrame> parse(const std::string& wire) {
  std::vector<WireFrame> out;
  std::size_t at = 0;
  while (wire.size() - at >= kHeaderSize) {
    FrameHeader h = decode_header(wire.data() + at);
    out.push_back({h, wire.substr(at + kHeaderSize, h.length)});
    at += kHeaderSize + h.length;
  }
  return out;
}

TEST(MuxSession, StreamIdsAsSmuxAssignsThem) {
  Pair p;
  EXPECT_EQ(p.client->open()->id(), 3u);
  EXPECT_EQ(p.client->open()->id(), 5u);
  EXPECT_EQ(p.server->open()->id(), 2u);
  EXPECT_EQ(p.server->open()->id(), 4u);
  p.run();
  EXPECT_EQ(p.sh.accepted, (std::vector<std::uint32_t>{3, 5}));
  EXPECT_EQ(p.ch.accepted, (std::vector<std::uint32_t>{2, 4}));
}

// Bytes that differ from their neighbours and do not repeat every 256, so
// a lost, doubled or reordered piece shows.
std::string patterned(std::size_t n) {
  std::string out(n, '\0');
  for (std::size_t i = 0; i < n; ++i)
    out[i] = static_cast<char>(i * 7 + i / 251);
  return out;
}

void echo_roundtrip(int version) {
  Config cfg;
  cfg.version = version;
  Pair p(cfg);
  p.sh.echo = true;
  const std::string big = patterned(1 << 20);
  Stream* s = p.client->open();
  ASSERT_NE(s, nullptr);
  std::uint32_t id = s->id();
  s->write("hello");
  s->write("");
  s->write(big);
  s->close_write();
  p.run();
  EXPECT_EQ(p.ch.data[id], "hello" + big);
  EXPECT_EQ(p.ch.fins, (std::vector<std::uint32_t>{id}));
  ASSERT_EQ(p.ch.closed.count(id), 1u);
  EXPECT_FALSE(p.ch.closed[id]);
  EXPECT_FALSE(p.sh.closed[id]);
  EXPECT_EQ(p.client->stream_count(), 0u);
  EXPECT_EQ(p.server->stream_count(), 0u);
}
TEST(MuxSession, EchoV1) {
  echo_roundtrip(1);
}
TEST(MuxSession, EchoV2) {
  echo_roundtrip(2);
}

TEST(MuxSession, FinNeverOvertakesData) {
  Pair p;
  p.ct.backlog = true;  // nothing drains: everything queues in the scheduler
  Stream* a = p.client->open();
  Stream* b = p.client->open();
  p.ct.out.assign(300000, '-');
  a->write(std::string(300000, 'a'));
  a->close_write();
  b->close_write();  // no data: its FIN may go at once
  p.ct.out.erase(0, 300000);
  p.ct.backlog = false;
  p.client->transport_drained();
  std::vector<WireFrame> frames = parse(p.ct.out);
  std::size_t a_data = 0;
  bool a_fin = false;
  for (const auto& f : frames) {
    if (f.h.stream_id != a->id()) continue;
    if (f.h.cmd == Cmd::psh) {
      EXPECT_FALSE(a_fin) << "data after FIN";
      a_data += f.payload.size();
    }
    if (f.h.cmd == Cmd::fin) a_fin = true;
  }
  EXPECT_EQ(a_data, 300000u);
  EXPECT_TRUE(a_fin);
}

// write_some takes what goes out at once plus what fits under
// stream_send_buffer, no more; on_writable follows once the queue drains,
// and everything taken arrives, in order.
TEST(MuxSession, WriteSomeTakesWhatFitsAndWakesTheWriter) {
  Config cfg;
  cfg.stream_send_buffer = 100000;
  Pair p(cfg);
  Recorder& writer = p.ch;
  Stream* a = p.client->open();
  p.run();
  const std::string data = patterned(1 << 20);
  p.ct.out.assign(300000, '-');  // the transport is full: nothing goes at once
  p.ct.backlog = true;
  std::size_t taken = a->write_some(data);
  EXPECT_EQ(taken, 100000u);
  EXPECT_EQ(a->queued(), 100000u);
  EXPECT_EQ(a->write_some(Bytes(data).substr(taken)), 0u);  // full: nothing more
  EXPECT_TRUE(writer.writable.empty());
  p.ct.out.clear();
  p.ct.backlog = false;
  p.client->transport_drained();
  p.run();
  ASSERT_EQ(writer.writable.size(), 1u);  // room again
  // With nothing queued and a transport that drains, the rest goes out at
  // once, as much per call as the fast path sends.
  while (taken < data.size()) {
    const std::size_t n = a->write_some(Bytes(data).substr(taken));
    ASSERT_GT(n, 0u);
    taken += n;
    p.run();
  }
  EXPECT_EQ(p.sh.data[a->id()], data);
  EXPECT_EQ(a->write_some("x"), 1u);
  a->close_write();
  EXPECT_EQ(a->write_some("late"), 0u);  // after close_write: nothing taken
}

// A writer that closes its side while on_writable is due is not woken:
// it has nothing left to write (smux_peer read past its last step there).
TEST(MuxSession, NoOnWritableAfterCloseWrite) {
  Config cfg;
  cfg.stream_send_buffer = 1000;
  Pair p(cfg);
  Stream* a = p.client->open();
  p.run();
  p.ct.out.assign(300000, '-');  // the transport is full
  p.ct.backlog = true;
  EXPECT_FALSE(a->write(patterned(5000)));  // on_writable is due once it drains
  a->close_write();
  p.ct.out.clear();
  p.ct.backlog = false;
  p.client->transport_drained();
  p.run();
  EXPECT_TRUE(p.ch.writable.empty());
  EXPECT_EQ(p.sh.data[a->id()], patterned(5000));  // what was queued still went
  EXPECT_EQ(p.sh.fins.size(), 1u);
}

TEST(MuxSession, StreamsInterleaveRoundRobinAndControlGoesFirst) {
  Pair p;
  Stream* a = p.client->open();
  Stream* b = p.client->open();
  p.ct.out.assign(300000, '-');  // the transport is full: both streams queue
  p.ct.backlog = true;
  a->write(std::string(4 * 32768, 'a'));
  b->write(std::string(4 * 32768, 'b'));
  p.client->open();  // its SYN is control: it must lead the next write
  p.ct.out.clear();
  p.ct.backlog = false;
  p.client->transport_drained();
  std::vector<WireFrame> frames = parse(p.ct.out);
  ASSERT_GE(frames.size(), 9u);
  EXPECT_EQ(frames[0].h.cmd, Cmd::syn);
  std::vector<std::uint32_t> order;
  for (const auto& f : frames)
    if (f.h.cmd == Cmd::psh) order.push_back(f.h.stream_id);
  ASSERT_EQ(order.size(), 8u);
  for (std::size_t i = 1; i < order.size(); ++i)
    EXPECT_NE(order[i], order[i - 1]) << "frame " << i;
}

TEST(MuxSession, V2WindowHoldsAStreamTheReceiverDoesNotRead) {
  Config cfg;
  cfg.version = 2;
  Pair p(cfg);
  Stream* held = p.client->open();
  Stream* other = p.client->open();
  p.run();
  p.sh.hold_ids = {held->id()};  // the server never reads `held`
  p.sh.echo = true;
  bool more = true;
  std::string chunk(65536, 'h');
  std::size_t written = 0;
  for (int i = 0; i < 128 && more; ++i) {  // 8 MiB at most
    more = held->write(chunk);
    written += chunk.size();
  }
  EXPECT_FALSE(more);  // backpressure became visible
  p.run();
  // smux's initial window: 256 KiB in flight, the rest waits here.
  EXPECT_EQ(p.server->buffered(), 262144u);
  EXPECT_GT(held->queued(), 0u);
  other->write("ping");
  p.run();
  EXPECT_EQ(p.ch.data[other->id()], "ping");  // the other stream still flows
  // Reading `held` opens its window again: everything arrives.
  p.sh.hold_ids.clear();
  p.sh.echo = false;
  p.sh.streams[held->id()]->resume_reading();
  p.run();
  EXPECT_EQ(p.sh.data[held->id()].size(), written);
}

TEST(MuxSession, BadInputEndsTheSessionWithAClearError) {
  struct Case {
    int version;
    std::string input;
    errc want;
  };
  auto hdr = [](int v, Cmd c, std::uint16_t len, std::uint32_t sid) {
    std::string h(kHeaderSize, '\0');
    encode_header(h.data(), v, c, len, sid);
    return h;
  };
  std::vector<Case> cases = {
      {1, hdr(2, Cmd::nop, 0, 0), errc::invalid_protocol},
      {1, hdr(1, static_cast<Cmd>(7), 0, 0), errc::invalid_protocol},
      {1, hdr(1, Cmd::syn, 4, 3) + "name", errc::unexpected_payload},
      {1, hdr(1, Cmd::fin, 1, 3) + "x", errc::unexpected_payload},
      {1, hdr(1, Cmd::syn, 0, 3) + hdr(1, Cmd::upd, 8, 3) + std::string(8, '\0'), errc::upd_on_v1},
      {2, hdr(2, Cmd::syn, 0, 3) + hdr(2, Cmd::upd, 8, 3) + std::string("\x01\0\0\0\0\0\1\0", 8),
       errc::consumed_too_much},
      {1, hdr(1, Cmd::syn, 0, 4), errc::bad_stream_id},  // a client opens odd ids
  };
  for (const auto& c : cases) {
    EventLoop loop;
    MemTransport t(loop);
    Recorder h;
    Config cfg;
    cfg.version = c.version;
    cfg.keepalive_disabled = true;
    auto s = std::make_unique<Session>(t, Role::server, h, cfg);
    s->start();
    s->feed(c.input);
    EXPECT_TRUE(t.aborted) << make_error_code(c.want).message();
    EXPECT_EQ(s->error(), c.want);
    s->transport_closed(weft::make_error_code(weft::errc::aborted));
    EXPECT_TRUE(h.session_closed);
    EXPECT_EQ(h.session_error, c.want);
  }
}

TEST(MuxSession, DataForUnknownStreamsIsIgnored) {
  EventLoop loop;
  MemTransport t(loop);
  Recorder h;
  Config cfg;
  cfg.keepalive_disabled = true;
  Session s(t, Role::server, h, cfg);
  s.start();
  std::string in(kHeaderSize, '\0');
  encode_header(in.data(), 1, Cmd::psh, 3, 77);
  in += "xyz";
  std::string syn(kHeaderSize, '\0');
  encode_header(syn.data(), 1, Cmd::syn, 0, 3);
  std::string psh(kHeaderSize, '\0');
  encode_header(psh.data(), 1, Cmd::psh, 2, 3);
  in += syn + psh + "ok";
  EXPECT_EQ(s.feed(in), in.size());
  EXPECT_FALSE(t.aborted);
  EXPECT_EQ(h.data[3], "ok");
}

TEST(MuxSession, TruncatedFrameAtCloseIsAnError) {
  EventLoop loop;
  MemTransport t(loop);
  Recorder h;
  Config cfg;
  cfg.keepalive_disabled = true;
  Session s(t, Role::server, h, cfg);
  s.start();
  std::string in(kHeaderSize, '\0');
  encode_header(in.data(), 1, Cmd::psh, 100, 3);
  in += "only part";
  EXPECT_EQ(s.feed(in), 0u);
  s.transport_closed({});
  EXPECT_EQ(h.session_error, errc::truncated_frame);
}

// A data frame cut by reads: once its header and a fair piece of payload
// are in, the session takes what is there (nothing is left with the
// transport) and hands the rest to the stream as it comes.
TEST(MuxSession, DataFramesCutByReadsArriveInPieces) {
  for (int version : {1, 2}) {
    EventLoop loop;
    MemTransport t(loop);
    Recorder h;
    Config cfg;
    cfg.version = version;
    cfg.keepalive_disabled = true;
    Session s(t, Role::server, h, cfg);
    s.start();
    std::string wire(kHeaderSize, '\0');
    encode_header(wire.data(), version, Cmd::syn, 0, 3);
    std::string payload;
    for (int f = 0; f < 3; ++f) {
      std::string body =
          weft::test::pattern(f == 1 ? 300 : 40000, static_cast<std::uint64_t>(f) * 100000);
      std::string hdr(kHeaderSize, '\0');
      encode_header(hdr.data(), version, Cmd::psh, static_cast<std::uint16_t>(body.size()), 3);
      wire += hdr + body;
      payload += body;
    }
    // Every cut point around a frame boundary and inside payloads, in two
    // feeds; then in uneven reads.
    for (std::size_t cut : {1u, 7u, 8u, 9u, 100u, 519u, 520u, 521u, 30000u, 40007u, 40008u, 40016u,
                            40100u, 40317u, 40324u, 40340u, 41000u}) {
      Recorder h2;
      Session s2(t, Role::server, h2, cfg);
      s2.start();
      std::string held = wire.substr(0, cut);
      std::size_t used = s2.feed(held);
      held.erase(0, used);
      held += wire.substr(cut);
      used = s2.feed(held);
      EXPECT_EQ(used, held.size()) << "cut " << cut;
      EXPECT_EQ(h2.data[3], payload) << "version " << version << " cut " << cut;
      EXPECT_FALSE(t.aborted);
    }
    std::string held;
    std::size_t pieces = 0;
    for (std::size_t at = 0; at < wire.size();) {
      const std::size_t n = std::min<std::size_t>(wire.size() - at, 9000);
      held += wire.substr(at, n);
      at += n;
      const std::size_t used = s.feed(held);
      held.erase(0, used);
      if (used) ++pieces;
      // A cut frame is never held back once a piece of it is here.
      EXPECT_LT(held.size(), kHeaderSize + 512) << "at " << at;
    }
    EXPECT_TRUE(held.empty());
    EXPECT_EQ(h.data[3], payload) << "version " << version;
    EXPECT_GT(pieces, 5u);
    EXPECT_FALSE(t.aborted);
  }
}

TEST(MuxSession, TruncatedFrameTakenInPiecesIsAnErrorAtClose) {
  EventLoop loop;
  MemTransport t(loop);
  Recorder h;
  Config cfg;
  cfg.keepalive_disabled = true;
  Session s(t, Role::server, h, cfg);
  s.start();
  std::string in(kHeaderSize, '\0');
  encode_header(in.data(), 1, Cmd::syn, 0, 3);
  std::string psh(kHeaderSize, '\0');
  encode_header(psh.data(), 1, Cmd::psh, 5000, 3);
  in += psh + std::string(2000, 'p');
  EXPECT_EQ(s.feed(in), in.size());
  EXPECT_EQ(h.data[3], std::string(2000, 'p'));
  s.transport_closed({});
  EXPECT_EQ(h.session_error, errc::truncated_frame);
}

TEST(MuxSession, NamesTravelInTheSyn) {
  Config cfg;
  cfg.names = true;
  Pair p(cfg);
  p.client->open("alpha");
  p.client->open();
  p.run();
  EXPECT_EQ(p.sh.names, (std::vector<std::string>{"alpha", ""}));
}

TEST(MuxSession, IdsRunOutOnTheOpeningSideOnly) {
  Pair p;
  p.client->set_last_stream_id(0xfffffffb);
  Stream* last = p.client->open();
  ASSERT_NE(last, nullptr);
  EXPECT_EQ(last->id(), 0xfffffffdu);
  ASSERT_NE(p.client->open(), nullptr);  // 0xffffffff
  EXPECT_EQ(p.client->open(), nullptr);
  EXPECT_EQ(p.client->open_error(), errc::go_away);
  p.run();
  EXPECT_FALSE(p.server->ended());
  EXPECT_NE(p.server->open(), nullptr);  // the other side still opens
}

TEST(MuxSession, ReceiveBudgetPausesTheTransport) {
  Config cfg;
  cfg.max_receive_buffer = 100000;
  cfg.max_stream_buffer = 65536;
  Pair p(cfg);
  Stream* s = p.client->open();
  p.run();
  p.sh.hold = true;
  s->write(std::string(150000, 'z'));
  p.run();
  EXPECT_TRUE(p.st.paused);
  EXPECT_GE(p.server->buffered(), 100000u);
  p.sh.hold = false;
  // Resuming the stream delivers what is buffered and frees the budget.
  p.sh.streams[s->id()]->resume_reading();
  EXPECT_FALSE(p.st.paused);
  p.run();
  EXPECT_EQ(p.sh.data[s->id()].size(), 150000u);
  EXPECT_EQ(p.server->buffered(), 0u);
}

// A reader that takes a large backlog in small pieces gets every byte, in
// order, and the session's count of buffered bytes follows each piece.
TEST(MuxSession, SlowReaderTakesABacklogInSmallPieces) {
  Pair p;
  Stream* s = p.client->open();
  p.run();
  const std::string sent = patterned(1 << 20);
  p.sh.hold = true;
  s->write(sent);
  p.run();
  Stream* peer = p.sh.streams[s->id()];
  ASSERT_EQ(peer->buffered(), sent.size());
  p.sh.hold = false;
  p.sh.take_max = 1000;
  std::size_t left = sent.size();
  for (int round = 0; left > 0 && round < 2000; ++round) {
    peer->resume_reading();  // offers the backlog once: 1000 bytes are taken
    left -= std::min<std::size_t>(left, 1000);
    ASSERT_EQ(peer->buffered(), left);
    ASSERT_EQ(p.server->buffered(), left);
    peer->pause_reading();
  }
  EXPECT_EQ(left, 0u);
  EXPECT_EQ(p.sh.data[s->id()], sent);
}

// Version 2: while our own output waits for the peer's window, the budget
// does not stop reading (the UPDs that reopen it come on the same
// connection); once that output is gone, it does.
TEST(MuxSession, V2BudgetKeepsReadingWhileOutputWaitsForAWindow) {
  Config cfg;
  cfg.version = 2;
  cfg.max_receive_buffer = 100000;
  cfg.max_stream_buffer = 65536;
  Pair p(cfg);
  Stream* up = p.client->open();    // client -> server, the server holds it
  Stream* down = p.server->open();  // server -> client, the client holds it
  p.run();
  p.sh.hold = true;
  p.ch.hold = true;
  down->write(std::string(400000, 'd'));  // more than the 256 KiB window
  up->write(std::string(150000, 'u'));
  p.run();
  EXPECT_GE(p.server->buffered(), 100000u);
  EXPECT_GT(down->queued(), 0u);
  EXPECT_FALSE(p.st.paused);
  down->abort();  // nothing waits any more: over budget now pauses
  p.run();
  EXPECT_TRUE(p.st.paused);
}

TEST(MuxSession, CloseIsAFullCloseAndAbortEndsAtOnce) {
  Pair p;
  p.sh.echo = false;
  Stream* s = p.client->open();
  std::uint32_t id = s->id();
  s->write("data");
  s->close();  // FIN after the data; later input is dropped
  p.run();
  EXPECT_EQ(p.sh.data[id], "data");
  EXPECT_EQ(p.sh.fins, (std::vector<std::uint32_t>{id}));
  ASSERT_EQ(p.ch.closed.count(id), 1u);
  EXPECT_FALSE(p.ch.closed[id]);
  Stream* a = p.client->open();
  std::uint32_t aid = a->id();
  a->write("zzz");
  p.ct.backlog = true;
  a->write(std::string(1 << 20, 'q'));
  a->abort();
  EXPECT_EQ(p.ch.closed[aid], errc::aborted);
}

TEST(MuxSession, KeepaliveTimesOutASilentPeerAndKeepsAChattyOne) {
  EventLoop loop;
  MemTransport silent_t(loop);
  Recorder silent_h;
  Config cfg;
  cfg.keepalive_interval = 10ms;
  cfg.keepalive_timeout = 30ms;
  Session silent(silent_t, Role::server, silent_h, cfg);
  silent.start();
  EventLoop& l = loop;
  MemTransport a_t(l), b_t(l);
  Recorder a_h, b_h;
  Session a(a_t, Role::client, a_h, cfg), b(b_t, Role::server, b_h, cfg);
  a.start();
  b.start();
  TimerId pump = l.run_every(2ms, [&] {
    Pair::move(a_t, b_t, b);
    Pair::move(b_t, a_t, a);
  });
  l.run_after(300ms, [&] { l.stop(); });
  l.run();
  l.cancel(pump);
  EXPECT_TRUE(silent_t.aborted);
  EXPECT_EQ(silent.error(), errc::keepalive_timeout);
  EXPECT_FALSE(a_t.aborted);
  EXPECT_FALSE(b_t.aborted);
  EXPECT_FALSE(a.error());
}

// End to end over loopback: a weft client session dials a weft server
// session through Endpoint and echoes 16 streams.
class LoopEcho final : public SessionHandler {
 public:
  std::size_t on_data(Stream& s, Bytes in) override {
    if (!s.write(in)) s.pause_reading();
    return in.size();
  }
  void on_writable(Stream& s) override { s.resume_reading(); }
  void on_fin(Stream& s) override { s.close_write(); }
};

class LoopClient final : public SessionHandler {
 public:
  void on_session(Session& s) override {
    for (int i = 0; i < 16; ++i) {
      Stream* st = s.open();
      st->write(std::string(100000, static_cast<char>('a' + i)));
      st->close_write();
    }
  }
  std::size_t on_data(Stream& s, Bytes in) override {
    got[s.id()].append(in);
    return in.size();
  }
  void on_close(Stream& s, std::error_code why) override {
    if (why) errors++;
    if (++closed == 16) s.session().close();
  }
  void on_session_close(Session&, std::error_code) override { done = true; }
  std::map<std::uint32_t, std::string> got;
  int closed = 0;
  int errors = 0;
  std::atomic<bool> done{false};
};

TEST(MuxEndpoint, EchoOverLoopback) {
  LoopEcho echo;
  Endpoint server_ep(echo);
  test::TestServer server(server_ep);
  LoopClient client;
  Endpoint client_ep(client);
  DialOptions opts;
  opts.handler = &client_ep;
  ASSERT_FALSE(server.server().dial("tcp://127.0.0.1:" + std::to_string(server.port()), opts));
  for (int i = 0; i < 1000 && !client.done; ++i)
    std::this_thread::sleep_for(10ms);
  ASSERT_TRUE(client.done);
  EXPECT_EQ(client.errors, 0);
  ASSERT_EQ(client.got.size(), 16u);
  for (auto& [id, data] : client.got)
    EXPECT_EQ(data, std::string(100000, static_cast<char>('a' + (id - 3) / 2)));
}

}  // namespace
}  // namespace weft::mux
