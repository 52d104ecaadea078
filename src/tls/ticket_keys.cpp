// Shared session-ticket keys: HKDF-SHA256(ikm = seed, salt = context,
// info = "weft session ticket v1" || epoch as 8 bytes big-endian) gives 80
// bytes, split into a 16-byte key name, a 32-byte AES-256-CBC key and a
// 32-byte HMAC-SHA256 key. OpenSSL calls back on every ticket it makes or
// reads (SSL_CTX_set_tlsext_ticket_key_evp_cb); keys of the epochs in use
// are cached so that a handshake costs a lock and a few compares.
#include "tls/ticket_keys.hpp"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include <array>
#include <cstddef>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

namespace weft::detail {
namespace {

constexpr std::string_view kInfo = "weft session ticket v1";
constexpr std::size_t kNameLen = 16;
constexpr std::size_t kSecretLen = 80;  // name + AES key + HMAC key
constexpr std::size_t kRandomSeedLen = 32;
constexpr std::size_t kIvLen = 16;  // AES block

static_assert(sizeof(TicketKeyRing::Key::name) == kNameLen);
static_assert(sizeof(TicketKeyRing::Key::name) + sizeof(TicketKeyRing::Key::aes) +
                  sizeof(TicketKeyRing::Key::hmac) ==
              kSecretLen);

template <auto Free>
struct Deleter {
  template <class T>
  void operator()(T* p) const noexcept {
    Free(p);
  }
};
using KdfPtr = std::unique_ptr<EVP_KDF, Deleter<EVP_KDF_free>>;
using KdfCtxPtr = std::unique_ptr<EVP_KDF_CTX, Deleter<EVP_KDF_CTX_free>>;

[[noreturn]] void fail(const std::string& what) {
  const unsigned long code = ERR_peek_last_error();
  std::string msg = "weft tls: " + what;
  if (code != 0) {
    std::array<char, 256> buf{};
    ERR_error_string_n(code, buf.data(), buf.size());
    msg += ": ";
    msg += buf.data();
  }
  ERR_clear_error();
  throw std::runtime_error(msg);
}

/// Wipes a key copy when it goes out of scope.
struct KeyWipe {
  explicit KeyWipe(TicketKeyRing::Key& k) : key(k) {}
  KeyWipe(const KeyWipe&) = delete;
  KeyWipe& operator=(const KeyWipe&) = delete;
  ~KeyWipe() { OPENSSL_cleanse(&key, sizeof key); }
  TicketKeyRing::Key& key;
};

std::int64_t system_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

/// floor(a / b) for b > 0, also for a < 0.
std::int64_t floor_div(std::int64_t a, std::int64_t b) {
  std::int64_t q = a / b;
  if (a % b != 0 && a < 0) --q;
  return q;
}

int ex_index() {
  static const int index = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

/// Keys the HMAC with `key` and SHA-256.
bool set_mac(EVP_MAC_CTX* mac, std::array<unsigned char, 32>& key) {
  static char digest[] = "SHA256";
  std::array<OSSL_PARAM, 3> params = {
      OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_KEY, key.data(), key.size()),
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
      OSSL_PARAM_construct_end()};
  return EVP_MAC_CTX_set_params(mac, params.data()) == 1;
}

}  // namespace

TicketKeyRing::Cache::~Cache() {
  for (auto& slot : slots) {
    OPENSSL_cleanse(&slot.key, sizeof slot.key);
  }
}

TicketKeyRing::TicketKeyRing(Options opts, Clock clock)
    : opts_(std::move(opts)), clock_(std::move(clock)) {
  if (opts_.rotation.count() <= 0) throw std::invalid_argument("TicketKeyRing: rotation <= 0");
  if (opts_.previous < 0) throw std::invalid_argument("TicketKeyRing: previous < 0");
  if (opts_.seed.empty()) {
    std::array<unsigned char, kRandomSeedLen> seed{};
    if (RAND_bytes(seed.data(), static_cast<int>(seed.size())) != 1) fail("RAND_bytes");
    opts_.seed.assign(seed.begin(), seed.end());
    OPENSSL_cleanse(seed.data(), seed.size());
  }
  if (!clock_) clock_ = system_now;
  // Next, current and `previous` older epochs, plus one so that a rotation
  // does not evict a key still in use by a handshake on the boundary.
  cache_.slots.resize(static_cast<std::size_t>(opts_.previous) + 3);
}

std::int64_t TicketKeyRing::current_epoch() const {
  return floor_div(clock_(), static_cast<std::int64_t>(opts_.rotation.count()));
}

std::array<unsigned char, 16> TicketKeyRing::current_name() const {
  const std::int64_t epoch = current_epoch();
  std::lock_guard lock(mu_);
  return cached(epoch).name;
}

TicketKeyRing::Key TicketKeyRing::key_for(std::int64_t epoch) const {
  std::array<unsigned char, kInfo.size() + 8> info{};
  std::memcpy(info.data(), kInfo.data(), kInfo.size());
  const auto e = static_cast<std::uint64_t>(epoch);
  for (std::size_t i = 0; i < 8; ++i) {
    info[kInfo.size() + i] = static_cast<unsigned char>(e >> (56 - 8 * i));
  }

  static char digest[] = "SHA256";
  std::array<OSSL_PARAM, 5> params = {
      OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0),
      // OSSL_PARAM wants non-const pointers to what it only reads.
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, const_cast<char*>(opts_.seed.data()),
                                        opts_.seed.size()),
      OSSL_PARAM_construct_octet_string(
          OSSL_KDF_PARAM_SALT, const_cast<char*>(opts_.context.data()), opts_.context.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, info.data(), info.size()),
      OSSL_PARAM_construct_end()};

  KdfPtr kdf(EVP_KDF_fetch(nullptr, "HKDF", nullptr));
  if (!kdf) fail("EVP_KDF_fetch(HKDF)");
  KdfCtxPtr kctx(EVP_KDF_CTX_new(kdf.get()));
  if (!kctx) fail("EVP_KDF_CTX_new");
  std::array<unsigned char, kSecretLen> out{};
  if (EVP_KDF_derive(kctx.get(), out.data(), out.size(), params.data()) != 1) {
    fail("EVP_KDF_derive(HKDF)");
  }
  Key key{};
  const unsigned char* p = out.data();
  std::memcpy(key.name.data(), p, key.name.size());
  p += key.name.size();
  std::memcpy(key.aes.data(), p, key.aes.size());
  p += key.aes.size();
  std::memcpy(key.hmac.data(), p, key.hmac.size());
  OPENSSL_cleanse(out.data(), out.size());
  return key;
}

