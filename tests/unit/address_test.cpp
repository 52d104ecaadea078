// ListenUrl::parse and SockAddr formatting.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/un.h>

#include <cstddef>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "weft/address.hpp"
#include "weft/error.hpp"

namespace {

using weft::ConfigError;
using weft::ListenUrl;
using weft::SockAddr;
using weft::Transport;

// The message of the ConfigError parse() (or `parse`) throws, or "" if it
// does not throw.
std::string parse_error(const std::string& url,
                        ListenUrl (*parse)(std::string_view) = &ListenUrl::parse) {
  try {
    (void)parse(url);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

#define EXPECT_URL_ERROR(url, fragment)                                                \
  do {                                                                                 \
    const std::string msg_ = parse_error(url);                                         \
    EXPECT_NE(msg_.find(fragment), std::string::npos) << "url: " << (url) << "\n"      \
                                                      << "message: " << msg_;          \
    EXPECT_EQ(msg_.rfind("listen URL \"" + std::string(url) + "\": ", 0), 0u) << msg_; \
  } while (0)

TEST(ListenUrl, TcpIpv4Literal) {
  const auto u = ListenUrl::parse("tcp://127.0.0.1:5000");
  EXPECT_EQ(u.transport, Transport::tcp);
  EXPECT_EQ(u.family, AF_INET);
  EXPECT_EQ(u.host, "127.0.0.1");
  EXPECT_EQ(u.port, 5000);
  EXPECT_TRUE(u.path.empty());
  EXPECT_FALSE(u.v6only);
  EXPECT_TRUE(u.reuseport);
  EXPECT_EQ(u.backlog, 1024);
  EXPECT_EQ(u.text, "tcp://127.0.0.1:5000");
}

TEST(ListenUrl, EmptyHostPicksFamilyFromScheme) {
  const auto any = ListenUrl::parse("tcp://:5000");
  EXPECT_EQ(any.family, AF_INET6);  // dual-stack [::]
  EXPECT_FALSE(any.v6only);
  EXPECT_TRUE(any.host.empty());

  const auto v4 = ListenUrl::parse("tcp4://:5000");
  EXPECT_EQ(v4.family, AF_INET);
  EXPECT_FALSE(v4.v6only);

  const auto v6 = ListenUrl::parse("tcp6://:5000");
  EXPECT_EQ(v6.family, AF_INET6);
  EXPECT_TRUE(v6.v6only);
}

TEST(ListenUrl, Ipv6Literal) {
  const auto u = ListenUrl::parse("tcp6://[::1]:0");
  EXPECT_EQ(u.family, AF_INET6);
  EXPECT_EQ(u.host, "::1");
  EXPECT_EQ(u.port, 0);
  EXPECT_TRUE(u.v6only);

  const auto dual = ListenUrl::parse("tcp://[::]:80");
  EXPECT_EQ(dual.family, AF_INET6);
  EXPECT_EQ(dual.host, "::");
  EXPECT_FALSE(dual.v6only);

  EXPECT_EQ(ListenUrl::parse("tcp://[fe80::1:2]:1").host, "fe80::1:2");
  EXPECT_EQ(ListenUrl::parse("tcp://[::ffff:1.2.3.4]:1").host, "::ffff:1.2.3.4");
}

TEST(ListenUrl, FamilyFollowsTheLiteral) {
  EXPECT_EQ(ListenUrl::parse("tcp://10.0.0.1:1").family, AF_INET);
  EXPECT_EQ(ListenUrl::parse("tcp://[::1]:1").family, AF_INET6);
  EXPECT_EQ(ListenUrl::parse("tcp4://0.0.0.0:1").family, AF_INET);
  EXPECT_EQ(ListenUrl::parse("udp6://[::1]:1").family, AF_INET6);
}

TEST(ListenUrl, Localhost) {
  const auto u = ListenUrl::parse("tcp://localhost:8080");
  EXPECT_EQ(u.family, AF_INET);
  EXPECT_EQ(u.host, "127.0.0.1");
  EXPECT_EQ(ListenUrl::parse("tcp4://LocalHost:1").host, "127.0.0.1");
  const auto v6 = ListenUrl::parse("tcp6://localhost:1");
  EXPECT_EQ(v6.family, AF_INET6);
  EXPECT_EQ(v6.host, "::1");
}

TEST(ListenUrl, PortBounds) {
  EXPECT_EQ(ListenUrl::parse("tcp://:0").port, 0);
  EXPECT_EQ(ListenUrl::parse("tcp://:65535").port, 65535);
  EXPECT_EQ(ListenUrl::parse("tcp://:00080").port, 80);
}

TEST(ListenUrl, Udp) {
  for (const char* s : {"udp://:9000", "udp4://:9000", "udp6://:9000"}) {
    const auto u = ListenUrl::parse(s);
    EXPECT_EQ(u.transport, Transport::udp) << s;
    EXPECT_EQ(u.port, 9000) << s;
    EXPECT_TRUE(u.reuseport) << s;
  }
  EXPECT_EQ(ListenUrl::parse("udp4://:1").family, AF_INET);
  EXPECT_EQ(ListenUrl::parse("udp://:1").family, AF_INET6);
  EXPECT_TRUE(ListenUrl::parse("udp6://:1").v6only);
  EXPECT_FALSE(ListenUrl::parse("udp://:1?reuseport=false").reuseport);
}

TEST(ListenUrl, Unix) {
  const auto abs = ListenUrl::parse("unix:///tmp/app.sock");
  EXPECT_EQ(abs.transport, Transport::unix_stream);
  EXPECT_EQ(abs.family, AF_UNIX);
  EXPECT_EQ(abs.path, "/tmp/app.sock");
  EXPECT_FALSE(abs.reuseport);
  EXPECT_EQ(abs.port, 0);
  EXPECT_TRUE(abs.host.empty());

  EXPECT_EQ(ListenUrl::parse("unix://run/app.sock").path, "run/app.sock");
  EXPECT_EQ(ListenUrl::parse("unix://@weft-test").path, "@weft-test");
  EXPECT_EQ(ListenUrl::parse("unix:///tmp/a.sock?backlog=7").backlog, 7);
  EXPECT_FALSE(ListenUrl::parse("unix:///tmp/a.sock?reuseport=false").reuseport);
}

TEST(ListenUrl, UnixPathLength) {
  const std::size_t max = sizeof(sockaddr_un{}.sun_path) - 1;  // room for the NUL
  EXPECT_EQ(ListenUrl::parse("unix://" + std::string(max, 'a')).path.size(), max);
  EXPECT_URL_ERROR("unix://" + std::string(max + 1, 'a'), "longer than");
  // The same limit holds for an abstract name, '@' included.
  EXPECT_NO_THROW(ListenUrl::parse("unix://@" + std::string(max - 1, 'a')));
  EXPECT_URL_ERROR("unix://@" + std::string(max, 'a'), "longer than 107 bytes");
}

TEST(ListenUrl, QueryOptions) {
  const auto u = ListenUrl::parse("tcp://:5000?reuseport=false&backlog=512");
  EXPECT_FALSE(u.reuseport);
  EXPECT_EQ(u.backlog, 512);
  EXPECT_TRUE(ListenUrl::parse("tcp://:5000?reuseport=true").reuseport);
  EXPECT_EQ(ListenUrl::parse("tcp://:5000?backlog=1").backlog, 1);
  EXPECT_EQ(ListenUrl::parse("tcp://:5000?backlog=65535").backlog, 65535);
  EXPECT_EQ(ListenUrl::parse("tcp://[::1]:5000?backlog=2&reuseport=false").backlog, 2);
}

TEST(ListenUrl, SchemeIsCaseInsensitive) {
  EXPECT_EQ(ListenUrl::parse("TCP://:1").transport, Transport::tcp);
  EXPECT_EQ(ListenUrl::parse("Unix:///x").transport, Transport::unix_stream);
}

TEST(ListenUrl, TextIsKeptAsWritten) {
  const std::string s = "TCP4://LOCALHOST:00042?backlog=9";
  EXPECT_EQ(ListenUrl::parse(s).text, s);
}

TEST(ListenUrl, RejectsBadPorts) {
  EXPECT_EQ(parse_error("tcp://x:99999"), "listen URL \"tcp://x:99999\": port must be 0..65535");
  EXPECT_URL_ERROR("tcp://:65536", "port must be 0..65535");
  EXPECT_URL_ERROR("tcp://:-1", "port must be 0..65535");
  EXPECT_URL_ERROR("tcp://:+80", "port must be 0..65535");
  EXPECT_URL_ERROR("tcp://:8o", "port must be 0..65535");
  EXPECT_URL_ERROR("tcp://:99999999999999999999999", "port must be 0..65535");
  EXPECT_URL_ERROR("tcp://:5000#frag", "port must be 0..65535");
}

TEST(ListenUrl, RejectsMissingPort) {
  EXPECT_URL_ERROR("tcp://127.0.0.1", "missing port");
  EXPECT_URL_ERROR("tcp://127.0.0.1:", "missing port");
  EXPECT_URL_ERROR("tcp://", "missing port");
  EXPECT_URL_ERROR("tcp://[::1]", "missing port");
  EXPECT_URL_ERROR("tcp://[::1]:", "missing port");
  EXPECT_URL_ERROR("udp://:", "missing port");
}

TEST(ListenUrl, RejectsBadHosts) {
  EXPECT_URL_ERROR("tcp://example.com:80", "not a literal address");
  EXPECT_URL_ERROR("tcp://example.com:80", "does not resolve names");
  EXPECT_URL_ERROR("tcp://1.2.3:80", "not a literal address");
  EXPECT_URL_ERROR("tcp://256.1.1.1:80", "not a literal address");
  EXPECT_URL_ERROR("tcp://::1:5000", "must be in brackets");
  EXPECT_URL_ERROR("tcp://[::1:5000", "missing ']'");
  EXPECT_URL_ERROR("tcp://[]:5000", "empty IPv6 address");
  EXPECT_URL_ERROR("tcp://[1.2.3.4]:5000", "is not an IPv6 address");
  EXPECT_URL_ERROR("tcp://[fe80::1%eth0]:5000", "is not an IPv6 address");
  EXPECT_URL_ERROR("tcp://[::1]x:5000", "unexpected \"x:5000\"");
  EXPECT_URL_ERROR("tcp://user@1.2.3.4:5000", "not a literal address");
}

TEST(ListenUrl, DialTargetsMayNameHosts) {
  auto u = ListenUrl::parse_target("tcp://DB.Internal:5432");
  EXPECT_TRUE(u.name);
  EXPECT_EQ(u.host, "db.internal");
  EXPECT_EQ(u.port, 5432);
  EXPECT_EQ(u.family, 0);
  u = ListenUrl::parse_target("tls6://example.com.:443");
  EXPECT_TRUE(u.name);
  EXPECT_EQ(u.host, "example.com.");
  EXPECT_EQ(u.family, AF_INET6);
  EXPECT_EQ(u.tls, weft::UrlTls::on);
  u = ListenUrl::parse_target("tcp://a-b.c9:1");
  EXPECT_TRUE(u.name);
  u = ListenUrl::parse_target("tcp://x" + std::string(62, 'y') + ".com:1");  // a 63-byte label
  EXPECT_TRUE(u.name);
  // Literals and localhost are what parse() makes of them.
  u = ListenUrl::parse_target("tcp://127.0.0.1:80");
  EXPECT_FALSE(u.name);
  EXPECT_EQ(u.host, "127.0.0.1");
  EXPECT_EQ(u.family, AF_INET);
  u = ListenUrl::parse_target("tcp://localhost:1");
  EXPECT_FALSE(u.name);
  EXPECT_EQ(u.host, "127.0.0.1");
  // A listener still takes literals only.
  EXPECT_URL_ERROR("tcp://db.internal:5432", "does not resolve names");
}

TEST(ListenUrl, DialTargetsRejectWhatIsNoName) {
  for (const std::string& bad : std::vector<std::string>{
           "tcp://a_b:1", "tcp://-a.com:1", "tcp://a-.com:1", "tcp://a..b:1", "tcp://.a:1",
           "tcp://1.2.3:80", "tcp://256.1.1.1:80", "tcp://a.123:80", "tcp://user@host:1",
           "tcp://x" + std::string(63, 'y') + ".com:1", "tcp://" + std::string(254, 'a') + ":1"}) {
    const std::string msg = parse_error(bad, &ListenUrl::parse_target);
    EXPECT_NE(msg.find("is neither an address nor a host name"), std::string::npos)
        << bad << ": " << msg;
  }
  EXPECT_NE(parse_error("tcp://db.internal", &ListenUrl::parse_target).find("missing port"),
            std::string::npos);
}

TEST(ListenUrl, RejectsFamilyMismatch) {
  EXPECT_URL_ERROR("tcp4://[::1]:5000", "tcp4:// takes IPv4 addresses only");
  EXPECT_URL_ERROR("udp4://[::]:5000", "udp4:// takes IPv4 addresses only");
  EXPECT_URL_ERROR("tcp6://127.0.0.1:5000", "tcp6:// takes IPv6 addresses only");
  EXPECT_URL_ERROR("udp6://0.0.0.0:5000", "udp6:// takes IPv6 addresses only");
}

TEST(ListenUrl, RejectsSchemes) {
  EXPECT_URL_ERROR("127.0.0.1:5000", "missing scheme");
  EXPECT_URL_ERROR(":5000", "missing scheme");
  EXPECT_URL_ERROR("", "missing scheme");
  EXPECT_URL_ERROR("tcp:/:5000", "missing scheme");
  EXPECT_URL_ERROR("http://:80", "unknown scheme \"http\"");
  EXPECT_URL_ERROR("://:80", "unknown scheme \"\"");
  EXPECT_URL_ERROR("tcp7://:80", "unknown scheme");
}

TEST(ListenUrl, RejectsTrailingGarbage) {
  EXPECT_URL_ERROR("tcp://:5000/", "unexpected \"/\" after the port");
  EXPECT_URL_ERROR("tcp://:5000/path", "unexpected \"/path\" after the port");
  EXPECT_URL_ERROR("tcp://1.2.3.4:5000 ", "space or control character");
  EXPECT_URL_ERROR(" tcp://:5000", "space or control character");
  // Control bytes are escaped in the message, which stays one C string.
  const std::string nul("tcp://:50\0\x30", 11);
  EXPECT_STREQ(parse_error(nul).c_str(),
               "listen URL \"tcp://:50\\x000\": contains a space or control character");
  EXPECT_EQ(parse_error("unix:///tmp/a\tb"),
            "listen URL \"unix:///tmp/a\\x09b\": contains a space or control character");
}

TEST(ListenUrl, RejectsEmptyUnixPath) {
  EXPECT_URL_ERROR("unix://", "unix socket path is empty");
  EXPECT_URL_ERROR("unix://@", "unix socket path is empty");
  EXPECT_URL_ERROR("unix://?backlog=5", "unix socket path is empty");
}

TEST(ListenUrl, RejectsBadOptions) {
  EXPECT_URL_ERROR("tcp://:5000?", "empty option");
  EXPECT_URL_ERROR("tcp://:5000?backlog=5&", "empty option");
  EXPECT_URL_ERROR("tcp://:5000?&backlog=5", "empty option");
  EXPECT_URL_ERROR("tcp://:5000?reuseport", "option \"reuseport\" needs a value");
  EXPECT_URL_ERROR("tcp://:5000?reuseport=yes", "reuseport must be true or false");
  EXPECT_URL_ERROR("tcp://:5000?reuseport=", "reuseport must be true or false");
  EXPECT_URL_ERROR("tcp://:5000?reuseport=TRUE", "reuseport must be true or false");
  EXPECT_URL_ERROR("tcp://:5000?backlog=0", "backlog must be 1..65535");
  EXPECT_URL_ERROR("tcp://:5000?backlog=65536", "backlog must be 1..65535");
  EXPECT_URL_ERROR("tcp://:5000?backlog=-1", "backlog must be 1..65535");
  EXPECT_URL_ERROR("tcp://:5000?backlog=1k", "backlog must be 1..65535");
  EXPECT_URL_ERROR("tcp://:5000?backlog=", "backlog must be 1..65535");
  EXPECT_URL_ERROR("tcp://:5000?backlog=1&backlog=2", "\"backlog\" is given twice");
  EXPECT_URL_ERROR("tcp://:5000?reuseport=true&reuseport=false", "\"reuseport\" is given twice");
  EXPECT_URL_ERROR("tcp://:5000?nodelay=1", "unknown option \"nodelay\"");
  EXPECT_URL_ERROR("udp://:5000?backlog=5", "backlog does not apply to udp");
  EXPECT_URL_ERROR("unix:///tmp/a.sock?reuseport=true", "reuseport does not apply to unix");
}

// --- SockAddr ---

SockAddr v4(const char* ip, std::uint16_t port) {
  sockaddr_in in{};
  in.sin_family = AF_INET;
  in.sin_port = htons(port);
  EXPECT_EQ(inet_pton(AF_INET, ip, &in.sin_addr), 1);
  return SockAddr(reinterpret_cast<const sockaddr*>(&in), sizeof(in));
}

SockAddr v6(const char* ip, std::uint16_t port, std::uint32_t scope = 0) {
  sockaddr_in6 in6{};
  in6.sin6_family = AF_INET6;
  in6.sin6_port = htons(port);
  in6.sin6_scope_id = scope;
  EXPECT_EQ(inet_pton(AF_INET6, ip, &in6.sin6_addr), 1);
  return SockAddr(reinterpret_cast<const sockaddr*>(&in6), sizeof(in6));
}

SockAddr unix_addr(const std::string& path, bool abstract) {
  sockaddr_un un{};
  un.sun_family = AF_UNIX;
  const std::size_t off = abstract ? 1 : 0;
  std::memcpy(un.sun_path + off, path.data(), path.size());
  const auto len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + off + path.size() +
                                          (abstract ? 0 : 1));
  return SockAddr(reinterpret_cast<const sockaddr*>(&un), len);
}

TEST(SockAddr, Unset) {
  SockAddr a;
  EXPECT_EQ(a.family(), AF_UNSPEC);
  EXPECT_EQ(a.size(), 0u);
  EXPECT_EQ(a.port(), 0);
  EXPECT_EQ(a.to_string(), "");
  EXPECT_EQ(SockAddr(nullptr, 16).to_string(), "");
}

TEST(SockAddr, Ipv4) {
  const SockAddr a = v4("127.0.0.1", 5000);
  EXPECT_EQ(a.family(), AF_INET);
  EXPECT_EQ(a.size(), sizeof(sockaddr_in));
  EXPECT_EQ(a.port(), 5000);
  EXPECT_EQ(a.to_string(), "127.0.0.1:5000");
  EXPECT_EQ(v4("0.0.0.0", 0).to_string(), "0.0.0.0:0");
  EXPECT_EQ(v4("255.255.255.255", 65535).to_string(), "255.255.255.255:65535");
}

TEST(SockAddr, Ipv6) {
  const SockAddr a = v6("::1", 5000);
  EXPECT_EQ(a.family(), AF_INET6);
  EXPECT_EQ(a.port(), 5000);
  EXPECT_EQ(a.to_string(), "[::1]:5000");
  EXPECT_EQ(v6("::ffff:10.1.2.3", 80).to_string(), "[::ffff:10.1.2.3]:80");
  EXPECT_EQ(v6("2001:db8::1", 443).to_string(), "[2001:db8::1]:443");
  EXPECT_EQ(v6("fe80::1", 22, 3).to_string(), "[fe80::1%3]:22");
}

TEST(SockAddr, UnixPath) {
  const SockAddr a = unix_addr("/tmp/app.sock", false);
  EXPECT_EQ(a.family(), AF_UNIX);
  EXPECT_EQ(a.port(), 0);
  EXPECT_EQ(a.to_string(), "/tmp/app.sock");
}

TEST(SockAddr, UnixAbstract) {
  EXPECT_EQ(unix_addr("weft", true).to_string(), "@weft");
  // Abstract names may hold any byte, a NUL included; all len bytes count.
  EXPECT_EQ(unix_addr(std::string("a\0b", 3), true).to_string(), std::string("@a\0b", 4));
}

TEST(SockAddr, UnixUnnamed) {
  sockaddr_un un{};
  un.sun_family = AF_UNIX;
  const SockAddr a(reinterpret_cast<const sockaddr*>(&un), sizeof(sa_family_t));
  EXPECT_EQ(a.family(), AF_UNIX);
  EXPECT_EQ(a.to_string(), "");
}

TEST(SockAddr, UnixFullPathWithoutNul) {
  sockaddr_un un{};
  un.sun_family = AF_UNIX;
  std::memset(un.sun_path, 'x', sizeof(un.sun_path));
  const SockAddr a(reinterpret_cast<const sockaddr*>(&un), sizeof(un));
  EXPECT_EQ(a.to_string(), std::string(sizeof(un.sun_path), 'x'));
}

TEST(SockAddr, FilledThroughPointers) {
  // As accept() fills it: write through get() and size_ptr().
  SockAddr a;
  sockaddr_in in{};
  in.sin_family = AF_INET;
  in.sin_port = htons(8080);
  in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::memcpy(a.get(), &in, sizeof(in));
  *a.size_ptr() = sizeof(in);
  EXPECT_EQ(a.to_string(), "127.0.0.1:8080");
  EXPECT_EQ(a.port(), 8080);
}

TEST(SockAddr, LengthIsClampedToStorage) {
  sockaddr_storage big{};
  big.ss_family = AF_INET;
  const SockAddr a(reinterpret_cast<const sockaddr*>(&big), 10000);
  EXPECT_EQ(a.size(), sizeof(sockaddr_storage));
}

TEST(SockAddr, CopiesAreIndependent) {
  SockAddr a = v4("1.2.3.4", 1);
  const SockAddr b = a;
  a = v6("::1", 2);
  EXPECT_EQ(b.to_string(), "1.2.3.4:1");
  EXPECT_EQ(a.to_string(), "[::1]:2");
}

}  // namespace
