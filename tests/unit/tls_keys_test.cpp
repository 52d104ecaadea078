// Self-signed certificates (make_self_signed, make_signed_by,
// fingerprint_sha256) and shared session-ticket keys (TicketKeyRing):
// derivation, resumption across servers that share a seed, TLS 1.3 and 1.2,
// rotation with a fake clock.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <memory>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "tls/self_signed.hpp"
#include "tls/ticket_keys.hpp"
#include "tls_memory_handshake.hpp"

namespace weft::test {
namespace {

using detail::fingerprint_sha256;
using detail::make_self_signed;
using detail::make_signed_by;
using detail::SelfSigned;
using detail::TicketKeyRing;

template <auto Free>
struct Deleter {
  template <class T>
  void operator()(T* p) const noexcept {
    Free(p);
  }
};
using X509Ptr = std::unique_ptr<X509, Deleter<X509_free>>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY_free>>;
using PkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, Deleter<EVP_PKEY_CTX_free>>;
using BioPtr = std::unique_ptr<BIO, Deleter<BIO_free_all>>;
using StorePtr = std::unique_ptr<X509_STORE, Deleter<X509_STORE_free>>;
using StoreCtxPtr = std::unique_ptr<X509_STORE_CTX, Deleter<X509_STORE_CTX_free>>;
using GeneralNamesPtr = std::unique_ptr<GENERAL_NAMES, Deleter<GENERAL_NAMES_free>>;

X509Ptr parse_cert(const std::string& pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  return X509Ptr(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
}

PkeyPtr parse_key(const std::string& pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  return PkeyPtr(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
}

struct Sans {
  std::set<std::string> dns;
  std::set<std::string> ips;  // as inet_ntop text
};

Sans sans_of(X509* cert) {
  Sans out;
  GeneralNamesPtr gens(
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr)));
  if (!gens) return out;
  for (int i = 0; i < sk_GENERAL_NAME_num(gens.get()); ++i) {
    const GENERAL_NAME* gn = sk_GENERAL_NAME_value(gens.get(), i);
    if (gn->type == GEN_DNS) {
      const ASN1_IA5STRING* s = gn->d.dNSName;
      out.dns.emplace(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                      static_cast<std::size_t>(ASN1_STRING_length(s)));
    } else if (gn->type == GEN_IPADD) {
      const ASN1_OCTET_STRING* s = gn->d.iPAddress;
      std::array<char, INET6_ADDRSTRLEN> text{};
      const int family = ASN1_STRING_length(s) == 4 ? AF_INET : AF_INET6;
      if (inet_ntop(family, ASN1_STRING_get0_data(s), text.data(), text.size()) != nullptr) {
        out.ips.emplace(text.data());
      }
    }
  }
  return out;
}

std::string common_name(X509* cert) {
  std::array<char, 256> buf{};
  const int n = X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, buf.data(),
                                          static_cast<int>(buf.size()));
  return n < 0 ? std::string() : std::string(buf.data(), static_cast<std::size_t>(n));
}

/// X509_verify_cert of `leaf` against a store holding only `trusted`.
int verify_error(const SelfSigned& leaf, const SelfSigned& trusted) {
  X509Ptr cert = parse_cert(leaf.cert_pem);
  X509Ptr root = parse_cert(trusted.cert_pem);
  StorePtr store(X509_STORE_new());
  StoreCtxPtr ctx(X509_STORE_CTX_new());
  if (!cert || !root || !store || !ctx) return -1;
  if (X509_STORE_add_cert(store.get(), root.get()) != 1) return -1;
  if (X509_STORE_CTX_init(ctx.get(), store.get(), cert.get(), nullptr) != 1) return -1;
  const int ok = X509_verify_cert(ctx.get());
  const int err = X509_STORE_CTX_get_error(ctx.get());
  return ok == 1 ? X509_V_OK : (err == X509_V_OK ? -1 : err);
}

/// "XX:" * 31 + "XX", upper-case hex.
bool is_fingerprint_format(const std::string& fp) {
  if (fp.size() != 32 * 3 - 1) return false;
  for (std::size_t i = 0; i < fp.size(); ++i) {
    const char c = fp[i];
    const bool ok = i % 3 == 2 ? c == ':' : ((c >= '0' && c <= '9') || (c >= 'A' && c <= 'F'));
    if (!ok) return false;
  }
  return true;
}

// --- Self-signed certificates ----------------------------------------------

TEST(SelfSigned, ParsesBackWithNamesInSubjectAltName) {
  const SelfSigned ss = make_self_signed({"localhost", "127.0.0.1", "::1", "api.weft.test"}, 30);
  X509Ptr cert = parse_cert(ss.cert_pem);
  ASSERT_TRUE(cert) << ss.cert_pem;

  EXPECT_EQ(X509_get_version(cert.get()), X509_VERSION_3);
  EXPECT_EQ(common_name(cert.get()), "localhost");
  const Sans sans = sans_of(cert.get());
  EXPECT_EQ(sans.dns, (std::set<std::string>{"localhost", "api.weft.test"}));
  EXPECT_EQ(sans.ips, (std::set<std::string>{"127.0.0.1", "::1"}));

  EXPECT_EQ(X509_check_host(cert.get(), "localhost", 0, 0, nullptr), 1);
  EXPECT_EQ(X509_check_host(cert.get(), "api.weft.test", 0, 0, nullptr), 1);
  EXPECT_NE(X509_check_host(cert.get(), "other.weft.test", 0, 0, nullptr), 1);
  EXPECT_EQ(X509_check_ip_asc(cert.get(), "127.0.0.1", 0), 1);
  EXPECT_EQ(X509_check_ip_asc(cert.get(), "::1", 0), 1);
  EXPECT_NE(X509_check_ip_asc(cert.get(), "127.0.0.2", 0), 1);
  // An address is not also a DNS name.
  EXPECT_NE(X509_check_host(cert.get(), "127.0.0.1", 0, 0, nullptr), 1);

  // Self-signed with SHA-256 over an EC P-256 key; leaf, not a CA.
  EXPECT_EQ(X509_get_signature_nid(cert.get()), NID_ecdsa_with_SHA256);
  EXPECT_EQ(X509_verify(cert.get(), X509_get0_pubkey(cert.get())), 1);
  EXPECT_EQ(X509_NAME_cmp(X509_get_issuer_name(cert.get()), X509_get_subject_name(cert.get())), 0);
  EXPECT_EQ(X509_check_ca(cert.get()), 0);
  EXPECT_NE(X509_get_extension_flags(cert.get()) & EXFLAG_BCONS, 0U);
  EXPECT_EQ(X509_get_extension_flags(cert.get()) & EXFLAG_CA, 0U);
  const std::uint32_t xku = X509_get_extended_key_usage(cert.get());
  EXPECT_NE(xku & XKU_SSL_SERVER, 0U);
  EXPECT_NE(xku & XKU_SSL_CLIENT, 0U);

  // Valid from now for 30 days.
  EXPECT_LE(X509_cmp_current_time(X509_get0_notBefore(cert.get())), 0);
  EXPECT_GE(X509_cmp_current_time(X509_get0_notAfter(cert.get())), 0);
  int days = 0;
  int secs = 0;
  ASSERT_EQ(
      ASN1_TIME_diff(&days, &secs, X509_get0_notBefore(cert.get()), X509_get0_notAfter(cert.get())),
      1);
  EXPECT_EQ(days, 30);
  EXPECT_EQ(secs, 0);

  // The key is PKCS#8 PEM, EC P-256, and belongs to the certificate.
  EXPECT_EQ(ss.key_pem.rfind("-----BEGIN PRIVATE KEY-----", 0), 0U) << ss.key_pem;
  PkeyPtr key = parse_key(ss.key_pem);
  ASSERT_TRUE(key);
  EXPECT_EQ(EVP_PKEY_is_a(key.get(), "EC"), 1);
  EXPECT_EQ(EVP_PKEY_get_bits(key.get()), 256);
  EXPECT_EQ(X509_check_private_key(cert.get(), key.get()), 1);
}

TEST(SelfSigned, FingerprintIsColonSeparatedSha256) {
  const SelfSigned ss = make_self_signed({"localhost"});
  EXPECT_TRUE(is_fingerprint_format(ss.fingerprint)) << ss.fingerprint;
  EXPECT_FALSE(is_fingerprint_format(ss.fingerprint + ":00"));
  EXPECT_EQ(fingerprint_sha256(ss.cert_pem), ss.fingerprint);

  // Recomputed independently over the DER encoding.
  X509Ptr cert = parse_cert(ss.cert_pem);
  ASSERT_TRUE(cert);
  unsigned char* der = nullptr;
  const int len = i2d_X509(cert.get(), &der);
  ASSERT_GT(len, 0);
  std::array<unsigned char, 32> md{};
  unsigned int md_len = 0;
  ASSERT_EQ(
      EVP_Digest(der, static_cast<std::size_t>(len), md.data(), &md_len, EVP_sha256(), nullptr), 1);
  OPENSSL_free(der);
  ASSERT_EQ(md_len, 32U);
  std::string expected;
  for (unsigned char byte : md) {
    std::array<char, 4> hex{};
    std::snprintf(hex.data(), hex.size(), "%02X", byte);
    if (!expected.empty()) expected += ':';
    expected += hex.data();
  }
  EXPECT_EQ(ss.fingerprint, expected);

  // The first certificate of a bundle counts.
  const SelfSigned other = make_self_signed({"localhost"});
  EXPECT_NE(other.fingerprint, ss.fingerprint);
  EXPECT_EQ(fingerprint_sha256(ss.cert_pem + other.cert_pem), ss.fingerprint);
}

TEST(SelfSigned, SerialsAreRandomAndPositive) {
  const SelfSigned a = make_self_signed({"localhost"});
  const SelfSigned b = make_self_signed({"localhost"});
  X509Ptr ca = parse_cert(a.cert_pem);
  X509Ptr cb = parse_cert(b.cert_pem);
  ASSERT_TRUE(ca && cb);
  const ASN1_INTEGER* sa = X509_get0_serialNumber(ca.get());
  const ASN1_INTEGER* sb = X509_get0_serialNumber(cb.get());
  EXPECT_NE(ASN1_INTEGER_cmp(sa, sb), 0);
  EXPECT_EQ(ASN1_STRING_type(sa), V_ASN1_INTEGER);  // not V_ASN1_NEG_INTEGER
  EXPECT_GE(ASN1_STRING_length(sa), 8);
  EXPECT_LE(ASN1_STRING_length(sa), 20);
}

TEST(SelfSigned, CaFlag) {
  const SelfSigned ca = make_self_signed({"ca.weft.test"}, 10, true);
  X509Ptr cert = parse_cert(ca.cert_pem);
  ASSERT_TRUE(cert);
  EXPECT_NE(X509_get_extension_flags(cert.get()) & EXFLAG_CA, 0U);
  EXPECT_EQ(X509_check_ca(cert.get()), 1);
  EXPECT_NE(X509_get_key_usage(cert.get()) & KU_KEY_CERT_SIGN, 0U);
  // A self-signed CA verifies against itself.
  EXPECT_EQ(verify_error(ca, ca), X509_V_OK);
}

TEST(SelfSigned, SignedByVerifiesAgainstTheIssuer) {
  const SelfSigned ca = make_self_signed({"ca.weft.test"}, 10, true);
  const SelfSigned leaf = make_signed_by(ca, {"client.weft.test", "10.0.0.7"}, 5);
  X509Ptr leaf_cert = parse_cert(leaf.cert_pem);
  X509Ptr ca_cert = parse_cert(ca.cert_pem);
  ASSERT_TRUE(leaf_cert && ca_cert);

  EXPECT_EQ(verify_error(leaf, ca), X509_V_OK);
  EXPECT_EQ(X509_check_issued(ca_cert.get(), leaf_cert.get()), X509_V_OK);
  EXPECT_EQ(
      X509_NAME_cmp(X509_get_issuer_name(leaf_cert.get()), X509_get_subject_name(ca_cert.get())),
      0);
  EXPECT_EQ(common_name(leaf_cert.get()), "client.weft.test");
  EXPECT_EQ(X509_check_ip_asc(leaf_cert.get(), "10.0.0.7", 0), 1);
  EXPECT_EQ(X509_check_ca(leaf_cert.get()), 0);
  EXPECT_EQ(fingerprint_sha256(leaf.cert_pem), leaf.fingerprint);
  PkeyPtr leaf_key = parse_key(leaf.key_pem);
  ASSERT_TRUE(leaf_key);
  EXPECT_EQ(X509_check_private_key(leaf_cert.get(), leaf_key.get()), 1);
  PkeyPtr ca_key = parse_key(ca.key_pem);
  EXPECT_NE(X509_check_private_key(leaf_cert.get(), ca_key.get()), 1);  // its own key

  // Not against another CA, and a CA:FALSE issuer cannot sign.
  const SelfSigned other_ca = make_self_signed({"other-ca.weft.test"}, 10, true);
  EXPECT_EQ(verify_error(leaf, other_ca), X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY);
  const SelfSigned not_ca = make_self_signed({"leaf.weft.test"});
  const SelfSigned bad = make_signed_by(not_ca, {"x.weft.test"});
  EXPECT_NE(verify_error(bad, not_ca), X509_V_OK);
}

TEST(SelfSigned, FailuresThrowWithAReason) {
  EXPECT_THROW(static_cast<void>(make_self_signed({})), std::runtime_error);
  EXPECT_THROW(static_cast<void>(fingerprint_sha256("not a certificate")), std::runtime_error);
  try {
    static_cast<void>(make_signed_by(SelfSigned{"junk", "junk", ""}, {"x"}));
    FAIL() << "no exception";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("PEM_read_bio_X509"), std::string::npos) << e.what();
  }
  // A key that is not the certificate's.
  const SelfSigned a = make_self_signed({"a.weft.test"}, 1, true);
  const SelfSigned b = make_self_signed({"b.weft.test"}, 1, true);
  EXPECT_THROW(static_cast<void>(make_signed_by(SelfSigned{a.cert_pem, b.key_pem, ""}, {"x"})),
               std::runtime_error);
}

