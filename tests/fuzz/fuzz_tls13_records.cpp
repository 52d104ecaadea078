// libFuzzer target for weft's TLS 1.3 record layer (tls/tls13_records.hpp),
// the receive side of a server connection after the handshake. The input is
// a script of chunks that build the byte stream from the client:
//   op 0: raw bytes (anything: broken headers, forged records, truncation)
//   op 1: a record sealed with the client's current key; the first content
//         byte is the inner content type (23 data, 22 handshake, 21 alert...)
//   op 2: the client moves to its next key (as after sending a KeyUpdate)
// The stream is fed through a socket pair in pieces while the server reads
// with a buffer size the input also picks. The layer must never crash or
// over-read, must stop for good after a fatal error, and when the stream is
// only well-formed data records it must deliver exactly their contents. Then
// the server echoes what it got, and the client's key must open every record.
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <string>
#include <vector>

#include "tls/tls13_keys.hpp"
#include "tls/tls13_records.hpp"

namespace {

using weft::detail::IoStep;
using weft::detail::IoWant;
using weft::detail::Tls13Direction;
using weft::detail::Tls13Records;
using weft::detail::Tls13Suite;

void check(bool ok) {
  if (!ok) std::abort();
}

struct SocketPair {
  int fd[2] = {-1, -1};
  SocketPair() {
    check(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fd) == 0);
    const int size = 1 << 20;
    for (int f : fd) {
      ::setsockopt(f, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
      ::setsockopt(f, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
    }
  }
  ~SocketPair() {
    ::close(fd[0]);
    ::close(fd[1]);
  }
  SocketPair(const SocketPair&) = delete;
  SocketPair& operator=(const SocketPair&) = delete;
};

constexpr std::uint8_t kClientSecret[48] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
constexpr std::uint8_t kServerSecret[48] = {48, 47, 46, 45, 44, 43, 42, 41, 40};

// Reads everything the layer will give until it wants the socket, ends or
// fails; returns the data and the last step.
IoStep drain(Tls13Records& rec, std::size_t cap, std::string& got) {
  std::vector<char> buf(cap);
  for (int guard = 0; guard < 100000; ++guard) {
    const IoStep step = rec.read(buf.data(), cap);
    check(step.bytes <= cap);
    got.append(buf.data(), step.bytes);
    if (step.want != IoWant::none) return step;
    if (step.bytes == 0) std::abort();  // none with nothing: would spin forever
  }
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  static const std::uint16_t kSuites[] = {0x1301, 0x1302, 0x1303};
  const Tls13Suite* suite = weft::detail::tls13_suite(kSuites[data[0] % 3]);
  check(suite != nullptr);
  const std::size_t cap = 1 + (std::size_t{data[1]} * 331) % 70000;  // 1 .. 70000
  data += 2;
  size -= 2;

  const std::span<const std::uint8_t> client_secret(kClientSecret, suite->secret_len);
  const std::span<const std::uint8_t> server_secret(kServerSecret, suite->secret_len);
  Tls13Direction client;  // seals what the client sends
  check(client.init(*suite, client_secret, 0, true));

  std::string stream;
  std::string expect;  // the data records' contents
  bool only_data = true;
  std::vector<char> sealed;
  for (std::size_t at = 0; at + 2 <= size;) {
    const std::uint8_t op = data[at] % 3;
    const std::size_t len =
        std::min<std::size_t>(data[at + 1] * std::size_t{64} + data[at] / 3, size - at - 2);
    const char* bytes = reinterpret_cast<const char*>(data + at + 2);
    at += 2 + len;
    if (op == 0) {
      stream.append(bytes, len);
      only_data = only_data && len == 0;
    } else if (op == 1) {
      const std::uint8_t type = len > 0 ? static_cast<std::uint8_t>(bytes[0]) : 23;
      const char* content = len > 0 ? bytes + 1 : bytes;
      const std::size_t n = len > 0 ? len - 1 : 0;
      sealed.resize(Tls13Direction::record_size(n));
      check(client.seal(type, content, n, sealed.data()));
      stream.append(sealed.data(), sealed.size());
      if (type == 23) {
        expect.append(content, n);
      } else {
        only_data = false;
      }
    } else {
      check(client.next_key());
      only_data = false;
    }
  }

  SocketPair sp;
  Tls13Records server(sp.fd[0], *suite);
  check(server.init(client_secret, 0, server_secret, 0));
  std::string got;
  IoStep last;
  // In pieces: a record may arrive across several reads.
  for (std::size_t at = 0; at < stream.size();) {
    const std::size_t piece = std::min(stream.size() - at, std::size_t{1} + (at * 7919) % 20000);
    check(::send(sp.fd[1], stream.data() + at, piece, MSG_NOSIGNAL) == static_cast<ssize_t>(piece));
    at += piece;
    last = drain(server, cap, got);
    if (last.want == IoWant::error) {
      char one = 0;
      check(server.read(&one, 1).want == IoWant::error);  // a fatal error is final
      return 0;
    }
    if (last.want == IoWant::eof) break;
  }
  if (only_data) {
    check(last.want == IoWant::read || stream.empty());
    check(got == expect);
  }
  if (last.want == IoWant::eof) return 0;

  // The way back: everything the server sends opens with the server's key.
  const IoStep w = server.write(got.data(), got.size());
  check(w.want == IoWant::none && w.bytes == got.size());
  Tls13Direction reader;
  check(reader.init(*suite, server_secret, 0, false));
  std::string wire;
  char buf[65536];
  for (;;) {
    const ssize_t r = ::recv(sp.fd[1], buf, sizeof buf, 0);
    if (r <= 0) break;
    wire.append(buf, static_cast<std::size_t>(r));
  }
  std::string echoed;
  for (std::size_t at = 0; at + 5 <= wire.size();) {
    const std::size_t body = (std::size_t{static_cast<std::uint8_t>(wire[at + 3])} << 8) |
                             static_cast<std::uint8_t>(wire[at + 4]);
    check(at + 5 + body <= wire.size());
    std::size_t n = 0;
    std::uint8_t type = 0;
    check(reader.open(wire.data() + at, body, n, type) == Tls13Direction::Opened::ok);
    if (type == 23) echoed.append(wire.data() + at + 5, n);
    if (type == 22) check(reader.next_key());  // a KeyUpdate the server answered with
    at += 5 + body;
  }
  check(echoed == got);
  return 0;
}
