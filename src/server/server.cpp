#include "weft/server.hpp"

#include <pthread.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <future>
#include <mutex>
#include <thread>

#include "net/listener.hpp"
#include "net/resolver.hpp"
#include "net/socket.hpp"
#include "net/worker.hpp"
#include "tls/ktls.hpp"
#include "tls/tls_client.hpp"
#include "tls/tls_server.hpp"
#include "weft/address.hpp"
#include "weft/error.hpp"
#include "weft/log.hpp"

namespace weft::detail {

// SIGINT/SIGTERM through a signalfd on loop 0: the first asks for a graceful
// stop, a second one stops at once.
class SignalWatcher final : public IoWatcher {
 public:
  explicit SignalWatcher(ServerCore& core) : core_(core) {}
  void on_io(std::uint32_t) override;
  int fd = -1;

 private:
  ServerCore& core_;
  int seen_ = 0;
};

class ServerCore {
 public:
  ServerCore(Server& self, Handler& handler, Config cfg) : config(std::move(cfg)) {
    config.validate();
    shared.server = &self;
    shared.handler = &handler;
    shared.config = &config;
    shared.resolver = resolver.get();
    std::size_t n = config.loop_count();
    for (std::size_t i = 0; i < n; ++i)
      workers.push_back(std::make_unique<Worker>(shared, i));
    for (const auto& text : config.listen)
      urls.push_back(ListenUrl::parse(text));
    setup_tls();
  }

  // One set of TLS contexts for every TLS listener; a factory per listener
  // says whether it also serves plain clients (sslMode both).
  void setup_tls() {
    std::shared_ptr<TlsServerContext> ctx;
    for (const auto& text : config.listen) {
      bool sniff = false;
      if (!config.listener_tls(text, &sniff)) {
        shared.transports.push_back(nullptr);
        continue;
      }
      if (!ctx) {
        ctx = std::make_shared<TlsServerContext>(config.tls);
        if (config.tls.ktls == KtlsPolicy::automatic && !kernel_tls().ulp_available) {
          logf(LogLevel::info, "kTLS unavailable, TLS runs in userspace: %s",
               kernel_tls().reason.c_str());
        }
      }
      factories.push_back(std::make_unique<TlsListenerFactory>(ctx, sniff));
      shared.transports.push_back(factories.back().get());
    }
  }

  ~ServerCore() {
    halt_now();
    join();
    resolver.reset();  // no lookup answer reaches a worker from here on
    workers.clear();   // tears down what is left, firing on_close
    remove_unix_files();
    if (signals.fd >= 0) {
      ::close(signals.fd);
      pthread_sigmask(SIG_SETMASK, &old_mask, nullptr);
    }
  }

  std::error_code bind_all();
  void start_threads(bool include_loop0);
  void on_loop0_start();
  void tick();
  void stop() noexcept;
  void halt_now() noexcept {
    for (auto& w : workers)
      w->loop().stop();
  }
  void join() {
    for (auto& t : threads) {
      if (t.joinable()) t.join();
    }
    threads.clear();
  }
  // Removes the socket files this server created — only if they are still
  // ours (same inode): another server may have bound the path since.
  void remove_unix_files() noexcept {
    for (const auto& f : unix_files) {
      struct stat st {};
      if (::lstat(f.path.c_str(), &st) == 0 && st.st_dev == f.dev && st.st_ino == f.ino) {
        ::unlink(f.path.c_str());
      }
    }
    unix_files.clear();
  }
  struct UnixFile {
    std::string path;
    dev_t dev;
    ino_t ino;
  };
  std::vector<UnixFile> unix_files;