TEST(SelfSigned, ServesTlsInMemory) {
  const SelfSigned ss = make_self_signed({"localhost", "127.0.0.1"});
  SslCtxPtr server = make_server_ctx(ss);
  SslCtxPtr client = make_client_ctx(ss);
  {
    MemoryTls tls(client.get(), server.get(), "localhost");
    ASSERT_TRUE(tls.handshake()) << tls.error();
    EXPECT_EQ(SSL_get_verify_result(tls.client()), X509_V_OK);
    ASSERT_TRUE(tls.client_write("ping")) << tls.error();
    EXPECT_EQ(tls.server_in(), "ping");
    const std::string big(100000, 'x');  // more than the BIO pair holds
    ASSERT_TRUE(tls.server_write(big)) << tls.error();
    EXPECT_EQ(tls.client_in(), big);
  }
  EXPECT_TRUE(connect(client.get(), server.get(), nullptr, "127.0.0.1").ok);
  // The wrong name, or a client that trusts another certificate, fails.
  const Handshake wrong_name = connect(client.get(), server.get(), nullptr, "other.weft.test");
  EXPECT_FALSE(wrong_name.ok);
  EXPECT_NE(wrong_name.error.find("client"), std::string::npos) << wrong_name.error;
  SslCtxPtr stranger = make_client_ctx(make_self_signed({"localhost"}));
  EXPECT_FALSE(connect(stranger.get(), server.get()).ok);
}

