// Config::validate, the JSON config format and the shared command line.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <functional>
#include <initializer_list>
#include <iterator>
#include <string>
#include <thread>
#include <vector>

#include "weft/config.hpp"
#include "weft/error.hpp"
#include "weft/options.hpp"

namespace {

using weft::CommandLine;
using weft::Config;
using weft::ConfigError;
using weft::LbStrategy;
using weft::SbufPolicy;

// The ConfigError message `fn` throws, or "<no error>".
std::string error_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "<no error>";
}

std::string parse_error(const std::string& json) {
  return error_of([&] { (void)weft::parse_config(json); });
}

std::string validate_error(const Config& c) {
  return error_of([&] { c.validate(); });
}

#define EXPECT_CONTAINS(haystack, needle)                                      \
  do {                                                                         \
    const std::string h_ = (haystack);                                         \
    EXPECT_NE(h_.find(needle), std::string::npos) << "message: " << h_ << "\n" \
                                                  << "expected: " << (needle); \
  } while (0)

// A scratch file removed at scope exit.
class TempFile {
 public:
  explicit TempFile(const std::string& content) {
    std::string tmpl = testing::TempDir() + "weft_config_XXXXXX";
    const int fd = mkstemp(tmpl.data());
    EXPECT_GE(fd, 0);
    path_ = tmpl;
    EXPECT_EQ(write(fd, content.data(), content.size()), static_cast<ssize_t>(content.size()));
    close(fd);
  }
  ~TempFile() { unlink(path_.c_str()); }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// argv for parse_command_line from a list of words (argv[0] = "prog").
class Argv {
 public:
  Argv(std::initializer_list<std::string> args) : words_{"/usr/bin/prog"} {
    words_.insert(words_.end(), args.begin(), args.end());
    for (auto& w : words_)
      ptrs_.push_back(w.data());
    ptrs_.push_back(nullptr);
  }
  int argc() const { return static_cast<int>(words_.size()); }
  char** argv() { return ptrs_.data(); }