  Config config;
  ServerShared shared;
  std::vector<std::unique_ptr<SecureLayerFactory>> factories;  // before workers: outlive them
  std::unique_ptr<Resolver> resolver = std::make_unique<Resolver>();
  std::vector<std::unique_ptr<Worker>> workers;
  std::vector<ListenUrl> urls;
  std::vector<std::string> bound;
  std::vector<std::thread> threads;
  std::atomic<bool> stop_requested{false};
  std::atomic<std::size_t> dial_next{0};
  std::mutex default_tls_mu;
  std::shared_ptr<TlsClient> default_tls;  // made on the first tls:// dial
  std::promise<void> ready;
  SignalWatcher signals{*this};
  sigset_t old_mask{};
};

void SignalWatcher::on_io(std::uint32_t) {
  signalfd_siginfo info{};
  while (::read(fd, &info, sizeof info) == sizeof info) {
    if (++seen_ == 1) {
      logf(LogLevel::info, "%s: stopping gracefully (send it again to stop at once)",
           strsignal(static_cast<int>(info.ssi_signo)));
      core_.stop();
    } else {
      logf(LogLevel::warn, "%s again: stopping now", strsignal(static_cast<int>(info.ssi_signo)));
      core_.halt_now();
    }
  }
}

std::error_code ServerCore::bind_all() {
  std::vector<Worker*> all;
  for (auto& w : workers)
    all.push_back(w.get());
  for (std::size_t i = 0; i < urls.size(); ++i) {
    ListenUrl url = urls[i];
    auto index = static_cast<std::uint16_t>(i);
    bool is_unix = url.transport == Transport::unix_stream;
    bool per_loop = url.reuseport && !is_unix;
    std::size_t copies = per_loop ? workers.size() : 1;
    for (std::size_t k = 0; k < copies; ++k) {
      std::error_code ec;
      int fd = open_listener(url, per_loop, k == 0, ec);
      if (fd < 0) {
        logf(LogLevel::error, "listen %s: %s", urls[i].text.c_str(), ec.message().c_str());
        return ec;
      }
      if (k == 0) {
        bound.push_back(bound_url(fd, url));
        struct stat st {};
        if (is_unix && url.path[0] != '@' && ::stat(url.path.c_str(), &st) == 0) {
          unix_files.push_back({url.path, st.st_dev, st.st_ino});
        }
        // Port 0: the other loops' sockets join the port the kernel picked.
        if (!is_unix && url.port == 0) {
          SockAddr local;
          *local.size_ptr() = sizeof(sockaddr_storage);
          if (::getsockname(fd, local.get(), local.size_ptr()) == 0) url.port = local.port();
        }
      }
      std::unique_ptr<Listener> l;
      if (url.transport == Transport::udp) {
        l = std::make_unique<DatagramSocket>(fd, index);
      } else {
        std::vector<Worker*> targets;
        if (!per_loop && workers.size() > 1) targets = all;
        l = std::make_unique<StreamAcceptor>(fd, index, is_unix, std::move(targets),
                                             config.lb_strategy);
      }
      workers[k]->add_listener(std::move(l));
    }
  }
  return {};
}

void ServerCore::on_loop0_start() {
  shared.handler->on_ready(*shared.server);
  // Only now may connections arrive: on_ready runs before any on_open.
  for (auto& w : workers) {
    Worker* wp = w.get();
    if (wp == workers[0].get()) {
      wp->arm_listeners();
    } else {
      (void)wp->loop().post_control([wp] { wp->arm_listeners(); });
    }
  }
  ready.set_value();
  tick();
  if (config.print_stat) {
    workers[0]->loop().run_every(Millis{config.stat_interval_ms}, [this] {
      logf(LogLevel::info, "stats: %s", shared.server->stats().to_string().c_str());
    });
  }
}

void ServerCore::tick() {
  if (stop_requested.load()) return;
  Tick t = shared.handler->on_tick(*shared.server);
  if (t.action == Action::shutdown) {
    stop();
    return;
  }
  if (t.next.count() > 0) workers[0]->loop().run_after(t.next, [this] { tick(); });
}

void ServerCore::stop() noexcept {
  if (stop_requested.exchange(true)) return;
  shared.stopping.store(true);
  auto begin = [this] {
    shared.handler->on_shutdown(*shared.server);
    for (auto& w : workers) {
      Worker* wp = w.get();
      if (wp->loop().in_loop_thread()) {
        wp->begin_stop();
      } else if (wp->loop().post_control([wp] { wp->begin_stop(); })) {
        wp->loop().stop();  // cannot reach it gracefully
      }
    }
  };
  if (workers[0]->loop().post_control(begin)) halt_now();
}

void ServerCore::start_threads(bool include_loop0) {
  for (std::size_t i = include_loop0 ? 0 : 1; i < workers.size(); ++i) {
    Worker* w = workers[i].get();
    threads.emplace_back([w] { w->loop().run(); });
  }
}

}  // namespace weft::detail