// --- Ticket key derivation ------------------------------------------------------

TicketKeyRing::Options opts(std::string seed, std::string context = "weft test") {
  TicketKeyRing::Options o;
  o.seed = std::move(seed);
  o.context = std::move(context);
  return o;
}

bool same_key(const TicketKeyRing::Key& a, const TicketKeyRing::Key& b) {
  return a.name == b.name && a.aes == b.aes && a.hmac == b.hmac;
}

/// HKDF-SHA256 through the EVP_PKEY API, as the spec in ticket_keys.hpp says.
std::array<unsigned char, 80> reference_hkdf(const std::string& seed, const std::string& context,
                                             std::int64_t epoch) {
  std::string info = "weft session ticket v1";
  for (int shift = 56; shift >= 0; shift -= 8) {
    info += static_cast<char>((static_cast<std::uint64_t>(epoch) >> shift) & 0xff);
  }
  std::array<unsigned char, 80> out{};
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new_id(EVP_PKEY_HKDF, nullptr));
  std::size_t len = out.size();
  const auto* ikm = reinterpret_cast<const unsigned char*>(seed.data());
  const auto* salt = reinterpret_cast<const unsigned char*>(context.data());
  const auto* inf = reinterpret_cast<const unsigned char*>(info.data());
  if (!ctx || EVP_PKEY_derive_init(ctx.get()) != 1 ||
      EVP_PKEY_CTX_set_hkdf_md(ctx.get(), EVP_sha256()) != 1 ||
      EVP_PKEY_CTX_set1_hkdf_salt(ctx.get(), salt, static_cast<int>(context.size())) != 1 ||
      EVP_PKEY_CTX_set1_hkdf_key(ctx.get(), ikm, static_cast<int>(seed.size())) != 1 ||
      EVP_PKEY_CTX_add1_hkdf_info(ctx.get(), inf, static_cast<int>(info.size())) != 1 ||
      EVP_PKEY_derive(ctx.get(), out.data(), &len) != 1 || len != out.size()) {
    ADD_FAILURE() << "reference HKDF failed";
  }
  return out;
}

