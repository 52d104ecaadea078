// proxy: an HTTP/1.1 reverse proxy. Every request is passed to one upstream
// through an http::Client on the loop that took it (kept-alive connections
// per loop, no thread per request), and the answer comes back through the
// request's Response::Ref: status, end-to-end headers, body.
//   build/examples/http &                                       (the upstream, :8080)
//   build/examples/proxy --upstream http://127.0.0.1:8080       (http://127.0.0.1:8000)
//   curl -i 127.0.0.1:8000/json
// Flags: --upstream URL (required; http:// or https://), --upstream-ca PEM
// (trust this CA for an https:// upstream), --timeout MS (per upstream
// answer, default 10000; a timeout answers 504, any other failure 502),
// --upstream-idle N (idle upstream connections kept per loop, default 1024),
// plus the shared flags (--listen, --loops, --cert/--key for HTTPS, ...).
// Bodies are held whole both ways (uploads within the http limits of the
// config, answers within FetchOptions' 64 MiB).
#include <chrono>
#include <cstdio>
#include <exception>
#include <memory>
#include <string>
#include <string_view>

#include <weft/http.hpp>
#include <weft/weft.hpp>

namespace {

struct Options {
  std::string upstream;
  std::string upstream_ca;
  long timeout_ms = 10000;
  std::size_t upstream_idle = 1024;
  std::shared_ptr<weft::TlsClient> tls;  // from upstream_ca; null: the system store
};

// The client's address without the port, for X-Forwarded-For.
std::string client_ip(const weft::SockAddr& a) {
  std::string s = a.to_string();
  const std::size_t colon = s.rfind(':');
  if (colon != std::string::npos && a.port() != 0) s.erase(colon);
  if (s.size() > 2 && s.front() == '[') s = s.substr(1, s.size() - 2);
  return s;
}

// Hop-by-hop headers (RFC 9110 §7.6.1) and the ones each side writes for
// itself (framing, Host, Date, Server) are not passed on.
bool passed_on(std::string_view name) {
  for (const char* own : {"connection", "keep-alive", "proxy-connection", "proxy-authenticate",
                          "proxy-authorization", "te", "trailer", "transfer-encoding", "upgrade",
                          "host", "content-length", "date", "server"}) {
    if (weft::http::iequals(name, own)) return false;
  }
  return true;
}

class Proxy final : public weft::http::App {
 public:
  Proxy(const weft::HttpConfig& limits, const Options& o) : App(limits), opts_(o) {
    for (const char* method : {"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"}) {
      route(method, "/*",
            [this](weft::http::Request& req, weft::http::Response& res) { forward(req, res); });
      route(method, "/",
            [this](weft::http::Request& req, weft::http::Response& res) { forward(req, res); });
    }
  }

  // After the server is built: the Client needs its loops.
  void set_client(weft::http::Client& c) { client_ = &c; }

  void on_ready(weft::Server& server) override {
    for (const auto& url : server.addresses())
      std::printf("listening on %s, passing to %s\n", url.c_str(), opts_.upstream.c_str());
    std::fflush(stdout);
  }

 private:
  void forward(weft::http::Request& req, weft::http::Response& res) {
    weft::http::FetchOptions f;
    f.method = std::string(req.method());
    f.body = std::string(req.body());
    f.timeout = std::chrono::milliseconds(opts_.timeout_ms);
    f.tls = opts_.tls;
    f.loop = static_cast<int>(req.conn().loop().index());  // the answer comes back here
    for (const auto& h : req.headers()) {
      if (passed_on(h.name)) f.headers.emplace_back(h.name, h.value);
    }
    f.headers.emplace_back("X-Forwarded-For", client_ip(req.conn().remote_addr()));
    const weft::http::Response::Ref ref = res.ref();
    const std::error_code ec = client_->fetch(
        opts_.upstream + std::string(req.target()), std::move(f),
        [ref](weft::http::FetchResult& r) {
          if (r.error) {
            const bool late = r.error == std::errc::timed_out;
            (void)ref.send(late ? 504 : 502, r.why + "\n");
            return;
          }
          (void)ref.answer([answer = std::move(r.response)](weft::http::Response& out) {
            out.status(answer.status);
            for (const auto& [name, value] : answer.headers) {
              if (passed_on(name)) out.header(name, value);
            }
            out.send(answer.body, "");  // Content-Type, if any, came with the headers
          });
        });
    if (ec) res.send(502, "the upstream request could not be made: " + ec.message() + "\n");
  }

  const Options& opts_;
  weft::http::Client* client_ = nullptr;
};

Options take_flags(int& argc, char** argv) {
  Options o;
  weft::take_own_flags(argc, argv, [&o](weft::OwnFlag& f) {
    const std::string_view name = f.name();
    if (name == "--upstream") {
      o.upstream = f.value();
    } else if (name == "--upstream-ca") {
      o.upstream_ca = f.value();
    } else if (name == "--timeout") {
      o.timeout_ms = static_cast<long>(f.count());
    } else if (name == "--upstream-idle") {
      o.upstream_idle = f.count();
    } else {
      return false;
    }
    return true;
  });
  while (!o.upstream.empty() && o.upstream.back() == '/')
    o.upstream.pop_back();
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    Options o = take_flags(argc, argv);
    auto cli = weft::parse_command_line(argc, argv, "tcp://127.0.0.1:8000");
    if (cli.help) {
      std::fputs(cli.usage.c_str(), stdout);
      std::fputs(
          "proxy flags:\n"
          "  --upstream URL      where requests go (http:// or https://; required)\n"
          "  --upstream-ca PEM   trust this CA for an https:// upstream\n"
          "  --timeout MS        per upstream answer (default 10000)\n"
          "  --upstream-idle N   idle upstream connections kept per loop (default 1024)\n",
          stdout);
      return 0;
    }
    if (o.upstream.empty()) throw weft::ConfigError("--upstream URL is required");
    if (!o.upstream_ca.empty()) {
      weft::TlsClientOptions tls;
      tls.ca_file = o.upstream_ca;
      o.tls = std::make_shared<weft::TlsClient>(tls);
    }
    Proxy proxy(cli.config.http, o);
    weft::Server server(proxy, cli.config);
    weft::http::PoolOptions pool;
    pool.max_idle_per_origin = o.upstream_idle;  // per loop: at least the clients in flight
    weft::http::Client client(server, pool);
    proxy.set_client(client);
    server.stop_on_signals();
    return server.run() ? 1 : 0;  // run() logged which address failed
  } catch (const weft::ConfigError& e) {
    std::fprintf(stderr, "proxy: %s\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "proxy: %s\n", e.what());
    return 1;
  }
}