 private:
  std::vector<std::string> words_;
  std::vector<char*> ptrs_;
};

constexpr const char* kDefaultListen = "tcp://127.0.0.1:7000";

CommandLine parse_args(std::initializer_list<std::string> args) {
  Argv a(args);
  return weft::parse_command_line(a.argc(), a.argv(), kDefaultListen);
}

std::string args_error(std::initializer_list<std::string> args) {
  return error_of([&] { (void)parse_args(args); });
}

// --- Config::validate and loop_count ---

TEST(ConfigValidate, DefaultsAreValid) {
  EXPECT_NO_THROW(Config{}.validate());
}

TEST(ConfigValidate, NoListenerMakesAnOutboundOnlyServer) {
  Config c;
  c.listen.clear();
  EXPECT_NO_THROW(c.validate());
}

TEST(ConfigValidate, EachListenUrlIsParsed) {
  Config c;
  c.listen = {"tcp://:1", "tcp://x:99999"};
  EXPECT_EQ(validate_error(c),
            "config field \"listenAddrs\": listen URL \"tcp://x:99999\": port must be 0..65535");
  c.listen = {"tcp://:1", "udp://:1", "unix:///tmp/x.sock"};
  EXPECT_NO_THROW(c.validate());
}

TEST(ConfigValidate, DuplicateListenUrl) {
  Config c;
  c.listen = {"tcp://:1", "tcp://:1"};
  EXPECT_CONTAINS(validate_error(c), "\"tcp://:1\" is listed twice");
}

struct IntRange {
  const char* field;
  int Config::*member;
  std::int64_t lo;
  std::int64_t hi;
};

TEST(ConfigValidate, IntRanges) {
  const IntRange ranges[] = {
      {"ncpu", &Config::ncpu, -1, 1024},
      {"idleCheckInt", &Config::idle_check_int_ms, 1, 3600000},
      {"idleLimit", &Config::idle_limit_ms, 0, 2147483647},
      {"maxAcceptFD", &Config::max_accept_fd, 0, 2147483647},
      {"pollWait", &Config::poll_wait_ms, 1, 60000},
      {"statInterval", &Config::stat_interval_ms, 100, 86400000},
      {"tcpKeepAlive", &Config::tcp_keepalive_s, 0, 32767},
      {"stopTimeout", &Config::stop_timeout_ms, 0, 3600000},
  };
  for (const auto& r : ranges) {
    const std::string want = std::string("config field \"") + r.field + "\": must be between " +
                             std::to_string(r.lo) + " and " + std::to_string(r.hi) + ", got ";
    Config c;
    c.*r.member = static_cast<int>(r.lo);
    EXPECT_NO_THROW(c.validate()) << r.field;
    c.*r.member = static_cast<int>(r.hi);
    EXPECT_NO_THROW(c.validate()) << r.field;
    c.*r.member = static_cast<int>(r.lo - 1);
    EXPECT_EQ(validate_error(c), want + std::to_string(r.lo - 1)) << r.field;
    if (r.hi < 2147483647) {
      c.*r.member = static_cast<int>(r.hi + 1);
      EXPECT_EQ(validate_error(c), want + std::to_string(r.hi + 1)) << r.field;
    }
  }
}

struct SizeRange {
  const char* field;
  std::size_t Config::*member;
  std::uint64_t lo;
  std::uint64_t hi;
};

TEST(ConfigValidate, SizeRanges) {
  const std::uint64_t mib = 1024 * 1024;
  const SizeRange ranges[] = {
      {"bufSize", &Config::buf_size, 4096, 64 * mib},
      {"chanSize", &Config::chan_size, 0, 16 * mib},
      {"pktSizeLimit", &Config::pkt_size_limit, 0, 4096 * mib},
      {"cliSbufLimit", &Config::cli_sbuf_limit, 0, 4096 * mib},
  };
  for (const auto& r : ranges) {
    const std::string want = std::string("config field \"") + r.field + "\": must be between " +
                             std::to_string(r.lo) + " and " + std::to_string(r.hi) + ", got ";
    Config c;
    c.*r.member = r.lo;
    EXPECT_NO_THROW(c.validate()) << r.field;
    c.*r.member = r.hi;
    EXPECT_NO_THROW(c.validate()) << r.field;
    c.*r.member = r.hi + 1;
    EXPECT_EQ(validate_error(c), want + std::to_string(r.hi + 1)) << r.field;
    if (r.lo > 0) {
      c.*r.member = r.lo - 1;
      EXPECT_EQ(validate_error(c), want + std::to_string(r.lo - 1)) << r.field;
    }
  }
  Config c;
  c.buf_size = 12;
  EXPECT_EQ(validate_error(c),
            "config field \"bufSize\": must be between 4096 and 67108864, got 12");
}

TEST(ConfigValidate, EnumsOutOfRange) {
  Config c;
  c.lb_strategy = static_cast<LbStrategy>(9);
  EXPECT_CONTAINS(validate_error(c), "config field \"lbStrategy\"");
  c = Config{};
  c.sbuf_policy = static_cast<SbufPolicy>(9);
  EXPECT_CONTAINS(validate_error(c), "config field \"cliSbufPolicy\"");
}

TEST(ConfigLoopCount, Values) {
  Config c;
  c.ncpu = 0;
  EXPECT_EQ(c.loop_count(), 1u);
  c.ncpu = 1;
  EXPECT_EQ(c.loop_count(), 1u);
  c.ncpu = 7;
  EXPECT_EQ(c.loop_count(), 7u);
  c.ncpu = -1;
  const unsigned hw = std::thread::hardware_concurrency();
  EXPECT_EQ(c.loop_count(), hw == 0 ? 1u : hw);
  EXPECT_GE(c.loop_count(), 1u);
}

// --- parse_config ---

TEST(ParseConfig, EmptyObjectGivesDefaults) {
  const Config c = weft::parse_config("{}");
  EXPECT_EQ(weft::to_json(c), weft::to_json(Config{}));
}

TEST(ParseConfig, EveryField) {
  const Config c = weft::parse_config(R"({
    "listenAddrs": ["tcp://:5000?reuseport=false", "unix:///tmp/w.sock"],
    "ncpu": -1,
    "lbStrategy": "leastconn",
    "bufSize": 1048576,
    "chanSize": 8192,
    "pktSizeLimit": 0,
    "cliSbufLimit": 1000000,
    "cliSbufPolicy": "close",
    "idleCheckInt": 250,
    "idleLimit": 60000,
    "maxAcceptFD": 10000,
    "pollWait": 20,
    "printStat": true,
    "statInterval": 5000,
    "tcpNoDelay": false,
    "tcpKeepAlive": 30,
    "stopTimeout": 100
  })");
  EXPECT_EQ(c.listen,
            (std::vector<std::string>{"tcp://:5000?reuseport=false", "unix:///tmp/w.sock"}));
  EXPECT_EQ(c.ncpu, -1);
  EXPECT_EQ(c.lb_strategy, LbStrategy::leastconn);
  EXPECT_EQ(c.buf_size, 1048576u);
  EXPECT_EQ(c.chan_size, 8192u);
  EXPECT_EQ(c.pkt_size_limit, 0u);
  EXPECT_EQ(c.cli_sbuf_limit, 1000000u);
  EXPECT_EQ(c.sbuf_policy, SbufPolicy::close);
  EXPECT_EQ(c.idle_check_int_ms, 250);
  EXPECT_EQ(c.idle_limit_ms, 60000);
  EXPECT_EQ(c.max_accept_fd, 10000);
  EXPECT_EQ(c.poll_wait_ms, 20);
  EXPECT_TRUE(c.print_stat);
  EXPECT_EQ(c.stat_interval_ms, 5000);
  EXPECT_FALSE(c.tcp_nodelay);
  EXPECT_EQ(c.tcp_keepalive_s, 30);
  EXPECT_EQ(c.stop_timeout_ms, 100);
}