TEST(TicketKeys, DerivedByHkdfAsSpecified) {
  const TicketKeyRing ring(opts("a shared seed", "ctx-1"));
  for (std::int64_t epoch : {std::int64_t{0}, std::int64_t{1}, std::int64_t{475000},
                             std::int64_t{-3}, std::int64_t{0x0102030405060708}}) {
    const auto expected = reference_hkdf("a shared seed", "ctx-1", epoch);
    const TicketKeyRing::Key key = ring.key_for(epoch);
    EXPECT_TRUE(std::equal(key.name.begin(), key.name.end(), expected.begin())) << epoch;
    EXPECT_TRUE(std::equal(key.aes.begin(), key.aes.end(), expected.begin() + 16)) << epoch;
    EXPECT_TRUE(std::equal(key.hmac.begin(), key.hmac.end(), expected.begin() + 48)) << epoch;
  }
}

TEST(TicketKeys, SameSeedAndContextGiveTheSameKeys) {
  const TicketKeyRing a(opts("seed"));
  const TicketKeyRing b(opts("seed"));
  for (std::int64_t epoch = 470000; epoch < 470005; ++epoch) {
    EXPECT_TRUE(same_key(a.key_for(epoch), b.key_for(epoch))) << epoch;
  }
  EXPECT_EQ(a.current_name(), b.current_name());
}

