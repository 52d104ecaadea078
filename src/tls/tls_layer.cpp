#include "tls/tls_layer.hpp"

#include <openssl/err.h>
#include <openssl/x509.h>

#include <cerrno>
#include <climits>

#include "tls/ktls.hpp"
#include "weft/error.hpp"
#include "weft/log.hpp"

namespace weft::detail {

namespace {
// OpenSSL's error queue is per thread: leave it empty for the next connection.
std::string drain_errors() {
  std::string out;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out;
}
}  // namespace

TlsLayer::TlsLayer(SSL* ssl, bool ktls_enabled, bool ktls_required, bool own_records)
    : ssl_(ssl), ktls_enabled_(ktls_enabled), ktls_required_(ktls_required) {
  if (own_records && Tls13Handoff::supported() && SSL_is_server(ssl) == 1) {
    handoff_ = std::make_unique<Tls13Handoff>();
    handoff_->attach(ssl);
  }
}

TlsLayer::~TlsLayer() {
  SSL_free(ssl_);  // (null after a takeover)
}

void TlsLayer::try_take_over() {
  if (!handoff_ || write_blocked_) return;
  if (handoff_->hopeless(ssl_)) {
    Tls13Handoff::detach(ssl_);
    handoff_.reset();
    return;
  }
  std::unique_ptr<Tls13Records> records = handoff_->take_over(ssl_);
  if (!records) return;  // maybe after the next read
  info_ = std::make_unique<TlsInfo>(info());
  info_->own_records = true;
  if (stats_ != nullptr) stats_->tls_own_records.add();
  Tls13Handoff::detach(ssl_);
  handoff_.reset();
  SSL_free(ssl_);  // the socket stays open: SSL_set_fd does not own it
  ssl_ = nullptr;
  records_ = std::move(records);
}

IoStep TlsLayer::failed(int ret, bool handshaking) const {
  const int err = SSL_get_error(ssl_, ret);
  const int saved_errno = errno;
  IoStep step;
  switch (err) {
    case SSL_ERROR_WANT_READ:
      step.want = IoWant::read;
      return step;
    case SSL_ERROR_WANT_WRITE:
      step.want = IoWant::write;
      return step;
    case SSL_ERROR_ZERO_RETURN:  // close_notify
      step.want = IoWant::eof;
      return step;
    case SSL_ERROR_SYSCALL:
      drain_errors();
      if (saved_errno == 0 || saved_errno == EPIPE) {  // EOF without close_notify
        step.want = handshaking ? IoWant::error : IoWant::eof;
        if (handshaking) step.error = make_error_code(errc::tls_handshake_failed);
        return step;
      }
      step.want = IoWant::error;
      step.error = std::error_code(saved_errno, std::system_category());
      return step;
    default: {
      std::string why = drain_errors();
      const long verify = SSL_get_verify_result(ssl_);
      if (verify != X509_V_OK)
        why += std::string(" (") + X509_verify_cert_error_string(verify) + ")";
      // A client that fails is the caller's business (e.g. a bad certificate);
      // a server sees scanners and broken clients all day.
      logf(SSL_is_server(ssl_) ? LogLevel::debug : LogLevel::warn, "TLS %s failed: %s",
           handshaking ? "handshake" : "record", why.empty() ? "unknown reason" : why.c_str());
      step.want = IoWant::error;
      step.error = make_error_code(handshaking ? errc::tls_handshake_failed : errc::tls_error);
      return step;
    }
  }
}

IoStep TlsLayer::handshake() {
  ERR_clear_error();
  const int r = SSL_do_handshake(ssl_);
  if (r == 1) return {};
  return failed(r, true);
}

IoStep TlsLayer::read(char* buf, std::size_t cap) {
  if (records_) return records_->read(buf, cap);
  ERR_clear_error();
  const int n = SSL_read(ssl_, buf, static_cast<int>(cap > INT_MAX ? INT_MAX : cap));
  if (n <= 0) return failed(n, false);
  try_take_over();
  return {IoWant::none, static_cast<std::size_t>(n), {}};
}

bool TlsLayer::has_pending() const {
  if (records_) return records_->has_pending();
  return SSL_has_pending(ssl_) == 1;
}

IoStep TlsLayer::write(const char* data, std::size_t len) {
  if (records_) return records_->write(data, len);
  IoStep step = write_with_openssl(data, len);
  write_blocked_ = step.want == IoWant::write;
  if (step.want == IoWant::none) try_take_over();
  return step;
}

IoStep TlsLayer::write_with_openssl(const char* data, std::size_t len) {
  // Partial writes are on: each SSL_write returns after a record or so, and
  // the caller requeues exactly what was not taken.
  std::size_t done = 0;
  while (done < len) {
    ERR_clear_error();
    const std::size_t chunk = len - done > INT_MAX ? INT_MAX : len - done;
    const int n = SSL_write(ssl_, data + done, static_cast<int>(chunk));
    if (n <= 0) {
      IoStep step = failed(n, false);
      step.bytes = done;
      if (step.want == IoWant::read) step.want = IoWant::write;  // no renegotiation: retry later
      return step;
    }
    done += static_cast<std::size_t>(n);
  }
  return {IoWant::none, done, {}};
}

void TlsLayer::shutdown() noexcept {
  if (records_) {
    records_->shutdown();
    return;
  }
  ERR_clear_error();
  if (SSL_is_init_finished(ssl_)) (void)SSL_shutdown(ssl_);
  drain_errors();
}

TlsInfo TlsLayer::info() const {
  if (info_) return *info_;
  TlsInfo t;
  t.version = SSL_get_version(ssl_);
  if (const SSL_CIPHER* c = SSL_get_current_cipher(ssl_)) t.cipher = SSL_CIPHER_get_name(c);
  const unsigned char* proto = nullptr;
  unsigned int proto_len = 0;
  SSL_get0_alpn_selected(ssl_, &proto, &proto_len);
  if (proto) t.alpn.assign(reinterpret_cast<const char*>(proto), proto_len);
  if (const char* sni = SSL_get_servername(ssl_, TLSEXT_NAMETYPE_host_name)) t.server_name = sni;
  if (X509* peer = SSL_get0_peer_certificate(ssl_)) {
    char* subject = X509_NAME_oneline(X509_get_subject_name(peer), nullptr, 0);
    if (subject) {
      t.peer_subject = subject;
      OPENSSL_free(subject);
    }
    t.peer_verified = SSL_get_verify_result(ssl_) == X509_V_OK;
  }
  t.resumed = SSL_session_reused(ssl_) == 1;
  KtlsState k = ktls_state(ssl_, ktls_enabled_);
  t.ktls_tx = k.tx;
  t.ktls_rx = k.rx;
  t.ktls_reason = to_string(k.reason);
  return t;
}

bool TlsLayer::handshake_done(LoopStats& stats) {
  stats_ = &stats;
  stats.tls_handshakes.add();
  if (SSL_session_reused(ssl_) == 1) stats.tls_resumed.add();
  if (!ktls_enabled_) {
    try_take_over();
    return true;
  }
  const KtlsReason reason = ktls_state(ssl_, true).reason;
  switch (reason) {
    case KtlsReason::offloaded:
      stats.ktls_offloaded.add();
      break;
    case KtlsReason::rx_unsupported:
      stats.ktls_tx_only.add();
      break;
    case KtlsReason::no_kernel_tls:
      stats.ktls_no_kernel.add();
      break;
    case KtlsReason::cipher:
      stats.ktls_cipher.add();
      break;
    case KtlsReason::openssl_declined:
    case KtlsReason::disabled:
      stats.ktls_declined.add();
      break;
  }
  // ktlsPolicy required: never serve a connection from userspace.
  if (ktls_required_ && reason != KtlsReason::offloaded && reason != KtlsReason::rx_unsupported) {
    logf(LogLevel::warn,
         "ktlsPolicy required: closing a connection that could not be offloaded (%s)",
         to_string(reason));
    return false;
  }
  try_take_over();
  return true;
}

}  // namespace weft::detail
