// One loop's share of a server: its EventLoop, the connections it owns (a
// slab of Conn objects addressed by slot + generation), its listeners, the
// shared read buffer, the idle list and its counters.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "net/buffer.hpp"
#include "net/cork.hpp"
#include "weft/address.hpp"
#include "weft/config.hpp"
#include "weft/conn.hpp"
#include "weft/handler.hpp"
#include "weft/loop.hpp"
#include "weft/stats.hpp"

namespace weft::detail {

class Listener;
class Resolver;
class SecureLayer;
class SecureLayerFactory;
class PendingDial;

/// Makes client-side secure layers for outbound connections.
class ClientLayerFactory {
 public:
  virtual ~ClientLayerFactory() = default;
  /// A client layer on `fd` for `server_name` (SNI and verification).
  virtual std::unique_ptr<SecureLayer> make_client(int fd, const std::string& server_name) = 0;
};

/// One outbound connection to make on a loop.
struct DialSpec {
  SockAddr addr;
  std::vector<SockAddr> more;  ///< further addresses of a resolved name, tried in order
  std::string target;          ///< as the user wrote it, for errors
  /// A host name to resolve first (addr is then unset).
  std::string name;
  std::uint16_t port = 0;
  int family = 0;  ///< for the lookup: AF_INET, AF_INET6 or 0
  bool is_unix = false;
  Handler* handler = nullptr;
  void* context = nullptr;
  int timeout_ms = 10000;  ///< connect + TLS handshake
  std::shared_ptr<ClientLayerFactory> tls;
  std::string server_name;
};

/// A dial target's URL, checked as Server::dial takes it: throws ConfigError
/// ("dial \"url\": ...") for udp, a missing host or port, or tls=both.
/// `addr` is set unless the host is a name (`name`: looked up when dialed).
ListenUrl parse_dial_target(const std::string& url, SockAddr& addr);

/// The listener index dialed connections report (Conn::listener()).
inline constexpr std::uint16_t kDialedListener = 0xffff;

/// What the server shares with every worker.
struct ServerShared {
  Server* server = nullptr;
  Handler* handler = nullptr;
  const Config* config = nullptr;
  std::atomic<int> open_conns{0};  ///< all loops, for maxAcceptFD
  std::atomic<bool> stopping{false};
  /// Looks up dial targets given by name (owned by the server).
  Resolver* resolver = nullptr;
  /// Per listen URL (by index): how to make TLS transports; null = plain.
  std::vector<SecureLayerFactory*> transports;
};

class Worker {
 public:
  Worker(ServerShared& shared, std::size_t index);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  EventLoop& loop() noexcept { return loop_; }
  LoopStats& stats() noexcept { return stats_; }
  const LoopStats& stats() const noexcept { return stats_; }
  Server& server() const noexcept { return *shared_.server; }
  const Config& config() const noexcept { return *shared_.config; }
  ServerShared& shared() noexcept { return shared_; }
  std::size_t index() const noexcept { return index_; }

  // --- connections (loop thread) ----------------------------------------
  /// Takes ownership of an accepted, reserve()d descriptor and fires on_open.
  void adopt(int fd, std::uint16_t listener, bool is_unix);
  /// The live connection at slot/gen, or null.
  Conn* find(std::uint32_t slot, std::uint32_t gen) noexcept;
  /// Any thread: is slot/gen still the live connection?
  bool alive(std::uint32_t slot, std::uint32_t gen) const noexcept;
  /// Starts an outbound connection (loop thread); on_open or on_dial_error follows.
  void dial(DialSpec spec);
  void finish_dial(PendingDial& d, std::uint32_t events) noexcept;
  void fail_dial(PendingDial& d, std::error_code why) noexcept;
  void cancel_dials() noexcept;
  /// A lookup for a dial came back (posted by the resolver thread).
  void resolved(std::uint64_t id, std::vector<SockAddr> addrs, std::error_code ec);
  /// Fires on_open (after accept, or after the TLS handshake).
  void open_conn(Conn& c);
  /// Closes the descriptor, fires on_close (if on_open fired) and retires the slot.
  void teardown(Conn& c, std::error_code why, bool close_fd = true) noexcept;
  std::size_t open_count() const noexcept { return live_; }
  /// Counts a connection accepted for this loop before it is adopted: for
  /// leastconn (`assigned`) and for maxAcceptFD (the server-wide count).
  void reserve() noexcept {
    assigned.fetch_add(1, std::memory_order_relaxed);
    shared_.open_conns.fetch_add(1, std::memory_order_relaxed);
  }
  void unreserve() noexcept {
    assigned.fetch_sub(1, std::memory_order_relaxed);
    shared_.open_conns.fetch_sub(1, std::memory_order_relaxed);
  }
  std::atomic<int> assigned{0};