TEST(TicketKeys, ContextAndSeedSeparateKeys) {
  const std::int64_t epoch = 470000;
  const TicketKeyRing base(opts("seed", "ctx"));
  const TicketKeyRing other_context(opts("seed", "ctx2"));
  const TicketKeyRing empty_context(opts("seed", ""));
  const TicketKeyRing other_seed(opts("seed2", "ctx"));
  const TicketKeyRing::Key k = base.key_for(epoch);
  EXPECT_NE(k.name, other_context.key_for(epoch).name);
  EXPECT_NE(k.aes, other_context.key_for(epoch).aes);
  EXPECT_NE(k.name, empty_context.key_for(epoch).name);
  EXPECT_NE(k.name, other_seed.key_for(epoch).name);
  EXPECT_NE(k.hmac, other_seed.key_for(epoch).hmac);
}

TEST(TicketKeys, EveryEpochHasItsOwnKey) {
  const TicketKeyRing ring(opts("seed"));
  std::set<std::array<unsigned char, 16>> names;
  std::set<std::array<unsigned char, 32>> aes;
  for (std::int64_t epoch = 0; epoch < 50; ++epoch) {
    const TicketKeyRing::Key k = ring.key_for(epoch);
    names.insert(k.name);
    aes.insert(k.aes);
    EXPECT_NE(k.aes, k.hmac);
  }
  EXPECT_EQ(names.size(), 50U);
  EXPECT_EQ(aes.size(), 50U);
}

