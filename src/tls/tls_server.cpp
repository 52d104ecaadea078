#include "tls/tls_server.hpp"

#include <openssl/err.h>
#include <openssl/ocsp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <cstring>
#include <fstream>
#include <sstream>

#include "tls/ktls.hpp"
#include "tls/openssl_util.hpp"
#include "tls/tls13_handoff.hpp"
#include "tls/tls_layer.hpp"
#include "weft/error.hpp"
#include "weft/log.hpp"

namespace weft::detail {

namespace {

// An OCSP response file, DER or PEM; checked to parse, served as DER.
std::string load_ocsp(const std::string& path) {
  std::string data = read_file(path, "sslOcspStaple");
  if (data.starts_with("-----BEGIN")) {
    BioPtr bio = mem_bio(data);
    char* name = nullptr;
    char* header = nullptr;
    unsigned char* der = nullptr;
    long len = 0;
    if (PEM_read_bio(bio.get(), &name, &header, &der, &len) != 1) {
      bad_tls_field("sslOcspStaple", "not a PEM block: " + openssl_reason());
    }
    data.assign(reinterpret_cast<const char*>(der), static_cast<std::size_t>(len));
    OPENSSL_free(name);
    OPENSSL_free(header);
    OPENSSL_free(der);
  }
  const auto* p = reinterpret_cast<const unsigned char*>(data.data());
  OCSP_RESPONSE* resp = d2i_OCSP_RESPONSE(nullptr, &p, static_cast<long>(data.size()));
  if (!resp) bad_tls_field("sslOcspStaple", "not an OCSP response: " + openssl_reason());
  OCSP_RESPONSE_free(resp);
  return data;
}

}  // namespace

TlsServerContext::TlsServerContext(const TlsConfig& cfg) : cfg_(cfg) {
  ignore_sigpipe();
  if (cfg_.ktls == KtlsPolicy::required && !kernel_tls().ulp_available) {
    throw ConfigError("ktlsPolicy \"required\": kernel TLS offload is impossible here: " +
                      kernel_tls().reason);
  }
  for (const auto& proto : cfg_.alpn) {
    alpn_wire_.push_back(static_cast<char>(proto.size()));
    alpn_wire_ += proto;
  }
  if (!cfg_.ocsp_staple.empty()) ocsp_der_ = load_ocsp(cfg_.ocsp_staple);
  if (!cfg_.tickets_disabled) {
    TicketKeyRing::Options o;
    o.seed = cfg_.ticket_seed;
    o.context = cfg_.ticket_context;
    o.rotation = std::chrono::seconds(cfg_.ticket_rotation_s);
    o.previous = cfg_.ticket_previous_keys;
    tickets_ = std::make_unique<TicketKeyRing>(o);
  }
  try {
    entries_.push_back({make_ctx(cfg_.cert, "sslPem"), nullptr});
    for (const auto& pair : cfg_.sni)
      entries_.push_back({make_ctx(pair, "sslCerts"), nullptr});
  } catch (...) {
    for (auto& e : entries_)
      SSL_CTX_free(e.ctx);
    throw;
  }
  for (auto& e : entries_)
    e.leaf = SSL_CTX_get0_certificate(e.ctx);
  if (entries_.size() > 1) {
    // (The OpenSSL macros for these two callbacks use C casts.)
    SSL_CTX_callback_ctrl(entries_[0].ctx, SSL_CTRL_SET_TLSEXT_SERVERNAME_CB,
                          reinterpret_cast<void (*)()>(&TlsServerContext::on_servername));
    SSL_CTX_set_tlsext_servername_arg(entries_[0].ctx, this);
  }
}

TlsServerContext::~TlsServerContext() {
  for (auto& e : entries_)
    SSL_CTX_free(e.ctx);
}

SSL_CTX* TlsServerContext::make_ctx(const TlsCertPair& pair, const char* field) {
  SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
  if (!ctx) throw std::runtime_error("SSL_CTX_new: " + openssl_reason());
  try {
    SSL_CTX_set_min_proto_version(ctx, tls_version_number(cfg_.min_version));
    SSL_CTX_set_max_proto_version(ctx, tls_version_number(cfg_.max_version));
    std::uint64_t opts = SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE |
                         SSL_OP_IGNORE_UNEXPECTED_EOF | SSL_OP_NO_COMPRESSION;
    // Only ask OpenSSL for kTLS when the kernel has it: each attempt costs
    // two failing setsockopt calls per handshake otherwise. (Connections
    // still report why they are not offloaded.)
    if (ktls_enabled() && kernel_tls().ulp_available) opts |= SSL_OP_ENABLE_KTLS;
    if (cfg_.tickets_disabled) opts |= SSL_OP_NO_TICKET;
    SSL_CTX_set_options(ctx, opts);
    // Partial writes: the Conn requeues exactly what was not sent. Buffers
    // are released while a connection is idle.
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                              SSL_MODE_RELEASE_BUFFERS);
    // Read whole socket buffers, not a record header and then its body.
    SSL_CTX_set_read_ahead(ctx, 1);
    // Forward secrecy and AEAD only for TLS 1.2 (AES-GCM, which kTLS can
    // offload, first); TLS 1.3's suites are all AEAD.
    const char* tls12 =
        cfg_.ktls == KtlsPolicy::required ? "ECDHE+AESGCM" : "ECDHE+AESGCM:ECDHE+CHACHA20";
    if (SSL_CTX_set_cipher_list(ctx, tls12) != 1) {
      throw std::runtime_error("cipher list: " + openssl_reason());
    }
    if (cfg_.ktls == KtlsPolicy::required) {
      SSL_CTX_set_ciphersuites(ctx, "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384");
    }
    // Stateless resumption: tickets only, no server-side session cache.
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    static constexpr unsigned char kSidContext[] = "weft";
    SSL_CTX_set_session_id_context(ctx, kSidContext, sizeof kSidContext - 1);
    if (tickets_) tickets_->install(ctx);
    if (own_records()) Tls13Handoff::enable(ctx);
    // SSL_OP_NO_TICKET alone makes TLS 1.3 send stateful tickets, which
    // cannot resume without a session cache: send none at all.
    if (cfg_.tickets_disabled) SSL_CTX_set_num_tickets(ctx, 0);

    use_chain(ctx, read_pem_value(pair.pem, field), field);
    use_key(ctx, read_pem_value(pair.key, field == std::string("sslPem") ? "sslKey" : field),
            field == std::string("sslPem") ? "sslKey" : field);

    if (!alpn_wire_.empty()) SSL_CTX_set_alpn_select_cb(ctx, &TlsServerContext::on_alpn, this);
    if (!ocsp_der_.empty()) {
      SSL_CTX_callback_ctrl(ctx, SSL_CTRL_SET_TLSEXT_STATUS_REQ_CB,
                            reinterpret_cast<void (*)()>(&TlsServerContext::on_status));
      SSL_CTX_set_tlsext_status_arg(ctx, this);
    }
    if (cfg_.client_auth != ClientAuth::none) {
      if (SSL_CTX_load_verify_locations(ctx, cfg_.client_ca.c_str(), nullptr) != 1) {
        bad_tls_field("tlsClientCA", "cannot load \"" + cfg_.client_ca + "\": " + openssl_reason());
      }
      if (STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(cfg_.client_ca.c_str())) {
        SSL_CTX_set_client_CA_list(ctx, names);
      }
      int mode = SSL_VERIFY_PEER;
      if (cfg_.client_auth == ClientAuth::require) mode |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
      SSL_CTX_set_verify(ctx, mode, nullptr);
    }
  } catch (...) {
    SSL_CTX_free(ctx);
    throw;
  }
  return ctx;
}

