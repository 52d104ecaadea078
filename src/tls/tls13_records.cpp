#include "tls/tls13_records.hpp"

#include <openssl/crypto.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <new>
#include <vector>

#include "weft/error.hpp"
#include "weft/log.hpp"

namespace weft::detail {

namespace {

// Content types and the messages a server may still receive (RFC 8446 §5, §6).
constexpr std::uint8_t kAlert = 21;
constexpr std::uint8_t kHandshake = 22;
constexpr std::uint8_t kApplicationData = 23;
constexpr std::uint8_t kKeyUpdate = 24;

constexpr std::uint8_t kCloseNotify = 0;
constexpr std::uint8_t kUnexpectedMessage = 10;
constexpr std::uint8_t kBadRecordMac = 20;
constexpr std::uint8_t kRecordOverflow = 22;
constexpr std::uint8_t kIllegalParameter = 47;
constexpr std::uint8_t kDecodeError = 50;
constexpr std::uint8_t kInternalError = 80;
constexpr std::uint8_t kUserCanceled = 90;

constexpr std::size_t kTagLen = 16;
constexpr std::size_t kHeaderLen = 5;
// Records sealed per send(): 64 KiB of content per system call.
constexpr std::size_t kBatchRecords = 4;
constexpr std::size_t kReadArea = 4 * Tls13Records::kMaxRecord;

// Per-thread work areas: a connection holds no buffer between calls.
char* read_area() {
  thread_local std::vector<char> area;
  if (area.empty()) area.resize(kReadArea);
  return area.data();
}
char* write_area() {
  thread_local std::vector<char> area;
  if (area.empty())
    area.resize(kBatchRecords * Tls13Direction::record_size(Tls13Records::kMaxContent));
  return area.data();
}

std::size_t body_length(const char* header) noexcept {
  const auto* h = reinterpret_cast<const unsigned char*>(header);
  return (std::size_t{h[3]} << 8) | h[4];
}

bool whole_record(const char* p, std::size_t n) noexcept {
  return n >= kHeaderLen && n >= kHeaderLen + body_length(p);
}

bool would_block(int err) noexcept {
  return err == EAGAIN || err == EWOULDBLOCK;
}

IoStep tls_failure() {
  return {IoWant::error, 0, make_error_code(errc::tls_error)};
}

void release(std::string& s) noexcept {
  std::string().swap(s);
}

}  // namespace

// ---- one direction ----------------------------------------------------------

Tls13Direction::~Tls13Direction() {
  EVP_CIPHER_CTX_free(ctx_);
  OPENSSL_cleanse(secret_, sizeof secret_);
  OPENSSL_cleanse(iv_, sizeof iv_);
}

bool Tls13Direction::init(const Tls13Suite& suite, std::span<const std::uint8_t> secret,
                          std::uint64_t seq, bool sealing) {
  if (secret.size() != suite.secret_len || secret.size() > sizeof secret_) return false;
  suite_ = &suite;
  seq_ = seq;
  sealing_ = sealing;
  std::copy(secret.begin(), secret.end(), secret_);
  if (ctx_ == nullptr) ctx_ = EVP_CIPHER_CTX_new();
  return ctx_ != nullptr && key_from_secret();
}

bool Tls13Direction::key_from_secret() {
  std::uint8_t key[32] = {};
  const std::span<const std::uint8_t> secret(secret_, suite_->secret_len);
  const bool ok =
      hkdf_expand_label(*suite_, secret, "key", {key, suite_->key_len}) &&
      hkdf_expand_label(*suite_, secret, "iv", iv_) &&
      EVP_CipherInit_ex(ctx_, suite_->aead, nullptr, key, nullptr, sealing_ ? 1 : 0) == 1;
  OPENSSL_cleanse(key, sizeof key);
  return ok;
}

bool Tls13Direction::next_key() {
  std::uint8_t next[kMaxSecret] = {};
  const std::size_t n = suite_->secret_len;
  if (!hkdf_expand_label(*suite_, {secret_, n}, "traffic upd", {next, n})) return false;
  std::copy_n(next, n, secret_);
  OPENSSL_cleanse(next, sizeof next);
  seq_ = 0;
  return key_from_secret();
}

void Tls13Direction::nonce(std::uint8_t out[kIvLen]) const noexcept {
  // The IV with the 64-bit sequence number XORed into its last 8 bytes.
  std::copy_n(iv_, kIvLen, out);
  for (std::size_t i = 0; i < 8; ++i)
    out[kIvLen - 1 - i] ^= static_cast<std::uint8_t>(seq_ >> (8 * i));
}

bool Tls13Direction::seal(std::uint8_t inner_type, const char* content, std::size_t len,
                          char* out) {
  auto* o = reinterpret_cast<unsigned char*>(out);
  const std::size_t body = len + 1 + kTagLen;
  o[0] = kApplicationData;  // the outer type of every protected record
  o[1] = 3;
  o[2] = 3;
  o[3] = static_cast<unsigned char>(body >> 8);
  o[4] = static_cast<unsigned char>(body);
  std::uint8_t iv[kIvLen];
  nonce(iv);
  int n = 0;
  unsigned char* p = o + kHeaderLen;
  if (EVP_CipherInit_ex(ctx_, nullptr, nullptr, nullptr, iv, 1) != 1 ||
      EVP_CipherUpdate(ctx_, nullptr, &n, o, kHeaderLen) != 1) {
    return false;
  }
  if (len > 0) {
    if (EVP_CipherUpdate(ctx_, p, &n, reinterpret_cast<const unsigned char*>(content),
                         static_cast<int>(len)) != 1) {
      return false;
    }
    p += n;
  }
  if (EVP_CipherUpdate(ctx_, p, &n, &inner_type, 1) != 1) return false;
  p += n;
  if (EVP_CipherFinal_ex(ctx_, p, &n) != 1) return false;
  p += n;
  if (p != o + kHeaderLen + len + 1 ||
      EVP_CIPHER_CTX_ctrl(ctx_, EVP_CTRL_AEAD_GET_TAG, kTagLen, p) != 1) {
    return false;
  }
  ++seq_;
  return true;
}

Tls13Direction::Opened Tls13Direction::open(char* rec, std::size_t body_len, std::size_t& len,
                                            std::uint8_t& inner_type) {
  if (body_len < kTagLen + 1) return Opened::bad_mac;
  auto* r = reinterpret_cast<unsigned char*>(rec);
  unsigned char* body = r + kHeaderLen;
  const std::size_t sealed = body_len - kTagLen;
  std::uint8_t iv[kIvLen];
  nonce(iv);
  int n = 0;
  int last = 0;
  if (EVP_CipherInit_ex(ctx_, nullptr, nullptr, nullptr, iv, 0) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx_, EVP_CTRL_AEAD_SET_TAG, kTagLen, body + sealed) != 1 ||
      EVP_CipherUpdate(ctx_, nullptr, &n, r, kHeaderLen) != 1 ||
      EVP_CipherUpdate(ctx_, body, &n, body, static_cast<int>(sealed)) != 1 ||
      EVP_CipherFinal_ex(ctx_, body + n, &last) != 1) {
    return Opened::bad_mac;
  }
  ++seq_;
  // TLSInnerPlaintext: content, the type, then zero padding.
  std::size_t end = sealed;
  while (end > 0 && body[end - 1] == 0)
    --end;
  if (end == 0) return Opened::no_type;
  inner_type = body[end - 1];
  len = end - 1;
  return Opened::ok;
}

