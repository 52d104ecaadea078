#include "tls/tls_client.hpp"

#include <arpa/inet.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>

#include "tls/openssl_util.hpp"
#include "tls/tls_layer.hpp"
#include "weft/address.hpp"
#include "weft/error.hpp"

namespace weft::detail {

namespace {

// Per-SSL: the cache key and the context that owns the cache.
struct SessionTag {
  TlsClientImpl* owner;
  std::string key;
};

int tag_index() {
  static const int index = SSL_get_ex_new_index(
      0, nullptr, nullptr, nullptr, [](void*, void* ptr, CRYPTO_EX_DATA*, int, long, void*) {
        delete static_cast<SessionTag*>(ptr);
      });
  return index;
}

bool is_ip_literal(const std::string& s) {
  unsigned char buf[16];
  return inet_pton(AF_INET, s.c_str(), buf) == 1 || inet_pton(AF_INET6, s.c_str(), buf) == 1;
}

}  // namespace

TlsClientImpl::TlsClientImpl(const TlsClientOptions& opts) : verify_(!opts.insecure_skip_verify) {
  ignore_sigpipe();
  ctx_ = SSL_CTX_new(TLS_client_method());
  if (!ctx_) throw std::runtime_error("SSL_CTX_new: " + openssl_reason());
  try {
    if (opts.min_version != "1.2" && opts.min_version != "1.3") {
      bad_tls_field("min_version", "must be \"1.2\" or \"1.3\"");
    }
    if (opts.max_version != "1.2" && opts.max_version != "1.3") {
      bad_tls_field("max_version", "must be \"1.2\" or \"1.3\"");
    }
    SSL_CTX_set_min_proto_version(ctx_, tls_version_number(opts.min_version));
    SSL_CTX_set_max_proto_version(ctx_, tls_version_number(opts.max_version));
    SSL_CTX_set_options(
        ctx_, SSL_OP_NO_RENEGOTIATION | SSL_OP_IGNORE_UNEXPECTED_EOF | SSL_OP_NO_COMPRESSION);
    SSL_CTX_set_mode(ctx_, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                               SSL_MODE_RELEASE_BUFFERS);
    SSL_CTX_set_read_ahead(ctx_, 1);
    if (verify_) {
      if (!opts.ca_file.empty()) {
        std::string pem = read_pem_value(opts.ca_file, "ca_file");
        BioPtr bio = mem_bio(pem);
        STACK_OF(X509_INFO)* infos = PEM_X509_INFO_read_bio(bio.get(), nullptr, nullptr, nullptr);
        if (!infos) bad_tls_field("ca_file", "no certificates: " + openssl_reason());
        X509_STORE* store = SSL_CTX_get_cert_store(ctx_);
        int added = 0;
        for (int i = 0; i < sk_X509_INFO_num(infos); ++i) {
          X509_INFO* info = sk_X509_INFO_value(infos, i);
          if (info->x509 && X509_STORE_add_cert(store, info->x509) == 1) ++added;
        }
        sk_X509_INFO_pop_free(infos, X509_INFO_free);
        if (added == 0) bad_tls_field("ca_file", "no certificates found");
      } else if (SSL_CTX_set_default_verify_paths(ctx_) != 1) {
        bad_tls_field("ca_file", "cannot load the system trust store: " + openssl_reason());
      }
      SSL_CTX_set_verify(ctx_, SSL_VERIFY_PEER, nullptr);
    } else {
      SSL_CTX_set_verify(ctx_, SSL_VERIFY_NONE, nullptr);
    }
    if (!opts.cert.empty() || !opts.key.empty()) {
      use_chain(ctx_, read_pem_value(opts.cert, "cert"), "cert");
      use_key(ctx_, read_pem_value(opts.key, "key"), "key");
    }
    for (const auto& proto : opts.alpn) {
      if (proto.empty() || proto.size() > 255) bad_tls_field("alpn", "names must be 1..255 bytes");
      alpn_wire_.push_back(static_cast<char>(proto.size()));
      alpn_wire_ += proto;
    }
    // Resumption: OpenSSL hands each new session to on_new_session; the
    // cache is ours (keyed by name and address), not OpenSSL's.
    SSL_CTX_set_session_cache_mode(ctx_, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
    SSL_CTX_sess_set_new_cb(ctx_, &TlsClientImpl::on_new_session);
  } catch (...) {
    SSL_CTX_free(ctx_);
    throw;
  }
}

TlsClientImpl::~TlsClientImpl() {
  for (auto& [key, session] : sessions_)
    SSL_SESSION_free(session);
  SSL_CTX_free(ctx_);
}

std::unique_ptr<SecureLayer> TlsClientImpl::make_client(int fd, const std::string& server_name) {
  SSL* ssl = SSL_new(ctx_);
  if (!ssl) throw std::runtime_error("SSL_new: " + openssl_reason());
  auto layer = std::make_unique<TlsLayer>(ssl, false, false);
  if (SSL_set_fd(ssl, fd) != 1) throw std::runtime_error("SSL_set_fd: " + openssl_reason());
  SSL_set_connect_state(ssl);
  const bool ip = is_ip_literal(server_name);
  if (!server_name.empty() && !ip) {
    // SSL_set_tlsext_host_name is a macro with a C cast.
    SSL_ctrl(ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
             const_cast<char*>(server_name.c_str()));
  }
  if (verify_ && !server_name.empty()) {
    const int ok = ip ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), server_name.c_str())
                      : SSL_set1_host(ssl, server_name.c_str());
    if (ok != 1) throw std::runtime_error("cannot verify name \"" + server_name + "\"");
  }
  if (!alpn_wire_.empty()) {
    SSL_set_alpn_protos(ssl, reinterpret_cast<const unsigned char*>(alpn_wire_.data()),
                        static_cast<unsigned int>(alpn_wire_.size()));
  }
  SockAddr peer;
  *peer.size_ptr() = sizeof(sockaddr_storage);
  ::getpeername(fd, peer.get(), peer.size_ptr());
  auto* tag = new SessionTag{this, server_name + "|" + peer.to_string()};
  SSL_set_ex_data(ssl, tag_index(), tag);
  if (SSL_SESSION* session = lookup(tag->key)) {
    SSL_set_session(ssl, session);
    SSL_SESSION_free(session);
  }
  return layer;
}

