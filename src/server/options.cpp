// The shared command line: defaults, then --config FILE, then the other
// flags, whatever order they were given in.
#include "weft/options.hpp"

#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "weft/address.hpp"
#include "weft/error.hpp"

namespace weft {
namespace {

std::string usage_text(std::string_view prog, std::string_view default_listen) {
  std::string u = "usage: ";
  u.append(prog).append(
      " [options]\n"
      "  --listen URL     listen address; repeat for more. Replaces the config\n"
      "                   file's listenAddrs. Default: ");
  u.append(default_listen)
      .append(
          "\n"
          "                   e.g. tcp://:5000  tcp4://127.0.0.1:5000  tcp6://[::1]:5000\n"
          "                        udp://:9000  unix:///tmp/app.sock  tcp://:5000?reuseport=false\n"
          "  --loops N        event loops (ncpu): -1 one per core, 0 or 1 one loop, N loops\n"
          "  --io BACKEND     epoll, io_uring or auto (ioBackend; default auto:\n"
          "                   io_uring where the kernel allows it)\n"
          "  --config FILE    JSON config file (field names in docs/CONFIG.md)\n"
          "  --cert PEM       TLS certificate chain (file); with --key, serves TLS\n"
          "                   (sslMode tls) unless a URL says otherwise (?tls=false)\n"
          "  --key PEM        the certificate's private key (file)\n"
          "  --print-config   print the final configuration as JSON and exit\n"
          "  -h, --help       show this help\n"
          "Flags also take the form --flag=value.\n");
  return u;
}

[[noreturn]] void bad_flag(std::string_view flag, const std::string& why) {
  std::string msg(flag);
  throw ConfigError(msg.append(": ").append(why));
}

int parse_loops(std::string_view v) {
  int n = 0;
  const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (ec == std::errc::result_out_of_range)
    bad_flag("--loops", "\"" + std::string(v) + "\" is out of range");
  if (ec != std::errc() || end != v.data() + v.size()) {
    bad_flag("--loops", "expected an integer, got \"" + std::string(v) + "\"");
  }
  if (n < -1 || n > 1024) {
    bad_flag("--loops", "must be between -1 (one per core) and 1024, got " + std::to_string(n));
  }
  return n;
}

}  // namespace

CommandLine parse_command_line(int argc, char** argv, std::string_view default_listen) {
  Config base;
  base.listen = {std::string(default_listen)};
  return parse_command_line(argc, argv, base);
}

CommandLine parse_command_line(int argc, char** argv, const Config& base) {
  const std::string default_listen = base.listen.empty() ? std::string() : base.listen.front();
  std::string_view prog = "weft";
  if (argc > 0 && argv != nullptr && argv[0] != nullptr && argv[0][0] != '\0') {
    prog = argv[0];
    if (auto slash = prog.rfind('/'); slash != std::string_view::npos)
      prog.remove_prefix(slash + 1);
  }
  CommandLine out;
  out.usage = usage_text(prog, default_listen);
  out.config = base;

  std::vector<std::string_view> args;
  for (int i = 1; i < argc && argv != nullptr; ++i) {
    if (argv[i] != nullptr) args.emplace_back(argv[i]);
  }
  // --help wins over everything else, even a bad flag or config file.
  for (std::string_view a : args) {
    if (a == "-h" || a == "--help") {
      out.help = true;
      return out;
    }
  }

  std::vector<std::string> listen;
  std::optional<int> loops;
  std::optional<std::string> config_file;
  std::optional<std::string> cert, key;
  std::optional<IoBackend> io;
  bool print_config = false;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string_view arg = args[i];
    if (arg.size() < 3 || arg.substr(0, 2) != "--") {
      if (arg.size() > 1 && arg[0] == '-' && arg != "--") {
        bad_flag(arg, "unknown flag (long flags start with --; see --help)");
      }
      bad_flag(arg, "unexpected argument (see --help)");
    }
    const auto eq = arg.find('=');
    const std::string_view name = arg.substr(0, eq);
    const bool takes_value = name == "--listen" || name == "--loops" || name == "--config" ||
                             name == "--cert" || name == "--key" || name == "--io";
    if (!takes_value && name != "--print-config") bad_flag(name, "unknown flag (see --help)");
    if (!takes_value) {
      if (eq != std::string_view::npos) bad_flag(name, "takes no value");
      print_config = true;
      continue;
    }
    std::string_view value;
    if (eq != std::string_view::npos) {
      value = arg.substr(eq + 1);
    } else if (i + 1 < args.size() && args[i + 1].substr(0, 2) != "--") {
      value = args[++i];
    } else {
      bad_flag(name, "needs a value");
    }
    if (value.empty()) bad_flag(name, "needs a value");
    if (name == "--listen") {
      try {
        (void)ListenUrl::parse(value);
      } catch (const ConfigError& e) {
        bad_flag(name, e.what());
      }
      listen.emplace_back(value);
    } else if (name == "--loops") {
      loops = parse_loops(value);
    } else if (name == "--cert") {
      cert = std::string(value);
    } else if (name == "--key") {
      key = std::string(value);
    } else if (name == "--io") {
      if (value == "epoll") {
        io = IoBackend::epoll;
      } else if (value == "io_uring") {
        io = IoBackend::io_uring;
      } else if (value == "auto") {
        io = IoBackend::automatic;
      } else {
        bad_flag(name, "must be epoll, io_uring or auto, got \"" + std::string(value) + "\"");
      }
    } else {
      config_file = std::string(value);
    }
  }

