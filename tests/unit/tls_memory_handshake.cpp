#include "tls_memory_handshake.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include <array>
#include <climits>
#include <cstddef>
#include <stdexcept>

namespace weft::test {
namespace {

struct BioFree {
  void operator()(BIO* p) const noexcept { BIO_free_all(p); }
};
struct X509Free {
  void operator()(X509* p) const noexcept { X509_free(p); }
};
struct PkeyFree {
  void operator()(EVP_PKEY* p) const noexcept { EVP_PKEY_free(p); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;
using X509Ptr = std::unique_ptr<X509, X509Free>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;

/// Appends and clears this thread's OpenSSL error queue.
std::string openssl_errors() {
  std::string out;
  for (unsigned long e = ERR_get_error(); e != 0; e = ERR_get_error()) {
    std::array<char, 256> buf{};
    ERR_error_string_n(e, buf.data(), buf.size());
    if (!out.empty()) out += "; ";
    out += buf.data();
  }
  return out;
}

[[noreturn]] void fail_setup(const std::string& what) {
  throw std::runtime_error("tls test setup: " + what + ": " + openssl_errors());
}

BioPtr mem_buf(const std::string& pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) fail_setup("BIO_new_mem_buf");
  return bio;
}

X509Ptr read_cert(const std::string& pem) {
  BioPtr bio = mem_buf(pem);
  X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (!cert) fail_setup("PEM_read_bio_X509");
  return cert;
}

bool is_ip(const std::string& host) {
  std::array<unsigned char, sizeof(in6_addr)> buf{};
  return inet_pton(AF_INET, host.c_str(), buf.data()) == 1 ||
         inet_pton(AF_INET6, host.c_str(), buf.data()) == 1;
}

// Bounds every loop here: a correct exchange needs far fewer rounds.
constexpr int kMaxRounds = 1000;

}  // namespace

SslCtxPtr make_server_ctx(const detail::SelfSigned& cert) {
  SslCtxPtr ctx(SSL_CTX_new(TLS_server_method()));
  if (!ctx) fail_setup("SSL_CTX_new");
  X509Ptr x509 = read_cert(cert.cert_pem);
  BioPtr bio = mem_buf(cert.key_pem);
  PkeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (!key) fail_setup("PEM_read_bio_PrivateKey");
  if (SSL_CTX_use_certificate(ctx.get(), x509.get()) != 1) fail_setup("SSL_CTX_use_certificate");
  if (SSL_CTX_use_PrivateKey(ctx.get(), key.get()) != 1) fail_setup("SSL_CTX_use_PrivateKey");
  if (SSL_CTX_check_private_key(ctx.get()) != 1) fail_setup("SSL_CTX_check_private_key");
  SSL_CTX_set_session_cache_mode(ctx.get(), SSL_SESS_CACHE_OFF);
  static constexpr std::array<unsigned char, 9> kSidCtx = {'w', 'e', 'f', 't', '-',
                                                           't', 'e', 's', 't'};
  if (SSL_CTX_set_session_id_context(ctx.get(), kSidCtx.data(), kSidCtx.size()) != 1) {
    fail_setup("SSL_CTX_set_session_id_context");
  }
  return ctx;
}

SslCtxPtr make_client_ctx(const detail::SelfSigned& trusted) {
  SslCtxPtr ctx(SSL_CTX_new(TLS_client_method()));
  if (!ctx) fail_setup("SSL_CTX_new");
  X509Ptr x509 = read_cert(trusted.cert_pem);
  if (X509_STORE_add_cert(SSL_CTX_get_cert_store(ctx.get()), x509.get()) != 1) {
    fail_setup("X509_STORE_add_cert");
  }
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
  return ctx;
}

MemoryTls::MemoryTls(SSL_CTX* client_ctx, SSL_CTX* server_ctx, const std::string& host,
                     SSL_SESSION* resume)
    : client_(SSL_new(client_ctx)), server_(SSL_new(server_ctx)) {
  if (!client_ || !server_) fail_setup("SSL_new");
  BIO* client_bio = nullptr;
  BIO* server_bio = nullptr;
  if (BIO_new_bio_pair(&client_bio, 0, &server_bio, 0) != 1) fail_setup("BIO_new_bio_pair");
  // Each SSL owns its half of the pair from here on.
  SSL_set_bio(client_.get(), client_bio, client_bio);
  SSL_set_bio(server_.get(), server_bio, server_bio);
  SSL_set_connect_state(client_.get());
  SSL_set_accept_state(server_.get());
  if (!host.empty()) {
    if (is_ip(host)) {
      if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(client_.get()), host.c_str()) != 1) {
        fail_setup("X509_VERIFY_PARAM_set1_ip_asc");
      }
    } else {
      // SSL_set_tlsext_host_name, without the macro's C cast.
      if (SSL_ctrl(client_.get(), SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
                   const_cast<char*>(host.c_str())) != 1) {
        fail_setup("SSL_set_tlsext_host_name");
      }
      if (SSL_set1_host(client_.get(), host.c_str()) != 1) fail_setup("SSL_set1_host");
    }
  }
  if (resume != nullptr && SSL_set_session(client_.get(), resume) != 1) {
    fail_setup("SSL_set_session");
  }
}

MemoryTls::~MemoryTls() {
  if (SSL_is_init_finished(client_.get()) == 1 && SSL_is_init_finished(server_.get()) == 1) {
    static_cast<void>(close());
  }
  static_cast<void>(openssl_errors());  // leave this thread's error queue empty
}

