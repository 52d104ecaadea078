// A throwaway certificate for examples and tests: an ECDSA P-256 key and a
// self-signed X.509 certificate for the given host names, made in memory.
#pragma once

#include <string>
#include <vector>

namespace weft::detail {

struct SelfSigned {
  std::string cert_pem;     ///< the certificate, PEM
  std::string key_pem;      ///< its private key, PEM (PKCS#8, unencrypted)
  std::string fingerprint;  ///< SHA-256 of the DER certificate, "AB:CD:..."
};

/// Makes a key and a certificate valid from now for `days`, with the names
/// as subjectAltName entries (DNS names, or IP addresses when they parse as
/// one) and the first name as CN. `ca` marks it basicConstraints CA:TRUE so
/// that it can sign others (tests of client certificates). Throws
/// std::runtime_error with OpenSSL's reason on failure.
SelfSigned make_self_signed(const std::vector<std::string>& names, int days = 30, bool ca = false);

/// A certificate for `names` signed by `issuer` (cert + key PEM), e.g. a
/// client certificate for mTLS tests. Same throwing rules.
SelfSigned make_signed_by(const SelfSigned& issuer, const std::vector<std::string>& names,
                          int days = 30);

/// "AB:CD:..." SHA-256 fingerprint of the first certificate in `cert_pem`.
std::string fingerprint_sha256(const std::string& cert_pem);

}  // namespace weft::detail
