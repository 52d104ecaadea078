// resp_test.cpp — the redis example's parser, commands and store, without
// sockets: framing under every split, Redis' error texts, expiry.
#include <gtest/gtest.h>

#include <climits>
#include <initializer_list>
#include <map>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "commands.hpp"
#include "integer.hpp"
#include "resp_parser.hpp"
#include "store.hpp"

namespace {

using redis::ParseStatus;
using redis::RespParser;
using Command = std::vector<std::string>;

std::vector<Command> parse_whole(std::string_view in, std::size_t* consumed = nullptr,
                                 std::string* error = nullptr) {
  RespParser p;
  std::vector<Command> cmds;
  const auto b = p.parse_all(in, [&](std::span<const std::string_view> argv) {
    cmds.emplace_back(argv.begin(), argv.end());
    return true;
  });
  if (consumed) *consumed = b.consumed;
  if (error) *error = b.error ? std::string(p.error()) : std::string();
  return cmds;
}

// Feeds `in` the way weft does: each call sees what was not consumed
// before plus the next piece, cut at the given offsets. `keep` decides
// whether the parser survives between calls (resumed) or starts afresh.
std::vector<Command> parse_in_pieces(std::string_view in, const std::vector<std::size_t>& cuts,
                                     bool keep) {
  RespParser p;
  std::vector<Command> cmds;
  std::string held;
  std::size_t from = 0;
  auto feed = [&](std::size_t to) {
    held.append(in.substr(from, to - from));
    from = to;
    if (!keep) p = RespParser();
    const auto b = p.parse_all(held, [&](std::span<const std::string_view> argv) {
      cmds.emplace_back(argv.begin(), argv.end());
      return true;
    });
    EXPECT_FALSE(b.error) << p.error();
    held.erase(0, b.consumed);
  };
  for (std::size_t cut : cuts)
    feed(cut);
  feed(in.size());
  EXPECT_TRUE(held.empty()) << "left over: " << held;
  return cmds;
}

std::string parse_error(std::string_view in) {
  std::string err;
  parse_whole(in, nullptr, &err);
  return err;
}

// ---- integers ---------------------------------------------------------------

TEST(RespInteger, StrictLikeRedis) {
  long long v = 0;
  EXPECT_TRUE(redis::parse_integer("0", v) && v == 0);
  EXPECT_TRUE(redis::parse_integer("-12", v) && v == -12);
  EXPECT_TRUE(redis::parse_integer("9223372036854775807", v) && v == LLONG_MAX);
  EXPECT_TRUE(redis::parse_integer("-9223372036854775808", v) && v == LLONG_MIN);
  for (const char* bad : {"", "-", "+1", "01", "-0", " 1", "1 ", "1a", "9223372036854775808",
                          "-9223372036854775809", "99999999999999999999", "1.5"})
    EXPECT_FALSE(redis::parse_integer(bad, v)) << bad;
}

// ---- parser -----------------------------------------------------------------

TEST(RespParser, Multibulk) {
  const std::string in = "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nva\r\nl\r\n";
  RespParser p;
  ASSERT_EQ(p.parse(in), ParseStatus::command);
  EXPECT_EQ(p.used(), in.size());
  ASSERT_EQ(p.args().size(), 3u);
  EXPECT_EQ(p.args()[0], "SET");
  EXPECT_EQ(p.args()[2], "va\r\nl");  // binary safe
  // Zero-copy: the arguments point into the input.
  EXPECT_EQ(p.args()[1].data(), in.data() + 17);
}

TEST(RespParser, EmptyBulkAndBinary) {
  const std::string in("*2\r\n$0\r\n\r\n$3\r\na\0b\r\n", 19);
  auto cmds = parse_whole(in);
  ASSERT_EQ(cmds.size(), 1u);
  EXPECT_EQ(cmds[0], (Command{"", std::string("a\0b", 3)}));
}

TEST(RespParser, Inline) {
  EXPECT_EQ(parse_whole("PING\r\n"), std::vector<Command>{{"PING"}});
  EXPECT_EQ(parse_whole("PING\n"), std::vector<Command>{{"PING"}});
  EXPECT_EQ(parse_whole("  SET \t k   v  \r\n"), (std::vector<Command>{{"SET", "k", "v"}}));
  // Unquoted arguments are views into the input.
  const std::string in = "GET key\r\n";
  RespParser p;
  ASSERT_EQ(p.parse(in), ParseStatus::command);
  EXPECT_EQ(p.args()[1].data(), in.data() + 4);
}

TEST(RespParser, InlineQuotesLikeSdssplitargs) {
  EXPECT_EQ(parse_whole("SET \"a b\" 'c\\'d'\r\n"), (std::vector<Command>{{"SET", "a b", "c'd"}}));
  EXPECT_EQ(parse_whole("ECHO \"\\x41\\n\\t\\\"\\q\"\r\n"),
            (std::vector<Command>{{"ECHO", "A\n\t\"q"}}));
  EXPECT_EQ(parse_whole("ECHO ab\"c d\" ''\r\n"), (std::vector<Command>{{"ECHO", "abc d", ""}}));
  // Single quotes take no escapes but \'.
  EXPECT_EQ(parse_whole("ECHO '\\n'\r\n"), (std::vector<Command>{{"ECHO", "\\n"}}));
  // A NUL ends the line, as for a C string.
  EXPECT_EQ(parse_whole(std::string("ECHO a\0 b\r\n", 11)), (std::vector<Command>{{"ECHO", "a"}}));
  for (const char* bad : {"SET \"a\r\n", "SET 'a\r\n", "SET \"a\"b\r\n", "SET 'a'b\r\n"})
    EXPECT_EQ(parse_error(bad), "Protocol error: unbalanced quotes in request") << bad;
}

TEST(RespParser, EmptyCommandsAreSkipped) {
  std::size_t consumed = 0;
  const std::string in = "\r\n\n   \r\n*0\r\n*-1\r\nPING\r\n";
  EXPECT_EQ(parse_whole(in, &consumed), std::vector<Command>{{"PING"}});
  EXPECT_EQ(consumed, in.size());
}

TEST(RespParser, IncompleteConsumesNothing) {
  const std::string full = "*2\r\n$3\r\nGET\r\n$3\r\nkey\r\n";
  for (std::size_t n = 0; n < full.size(); ++n) {
    RespParser p;
    EXPECT_EQ(p.parse(full.substr(0, n)), ParseStatus::incomplete) << n;
  }
  for (std::string_view part : {"PING", "GET k\r", "SET \"a b"}) {
    RespParser p;
    EXPECT_EQ(p.parse(part), ParseStatus::incomplete) << part;
  }
}

const std::string kPipeline =
    "*1\r\n$4\r\nPING\r\n"
    "SET a 1\r\n"
    "*3\r\n$3\r\nSET\r\n$1\r\nb\r\n$10\r\n0123456789\r\n"
    "\r\n"
    "*2\r\n$3\r\nGET\r\n$1\r\nb\r\n"
    "ECHO \"x y\"\n"
    "*0\r\n"
    "*3\r\n$4\r\nMGET\r\n$0\r\n\r\n$2\r\n\r\n\r\n";
const std::vector<Command> kPipelineCommands = {
    {"PING"},     {"SET", "a", "1"}, {"SET", "b", "0123456789"},
    {"GET", "b"}, {"ECHO", "x y"},   {"MGET", "", "\r\n"}};

TEST(RespParser, Pipelined) {
  std::size_t consumed = 0;
  EXPECT_EQ(parse_whole(kPipeline, &consumed), kPipelineCommands);
  EXPECT_EQ(consumed, kPipeline.size());
  // A trailing partial command is left for later.
  const std::string more = kPipeline + "*2\r\n$3\r\nGET";
  EXPECT_EQ(parse_whole(more, &consumed), kPipelineCommands);
  EXPECT_EQ(consumed, kPipeline.size());
}

TEST(RespParser, SplitAtEveryBytePosition) {
  for (bool keep : {false, true}) {
    for (std::size_t cut = 0; cut <= kPipeline.size(); ++cut)
      ASSERT_EQ(parse_in_pieces(kPipeline, {cut}, keep), kPipelineCommands)
          << "cut at " << cut << " keep=" << keep;
    for (std::size_t a = 0; a <= kPipeline.size(); a += 3)
      for (std::size_t b = a; b <= kPipeline.size(); b += 5)
        ASSERT_EQ(parse_in_pieces(kPipeline, {a, b}, keep), kPipelineCommands)
            << "cuts " << a << "," << b << " keep=" << keep;
  }
}

TEST(RespParser, OneByteAtATime) {
  std::vector<std::size_t> cuts;
  for (std::size_t i = 1; i < kPipeline.size(); ++i)
    cuts.push_back(i);
  EXPECT_EQ(parse_in_pieces(kPipeline, cuts, true), kPipelineCommands);
  EXPECT_EQ(parse_in_pieces(kPipeline, cuts, false), kPipelineCommands);
}

TEST(RespParser, ResumesLongCommands) {
  // 20000 arguments in 1000-byte pieces: with the parser kept, arguments
  // already read are not parsed again (progress grows past them).
  std::string in = "*20001\r\n$4\r\nMSET\r\n";
  Command expected = {"MSET"};
  for (int i = 0; i < 20000; ++i) {
    const std::string arg = "k" + std::to_string(i);
    in += "$" + std::to_string(arg.size()) + "\r\n" + arg + "\r\n";
    expected.push_back(arg);
  }
  std::vector<std::size_t> cuts;
  for (std::size_t i = 1000; i < in.size(); i += 1000)
    cuts.push_back(i);
  EXPECT_EQ(parse_in_pieces(in, cuts, true), std::vector<Command>{expected});

  RespParser p;
  EXPECT_EQ(p.parse(std::string_view(in).substr(0, in.size() / 2)), ParseStatus::incomplete);
  EXPECT_GT(p.progress(), in.size() / 2 - 32);
  ASSERT_EQ(p.parse(in), ParseStatus::command);
  EXPECT_EQ(p.args().size(), 20001u);
  EXPECT_EQ(p.progress(), 0u);
}

TEST(RespParser, LargeBulkInPieces) {
  const std::string value(300000, 'v');
  const std::string in = "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$300000\r\n" + value + "\r\n";
  std::vector<std::size_t> cuts;
  for (std::size_t i = 7; i < in.size(); i += 65536)
    cuts.push_back(i);
  for (bool keep : {false, true})
    EXPECT_EQ(parse_in_pieces(in, cuts, keep), (std::vector<Command>{{"SET", "k", value}}));
}

TEST(RespParser, MalformedWithRedisMessages) {
  EXPECT_EQ(parse_error("*abc\r\n"), "Protocol error: invalid multibulk length");
  EXPECT_EQ(parse_error("*\r\n"), "Protocol error: invalid multibulk length");
  EXPECT_EQ(parse_error("*+1\r\n"), "Protocol error: invalid multibulk length");
  EXPECT_EQ(parse_error("*1048577\r\n"), "Protocol error: invalid multibulk length");
  EXPECT_EQ(parse_error("*1\r\n$-5\r\n"), "Protocol error: invalid bulk length");
  EXPECT_EQ(parse_error("*1\r\n$abc\r\n"), "Protocol error: invalid bulk length");
  EXPECT_EQ(parse_error("*1\r\n$\r\n"), "Protocol error: invalid bulk length");
  EXPECT_EQ(parse_error("*1\r\n$536870913\r\n"), "Protocol error: invalid bulk length");
  EXPECT_EQ(parse_error("*1\r\nx\r\n"), "Protocol error: expected '$', got 'x'");
  EXPECT_EQ(parse_error("*1\r\n\r\n"), "Protocol error: expected '$', got ' '");
  EXPECT_EQ(parse_error("*1\r\n$3\r\nfooXY"), "Protocol error: expected CRLF after bulk");
  EXPECT_EQ(parse_error("*1\r\n$3\r\nfoo\rX"), "Protocol error: expected CRLF after bulk");
  EXPECT_EQ(parse_error(std::string(64 * 1024 + 1, 'a')), "Protocol error: too big inline request");
  EXPECT_EQ(parse_error("*" + std::string(64 * 1024 + 1, '1')),
            "Protocol error: too big mbulk count string");
  EXPECT_EQ(parse_error("*1\r\n$" + std::string(64 * 1024, '1')),
            "Protocol error: too big bulk count string");
}

TEST(RespParser, LimitsThemselvesAreAccepted) {
  RespParser p;
  EXPECT_EQ(p.parse("*1048576\r\n"), ParseStatus::incomplete);
  p.reset();
  EXPECT_EQ(p.parse("*1\r\n$536870912\r\n"), ParseStatus::incomplete);
  p.reset();
  EXPECT_EQ(p.parse(std::string(64 * 1024, 'a')), ParseStatus::incomplete);
}

TEST(RespParser, CommandsBeforeAnErrorStillCount) {
  std::size_t consumed = 0;
  std::string err;
  const auto cmds = parse_whole("PING\r\n*1\r\n$4\r\nPING\r\n*x\r\nPING\r\n", &consumed, &err);
  EXPECT_EQ(cmds, (std::vector<Command>{{"PING"}, {"PING"}}));
  EXPECT_EQ(consumed, 20u);
  EXPECT_EQ(err, "Protocol error: invalid multibulk length");
}

TEST(RespParser, StopsWhenAsked) {
  RespParser p;
  int seen = 0;
  const auto b = p.parse_all("QUIT\r\nPING\r\n", [&](auto) { return ++seen < 1; });
  EXPECT_EQ(seen, 1);
  EXPECT_EQ(b.consumed, 6u);
}

// ---- commands ---------------------------------------------------------------

class Commands : public ::testing::Test {
 protected:
  std::string run(std::initializer_list<std::string_view> argv, redis::Millis at = -1) {
    std::vector<std::string_view> v(argv);
    std::string out;
    last_after = redis::execute(store, v, at < 0 ? now : at, out);
    return out;
  }
  redis::Store store{1};
  redis::Millis now = 1000000;
  redis::After last_after = redis::After::keep_open;
};

TEST_F(Commands, PingEcho) {
  EXPECT_EQ(run({"PING"}), "+PONG\r\n");
  EXPECT_EQ(run({"ping", "hi"}), "$2\r\nhi\r\n");
  EXPECT_EQ(run({"PING", "a", "b"}), "-ERR wrong number of arguments for 'ping' command\r\n");
  EXPECT_EQ(run({"ECHO", ""}), "$0\r\n\r\n");
  EXPECT_EQ(run({"ECHO"}), "-ERR wrong number of arguments for 'echo' command\r\n");
}

TEST_F(Commands, SetGet) {
  EXPECT_EQ(run({"GET", "k"}), "$-1\r\n");
  EXPECT_EQ(run({"SET", "k", "hello"}), "+OK\r\n");
  EXPECT_EQ(run({"get", "k"}), "$5\r\nhello\r\n");
  EXPECT_EQ(run({"SET", "k", ""}), "+OK\r\n");
  EXPECT_EQ(run({"GET", "k"}), "$0\r\n\r\n");
  EXPECT_EQ(run({"GET"}), "-ERR wrong number of arguments for 'get' command\r\n");
  EXPECT_EQ(run({"GET", "a", "b"}), "-ERR wrong number of arguments for 'get' command\r\n");
  EXPECT_EQ(run({"SET", "k"}), "-ERR wrong number of arguments for 'set' command\r\n");
}

TEST_F(Commands, SetOptions) {
  EXPECT_EQ(run({"SET", "k", "1", "XX"}), "$-1\r\n");
  EXPECT_EQ(run({"SET", "k", "1", "NX"}), "+OK\r\n");
  EXPECT_EQ(run({"SET", "k", "2", "nx"}), "$-1\r\n");
  EXPECT_EQ(run({"SET", "k", "3", "xx"}), "+OK\r\n");
  EXPECT_EQ(run({"SET", "k", "4", "GET"}), "$1\r\n3\r\n");
  EXPECT_EQ(run({"SET", "n", "4", "GET"}), "$-1\r\n");
  EXPECT_EQ(run({"SET", "k", "5", "NX", "GET"}), "$1\r\n4\r\n");
  EXPECT_EQ(run({"GET", "k"}), "$1\r\n4\r\n");
  EXPECT_EQ(run({"SET", "k", "v", "NX", "XX"}), "-ERR syntax error\r\n");
  EXPECT_EQ(run({"SET", "k", "v", "EX"}), "-ERR syntax error\r\n");
  EXPECT_EQ(run({"SET", "k", "v", "EX", "1", "PX", "1"}), "-ERR syntax error\r\n");
  EXPECT_EQ(run({"SET", "k", "v", "EX", "1", "KEEPTTL"}), "-ERR syntax error\r\n");
  EXPECT_EQ(run({"SET", "k", "v", "FOO"}), "-ERR syntax error\r\n");
  EXPECT_EQ(run({"SET", "k", "v", "EX", "abc"}),
            "-ERR value is not an integer or out of range\r\n");
  EXPECT_EQ(run({"SET", "k", "v", "EX", "0"}), "-ERR invalid expire time in 'set' command\r\n");
  EXPECT_EQ(run({"SET", "k", "v", "PX", "-5"}), "-ERR invalid expire time in 'set' command\r\n");
  EXPECT_EQ(run({"SET", "k", "v", "EX", "9223372036854775807"}),
            "-ERR invalid expire time in 'set' command\r\n");
  EXPECT_EQ(run({"GET", "k"}), "$1\r\n4\r\n");  // failed SETs changed nothing
}

TEST_F(Commands, Expiry) {
  EXPECT_EQ(run({"SET", "k", "v", "EX", "10"}), "+OK\r\n");
  EXPECT_EQ(run({"TTL", "k"}), ":10\r\n");
  EXPECT_EQ(run({"PTTL", "k"}, now + 2500), ":7500\r\n");
  EXPECT_EQ(run({"GET", "k"}, now + 9999), "$1\r\nv\r\n");
  EXPECT_EQ(run({"GET", "k"}, now + 10000), "$-1\r\n");
  EXPECT_EQ(run({"TTL", "k"}, now + 10000), ":-2\r\n");

  EXPECT_EQ(run({"SET", "p", "v", "PX", "50"}), "+OK\r\n");
  EXPECT_EQ(run({"EXISTS", "p"}, now + 49), ":1\r\n");
  EXPECT_EQ(run({"EXISTS", "p"}, now + 50), ":0\r\n");

  // A plain SET clears the TTL; KEEPTTL keeps it; INCR keeps it.
  run({"SET", "a", "1", "EX", "5"});
  run({"SET", "a", "2"});
  EXPECT_EQ(run({"TTL", "a"}), ":-1\r\n");
  run({"SET", "a", "3", "PX", "5000"});
  run({"SET", "a", "4", "KEEPTTL"});
  EXPECT_EQ(run({"PTTL", "a"}), ":5000\r\n");
  run({"INCR", "a"});
  EXPECT_EQ(run({"PTTL", "a"}), ":5000\r\n");
  EXPECT_EQ(run({"GET", "a"}, now + 5000), "$-1\r\n");
  // SET NX treats an expired key as absent.
  run({"SET", "b", "1", "PX", "10"});
  EXPECT_EQ(run({"SET", "b", "2", "NX"}, now + 10), "+OK\r\n");
}

TEST_F(Commands, SweepDeletesUnreadExpiredKeys) {
  for (int i = 0; i < 500; ++i) {
    const std::string k = "t" + std::to_string(i), p = "p" + std::to_string(i);
    run({"SET", k, "v", "PX", "100"});
    run({"SET", p, "v"});
  }
  EXPECT_EQ(run({"DBSIZE"}), ":1000\r\n");
  store.sweep(now + 99);
  EXPECT_EQ(run({"DBSIZE"}), ":1000\r\n");
  for (int i = 0; i < 20 && store.size() > 500; ++i)
    store.sweep(now + 100);
  EXPECT_EQ(run({"DBSIZE"}), ":500\r\n");
  EXPECT_EQ(run({"GET", "p7"}), "$1\r\nv\r\n");
}

TEST_F(Commands, Counters) {
  EXPECT_EQ(run({"INCR", "c"}), ":1\r\n");
  EXPECT_EQ(run({"INCRBY", "c", "41"}), ":42\r\n");
  EXPECT_EQ(run({"DECR", "c"}), ":41\r\n");
  EXPECT_EQ(run({"DECRBY", "c", "50"}), ":-9\r\n");
  EXPECT_EQ(run({"GET", "c"}), "$2\r\n-9\r\n");
  run({"SET", "s", "abc"});
  EXPECT_EQ(run({"INCR", "s"}), "-ERR value is not an integer or out of range\r\n");
  run({"SET", "s", " 1"});
  EXPECT_EQ(run({"INCR", "s"}), "-ERR value is not an integer or out of range\r\n");
  EXPECT_EQ(run({"INCRBY", "c", "x"}), "-ERR value is not an integer or out of range\r\n");
  run({"SET", "m", "9223372036854775807"});
  EXPECT_EQ(run({"INCR", "m"}), "-ERR increment or decrement would overflow\r\n");
  run({"SET", "m", "-9223372036854775808"});
  EXPECT_EQ(run({"DECR", "m"}), "-ERR increment or decrement would overflow\r\n");
  EXPECT_EQ(run({"DECRBY", "c", "-9223372036854775808"}), "-ERR decrement would overflow\r\n");
  EXPECT_EQ(run({"INCR"}), "-ERR wrong number of arguments for 'incr' command\r\n");
}

TEST_F(Commands, MultiKey) {
  EXPECT_EQ(run({"MSET", "a", "1", "b", "22"}), "+OK\r\n");
  EXPECT_EQ(run({"MGET", "a", "x", "b"}), "*3\r\n$1\r\n1\r\n$-1\r\n$2\r\n22\r\n");
  EXPECT_EQ(run({"MSET", "a", "1", "b"}), "-ERR wrong number of arguments for 'mset' command\r\n");
  EXPECT_EQ(run({"MSET", "a"}), "-ERR wrong number of arguments for 'mset' command\r\n");
  EXPECT_EQ(run({"EXISTS", "a", "a", "x"}), ":2\r\n");
  EXPECT_EQ(run({"DEL", "a", "a", "x", "b"}), ":2\r\n");
  EXPECT_EQ(run({"EXISTS", "a", "b"}), ":0\r\n");
  EXPECT_EQ(run({"DEL"}), "-ERR wrong number of arguments for 'del' command\r\n");
}

TEST_F(Commands, Errors) {
  EXPECT_EQ(run({"FOO"}), "-ERR unknown command 'FOO', with args beginning with: \r\n");
  EXPECT_EQ(run({"foo", "a", "b c"}),
            "-ERR unknown command 'foo', with args beginning with: 'a' 'b c' \r\n");
  EXPECT_EQ(run({"fo\r\no", "x\ny"}),
            "-ERR unknown command 'fo  o', with args beginning with: 'x y' \r\n");
  const std::string long_arg(200, 'z');
  EXPECT_EQ(
      run({"foo", long_arg, "next"}),
      "-ERR unknown command 'foo', with args beginning with: '" + std::string(128, 'z') + "' \r\n");
}

TEST_F(Commands, ServerAndIntrospection) {
  EXPECT_EQ(run({"SELECT", "0"}), "+OK\r\n");
  EXPECT_EQ(run({"SELECT", "1"}), "-ERR DB index is out of range\r\n");
  EXPECT_EQ(run({"SELECT", "x"}), "-ERR value is not an integer or out of range\r\n");
  EXPECT_EQ(run({"CONFIG", "GET", "save"}), "*2\r\n$4\r\nsave\r\n$0\r\n\r\n");
  EXPECT_EQ(run({"config", "get", "appendonly"}), "*2\r\n$10\r\nappendonly\r\n$2\r\nno\r\n");
  EXPECT_EQ(run({"CONFIG", "GET", "nosuch"}), "*0\r\n");
  EXPECT_EQ(run({"CONFIG", "GET", "app*", "save", "s?ve"}),
            "*4\r\n$4\r\nsave\r\n$0\r\n\r\n$10\r\nappendonly\r\n$2\r\nno\r\n");
  EXPECT_EQ(run({"CONFIG", "GET"}), "-ERR wrong number of arguments for 'config|get' command\r\n");
  EXPECT_EQ(run({"CONFIG"}), "-ERR wrong number of arguments for 'config' command\r\n");
  EXPECT_EQ(run({"config", "bar"}), "-ERR unknown subcommand 'bar'. Try CONFIG HELP.\r\n");
  EXPECT_EQ(run({"COMMAND"}), "*0\r\n");
  EXPECT_EQ(run({"COMMAND", "DOCS"}), "*0\r\n");
  EXPECT_EQ(run({"COMMAND", "COUNT"}), ":21\r\n");
  EXPECT_EQ(run({"COMMAND", "INFO", "get", "x"}), "*2\r\n$-1\r\n$-1\r\n");
  run({"SET", "a", "1"});
  EXPECT_EQ(run({"DBSIZE"}), ":1\r\n");
  EXPECT_EQ(run({"FLUSHALL", "bogus"}), "-ERR syntax error\r\n");
  EXPECT_EQ(run({"FLUSHDB", "ASYNC"}), "+OK\r\n");
  EXPECT_EQ(run({"DBSIZE"}), ":0\r\n");
  EXPECT_EQ(run({"FLUSHALL"}), "+OK\r\n");
  EXPECT_EQ(last_after, redis::After::keep_open);
  EXPECT_EQ(run({"QUIT"}), "+OK\r\n");
  EXPECT_EQ(last_after, redis::After::close);
}

// ---- store ------------------------------------------------------------------

TEST(Store, ShardedMultiKey) {
  redis::Store store(16);
  ASSERT_EQ(store.shard_count(), 16u);
  std::vector<std::string> keys;
  for (int i = 0; i < 100; ++i)
    keys.push_back("key:" + std::to_string(i));
  std::vector<std::string_view> mset = {"MSET"}, mget = {"MGET"};
  for (const auto& k : keys)
    mset.insert(mset.end(), {k, k}), mget.push_back(k);
  std::string out;
  redis::execute(store, mset, 0, out);
  EXPECT_EQ(out, "+OK\r\n");
  out.clear();
  redis::execute(store, mget, 0, out);
  std::string want = "*100\r\n";
  for (const auto& k : keys)
    want += "$" + std::to_string(k.size()) + "\r\n" + k + "\r\n";
  EXPECT_EQ(out, want);
  EXPECT_EQ(store.size(), 100u);
}

TEST(Store, ConcurrentLoopsSeeOneKeyspace) {
  redis::Store store(redis::Store::shards_for_loops(4));
  constexpr int kThreads = 4, kRounds = 5000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&store, t] {
      std::string out;
      for (int i = 0; i < kRounds; ++i) {
        const std::string k = "c" + std::to_string(i % 7);
        const std::string mine = "t" + std::to_string(t);
        std::vector<std::string_view> incr = {"INCR", k};
        std::vector<std::string_view> mset = {"MSET", mine, k, k, "x"};
        std::vector<std::string_view> mget = {"MGET", "c0", "c1", mine};
        redis::execute(store, incr, 0, out);
        redis::execute(store, mset, 0, out);  // clobbers a counter: harmless to the sum below
        redis::execute(store, mget, 0, out);
        out.clear();
      }
    });
  }
  for (auto& th : threads)
    th.join();
  EXPECT_EQ(store.size(), 7u + kThreads);
}

