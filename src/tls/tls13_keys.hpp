// TLS 1.3 traffic keys (RFC 8446 §7): from a traffic secret to the AEAD key
// and IV of one direction, and the next secret of a KeyUpdate. Used by the
// record layer that takes over from OpenSSL after a handshake.
#pragma once

#include <openssl/evp.h>

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace weft::detail {

/// The TLS 1.3 cipher suites weft's own record layer carries.
struct Tls13Suite {
  std::uint16_t id = 0;        ///< IANA number: 0x1301, 0x1302, 0x1303
  const char* name = "";       ///< "TLS_AES_128_GCM_SHA256", ...
  const EVP_CIPHER* aead{};    ///< fetched once per process
  const EVP_MD* hash{};        ///< the suite's HKDF hash
  std::size_t key_len = 0;     ///< 16 or 32
  std::size_t secret_len = 0;  ///< the hash's length: 32 or 48
};

/// The suite with this IANA number, or null (CCM suites, unknown numbers).
const Tls13Suite* tls13_suite(std::uint16_t id) noexcept;

/// Longest traffic secret (SHA-384).
inline constexpr std::size_t kMaxSecret = 48;
/// TLS 1.3 AEAD nonce length.
inline constexpr std::size_t kIvLen = 12;

/// HKDF-Expand-Label(secret, label, "", out.size()) for outputs no longer
/// than the hash (one HMAC block, which is all TLS 1.3 traffic keys need).
/// False if OpenSSL fails or `out` is too long.
bool hkdf_expand_label(const Tls13Suite& suite, std::span<const std::uint8_t> secret,
                       std::string_view label, std::span<std::uint8_t> out);

}  // namespace weft::detail
