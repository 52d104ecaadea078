// weft/tls.hpp — what a TLS connection agreed on, as the handler sees it
// (Conn::tls()).
#pragma once

#include <string>

namespace weft {

struct TlsInfo {
  std::string version;         ///< "TLSv1.3", "TLSv1.2"
  std::string cipher;          ///< OpenSSL's cipher name
  std::string alpn;            ///< the negotiated protocol ("" when none)
  std::string server_name;     ///< SNI the client sent ("" when none)
  std::string peer_subject;    ///< verified client certificate subject ("" when none)
  bool peer_verified = false;  ///< a client certificate was presented and verified
  bool resumed = false;        ///< the session was resumed (ticket)
  bool ktls_tx = false;        ///< sending runs in the kernel (kTLS)
  bool ktls_rx = false;        ///< receiving runs in the kernel (kTLS)
  std::string ktls_reason;     ///< why not offloaded ("offloaded" when both are)
  /// Records are protected by weft's own TLS 1.3 layer (tlsRecordLayer
  /// "weft"), not by OpenSSL; true from the moment it took over.
  bool own_records = false;
};

}  // namespace weft
