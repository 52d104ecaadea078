#include "tls/openssl_util.hpp"

#include <openssl/err.h>
#include <openssl/pem.h>

#include <signal.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "weft/error.hpp"

namespace weft::detail {

void ignore_sigpipe() noexcept {
  struct sigaction current {};
  if (::sigaction(SIGPIPE, nullptr, &current) == 0 && current.sa_handler == SIG_DFL) {
    struct sigaction ignore {};
    ignore.sa_handler = SIG_IGN;
    sigemptyset(&ignore.sa_mask);
    ::sigaction(SIGPIPE, &ignore, nullptr);
  }
}

std::string openssl_reason() {
  std::string out;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out.empty() ? "unknown OpenSSL error" : out;
}

void bad_tls_field(const char* field, const std::string& why) {
  throw ConfigError(std::string("config field \"") + field + "\": " + why);
}

BioPtr mem_bio(const std::string& text) {
  return BioPtr(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
}

int tls_version_number(const std::string& v) {
  return v == "1.3" ? TLS1_3_VERSION : TLS1_2_VERSION;
}

std::string read_file(const std::string& path, const char* field) {
  std::ifstream in(path, std::ios::binary);
  if (!in) bad_tls_field(field, "cannot read \"" + path + "\": " + std::strerror(errno));
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string read_pem_value(const std::string& value, const char* field) {
  if (value.starts_with("-----BEGIN")) return value;
  return read_file(value, field);
}

void use_chain(SSL_CTX* ctx, const std::string& pem, const char* field) {
  BioPtr bio = mem_bio(pem);
  X509* leaf = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr);
  if (!leaf) bad_tls_field(field, "no certificate found: " + openssl_reason());
  const int ok = SSL_CTX_use_certificate(ctx, leaf);
  X509_free(leaf);
  if (ok != 1) bad_tls_field(field, "certificate rejected: " + openssl_reason());
  // The rest of the file is the chain, served whole.
  while (X509* extra = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
    if (SSL_CTX_add0_chain_cert(ctx, extra) != 1) {
      X509_free(extra);
      bad_tls_field(field, "chain certificate rejected: " + openssl_reason());
    }
  }
  ERR_clear_error();  // the loop ends on "no start line"
}

void use_key(SSL_CTX* ctx, const std::string& pem, const char* field) {
  BioPtr bio = mem_bio(pem);
  EVP_PKEY* key = PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr);
  if (!key) bad_tls_field(field, "no private key found: " + openssl_reason());
  const int ok = SSL_CTX_use_PrivateKey(ctx, key);
  EVP_PKEY_free(key);
  if (ok != 1) bad_tls_field(field, "private key rejected: " + openssl_reason());
  if (SSL_CTX_check_private_key(ctx) != 1) {
    bad_tls_field(field, "the private key does not match the certificate");
  }
}

}  // namespace weft::detail
