// Throwaway certificates made in memory with OpenSSL 3: an EC P-256 key, an
// X.509 v3 certificate (random serial, subjectAltName, basicConstraints,
// keyUsage, extendedKeyUsage) signed with SHA-256 by itself or by an issuer.
#include "tls/self_signed.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <array>
#include <climits>
#include <cstddef>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace weft::detail {
namespace {

template <auto Free>
struct Deleter {
  template <class T>
  void operator()(T* p) const noexcept {
    Free(p);
  }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY_free>>;
using PkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, Deleter<EVP_PKEY_CTX_free>>;
using X509Ptr = std::unique_ptr<X509, Deleter<X509_free>>;
using BioPtr = std::unique_ptr<BIO, Deleter<BIO_free_all>>;
using BnPtr = std::unique_ptr<BIGNUM, Deleter<BN_free>>;
using ExtPtr = std::unique_ptr<X509_EXTENSION, Deleter<X509_EXTENSION_free>>;
using GeneralNamesPtr = std::unique_ptr<GENERAL_NAMES, Deleter<GENERAL_NAMES_free>>;
using GeneralNamePtr = std::unique_ptr<GENERAL_NAME, Deleter<GENERAL_NAME_free>>;
using Asn1StringPtr = std::unique_ptr<ASN1_STRING, Deleter<ASN1_STRING_free>>;

/// Throws with OpenSSL's reason for the last failure (and empties its queue).
[[noreturn]] void fail(const std::string& what) {
  const unsigned long code = ERR_peek_last_error();
  std::string msg = "weft tls: " + what;
  if (code != 0) {
    std::array<char, 256> buf{};
    ERR_error_string_n(code, buf.data(), buf.size());
    msg += ": ";
    msg += buf.data();
  }
  ERR_clear_error();
  throw std::runtime_error(msg);
}

void check(int ok, const char* what) {
  if (ok <= 0) fail(what);
}

PkeyPtr make_key() {
  PkeyCtxPtr kctx(EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr));
  if (!kctx) fail("EVP_PKEY_CTX_new_from_name(EC)");
  check(EVP_PKEY_keygen_init(kctx.get()), "EVP_PKEY_keygen_init");
  check(EVP_PKEY_CTX_set_group_name(kctx.get(), "P-256"), "EVP_PKEY_CTX_set_group_name(P-256)");
  EVP_PKEY* raw = nullptr;
  check(EVP_PKEY_generate(kctx.get(), &raw), "EVP_PKEY_generate");
  return PkeyPtr(raw);
}

BioPtr mem_buf(const std::string& pem) {
  if (pem.size() > static_cast<std::size_t>(INT_MAX)) fail("PEM too large");
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) fail("BIO_new_mem_buf");
  return bio;
}

X509Ptr read_cert(const std::string& pem) {
  BioPtr bio = mem_buf(pem);
  X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (!cert) fail("PEM_read_bio_X509");
  return cert;
}

PkeyPtr read_key(const std::string& pem) {
  BioPtr bio = mem_buf(pem);
  PkeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (!key) fail("PEM_read_bio_PrivateKey");
  return key;
}

std::string drain(BIO* bio) {
  BUF_MEM* mem = nullptr;
  check(static_cast<int>(BIO_get_mem_ptr(bio, &mem)), "BIO_get_mem_ptr");
  if (mem == nullptr) fail("BIO_get_mem_ptr");
  return {mem->data, mem->length};
}

std::string cert_pem(X509* cert) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio) fail("BIO_new");
  check(PEM_write_bio_X509(bio.get(), cert), "PEM_write_bio_X509");
  return drain(bio.get());
}

std::string key_pem(EVP_PKEY* key) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio) fail("BIO_new");
  check(PEM_write_bio_PKCS8PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr),
        "PEM_write_bio_PKCS8PrivateKey");
  return drain(bio.get());
}

std::string fingerprint(const X509* cert) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
  unsigned int len = 0;
  check(X509_digest(cert, EVP_sha256(), md.data(), &len), "X509_digest");
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(len * 3);
  for (unsigned int i = 0; i < len; ++i) {
    if (i != 0) out += ':';
    out += kHex[md[i] >> 4];
    out += kHex[md[i] & 0x0f];
  }
  return out;
}

/// A subjectAltName entry: an IP address when `name` parses as IPv4 or
/// IPv6, otherwise a DNS name.
GeneralNamePtr general_name(const std::string& name) {
  std::array<unsigned char, sizeof(in6_addr)> addr{};
  int len = 0;
  if (inet_pton(AF_INET, name.c_str(), addr.data()) == 1) {
    len = sizeof(in_addr);
  } else if (inet_pton(AF_INET6, name.c_str(), addr.data()) == 1) {
    len = sizeof(in6_addr);
  }
  GeneralNamePtr gn(GENERAL_NAME_new());
  if (!gn) fail("GENERAL_NAME_new");
  if (len != 0) {
    Asn1StringPtr ip(ASN1_OCTET_STRING_new());
    if (!ip) fail("ASN1_OCTET_STRING_new");
    check(ASN1_OCTET_STRING_set(ip.get(), addr.data(), len), "ASN1_OCTET_STRING_set");
    GENERAL_NAME_set0_value(gn.get(), GEN_IPADD, ip.release());
  } else {
    if (name.empty() || name.size() > static_cast<std::size_t>(INT_MAX)) fail("bad DNS name");
    Asn1StringPtr dns(ASN1_IA5STRING_new());
    if (!dns) fail("ASN1_IA5STRING_new");
    check(ASN1_STRING_set(dns.get(), name.data(), static_cast<int>(name.size())),
          "ASN1_STRING_set");
    GENERAL_NAME_set0_value(gn.get(), GEN_DNS, dns.release());
  }
  return gn;
}

