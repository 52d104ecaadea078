// tiny: the smallest weft server (tcpio's style: callbacks, no classes).
// Replies "OK" to every chunk of input and prints what it got.
#include <cstdio>

#include <weft/weft.hpp>

int main(int argc, char** argv) {
  auto cli = weft::parse_command_line(argc, argv, "tcp://127.0.0.1:8080");
  weft::Callbacks cb;
  cb.ready = [](weft::Server& s) {
    for (const auto& url : s.addresses())
      std::printf("listening on %s\n", url.c_str());
    std::fflush(stdout);
  };
  cb.data = [](weft::Conn& c, weft::Bytes in) {
    std::printf("received: %.*s\n", static_cast<int>(in.size()), in.data());
    c.write("OK\n");
    return in.size();
  };
  return weft::serve(cb, cli.config);
}
