// weft's own TLS 1.3 record layer, for server connections after OpenSSL has
// finished the handshake. Why: OpenSSL keeps its whole SSL object (about
// 14 KB with the cipher contexts) for the life of a connection, although
// after a TLS 1.3 handshake all a server still needs are two AEAD keys, two
// IVs and two sequence numbers (RFC 8446 §5). This class is those, about
// 2 KB with the two cipher contexts, and reads and writes the socket itself; it handles what a
// client may still send (application data, KeyUpdate, alerts) and answers anything else with the
// alert the RFC names. Only while a record is half received or half sent does it hold a buffer.
#pragma once

#include <openssl/evp.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "net/secure_layer.hpp"
#include "tls/tls13_keys.hpp"

namespace weft::detail {

/// One direction's record protection: AEAD key, IV, sequence number and the
/// traffic secret (kept for KeyUpdate).
class Tls13Direction {
 public:
  Tls13Direction() = default;
  ~Tls13Direction();
  Tls13Direction(const Tls13Direction&) = delete;
  Tls13Direction& operator=(const Tls13Direction&) = delete;

  /// Keys from a traffic secret, starting at sequence number `seq`.
  bool init(const Tls13Suite& suite, std::span<const std::uint8_t> secret, std::uint64_t seq,
            bool sealing);
  /// KeyUpdate: the next traffic secret (RFC 8446 §7.2), sequence 0.
  bool next_key();

  /// Writes one record (header, `len` bytes of content, the inner content
  /// type, tag) to `out`, which has room for record_size(len).
  bool seal(std::uint8_t inner_type, const char* content, std::size_t len, char* out);
  enum class Opened { ok, bad_mac, no_type };
  /// Opens the record at `rec` (header included) in place. On success the
  /// content is at rec + 5, `len` long, with its inner type in `inner_type`.
  Opened open(char* rec, std::size_t body_len, std::size_t& len, std::uint8_t& inner_type);

  std::uint64_t seq() const noexcept { return seq_; }
  /// Takes back sealed records that were never sent (they are sealed again).
  void rewind(std::uint64_t records) noexcept { seq_ -= records; }

  static constexpr std::size_t record_size(std::size_t len) noexcept { return 5 + len + 1 + 16; }

 private:
  bool key_from_secret();
  void nonce(std::uint8_t out[kIvLen]) const noexcept;

  EVP_CIPHER_CTX* ctx_ = nullptr;
  const Tls13Suite* suite_ = nullptr;
  std::uint64_t seq_ = 0;
  bool sealing_ = false;
  std::uint8_t iv_[kIvLen] = {};
  std::uint8_t secret_[kMaxSecret] = {};
};

/// The record layer of one server connection on its socket.
class Tls13Records {
 public:
  /// Reads with `read_secret` (the client's application traffic secret) from
  /// record `read_seq`, writes with `write_secret` from `write_seq`.
  Tls13Records(int fd, const Tls13Suite& suite) noexcept : fd_(fd), suite_(&suite) {}
  bool init(std::span<const std::uint8_t> read_secret, std::uint64_t read_seq,
            std::span<const std::uint8_t> write_secret, std::uint64_t write_seq);

  /// As SecureLayer::read / has_pending / write / shutdown.
  IoStep read(char* buf, std::size_t cap);
  bool has_pending() const noexcept;
  IoStep write(const char* data, std::size_t len);
  void shutdown() noexcept;

  /// Largest content of one record, and largest record on the wire.
  static constexpr std::size_t kMaxContent = 16384;
  static constexpr std::size_t kMaxRecord = 5 + kMaxContent + 256;
  /// Rekey our direction after this many records (RFC 8446 §5.5 allows
  /// about 2^24.5 full records per AES-GCM key).
  static constexpr std::uint64_t kRecordsPerKey = std::uint64_t{1} << 23;

 private:
  IoStep read_once(char* buf, std::size_t cap);
  /// Opens and handles the whole records in work[0, have), until `out`
  /// (application data, moved to the front) reaches stop_at; `used` is how
  /// far it got. False with `error` set on a fatal error.
  bool open_records(char* work, std::size_t have, std::size_t stop_at, std::size_t& used,
                    std::size_t& out, IoStep& error);
  bool on_handshake(const char* msg, std::size_t len, IoStep& error);
  bool on_alert(const char* msg, std::size_t len, IoStep& error);
  /// Seals a control record (alert, KeyUpdate) behind any queued ciphertext.
  bool queue_control(std::uint8_t inner_type, const char* content, std::size_t len);
  bool send_key_update();
  /// Sends the KeyUpdate a client asked for, once nothing waits before it.
  bool answer_key_update(IoStep& error);
  /// Sends queued ciphertext; false with `step` set if it could not all go.
  bool flush(IoStep& step);
  /// A fatal alert (best effort) and the error the Conn sees.
  IoStep fail(std::uint8_t alert, const char* why);

  int fd_;
  const Tls13Suite* suite_;
  Tls13Direction read_;
  Tls13Direction write_;
  std::string rx_;           ///< received bytes of records not yet opened
  std::string plain_;        ///< opened content that did not fit the caller's buffer
  std::string tx_;           ///< sealed bytes the socket has not taken yet
  std::size_t owed_ = 0;     ///< content bytes in tx_'s records, reported once it drains
  std::uint8_t hs_[5] = {};  ///< a KeyUpdate split across records
  std::uint8_t hs_len_ = 0;
  bool key_update_owed_ = false;  ///< the client asked for a KeyUpdate; not sent yet
  bool peer_closed_ = false;      ///< close_notify received
  bool closed_ = false;           ///< close_notify sent
  bool failed_ = false;           ///< a fatal error happened: nothing more moves
};

}  // namespace weft::detail