int TlsClientImpl::on_new_session(SSL* ssl, SSL_SESSION* session) {
  auto* tag = static_cast<SessionTag*>(SSL_get_ex_data(ssl, tag_index()));
  if (!tag) return 0;
  tag->owner->store(tag->key, session);
  return 1;  // we keep the reference
}

void TlsClientImpl::store(const std::string& key, SSL_SESSION* session) {
  std::lock_guard lock(mu_);
  auto [it, inserted] = sessions_.emplace(key, session);
  if (!inserted) {
    SSL_SESSION_free(it->second);
    it->second = session;
  }
}

SSL_SESSION* TlsClientImpl::lookup(const std::string& key) {
  std::lock_guard lock(mu_);
  auto it = sessions_.find(key);
  if (it == sessions_.end()) return nullptr;
  SSL_SESSION* s = it->second;
  // TLS 1.3 tickets are single-use by recommendation: take it out.
  if (SSL_SESSION_get_protocol_version(s) == TLS1_3_VERSION) {
    sessions_.erase(it);
    return s;
  }
  SSL_SESSION_up_ref(s);
  return s;
}

std::size_t TlsClientImpl::cached_sessions() const {
  std::lock_guard lock(mu_);
  return sessions_.size();
}

}  // namespace weft::detail

namespace weft {

TlsClient::TlsClient(TlsClientOptions opts)
    : opts_(std::move(opts)), impl_(std::make_shared<detail::TlsClientImpl>(opts_)) {}
TlsClient::~TlsClient() = default;
std::size_t TlsClient::cached_sessions() const {
  return impl_->cached_sessions();
}

}  // namespace weft
