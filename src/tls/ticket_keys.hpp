// Session-ticket keys that several processes or hosts can share: every key
// is derived from a shared seed and context by HKDF over the key's epoch
// (unix time / rotation interval), so servers with the same seed issue and
// accept the same tickets without talking to each other. Tickets are made
// with the current epoch's key; the next epoch's key (clock skew between
// hosts) and `previous` older ones are accepted, and tickets under an older
// key are renewed.
#pragma once

#include <openssl/ssl.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

namespace weft::detail {

class TicketKeyRing {
 public:
  struct Options {
    std::string seed;     ///< empty: a random seed (this process only)
    std::string context;  ///< separates key families that share a seed
    std::chrono::seconds rotation{3600};
    int previous = 2;  ///< older keys still accepted
  };
  /// Unix time in seconds; replaceable for tests of rotation.
  using Clock = std::function<std::int64_t()>;

  explicit TicketKeyRing(Options opts, Clock clock = {});
  TicketKeyRing(const TicketKeyRing&) = delete;
  TicketKeyRing& operator=(const TicketKeyRing&) = delete;

  /// Makes `ctx` encrypt and decrypt tickets with this ring (the ring must
  /// outlive the context). Call for every context that serves the same
  /// listener (SNI contexts included).
  void install(SSL_CTX* ctx);

  /// The 16-byte key name used for new tickets now (for tests and logs).
  std::array<unsigned char, 16> current_name() const;
  std::int64_t current_epoch() const;

  struct Key {
    std::array<unsigned char, 16> name;
    std::array<unsigned char, 32> aes;   ///< AES-256-CBC
    std::array<unsigned char, 32> hmac;  ///< HMAC-SHA256
  };
  /// The key for `epoch` (derived, so any epoch can be asked for).
  Key key_for(std::int64_t epoch) const;

 private:
  static int callback(SSL* ssl, unsigned char* name, unsigned char* iv, EVP_CIPHER_CTX* cipher,
                      EVP_MAC_CTX* mac, int enc);
  int on_ticket(unsigned char* name, unsigned char* iv, EVP_CIPHER_CTX* cipher, EVP_MAC_CTX* mac,
                int enc);

  /// The key whose name is `name` among the epochs accepted now (next,
  /// current and `previous` older ones); false when none matches. `renew`
  /// says the key is not the current epoch's.
  bool find(const unsigned char* name, Key& out, bool& renew) const;
  /// key_for through the cache (caller holds mu_).
  const Key& cached(std::int64_t epoch) const;

  struct Slot {
    std::int64_t epoch = 0;
    std::uint64_t used = 0;  ///< last use, for eviction
    bool valid = false;
    Key key{};
  };
  /// Derived keys of the epochs in use, so that HKDF runs once per epoch and
  /// not per handshake. Wiped on destruction.
  struct Cache {
    Cache() = default;
    Cache(const Cache&) = delete;
    Cache& operator=(const Cache&) = delete;
    ~Cache();
    std::vector<Slot> slots;
    std::uint64_t tick = 0;
  };

  Options opts_;
  Clock clock_;
  mutable std::mutex mu_;
  mutable Cache cache_;
};

}  // namespace weft::detail