bool MemoryTls::close() {
  if (closed_) return true;
  closed_ = true;
  int ret = SSL_shutdown(client_.get());
  if (ret < 0) return fail("client", client_.get(), ret);
  if (!pump()) return false;
  ret = SSL_shutdown(server_.get());
  if (ret < 0) return fail("server", server_.get(), ret);
  return pump();
}

bool MemoryTls::fail(const char* side, SSL* ssl, int ret) {
  const int err = SSL_get_error(ssl, ret);
  std::string msg = std::string(side) + ": SSL_get_error " + std::to_string(err);
  const std::string reasons = openssl_errors();
  if (!reasons.empty()) msg += " (" + reasons + ")";
  const long verify = SSL_get_verify_result(ssl);
  if (verify != X509_V_OK) {
    msg += std::string(", verify: ") + X509_verify_cert_error_string(verify);
  }
  if (error_.empty()) error_ = msg;
  return false;
}

bool MemoryTls::step(SSL* ssl, const char* side, bool& done) {
  if (done) return true;
  const int ret = SSL_do_handshake(ssl);
  if (ret == 1) {
    done = true;
    return true;
  }
  const int err = SSL_get_error(ssl, ret);
  if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) return true;
  return fail(side, ssl, ret);
}

bool MemoryTls::handshake() {
  bool client_done = false;
  bool server_done = false;
  for (int round = 0; round < kMaxRounds; ++round) {
    if (!step(client_.get(), "client", client_done)) return false;
    if (!step(server_.get(), "server", server_done)) return false;
    if (client_done && server_done) return true;
    // Neither side finished and nothing is in flight: it cannot progress.
    if (BIO_ctrl_pending(SSL_get_rbio(client_.get())) == 0 &&
        BIO_ctrl_pending(SSL_get_rbio(server_.get())) == 0) {
      error_ = "handshake stalled";
      return false;
    }
  }
  error_ = "handshake did not finish";
  return false;
}

bool MemoryTls::read_all(SSL* ssl, const char* side, std::string& into) {
  std::array<char, 16384> buf{};
  for (int round = 0; round < kMaxRounds; ++round) {
    std::size_t n = 0;
    const int ret = SSL_read_ex(ssl, buf.data(), buf.size(), &n);
    if (ret == 1) {
      into.append(buf.data(), n);
      continue;
    }
    const int err = SSL_get_error(ssl, ret);
    if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE || err == SSL_ERROR_ZERO_RETURN) {
      return true;
    }
    return fail(side, ssl, ret);
  }
  error_ = std::string(side) + ": read did not finish";
  return false;
}

bool MemoryTls::pump() {
  // Reading may make a side write (a key update answer), so go round until
  // nothing is in flight either way.
  for (int round = 0; round < kMaxRounds; ++round) {
    if (!read_all(client_.get(), "client", client_in_)) return false;
    if (!read_all(server_.get(), "server", server_in_)) return false;
    if (BIO_ctrl_pending(SSL_get_rbio(client_.get())) == 0 &&
        BIO_ctrl_pending(SSL_get_rbio(server_.get())) == 0) {
      return true;
    }
  }
  error_ = "pump did not finish";
  return false;
}

bool MemoryTls::write_all(SSL* from, const char* side, SSL* to, std::string& into,
                          std::string_view data) {
  const char* other = to == server_.get() ? "server" : "client";
  for (int round = 0; round < kMaxRounds && !data.empty(); ++round) {
    std::size_t n = 0;
    const int ret = SSL_write_ex(from, data.data(), data.size(), &n);
    if (ret == 1) {
      data.remove_prefix(n);
    } else {
      const int err = SSL_get_error(from, ret);
      if (err != SSL_ERROR_WANT_WRITE && err != SSL_ERROR_WANT_READ) return fail(side, from, ret);
    }
    if (!read_all(to, other, into)) return false;
  }
  if (!data.empty()) {
    error_ = std::string(side) + ": write did not finish";
    return false;
  }
  return read_all(to, other, into);
}

bool MemoryTls::client_write(std::string_view data) {
  return write_all(client_.get(), "client", server_.get(), server_in_, data);
}

bool MemoryTls::server_write(std::string_view data) {
  return write_all(server_.get(), "server", client_.get(), client_in_, data);
}

bool MemoryTls::resumed() const {
  return SSL_session_reused(client_.get()) == 1;
}

SessionPtr MemoryTls::client_session() const {
  return SessionPtr(SSL_get1_session(client_.get()));
}

Handshake connect(SSL_CTX* client_ctx, SSL_CTX* server_ctx, SSL_SESSION* resume,
                  const std::string& host) {
  Handshake out;
  MemoryTls tls(client_ctx, server_ctx, host, resume);
  out.ok = tls.handshake() && tls.pump();
  if (out.ok) {
    out.resumed = tls.resumed();
    out.version = SSL_version(tls.client());
    out.session = tls.client_session();
    out.ok = tls.close();
  }
  out.error = tls.error();
  return out;
}

std::string ticket_of(const SSL_SESSION* session) {
  if (session == nullptr || SSL_SESSION_has_ticket(session) != 1) return {};
  const unsigned char* tick = nullptr;
  std::size_t len = 0;
  SSL_SESSION_get0_ticket(session, &tick, &len);
  return {reinterpret_cast<const char*>(tick), len};
}

}  // namespace weft::test