TEST(TicketKeys, EpochFollowsTheClock) {
  std::int64_t now = 10 * 3600 + 3599;
  const TicketKeyRing ring(opts("seed"), [&now] { return now; });
  EXPECT_EQ(ring.current_epoch(), 10);
  EXPECT_EQ(ring.current_name(), ring.key_for(10).name);
  now += 1;
  EXPECT_EQ(ring.current_epoch(), 11);
  EXPECT_EQ(ring.current_name(), ring.key_for(11).name);
  now = -1;  // floor, not truncation
  EXPECT_EQ(ring.current_epoch(), -1);

  TicketKeyRing::Options o = opts("seed");
  o.rotation = std::chrono::seconds(60);
  now = 600;
  const TicketKeyRing minutes(o, [&now] { return now; });
  EXPECT_EQ(minutes.current_epoch(), 10);

  // The default clock is unix time.
  const TicketKeyRing real(opts("seed"));
  const std::int64_t unix_now = std::time(nullptr);
  EXPECT_LE(real.current_epoch(), unix_now / 3600 + 1);
  EXPECT_GE(real.current_epoch(), unix_now / 3600);
}

TEST(TicketKeys, EmptySeedIsRandomPerRing) {
  const TicketKeyRing a(opts(""));
  const TicketKeyRing b(opts(""));
  EXPECT_NE(a.key_for(1).name, b.key_for(1).name);
  EXPECT_TRUE(same_key(a.key_for(1), a.key_for(1)));
}

TEST(TicketKeys, BadOptionsAreRefused) {
  TicketKeyRing::Options o = opts("seed");
  o.rotation = std::chrono::seconds(0);
  EXPECT_THROW(TicketKeyRing{o}, std::invalid_argument);
  o = opts("seed");
  o.previous = -1;
  EXPECT_THROW(TicketKeyRing{o}, std::invalid_argument);
}

// --- Resumption through shared ticket keys ------------------------------------

std::string name_of(const SSL_SESSION* session) {
  return ticket_of(session).substr(0, 16);
}
std::string name_of(const std::array<unsigned char, 16>& name) {
  return {reinterpret_cast<const char*>(name.data()), name.size()};
}

/// Runs for TLS 1.3 and for a client limited to TLS 1.2.
class TicketResumption : public ::testing::TestWithParam<int> {
 protected:
  static const SelfSigned& cert() {
    static const SelfSigned c = make_self_signed({"localhost"});
    return c;
  }
  void SetUp() override {
    client_ = make_client_ctx(cert());
    ASSERT_EQ(SSL_CTX_set_max_proto_version(client_.get(), GetParam()), 1);
  }

  /// A server context with `ring` installed (none: OpenSSL's own ticket keys).
  static SslCtxPtr server(TicketKeyRing* ring, std::uint64_t options = 0) {
    SslCtxPtr ctx = make_server_ctx(cert());
    if (ring != nullptr) ring->install(ctx.get());
    SSL_CTX_set_options(ctx.get(), options);
    return ctx;
  }
  /// A full handshake that leaves the client with a ticket.
  Handshake issue(SSL_CTX* server_ctx) {
    Handshake h = connect(client_.get(), server_ctx);
    EXPECT_TRUE(h.ok) << h.error;
    EXPECT_FALSE(h.resumed);
    EXPECT_EQ(h.version, GetParam());
    EXPECT_TRUE(h.session && SSL_SESSION_has_ticket(h.session.get()) == 1);
    return h;
  }
  Handshake resume(SSL_CTX* server_ctx, const Handshake& from) {
    Handshake h = connect(client_.get(), server_ctx, from.session.get());
    EXPECT_TRUE(h.ok) << h.error;
    EXPECT_EQ(h.version, GetParam());
    return h;
  }