TEST(Store, RandomOpsMatchAModel) {
  // Exercises the TTL list (swap-removal) against a plain map.
  redis::Store store(4);
  struct Model {
    std::string value;
    redis::Millis expire_at;
  };
  std::map<std::string, Model> model;
  std::mt19937 rng(7);
  redis::Millis now = 1000;
  std::string out;
  for (int step = 0; step < 20000; ++step) {
    now += rng() % 3;
    const std::string key = "k" + std::to_string(rng() % 40);
    const std::string val = std::to_string(rng() % 1000);
    const std::string ttl = std::to_string(1 + rng() % 50);
    std::vector<std::string_view> argv;
    switch (rng() % 5) {
      case 0:
        argv = {"SET", key, val};
        model[key] = {val, 0};
        break;
      case 1:
        argv = {"SET", key, val, "PX", ttl};
        model[key] = {val, now + std::stoll(ttl)};
        break;
      case 2:
        argv = {"DEL", key};
        model.erase(key);
        break;
      case 3:
        store.sweep(now);
        continue;
      default:
        argv = {"GET", key};
        break;
    }
    out.clear();
    redis::execute(store, argv, now, out);
    if (argv[0] == "GET") {
      auto it = model.find(key);
      const bool live =
          it != model.end() && (it->second.expire_at == 0 || it->second.expire_at > now);
      ASSERT_EQ(out, live ? "$" + std::to_string(it->second.value.size()) + "\r\n" +
                                it->second.value + "\r\n"
                          : std::string("$-1\r\n"))
          << "step " << step;
    }
  }
}

}  // namespace