  if (config_file) out.config = load_config(*config_file, out.config);
  if (!listen.empty()) out.config.listen = std::move(listen);
  if (loops) out.config.ncpu = *loops;
  if (io) out.config.io_backend = *io;
  if (cert.has_value() != key.has_value()) {
    bad_flag(cert ? "--cert" : "--key", cert ? "needs --key too" : "needs --cert too");
  }
  if (cert) {
    out.config.tls.cert = {*cert, *key};
    if (out.config.tls.mode == SslMode::plain) out.config.tls.mode = SslMode::tls;
  }
  out.config.validate();

  if (print_config) {
    std::fputs(to_json(out.config).c_str(), stdout);
    std::fflush(stdout);
    std::exit(0);
  }
  return out;
}

std::string_view OwnFlag::value() {
  if (has_inline_) return inline_;
  if (i_ + 1 >= argc_ || std::string_view(argv_[i_ + 1]).substr(0, 2) == "--") {
    bad_flag(name_, "needs a value");  // as parse_command_line: a flag is no value
  }
  return argv_[++i_];
}

std::size_t OwnFlag::count(bool zero_ok) {
  const std::string_view v = value();
  std::size_t n = 0;
  const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (ec != std::errc() || end != v.data() + v.size() || (n == 0 && !zero_ok)) {
    bad_flag(name_, std::string("expected a ") + (zero_ok ? "number" : "positive number") +
                        ", got \"" + std::string(v) + "\"");
  }
  return n;
}

void OwnFlag::no_value() const {
  if (has_inline_) bad_flag(name_, "takes no value");
}

void take_own_flags(int& argc, char** argv, const std::function<bool(OwnFlag&)>& take) {
  std::vector<char*> rest;
  if (argc > 0) rest.push_back(argv[0]);
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    const std::string_view name = arg.substr(0, arg.find('='));
    const bool has_inline = name.size() != arg.size();
    OwnFlag flag(name, has_inline ? arg.substr(name.size() + 1) : std::string_view(), has_inline, i,
                 argc, argv);
    const int at = i;
    if (!take(flag)) rest.push_back(argv[at]);
  }
  for (std::size_t i = 0; i < rest.size(); ++i)
    argv[i] = rest[i];
  argc = static_cast<int>(rest.size());
}

}  // namespace weft
