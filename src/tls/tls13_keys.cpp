#include "tls/tls13_keys.hpp"

#include <openssl/hmac.h>

#include <algorithm>
#include <array>

namespace weft::detail {

namespace {

// Explicitly fetched algorithms: OpenSSL 3 resolves implicit ones (EVP_sha256()
// and friends) through the provider on every init.
struct Suites {
  std::array<Tls13Suite, 3> all{};
  Suites() {
    EVP_CIPHER* aes128 = EVP_CIPHER_fetch(nullptr, "AES-128-GCM", nullptr);
    EVP_CIPHER* aes256 = EVP_CIPHER_fetch(nullptr, "AES-256-GCM", nullptr);
    EVP_CIPHER* chacha = EVP_CIPHER_fetch(nullptr, "ChaCha20-Poly1305", nullptr);
    EVP_MD* sha256 = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    EVP_MD* sha384 = EVP_MD_fetch(nullptr, "SHA384", nullptr);
    all[0] = {0x1301, "TLS_AES_128_GCM_SHA256", aes128, sha256, 16, 32};
    all[1] = {0x1302, "TLS_AES_256_GCM_SHA384", aes256, sha384, 32, 48};
    all[2] = {0x1303, "TLS_CHACHA20_POLY1305_SHA256", chacha, sha256, 32, 32};
    // (Kept for the life of the process: connections may outlive any owner.)
  }
};

}  // namespace

const Tls13Suite* tls13_suite(std::uint16_t id) noexcept {
  static const Suites suites;
  for (const Tls13Suite& s : suites.all)
    if (s.id == id) return s.aead != nullptr && s.hash != nullptr ? &s : nullptr;
  return nullptr;
}

bool hkdf_expand_label(const Tls13Suite& suite, std::span<const std::uint8_t> secret,
                       std::string_view label, std::span<std::uint8_t> out) {
  // HkdfLabel: uint16 length, opaque label<7..255> = "tls13 " + label,
  // opaque context<0..255> (empty here); then T(1) = HMAC(secret, info | 0x01).
  constexpr std::string_view kPrefix = "tls13 ";
  if (out.size() > suite.secret_len || kPrefix.size() + label.size() > 255) return false;
  std::array<std::uint8_t, 2 + 1 + 255 + 1 + 1> info{};
  std::size_t n = 0;
  info[n++] = static_cast<std::uint8_t>(out.size() >> 8);
  info[n++] = static_cast<std::uint8_t>(out.size());
  info[n++] = static_cast<std::uint8_t>(kPrefix.size() + label.size());
  for (char c : kPrefix)
    info[n++] = static_cast<std::uint8_t>(c);
  for (char c : label)
    info[n++] = static_cast<std::uint8_t>(c);
  info[n++] = 0;  // empty context
  info[n++] = 1;  // the block counter of T(1)
  std::array<std::uint8_t, EVP_MAX_MD_SIZE> block{};
  unsigned int block_len = 0;
  if (HMAC(suite.hash, secret.data(), static_cast<int>(secret.size()), info.data(), n, block.data(),
           &block_len) == nullptr ||
      block_len < out.size()) {
    return false;
  }
  std::copy_n(block.begin(), out.size(), out.begin());
  OPENSSL_cleanse(block.data(), block.size());
  return true;
}

}  // namespace weft::detail
