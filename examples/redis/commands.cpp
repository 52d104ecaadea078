// commands.cpp — the commands this server knows, with Redis' arity rules,
// option parsing and error texts (t_string.c, db.c, server.c, config.c).
#include "commands.hpp"

#include <algorithm>
#include <charconv>
#include <climits>
#include <mutex>

#include "integer.hpp"
#include "reply.hpp"

namespace redis {
namespace {

using Args = std::span<const std::string_view>;

constexpr std::string_view kSyntaxError = "ERR syntax error";
constexpr std::string_view kNotInteger = "ERR value is not an integer or out of range";

struct Ctx {
  Store& store;
  Args argv;
  Millis now;
  Reply reply;
};

using Fn = After (*)(Ctx&);

/// A command or subcommand. arity as in Redis: n > 0 exactly n arguments
/// (the name included), n < 0 at least -n.
struct Spec {
  std::string_view name;  // lower case
  int arity;
  Fn fn;
  std::span<const Spec> subcommands = {};
};

char lower(char c) noexcept {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c;
}
char upper(char c) noexcept {
  return c >= 'a' && c <= 'z' ? static_cast<char>(c - 32) : c;
}

bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (lower(a[i]) != lower(b[i])) return false;
  return true;
}

const Spec* find(std::span<const Spec> table, std::string_view name) noexcept {
  for (const Spec& s : table)
    if (iequals(s.name, name)) return &s;
  return nullptr;
}

// Redis formats arguments into messages with "%.Ns": C strings, so a NUL
// ends them, and at most N bytes.
std::string_view c_str(std::string_view s, std::size_t max) noexcept {
  return s.substr(0, std::min(s.find('\0'), max));
}

// Appends "-<msg>\r\n" where msg was built piecewise from `start`; like
// Redis, turns CR/LF inside it into spaces so the reply stays one line.
void end_error(std::string& out, std::size_t start) {
  std::replace_if(
      out.begin() + static_cast<std::ptrdiff_t>(start), out.end(),
      [](char c) { return c == '\r' || c == '\n'; }, ' ');
  out.append("\r\n");
}

void unknown_command(Reply& r, Args argv) {
  std::string& out = r.raw();
  const std::size_t start = out.size();
  out.append("-ERR unknown command '").append(c_str(argv[0], 128));
  out.append("', with args beginning with: ");
  std::size_t listed = 0;  // Redis stops listing after 128 bytes
  for (std::size_t i = 1; i < argv.size() && listed < 128; ++i) {
    const std::string_view a = c_str(argv[i], 128 - listed);
    out.append("'").append(a).append("' ");
    listed += a.size() + 3;
  }
  end_error(out, start);
}

void unknown_subcommand(Reply& r, Args argv) {
  std::string& out = r.raw();
  const std::size_t start = out.size();
  out.append("-ERR unknown subcommand '").append(c_str(argv[1], 128)).append("'. Try ");
  for (char c : c_str(argv[0], std::string_view::npos))
    out.push_back(upper(c));
  out.append(" HELP.");
  end_error(out, start);
}

void wrong_arity(Reply& r, std::string_view parent, std::string_view name) {
  std::string& out = r.raw();
  out.append("-ERR wrong number of arguments for '");
  if (!parent.empty()) out.append(parent).append("|");
  out.append(name).append("' command\r\n");
}

bool arity_ok(int arity, std::size_t argc) noexcept {
  const auto n = static_cast<std::size_t>(arity < 0 ? -arity : arity);
  return arity > 0 ? argc == n : argc >= n;
}

// ---- connection and server commands -----------------------------------------

After cmd_ping(Ctx& c) {
  if (c.argv.size() > 2) {
    wrong_arity(c.reply, {}, "ping");
  } else if (c.argv.size() == 2) {
    c.reply.bulk(c.argv[1]);
  } else {
    c.reply.status("PONG");
  }
  return After::keep_open;
}

After cmd_echo(Ctx& c) {
  c.reply.bulk(c.argv[1]);
  return After::keep_open;
}

After cmd_quit(Ctx& c) {
  c.reply.status("OK");
  return After::close;
}

After cmd_select(Ctx& c) {
  long long db = 0;
  if (!parse_integer(c.argv[1], db) || db < INT_MIN || db > INT_MAX) {
    c.reply.error(kNotInteger);
  } else if (db != 0) {
    c.reply.error("ERR DB index is out of range");  // one database only
  } else {
    c.reply.status("OK");
  }
  return After::keep_open;
}

After cmd_flush(Ctx& c) {
  // FLUSHALL/FLUSHDB [SYNC|ASYNC]: both are immediate here.
  if (c.argv.size() > 2 ||
      (c.argv.size() == 2 && !iequals(c.argv[1], "sync") && !iequals(c.argv[1], "async"))) {
    c.reply.error(kSyntaxError);
    return After::keep_open;
  }
  c.store.clear();
  c.reply.status("OK");
  return After::keep_open;
}

After cmd_dbsize(Ctx& c) {
  c.reply.integer(static_cast<long long>(c.store.size()));
  return After::keep_open;
}

// ---- string commands --------------------------------------------------------

After cmd_get(Ctx& c) {
  Store::Shard& sh = c.store.shard(c.argv[1]);
  std::lock_guard lock(sh.mu);
  if (const auto* item = sh.keys.find(c.argv[1], c.now)) {
    c.reply.bulk(item->second.value);
  } else {
    c.reply.null();
  }
  return After::keep_open;
}

// SET key value [NX|XX] [GET] [EX s|PX ms|KEEPTTL], with Redis' rules for
// which options exclude which (parseExtendedStringArgumentsOrReply).
After cmd_set(Ctx& c) {
  enum : unsigned { kNx = 1, kXx = 2, kGet = 4, kKeepTtl = 8, kEx = 16, kPx = 32 };
  unsigned flags = 0;
  std::string_view expire;
  for (std::size_t j = 3; j < c.argv.size(); ++j) {
    const std::string_view opt = c.argv[j];
    const bool has_next = j + 1 < c.argv.size();
    if (iequals(opt, "nx") && !(flags & kXx)) {
      flags |= kNx;
    } else if (iequals(opt, "xx") && !(flags & kNx)) {
      flags |= kXx;
    } else if (iequals(opt, "get")) {
      flags |= kGet;
    } else if (iequals(opt, "keepttl") && !(flags & (kEx | kPx))) {
      flags |= kKeepTtl;
    } else if (iequals(opt, "ex") && !(flags & (kKeepTtl | kPx)) && has_next) {
      flags |= kEx;
      expire = c.argv[++j];
    } else if (iequals(opt, "px") && !(flags & (kKeepTtl | kEx)) && has_next) {
      flags |= kPx;
      expire = c.argv[++j];
    } else {
      c.reply.error(kSyntaxError);
      return After::keep_open;
    }
  }

  Millis expire_at = 0;
  if (flags & (kEx | kPx)) {
    long long ms = 0;
    if (!parse_integer(expire, ms)) {
      c.reply.error(kNotInteger);
      return After::keep_open;
    }
    const bool seconds = flags & kEx;
    if (ms <= 0 || (seconds && ms > LLONG_MAX / 1000) ||
        (seconds ? ms * 1000 : ms) > LLONG_MAX - c.now) {
      c.reply.error("ERR invalid expire time in 'set' command");
      return After::keep_open;
    }
    expire_at = c.now + (seconds ? ms * 1000 : ms);
  }

  const std::string_view key = c.argv[1];
  Store::Shard& sh = c.store.shard(key);
  std::lock_guard lock(sh.mu);
  Keyspace::Item* item = sh.keys.find(key, c.now);
  if (flags & kGet) {  // the old value is the reply, whether or not we set
    if (item) {
      c.reply.bulk(item->second.value);
    } else {
      c.reply.null();
    }
  }
  if (((flags & kNx) && item) || ((flags & kXx) && !item)) {
    if (!(flags & kGet)) c.reply.null();
    return After::keep_open;
  }
  bool created = false;
  if (!item) item = &sh.keys.upsert(key, c.now, created);
  item->second.value.assign(c.argv[2]);  // reuses the old value's capacity
  if (expire_at != 0 || !(flags & kKeepTtl)) sh.keys.set_expire(*item, expire_at);
  if (!(flags & kGet)) c.reply.status("OK");
  return After::keep_open;
}

After incr_by(Ctx& c, long long delta) {
  const std::string_view key = c.argv[1];
  Store::Shard& sh = c.store.shard(key);
  std::lock_guard lock(sh.mu);
  Keyspace::Item* item = sh.keys.find(key, c.now);
  long long v = 0;
  if (item && !parse_integer(item->second.value, v)) {
    c.reply.error(kNotInteger);
    return After::keep_open;
  }
  if ((delta < 0 && v < 0 && delta < LLONG_MIN - v) ||
      (delta > 0 && v > 0 && delta > LLONG_MAX - v)) {
    c.reply.error("ERR increment or decrement would overflow");
    return After::keep_open;
  }
  v += delta;
  bool created = false;
  if (!item) item = &sh.keys.upsert(key, c.now, created);
  char buf[24];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  item->second.value.assign(buf, r.ptr);  // the TTL stays, as in Redis
  c.reply.integer(v);
  return After::keep_open;
}

After cmd_incr(Ctx& c) {
  return incr_by(c, 1);
}
After cmd_decr(Ctx& c) {
  return incr_by(c, -1);
}

After cmd_incrby(Ctx& c) {
  long long delta = 0;
  if (!parse_integer(c.argv[2], delta)) {
    c.reply.error(kNotInteger);
    return After::keep_open;
  }
  return incr_by(c, delta);
}

After cmd_decrby(Ctx& c) {
  long long delta = 0;
  if (!parse_integer(c.argv[2], delta)) {
    c.reply.error(kNotInteger);
  } else if (delta == LLONG_MIN) {
    c.reply.error("ERR decrement would overflow");  // -LLONG_MIN does not exist
  } else {
    return incr_by(c, -delta);
  }
  return After::keep_open;
}

After cmd_mget(Ctx& c) {
  const Args keys = c.argv.subspan(1);
  Store::MultiLock lock(c.store, keys);
  c.reply.array(keys.size());
  for (const std::string_view key : keys) {
    if (const auto* item = c.store.shard(key).keys.find(key, c.now)) {
      c.reply.bulk(item->second.value);
    } else {
      c.reply.null();
    }
  }
  return After::keep_open;
}

After cmd_mset(Ctx& c) {
  if (c.argv.size() % 2 == 0) {
    wrong_arity(c.reply, {}, "mset");
    return After::keep_open;
  }
  const Args pairs = c.argv.subspan(1);
  Store::MultiLock lock(c.store, pairs, 2);
  for (std::size_t i = 0; i < pairs.size(); i += 2) {
    Keyspace& keys = c.store.shard(pairs[i]).keys;
    bool created = false;
    Keyspace::Item& item = keys.upsert(pairs[i], c.now, created);
    item.second.value.assign(pairs[i + 1]);
    keys.set_expire(item, 0);
  }
  c.reply.status("OK");
  return After::keep_open;
}

After cmd_del(Ctx& c) {
  const Args keys = c.argv.subspan(1);
  Store::MultiLock lock(c.store, keys);
  long long n = 0;
  for (const std::string_view key : keys)
    n += c.store.shard(key).keys.erase(key, c.now);
  c.reply.integer(n);
  return After::keep_open;
}

After cmd_exists(Ctx& c) {
  const Args keys = c.argv.subspan(1);
  Store::MultiLock lock(c.store, keys);
  long long n = 0;  // a key named twice counts twice, as in Redis
  for (const std::string_view key : keys)
    n += c.store.shard(key).keys.find(key, c.now) != nullptr;
  c.reply.integer(n);
  return After::keep_open;
}

After ttl(Ctx& c, bool in_ms) {
  Store::Shard& sh = c.store.shard(c.argv[1]);
  std::lock_guard lock(sh.mu);
  const auto* item = sh.keys.find(c.argv[1], c.now);
  if (!item) {
    c.reply.integer(-2);
  } else if (item->second.expire_at == 0) {
    c.reply.integer(-1);
  } else {
    const Millis left = std::max<Millis>(0, item->second.expire_at - c.now);
    c.reply.integer(in_ms ? left : (left + 500) / 1000);  // Redis rounds to the nearest second
  }
  return After::keep_open;
}

After cmd_ttl(Ctx& c) {
  return ttl(c, false);
}
After cmd_pttl(Ctx& c) {
  return ttl(c, true);
}

// ---- introspection: what redis-cli and redis-benchmark ask on connect -------

// The settings CONFIG GET reports: enough for redis-benchmark, which reads
// "save" and "appendonly" before it starts.
struct Setting {
  std::string_view name, value;
};
constexpr Setting kSettings[] = {
    {"save", ""}, {"appendonly", "no"}, {"databases", "1"}, {"maxmemory", "0"}};

// Redis' glob subset for CONFIG GET: '*', '?' and '\' escapes, no case.
bool glob_match(std::string_view pat, std::string_view s) noexcept {
  while (!pat.empty()) {
    if (pat[0] == '*') {
      while (!pat.empty() && pat[0] == '*')
        pat.remove_prefix(1);
      if (pat.empty()) return true;
      for (std::size_t i = 0; i <= s.size(); ++i)
        if (glob_match(pat, s.substr(i))) return true;
      return false;
    }
    if (s.empty()) return false;
    if (pat[0] == '\\' && pat.size() > 1) pat.remove_prefix(1);
    if (pat[0] != '?' && lower(pat[0]) != lower(s[0])) return false;
    pat.remove_prefix(1);
    s.remove_prefix(1);
  }
  return s.empty();
}

After cmd_config_get(Ctx& c) {
  bool hit[std::size(kSettings)] = {};
  std::size_t n = 0;
  for (const std::string_view pattern : c.argv.subspan(2))
    for (std::size_t i = 0; i < std::size(kSettings); ++i)
      if (!hit[i] && glob_match(pattern, kSettings[i].name)) {
        hit[i] = true;
        ++n;
      }
  c.reply.array(2 * n);
  for (std::size_t i = 0; i < std::size(kSettings); ++i) {
    if (!hit[i]) continue;
    c.reply.bulk(kSettings[i].name);
    c.reply.bulk(kSettings[i].value);
  }
  return After::keep_open;
}

std::span<const Spec> all_commands() noexcept;  // the table, defined below

After cmd_command(Ctx& c) {
  c.reply.array(0);  // COMMAND, COMMAND DOCS: we publish no command metadata
  return After::keep_open;
}

After cmd_command_count(Ctx& c) {
  c.reply.integer(static_cast<long long>(all_commands().size()));
  return After::keep_open;
}

After cmd_command_info(Ctx& c) {
  const Args names = c.argv.subspan(2);
  c.reply.array(names.size());
  for (std::size_t i = 0; i < names.size(); ++i)
    c.reply.null();
  return After::keep_open;
}

After cmd_command_list(Ctx& c) {
  c.reply.array(all_commands().size());
  for (const Spec& s : all_commands())
    c.reply.bulk(s.name);
  return After::keep_open;
}

constexpr Spec kConfigSubcommands[] = {{"get", -3, cmd_config_get}};
constexpr Spec kCommandSubcommands[] = {{"count", 2, cmd_command_count},
                                        {"docs", -2, cmd_command},
                                        {"info", -2, cmd_command_info},
                                        {"list", -2, cmd_command_list}};

// Ordered by how often benchmarks and caches send them: lookup is linear.
constexpr Spec kCommandTable[] = {
    {"get", 2, cmd_get},
    {"set", -3, cmd_set},
    {"ping", -1, cmd_ping},
    {"incr", 2, cmd_incr},
    {"mget", -2, cmd_mget},
    {"mset", -3, cmd_mset},
    {"del", -2, cmd_del},
    {"exists", -2, cmd_exists},
    {"decr", 2, cmd_decr},
    {"incrby", 3, cmd_incrby},
    {"decrby", 3, cmd_decrby},
    {"ttl", 2, cmd_ttl},
    {"pttl", 2, cmd_pttl},
    {"echo", 2, cmd_echo},
    {"select", 2, cmd_select},
    {"dbsize", 1, cmd_dbsize},
    {"flushall", -1, cmd_flush},
    {"flushdb", -1, cmd_flush},
    {"quit", -1, cmd_quit},
    {"command", -1, cmd_command, kCommandSubcommands},
    {"config", -2, nullptr, kConfigSubcommands},
};

std::span<const Spec> all_commands() noexcept {
  return kCommandTable;
}

}  // namespace

After execute(Store& store, std::span<const std::string_view> argv, Millis now, std::string& out) {
  Reply reply(out);
  if (argv.empty()) return After::keep_open;
  const Spec* cmd = find(kCommandTable, argv[0]);
  if (cmd == nullptr) {
    unknown_command(reply, argv);
    return After::keep_open;
  }
  std::string_view parent;
  if (!cmd->subcommands.empty() && argv.size() >= 2) {
    const Spec* sub = find(cmd->subcommands, argv[1]);
    if (sub == nullptr) {
      unknown_subcommand(reply, argv);
      return After::keep_open;
    }
    parent = cmd->name;
    cmd = sub;
  }
  if (!arity_ok(cmd->arity, argv.size())) {
    wrong_arity(reply, parent, cmd->name);
    return After::keep_open;
  }
  Ctx ctx{store, argv, now, reply};
  return cmd->fn(ctx);
}

}  // namespace redis