// ---- the connection's records ---------------------------------------------

bool Tls13Records::init(std::span<const std::uint8_t> read_secret, std::uint64_t read_seq,
                        std::span<const std::uint8_t> write_secret, std::uint64_t write_seq) {
  return read_.init(*suite_, read_secret, read_seq, false) &&
         write_.init(*suite_, write_secret, write_seq, true);
}

IoStep Tls13Records::read(char* buf, std::size_t cap) {
  for (;;) {
    IoStep step = read_once(buf, cap);
    if (step.bytes > 0 || step.want != IoWant::none) return step;
    // Only control records (KeyUpdate, user_canceled) were in: go on.
  }
}

IoStep Tls13Records::read_once(char* buf, std::size_t cap) {
  if (failed_) return tls_failure();
  if (!plain_.empty()) {
    const std::size_t n = std::min(cap, plain_.size());
    std::memcpy(buf, plain_.data(), n);
    plain_.erase(0, n);
    if (plain_.empty()) release(plain_);
    return {IoWant::none, n, {}};
  }
  if (peer_closed_) return {IoWant::eof, 0, {}};
  IoStep step;
  if (!tx_.empty() && !flush(step) && step.want == IoWant::error) return step;
  if (!answer_key_update(step)) return step;

  // Records are opened where they land: in the caller's buffer when a whole
  // record fits there, else in this thread's work area.
  char* work = buf;
  std::size_t room = cap;
  if (cap < kMaxRecord + rx_.size()) {
    work = read_area();
    room = kReadArea;
  }
  std::size_t have = rx_.size();
  if (have > 0) {
    std::memcpy(work, rx_.data(), have);
    release(rx_);
  }
  bool eof = false;
  if (!whole_record(work, have) && have < room) {
    const ssize_t r = ::recv(fd_, work + have, room - have, 0);
    if (r > 0) {
      have += static_cast<std::size_t>(r);
    } else if (r == 0) {
      eof = true;
    } else if (!would_block(errno) && errno != EINTR) {
      const int err = errno;
      failed_ = true;
      return {IoWant::error, 0, std::error_code(err, std::system_category())};
    }
  }

  std::size_t used = 0;
  std::size_t out = 0;
  IoStep error;
  if (!open_records(work, have, work == buf ? have : cap, used, out, error)) return error;
  if (used < have) rx_.assign(work + used, have - used);
  std::size_t n = out;
  if (work != buf) {
    n = std::min(out, cap);
    std::memcpy(buf, work, n);
    if (out > n) plain_.assign(work + n, out - n);
  }
  if (n > 0) return {IoWant::none, n, {}};
  if (peer_closed_ || eof)
    return {IoWant::eof, 0, {}};  // EOF without close_notify: as OpenSSL here
  if (used > 0) return {};        // control records only: read on
  return tx_.empty() ? IoStep{IoWant::read, 0, {}} : IoStep{IoWant::write, 0, {}};
}

