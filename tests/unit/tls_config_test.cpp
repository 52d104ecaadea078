// TLS configuration: the JSON fields (sslMode, sslPem, sslKey, sslCerts,
// tls*, ktlsPolicy), listen URLs that turn TLS on or off, to_json (which
// never prints inline PEM), and what the Server constructor refuses when it
// loads certificates.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <functional>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

#include "tls/self_signed.hpp"
#include "weft/weft.hpp"

namespace {

using weft::ClientAuth;
using weft::Config;
using weft::ConfigError;
using weft::KtlsPolicy;
using weft::ListenUrl;
using weft::SslMode;
using weft::Transport;
using weft::UrlTls;

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

std::string url_error(const std::string& url) {
  return error_of([&] { (void)ListenUrl::parse(url); });
}

#define EXPECT_CONTAINS(haystack, needle)                                      \
  do {                                                                         \
    const std::string& h_ = (haystack);                                        \
    EXPECT_NE(h_.find(needle), std::string::npos) << "message: " << h_ << "\n" \
                                                  << "expected: " << (needle); \
  } while (0)

// A JSON object with a TLS listener and certificate paths (not read by
// parse_config), plus `extra` fields ("" or starting with a comma).
std::string with_cert(const std::string& extra) {
  return R"({"listenAddrs": ["tls://127.0.0.1:0"], "sslPem": "/etc/weft/cert.pem",
             "sslKey": "/etc/weft/key.pem")" +
         extra + "}";
}

// A scratch file removed at scope exit.
class TempFile {
 public:
  explicit TempFile(const std::string& content) {
    std::string tmpl = testing::TempDir() + "weft_tls_config_XXXXXX";
    const int fd = ::mkstemp(tmpl.data());
    if (fd < 0) throw std::system_error(errno, std::system_category(), "mkstemp");
    path_ = tmpl;
    const ssize_t w = ::write(fd, content.data(), content.size());
    ::close(fd);
    if (w != static_cast<ssize_t>(content.size())) throw std::runtime_error("short write");
  }
  ~TempFile() { ::unlink(path_.c_str()); }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

struct NullHandler : weft::Handler {
  std::size_t on_data(weft::Conn& /*c*/, weft::Bytes in) override { return in.size(); }
};

// The ConfigError message of constructing a Server with `cfg`.
std::string server_error(const Config& cfg) {
  NullHandler h;
  return error_of([&] { weft::Server s(h, cfg); });
}

const weft::detail::SelfSigned& cert_a() {
  static const auto c = weft::detail::make_self_signed({"localhost"});
  return c;
}
const weft::detail::SelfSigned& cert_b() {
  static const auto c = weft::detail::make_self_signed({"other.test"});
  return c;
}

Config tls_listener_config() {
  Config cfg;
  cfg.listen = {"tls://127.0.0.1:0"};
  cfg.tls.cert = {cert_a().cert_pem, cert_a().key_pem};
  return cfg;
}

// --- JSON fields ------------------------------------------------------------------------

TEST(TlsConfigJson, Defaults) {
  const Config c = weft::parse_config("{}");
  EXPECT_EQ(c.tls.mode, SslMode::plain);
  EXPECT_EQ(c.tls.min_version, "1.2");
  EXPECT_EQ(c.tls.max_version, "1.3");
  EXPECT_TRUE(c.tls.alpn.empty());
  EXPECT_FALSE(c.tls.tickets_disabled);
  EXPECT_EQ(c.tls.client_auth, ClientAuth::none);
  EXPECT_EQ(c.tls.handshake_timeout_ms, 10000);
  EXPECT_EQ(c.tls.max_handshakes, 1024);
  EXPECT_EQ(c.tls.ktls, KtlsPolicy::automatic);
}

TEST(TlsConfigJson, SslModeAndCertificates) {
  const Config c = weft::parse_config(
      R"({"sslMode": "both", "sslPem": "/c.pem", "sslKey": "/k.pem",
          "sslCerts": [{"sslPem": "/a.pem", "sslKey": "/a.key"},
                       {"sslKey": "/b.key", "sslPem": "/b.pem"}]})");
  EXPECT_EQ(c.tls.mode, SslMode::both);
  EXPECT_EQ(c.tls.cert.pem, "/c.pem");
  EXPECT_EQ(c.tls.cert.key, "/k.pem");
  ASSERT_EQ(c.tls.sni.size(), 2u);
  EXPECT_EQ(c.tls.sni[0].pem, "/a.pem");
  EXPECT_EQ(c.tls.sni[0].key, "/a.key");
  EXPECT_EQ(c.tls.sni[1].pem, "/b.pem");
  EXPECT_EQ(c.tls.sni[1].key, "/b.key");
  EXPECT_EQ(weft::parse_config(with_cert(R"(, "sslMode": "tls")")).tls.mode, SslMode::tls);
  EXPECT_EQ(weft::parse_config(R"({"sslMode": "plain"})").tls.mode, SslMode::plain);

