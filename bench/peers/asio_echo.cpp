// asio_echo: an idiomatic Boost.Asio echo server.
//
// One io_context on one thread; each connection is a shared_ptr session with
// its own 64 KiB buffer, looping async_read_some -> async_write (the shape of
// Asio's own async_tcp_echo_server example). no_delay on every socket.
//
//   bench-asio-echo --port N     (binds 127.0.0.1:N; runs until SIGINT/SIGTERM)

// <utility> first: Boost 1.74's asio/awaitable.hpp uses std::exchange without it in C++20.
#include <utility>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>

#include <boost/asio.hpp>

namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

class Session : public std::enable_shared_from_this<Session> {
 public:
  explicit Session(tcp::socket socket) : socket_(std::move(socket)) {}

  void start() { do_read(); }

 private:
  void do_read() {
    socket_.async_read_some(asio::buffer(data_), [self = shared_from_this()](
                                                     boost::system::error_code ec, std::size_t n) {
      if (!ec) self->do_write(n);
    });
  }

  void do_write(std::size_t n) {
    asio::async_write(socket_, asio::buffer(data_, n),
                      [self = shared_from_this()](boost::system::error_code ec, std::size_t) {
                        if (!ec) self->do_read();
                      });
  }

  tcp::socket socket_;
  std::array<char, 64 * 1024> data_;
};

class Server {
 public:
  Server(asio::io_context& io, unsigned short port)
      : acceptor_(io, tcp::endpoint(asio::ip::make_address_v4("127.0.0.1"), port)) {
    do_accept();
  }

 private:
  void do_accept() {
    acceptor_.async_accept([this](boost::system::error_code ec, tcp::socket socket) {
      if (!ec) {
        socket.set_option(tcp::no_delay(true), ec);
        std::make_shared<Session>(std::move(socket))->start();
      }
      do_accept();
    });
  }

  tcp::acceptor acceptor_;
};

}  // namespace

int main(int argc, char** argv) {
  int port = 0;
  for (int i = 1; i + 1 < argc; i += 2)
    if (std::strcmp(argv[i], "--port") == 0) port = std::atoi(argv[i + 1]);
  if (port <= 0 || port > 65535) {
    std::fprintf(stderr, "usage: %s --port N\n", argv[0]);
    return 2;
  }
  try {
    asio::io_context io(1);  // concurrency hint: single-threaded
    asio::signal_set signals(io, SIGINT, SIGTERM);
    signals.async_wait([&io](boost::system::error_code, int) { io.stop(); });
    Server server(io, static_cast<unsigned short>(port));
    std::printf("listening on tcp://127.0.0.1:%d\n", port);
    std::fflush(stdout);
    io.run();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "asio_echo: %s\n", e.what());
    return 1;
  }
  return 0;
}