void add_san(X509* cert, const std::vector<std::string>& names) {
  GeneralNamesPtr gens(sk_GENERAL_NAME_new_null());
  if (!gens) fail("sk_GENERAL_NAME_new_null");
  for (const auto& name : names) {
    GeneralNamePtr gn = general_name(name);
    if (sk_GENERAL_NAME_push(gens.get(), gn.get()) <= 0) fail("sk_GENERAL_NAME_push");
    static_cast<void>(gn.release());  // owned by gens now
  }
  check(X509_add1_ext_i2d(cert, NID_subject_alt_name, gens.get(), 0, X509V3_ADD_REPLACE),
        "X509_add1_ext_i2d(subjectAltName)");
}

void add_ext(X509* cert, X509V3_CTX* v3, int nid, const char* value) {
  ExtPtr ext(X509V3_EXT_nconf_nid(nullptr, v3, nid, value));
  if (!ext) fail(std::string("X509V3_EXT_nconf_nid(") + OBJ_nid2sn(nid) + ")");
  check(X509_add_ext(cert, ext.get(), -1), "X509_add_ext");
}

/// Builds and signs a certificate for `key` (subject `names`), issued by
/// `issuer` (nullptr: self-signed) whose private key is `issuer_key`.
X509Ptr make_cert(EVP_PKEY* key, const std::vector<std::string>& names, int days, bool ca,
                  X509* issuer, EVP_PKEY* issuer_key) {
  if (names.empty()) fail("a certificate needs at least one name");
  X509Ptr cert(X509_new());
  if (!cert) fail("X509_new");
  check(X509_set_version(cert.get(), X509_VERSION_3), "X509_set_version");

  // A random positive 159-bit serial (at most 20 octets, RFC 5280 4.1.2.2).
  BnPtr serial(BN_new());
  if (!serial) fail("BN_new");
  check(BN_rand(serial.get(), 159, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY), "BN_rand");
  if (BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(cert.get())) == nullptr) {
    fail("BN_to_ASN1_INTEGER");
  }

  if (X509_gmtime_adj(X509_getm_notBefore(cert.get()), 0) == nullptr) fail("X509_gmtime_adj");
  if (X509_time_adj_ex(X509_getm_notAfter(cert.get()), days, 0, nullptr) == nullptr) {
    fail("X509_time_adj_ex");
  }
  check(X509_set_pubkey(cert.get(), key), "X509_set_pubkey");

  X509_NAME* subject = X509_get_subject_name(cert.get());
  const std::string& cn = names.front();
  if (cn.size() > static_cast<std::size_t>(INT_MAX)) fail("name too long");
  check(X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_UTF8,
                                   reinterpret_cast<const unsigned char*>(cn.data()),
                                   static_cast<int>(cn.size()), -1, 0),
        "X509_NAME_add_entry_by_txt(CN)");
  check(
      X509_set_issuer_name(cert.get(), issuer != nullptr ? X509_get_subject_name(issuer) : subject),
      "X509_set_issuer_name");

  X509V3_CTX v3{};
  X509V3_set_ctx(&v3, issuer != nullptr ? issuer : cert.get(), cert.get(), nullptr, nullptr, 0);
  add_ext(cert.get(), &v3, NID_basic_constraints, ca ? "critical,CA:TRUE" : "critical,CA:FALSE");
  add_ext(cert.get(), &v3, NID_key_usage,
          ca ? "critical,digitalSignature,keyCertSign,cRLSign" : "critical,digitalSignature");
  add_ext(cert.get(), &v3, NID_ext_key_usage, "serverAuth,clientAuth");
  add_ext(cert.get(), &v3, NID_subject_key_identifier, "hash");
  if (issuer != nullptr) add_ext(cert.get(), &v3, NID_authority_key_identifier, "keyid");
  add_san(cert.get(), names);

  check(X509_sign(cert.get(), issuer_key != nullptr ? issuer_key : key, EVP_sha256()), "X509_sign");
  return cert;
}

}  // namespace

SelfSigned make_self_signed(const std::vector<std::string>& names, int days, bool ca) {
  PkeyPtr key = make_key();
  X509Ptr cert = make_cert(key.get(), names, days, ca, nullptr, nullptr);
  return SelfSigned{cert_pem(cert.get()), key_pem(key.get()), fingerprint(cert.get())};
}

SelfSigned make_signed_by(const SelfSigned& issuer, const std::vector<std::string>& names,
                          int days) {
  X509Ptr issuer_cert = read_cert(issuer.cert_pem);
  PkeyPtr issuer_key = read_key(issuer.key_pem);
  check(X509_check_private_key(issuer_cert.get(), issuer_key.get()),
        "the issuer's key does not match its certificate");
  PkeyPtr key = make_key();
  X509Ptr cert = make_cert(key.get(), names, days, false, issuer_cert.get(), issuer_key.get());
  return SelfSigned{cert_pem(cert.get()), key_pem(key.get()), fingerprint(cert.get())};
}

std::string fingerprint_sha256(const std::string& cert_pem) {
  return fingerprint(read_cert(cert_pem).get());
}

}  // namespace weft::detail