namespace weft {

Server::Server(Handler& handler, Config cfg)
    : core_(std::make_unique<detail::ServerCore>(*this, handler, std::move(cfg))) {}

Server::~Server() = default;

std::error_code Server::run() {
  if (auto ec = core_->bind_all()) return ec;
  (void)core_->workers[0]->loop().post([c = core_.get()] { c->on_loop0_start(); });
  core_->start_threads(false);
  core_->workers[0]->loop().run();
  // Loop 0 ends last in a graceful stop only by chance: wait for the rest.
  core_->join();
  core_->remove_unix_files();
  return {};
}

std::error_code Server::start() {
  if (auto ec = core_->bind_all()) return ec;
  auto ready = core_->ready.get_future();
  (void)core_->workers[0]->loop().post([c = core_.get()] { c->on_loop0_start(); });
  core_->start_threads(true);
  ready.wait();
  return {};
}

void Server::wait() {
  core_->join();
  core_->remove_unix_files();
}
void Server::stop() noexcept {
  core_->stop();
}

void Server::stop_on_signals() {
  if (core_->signals.fd >= 0) return;
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGINT);
  sigaddset(&mask, SIGTERM);
  // Blocked here, so loop threads created later inherit the mask and the
  // signals are read only from the signalfd.
  pthread_sigmask(SIG_BLOCK, &mask, &core_->old_mask);
  core_->signals.fd = ::signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
  if (core_->signals.fd < 0) {
    throw std::system_error(errno, std::system_category(), "signalfd");
  }
  core_->workers[0]->loop().watch(core_->signals.fd, &core_->signals, IoWatcher::kReadable);
}

std::vector<std::string> Server::addresses() const {
  return core_->bound;
}
const Config& Server::config() const noexcept {
  return core_->config;
}
std::size_t Server::loop_count() const noexcept {
  return core_->workers.size();
}
EventLoop& Server::loop(std::size_t i) {
  return core_->workers.at(i)->loop();
}
const LoopStats& Server::loop_stats(std::size_t i) const {
  return core_->workers.at(i)->stats();
}
Handler& Server::handler() const noexcept {
  return *core_->shared.handler;
}

std::error_code Server::dial(const std::string& url, const DialOptions& opts) {
  detail::ServerCore& core = *core_;
  detail::DialSpec spec;
  const ListenUrl u = detail::parse_dial_target(url, spec.addr);
  spec.target = url;
  spec.is_unix = u.transport == Transport::unix_stream;
  if (u.name) {  // looked up on the resolver thread
    spec.name = u.host;
    spec.port = u.port;
    spec.family = u.family;
  }
  spec.handler = opts.handler;
  spec.context = opts.context;
  spec.timeout_ms = static_cast<int>(opts.timeout.count());
  if (u.tls == UrlTls::on) {
    std::shared_ptr<TlsClient> tls = opts.tls;
    if (!tls) {
      std::lock_guard lock(core.default_tls_mu);
      if (!core.default_tls) core.default_tls = std::make_shared<TlsClient>();
      tls = core.default_tls;
    }
    spec.tls = tls->impl();
    // The name as written in the URL ("localhost", not 127.0.0.1).
    std::string host = url.substr(url.find("://") + 3);
    host = host.substr(0, host.find_first_of("/?"));
    if (!host.empty() && host.front() == '[') {
      host = host.substr(1, host.find(']') - 1);
    } else {
      host = host.substr(0, host.rfind(':'));
    }
    spec.server_name = opts.server_name.empty() ? host : opts.server_name;
  }
  std::size_t n = core.workers.size();
  std::size_t i = opts.loop >= 0 ? static_cast<std::size_t>(opts.loop) % n
                                 : core.dial_next.fetch_add(1, std::memory_order_relaxed) % n;
  detail::Worker* w = core.workers[i].get();
  if (w->loop().in_loop_thread()) {
    w->dial(std::move(spec));
    return {};
  }
  return w->loop().post([w, s = std::make_shared<detail::DialSpec>(std::move(spec))]() mutable {
    w->dial(std::move(*s));
  });
}

StatsSnapshot Server::stats() const {
  StatsSnapshot s;
  for (const auto& w : core_->workers)
    s.add(w->stats());
  return s;
}

int serve(Handler& handler, Config cfg) {
  try {
    Server server(handler, std::move(cfg));
    server.stop_on_signals();
    if (auto ec = server.run()) return 1;  // run() logged which address failed
    return 0;
  } catch (const std::exception& e) {
    logf(LogLevel::error, "%s", e.what());
    return 1;
  }
}

}  // namespace weft