TEST(ParseConfig, AllEnumNames) {
  const std::pair<const char*, LbStrategy> lbs[] = {{"rr", LbStrategy::rr},
                                                    {"random", LbStrategy::random},
                                                    {"leastconn", LbStrategy::leastconn},
                                                    {"hash", LbStrategy::hash}};
  for (const auto& [name, value] : lbs) {
    EXPECT_EQ(weft::parse_config(std::string(R"({"lbStrategy":")") + name + "\"}").lb_strategy,
              value);
  }
  EXPECT_EQ(weft::parse_config(R"({"cliSbufPolicy":"pause"})").sbuf_policy, SbufPolicy::pause);
  EXPECT_EQ(weft::parse_config(R"({"cliSbufPolicy":"close"})").sbuf_policy, SbufPolicy::close);
}

TEST(ParseConfig, ConnaxisReadmeExampleParses) {
  // The sample from connaxis' README, empty ssl* fields included (plain listeners).
  const Config c =
      weft::parse_config(R"({"ncpu": -1, "lbStrategy": "rr", "sslPem": "", "sslKey": "",
                                  "bufSize": 1048576, "chanSize": 8192,
                                  "listenAddrs": ["tcp://:5000?reuseport=false"]})");
  EXPECT_EQ(c.ncpu, -1);
  EXPECT_EQ(c.chan_size, 8192u);
  EXPECT_EQ(c.tls.mode, weft::SslMode::plain);
}

TEST(ParseConfig, CommentsAreAllowed) {
  const Config c = weft::parse_config("// weft\n{ /* loops */ \"ncpu\": 4 }\n");
  EXPECT_EQ(c.ncpu, 4);
}

TEST(ParseConfig, OverBase) {
  Config base;
  base.listen = {"tcp://:9"};
  base.ncpu = 3;
  const Config c = weft::parse_config(R"({"ncpu": 2})", base);
  EXPECT_EQ(c.listen, std::vector<std::string>{"tcp://:9"});
  EXPECT_EQ(c.ncpu, 2);
}

TEST(ParseConfig, InvalidJsonHasPosition) {
  const std::string msg = parse_error("{\n  \"ncpu\": 1,\n  oops\n}");
  EXPECT_EQ(msg.rfind("invalid JSON: ", 0), 0u) << msg;
  EXPECT_CONTAINS(msg, "line 3");
  EXPECT_EQ(msg.find("[json.exception"), std::string::npos) << msg;
  EXPECT_CONTAINS(parse_error(""), "invalid JSON");
  EXPECT_CONTAINS(parse_error("{\"ncpu\": 1,}"), "invalid JSON");
  EXPECT_CONTAINS(parse_error("{} {}"), "invalid JSON");
  EXPECT_CONTAINS(parse_error("{\"listenAddrs\": [\"\xff\"]}"), "invalid JSON");
  EXPECT_EQ(parse_error(R"({"idleLimit": 1e400})"),
            "invalid JSON: number overflow parsing '1e400'");
}

TEST(ParseConfig, TopLevelMustBeObject) {
  EXPECT_EQ(parse_error("[]"), "config must be a JSON object, got array");
  EXPECT_EQ(parse_error("5"), "config must be a JSON object, got number");
  EXPECT_EQ(parse_error("\"x\""), "config must be a JSON object, got string");
  EXPECT_EQ(parse_error("null"), "config must be a JSON object, got null");
}

