// echo: every byte a client sends comes back. The main demo:
//   build/examples/echo                       (tcp://127.0.0.1:5000)
//   build/examples/echo --listen unix:///tmp/echo.sock --loops 2
#include <cstdio>

#include <weft/weft.hpp>

namespace {

class Echo final : public weft::Handler {
 public:
  void on_ready(weft::Server& server) override {
    for (const auto& url : server.addresses())
      std::printf("listening on %s\n", url.c_str());
    std::printf("try: nc %s   (Ctrl-C stops the server)\n", hint(server).c_str());
    std::fflush(stdout);
  }

  std::size_t on_data(weft::Conn& c, weft::Bytes in) override {
    c.write(in);
    return in.size();
  }

 private:
  static std::string hint(weft::Server& server) {
    std::string url = server.addresses().front();
    std::string rest = url.substr(url.find("://") + 3);
    if (url.rfind("unix", 0) == 0) return "-U " + rest;
    auto colon = rest.rfind(':');
    return rest.substr(0, colon) + " " + rest.substr(colon + 1);
  }
};

}  // namespace

int main(int argc, char** argv) {
  try {
    auto cli = weft::parse_command_line(argc, argv, "tcp://127.0.0.1:5000");
    if (cli.help) {
      std::fputs(cli.usage.c_str(), stdout);
      return 0;
    }
    Echo echo;
    return weft::serve(echo, cli.config);
  } catch (const weft::ConfigError& e) {
    std::fprintf(stderr, "echo: %s\n", e.what());
    return 2;
  }
}
