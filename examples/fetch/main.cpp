// fetch: a small curl on weft's HTTP client (http::Client). A server with
// no listen address runs one loop; every URL is fetched at once from it (or
// one after another with --sequential, reusing connections), and the
// answers are printed in the order given.
//   build/examples/http &
//   build/examples/fetch http://127.0.0.1:8080/json
//   build/examples/fetch -i -X POST -d 'hello' http://127.0.0.1:8080/echo
//   build/examples/fetch --ca cert.pem https://localhost:8443/
// Flags: -X METHOD, -H 'Name: value' (repeatable), -d BODY, -i (print the
// status line and headers too), --ca PEM (trust this CA for https://),
// --insecure (no certificate check), --timeout MS, --max-body BYTES,
// --sequential (each URL after the previous answer), -v (say on stderr how
// many connections carried the requests).
// Exit status: 0 when every URL got an answer (whatever its status), 1 if
// one failed (why goes to stderr), 2 for bad arguments.
#include <cstdio>
#include <cstdlib>
#include <future>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <weft/http.hpp>
#include <weft/weft.hpp>

namespace {

constexpr const char* kUsage =
    "usage: fetch [-X METHOD] [-H 'Name: value']... [-d BODY] [-i] [--ca PEM]\n"
    "             [--insecure] [--timeout MS] [--max-body BYTES] [--sequential] [-v] URL...\n";

struct Args {
  weft::http::FetchOptions options;
  std::vector<std::string> urls;
  bool include_head = false;
  std::string ca;
  bool insecure = false;
  bool sequential = false;
  bool verbose = false;
};

[[noreturn]] void usage_error(const std::string& why) {
  std::fprintf(stderr, "fetch: %s\n%s", why.c_str(), kUsage);
  std::exit(2);
}

long number(const std::string& flag, const char* text) {
  char* end = nullptr;
  const long v = std::strtol(text, &end, 10);
  if (*text == '\0' || *end != '\0' || v < 0) usage_error(flag + " wants a number, got " + text);
  return v;
}

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    const bool has_value = flag == "-X" || flag == "-H" || flag == "-d" || flag == "--ca" ||
                           flag == "--timeout" || flag == "--max-body";
    if (has_value && i + 1 >= argc) usage_error(flag + " needs a value");
    if (flag == "-X") {
      a.options.method = argv[++i];
    } else if (flag == "-H") {
      const std::string h = argv[++i];
      const std::size_t colon = h.find(':');
      if (colon == std::string::npos || colon == 0) usage_error("-H wants 'Name: value'");
      const std::size_t start = h.find_first_not_of(' ', colon + 1);
      a.options.headers.emplace_back(h.substr(0, colon),
                                     start == std::string::npos ? "" : h.substr(start));
    } else if (flag == "-d") {
      a.options.body = argv[++i];
      if (a.options.method == "GET") a.options.method = "POST";
    } else if (flag == "-i") {
      a.include_head = true;
    } else if (flag == "--sequential") {
      a.sequential = true;
    } else if (flag == "-v") {
      a.verbose = true;
    } else if (flag == "--ca") {
      a.ca = argv[++i];
    } else if (flag == "--insecure") {
      a.insecure = true;
    } else if (flag == "--timeout") {
      a.options.timeout = std::chrono::milliseconds(number(flag, argv[++i]));
    } else if (flag == "--max-body") {
      a.options.max_body = static_cast<std::size_t>(number(flag, argv[++i]));
    } else if (flag == "-h" || flag == "--help") {
      std::fputs(kUsage, stdout);
      std::exit(0);
    } else if (flag.starts_with("-")) {
      usage_error("unknown flag " + flag);
    } else {
      a.urls.push_back(flag);
    }
  }
  if (a.urls.empty()) usage_error("no URL");
  return a;
}

// The loops need a handler; no connection ever reaches this one.
struct NoListener final : weft::Handler {
  std::size_t on_data(weft::Conn&, weft::Bytes in) override { return in.size(); }
};

void print(const weft::http::FetchResult& r, bool include_head) {
  if (include_head) {
    std::printf("HTTP/1.1 %d %s\r\n", r.response.status, r.response.reason.c_str());
    for (const auto& [name, value] : r.response.headers) {
      std::printf("%s: %s\r\n", name.c_str(), value.c_str());
    }
    std::printf("\r\n");
  }
  std::fwrite(r.response.body.data(), 1, r.response.body.size(), stdout);
}

}  // namespace

int main(int argc, char** argv) {
  Args args = parse(argc, argv);
  if (args.insecure || !args.ca.empty()) {
    weft::TlsClientOptions tls;
    tls.ca_file = args.ca;
    tls.insecure_skip_verify = args.insecure;
    try {
      args.options.tls = std::make_shared<weft::TlsClient>(tls);
    } catch (const weft::ConfigError& e) {
      usage_error(e.what());
    }
  }
  weft::set_log_level(weft::LogLevel::warn);  // stdout is the body; keep stderr for failures

  weft::Config cfg;
  cfg.listen.clear();  // outbound only
  NoListener handler;
  weft::Server server(handler, cfg);
  if (const std::error_code ec = server.start()) {
    std::fprintf(stderr, "fetch: cannot start: %s\n", ec.message().c_str());
    return 1;
  }
  int status = 0;
  {
    weft::http::Client client(server);
    // Starts URL i; its answer arrives through the returned future.
    auto start = [&](std::size_t i) {
      auto done = std::make_shared<std::promise<weft::http::FetchResult>>();
      std::future<weft::http::FetchResult> answer = done->get_future();
      const std::error_code ec =
          client.fetch(args.urls[i], args.options,
                       [done](weft::http::FetchResult& r) { done->set_value(std::move(r)); });
      if (ec) {
        weft::http::FetchResult refused;
        refused.error = ec;
        refused.why = "not a request fetch can send (an http:// or https:// URL, valid headers)";
        done->set_value(std::move(refused));
      }
      return answer;
    };
    std::vector<std::future<weft::http::FetchResult>> answers;
    if (!args.sequential) {
      for (std::size_t i = 0; i < args.urls.size(); ++i)
        answers.push_back(start(i));
    }
    for (std::size_t i = 0; i < args.urls.size(); ++i) {
      const weft::http::FetchResult r = args.sequential ? start(i).get() : answers[i].get();
      if (r.error) {
        std::fprintf(stderr, "fetch %s: %s\n", args.urls[i].c_str(), r.why.c_str());
        status = 1;
        continue;
      }
      print(r, args.include_head);
    }
    if (args.verbose) {
      std::fprintf(stderr, "fetch: %zu requests, %llu connections\n", args.urls.size(),
                   static_cast<unsigned long long>(client.connections_opened()));
    }
  }
  std::fflush(stdout);
  server.stop();
  server.wait();
  return status;
}