  EXPECT_CONTAINS(parse_error(R"({"sslMode": "ssl"})"), "\"sslMode\"");
  EXPECT_CONTAINS(parse_error(R"({"sslMode": true})"), "expected a string");
  EXPECT_CONTAINS(parse_error(R"({"sslPem": 5})"), "\"sslPem\"");
  EXPECT_CONTAINS(parse_error(with_cert(R"(, "sslCerts": {"sslPem": "/a"})")), "\"sslCerts\"");
  EXPECT_CONTAINS(parse_error(with_cert(R"(, "sslCerts": [{"sslPem": "/a"}])")), "sslCerts");
  EXPECT_CONTAINS(parse_error(with_cert(R"(, "sslCerts": [{"sslPem": "/a", "sslKey": "/b",
                                                           "sslCa": "/c"}])")),
                  "unknown field \"sslCa\"");
  EXPECT_CONTAINS(parse_error(with_cert(R"(, "sslCerts": ["/a.pem"])")), "sslCerts[0]");
}

TEST(TlsConfigJson, TlsListenerNeedsCertificateAndKey) {
  // sslMode tls with the default plain listener, and a tls:// listener.
  EXPECT_CONTAINS(parse_error(R"({"sslMode": "tls"})"), "\"sslPem\"");
  EXPECT_CONTAINS(parse_error(R"({"sslMode": "both"})"), "\"sslPem\"");
  EXPECT_CONTAINS(parse_error(R"({"listenAddrs": ["tls://127.0.0.1:0"]})"), "\"sslPem\"");
  EXPECT_CONTAINS(parse_error(R"({"listenAddrs": ["tcp://127.0.0.1:0?tls=true"]})"), "\"sslPem\"");
  EXPECT_CONTAINS(parse_error(R"({"listenAddrs": ["tls://127.0.0.1:0"], "sslPem": "/c.pem"})"),
                  "\"sslKey\"");
  // Plain listeners need neither, whatever sslMode says for them.
  EXPECT_NO_THROW((void)weft::parse_config(
      R"({"sslMode": "tls", "listenAddrs": ["tcp://127.0.0.1:0?tls=false", "udp://:0"]})"));
  Config c;
  c.listen = {"tls://127.0.0.1:0"};
  EXPECT_CONTAINS(error_of([&] { c.validate(); }), "sslPem");
}

TEST(TlsConfigJson, Versions) {
  const Config c =
      weft::parse_config(with_cert(R"(, "tlsMinVersion": "1.3", "tlsMaxVersion": "1.3")"));
  EXPECT_EQ(c.tls.min_version, "1.3");
  EXPECT_EQ(c.tls.max_version, "1.3");
  EXPECT_CONTAINS(parse_error(with_cert(R"(, "tlsMinVersion": "1.1")")), "\"tlsMinVersion\"");
  EXPECT_CONTAINS(parse_error(with_cert(R"(, "tlsMaxVersion": "1.4")")), "\"tlsMaxVersion\"");
  EXPECT_CONTAINS(parse_error(with_cert(R"(, "tlsMaxVersion": "TLSv1.3")")), "\"tlsMaxVersion\"");
  EXPECT_CONTAINS(parse_error(with_cert(R"(, "tlsMinVersion": 1.2)")), "expected a string");
  const std::string msg =
      parse_error(with_cert(R"(, "tlsMinVersion": "1.3", "tlsMaxVersion": "1.2")"));
  EXPECT_CONTAINS(msg, "tlsMinVersion");
  EXPECT_CONTAINS(msg, "tlsMaxVersion");
}

TEST(TlsConfigJson, NextProtos) {
  const Config c = weft::parse_config(with_cert(R"(, "tlsNextProtos": ["h2", "http/1.1"])"));
  EXPECT_EQ(c.tls.alpn, (std::vector<std::string>{"h2", "http/1.1"}));
  EXPECT_CONTAINS(parse_error(with_cert(R"(, "tlsNextProtos": [""])")), "\"tlsNextProtos\"");
  EXPECT_CONTAINS(
      parse_error(with_cert(R"(, "tlsNextProtos": [")" + std::string(256, 'x') + "\"]")),
      "\"tlsNextProtos\"");
  EXPECT_NO_THROW((void)weft::parse_config(
      with_cert(R"(, "tlsNextProtos": [")" + std::string(255, 'x') + "\"]")));
  EXPECT_CONTAINS(parse_error(with_cert(R"(, "tlsNextProtos": "h2")")), "tlsNextProtos");
  EXPECT_CONTAINS(parse_error(with_cert(R"(, "tlsNextProtos": [2])")), "tlsNextProtos[0]");
}

TEST(TlsConfigJson, SessionTickets) {
  const Config c = weft::parse_config(with_cert(
      R"(, "tlsSessionTicketsDisabled": true, "tlsSessionTicketSeed": "s3cr3t",
         "tlsSessionTicketContext": "fleet-a", "tlsSessionTicketRotation": 600,
         "tlsSessionTicketPrevious": 3)"));
  EXPECT_TRUE(c.tls.tickets_disabled);
  EXPECT_EQ(c.tls.ticket_seed, "s3cr3t");
  EXPECT_EQ(c.tls.ticket_context, "fleet-a");
  EXPECT_EQ(c.tls.ticket_rotation_s, 600);
  EXPECT_EQ(c.tls.ticket_previous_keys, 3);

  EXPECT_CONTAINS(parse_error(with_cert(R"(, "tlsSessionTicketsDisabled": "yes")")),
                  "\"tlsSessionTicketsDisabled\"");
  EXPECT_CONTAINS(parse_error(with_cert(R"(, "tlsSessionTicketSeed": 7)")),
                  "\"tlsSessionTicketSeed\"");
  EXPECT_CONTAINS(parse_error(with_cert(R"(, "tlsSessionTicketRotation": 10)")),
                  "\"tlsSessionTicketRotation\"");
  EXPECT_CONTAINS(parse_error(with_cert(R"(, "tlsSessionTicketRotation": 999999999)")),
                  "\"tlsSessionTicketRotation\"");
  EXPECT_CONTAINS(parse_error(with_cert(R"(, "tlsSessionTicketPrevious": -1)")),
                  "\"tlsSessionTicketPrevious\"");
  EXPECT_CONTAINS(parse_error(with_cert(R"(, "tlsSessionTicketPrevious": 101)")),
                  "\"tlsSessionTicketPrevious\"");
  EXPECT_NO_THROW((void)weft::parse_config(with_cert(R"(, "tlsSessionTicketPrevious": 0)")));
}

TEST(TlsConfigJson, OcspStaple) {
  EXPECT_EQ(
      weft::parse_config(with_cert(R"(, "sslOcspStaple": "/etc/weft/ocsp.der")")).tls.ocsp_staple,
      "/etc/weft/ocsp.der");
  EXPECT_CONTAINS(parse_error(with_cert(R"(, "sslOcspStaple": ["x"])")), "\"sslOcspStaple\"");
}

TEST(TlsConfigJson, ClientAuth) {
  const Config req = weft::parse_config(
      with_cert(R"(, "tlsClientAuth": "require", "tlsClientCA": "/etc/weft/ca.pem")"));
  EXPECT_EQ(req.tls.client_auth, ClientAuth::require);
  EXPECT_EQ(req.tls.client_ca, "/etc/weft/ca.pem");
  EXPECT_EQ(weft::parse_config(with_cert(R"(, "tlsClientAuth": "request", "tlsClientCA": "/ca")"))
                .tls.client_auth,
            ClientAuth::request);
  EXPECT_EQ(weft::parse_config(with_cert(R"(, "tlsClientAuth": "none")")).tls.client_auth,
            ClientAuth::none);

  EXPECT_CONTAINS(parse_error(with_cert(R"(, "tlsClientAuth": "require")")), "\"tlsClientCA\"");
  EXPECT_CONTAINS(parse_error(with_cert(R"(, "tlsClientAuth": "request")")), "\"tlsClientCA\"");
  const std::string bad = parse_error(with_cert(R"(, "tlsClientAuth": "optional")"));
  EXPECT_CONTAINS(bad, "\"tlsClientAuth\"");
  EXPECT_CONTAINS(bad, "\"optional\"");
}

TEST(TlsConfigJson, HandshakeLimits) {
  const Config c =
      weft::parse_config(with_cert(R"(, "tlsHandshakeTimeout": 300, "tlsMaxHandshakes": 8)"));
  EXPECT_EQ(c.tls.handshake_timeout_ms, 300);
  EXPECT_EQ(c.tls.max_handshakes, 8);
  // 0: no deadline / no cap.
  const Config z =
      weft::parse_config(with_cert(R"(, "tlsHandshakeTimeout": 0, "tlsMaxHandshakes": 0)"));
  EXPECT_EQ(z.tls.handshake_timeout_ms, 0);
  EXPECT_EQ(z.tls.max_handshakes, 0);
  EXPECT_CONTAINS(parse_error(with_cert(R"(, "tlsHandshakeTimeout": -1)")),
                  "\"tlsHandshakeTimeout\"");
  EXPECT_CONTAINS(parse_error(with_cert(R"(, "tlsHandshakeTimeout": 3600001)")),
                  "\"tlsHandshakeTimeout\"");
  EXPECT_CONTAINS(parse_error(with_cert(R"(, "tlsHandshakeTimeout": 1.5)")),
                  "\"tlsHandshakeTimeout\"");
  EXPECT_CONTAINS(parse_error(with_cert(R"(, "tlsMaxHandshakes": -5)")), "\"tlsMaxHandshakes\"");
}

TEST(TlsConfigJson, KtlsPolicy) {
  EXPECT_EQ(weft::parse_config(R"({"ktlsPolicy": "auto"})").tls.ktls, KtlsPolicy::automatic);
  EXPECT_EQ(weft::parse_config(R"({"ktlsPolicy": "off"})").tls.ktls, KtlsPolicy::off);
  // Parsing does not probe the kernel; the Server constructor does.
  EXPECT_EQ(weft::parse_config(R"({"ktlsPolicy": "required"})").tls.ktls, KtlsPolicy::required);
  const std::string bad = parse_error(R"({"ktlsPolicy": "on"})");
  EXPECT_CONTAINS(bad, "\"ktlsPolicy\"");
  EXPECT_CONTAINS(bad, "\"auto\"");
  EXPECT_CONTAINS(parse_error(R"({"ktlsPolicy": "automatic"})"), "\"ktlsPolicy\"");
}

// --- listen URLs --------------------------------------------------------------------------

TEST(TlsListenUrl, Schemes) {
  const ListenUrl t = ListenUrl::parse("tls://127.0.0.1:8443");
  EXPECT_EQ(t.transport, Transport::tcp);
  EXPECT_EQ(t.tls, UrlTls::on);
  EXPECT_EQ(t.family, AF_INET);
  EXPECT_EQ(t.host, "127.0.0.1");
  EXPECT_EQ(t.port, 8443);

  const ListenUrl any = ListenUrl::parse("tls://:443");
  EXPECT_EQ(any.tls, UrlTls::on);
  EXPECT_FALSE(any.v6only);  // dual-stack, as tcp://

  const ListenUrl t4 = ListenUrl::parse("tls4://:443");
  EXPECT_EQ(t4.transport, Transport::tcp);
  EXPECT_EQ(t4.tls, UrlTls::on);
  EXPECT_EQ(t4.family, AF_INET);

  const ListenUrl t6 = ListenUrl::parse("tls6://[::1]:443");
  EXPECT_EQ(t6.transport, Transport::tcp);
  EXPECT_EQ(t6.tls, UrlTls::on);
  EXPECT_EQ(t6.family, AF_INET6);
  EXPECT_TRUE(t6.v6only);
  EXPECT_EQ(t6.host, "::1");

  EXPECT_EQ(ListenUrl::parse("TLS://127.0.0.1:1").tls, UrlTls::on);
  EXPECT_CONTAINS(url_error("tls4://[::1]:1"), "IPv4");
  EXPECT_CONTAINS(url_error("tls6://127.0.0.1:1"), "IPv6");
  EXPECT_EQ(ListenUrl::parse("tcp://127.0.0.1:1").tls, UrlTls::inherit);
}

TEST(TlsListenUrl, TlsOption) {
  EXPECT_EQ(ListenUrl::parse("tcp://127.0.0.1:1?tls=true").tls, UrlTls::on);
  EXPECT_EQ(ListenUrl::parse("tcp://127.0.0.1:1?tls=false").tls, UrlTls::off);
  EXPECT_EQ(ListenUrl::parse("tcp://127.0.0.1:1?tls=both").tls, UrlTls::both);
  const ListenUrl combined = ListenUrl::parse("tcp://127.0.0.1:1?reuseport=false&tls=both");
  EXPECT_EQ(combined.tls, UrlTls::both);
  EXPECT_FALSE(combined.reuseport);
  const ListenUrl un = ListenUrl::parse("unix:///tmp/weft.sock?tls=true");
  EXPECT_EQ(un.transport, Transport::unix_stream);
  EXPECT_EQ(un.tls, UrlTls::on);
  EXPECT_EQ(un.path, "/tmp/weft.sock");

  EXPECT_CONTAINS(url_error("tcp://127.0.0.1:1?tls=bad"), "tls must be true, false or both");
  EXPECT_CONTAINS(url_error("tcp://127.0.0.1:1?tls="), "tls must be");
  EXPECT_CONTAINS(url_error("tcp://127.0.0.1:1?tls=true&tls=false"), "given twice");
  EXPECT_CONTAINS(url_error("tls://127.0.0.1:1?tls=false"), "tls://");
  EXPECT_CONTAINS(url_error("tls://127.0.0.1:1?tls=true"), "tls://");
  EXPECT_CONTAINS(url_error("udp://127.0.0.1:1?tls=true"), "udp");
  EXPECT_CONTAINS(url_error("udp://127.0.0.1:1?tls=false"), "udp");
}

TEST(TlsListenUrl, WhichListenersServeTls) {
  Config c;
  bool sniff = true;
  EXPECT_FALSE(c.listener_tls("tcp://127.0.0.1:1", &sniff));
  EXPECT_FALSE(sniff);
  EXPECT_TRUE(c.listener_tls("tls://127.0.0.1:1", &sniff));
  EXPECT_FALSE(sniff);
  EXPECT_TRUE(c.listener_tls("tcp://127.0.0.1:1?tls=both", &sniff));
  EXPECT_TRUE(sniff);
  c.tls.mode = SslMode::tls;
  EXPECT_TRUE(c.listener_tls("tcp://127.0.0.1:1", &sniff));
  EXPECT_FALSE(sniff);
  EXPECT_FALSE(c.listener_tls("tcp://127.0.0.1:1?tls=false"));
  EXPECT_FALSE(c.listener_tls("udp://127.0.0.1:1"));  // datagrams are never TLS
  c.tls.mode = SslMode::both;
  EXPECT_TRUE(c.listener_tls("tcp://127.0.0.1:1", &sniff));
  EXPECT_TRUE(sniff);
  EXPECT_TRUE(c.listener_tls("tls://127.0.0.1:1", &sniff));
  EXPECT_FALSE(sniff) << "tls:// means TLS only, even under sslMode both";
}

// --- to_json --------------------------------------------------------------------------------

TEST(TlsConfigToJson, InlinePemIsNotPrinted) {
  Config c = tls_listener_config();
  c.tls.sni = {{cert_b().cert_pem, cert_b().key_pem}};
  c.tls.ticket_seed = "do not print me";
  const std::string json = weft::to_json(c);
  EXPECT_EQ(json.find("-----BEGIN"), std::string::npos) << json;
  EXPECT_EQ(json.find("PRIVATE KEY"), std::string::npos) << json;
  EXPECT_EQ(json.find("do not print me"), std::string::npos) << json;
  EXPECT_CONTAINS(json, "(inline PEM)");
}

TEST(TlsConfigToJson, RoundTrip) {
  Config c;
  c.listen = {"tls://127.0.0.1:8443", "tcp://127.0.0.1:8080?tls=both"};
  c.tls.mode = SslMode::both;
  c.tls.cert = {"/etc/weft/cert.pem", "/etc/weft/key.pem"};
  c.tls.sni = {{"/etc/weft/a.pem", "/etc/weft/a.key"}};
  c.tls.min_version = "1.3";
  c.tls.max_version = "1.3";
  c.tls.alpn = {"h2", "http/1.1"};
  c.tls.tickets_disabled = true;
  c.tls.ticket_context = "ctx";
  c.tls.ticket_rotation_s = 900;
  c.tls.ticket_previous_keys = 4;
  c.tls.ocsp_staple = "/etc/weft/ocsp.der";
  c.tls.client_auth = ClientAuth::request;
  c.tls.client_ca = "/etc/weft/ca.pem";
  c.tls.handshake_timeout_ms = 1234;
  c.tls.max_handshakes = 77;
  c.tls.ktls = KtlsPolicy::off;
  const Config r = weft::parse_config(weft::to_json(c));
  EXPECT_EQ(r.listen, c.listen);
  EXPECT_EQ(r.tls.mode, c.tls.mode);
  EXPECT_EQ(r.tls.cert.pem, c.tls.cert.pem);
  EXPECT_EQ(r.tls.cert.key, c.tls.cert.key);
  ASSERT_EQ(r.tls.sni.size(), 1u);
  EXPECT_EQ(r.tls.sni[0].pem, c.tls.sni[0].pem);
  EXPECT_EQ(r.tls.sni[0].key, c.tls.sni[0].key);
  EXPECT_EQ(r.tls.min_version, c.tls.min_version);
  EXPECT_EQ(r.tls.max_version, c.tls.max_version);
  EXPECT_EQ(r.tls.alpn, c.tls.alpn);
  EXPECT_EQ(r.tls.tickets_disabled, c.tls.tickets_disabled);
  EXPECT_EQ(r.tls.ticket_seed, "");
  EXPECT_EQ(r.tls.ticket_context, c.tls.ticket_context);
  EXPECT_EQ(r.tls.ticket_rotation_s, c.tls.ticket_rotation_s);
  EXPECT_EQ(r.tls.ticket_previous_keys, c.tls.ticket_previous_keys);
  EXPECT_EQ(r.tls.ocsp_staple, c.tls.ocsp_staple);
  EXPECT_EQ(r.tls.client_auth, c.tls.client_auth);
  EXPECT_EQ(r.tls.client_ca, c.tls.client_ca);
  EXPECT_EQ(r.tls.handshake_timeout_ms, c.tls.handshake_timeout_ms);
  EXPECT_EQ(r.tls.max_handshakes, c.tls.max_handshakes);
  EXPECT_EQ(r.tls.ktls, c.tls.ktls);
  EXPECT_EQ(weft::to_json(r), weft::to_json(c));
}

// --- what the Server constructor loads and refuses ----------------------------------------

TEST(TlsServerConfig, InlinePemAndFilePathsBothWork) {
  NullHandler h;
  EXPECT_NO_THROW({ weft::Server s(h, tls_listener_config()); });
  TempFile pem(cert_a().cert_pem);
  TempFile key(cert_a().key_pem);
  Config c = tls_listener_config();
  c.tls.cert = {pem.path(), key.path()};
  EXPECT_NO_THROW({ weft::Server s(h, c); });
}

TEST(TlsServerConfig, MissingCertificateFileIsNamed) {
  Config c = tls_listener_config();
  c.tls.cert.pem = "/nonexistent/weft-tls-test/cert.pem";
  const std::string msg = server_error(c);
  EXPECT_CONTAINS(msg, "sslPem");
  EXPECT_CONTAINS(msg, "/nonexistent/weft-tls-test/cert.pem");

  c = tls_listener_config();
  c.tls.cert.key = "/nonexistent/weft-tls-test/key.pem";
  const std::string kmsg = server_error(c);
  EXPECT_CONTAINS(kmsg, "sslKey");
  EXPECT_CONTAINS(kmsg, "/nonexistent/weft-tls-test/key.pem");
}

TEST(TlsServerConfig, KeyThatDoesNotMatchTheCertificate) {
  Config c = tls_listener_config();
  c.tls.cert.key = cert_b().key_pem;
  const std::string msg = server_error(c);
  EXPECT_CONTAINS(msg, "\"sslKey\"");
  // OpenSSL may refuse the key itself ("key values mismatch") before weft's
  // own check ("does not match the certificate").
  EXPECT_TRUE(msg.find("mismatch") != std::string::npos ||
              msg.find("does not match") != std::string::npos)
      << msg;
}

TEST(TlsServerConfig, GarbageInsteadOfPem) {
  TempFile junk("this is not a certificate\n");
  Config c = tls_listener_config();
  c.tls.cert.pem = junk.path();
  EXPECT_CONTAINS(server_error(c), "sslPem");
  c = tls_listener_config();
  c.tls.cert.key = junk.path();
  EXPECT_CONTAINS(server_error(c), "sslKey");
}

TEST(TlsServerConfig, BadSniEntryAndClientCa) {
  Config c = tls_listener_config();
  c.tls.sni = {{"/nonexistent/weft-tls-test/sni.pem", cert_b().key_pem}};
  EXPECT_CONTAINS(server_error(c), "sslCerts");

  c = tls_listener_config();
  c.tls.client_auth = ClientAuth::require;
  c.tls.client_ca = "/nonexistent/weft-tls-test/ca.pem";
  const std::string msg = server_error(c);
  EXPECT_CONTAINS(msg, "tlsClientCA");
  EXPECT_CONTAINS(msg, "/nonexistent/weft-tls-test/ca.pem");
}

TEST(TlsServerConfig, BadOcspStaple) {
  TempFile junk("not an OCSP response");
  Config c = tls_listener_config();
  c.tls.ocsp_staple = junk.path();
  EXPECT_CONTAINS(server_error(c), "sslOcspStaple");
  c.tls.ocsp_staple = "/nonexistent/weft-tls-test/ocsp.der";
  EXPECT_CONTAINS(server_error(c), "sslOcspStaple");
}

TEST(TlsServerConfig, PlainListenersLoadNoCertificate) {
  // sslMode plain and no TLS URL: sslPem is not even opened.
  Config c;
  c.listen = {"tcp://127.0.0.1:0"};
  c.tls.cert.pem = "/nonexistent/weft-tls-test/cert.pem";
  c.tls.cert.key = "/nonexistent/weft-tls-test/key.pem";
  EXPECT_EQ(server_error(c), "<no error>");
}

}  // namespace
