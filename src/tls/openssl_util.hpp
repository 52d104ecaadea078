// Small OpenSSL helpers shared by the server and client contexts: error
// text, PEM values (a path or the text itself), certificates and keys.
#pragma once

#include <openssl/bio.h>
#include <openssl/ssl.h>

#include <memory>
#include <string>

namespace weft::detail {

/// OpenSSL writes the socket with write(2), which raises SIGPIPE when the peer
/// has gone; a server must not die of that. Sets SIGPIPE to SIG_IGN if it
/// still has the default action (a handler the application installed stays).
void ignore_sigpipe() noexcept;

/// Drains OpenSSL's (per-thread) error queue into one line.
std::string openssl_reason();

/// Throws ConfigError("config field \"field\": why").
[[noreturn]] void bad_tls_field(const char* field, const std::string& why);

struct BioFree {
  void operator()(BIO* b) const noexcept { BIO_free(b); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;
/// A read-only memory BIO over `text` (which must outlive it).
BioPtr mem_bio(const std::string& text);

/// "1.2" / "1.3" as TLS1_2_VERSION / TLS1_3_VERSION.
int tls_version_number(const std::string& v);

/// A file's bytes; errors name `field`.
std::string read_file(const std::string& path, const char* field);
/// A PEM value: a file path, or the PEM text itself ("-----BEGIN...").
std::string read_pem_value(const std::string& value, const char* field);

/// Installs a certificate chain (leaf first; the rest served as the chain).
void use_chain(SSL_CTX* ctx, const std::string& pem, const char* field);
/// Installs the private key and checks it matches the certificate.
void use_key(SSL_CTX* ctx, const std::string& pem, const char* field);

}  // namespace weft::detail