bool Tls13Records::open_records(char* work, std::size_t have, std::size_t stop_at,
                                std::size_t& used, std::size_t& out, IoStep& error) {
  while (have - used >= kHeaderLen && out < stop_at && !peer_closed_) {
    char* rec = work + used;
    if (static_cast<unsigned char>(rec[0]) != kApplicationData) {
      error = fail(kUnexpectedMessage, "an unprotected record after the handshake");
      return false;
    }
    const std::size_t body = body_length(rec);
    if (body > kMaxRecord - kHeaderLen) {
      error = fail(kRecordOverflow, "a record longer than 2^14 + 256 bytes");
      return false;
    }
    if (have - used < kHeaderLen + body) break;  // the rest is still on its way
    std::size_t len = 0;
    std::uint8_t type = 0;
    switch (read_.open(rec, body, len, type)) {
      case Tls13Direction::Opened::ok:
        break;
      case Tls13Direction::Opened::bad_mac:
        error = fail(kBadRecordMac, "a record failed authentication");
        return false;
      case Tls13Direction::Opened::no_type:
        error = fail(kUnexpectedMessage, "a record with no content type");
        return false;
    }
    if (len > kMaxContent) {
      error = fail(kRecordOverflow, "a record with more than 2^14 bytes of content");
      return false;
    }
    const char* content = rec + kHeaderLen;
    used += kHeaderLen + body;
    bool ok = true;
    switch (type) {
      case kApplicationData:
        std::memmove(work + out, content, len);  // plaintext is shorter: it never overtakes
        out += len;
        break;
      case kHandshake:
        ok = on_handshake(content, len, error);
        break;
      case kAlert:
        ok = on_alert(content, len, error);
        break;
      default:
        error = fail(kUnexpectedMessage, "a record of an unknown content type");
        ok = false;
    }
    if (!ok) return false;
  }
  return true;
}

