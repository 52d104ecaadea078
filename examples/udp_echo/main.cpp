// udp_echo: every datagram is sent back to where it came from.
//   build/examples/udp_echo --listen udp://127.0.0.1:5001
#include <cstdio>

#include <weft/weft.hpp>

namespace {

class UdpEcho final : public weft::Handler {
 public:
  void on_ready(weft::Server& server) override {
    for (const auto& url : server.addresses())
      std::printf("listening on %s\n", url.c_str());
    std::fflush(stdout);
  }
  std::size_t on_data(weft::Conn&, weft::Bytes in) override { return in.size(); }
  void on_datagram(weft::Datagram& d) override { (void)d.reply(d.data()); }
};

}  // namespace

int main(int argc, char** argv) {
  try {
    auto cli = weft::parse_command_line(argc, argv, "udp://127.0.0.1:5001");
    if (cli.help) {
      std::fputs(cli.usage.c_str(), stdout);
      return 0;
    }
    UdpEcho echo;
    return weft::serve(echo, cli.config);
  } catch (const weft::ConfigError& e) {
    std::fprintf(stderr, "udp_echo: %s\n", e.what());
    return 2;
  }
}