const TicketKeyRing::Key& TicketKeyRing::cached(std::int64_t epoch) const {
  ++cache_.tick;
  Slot* victim = &cache_.slots.front();
  for (auto& slot : cache_.slots) {
    if (slot.valid && slot.epoch == epoch) {
      slot.used = cache_.tick;
      return slot.key;
    }
    if (!slot.valid || (victim->valid && slot.used < victim->used)) victim = &slot;
  }
  victim->key = key_for(epoch);  // may throw: the slot is left as it was
  victim->epoch = epoch;
  victim->valid = true;
  victim->used = cache_.tick;
  return victim->key;
}

bool TicketKeyRing::find(const unsigned char* name, Key& out, bool& renew) const {
  const std::int64_t now = current_epoch();
  std::lock_guard lock(mu_);
  // Current first (the common case), then the next one, then older ones.
  const auto try_epoch = [&](std::int64_t epoch) {
    const Key& key = cached(epoch);
    if (CRYPTO_memcmp(key.name.data(), name, key.name.size()) != 0) return false;
    out = key;
    renew = epoch != now;
    return true;
  };
  if (try_epoch(now) || try_epoch(now + 1)) return true;
  for (int back = 1; back <= opts_.previous; ++back) {
    if (try_epoch(now - back)) return true;
  }
  return false;
}

void TicketKeyRing::install(SSL_CTX* ctx) {
  const int index = ex_index();
  if (index < 0) fail("SSL_CTX_get_ex_new_index");
  if (SSL_CTX_set_ex_data(ctx, index, this) != 1) fail("SSL_CTX_set_ex_data");
  if (SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx, &TicketKeyRing::callback) != 1) {
    fail("SSL_CTX_set_tlsext_ticket_key_evp_cb");
  }
}

int TicketKeyRing::callback(SSL* ssl, unsigned char* name, unsigned char* iv,
                            EVP_CIPHER_CTX* cipher, EVP_MAC_CTX* mac, int enc) {
  // OpenSSL calls the callback of the context the connection started on;
  // after an SNI switch SSL_get_SSL_CTX is the new one, which must have the
  // same ring installed (see install()).
  auto* ring = static_cast<TicketKeyRing*>(SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), ex_index()));
  if (ring == nullptr) return 0;  // no ticket / full handshake
  try {
    return ring->on_ticket(name, iv, cipher, mac, enc);
  } catch (...) {
    return -1;  // OpenSSL is C: nothing may be thrown through it
  }
}

int TicketKeyRing::on_ticket(unsigned char* name, unsigned char* iv, EVP_CIPHER_CTX* cipher,
                             EVP_MAC_CTX* mac, int enc) {
  Key key{};
  const KeyWipe wipe(key);
  if (enc == 1) {
    const std::int64_t now = current_epoch();
    {
      std::lock_guard lock(mu_);
      key = cached(now);
    }
    std::memcpy(name, key.name.data(), key.name.size());
    if (RAND_bytes(iv, static_cast<int>(kIvLen)) != 1) return -1;
    if (EVP_EncryptInit_ex(cipher, EVP_aes_256_cbc(), nullptr, key.aes.data(), iv) != 1) {
      return -1;
    }
    return set_mac(mac, key.hmac) ? 1 : -1;
  }
  bool renew = false;
  if (!find(name, key, renew)) return 0;  // unknown or expired key: full handshake
  if (EVP_DecryptInit_ex(cipher, EVP_aes_256_cbc(), nullptr, key.aes.data(), iv) != 1) {
    return -1;
  }
  if (!set_mac(mac, key.hmac)) return -1;
  return renew ? 2 : 1;
}

}  // namespace weft::detail