  // --- what Conn borrows from its loop ------------------------------------
  char* scratch() noexcept { return scratch_.get(); }
  std::size_t scratch_size() const noexcept { return scratch_size_; }
  Cork& cork() noexcept { return cork_; }
  Conn* current = nullptr;  ///< the connection whose callback is running
  /// The input current's on_data is reading: untouched until the cork is
  /// flushed, so the cork may point into it rather than copy.
  std::string_view delivering;
  void touch(Conn& c) noexcept;
  void schedule_wake(Conn& c);

  // --- TLS handshakes: bounded per loop, each with a deadline ---------------
  /// A transport for c from its listener's factory; null on failure (logged).
  SecureLayer* make_transport(Conn& c) noexcept;
  /// Starts the deadline and takes a handshake slot, or queues c for one.
  void begin_handshake(Conn& c, int timeout_ms, bool bypass_cap = false);
  /// Frees c's slot (done, failed or closed) and admits a queued one.
  void end_handshake(Conn& c) noexcept;

  // --- listeners and lifecycle --------------------------------------------
  void add_listener(std::unique_ptr<Listener> l);
  /// Starts listening (after on_ready). Loop thread.
  void arm_listeners();
  /// Graceful stop on this loop: close listeners, close connections after
  /// their output flushes, abort the rest at the deadline, then stop.
  void begin_stop();
  /// After the loop has stopped: tear down whatever is left.
  void close_all_now() noexcept;

 private:
  static constexpr std::uint32_t kChunkBits = 8;
  static constexpr std::uint32_t kChunkSize = 1u << kChunkBits;
  static constexpr std::uint32_t kMaxChunks = 4096;  // 1M connections per loop
  struct Chunk {
    std::array<std::atomic<std::uint32_t>, kChunkSize> gen{};
    alignas(Conn) unsigned char storage[kChunkSize][sizeof(Conn)];
  };
  /// Puts a connected descriptor into a slot and watches it; null if refused.
  /// `plain`: no TLS and no sniffing, so an io_uring loop may do its I/O.
  Conn* place(int fd, std::uint16_t listener, bool is_unix, Handler* handler, bool plain);
  void report_dial_error(Handler& h, const std::string& target, void* context,
                         std::error_code why) noexcept;
  Conn* slot_ptr(std::uint32_t slot) noexcept;
  std::uint32_t take_slot();
  void after_io() noexcept;
  void idle_link(Conn& c) noexcept;
  void idle_unlink(Conn& c) noexcept;
  void check_idle() noexcept;
  void maybe_finish_stop() noexcept;
  template <typename Fn>
  void for_each_live(Fn fn);
  std::uint32_t now_ms() const noexcept;

  ServerShared& shared_;
  std::size_t index_;
  EventLoop loop_;
  LoopStats stats_;
  std::unique_ptr<char[]> scratch_;
  std::size_t scratch_size_;
  Cork cork_;

  std::array<std::atomic<Chunk*>, kMaxChunks> chunks_{};
  std::uint32_t chunk_count_ = 0;
  std::vector<std::uint32_t> free_slots_;
  std::vector<Conn*> dead_;  // torn down this iteration; freed in after_io
  std::vector<std::pair<std::uint32_t, std::uint32_t>> woken_;
  std::size_t live_ = 0;
  std::uint32_t idle_head_ = 0, idle_tail_ = 0;  // slot + 1; 0 = none
  Clock::time_point epoch_;
  std::vector<std::unique_ptr<Listener>> listeners_;
  bool stopping_ = false;
  int handshakes_ = 0;  // in progress on this loop
  std::unordered_map<PendingDial*, std::unique_ptr<PendingDial>> dials_;
  // Dials waiting for their name to resolve, by request id.
  struct Resolving {
    DialSpec spec;
    TimerId timer = 0;
  };
  std::unordered_map<std::uint64_t, Resolving> resolving_;
  std::uint64_t resolve_seq_ = 0;
  void resolve_then_dial(DialSpec spec);
  // Takes dial `it` out of resolving_, its timer cancelled.
  DialSpec take_resolving(std::unordered_map<std::uint64_t, Resolving>::iterator it);
  // Tries the next address of a resolved name; false when none is left.
  bool dial_next_address(DialSpec& spec, std::error_code why);
  std::deque<std::pair<std::uint32_t, std::uint32_t>> handshake_queue_;  // slot, gen

  friend class weft::Conn;
};

}  // namespace weft::detail
