#include "tls/tls13_handoff.hpp"

#include <openssl/crypto.h>

#include <string_view>

#include "tls/ktls.hpp"

namespace weft::detail {

namespace {

int handoff_index() {
  static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

int hex_digit(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// "LABEL <client random> <secret>" -> the secret's bytes; 0 on a bad line.
std::size_t secret_from(std::string_view line, std::uint8_t* out) noexcept {
  const std::size_t space = line.rfind(' ');
  if (space == std::string_view::npos) return 0;
  const std::string_view hex = line.substr(space + 1);
  if (hex.empty() || hex.size() % 2 != 0 || hex.size() / 2 > kMaxSecret) return 0;
  for (std::size_t i = 0; i < hex.size(); i += 2) {
    const int hi = hex_digit(hex[i]);
    const int lo = hex_digit(hex[i + 1]);
    if (hi < 0 || lo < 0) return 0;
    out[i / 2] = static_cast<std::uint8_t>((hi << 4) | lo);
  }
  return hex.size() / 2;
}

}  // namespace

Tls13Handoff::~Tls13Handoff() {
  OPENSSL_cleanse(client_secret_, sizeof client_secret_);
  OPENSSL_cleanse(server_secret_, sizeof server_secret_);
}

bool Tls13Handoff::supported() noexcept {
  // 3.2 moved records into a new layer that may write a message's record
  // after reporting the message; the counts would be off by one there.
  return OpenSSL_version_num() < 0x30200000UL;
}

void Tls13Handoff::enable(SSL_CTX* ctx) {
  SSL_CTX_set_keylog_callback(ctx, &Tls13Handoff::on_keylog);
}

void Tls13Handoff::attach(SSL* ssl) {
  SSL_set_ex_data(ssl, handoff_index(), this);
  SSL_set_msg_callback(ssl, &Tls13Handoff::on_message);
  SSL_set_msg_callback_arg(ssl, this);
}

void Tls13Handoff::detach(SSL* ssl) {
  SSL_set_ex_data(ssl, handoff_index(), nullptr);
  SSL_set_msg_callback(ssl, nullptr);
  SSL_set_msg_callback_arg(ssl, nullptr);
}

void Tls13Handoff::on_keylog(const SSL* ssl, const char* line) {
  auto* self = static_cast<Tls13Handoff*>(SSL_get_ex_data(ssl, handoff_index()));
  if (self == nullptr) return;
  const std::string_view text(line);
  if (text.starts_with("CLIENT_TRAFFIC_SECRET_0 ")) {
    self->client_len_ = static_cast<std::uint8_t>(secret_from(text, self->client_secret_));
    if (self->client_len_ == 0) self->spoiled_ = true;
  } else if (text.starts_with("SERVER_TRAFFIC_SECRET_0 ")) {
    self->server_len_ = static_cast<std::uint8_t>(secret_from(text, self->server_secret_));
    if (self->server_len_ == 0) self->spoiled_ = true;
  }
}

void Tls13Handoff::on_message(int write_p, int /*version*/, int content_type, const void* buf,
                              std::size_t len, SSL* /*ssl*/, void* arg) {
  auto* self = static_cast<Tls13Handoff*>(arg);
  if (self == nullptr) return;
  if (content_type == SSL3_RT_HEADER) {
    ++(write_p != 0 ? self->records_out_ : self->records_in_);
    return;
  }
  if (content_type != SSL3_RT_HANDSHAKE || len == 0) return;
  const auto type = *static_cast<const unsigned char*>(buf);
  if (type == SSL3_MT_FINISHED) {
    // Reported after its own record: what follows uses the application key.
    if (write_p != 0) {
      self->server_finished_ = true;
      self->records_out_ = 0;
    } else {
      self->client_finished_ = true;
      self->records_in_ = 0;
    }
  } else if (type == SSL3_MT_KEY_UPDATE) {
    self->spoiled_ = true;  // OpenSSL moved to keys we have not seen
  }
}

bool Tls13Handoff::hopeless(SSL* ssl) const {
  return spoiled_ || SSL_version(ssl) != TLS1_3_VERSION || !SSL_is_server(ssl) ||
         SSL_get_current_cipher(ssl) == nullptr ||
         tls13_suite(SSL_CIPHER_get_protocol_id(SSL_get_current_cipher(ssl))) == nullptr;
}

std::unique_ptr<Tls13Records> Tls13Handoff::take_over(SSL* ssl) const {
  if (hopeless(ssl) || !client_finished_ || !server_finished_) return nullptr;
  const Tls13Suite* suite = tls13_suite(SSL_CIPHER_get_protocol_id(SSL_get_current_cipher(ssl)));
  if (client_len_ != suite->secret_len || server_len_ != suite->secret_len) return nullptr;
  // Bytes OpenSSL has read but not handed out, a close under way, or the
  // kernel doing the records: OpenSSL keeps the connection.
  if (SSL_has_pending(ssl) != 0 || SSL_get_shutdown(ssl) != 0) return nullptr;
  const KtlsState k = ktls_state(ssl, true);
  if (k.tx || k.rx) return nullptr;
  auto records = std::make_unique<Tls13Records>(SSL_get_fd(ssl), *suite);
  if (!records->init({client_secret_, client_len_}, records_in_, {server_secret_, server_len_},
                     records_out_)) {
    return nullptr;
  }
  return records;
}

}  // namespace weft::detail