  SslCtxPtr client_;
};

TEST_P(TicketResumption, AnotherServerWithTheSameSeedResumes) {
  TicketKeyRing ring_a(opts("shared seed"));
  TicketKeyRing ring_b(opts("shared seed"));
  SslCtxPtr a = server(&ring_a);
  SslCtxPtr b = server(&ring_b);

  const Handshake first = issue(a.get());
  ASSERT_TRUE(first.session);
  EXPECT_EQ(name_of(first.session.get()), name_of(ring_a.current_name()));

  const Handshake on_b = resume(b.get(), first);
  EXPECT_TRUE(on_b.resumed);
  const Handshake on_a = resume(a.get(), first);
  EXPECT_TRUE(on_a.resumed);
  // And the other way round.
  const Handshake from_b = issue(b.get());
  EXPECT_TRUE(resume(a.get(), from_b).resumed);
}

TEST_P(TicketResumption, ADifferentSeedOrContextDoesNotResume) {
  TicketKeyRing ring_a(opts("shared seed"));
  TicketKeyRing other_seed(opts("another seed"));
  TicketKeyRing other_context(opts("shared seed", "another context"));
  SslCtxPtr a = server(&ring_a);
  SslCtxPtr c = server(&other_seed);
  SslCtxPtr d = server(&other_context);
  const Handshake first = issue(a.get());

  const Handshake on_c = resume(c.get(), first);
  EXPECT_FALSE(on_c.resumed);  // a full handshake, not a failure
  EXPECT_FALSE(resume(d.get(), first).resumed);
  // The new session C handed out resumes on C.
  EXPECT_TRUE(resume(c.get(), on_c).resumed);
}

TEST_P(TicketResumption, ServersWithoutTheRingOrWithoutTicketsDoNotResume) {
  TicketKeyRing ring(opts("shared seed"));
  SslCtxPtr a = server(&ring);
  SslCtxPtr plain = server(nullptr);  // OpenSSL's own random ticket keys
  SslCtxPtr no_tickets = server(&ring, SSL_OP_NO_TICKET);
  const Handshake first = issue(a.get());

  EXPECT_FALSE(resume(plain.get(), first).resumed);
  EXPECT_FALSE(resume(no_tickets.get(), first).resumed);
  // With tickets off and the session cache off nothing resumes, not even
  // the server's own session (no fallback to session ids).
  const Handshake own = connect(client_.get(), no_tickets.get());
  ASSERT_TRUE(own.ok) << own.error;
  ASSERT_TRUE(own.session);
  EXPECT_FALSE(resume(no_tickets.get(), own).resumed);
}

TEST_P(TicketResumption, RotationAcceptsPreviousKeysAndRenews) {
  constexpr std::int64_t kEpoch = 480000;
  std::int64_t now = kEpoch * 3600 + 5;
  TicketKeyRing::Options o = opts("rotating seed");
  o.rotation = std::chrono::hours(1);
  o.previous = 2;
  TicketKeyRing ring_a(o, [&now] { return now; });
  TicketKeyRing ring_b(o, [&now] { return now; });
  SslCtxPtr a = server(&ring_a);
  SslCtxPtr b = server(&ring_b);

  const Handshake issued = issue(a.get());
  ASSERT_TRUE(issued.session);
  const std::string old_ticket = ticket_of(issued.session.get());
  EXPECT_EQ(name_of(issued.session.get()), name_of(ring_a.key_for(kEpoch).name));

  // Same epoch: accepted as is. OpenSSL sends a ticket after a resumption
  // (TLS 1.2 and 1.3) only when the callback returned 2 (renew), so the
  // client's session still carries the old ticket.
  const Handshake same = resume(b.get(), issued);
  EXPECT_TRUE(same.resumed);
  EXPECT_EQ(ticket_of(same.session.get()), old_ticket);
  EXPECT_EQ(name_of(same.session.get()), name_of(ring_b.key_for(kEpoch).name));

  // One and `previous` epochs later: accepted and renewed (a new ticket
  // under the current key, i.e. the callback returned 2).
  for (std::int64_t later : {std::int64_t{1}, std::int64_t{2}}) {
    now = (kEpoch + later) * 3600 + 5;
    const Handshake h = resume(b.get(), issued);
    EXPECT_TRUE(h.resumed) << "epoch +" << later;
    EXPECT_NE(ticket_of(h.session.get()), old_ticket) << "epoch +" << later;
    EXPECT_EQ(name_of(h.session.get()), name_of(ring_b.key_for(kEpoch + later).name))
        << "epoch +" << later;
  }

  // previous + 1 epochs later: expired, a full handshake with a fresh ticket.
  now = (kEpoch + 3) * 3600 + 5;
  const Handshake expired = resume(b.get(), issued);
  EXPECT_FALSE(expired.resumed);
  EXPECT_EQ(name_of(expired.session.get()), name_of(ring_b.key_for(kEpoch + 3).name));
}

