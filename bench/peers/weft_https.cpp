// weft_https: a minimal HTTPS responder on weft, the weft side of the
// TLS comparison with nginx (bench/run_tls.sh).
//
// Every complete HTTP/1.1 request in the input ("GET ... \r\n\r\n", no body)
// is answered with one fixed response:
//
//   HTTP/1.1 200 OK\r\nContent-Length: N\r\nContent-Type: text/plain\r\n
//   [X-Pad: ...\r\n]\r\n<N bytes>
//
// Keep-alive, pipelining-safe (all complete requests of a read are answered
// in order, and the consumed byte count is returned to weft). With
// --header-len L the header block (status line through the empty line) is
// padded to exactly L bytes, so that the bytes on the wire match another
// server's (nginx adds Server, Date, Connection, ...). "Connection: close"
// in a request closes after the response.
//
//   bench-weft-https --port N --cert CERT.pem --key KEY.pem [--loops 1]
//                    [--body BYTES] [--header-len L] [--tls-max 1.2|1.3]
//                    [--record-layer weft|openssl]
//   bench-weft-https --listen tls://127.0.0.1:N ...
//
// Prints "listening on tls://127.0.0.1:N" when ready; stops on SIGINT/SIGTERM.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <string>
#include <string_view>

#include <weft/weft.hpp>

namespace {

// Largest request header block we wait for before giving up on a client.
constexpr std::size_t kMaxHeader = 16 * 1024;

class HttpsResponder final : public weft::Handler {
 public:
  explicit HttpsResponder(std::string response) : response_(std::move(response)) {}

  void on_ready(weft::Server& server) override {
    for (const auto& url : server.addresses())
      std::printf("listening on %s\n", url.c_str());
    std::fflush(stdout);
  }

  std::size_t on_data(weft::Conn& c, weft::Bytes in) override {
    std::size_t used = 0;
    while (used < in.size()) {
      const std::size_t end = in.find("\r\n\r\n", used);
      if (end == weft::Bytes::npos) {
        if (in.size() - used > kMaxHeader) c.close();
        break;
      }
      const weft::Bytes request = in.substr(used, end + 4 - used);
      used = end + 4;
      if (!request.starts_with("GET ")) {  // no request bodies here: stop at once
        c.write(kNotAllowed);
        c.close();
        return in.size();
      }
      c.write(response_);  // pieces written in one callback go out together
      if (wants_close(request)) {
        c.close();
        return in.size();
      }
    }
    return used;
  }

 private:
  static constexpr weft::Bytes kNotAllowed =
      "HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";

  static bool wants_close(weft::Bytes request) {
    for (weft::Bytes v : {weft::Bytes("Connection: close"), weft::Bytes("connection: close")}) {
      if (request.find(v) != weft::Bytes::npos) return true;
    }
    return false;
  }

  std::string response_;
};

std::string make_response(std::size_t body, std::size_t header_len) {
  std::string head = "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(body) +
                     "\r\nContent-Type: text/plain\r\n";
  const std::string pad_name = "X-Pad: ";
  // The padding header needs its name, at least one byte and CRLF.
  const std::size_t min_padded = head.size() + pad_name.size() + 1 + 2 + 2;
  if (header_len != 0) {
    if (header_len == head.size() + 2) {
      // exact already
    } else if (header_len >= min_padded) {
      head += pad_name + std::string(header_len - head.size() - pad_name.size() - 4, 'p') + "\r\n";
    } else {
      std::fprintf(stderr, "bench-weft-https: --header-len %zu is too small (minimum %zu or %zu)\n",
                   header_len, head.size() + 2, min_padded);
      std::exit(2);
    }
  }
  head += "\r\n";
  std::string out = head;
  out.reserve(head.size() + body);
  for (std::size_t i = 0; i < body; ++i)
    out.push_back(static_cast<char>('a' + i % 26));
  return out;
}

[[noreturn]] void usage(int status) {
  std::fputs(
      "usage: bench-weft-https (--port N | --listen URL) --cert CERT.pem --key KEY.pem\n"
      "                        [--loops N] [--body BYTES] [--header-len L] [--tls-max 1.2|1.3]\n"
      "                        [--record-layer weft|openssl]\n",
      status == 0 ? stdout : stderr);
  std::exit(status);
}

}  // namespace

int main(int argc, char** argv) {
  std::string listen, cert, key, tls_max = "1.3", record_layer = "weft";
  int loops = 1;
  std::size_t body = 64, header_len = 0;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (a == "-h" || a == "--help") usage(0);
    if (i + 1 >= argc) usage(2);
    const char* v = argv[++i];
    if (a == "--port") {
      listen = std::string("tls://127.0.0.1:") + v;
    } else if (a == "--listen") {
      listen = v;
    } else if (a == "--cert") {
      cert = v;
    } else if (a == "--key") {
      key = v;
    } else if (a == "--loops") {
      loops = std::atoi(v);
    } else if (a == "--body") {
      body = std::strtoull(v, nullptr, 10);
    } else if (a == "--header-len") {
      header_len = std::strtoull(v, nullptr, 10);
    } else if (a == "--tls-max") {
      tls_max = v;
    } else if (a == "--record-layer") {
      record_layer = v;
    } else {
      usage(2);
    }
  }
  if (listen.empty() || cert.empty() || key.empty()) usage(2);
  if (record_layer != "weft" && record_layer != "openssl") usage(2);

  try {
    weft::Config cfg;
    cfg.listen = {listen};
    cfg.ncpu = loops;
    cfg.tls.cert = {cert, key};
    cfg.tls.max_version = tls_max;
    if (tls_max == "1.2") cfg.tls.min_version = "1.2";
    cfg.tls.record_layer =
        record_layer == "weft" ? weft::TlsRecordLayer::weft : weft::TlsRecordLayer::openssl;
    HttpsResponder responder(make_response(body, header_len));
    return weft::serve(responder, cfg);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench-weft-https: %s\n", e.what());
    return 1;
  }
}