bool Tls13Records::on_handshake(const char* msg, std::size_t len, IoStep& error) {
  // After the handshake a client may only send KeyUpdate (weft never asks
  // for post-handshake authentication): 24, length 1, request_update.
  if (len == 0) {
    error = fail(kUnexpectedMessage, "an empty handshake record");
    return false;
  }
  for (std::size_t i = 0; i < len; ++i) {
    hs_[hs_len_++] = static_cast<std::uint8_t>(msg[i]);
    if (hs_len_ == 1 && hs_[0] != kKeyUpdate) {
      error = fail(kUnexpectedMessage, "a handshake message other than KeyUpdate");
      return false;
    }
    if (hs_len_ == 4 && (hs_[1] != 0 || hs_[2] != 0 || hs_[3] != 1)) {
      error = fail(kDecodeError, "a KeyUpdate of the wrong length");
      return false;
    }
    if (hs_len_ < sizeof hs_) continue;
    hs_len_ = 0;
    const std::uint8_t request = hs_[4];
    if (request > 1) {
      error = fail(kIllegalParameter, "a KeyUpdate with an unknown request_update");
      return false;
    }
    // The key changes after this record: nothing may follow in it.
    if (i + 1 != len) {
      error = fail(kUnexpectedMessage, "data after a KeyUpdate in the same record");
      return false;
    }
    if (!read_.next_key()) {
      error = fail(kInternalError, "deriving the next traffic key failed");
      return false;
    }
    // Answered before our next data record; requests that come while an
    // answer still waits in tx_ get that one answer (RFC 8446 §4.6.3), so a
    // client that asks and never reads cannot make it grow.
    if (request == 1 && !closed_) key_update_owed_ = true;
    if (!answer_key_update(error)) return false;
  }
  return true;
}

bool Tls13Records::on_alert(const char* msg, std::size_t len, IoStep& error) {
  if (len != 2) {
    error = fail(kDecodeError, "an alert record that is not one alert");
    return false;
  }
  const auto description = static_cast<std::uint8_t>(msg[1]);
  if (description == kCloseNotify) {
    peer_closed_ = true;
    return true;
  }
  if (description == kUserCanceled) return true;  // close_notify follows
  logf(LogLevel::debug, "TLS record: the peer sent alert %u", unsigned{description});
  failed_ = true;  // every other alert is fatal in TLS 1.3; none is sent back
  error = tls_failure();
  return false;
}

bool Tls13Records::queue_control(std::uint8_t inner_type, const char* content, std::size_t len) {
  const std::size_t at = tx_.size();
  tx_.resize(at + Tls13Direction::record_size(len));
  if (!write_.seal(inner_type, content, len, tx_.data() + at)) {
    tx_.resize(at);
    return false;
  }
  return true;
}

bool Tls13Records::send_key_update() {
  static constexpr char kUpdateNotRequested[] = {kKeyUpdate, 0, 0, 1, 0};
  return queue_control(kHandshake, kUpdateNotRequested, sizeof kUpdateNotRequested) &&
         write_.next_key();
}

bool Tls13Records::answer_key_update(IoStep& error) {
  if (!key_update_owed_ || !tx_.empty()) return true;
  key_update_owed_ = false;
  if (!send_key_update()) {
    error = fail(kInternalError, "deriving the next traffic key failed");
    return false;
  }
  IoStep ignored;
  (void)flush(ignored);  // it goes now if it can, else before anything else
  return true;
}

