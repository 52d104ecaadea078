#include "tls_client_support.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <stdexcept>
#include <system_error>
#include <utility>

namespace weft::test {

namespace {

// OpenSSL's (per-thread) error queue as one line; leaves it empty.
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

// --- a socket BIO that never raises SIGPIPE ------------------------------------
//
// The BIO's data points at the TlsTestClient's descriptor member, so that once
// the client closes its socket (fd_ = -1) OpenSSL can no longer write to a
// descriptor number that something else may have been given since.

int bio_fd(BIO* b) {
  const auto* fd = static_cast<const int*>(BIO_get_data(b));
  return fd ? *fd : -1;
}

int bio_write(BIO* b, const char* data, int len) {
  BIO_clear_retry_flags(b);
  const int fd = bio_fd(b);
  if (fd < 0) {
    errno = EBADF;
    return -1;
  }
  for (;;) {
    const ssize_t n = ::send(fd, data, static_cast<std::size_t>(len), MSG_NOSIGNAL);
    if (n >= 0) return static_cast<int>(n);
    if (errno == EINTR) continue;
    return -1;  // EAGAIN here is SO_SNDTIMEO expiring: an error, not a retry
  }
}

int bio_read(BIO* b, char* buf, int len) {
  BIO_clear_retry_flags(b);
  const int fd = bio_fd(b);
  if (fd < 0) {
    errno = EBADF;
    return -1;
  }
  for (;;) {
    const ssize_t n = ::recv(fd, buf, static_cast<std::size_t>(len), 0);
    if (n > 0) return static_cast<int>(n);
    if (n == 0) {
      errno = 0;
      BIO_set_flags(b, BIO_FLAGS_IN_EOF);  // so OpenSSL reports an unexpected EOF
      return 0;
    }
    if (errno == EINTR) continue;
    return -1;  // EAGAIN: SO_RCVTIMEO expired
  }
}

long bio_ctrl(BIO* b, int cmd, long /*num*/, void* /*ptr*/) {
  switch (cmd) {
    case BIO_CTRL_FLUSH:
      return 1;
    case BIO_CTRL_EOF:
      return BIO_test_flags(b, BIO_FLAGS_IN_EOF) != 0 ? 1 : 0;
    default:
      return 0;
  }
}

int bio_create(BIO* b) {
  BIO_set_init(b, 1);
  return 1;
}

struct BioMethodFree {
  void operator()(BIO_METHOD* m) const noexcept { BIO_meth_free(m); }
};

const BIO_METHOD* nosigpipe_socket_method() {
  static const std::unique_ptr<BIO_METHOD, BioMethodFree> method = [] {
    std::unique_ptr<BIO_METHOD, BioMethodFree> m(
        BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "weft test socket"));
    if (!m || BIO_meth_set_write(m.get(), bio_write) != 1 ||
        BIO_meth_set_read(m.get(), bio_read) != 1 || BIO_meth_set_ctrl(m.get(), bio_ctrl) != 1 ||
        BIO_meth_set_create(m.get(), bio_create) != 1) {
      throw std::runtime_error("BIO_meth_new: " + drain_errors());
    }
    return m;
  }();
  return method.get();
}

struct BioFree {
  void operator()(BIO* b) const noexcept { BIO_free(b); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;
struct X509Free {
  void operator()(X509* x) const noexcept { X509_free(x); }
};
using X509Ptr = std::unique_ptr<X509, X509Free>;
struct PkeyFree {
  void operator()(EVP_PKEY* k) const noexcept { EVP_PKEY_free(k); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;

BioPtr mem_bio(const std::string& text) {
  return BioPtr(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
}

std::string alpn_wire(const std::vector<std::string>& protos) {
  std::string wire;
  for (const auto& p : protos) {
    wire.push_back(static_cast<char>(p.size()));
    wire += p;
  }
  return wire;
}

}  // namespace

// --- TlsTestClient -------------------------------------------------------------------

TlsTestClient::TlsTestClient(TlsTestClientOptions opts)
    : opts_(std::move(opts)), ctx_(SSL_CTX_new(TLS_client_method())) {
  if (!ctx_) throw std::runtime_error("SSL_CTX_new: " + drain_errors());
  SSL_CTX* ctx = ctx_.get();
  if (opts_.min_version) SSL_CTX_set_min_proto_version(ctx, opts_.min_version);
  if (!opts_.ciphersuites.empty() &&
      SSL_CTX_set_ciphersuites(ctx, opts_.ciphersuites.c_str()) != 1) {
    throw std::runtime_error("TlsTestClient: bad ciphersuites " + opts_.ciphersuites);
  }
  if (opts_.max_version) SSL_CTX_set_max_proto_version(ctx, opts_.max_version);
  if (!opts_.trusted_ca_pem.empty()) {
    BioPtr bio = mem_bio(opts_.trusted_ca_pem);
    X509_STORE* store = SSL_CTX_get_cert_store(ctx);
    int added = 0;
    while (X509Ptr cert{PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)}) {
      if (X509_STORE_add_cert(store, cert.get()) != 1) {
        throw std::runtime_error("X509_STORE_add_cert: " + drain_errors());
      }
      ++added;
    }
    ERR_clear_error();  // the loop ends on "no start line"
    if (added == 0) throw std::runtime_error("trusted_ca_pem holds no certificate");
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  } else {
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
  }
  if (!opts_.alpn.empty()) {
    const std::string wire = alpn_wire(opts_.alpn);
    // (Returns 0 on success.)
    if (SSL_CTX_set_alpn_protos(ctx, reinterpret_cast<const unsigned char*>(wire.data()),
                                static_cast<unsigned int>(wire.size())) != 0) {
      throw std::runtime_error("SSL_CTX_set_alpn_protos: " + drain_errors());
    }
  }
  if (!opts_.cert_pem.empty()) {
    BioPtr cbio = mem_bio(opts_.cert_pem);
    X509Ptr cert(PEM_read_bio_X509(cbio.get(), nullptr, nullptr, nullptr));
    BioPtr kbio = mem_bio(opts_.key_pem);
    PkeyPtr key(PEM_read_bio_PrivateKey(kbio.get(), nullptr, nullptr, nullptr));
    if (!cert || !key || SSL_CTX_use_certificate(ctx, cert.get()) != 1 ||
        SSL_CTX_use_PrivateKey(ctx, key.get()) != 1) {
      throw std::runtime_error("client certificate: " + drain_errors());
    }
  }
}

TlsTestClient::~TlsTestClient() {
  if (ssl_) {
    // A session whose connection is freed without close_notify stops being
    // resumable: say goodbye when the connection is healthy, else only mark
    // the shutdown as sent (nothing reaches the wire).
    if (fd_ >= 0 && handshake_done_ && !failed_ && !eof_ && !close_notify_) {
      shutdown();
    } else {
      SSL_set_shutdown(ssl_.get(), SSL_get_shutdown(ssl_.get()) | SSL_SENT_SHUTDOWN);
    }
    ERR_clear_error();
  }
  ssl_.reset();
  close_fd();
}

void TlsTestClient::close_fd() noexcept {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

void TlsTestClient::connect_tcp(std::uint16_t port) {
  if (fd_ >= 0) throw std::logic_error("TlsTestClient: already connected");
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::system_error(errno, std::system_category(), "socket");
  fd_ = fd;
  const auto ms = opts_.timeout.count();
  timeval tv{static_cast<time_t>(ms / 1000), static_cast<suseconds_t>((ms % 1000) * 1000)};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);  // bounds connect() too
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (opts_.receive_buffer > 0) {
    ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &opts_.receive_buffer, sizeof opts_.receive_buffer);
  }
  sockaddr_in in{};
  in.sin_family = AF_INET;
  in.sin_port = htons(port);
  in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int rc;
  do {
    rc = ::connect(fd, reinterpret_cast<const sockaddr*>(&in), sizeof in);
  } while (rc < 0 && errno == EINTR);
  if (rc < 0) {
    const int err = errno;
    close_fd();
    throw std::system_error(err, std::system_category(), "connect");
  }
}

bool TlsTestClient::connect(std::uint16_t port) {
  try {
    connect_tcp(port);
  } catch (const std::exception& e) {
    error_ = e.what();
    failed_ = true;
    return false;
  }
  return handshake();
}

bool TlsTestClient::handshake() {
  error_.clear();
  if (fd_ < 0) {
    error_ = "not connected";
    return false;
  }
  ssl_.reset(SSL_new(ctx_.get()));
  if (!ssl_) {
    error_ = "SSL_new: " + drain_errors();
    return false;
  }
  BIO* bio = BIO_new(nosigpipe_socket_method());
  if (!bio) {
    error_ = "BIO_new: " + drain_errors();
    return false;
  }
  BIO_set_data(bio, &fd_);
  SSL_set_bio(ssl_.get(), bio, bio);  // one reference, owned by the SSL
  if (!opts_.sni.empty()) {
    // (SSL_set_tlsext_host_name is a macro with a C cast.)
    SSL_ctrl(ssl_.get(), SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
             const_cast<char*>(opts_.sni.c_str()));
  }
  if (!opts_.verify_host.empty()) SSL_set1_host(ssl_.get(), opts_.verify_host.c_str());
  if (opts_.resume) SSL_set_session(ssl_.get(), opts_.resume);
  SSL_set_connect_state(ssl_.get());
  ERR_clear_error();
  const int r = SSL_do_handshake(ssl_.get());
  if (r != 1) {
    fail("handshake", r);
    failed_ = true;  // an EOF during the handshake is a failure too
    return false;
  }
  handshake_done_ = true;
  return true;
}

void TlsTestClient::fail(const char* what, int ret) {
  const int saved_errno = errno;
  const int err = SSL_get_error(ssl_.get(), ret);
  switch (err) {
    case SSL_ERROR_ZERO_RETURN:
      close_notify_ = true;
      error_ = std::string(what) + ": close_notify";
      ERR_clear_error();
      return;
    case SSL_ERROR_SYSCALL: {
      const std::string queued = drain_errors();
      if (saved_errno == 0 && queued.empty()) {
        eof_ = true;
        error_ = std::string(what) + ": EOF without close_notify";
        return;
      }
      failed_ = true;
      if (saved_errno == EAGAIN || saved_errno == EWOULDBLOCK) {
        timed_out_ = true;
        error_ = std::string(what) + ": timed out";
        return;
      }
      error_ = std::string(what) + ": " +
               (saved_errno ? std::strerror(saved_errno) : std::string("syscall")) +
               (queued.empty() ? "" : " (" + queued + ")");
      return;
    }
    default: {
      const unsigned long first = ERR_peek_error();
      const std::string queued = drain_errors();
      if (ERR_GET_LIB(first) == ERR_LIB_SSL &&
          ERR_GET_REASON(first) == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
        eof_ = true;
        error_ = std::string(what) + ": EOF without close_notify";
        return;
      }
      failed_ = true;
      error_ = std::string(what) + ": SSL error " + std::to_string(err) + ": " +
               (queued.empty() ? "unknown" : queued);
      return;
    }
  }
}

bool TlsTestClient::write_all(std::string_view data) {
  if (!ssl_ || !handshake_done_) {
    error_ = "write before the handshake";
    return false;
  }
  std::size_t done = 0;
  while (done < data.size()) {
    const std::size_t chunk = std::min<std::size_t>(data.size() - done, INT_MAX);
    ERR_clear_error();
    const int n = SSL_write(ssl_.get(), data.data() + done, static_cast<int>(chunk));
    if (n <= 0) {
      fail("write", n);
      failed_ = true;
      return false;
    }
    done += static_cast<std::size_t>(n);
  }
  return true;
}

std::string TlsTestClient::read_exact(std::size_t n) {
  std::string out(n, '\0');
  std::size_t got = 0;
  if (!ssl_ || !handshake_done_) return {};
  while (got < n) {
    const std::size_t want = std::min<std::size_t>(n - got, INT_MAX);
    ERR_clear_error();
    const int r = SSL_read(ssl_.get(), out.data() + got, static_cast<int>(want));
    if (r <= 0) {
      fail("read", r);
      break;
    }
    got += static_cast<std::size_t>(r);
  }
  out.resize(got);
  return out;
}

std::string TlsTestClient::read_until_eof() {
  std::string out;
  if (!ssl_ || !handshake_done_) return out;
  char buf[65536];
  for (;;) {
    ERR_clear_error();
    const int r = SSL_read(ssl_.get(), buf, sizeof buf);
    if (r <= 0) {
      fail("read", r);
      break;
    }
    out.append(buf, static_cast<std::size_t>(r));
  }
  return out;
}

void TlsTestClient::shutdown() {
  if (!ssl_) return;
  ERR_clear_error();
  if (SSL_is_init_finished(ssl_.get())) (void)SSL_shutdown(ssl_.get());
  ERR_clear_error();
}

void TlsTestClient::close_rst() {
  if (fd_ < 0) return;
  linger lg{1, 0};
  ::setsockopt(fd_, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
  close_fd();
}

void TlsTestClient::close_tcp() {
  close_fd();
}

bool TlsTestClient::write_raw(std::string_view bytes) {
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::send(fd_, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      error_ = std::string("send: ") + std::strerror(errno);
      return false;
    }
    done += static_cast<std::size_t>(n);
  }
  return true;
}

TlsSessionPtr TlsTestClient::get1_session() const {
  return TlsSessionPtr(ssl_ ? SSL_get1_session(ssl_.get()) : nullptr);
}

std::string TlsTestClient::peer_cn() const {
  if (!ssl_) return {};
  X509* peer = SSL_get0_peer_certificate(ssl_.get());
  if (!peer) return {};
  char buf[256] = {};
  const int n =
      X509_NAME_get_text_by_NID(X509_get_subject_name(peer), NID_commonName, buf, sizeof buf);
  return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string();
}

std::string TlsTestClient::alpn_selected() const {
  if (!ssl_) return {};
  const unsigned char* proto = nullptr;
  unsigned int len = 0;
  SSL_get0_alpn_selected(ssl_.get(), &proto, &len);
  return proto ? std::string(reinterpret_cast<const char*>(proto), len) : std::string();
}

bool TlsTestClient::session_reused() const {
  return ssl_ && SSL_session_reused(ssl_.get()) == 1;
}

std::string TlsTestClient::version() const {
  return ssl_ && handshake_done_ ? SSL_get_version(ssl_.get()) : "";
}

// --- a captured ClientHello ----------------------------------------------------------

std::string client_hello_bytes() {
  TlsCtxPtr ctx(SSL_CTX_new(TLS_client_method()));
  if (!ctx) throw std::runtime_error("SSL_CTX_new: " + drain_errors());
  TlsSslPtr ssl(SSL_new(ctx.get()));
  if (!ssl) throw std::runtime_error("SSL_new: " + drain_errors());
  BIO* rbio = BIO_new(BIO_s_mem());
  BIO* wbio = BIO_new(BIO_s_mem());
  if (!rbio || !wbio) {
    BIO_free(rbio);
    BIO_free(wbio);
    throw std::runtime_error("BIO_new: " + drain_errors());
  }
  SSL_set_bio(ssl.get(), rbio, wbio);  // owned by the SSL from here
  static char kHost[] = "localhost";
  SSL_ctrl(ssl.get(), SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name, kHost);
  SSL_set_connect_state(ssl.get());
  const int r = SSL_do_handshake(ssl.get());
  if (r == 1 || SSL_get_error(ssl.get(), r) != SSL_ERROR_WANT_READ) {
    throw std::runtime_error("client_hello_bytes: unexpected handshake state: " + drain_errors());
  }
  std::string out;
  char buf[4096];
  for (;;) {
    const int n = BIO_read(wbio, buf, sizeof buf);
    if (n <= 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  return out;
}

}  // namespace weft::test