TEST(ParseConfig, UnknownField) {
  EXPECT_EQ(parse_error(R"({"foo": 1})"), "unknown config field \"foo\"");
  EXPECT_EQ(parse_error(R"({"bufsize": 1})"),
            "unknown config field \"bufsize\" (did you mean \"bufSize\"?)");
  EXPECT_EQ(parse_error(R"({"": 1})"), "unknown config field \"\"");
  EXPECT_EQ(parse_error("{\"a\\u0000b\": 1}"), "unknown config field \"a\\u0000b\"");
}

TEST(ParseConfig, ConnaxisFieldsNotSupportedYet) {
  for (const char* f : {"tlsEngine", "twInterval", "dialKeepAlive", "dialPolling"}) {
    const std::string msg = parse_error(std::string("{\"") + f + "\": null}");
    EXPECT_EQ(msg.rfind(std::string("config field \"") + f + "\"", 0), 0u) << msg;
    EXPECT_CONTAINS(msg, "not supported yet");
  }
  EXPECT_CONTAINS(parse_error(R"({"dialKeepAlive": true})"), "weft::Redialer");
}

TEST(ParseConfig, DuplicateField) {
  EXPECT_EQ(parse_error(R"({"ncpu": 1, "ncpu": 2})"), "config field \"ncpu\" is given twice");
  // Nested keys are not fields; they fail on type instead.
  EXPECT_CONTAINS(parse_error(R"({"ncpu": {"a": 1, "a": 2}})"), "expected an integer, got object");
}

TEST(ParseConfig, TooDeep) {
  const std::string deep = "{\"ncpu\": " + std::string(100, '[') + std::string(100, ']') + "}";
  EXPECT_EQ(parse_error(deep), "config is nested too deeply");
  EXPECT_EQ(parse_error(std::string(100000, '[')), "config is nested too deeply");
}

