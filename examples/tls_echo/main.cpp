// tls_echo: echo over TLS on the event loops.
//   build/examples/tls_echo                          (tls://127.0.0.1:5443,
//                                                     self-signed for localhost)
//   build/examples/tls_echo --cert chain.pem --key key.pem --listen tls://:443
//   build/examples/tls_echo --listen "tcp://:5000?tls=both"   (plain and TLS)
#include <cstdio>
#include <cstring>
#include <string>

#include <weft/weft.hpp>

#include "tls/self_signed.hpp"

namespace {

class TlsEcho final : public weft::Handler {
 public:
  void on_ready(weft::Server& server) override {
    for (const auto& url : server.addresses())
      std::printf("listening on %s\n", url.c_str());
    const std::string first = server.addresses().front();
    if (first.rfind("unix", 0) != 0) {
      std::printf("try: openssl s_client -connect %s -servername localhost\n",
                  first.substr(first.find("://") + 3).c_str());
    }
    std::fflush(stdout);
  }

  std::size_t on_data(weft::Conn& c, weft::Bytes in) override {
    c.write(in);
    return in.size();
  }
};

bool has_flag(int argc, char** argv, const char* flag) {
  const std::size_t n = std::strlen(flag);
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], flag, n) == 0 && (argv[i][n] == '\0' || argv[i][n] == '=')) {
      return true;
    }
  }
  return false;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    weft::Config base;
    base.listen = {"tls://127.0.0.1:5443"};
    std::string generated;
    if (!has_flag(argc, argv, "--cert") && !has_flag(argc, argv, "--help") &&
        !has_flag(argc, argv, "-h")) {
      // No certificate given: make a throwaway one so the demo just runs.
      auto self = weft::detail::make_self_signed({"localhost", "127.0.0.1", "::1"});
      base.tls.cert = {self.cert_pem, self.key_pem};
      generated = self.fingerprint;
    }
    auto cli = weft::parse_command_line(argc, argv, base);
    if (cli.help) {
      std::fputs(cli.usage.c_str(), stdout);
      std::puts("Without --cert, a self-signed certificate for localhost is generated at start.");
      return 0;
    }
    if (!generated.empty() && cli.config.tls.cert.pem == base.tls.cert.pem) {
      std::printf("self-signed certificate for localhost, SHA-256 fingerprint %s\n",
                  generated.c_str());
    }
    TlsEcho echo;
    return weft::serve(echo, cli.config);
  } catch (const weft::ConfigError& e) {
    std::fprintf(stderr, "tls_echo: %s\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "tls_echo: %s\n", e.what());
    return 1;
  }
}