SSL* TlsServerContext::new_ssl(int fd) const {
  SSL* ssl = SSL_new(entries_.front().ctx);
  if (!ssl) throw std::runtime_error("SSL_new: " + openssl_reason());
  if (SSL_set_fd(ssl, fd) != 1) {
    SSL_free(ssl);
    throw std::runtime_error("SSL_set_fd: " + openssl_reason());
  }
  SSL_set_accept_state(ssl);
  return ssl;
}

int TlsServerContext::on_servername(SSL* ssl, int* /*alert*/, void* arg) {
  auto* self = static_cast<TlsServerContext*>(arg);
  const char* name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
  if (!name) return SSL_TLSEXT_ERR_OK;  // no SNI: the default certificate
  for (std::size_t i = 1; i < self->entries_.size(); ++i) {
    const Entry& e = self->entries_[i];
    if (X509_check_host(e.leaf, name, 0, 0, nullptr) == 1) {
      SSL_set_SSL_CTX(ssl, e.ctx);
      break;
    }
  }
  return SSL_TLSEXT_ERR_OK;
}

int TlsServerContext::on_alpn(SSL* /*ssl*/, const unsigned char** out, unsigned char* outlen,
                              const unsigned char* in, unsigned int inlen, void* arg) {
  auto* self = static_cast<TlsServerContext*>(arg);
  unsigned char* chosen = nullptr;
  // Server preference order (RFC 7301 leaves the choice to the server).
  if (SSL_select_next_proto(&chosen, outlen,
                            reinterpret_cast<const unsigned char*>(self->alpn_wire_.data()),
                            static_cast<unsigned int>(self->alpn_wire_.size()), in,
                            inlen) != OPENSSL_NPN_NEGOTIATED) {
    return SSL_TLSEXT_ERR_ALERT_FATAL;  // no_application_protocol, as RFC 7301 asks
  }
  *out = chosen;
  return SSL_TLSEXT_ERR_OK;
}

int TlsServerContext::on_status(SSL* ssl, void* arg) {
  auto* self = static_cast<TlsServerContext*>(arg);
  auto* copy =
      static_cast<unsigned char*>(OPENSSL_memdup(self->ocsp_der_.data(), self->ocsp_der_.size()));
  if (!copy) return SSL_TLSEXT_ERR_NOACK;
  SSL_set_tlsext_status_ocsp_resp(ssl, copy, static_cast<long>(self->ocsp_der_.size()));
  return SSL_TLSEXT_ERR_OK;
}

std::unique_ptr<SecureLayer> TlsListenerFactory::make(int fd, int /*loop_index*/) {
  return std::make_unique<TlsLayer>(ctx_->new_ssl(fd), ctx_->ktls_enabled(),
                                    ctx_->config().ktls == KtlsPolicy::required,
                                    ctx_->own_records());
}

}  // namespace weft::detail