bool Tls13Records::flush(IoStep& step) {
  while (!tx_.empty()) {
    const ssize_t s = ::send(fd_, tx_.data(), tx_.size(), MSG_NOSIGNAL);
    if (s < 0) {
      if (errno == EINTR) continue;
      if (would_block(errno)) {
        step = {IoWant::write, 0, {}};
      } else {
        step = {IoWant::error, 0, std::error_code(errno, std::system_category())};
        failed_ = true;
      }
      return false;
    }
    tx_.erase(0, static_cast<std::size_t>(s));
  }
  release(tx_);
  return true;
}

IoStep Tls13Records::fail(std::uint8_t alert, const char* why) {
  logf(LogLevel::debug, "TLS record: %s; sending alert %u", why, unsigned{alert});
  if (!failed_) {
    failed_ = true;
    const char fatal[2] = {2, static_cast<char>(alert)};
    IoStep ignored;
    if (queue_control(kAlert, fatal, sizeof fatal)) (void)flush(ignored);
  }
  return tls_failure();
}

IoStep Tls13Records::write(const char* data, std::size_t len) {
  if (failed_ || closed_) return tls_failure();
  IoStep step;
  if (!tx_.empty() && !flush(step)) return step;
  // The caller offers again the content of records that were waiting in tx_.
  std::size_t done = std::min(owed_, len);
  owed_ = 0;
  if (!answer_key_update(step)) return step;
  if (!tx_.empty() && !flush(step)) {
    step.bytes = done;
    return step;
  }
  if (write_.seq() >= kRecordsPerKey) {
    if (!send_key_update()) return fail(kInternalError, "deriving the next traffic key failed");
    if (!flush(step)) {
      step.bytes = done;
      return step;
    }
  }
  char* area = write_area();
  while (done < len) {
    std::size_t sizes[kBatchRecords] = {};
    std::size_t count = 0;
    std::size_t sealed = 0;
    for (std::size_t at = done; count < kBatchRecords && at < len; ++count) {
      const std::size_t n = std::min(kMaxContent, len - at);
      if (!write_.seal(kApplicationData, data + at, n, area + sealed)) {
        write_.rewind(count);
        return fail(kInternalError, "sealing a record failed");
      }
      sizes[count] = n;
      sealed += Tls13Direction::record_size(n);
      at += n;
    }
    ssize_t sent = ::send(fd_, area, sealed, MSG_NOSIGNAL);
    if (sent < 0) {
      const int err = errno;
      write_.rewind(count);
      if (err == EINTR) continue;
      if (!would_block(err)) {
        failed_ = true;
        return {IoWant::error, done, std::error_code(err, std::system_category())};
      }
      return {IoWant::write, done, {}};
    }
    // Which records the socket took whole, which in part.
    std::size_t i = 0;
    std::size_t off = 0;
    const auto took = static_cast<std::size_t>(sent);
    while (i < count && off + Tls13Direction::record_size(sizes[i]) <= took) {
      off += Tls13Direction::record_size(sizes[i]);
      done += sizes[i];
      ++i;
    }
    if (i == count) continue;
    if (took > off) {  // record i is on the wire in part: its rest goes first next time
      tx_.assign(area + took, off + Tls13Direction::record_size(sizes[i]) - took);
      owed_ = sizes[i];
      ++i;
    }
    write_.rewind(count - i);  // sealed but never sent: sealed again next time
    return {IoWant::write, done, {}};
  }
  return {IoWant::none, done, {}};
}

bool Tls13Records::has_pending() const noexcept {
  return !plain_.empty() || peer_closed_ || whole_record(rx_.data(), rx_.size());
}

void Tls13Records::shutdown() noexcept {
  if (closed_ || failed_) return;
  closed_ = true;
  static constexpr char kCloseNotifyAlert[] = {1, kCloseNotify};
  try {
    IoStep ignored;
    if (queue_control(kAlert, kCloseNotifyAlert, sizeof kCloseNotifyAlert)) (void)flush(ignored);
  } catch (const std::bad_alloc&) {  // best effort, as with OpenSSL
  }
}

}  // namespace weft::detail