TEST_P(TicketResumption, TheNextEpochsKeyIsAcceptedForClockSkew) {
  constexpr std::int64_t kEpoch = 480000;
  std::int64_t ahead = (kEpoch + 1) * 3600 + 1;
  std::int64_t behind = kEpoch * 3600 + 3599;
  TicketKeyRing ring_ahead(opts("skewed seed"), [&ahead] { return ahead; });
  TicketKeyRing ring_behind(opts("skewed seed"), [&behind] { return behind; });
  SslCtxPtr fast = server(&ring_ahead);
  SslCtxPtr slow = server(&ring_behind);

  const Handshake issued = issue(fast.get());
  ASSERT_TRUE(issued.session);
  EXPECT_EQ(name_of(issued.session.get()), name_of(ring_ahead.key_for(kEpoch + 1).name));
  const Handshake h = resume(slow.get(), issued);
  EXPECT_TRUE(h.resumed);
  // Renewed under the slow server's current key.
  EXPECT_NE(ticket_of(h.session.get()), ticket_of(issued.session.get()));
  EXPECT_EQ(name_of(h.session.get()), name_of(ring_behind.key_for(kEpoch).name));

  // Two epochs ahead is not accepted.
  ahead = (kEpoch + 2) * 3600 + 1;
  const Handshake too_far = issue(fast.get());
  EXPECT_FALSE(resume(slow.get(), too_far).resumed);
}

INSTANTIATE_TEST_SUITE_P(Tls, TicketResumption, ::testing::Values(TLS1_3_VERSION, TLS1_2_VERSION),
                         [](const ::testing::TestParamInfo<int>& param) {
                           return param.param == TLS1_3_VERSION ? std::string("Tls13")
                                                                : std::string("Tls12");
                         });

TEST(TicketResumptionThreads, ConcurrentHandshakesShareOneRing) {
  const SelfSigned cert = make_self_signed({"localhost"});
  TicketKeyRing ring(opts("threaded seed"));
  TicketKeyRing ring2(opts("threaded seed"));
  SslCtxPtr a = make_server_ctx(cert);
  SslCtxPtr b = make_server_ctx(cert);
  ring.install(a.get());
  ring2.install(b.get());
  SslCtxPtr client = make_client_ctx(cert);

  constexpr int kThreads = 4;
  constexpr int kRounds = 10;
  std::atomic<int> resumed{0};
  std::atomic<int> failed{0};
  std::vector<std::thread> threads;
  threads.reserve(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kRounds; ++i) {
        const Handshake first = connect(client.get(), a.get());
        if (!first.ok || !first.session) {
          ++failed;
          continue;
        }
        const Handshake again = connect(client.get(), b.get(), first.session.get());
        if (!again.ok) ++failed;
        if (again.resumed) ++resumed;
        static_cast<void>(ring.current_name());
      }
    });
  }
  for (auto& th : threads)
    th.join();
  EXPECT_EQ(failed.load(), 0);
  EXPECT_EQ(resumed.load(), kThreads * kRounds);
}

}  // namespace
}  // namespace weft::test