TEST(ParseConfig, WrongTypes) {
  EXPECT_EQ(parse_error(R"({"ncpu": "4"})"),
            "config field \"ncpu\": expected an integer, got string");
  EXPECT_EQ(parse_error(R"({"ncpu": 1.5})"),
            "config field \"ncpu\": expected an integer, got number 1.5");
  EXPECT_EQ(parse_error(R"({"ncpu": true})"),
            "config field \"ncpu\": expected an integer, got boolean");
  EXPECT_EQ(parse_error(R"({"ncpu": null})"),
            "config field \"ncpu\": expected an integer, got null");
  EXPECT_EQ(parse_error(R"({"bufSize": [1]})"),
            "config field \"bufSize\": expected an integer, got array");
  EXPECT_EQ(parse_error(R"({"printStat": 1})"),
            "config field \"printStat\": expected true or false, got number");
  EXPECT_EQ(parse_error(R"({"tcpNoDelay": "true"})"),
            "config field \"tcpNoDelay\": expected true or false, got string");
  EXPECT_EQ(parse_error(R"({"lbStrategy": 0})"),
            "config field \"lbStrategy\": expected a string, got number");
  EXPECT_EQ(parse_error(R"({"cliSbufPolicy": false})"),
            "config field \"cliSbufPolicy\": expected a string, got boolean");
  EXPECT_EQ(parse_error(R"({"listenAddrs": "tcp://:1"})"),
            "config field \"listenAddrs\": expected an array of strings, got string");
  EXPECT_EQ(parse_error(R"({"listenAddrs": ["tcp://:1", 5]})"),
            "config field \"listenAddrs[1]\": expected a string, got number");
}

TEST(ParseConfig, EveryIntegerFieldRejectsAString) {
  for (const char* f :
       {"ncpu", "bufSize", "chanSize", "pktSizeLimit", "cliSbufLimit", "idleCheckInt", "idleLimit",
        "maxAcceptFD", "pollWait", "statInterval", "tcpKeepAlive", "stopTimeout"}) {
    EXPECT_EQ(parse_error(std::string("{\"") + f + "\": \"1\"}"),
              std::string("config field \"") + f + "\": expected an integer, got string");
  }
}

TEST(ParseConfig, BadEnumValues) {
  EXPECT_EQ(parse_error(R"({"lbStrategy": "roundrobin"})"),
            "config field \"lbStrategy\": must be \"rr\", \"random\", \"leastconn\" or \"hash\", "
            "got \"roundrobin\"");
  EXPECT_EQ(parse_error(R"({"cliSbufPolicy": "drop"})"),
            "config field \"cliSbufPolicy\": must be \"pause\" or \"close\", got \"drop\"");
  EXPECT_CONTAINS(parse_error(R"({"lbStrategy": "RR"})"), "got \"RR\"");
}

TEST(ParseConfig, NegativeSizes) {
  for (const char* f : {"bufSize", "chanSize", "pktSizeLimit", "cliSbufLimit"}) {
    EXPECT_EQ(parse_error(std::string("{\"") + f + "\": -1}"),
              std::string("config field \"") + f + "\": must not be negative, got -1");
  }
}

TEST(ParseConfig, OutOfRange) {
  EXPECT_EQ(parse_error(R"({"bufSize": 12})"),
            "config field \"bufSize\": must be between 4096 and 67108864, got 12");
  EXPECT_EQ(parse_error(R"({"ncpu": -2})"),
            "config field \"ncpu\": must be between -1 and 1024, got -2");
  EXPECT_EQ(parse_error(R"({"ncpu": 5000000000})"),
            "config field \"ncpu\": 5000000000 is out of range");
  EXPECT_EQ(parse_error(R"({"idleLimit": -5000000000})"),
            "config field \"idleLimit\": -5000000000 is out of range");
  EXPECT_EQ(parse_error(R"({"bufSize": 18446744073709551615})"),
            "config field \"bufSize\": 18446744073709551615 is out of range");
  EXPECT_CONTAINS(parse_error(R"({"bufSize": 100000000000000000000000})"),
                  "config field \"bufSize\": ");
  EXPECT_CONTAINS(parse_error(R"({"bufSize": 100000000000000000000000})"), "is out of range");
  EXPECT_EQ(parse_error(R"({"pollWait": 0})"),
            "config field \"pollWait\": must be between 1 and 60000, got 0");
  EXPECT_EQ(parse_error(R"({"tcpKeepAlive": 40000})"),
            "config field \"tcpKeepAlive\": must be between 0 and 32767, got 40000");
}

TEST(ParseConfig, ListenAddrs) {
  EXPECT_TRUE(weft::parse_config(R"({"listenAddrs": []})").listen.empty());
  EXPECT_EQ(parse_error(R"({"listenAddrs": ["tcp://example.com:80"]})")
                .rfind("config field \"listenAddrs\": listen URL \"tcp://example.com:80\": ", 0),
            0u);
  EXPECT_EQ(weft::parse_config(R"({"listenAddrs": ["udp://:9000"]})").listen,
            std::vector<std::string>{"udp://:9000"});
}

TEST(ParseConfig, RoundTrip) {
  Config c;
  c.listen = {"tcp6://[::1]:0", "udp4://127.0.0.1:9?reuseport=false", "unix://@weft"};
  c.ncpu = 8;
  c.lb_strategy = LbStrategy::hash;
  c.buf_size = 8192;
  c.chan_size = 0;
  c.pkt_size_limit = 4096ull * 1024 * 1024;
  c.cli_sbuf_limit = 1;
  c.sbuf_policy = SbufPolicy::close;
  c.idle_check_int_ms = 3;
  c.idle_limit_ms = 2147483647;
  c.max_accept_fd = 77;
  c.poll_wait_ms = 60000;
  c.print_stat = true;
  c.stat_interval_ms = 100;
  c.tcp_nodelay = false;
  c.tcp_keepalive_s = 32767;
  c.stop_timeout_ms = 0;
  const std::string text = weft::to_json(c);
  const Config back = weft::parse_config(text);
  EXPECT_EQ(weft::to_json(back), text);
  EXPECT_EQ(back.listen, c.listen);
  EXPECT_EQ(back.lb_strategy, LbStrategy::hash);
  EXPECT_EQ(back.pkt_size_limit, c.pkt_size_limit);
  EXPECT_EQ(back.idle_limit_ms, 2147483647);
  EXPECT_FALSE(back.tcp_nodelay);
}

TEST(ToJson, HasEveryFieldInOrder) {
  const std::string text = weft::to_json(Config{});
  const char* fields[] = {"listenAddrs",  "ncpu",         "lbStrategy",   "bufSize",
                          "chanSize",     "pktSizeLimit", "cliSbufLimit", "cliSbufPolicy",
                          "idleCheckInt", "idleLimit",    "maxAcceptFD",  "pollWait",
                          "printStat",    "statInterval", "tcpNoDelay",   "tcpKeepAlive",
                          "stopTimeout"};
  std::size_t last = 0;
  for (const char* f : fields) {
    const auto at = text.find(std::string("\"") + f + "\":");
    ASSERT_NE(at, std::string::npos) << f;
    EXPECT_GT(at, last) << f;
    last = at;
  }
  EXPECT_CONTAINS(text, "\n  \"ncpu\": 1,\n");  // pretty-printed
  EXPECT_EQ(text.back(), '\n');
}

// --- load_config ---

TEST(LoadConfig, ReadsFile) {
  TempFile f(R"({"ncpu": 3, "listenAddrs": ["tcp://:6000"]})");
  const Config c = weft::load_config(f.path());
  EXPECT_EQ(c.ncpu, 3);
  EXPECT_EQ(c.listen, std::vector<std::string>{"tcp://:6000"});
}

TEST(LoadConfig, MissingFileNamesPathAndReason) {
  const std::string path = testing::TempDir() + "weft_no_such_config.json";
  const std::string msg = error_of([&] { (void)weft::load_config(path); });
  EXPECT_EQ(msg, "config file \"" + path + "\": No such file or directory");
}

TEST(LoadConfig, DirectoryIsAnError) {
  const std::string msg = error_of([] { (void)weft::load_config("/"); });
  EXPECT_EQ(msg, "config file \"/\": Is a directory");
}

TEST(LoadConfig, ParseErrorsNameThePath) {
  TempFile f(R"({"bufSize": 12})");
  EXPECT_EQ(error_of([&] { (void)weft::load_config(f.path()); }),
            "config file \"" + f.path() +
                "\": config field \"bufSize\": must be between 4096 and 67108864, got 12");
  TempFile g("{");
  EXPECT_CONTAINS(error_of([&] { (void)weft::load_config(g.path()); }),
                  "config file \"" + g.path() + "\": invalid JSON: ");
}

// --- parse_command_line ---

TEST(CommandLine, Defaults) {
  const CommandLine cl = parse_args({});
  EXPECT_FALSE(cl.help);
  EXPECT_EQ(cl.config.listen, std::vector<std::string>{kDefaultListen});
  EXPECT_EQ(cl.config.ncpu, Config{}.ncpu);
  EXPECT_CONTAINS(cl.usage, "usage: prog ");
  EXPECT_CONTAINS(cl.usage, kDefaultListen);
}

TEST(CommandLine, ListenIsRepeatable) {
  const CommandLine cl = parse_args({"--listen", "tcp://:1", "--listen=udp://:2"});
  EXPECT_EQ(cl.config.listen, (std::vector<std::string>{"tcp://:1", "udp://:2"}));
}

TEST(CommandLine, Loops) {
  EXPECT_EQ(parse_args({"--loops", "4"}).config.ncpu, 4);
  EXPECT_EQ(parse_args({"--loops=0"}).config.ncpu, 0);
  EXPECT_EQ(parse_args({"--loops", "-1"}).config.ncpu, -1);
  EXPECT_EQ(parse_args({"--loops", "2", "--loops", "3"}).config.ncpu, 3);
  EXPECT_EQ(args_error({"--loops", "x"}), "--loops: expected an integer, got \"x\"");
  EXPECT_EQ(args_error({"--loops", "4x"}), "--loops: expected an integer, got \"4x\"");
  EXPECT_EQ(args_error({"--loops", "-2"}),
            "--loops: must be between -1 (one per core) and 1024, got -2");
  EXPECT_EQ(args_error({"--loops=99999999999"}), "--loops: \"99999999999\" is out of range");
}

TEST(CommandLine, ConfigFileThenFlags) {
  TempFile f(R"({"ncpu": 3, "bufSize": 8192, "listenAddrs": ["tcp://:6000"]})");
  // Flags win whatever their position relative to --config.
  const CommandLine cl = parse_args({"--listen", "tcp://:7001", "--config", f.path(), "--loops=2"});
  EXPECT_EQ(cl.config.listen, std::vector<std::string>{"tcp://:7001"});
  EXPECT_EQ(cl.config.ncpu, 2);
  EXPECT_EQ(cl.config.buf_size, 8192u);
}

TEST(CommandLine, ConfigFileListenWhenNoFlag) {
  TempFile f(R"({"listenAddrs": ["tcp://:6000"]})");
  EXPECT_EQ(parse_args({"--config=" + f.path()}).config.listen,
            std::vector<std::string>{"tcp://:6000"});
}

TEST(CommandLine, DefaultListenWhenFileHasNone) {
  TempFile f(R"({"ncpu": 2})");
  const CommandLine cl = parse_args({"--config", f.path()});
  EXPECT_EQ(cl.config.listen, std::vector<std::string>{kDefaultListen});
  EXPECT_EQ(cl.config.ncpu, 2);
}

TEST(CommandLine, ConfigFileErrors) {
  EXPECT_CONTAINS(args_error({"--config", "/nonexistent/weft.json"}),
                  "config file \"/nonexistent/weft.json\": No such file or directory");
  TempFile f(R"({"foo": 1})");
  EXPECT_CONTAINS(args_error({"--config", f.path()}), "unknown config field \"foo\"");
}

TEST(CommandLine, Help) {
  for (const char* h : {"-h", "--help"}) {
    const CommandLine cl = parse_args({h});
    EXPECT_TRUE(cl.help);
    EXPECT_CONTAINS(cl.usage, "--listen");
    EXPECT_CONTAINS(cl.usage, "--loops");
    EXPECT_CONTAINS(cl.usage, "--config");
    EXPECT_CONTAINS(cl.usage, "--print-config");
  }
  // Help wins even over flags that would fail.
  EXPECT_TRUE(parse_args({"--bogus", "--help"}).help);
  EXPECT_TRUE(parse_args({"--config", "/nonexistent", "-h"}).help);
}

TEST(CommandLine, Errors) {
  EXPECT_EQ(args_error({"--bogus"}), "--bogus: unknown flag (see --help)");
  EXPECT_EQ(args_error({"--bogus=1"}), "--bogus: unknown flag (see --help)");
  EXPECT_EQ(args_error({"-listen", "tcp://:1"}),
            "-listen: unknown flag (long flags start with --; see --help)");
  EXPECT_EQ(args_error({"extra"}), "extra: unexpected argument (see --help)");
  EXPECT_EQ(args_error({"--"}), "--: unexpected argument (see --help)");
  EXPECT_EQ(args_error({"--listen"}), "--listen: needs a value");
  EXPECT_EQ(args_error({"--listen="}), "--listen: needs a value");
  EXPECT_EQ(args_error({"--listen", "--loops", "2"}), "--listen: needs a value");
  EXPECT_EQ(args_error({"--loops"}), "--loops: needs a value");
  EXPECT_EQ(args_error({"--config"}), "--config: needs a value");
  EXPECT_EQ(args_error({"--print-config=yes"}), "--print-config: takes no value");
  EXPECT_EQ(args_error({"--listen", "tcp://x:99999"}),
            "--listen: listen URL \"tcp://x:99999\": port must be 0..65535");
}

TEST(CommandLine, NoArgv) {
  const CommandLine cl = weft::parse_command_line(0, nullptr, kDefaultListen);
  EXPECT_EQ(cl.config.listen, std::vector<std::string>{kDefaultListen});
  EXPECT_CONTAINS(cl.usage, "usage: weft ");
}

TEST(CommandLine, OwnFlagsAreTakenOutBeforeTheSharedOnes) {
  Argv a({"--listen", "tcp://127.0.0.1:1", "--size", "10", "--mode=fast", "--quiet", "--loops", "2",
          "--zero=0"});
  int argc = a.argc();
  char** argv = a.argv();
  std::size_t size = 0, zero = 7;
  std::string mode;
  bool quiet = false;
  weft::take_own_flags(argc, argv, [&](weft::OwnFlag& f) {
    if (f.name() == "--size") {
      size = f.count();
    } else if (f.name() == "--mode") {
      mode = f.value();
    } else if (f.name() == "--quiet") {
      f.no_value();
      quiet = true;
    } else if (f.name() == "--zero") {
      zero = f.count(/*zero_ok=*/true);
    } else {
      return false;
    }
    return true;
  });
  EXPECT_EQ(size, 10u);
  EXPECT_EQ(mode, "fast");
  EXPECT_TRUE(quiet);
  EXPECT_EQ(zero, 0u);
  ASSERT_EQ(argc, 5);  // prog, --listen URL, --loops 2
  const CommandLine cl = weft::parse_command_line(argc, argv, kDefaultListen);
  EXPECT_EQ(cl.config.listen, std::vector<std::string>{"tcp://127.0.0.1:1"});
  EXPECT_EQ(cl.config.ncpu, 2);
}

TEST(CommandLine, OwnFlagErrorsNameTheFlag) {
  auto error_for = [](std::initializer_list<std::string> args) {
    return error_of([&] {
      Argv a(args);
      int argc = a.argc();
      weft::take_own_flags(argc, a.argv(), [](weft::OwnFlag& f) {
        if (f.name() == "--n") {
          (void)f.count();
        } else if (f.name() == "--on") {
          f.no_value();
        } else {
          return false;
        }
        return true;
      });
    });
  };
  EXPECT_EQ(error_for({"--n"}), "--n: needs a value");
  EXPECT_EQ(error_for({"--n", "--on"}), "--n: needs a value");
  EXPECT_EQ(error_for({"--n", "0"}), "--n: expected a positive number, got \"0\"");
  EXPECT_EQ(error_for({"--n=3x"}), "--n: expected a positive number, got \"3x\"");
  EXPECT_EQ(error_for({"--on=1"}), "--on: takes no value");
  EXPECT_EQ(error_for({"--other", "--n", "4"}), "<no error>");
}

TEST(CommandLine, BadDefaultListenIsRejected) {
  Argv a({});
  EXPECT_THROW(weft::parse_command_line(a.argc(), a.argv(), "nope"), ConfigError);
}

TEST(CommandLineDeathTest, PrintConfigPrintsAndExits) {
  const std::string out = testing::TempDir() + "weft_print_config_" + std::to_string(getpid());
  EXPECT_EXIT(
      {
        if (std::freopen(out.c_str(), "w", stdout) == nullptr) std::_Exit(3);
        (void)parse_args({"--print-config", "--loops", "5", "--listen", "tcp://:8"});
        std::_Exit(2);  // not reached: --print-config exits
      },
      testing::ExitedWithCode(0), "");
  std::ifstream in(out);
  const std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  std::remove(out.c_str());
  Config want;
  want.listen = {"tcp://:8"};
  want.ncpu = 5;
  EXPECT_EQ(text, weft::to_json(want));
}

}  // namespace

TEST(ParseConfig, IoBackend) {
  EXPECT_EQ(weft::parse_config("{}").io_backend, weft::IoBackend::automatic);
  EXPECT_EQ(weft::parse_config(R"({"ioBackend": "epoll"})").io_backend, weft::IoBackend::epoll);
  EXPECT_EQ(weft::parse_config(R"({"ioBackend": "io_uring"})").io_backend,
            weft::IoBackend::io_uring);
  EXPECT_EQ(weft::parse_config(R"({"ioBackend": "auto"})").io_backend, weft::IoBackend::automatic);
  EXPECT_EQ(
      parse_error(R"({"ioBackend": "kqueue"})"),
      "config field \"ioBackend\": must be \"epoll\", \"io_uring\" or \"auto\", got \"kqueue\"");
}

TEST(ParseConfig, HttpLimits) {
  const Config d = weft::parse_config("{}");
  EXPECT_EQ(d.http.max_body, 1024u * 1024u);
  EXPECT_EQ(d.http.header_timeout_ms, 10000);
  const Config c = weft::parse_config(R"({"httpMaxRequestLine": 1024, "httpMaxHeadBytes": 4096,
      "httpMaxHeaders": 20, "httpMaxBody": 5000000, "httpHeaderTimeout": 0,
      "httpServerName": ""})");
  EXPECT_EQ(c.http.max_request_line, 1024u);
  EXPECT_EQ(c.http.max_head_bytes, 4096u);
  EXPECT_EQ(c.http.max_headers, 20u);
  EXPECT_EQ(c.http.max_body, 5000000u);
  EXPECT_EQ(c.http.header_timeout_ms, 0);
  EXPECT_EQ(c.http.server_name, "");
  EXPECT_EQ(parse_error(R"({"httpMaxHeaders": 0})"),
            "config field \"httpMaxHeaders\": must be between 1 and 10000, got 0");
  EXPECT_EQ(parse_error(R"({"httpMaxRequestLine": 9000, "httpMaxHeadBytes": 4096})"),
            "config field \"httpMaxRequestLine\": must not exceed httpMaxHeadBytes");
  EXPECT_EQ(parse_error(R"({"httpServerName": "a\r\nX: y"})"),
            "config field \"httpServerName\": must not contain CR, LF or NUL");
  // Round trip through to_json.
  EXPECT_EQ(weft::parse_config(weft::to_json(c)).http.max_body, 5000000u);
}
